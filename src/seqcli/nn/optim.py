"""Optimizers shared by every model: SGD with momentum, Adam, AdamW and LazyAdam.

State is kept per parameter name, so a checkpoint can store it beside the parameters and a
resumed run continues with exactly the same moments. Updates are in place on the param arrays.

Per-parameter rates (``optimizer.scale``, name -> scale; a name not in it has scale 1): transfer
learning freezes pretrained weights and gives lower layers smaller steps. A scale is

- a number: the step of that parameter is multiplied by it (discriminative learning rates);
  0 freezes the parameter: no update, no weight decay, and its moments stay as they were, so a
  parameter unfrozen later starts from clean moments as if it had not been trained in between;
- a 0/1 array broadcastable to the parameter (a frozen column is a 0 in a (1, n) row): the entries
  at 0 are frozen the same way, the others train at full rate.

``trainable(grads)`` applies the same rule to a batch's gradients before they are clipped, so a
frozen weight's gradient neither counts in the global norm nor shrinks the others'.

Sparse gradients (``sparse.ColumnGrad``: the columns of an embedding table a batch touched) are taken
wherever an array is, with the same result. Adam still updates every column, as it must to be Adam:
its moments decay and its momentum moves the columns a batch did not touch. What the sparse gradient
saves is every pass over a mostly-zero array: building it, clipping it, and the gradient's own terms
of the moments, which touch only its columns. (An update of the touched columns alone, with each
column's missed moment decay caught up when it is next touched, was tried: exact for those columns,
but it drops the momentum steps of the others, and a tagger on UD English EWT learnt its rare words
so much slower that it reached 87.4% after one epoch instead of 92.0%.) SGD turns a sparse gradient
into a dense one; so does Adam with weight decay or a per-entry scale (a 0/1 mask).

``LazyAdam`` (``--optimizer lazyadam``, opt-in) is that row-wise update, as TensorFlow Addons documents
its LazyAdam: the moments and the step of the touched columns only, no catching up. On rt-polarity
(LSTM classifier, --val-split 0.1) it matched Adam's accuracy (seed 0: 76.6% against 76.2%, seed 1:
75.9% against 72.9%, at a validation loss 0.005-0.01 higher), and its step for a 14k x 128 table is a
fraction of a millisecond instead of several.
"""

import numpy as np

from .sparse import ColumnGrad


class _Scaled:
    """The per-parameter scales both optimizers share (see the module docstring)."""

    scale = None   # name -> float or 0/1 array; set by the training driver, epoch by epoch
    decoupled = False   # AdamW: the decay is applied to the weights, not added to the gradient

    def trainable(self, grads):
        """``grads`` without the frozen parameters, frozen entries zeroed (in place); returns it."""
        for name, s in (self.scale or {}).items():
            if name not in grads:
                continue
            if np.ndim(s) == 0:
                if s == 0:
                    del grads[name]
            else:
                grads[name] *= s
        return grads

    def _scaled(self, name, p, g):
        """(gradient with weight decay, step factor or None when frozen) of parameter ``name``."""
        s = 1.0 if not self.scale else self.scale.get(name, 1.0)
        if np.ndim(s) == 0 and s == 0:
            return g, None
        if self.weight_decay and not self.decoupled and _decays(name):
            g = g + self.weight_decay * p
        if np.ndim(s) != 0:
            g = g * s   # the decay of frozen entries too
        return g, s


class SGD(_Scaled):
    """Stochastic gradient descent with (heavy-ball) momentum and optional L2 weight decay."""

    def __init__(self, lr=0.1, momentum=0.9, weight_decay=0.0):
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay
        self.velocity = {}
        self.t = 0

    def step(self, params, grads):
        """Update every ``params[k]`` in place from ``grads[k]`` (same keys, same shapes)."""
        self.t += 1
        for name, g in grads.items():
            p = params[name]
            if isinstance(g, ColumnGrad):
                g = g.dense()
            g, s = self._scaled(name, p, g)
            if s is None:
                continue
            v = self.velocity.get(name)
            if v is None:
                v = self.velocity[name] = np.zeros_like(p)
            v *= self.momentum
            v += g
            p -= (self.lr * s) * v if np.ndim(s) == 0 else (self.lr * v * s).astype(p.dtype, copy=False)

    def state_arrays(self):
        """The optimizer's state as ``{name: array}`` plus a small JSON-able dict, for checkpoints."""
        return {f"v.{k}": v for k, v in self.velocity.items()}, {"t": self.t}

    def load_state(self, arrays, meta):
        self.velocity = {k[2:]: v.copy() for k, v in arrays.items() if k.startswith("v.")}
        self.t = int(meta["t"])


