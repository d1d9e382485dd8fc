"""The Transformer encoder: self-attention, residuals, layer norm and a position-wise feed-forward.

The lecture's closing slide: no recurrence, so no loop over time. Every position of every row is
computed at once, and a layer costs a few large matrix products (the Q/K/V projection, the two
attention products per head, the output projection, the two feed-forward products).

    x (T_x, n_in, m) -> [input projection if n_in != d_model] -> + positions -> dropout
      -> layers x pre-norm block -> final LayerNorm -> out (T_x, d_model, m)

    pre-norm block:  x <- x + Dropout(MHA(LN1(x)))
                     x <- x + Dropout(FFN(LN2(x)))

Layout. The public ``forward`` / ``backward`` take and give the zoo's time-first, feature-major
sequences ``(T_x, n, m)``, the interface of ``layers.Stack``, so a task can swap this in for the
recurrent stack. Inside, everything is rows ``(m, T_x, d)`` in C order: then a projection of all
positions is ONE product ``(m T_x, d) @ W.T`` and the heads are a leading batch axis of the attention
products. ``forward_rows`` / ``backward_rows`` are the same computation in that layout, for callers
that already hold rows. Weights keep the zoo's output-major convention (``W`` is ``(n_out, n_in)``,
as ``Wax`` and ``Wya``, and as torch stores them); vectors are columns ``(n, 1)`` as ``ba`` / ``by``.

Parameter keys under the encoder's ``name`` (one flat dict, shared with the rest of the model):

    {name}.in.W, {name}.in.b          (d_model, n_in), (d_model, 1)   only when n_in != d_model
    {name}.P                          (d_model, max_len)              only for learned positions
    {name}.l{i}.ln1.g, .ln1.b         (d_model, 1)                    gain and bias of LayerNorm 1
    {name}.l{i}.attn.Wqkv, .bqkv      (3 d_model, d_model), (3 d_model, 1)   rows [Wq; Wk; Wv]
    {name}.l{i}.attn.Wo, .bo          (d_model, d_model), (d_model, 1)
    {name}.l{i}.ln2.g, .ln2.b         (d_model, 1)
    {name}.l{i}.ff.W1, .b1            (ff, d_model), (ff, 1)
    {name}.l{i}.ff.W2, .b2            (d_model, ff), (d_model, 1)
    {name}.ln.g, {name}.ln.b          (d_model, 1)                    the final LayerNorm

Q, K and V come from one fused ``Wqkv`` (one product instead of three, as the cells fuse their gates;
it is also torch's ``in_proj_weight``). Head h uses rows ``[h d_k, (h+1) d_k)`` of each of Wq, Wk, Wv,
``d_k = d_model / heads``.

Masks. ``lengths`` (m,) marks row i real at ``t < lengths[i]``. Padded keys get no attention weight,
so a real position never reads padding; the output at padded positions is set to zero and the
gradient arriving there is ignored, so a padded batch gives exactly the outputs and gradients of its
rows alone. ``causal=True`` also hides every later position (a language model). A row of length 0
gives zeros (the attention core gives a query with no key a zero output, not NaN).

``IncrementalDecoder`` runs a causal encoder one position at a time with a key/value cache, for
sampling: each new position costs one position's work, not a new pass over the whole context.
"""

import math
from typing import NamedTuple

import numpy as np

from . import checks
from .attention import attention_backward, attention_forward, causal_mask, key_padding_mask
from .layers import inverted_dropout

EPS = 1e-5                      # LayerNorm's variance epsilon (torch's default, for parity)
ACTIVATIONS = ("gelu", "relu")
POSITIONS = ("sinusoidal", "learned")
MAX_POSITIONS = 1 << 16         # bound on max_len read from a model file
MAX_FF = 4 * checks.MAX_UNITS   # the feed-forward width is usually 4 d_model

_GELU_C = math.sqrt(2.0 / math.pi)
_GELU_A = 0.044715


