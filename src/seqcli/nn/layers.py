"""Layers over the cells: Embedding, Dense, Recurrent(cell), Bidirectional, Stack, Pool.

Every layer owns some entries of a shared flat parameter dict (namespaced keys such as
``"enc.l0.fw.Wax"``) and reads them at every call, so an optimizer that updates the dict (in place or by
key) is seen at once. A layer never keeps the history of its last call: ``forward(...)`` returns
``(out, cache)`` and ``backward(dout, cache)`` returns ``(dinput, grads)`` with ``grads`` keyed like the
parameters.

Sequences are time-first and feature-major: ``(T_x, n, m)``; ``lengths`` is ``(m,)`` ints, row i being
real at steps ``t < lengths[i]`` and padding after.
"""

from typing import NamedTuple

import numpy as np

from . import cells
from .sparse import ColumnGrad, columns_of


def length_mask(lengths, T):
    """(T, m) bool mask, True at the real steps t < lengths[i] of each row i."""
    return np.arange(T)[:, None] < np.asarray(lengths)[None, :]


def inverted_dropout(shape, rate, rng, dtype):
    """A (shape) keep-mask scaled by 1/(1-rate), so activations keep their expected value; None if off."""
    if rng is None or not rate:
        return None
    return ((rng.random(shape) >= rate) / (1.0 - rate)).astype(dtype)


class Embedding:
    """Token ids -> vectors: x<t> = E[:, id<t>].

    E is ``(n_x, n_vocab)``. Feeding a one-hot column o<t> (all zeros except a 1 at row id<t>) into a
    matrix product gives E o<t> = column id<t> of E: the product only picks out that column. So the
    embedding is the input weight of a cell fed one-hot vectors, computed as a lookup instead of a
    product with a mostly-zero (n_vocab, m) matrix; its gradient likewise only touches the columns of
    the ids that occurred. Id 0 (padding) starts as a zero vector; padded steps are masked anyway.
    """

    def __init__(self, params, name, n_vocab, n_x, rng, dtype=np.float32):
        self.params, self.key = params, f"{name}.E"
        E = rng.standard_normal((n_x, n_vocab)).astype(dtype)
        E[:, 0] = 0.0
        params[self.key] = E

    def forward(self, ids):
        """ids (T_x, m) ints -> x (T_x, n_x, m) contiguous, cache."""
        E = self.params[self.key]
        x = np.ascontiguousarray(E.T[ids].transpose(0, 2, 1))  # row gather, then feature-major
        return x, ids

    def backward(self, dx, ids, sparse=False):
        """dx (T_x, n_x, m) -> (None, {"name.E": gradient}); sums the gradients of repeated ids.

        The gradient is an (n_x, n_vocab) array, or with ``sparse=True`` a ``sparse.ColumnGrad`` of the
        columns of the ids that occurred (a batch touches a few hundred of a large table's columns)."""
        E = self.params[self.key]
        n_x = E.shape[0]
        flat = ids.ravel()
        index, sums = np.zeros(0, np.intp), np.zeros((n_x, 0), dx.dtype)
        if flat.size:
            index, sums = columns_of(flat, dx.transpose(0, 2, 1).reshape(-1, n_x))   # (T*m, n_x) rows
        if sparse:
            return None, {self.key: ColumnGrad(index, sums, E.shape)}
        dE = np.zeros_like(E)
        dE[:, index] = sums
        return None, {self.key: dE}


class Dense:
    """Affine readout y = Wya h + by.  Wya (n_y, n_h), by (n_y, 1)."""

    def __init__(self, params, name, n_h, n_y, rng, dtype=np.float32):
        self.params, self.kW, self.kb = params, f"{name}.Wya", f"{name}.by"
        bound = np.sqrt(6.0 / (n_h + n_y))  # Glorot uniform
        params[self.kW] = rng.uniform(-bound, bound, (n_y, n_h)).astype(dtype)
        params[self.kb] = np.zeros((n_y, 1), dtype)

    def forward(self, h):
        """h (n_h, m) -> y (n_y, m), cache."""
        return self.params[self.kW] @ h + self.params[self.kb], h

    def backward(self, dy, h):
        """dy (n_y, m) -> dh (n_h, m), grads."""
        grads = {self.kW: dy @ h.T, self.kb: dy.sum(axis=1, keepdims=True)}
        return self.params[self.kW].T @ dy, grads