class Adam(_Scaled):
    """Adam (Kingma & Ba) with bias correction; ``weight_decay`` adds L2 to the gradient.

    The L2 term goes into the gradient (classic L2 regularisation, the loss the BoW model states).
    Biases (names ending in "b" or starting with "b") are not decayed.

    ``decoupled=True`` is AdamW (Loshchilov & Hutter): the decay is not part of the gradient, so
    Adam's per-weight scaling does not weaken it where gradients are large; each step shrinks the
    weight by ``lr * weight_decay`` of itself, and only matrices (both sides > 1: projections,
    embeddings, learned positions), never biases or LayerNorm gains, whose size is not capacity.
    """

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, decoupled=False):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.weight_decay, self.decoupled = weight_decay, bool(decoupled)
        self.m, self.v = {}, {}
        self.t = 0
        self.behind = {}   # name -> steps it sat frozen: its own step count is t - behind[name]

    def step(self, params, grads):
        """Update every ``params[k]`` in place from ``grads[k]`` (same keys, same shapes; an array
        or a ColumnGrad)."""
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        for name in self.m.keys() - grads.keys():   # frozen this step (``trainable`` dropped it)
            self.behind[name] = self.behind.get(name, 0) + 1
        for name, g in grads.items():
            p = params[name]
            if isinstance(g, ColumnGrad) and (self.weight_decay or np.ndim(self._scale(name)) != 0):
                g = g.dense()
            if isinstance(g, ColumnGrad):
                s = self._scale(name)
                s = None if s == 0 else s
            else:
                g, s = self._scaled(name, p, g)
            if s is None:
                self.behind[name] = self.behind.get(name, 0) + (name in self.m)
                continue
            m, v, t = self._moments(name, p)
            if isinstance(g, ColumnGrad):   # the gradient's terms on its columns only: zero elsewhere
                m *= b1
                v *= b2
                j, gj = g.index, g.values
                m[:, j] += (1.0 - b1) * gj
                v[:, j] += (1.0 - b2) * (gj * gj)
                g = None   # the moments are done: the update alone is left
            # bias corrections folded into the step size (the usual efficient form); a Python float, so
            # the update is computed in the parameters' dtype (a NumPy float64 scalar would make every
            # temporary float64: twice the memory traffic)
            step = float(self.lr * np.sqrt(1.0 - b2 ** t) / (1.0 - b1 ** t))
            scale = None if np.ndim(s) == 0 and s == 1.0 else s
            if self.decoupled and self.weight_decay and p.ndim == 2 and min(p.shape) > 1:
                p *= 1.0 - self.lr * self.weight_decay * s   # AdamW: the weight shrinks, apart from the gradient
            _adam_update(p, g, m, v, b1, b2, step, self.eps, scale, self._work(p.dtype))

    def _scale(self, name):
        return 1.0 if not self.scale else self.scale.get(name, 1.0)

    def _moments(self, name, p):
        """(m, v, the parameter's own step count), the moments made at its first step."""
        m = self.m.get(name)
        if m is None:
            m = self.m[name] = np.zeros_like(p)
            self.v[name] = np.zeros_like(p)
            if self.t > 1:
                self.behind[name] = self.t - 1   # first trained now (frozen until this step)
        # bias corrections by the parameter's own step count (a parameter unfrozen late starts
        # like a new one)
        return m, self.v[name], self.t - self.behind.get(name, 0)

    def _work(self, dtype):
        """Two work arrays of CHUNK entries for ``dtype``, kept between steps (not state)."""
        work = self.__dict__.setdefault("_work_arrays", {})
        if dtype not in work:
            work[dtype] = (np.empty(CHUNK, dtype), np.empty(CHUNK, dtype))
        return work[dtype]

    def state_arrays(self):
        arrays = {f"m.{k}": a for k, a in self.m.items()}
        arrays.update({f"v.{k}": a for k, a in self.v.items()})
        meta = {"t": self.t}
        if self.behind:
            meta["behind"] = dict(self.behind)
        return arrays, meta

    def load_state(self, arrays, meta):
        self.m = {k[2:]: a.copy() for k, a in arrays.items() if k.startswith("m.")}
        self.v = {k[2:]: a.copy() for k, a in arrays.items() if k.startswith("v.")}
        self.t = int(meta["t"])
        self.behind = {str(k): int(n) for k, n in dict(meta.get("behind") or {}).items()}


CHUNK = 1 << 15   # entries per piece of an Adam update: a piece's arrays stay in the core's cache