def _col(v):
    """A parameter column (n, 1) as the (n,) row vector that broadcasts over (..., n) rows."""
    return v[:, 0]


def _uniform(rng, shape, var, dtype):
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
        return layer_norm_forward(x, _col(self.params[self.kg]), _col(self.params[self.kb]))

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
        params[self.k["W1"]] = _uniform(rng, (ff, d), 1.0 / d, dtype)
        params[self.k["b1"]] = np.zeros((ff, 1), dtype)
        params[self.k["W2"]] = _uniform(rng, (d, ff), out_scale ** 2 / ff, dtype)
        params[self.k["b2"]] = np.zeros((d, 1), dtype)

    @staticmethod
    def param_shapes(name, d, ff):
        return {f"{name}.W1": (ff, d), f"{name}.b1": (ff, 1), f"{name}.W2": (d, ff), f"{name}.b2": (d, 1)}

    def forward(self, x):
        """x (..., d) -> y (..., d), FeedForwardCache."""
        P, k = self.params, self.k
        x2 = x.reshape(-1, x.shape[-1])
        h = x2 @ P[k["W1"]].T
        h += _col(P[k["b1"]])
        if self.activation == "gelu":
            a, t = gelu_forward(h)
        else:
            a, t = relu_forward(h), None
        y = a @ P[k["W2"]].T
        y += _col(P[k["b2"]])
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


# ----------------------------------------------------------------------------------------------------
# multi-head self-attention


def attention_mask(lengths, T, causal=False):
    """The self-attention mask for rows of ``lengths`` padded to T, broadcastable to (m, heads, T, T).

    True = may attend. None when nothing is hidden (every row full, not causal), so the attention
    core skips masking altogether. Shapes: (m, 1, 1, T) padding only, (T, T) causal only,
    (m, 1, T, T) both.
    """
    pad = None
    if lengths is not None:
        lengths = np.asarray(lengths)
        if lengths.size and lengths.min() < T:
            pad = key_padding_mask(lengths, T)[:, None]             # (m, 1, 1, T)
    if not causal:
        return pad
    c = causal_mask(T)
    return c if pad is None else pad & c


class MHACache(NamedTuple):
    x2: np.ndarray       # (m T, d) the input rows
    att: object          # the attention core's AttentionCache: q, k, v (m, H, T, d_k), alpha (m, H, T, T)
    ctx2: np.ndarray     # (m T, d) the heads' outputs side by side, the input of Wo


