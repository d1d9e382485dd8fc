"""The Transformer's position-wise pieces: LayerNorm, the GELU and ReLU activations, the feed-forward.

Each works on rows ``(..., d)`` (features last, one row per position; see transformer.py for why the
encoder works in rows), with its backward beside its forward. Weights keep the zoo's output-major
convention (``W`` is ``(n_out, n_in)``); vectors are columns ``(n, 1)`` as ``ba`` / ``by``, read as
``(n,)`` rows by ``col``.
"""

import math
from typing import NamedTuple

import numpy as np

EPS = 1e-5                      # LayerNorm's variance epsilon (torch's default, for parity)
ACTIVATIONS = ("gelu", "relu")

_GELU_C = math.sqrt(2.0 / math.pi)
_GELU_A = 0.044715


def col(v):
    """A parameter column (n, 1) as the (n,) row vector that broadcasts over (..., n) rows."""
    return v[:, 0]


def uniform(rng, shape, var, dtype):
    """U(-b, b) with variance ``var`` (b = sqrt(3 var))."""
    b = math.sqrt(3.0 * var)
    return rng.uniform(-b, b, shape).astype(dtype)


# ----------------------------------------------------------------------------------------------------
# LayerNorm


class LayerNormCache(NamedTuple):
    xhat: np.ndarray     # (..., d) the normalised input
    rstd: np.ndarray     # (..., 1) 1 / sqrt(var + eps) of each position
    g: np.ndarray        # (d,) the gain used


def layer_norm_forward(x, g, b, eps=EPS):
    """y = g * (x - mean) / sqrt(var + eps) + b over the last (feature) axis.

    x (..., d), g (d,), b (d,) -> y (..., d), LayerNormCache. The variance is the biased one (/ d),
    as torch's LayerNorm.
    """
    xc = x - x.mean(axis=-1, keepdims=True)
    var = np.mean(np.square(xc), axis=-1, keepdims=True)
    var += eps
    rstd = np.sqrt(var, out=var)
    np.divide(1.0, rstd, out=rstd)
    xc *= rstd                                   # xc becomes xhat (no second array)
    y = xc * g
    y += b
    return y, LayerNormCache(xc, rstd, g)


def layer_norm_backward(dy, cache):
    """dy (..., d) -> dx (..., d), dg (d,), db (d,).

    With xhat = (x - mu) rstd and dxhat = g dy, the mean and the variance both depend on every
    feature of the position, which gives
        dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat))      (means over the d features).
    """
    xhat, rstd, g = cache
    d = xhat.shape[-1]
    dy2 = dy.reshape(-1, d)
    dg = np.einsum("nd,nd->d", dy2, xhat.reshape(-1, d))
    db = dy2.sum(axis=0)
    dxhat = dy * g
    proj = np.mean(dxhat * xhat, axis=-1, keepdims=True)
    dx = dxhat - dxhat.mean(axis=-1, keepdims=True)
    dx -= xhat * proj
    dx *= rstd
    return dx, dg, db


class LayerNorm:
    """LayerNorm over the feature axis with gain ``{name}.g`` and bias ``{name}.b``, both (d, 1)."""

    def __init__(self, params, name, d, dtype=np.float32):
        self.params, self.kg, self.kb = params, f"{name}.g", f"{name}.b"
        params[self.kg] = np.ones((d, 1), dtype)
        params[self.kb] = np.zeros((d, 1), dtype)

    @staticmethod
    def param_shapes(name, d):
        return {f"{name}.g": (d, 1), f"{name}.b": (d, 1)}

    def forward(self, x):
        """x (..., d) -> y (..., d), LayerNormCache."""
        return layer_norm_forward(x, col(self.params[self.kg]), col(self.params[self.kb]))

    def backward(self, dy, cache):
        """dy (..., d) -> dx (..., d), grads {g, b: (d, 1)}."""
        dx, dg, db = layer_norm_backward(dy, cache)
        return dx, {self.kg: dg[:, None], self.kb: db[:, None]}


# ----------------------------------------------------------------------------------------------------
# activations