class Recurrent:
    """One direction of one recurrent layer: a cell of ``kind`` run over the sequence from an initial
    state (zeros unless given: a language model carries its state from one window to the next).

    Parameters ``{name}.Wax``, ``{name}.Waa``, ``{name}.ba`` (+ ``{name}.bc`` for the GRU); see cells.
    """

    def __init__(self, params, name, kind, n_x, n_a, rng, dtype=np.float32):
        if kind not in cells.GATES:
            raise ValueError(f"unknown cell kind {kind!r}; expected one of {sorted(cells.GATES)}")
        self.params, self.name, self.kind, self.n_x, self.n_a = params, name, kind, n_x, n_a
        self.names = []
        for k, v in cells.init_params(kind, n_x, n_a, rng, dtype).items():
            params[f"{name}.{k}"] = v
            self.names.append(k)
        self.n_out = n_a

    def p(self):
        """This layer's parameters under the cell's own names (Wax, Waa, ba, ...)."""
        return {k: self.params[f"{self.name}.{k}"] for k in self.names}

    def forward(self, x, lengths, state0=None, reverse=False):
        """x (T_x, n_x, m), lengths (m,), state0 a tuple of (n_a, m) arrays ((a0,), or (a0, c0) for the
        LSTM; None: zeros) -> a (T_x, n_a, m), cache (the cell's cache).

        reverse: read each row from its last real token back to its first (the backward direction of a
        bidirectional layer). The cell runs over the steps in reverse time; a row's padding then comes
        before its first real step and carries the initial state, so every row starts at its true end.
        ``a`` is in token order (a[t] belongs to token t); the cache is in the cell's order."""
        mask = length_mask(lengths, x.shape[0])
        if not reverse:
            return cells.forward(self.kind, x, state0, self.p(), mask)
        a, cache = cells.forward(self.kind, x[::-1], state0, self.p(), mask[::-1])
        return a[::-1], cache

    def backward(self, da, cache, reverse=False):
        """da (T_x, n_a, m) -> dx (T_x, n_x, m), grads (``reverse`` as given to ``forward``)."""
        if reverse:
            dx, _, grads = self.backward_to_state(da[::-1], cache)
            return dx[::-1], grads
        dx, _, grads = self.backward_to_state(da, cache)
        return dx, grads

    def backward_to_state(self, da, cache, dlast=None):
        """da (T_x, n_a, m), dlast: gradient on the final state (tuple, or None) ->
        dx (T_x, n_x, m), dstate0 (the gradient of the initial state, a tuple), grads."""
        dx, dstate0, dp = cells.backward(self.kind, da, cache, dlast)
        return dx, dstate0, {f"{self.name}.{k}": g for k, g in dp.items()}

    def final_state(self, cache):
        """The state after each row's last real step: a tuple of (n_a, m) arrays."""
        return cells.final_state(self.kind, cache)

    def states(self, cache):
        """{field: (T_x, n_a, m)} activations of the forward pass (the cache's own arrays)."""
        return cells.states(self.kind, cache)


class Bidirectional:
    """Two Recurrent layers, one reading each row forward, one reading it backward from its TRUE end.

    The output is ``(T_x, 2 n_a, m)``: rows [0, n_a) the forward direction, [n_a, 2n_a) the backward
    direction, both in token order, so position t of both halves belongs to token t. The backward
    direction runs over the steps in reverse time (``Recurrent.forward(..., reverse=True)``): a view of
    the same arrays, no gather, and rows sorted longest first stay sorted for the cell's fast path.
    """

    def __init__(self, fw, bw):
        self.fw, self.bw = fw, bw
        self.n_out = fw.n_out + bw.n_out

    def forward(self, x, lengths):
        """x (T_x, n_x, m) -> out (T_x, 2 n_a, m), cache (fw_cache, bw_cache)."""
        a_fw, c_fw = self.fw.forward(x, lengths)
        a_bw, c_bw = self.bw.forward(x, lengths, reverse=True)
        return np.concatenate([a_fw, a_bw], axis=1), (c_fw, c_bw)

    def backward(self, dout, cache):
        """dout (T_x, 2 n_a, m) -> dx (T_x, n_x, m), grads of both directions."""
        c_fw, c_bw = cache
        n = self.fw.n_out
        dx, grads = self.fw.backward(dout[:, :n], c_fw)
        dx_bw, g_bw = self.bw.backward(dout[:, n:], c_bw, reverse=True)
        grads.update(g_bw)
        return dx + dx_bw, grads

    def states(self, cache, order="tokens"):
        """{"fw": {field: (T_x, n_a, m)}, "bw": {...}}.  ``order="tokens"`` puts the backward direction's
        arrays in token order (a reversed view of the cache arrays, not a recomputation);
        ``order="cell"`` gives the cache arrays themselves, in the order the backward cell read them
        (reverse time: a short row's padding first)."""
        c_fw, c_bw = cache
        bw = self.bw.states(c_bw)
        if order == "tokens":
            bw = {k: v[::-1] for k, v in bw.items()}
        return {"fw": self.fw.states(c_fw), "bw": bw}