class MultiHeadAttention:
    """Multi-head scaled dot-product self-attention over rows x (m, T, d).

    q, k, v = x Wq^T + bq, x Wk^T + bk, x Wv^T + bv, split into ``heads`` blocks of d_k = d / heads
    features; each head runs ``attention_forward`` (heads are a leading batch axis: no loop); the heads'
    outputs are concatenated and projected, y = ctx Wo^T + bo.
    Keys: ``{name}.Wqkv`` (3d, d), ``.bqkv`` (3d, 1), ``.Wo`` (d, d), ``.bo`` (d, 1).
    """

    def __init__(self, params, name, d, heads, rng=None, dtype=np.float32, out_scale=1.0):
        if heads < 1 or d % heads:
            raise ValueError(f"d_model {d} is not a multiple of heads {heads}")
        rng = np.random.default_rng(0) if rng is None else rng
        self.params, self.d, self.heads, self.d_k = params, d, heads, d // heads
        self.k = {n: f"{name}.{n}" for n in ("Wqkv", "bqkv", "Wo", "bo")}
        params[self.k["Wqkv"]] = _uniform(rng, (3 * d, d), 1.0 / d, dtype)
        params[self.k["bqkv"]] = np.zeros((3 * d, 1), dtype)
        params[self.k["Wo"]] = _uniform(rng, (d, d), out_scale ** 2 / d, dtype)
        params[self.k["bo"]] = np.zeros((d, 1), dtype)

    @staticmethod
    def param_shapes(name, d):
        return {f"{name}.Wqkv": (3 * d, d), f"{name}.bqkv": (3 * d, 1),
                f"{name}.Wo": (d, d), f"{name}.bo": (d, 1)}

    def project(self, x):
        """x (m, n, d) -> q, k, v, each (m, heads, n, d_k) contiguous, and x2 (m n, d)."""
        m, n, d = x.shape
        x2 = x.reshape(m * n, d)
        qkv = x2 @ self.params[self.k["Wqkv"]].T
        qkv += _col(self.params[self.k["bqkv"]])
        # (m, n, 3, H, d_k) -> (3, m, H, n, d_k): one copy makes each head's q, k, v contiguous
        qkv = np.ascontiguousarray(qkv.reshape(m, n, 3, self.heads, self.d_k).transpose(2, 0, 3, 1, 4))
        return qkv[0], qkv[1], qkv[2], x2

    def merge(self, out):
        """The heads' outputs (m, heads, n, d_k) -> y (m, n, d) through Wo, and ctx2 (m n, d)."""
        m, _, n, _ = out.shape
        ctx2 = out.transpose(0, 2, 1, 3).reshape(m * n, self.d)
        y = ctx2 @ self.params[self.k["Wo"]].T
        y += _col(self.params[self.k["bo"]])
        return y.reshape(m, n, self.d), ctx2

    def forward(self, x, mask=None):
        """x (m, T, d), mask broadcastable to (m, heads, T, T) (True = may attend; see attention_mask)
        -> y (m, T, d), MHACache."""
        q, k, v, x2 = self.project(x)
        out, att = attention_forward(q, k, v, mask)
        y, ctx2 = self.merge(out)
        return y, MHACache(x2, att, ctx2)

    def backward(self, dy, cache):
        """dy (m, T, d) -> dx (m, T, d), grads {Wqkv, bqkv, Wo, bo}."""
        P, k = self.params, self.k
        x2, att, ctx2 = cache
        m, T, d = dy.shape
        H, d_k = self.heads, self.d_k
        dy2 = dy.reshape(m * T, d)
        grads = {k["Wo"]: dy2.T @ ctx2, k["bo"]: dy2.sum(axis=0)[:, None]}
        dctx = (dy2 @ P[k["Wo"]]).reshape(m, T, H, d_k).transpose(0, 2, 1, 3)
        dq, dk, dv = attention_backward(dctx, att)
        # write the three back into the fused (m, T, 3, H, d_k) layout, so Wqkv's gradient and dx are
        # each one product
        dqkv = np.empty((m, T, 3, H, d_k), dy.dtype)
        view = dqkv.transpose(2, 0, 3, 1, 4)
        view[0], view[1], view[2] = dq, dk, dv
        dqkv2 = dqkv.reshape(m * T, 3 * d)
        grads[k["Wqkv"]] = dqkv2.T @ x2
        grads[k["bqkv"]] = dqkv2.sum(axis=0)[:, None]
        return (dqkv2 @ P[k["Wqkv"]]).reshape(m, T, d), grads


# ----------------------------------------------------------------------------------------------------
# the pre-norm block


class BlockCache(NamedTuple):
    ln1: LayerNormCache
    attn: MHACache
    keep1: np.ndarray    # (m, T, d) dropout keep-mask on the attention branch, or None
    ln2: LayerNormCache
    ff: FeedForwardCache
    keep2: np.ndarray    # (m, T, d) dropout keep-mask on the feed-forward branch, or None