def gelu_forward(h):
    """GELU, the tanh approximation (torch's ``gelu(approximate="tanh")``, GPT-2's):

        gelu(h) = h/2 (1 + tanh(sqrt(2/pi) (h + 0.044715 h^3)))

    h (...) -> a (...), t (...) the tanh, kept for the backward.
    """
    u = np.square(h)
    u *= _GELU_A
    u += 1.0
    u *= h
    u *= _GELU_C
    t = np.tanh(u, out=u)
    a = t + 1.0
    a *= h
    a *= 0.5
    return a, t


def gelu_backward(da, h, t):
    """da (...) -> dh (...):  gelu'(h) = (1 + t)/2 + h/2 (1 - t^2) sqrt(2/pi) (1 + 3 0.044715 h^2)."""
    s = np.square(h)
    s *= 3.0 * _GELU_A
    s += 1.0
    s *= h
    s *= _GELU_C
    w = np.square(t)
    np.subtract(1.0, w, out=w)
    s *= w
    s += t
    s += 1.0
    s *= 0.5
    s *= da
    return s


def relu_forward(h):
    """max(h, 0): h (...) -> a (...)."""
    return np.maximum(h, 0.0)


def relu_backward(da, h):
    """da (...) -> dh (...): passes where h > 0."""
    return np.multiply(da, h > 0, dtype=da.dtype)


# ----------------------------------------------------------------------------------------------------
# position-wise feed-forward


class FeedForwardCache(NamedTuple):
    x2: np.ndarray       # (N, d) the input, one row per position (N = m T_x)
    h: np.ndarray        # (N, ff) pre-activation
    t: np.ndarray        # (N, ff) GELU's tanh (None for ReLU)
    a: np.ndarray        # (N, ff) activation
    shape: tuple         # the input's shape (..., d)


class FeedForward:
    """y = W2 act(W1 x + b1) + b2 at every position, the same weights everywhere.

    ``{name}.W1`` (ff, d), ``.b1`` (ff, 1), ``.W2`` (d, ff), ``.b2`` (d, 1); act is "gelu" (tanh
    approximation) or "relu". ``out_scale`` shrinks W2's initial scale (see TransformerEncoder).
    """

    def __init__(self, params, name, d, ff, activation="gelu", rng=None, dtype=np.float32, out_scale=1.0):
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; expected one of {ACTIVATIONS}")
        rng = np.random.default_rng(0) if rng is None else rng
        self.params, self.activation = params, activation
        self.k = {n: f"{name}.{n}" for n in ("W1", "b1", "W2", "b2")}
        params[self.k["W1"]] = uniform(rng, (ff, d), 1.0 / d, dtype)
        params[self.k["b1"]] = np.zeros((ff, 1), dtype)
        params[self.k["W2"]] = uniform(rng, (d, ff), out_scale ** 2 / ff, dtype)
        params[self.k["b2"]] = np.zeros((d, 1), dtype)

    @staticmethod
    def param_shapes(name, d, ff):
        return {f"{name}.W1": (ff, d), f"{name}.b1": (ff, 1), f"{name}.W2": (d, ff), f"{name}.b2": (d, 1)}

    def forward(self, x):
        """x (..., d) -> y (..., d), FeedForwardCache."""
        P, k = self.params, self.k
        x2 = x.reshape(-1, x.shape[-1])
        h = x2 @ P[k["W1"]].T
        h += col(P[k["b1"]])
        if self.activation == "gelu":
            a, t = gelu_forward(h)
        else:
            a, t = relu_forward(h), None
        y = a @ P[k["W2"]].T
        y += col(P[k["b2"]])
        return y.reshape(x.shape), FeedForwardCache(x2, h, t, a, x.shape)

    def backward(self, dy, cache):
        """dy (..., d) -> dx (..., d), grads {W1, b1, W2, b2}."""
        P, k = self.params, self.k
        x2, h, t, a, shape = cache
        dy2 = dy.reshape(-1, dy.shape[-1])
        grads = {k["W2"]: dy2.T @ a, k["b2"]: dy2.sum(axis=0)[:, None]}
        da = dy2 @ P[k["W2"]]
        dh = gelu_backward(da, h, t) if self.activation == "gelu" else relu_backward(da, h)
        grads[k["W1"]] = dh.T @ x2
        grads[k["b1"]] = dh.sum(axis=0)[:, None]
        return (dh @ P[k["W1"]]).reshape(shape), grads