def _adam_update(p, g, m, v, b1, b2, step, eps, scale, work):
    """One Adam update of ``p`` in place, with its moments m, v (see ``_adam_piece``); ``scale`` None (1),
    a number or a 0/1 array; ``work``: two arrays of CHUNK entries; ``g`` None: the moments are already
    updated (a sparse gradient's), only the step is left.

    Why in pieces: the update is a dozen elementwise passes; over whole arrays each pass streams the
    weights, the gradient and both moments from memory (six arrays of 4 MB for the default G2P model,
    more than the cache), while a piece of CHUNK entries stays in cache for all of them. Measured for
    the 1.07M weights of that model: 2.8 -> 2.2 ms per step alone, 14 -> 10 ms inside the training loop
    on a loaded machine. The arithmetic is the same, element by element."""
    if (scale is not None and np.ndim(scale) != 0) or not all(x.flags.c_contiguous for x in (p, m, v)):
        # in one piece: a 0/1 scale array broadcasts over the whole parameter
        _adam_piece(p, g, m, v, np.empty_like(p), np.empty_like(p), b1, b2, step, eps, scale)
        return
    flat = [None if x is None else x.reshape(-1) for x in (p, g, m, v)]   # views (a non-contiguous g: a copy)
    for lo in range(0, flat[0].size, CHUNK):
        P, G, M, V = (None if x is None else x[lo:lo + CHUNK] for x in flat)
        _adam_piece(P, G, M, V, work[0][:P.size], work[1][:P.size], b1, b2, step, eps, scale)


def _adam_piece(p, g, m, v, a, b, b1, b2, step, eps, scale):
    """m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g²;  p -= scale * step * m / (sqrt(v) + eps), in place
    (a, b: work arrays shaped like p; g None: m and v are already updated)."""
    if g is not None:
        m *= b1
        np.multiply(g, 1.0 - b1, out=a)
        m += a
        v *= b2
        np.multiply(g, g, out=a)
        a *= 1.0 - b2
        v += a
    np.multiply(m, step, out=a)
    np.sqrt(v, out=b)
    b += eps
    a /= b
    if scale is not None:
        a *= scale   # frozen entries: m is 0 there already; a factor: a smaller step
    p -= a


class LazyAdam(Adam):
    """Adam whose step on a sparse gradient (a ColumnGrad) reads and writes only the touched columns,
    as TensorFlow Addons' LazyAdam does: those columns' moments decay and take the gradient, and only
    they move; the other columns' moments and weights stay as they are until a batch reads them (their
    decay is not caught up). Bias corrections use the global step count. Dense gradients, and sparse ones
    under weight decay or a 0/1 mask, get Adam's step."""

    def step(self, params, grads):
        lazy = {k: g for k, g in grads.items() if isinstance(g, ColumnGrad) and not self.weight_decay
                and np.ndim(self._scale(k)) == 0 and self._scale(k) != 0}
        behind = {k: self.behind[k] for k in lazy if k in self.behind}
        super().step(params, {k: g for k, g in grads.items() if k not in lazy})   # counts the step
        for k in lazy:   # Adam took the parameters it was not given for frozen ones: they are not
            self.behind.pop(k, None)
        self.behind.update(behind)
        b1, b2 = self.beta1, self.beta2
        for name, g in lazy.items():
            p = params[name]
            m, v, t = self._moments(name, p)
            j, gj = g.index, g.values
            mj = m[:, j] * b1 + (1.0 - b1) * gj
            vj = v[:, j] * b2 + (1.0 - b2) * (gj * gj)
            m[:, j], v[:, j] = mj, vj
            step = float(self.lr * self._scale(name) * np.sqrt(1.0 - b2 ** t) / (1.0 - b1 ** t))
            p[:, j] -= (step * mj / (np.sqrt(vj) + self.eps)).astype(p.dtype, copy=False)


def _decays(name):
    """Weights are L2-penalised, biases are not (a penalised bias only shifts the prior)."""
    leaf = name.rsplit(".", 1)[-1]
    return not (leaf.startswith("b") or leaf.endswith("_b"))


def make_optimizer(name, lr, weight_decay=0.0, momentum=0.9):
    """Build an optimizer by name ("adam", "adamw", "sgd" or "lazyadam")."""
    if name in ("adam", "adamw"):
        return Adam(lr=lr, weight_decay=weight_decay, decoupled=name == "adamw")
    if name == "lazyadam":
        return LazyAdam(lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return SGD(lr=lr, momentum=momentum, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r} (choose adam, adamw, sgd or lazyadam)")