class Block:
    """x <- x + Dropout(MHA(LN1(x))); x <- x + Dropout(FFN(LN2(x))).  Sub-keys ln1, attn, ln2, ff.

    Pre-norm (the normalisation inside the branch, the residual path left as an identity) is what
    trains without a warm-up-sensitive start in deep stacks; GPT-2 and torch's norm_first=True.
    """

    def __init__(self, params, name, d, heads, ff, activation="gelu", dropout=0.0, rng=None,
                 dtype=np.float32, out_scale=1.0):
        rng = np.random.default_rng(0) if rng is None else rng
        self.dropout = float(dropout)
        self.ln1 = LayerNorm(params, f"{name}.ln1", d, dtype)
        self.attn = MultiHeadAttention(params, f"{name}.attn", d, heads, rng, dtype, out_scale)
        self.ln2 = LayerNorm(params, f"{name}.ln2", d, dtype)
        self.ff = FeedForward(params, f"{name}.ff", d, ff, activation, rng, dtype, out_scale)

    @staticmethod
    def param_shapes(name, d, ff):
        return {**LayerNorm.param_shapes(f"{name}.ln1", d), **MultiHeadAttention.param_shapes(f"{name}.attn", d),
                **LayerNorm.param_shapes(f"{name}.ln2", d), **FeedForward.param_shapes(f"{name}.ff", d, ff)}

    def forward(self, x, mask=None, rng=None):
        """x (m, T, d), mask (see attention_mask) -> x (m, T, d), BlockCache. ``rng``: dropout on."""
        h, c1 = self.ln1.forward(x)
        a, ca = self.attn.forward(h, mask)
        keep1 = inverted_dropout(a.shape, self.dropout, rng, a.dtype)
        if keep1 is not None:
            a *= keep1
        x = x + a
        h, c2 = self.ln2.forward(x)
        f, cf = self.ff.forward(h)
        keep2 = inverted_dropout(f.shape, self.dropout, rng, f.dtype)
        if keep2 is not None:
            f *= keep2
        f += x
        return f, BlockCache(c1, ca, keep1, c2, cf, keep2)

    def backward(self, dy, cache):
        """dy (m, T, d) -> dx (m, T, d), grads of ln1, attn, ln2, ff."""
        c1, ca, keep1, c2, cf, keep2 = cache
        df = dy if keep2 is None else dy * keep2
        dh, grads = self.ff.backward(df, cf)
        dx1, g = self.ln2.backward(dh, c2)
        grads.update(g)
        dx1 += dy                                        # the residual path
        da = dx1 if keep1 is None else dx1 * keep1
        dh, g = self.attn.backward(da, ca)
        grads.update(g)
        dx, g = self.ln1.backward(dh, c1)
        grads.update(g)
        dx += dx1
        return dx, grads

    def extend(self, x, K, V, t0, mask=None):
        """The block for n NEW positions t0..t0+n-1 of a causal model, with earlier keys and values
        cached: x (m, n, d) -> (m, n, d). K, V (m, heads, window, d_k) get this block's new keys and
        values written at [t0, t0+n); the queries attend to K[:, :, :t0+n]. ``mask`` (n, t0+n) hides
        each new position's later ones (None when n = 1: it may see everything cached)."""
        h, _ = self.ln1.forward(x)
        q, k, v, _ = self.attn.project(h)
        n = x.shape[1]
        K[:, :, t0:t0 + n] = k
        V[:, :, t0:t0 + n] = v
        out, _ = attention_forward(q, K[:, :, :t0 + n], V[:, :, :t0 + n], mask)
        a, _ = self.attn.merge(out)
        x = x + a
        h, _ = self.ln2.forward(x)
        f, _ = self.ff.forward(h)
        f += x
        return f


# ----------------------------------------------------------------------------------------------------
# positions