def stack_states(layers, caches):
    """{"enc.l{i}.{fw|bw}.{field}": (T, n_a, m)} of every recurrent layer's states in a forward pass
    (``layers``: a stack's layers, ``caches``: theirs), as explain reads them."""
    out = {}
    for i, (layer, c) in enumerate(zip(layers, caches)):
        if isinstance(layer, Bidirectional):
            both = layer.states(c)
            for d in ("fw", "bw"):
                out.update({f"enc.l{i}.{d}.{k}": v for k, v in both[d].items()})
        else:
            out.update({f"enc.l{i}.fw.{k}": v for k, v in layer.states(c).items()})
    return out


class StackCache(NamedTuple):
    caches: list        # each layer's own cache
    masks: list         # each layer's dropout keep-mask (None where off)


class Stack:
    """N recurrent layers (Recurrent or Bidirectional) with inverted dropout between them.

    ``dropout_at="inputs"`` (classifiers) drops each layer's input, the embeddings included: with a few
    thousand sentences the embedding table is most of the parameters and overfits first.
    ``dropout_at="outputs"`` (language models) drops each layer's output, so between layers and before
    the readout, and never the input of the first layer.
    """

    def __init__(self, layers, dropout=0.0, dropout_at="inputs"):
        if dropout_at not in ("inputs", "outputs"):
            raise ValueError(f"dropout_at must be 'inputs' or 'outputs', not {dropout_at!r}")
        self.layers, self.dropout, self.dropout_at = list(layers), float(dropout), dropout_at
        self.n_out = self.layers[-1].n_out

    def forward(self, x, lengths, rng=None, state0=None):
        """x (T_x, n_x, m) -> top output (T_x, n_out, m), StackCache.

        ``rng`` given: dropout is active (training); the dropout masks come from it. ``state0``: one
        initial state per layer (unidirectional layers only; None: zeros)."""
        caches, masks = [], []
        for i, layer in enumerate(self.layers):
            if self.dropout_at == "inputs":
                x, keep = _drop(x, self.dropout, rng)
            x, c = layer.forward(x, lengths) if state0 is None else layer.forward(x, lengths, state0[i])
            if self.dropout_at == "outputs":
                x, keep = _drop(x, self.dropout, rng)
            caches.append(c)
            masks.append(keep)
        return x, StackCache(caches, masks)

    def backward(self, dout, cache):
        """dout (T_x, n_out, m) -> dx (T_x, n_x, m), grads of every layer."""
        grads = {}
        for layer, c, keep in zip(reversed(self.layers), reversed(cache.caches), reversed(cache.masks)):
            if keep is not None and self.dropout_at == "outputs":
                dout = dout * keep
            dout, g = layer.backward(dout, c)
            grads.update(g)
            if keep is not None and self.dropout_at == "inputs":
                dout = dout * keep
        return dout, grads

    def final_state(self, cache):
        """Each (unidirectional) layer's state after the last real step: a list of tuples of (n_a, m)."""
        return [layer.final_state(c) for layer, c in zip(self.layers, cache.caches)]


def recurrent_stack(params, prefix, cell, n_in, hidden, layers, rng, dtype=np.float32, bidirectional=False,
                    dropout=0.0, dropout_at="inputs", direction_names=True):
    """A Stack of ``layers`` recurrent layers of ``cell`` (Bidirectional ones when asked), its parameters
    under ``{prefix}.l{i}.fw`` / ``.bw`` (or ``{prefix}.l{i}`` with ``direction_names=False``)."""
    stack = []
    for i in range(layers):
        names = _layer_names(prefix, i, bidirectional, direction_names)
        directions = [Recurrent(params, name, cell, n_in, hidden, rng, dtype) for name in names]
        layer = Bidirectional(*directions) if bidirectional else directions[0]
        stack.append(layer)
        n_in = layer.n_out
    return Stack(stack, dropout, dropout_at)


def stack_shapes(prefix, cell, n_in, hidden, layers, bidirectional=False, direction_names=True):
    """(the parameter shapes of ``recurrent_stack`` with these sizes, its output size), without
    allocating anything (to check a stored network before building it)."""
    shapes = {}
    for i in range(layers):
        for name in _layer_names(prefix, i, bidirectional, direction_names):
            shapes.update({f"{name}.{k}": v for k, v in cells.param_shapes(cell, n_in, hidden).items()})
        n_in = hidden * (2 if bidirectional else 1)
    return shapes, n_in