def sinusoidal_positions(T, d, dtype=np.float32):
    """(T, d) fixed encodings of positions 0..T-1 (Vaswani et al.):
    PE[t, 2i] = sin(t / 10000^(2i/d)), PE[t, 2i+1] = cos(t / 10000^(2i/d)).
    Each pair of features turns at its own frequency, so a fixed offset is a fixed rotation."""
    t = np.arange(T, dtype=np.float64)[:, None]
    freq = np.exp(-math.log(10000.0) * np.arange(0, d, 2, dtype=np.float64) / d)   # (ceil(d/2),)
    angle = t * freq
    pe = np.empty((T, d), np.float64)
    pe[:, 0::2] = np.sin(angle)
    pe[:, 1::2] = np.cos(angle[:, : d // 2])
    return pe.astype(dtype)


# ----------------------------------------------------------------------------------------------------
# the encoder


class EncoderCache(NamedTuple):
    x2: np.ndarray       # (m T, n_in) the input rows, for the input projection's gradient (or None)
    shape: tuple         # (m, T, n_in)
    keep0: np.ndarray    # (m, T, d) dropout keep-mask on the embedded input, or None
    blocks: list         # one BlockCache per layer
    ln: LayerNormCache   # the final LayerNorm
    real: np.ndarray     # (m, T, 1) bool, True at real positions; None if every row is full


class TransformerEncoder:
    """A stack of ``layers`` pre-norm blocks with a final LayerNorm; the interface of layers.Stack.

    params, name     the shared flat parameter dict and this encoder's key prefix (see the module)
    n_in, d_model    input width and model width (``n_out`` = d_model); an input projection
                     ``{name}.in`` maps n_in to d_model when they differ
    heads, ff        attention heads (d_model must be a multiple) and the feed-forward width
    positions        "sinusoidal" (fixed, any length) or "learned" (``{name}.P`` (d_model, max_len):
                     sequences longer than max_len are an error)
    activation       "gelu" (tanh approximation) or "relu"
    dropout          inverted dropout rate on the embedded input and on both branches of every block,
                     active only when ``forward`` is given an rng (training)
    causal           position t attends to positions <= t only (a language model)

    Initialisation: matrices U(-b, b) with variance 1/n_in (so the branch outputs start at unit
    scale); the two projections that write into the residual stream (Wo, W2) are scaled by
    1/sqrt(2 layers), as GPT-2 does, so the stream's variance does not grow with depth. Biases 0,
    LayerNorm gains 1. Learned positions start with the per-feature spread of the sinusoidal ones
    (std 1/sqrt 2), so the choice of positions does not change the input's scale.
    """

    def __init__(self, params, name, n_in, d_model, heads, ff, layers, positions="sinusoidal",
                 max_len=512, activation="gelu", dropout=0.1, causal=False, rng=None, dtype=np.float32):
        cfg = {"n_in": n_in, "d_model": d_model, "heads": heads, "ff": ff, "layers": layers,
               "positions": positions, "max_len": max_len, "activation": activation,
               "dropout": dropout, "causal": causal}
        self.param_shapes(cfg, name)                     # the same checks as a model file's config
        rng = np.random.default_rng(0) if rng is None else rng
        self.params, self.name, self.dtype = params, name, np.dtype(dtype)
        self.n_in, self.d_model, self.heads, self.ff = int(n_in), int(d_model), int(heads), int(ff)
        self.layers, self.positions, self.max_len = int(layers), positions, int(max_len)
        self.activation, self.dropout, self.causal = activation, float(dropout), bool(causal)
        self.n_out = self.d_model
        d = self.d_model
        self.k_in = (f"{name}.in.W", f"{name}.in.b") if self.n_in != d else None
        if self.k_in:
            params[self.k_in[0]] = _uniform(rng, (d, self.n_in), 1.0 / self.n_in, self.dtype)
            params[self.k_in[1]] = np.zeros((d, 1), self.dtype)
        self.k_P = f"{name}.P" if positions == "learned" else None
        if self.k_P:
            params[self.k_P] = (rng.standard_normal((d, self.max_len)) / math.sqrt(2.0)).astype(self.dtype)
            self._table = None
        else:
            self._table = sinusoidal_positions(self.max_len, d, self.dtype)   # a constant, not state
        out_scale = 1.0 / math.sqrt(2.0 * self.layers)
        self.blocks = [Block(params, f"{name}.l{i}", d, self.heads, self.ff, activation, self.dropout, rng,
                             self.dtype, out_scale) for i in range(self.layers)]
        self.final_ln = LayerNorm(params, f"{name}.ln", d, self.dtype)
        self.keys = list(self.param_shapes(self.config(), name))   # this encoder's entries of params

    # -- configuration ---------------------------------------------------------------------------

    def config(self):
        """The constructor's size arguments, JSON-serialisable (``param_shapes`` reads this dict)."""
        return {"n_in": self.n_in, "d_model": self.d_model, "heads": self.heads, "ff": self.ff,
                "layers": self.layers, "positions": self.positions, "max_len": self.max_len,
                "activation": self.activation, "dropout": self.dropout, "causal": self.causal}

    @staticmethod
    def param_shapes(config, name="enc"):
        """{key: shape} that ``config`` (as ``config()`` gives it) implies, from checked sizes and
        without allocating anything, so an untrusted model file is checked before it is built.
        Raises ValueError naming the bad entry."""
        n_in = checks.config_int(config, "n_in", 1, checks.MAX_UNITS)
        d = checks.config_int(config, "d_model", 1, checks.MAX_UNITS)
        heads = checks.config_int(config, "heads", 1, d)
        if d % heads:
            raise ValueError(f"network d_model {d} must be a multiple of heads {heads}")
        ff = checks.config_int(config, "ff", 1, MAX_FF)
        layers = checks.config_int(config, "layers", 1, checks.MAX_LAYERS)
        max_len = checks.config_int(config, "max_len", 1, MAX_POSITIONS)
        positions = checks.config_choice(config, "positions", POSITIONS)
        checks.config_choice(config, "activation", ACTIVATIONS)
        checks.config_dropout(config)
        if not isinstance(config.get("causal", False), bool):
            raise ValueError("network causal must be true or false")
        shapes = {}
        if n_in != d:
            shapes.update({f"{name}.in.W": (d, n_in), f"{name}.in.b": (d, 1)})
        if positions == "learned":
            shapes[f"{name}.P"] = (d, max_len)
        for i in range(layers):
            shapes.update(Block.param_shapes(f"{name}.l{i}", d, ff))
        shapes.update(LayerNorm.param_shapes(f"{name}.ln", d))
        return shapes

    # -- pieces shared by the full pass and the incremental decoder --------------------------------

    def position_rows(self, t0, n):
        """(n, d_model) encodings of positions t0..t0+n-1 (a view of the table or of P)."""
        if self.k_P:
            if t0 + n > self.max_len:
                raise ValueError(f"sequence of {t0 + n} positions is longer than max_len {self.max_len} "
                                 "of the learned positions")
            return self.params[self.k_P][:, t0:t0 + n].T
        if t0 + n <= self.max_len:
            return self._table[t0:t0 + n]
        return sinusoidal_positions(t0 + n, self.d_model, self.dtype)[t0:]

    def embed_rows(self, x, t0=0):
        """x (m, n, n_in) -> h (m, n, d_model): the input projection (if any) plus the positions of
        t0..t0+n-1; and x2 (m n, n_in), the input rows the projection read (None without one)."""
        m, n, n_in = x.shape
        x2 = None
        if self.k_in:
            x2 = x.reshape(m * n, n_in)             # a copy if x is a transposed view: one copy either way
            h = x2 @ self.params[self.k_in[0]].T
            h += _col(self.params[self.k_in[1]])
            h = h.reshape(m, n, self.d_model)
        else:
            h = np.array(x, order="C")
        h += self.position_rows(t0, n)
        return h, x2

    # -- the full pass ------------------------------------------------------------------------------

    def forward_rows(self, x, lengths=None, rng=None):
        """x (m, T_x, n_in) rows, lengths (m,) or None (all full) -> out (m, T_x, d_model), EncoderCache.

        ``rng`` (a np.random.Generator) given: dropout is active. Padded positions of the output are 0.
        """
        x = np.asarray(x, self.dtype)
        m, T, _ = x.shape
        if T == 0:      # a batch of empty rows (the attention core cannot take a max over no key)
            return np.zeros((m, 0, self.d_model), self.dtype), EncoderCache(None, x.shape, None, [], None, None)
        h, x2 = self.embed_rows(x)
        keep0 = inverted_dropout(h.shape, self.dropout, rng, h.dtype)
        if keep0 is not None:
            h *= keep0
        mask = attention_mask(lengths, T, self.causal)
        caches = []
        for block in self.blocks:
            h, c = block.forward(h, mask, rng)
            caches.append(c)
        y, c_ln = self.final_ln.forward(h)
        real = None
        if lengths is not None and np.size(lengths) and np.min(lengths) < T:
            real = (np.arange(T)[None, :] < np.asarray(lengths)[:, None])[:, :, None]   # (m, T, 1)
            y *= real
        return y, EncoderCache(x2, x.shape, keep0, caches, c_ln, real)

    def backward_rows(self, dy, cache):
        """dy (m, T_x, d_model) -> dx (m, T_x, n_in), grads keyed like params (every key of this
        encoder). The gradient arriving at padded positions is ignored (their output is a constant 0)."""
        x2, shape, keep0, caches, c_ln, real = cache
        m, T, n_in = shape
        if T == 0:
            return np.zeros(shape, self.dtype), {k: np.zeros_like(self.params[k]) for k in self.keys}
        if real is not None:
            dy = dy * real
        dh, grads = self.final_ln.backward(dy, c_ln)
        for block, c in zip(reversed(self.blocks), reversed(caches)):
            dh, g = block.backward(dh, c)
            grads.update(g)
        if keep0 is not None:
            dh *= keep0
        if self.k_P:
            dP = np.zeros_like(self.params[self.k_P])
            dP[:, :T] = dh.sum(axis=0).T
            grads[self.k_P] = dP
        if not self.k_in:
            return dh, grads
        dh2 = dh.reshape(m * T, self.d_model)
        grads[self.k_in[0]] = dh2.T @ x2
        grads[self.k_in[1]] = dh2.sum(axis=0)[:, None]
        return (dh2 @ self.params[self.k_in[0]]).reshape(shape), grads

    def forward(self, x, lengths, rng=None):
        """x (T_x, n_in, m), lengths (m,) -> out (T_x, d_model, m) contiguous, EncoderCache.

        layers.Stack's interface: ``rng`` given = training (dropout on). Padded positions of out are 0.
        """
        y, cache = self.forward_rows(np.transpose(x, (2, 0, 1)), lengths, rng)
        return np.ascontiguousarray(y.transpose(1, 2, 0)), cache

    def backward(self, dout, cache):
        """dout (T_x, d_model, m) -> dx (T_x, n_in, m) contiguous, grads keyed like params."""
        dx, grads = self.backward_rows(np.ascontiguousarray(np.transpose(dout, (2, 0, 1))), cache)
        return np.ascontiguousarray(dx.transpose(1, 2, 0)), grads

    def attention_weights(self, cache):
        """[alpha of layer 0, layer 1, ...], each (m, heads, T_x, T_x): alpha[i, h, t, s] is how much
        position t of row i read position s in head h (the cache's own arrays, the very weights the
        forward pass used). Queries at padded positions t >= lengths[i] are padding: ignore them."""
        if not cache.blocks:                              # T_x = 0
            m = cache.shape[0]
            return [np.zeros((m, self.heads, 0, 0), self.dtype) for _ in self.blocks]
        return [c.attn.att.alpha for c in cache.blocks]


# ----------------------------------------------------------------------------------------------------
# incremental decoding


class IncrementalDecoder:
    """A causal TransformerEncoder run a few positions at a time, with a key/value cache: sampling.

    The keys and values of the positions already seen never change in a causal model (position t only
    reads positions <= t), so each layer keeps them in a preallocated ``(m, heads, window, d_k)``
    buffer. A new position then costs its own projections and one attention row over the cache, not a
    new pass over the context; the tests check it against the full causal ``forward``.

    ``window`` (default ``encoder.max_len``) is the longest context. When it is full, the oldest
    positions are dropped and the newest ``keep`` (default window // 2) are re-encoded from position 0
    in one batched pass, so the model always sees a context it was trained on (positions < window)
    and the re-encoding costs one pass per window - keep new positions. ``dropped`` counts the inputs
    dropped so far: the context of the newest output is inputs [dropped, dropped + position).

    ``m`` streams are decoded side by side (one is the usual). No dropout (inference).
    """

    def __init__(self, encoder, m=1, window=None, keep=None):
        if not encoder.causal:
            raise ValueError("incremental decoding needs a causal encoder")
        window = encoder.max_len if window is None else int(window)
        if window < 1 or (encoder.positions == "learned" and window > encoder.max_len):
            raise ValueError(f"window must be from 1 to max_len {encoder.max_len}, not {window}")
        keep = window // 2 if keep is None else int(keep)
        if not 0 <= keep < window:
            raise ValueError(f"keep must be from 0 to window - 1 = {window - 1}, not {keep}")
        self.encoder, self.m, self.window, self.keep = encoder, int(m), window, keep
        e, dt = encoder, encoder.dtype
        shape = (self.m, e.heads, window, e.d_model // e.heads)
        self.K = [np.zeros(shape, dt) for _ in e.blocks]
        self.V = [np.zeros(shape, dt) for _ in e.blocks]
        self.X = np.zeros((self.m, window, e.n_in), dt)      # the inputs in context, to re-encode
        self.position = 0                                    # positions in the cache
        self.dropped = 0

    def reset(self):
        """Forget the context (the buffers are reused)."""
        self.position = self.dropped = 0

    def step(self, x_t):
        """x_t (n_in, m), the next input -> out (d_model, m), the encoder's output at that position."""
        x_t = np.asarray(x_t, self.encoder.dtype)
        return self._feed_rows(x_t.T[:, None, :])[:, 0].T

    def feed(self, x):
        """x (T_x, n_in, m), the next T_x inputs (a prompt) in batched passes -> out (T_x, d_model, m)."""
        x = np.asarray(x, self.encoder.dtype)
        return np.ascontiguousarray(self._feed_rows(x.transpose(2, 0, 1)).transpose(1, 2, 0))

    def _feed_rows(self, xr):
        """xr (m, n, n_in) -> (m, n, d_model), in chunks that fit the window."""
        outs, i, n = [], 0, xr.shape[1]
        while i < n:
            if self.position == self.window:
                self._slide()
            k = min(n - i, self.window - self.position)
            outs.append(self._advance(xr[:, i:i + k]))
            i += k
        return outs[0] if len(outs) == 1 else np.concatenate(outs, axis=1)

    def _slide(self):
        """The window is full: keep the newest ``keep`` inputs, re-encoded from position 0."""
        kept = self.X[:, self.window - self.keep:].copy()
        self.dropped += self.window - self.keep
        self.position = 0
        if self.keep:
            self._advance(kept)

    def _advance(self, xr):
        """n new inputs xr (m, n, n_in) at positions position..position+n-1 -> (m, n, d_model)."""
        e, t0, n = self.encoder, self.position, xr.shape[1]
        self.X[:, t0:t0 + n] = xr
        h, _ = e.embed_rows(xr, t0)
        mask = None if n == 1 else np.tri(n, t0 + n, t0, dtype=bool)   # new position i sees keys <= t0 + i
        for block, K, V in zip(e.blocks, self.K, self.V):
            h = block.extend(h, K, V, t0, mask)
        y, _ = e.final_ln.forward(h)
        self.position += n
        return y