def _layer_names(prefix, i, bidirectional, direction_names):
    if not direction_names:
        return [f"{prefix}.l{i}"]
    return [f"{prefix}.l{i}.fw", f"{prefix}.l{i}.bw"] if bidirectional else [f"{prefix}.l{i}.fw"]


def _drop(x, rate, rng):
    """(x with inverted dropout applied, the keep-mask or None when dropout is off)."""
    keep = inverted_dropout(x.shape, rate, rng, x.dtype)
    return (x if keep is None else x * keep), keep


POOLS = ("last", "mean", "max", "first")


class Pool:
    """Sequence output (T_x, n, m) -> one vector per row (n, m), over each row's real steps only.

    ``last``: the state after the row's last real token. For a bidirectional layer (``split`` = n_a of
    one direction) the backward half is taken at token 0, where the backward direction ends, so both
    halves are final states that have read the whole row. ``mean`` / ``max``: over real steps.
    ``first``: the output at token 0 (a Transformer's reads the whole row there, as BERT's first token).
    A row of length 0 pools to zeros (its initial state).
    """

    def __init__(self, mode="last", split=None):
        if mode not in POOLS:
            raise ValueError(f"unknown pooling {mode!r}; expected one of {POOLS}")
        self.mode, self.split = mode, split

    def forward(self, a, lengths):
        """a (T_x, n, m), lengths (m,) -> h (n, m), cache."""
        T, n, m = a.shape
        lengths = np.asarray(lengths)
        has = lengths > 0
        if self.mode == "first":
            h = a[0] * has if T else np.zeros((n, m), a.dtype)
            return h, (a.shape, lengths)
        if self.mode == "last":
            cols = np.arange(m)
            idx = np.maximum(lengths - 1, 0)
            h = np.zeros((n, m), a.dtype)
            if T:
                h[:] = a[idx, :, cols].T
                if self.split is not None:
                    h[self.split:] = a[0, self.split:]
            h *= has
            return h, (a.shape, lengths)
        mask = length_mask(lengths, T)[:, None, :]                # (T, 1, m)
        if self.mode == "mean":
            scale = (1.0 / np.maximum(lengths, 1)).astype(a.dtype)  # (m,)
            h = (a * mask).sum(axis=0) * scale
            return h, (a.shape, lengths, mask, scale)
        # max over real steps; argmax routes the gradient
        masked = np.where(mask, a, -np.inf)
        arg = masked.argmax(axis=0) if T else np.zeros((n, m), int)   # (n, m)
        h = np.zeros((n, m), a.dtype)
        if T:
            h[:] = np.take_along_axis(a, arg[None], axis=0)[0]
        h *= has
        return h, (a.shape, lengths, arg)

    def backward(self, dh, cache):
        """dh (n, m) -> da (T_x, n, m)."""
        shape, lengths = cache[0], cache[1]
        T, n, m = shape
        has = lengths > 0
        da = np.zeros(shape, dh.dtype)
        if T == 0:
            return da
        dh = dh * has
        if self.mode == "first":
            da[0] = dh
            return da
        if self.mode == "last":
            cols = np.arange(m)
            idx = np.maximum(lengths - 1, 0)
            s = n if self.split is None else self.split
            da[idx, :s, cols] = dh[:s].T
            if self.split is not None:
                da[0, s:] += dh[s:]
            return da
        if self.mode == "mean":
            mask, scale = cache[2], cache[3]
            return np.multiply(mask, dh * scale, dtype=dh.dtype)
        arg = cache[2]
        np.put_along_axis(da, arg[None], dh[None], axis=0)
        return da

    def prefixes(self, a, lengths):
        """The pooled vector of every prefix: (T_x, n, m), entry t pools steps 0..t (capped at the row's
        end, so steps after it repeat the final value); rows of length 0 give zeros. For ``last`` with a
        bidirectional split, the backward half is the final backward state (it has read the whole row)."""
        T, n, m = a.shape
        lengths = np.asarray(lengths)
        mask = length_mask(lengths, T)[:, None, :]
        if self.mode == "first":
            return np.repeat(a[:1] * (lengths > 0), T, axis=0)
        if self.mode == "last":
            out = a * (lengths > 0)             # padded steps already carry the last real state
            if self.split is not None and T:
                out[:, self.split:] = out[0, self.split:]
            return out
        if self.mode == "mean":
            counts = np.minimum(np.arange(1, T + 1)[:, None], np.maximum(lengths, 1)[None, :])
            return np.cumsum(a * mask, axis=0) / counts[:, None, :].astype(a.dtype)
        out = np.maximum.accumulate(np.where(mask, a, -np.inf), axis=0) if T else a.copy()
        return np.where(lengths > 0, out, 0.0).astype(a.dtype)
