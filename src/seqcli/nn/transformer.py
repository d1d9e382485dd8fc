"""The Transformer encoder: self-attention, residuals, layer norm and a position-wise feed-forward.

The lecture's closing slide: no recurrence, so no loop over time. Every position of every row is
computed at once, and a layer costs a few large matrix products (the Q/K/V projection, the two
attention products per head, the output projection, the two feed-forward products).

    x (T_x, n_in, m) -> [input projection if n_in != d_model] -> + positions -> dropout
      -> layers x pre-norm block -> final LayerNorm -> out (T_x, d_model, m)

    pre-norm block:  x <- x + Dropout(MHA(LN1(x)))
                     x <- x + Dropout(FFN(LN2(x)))

The pieces live beside it: LayerNorm, GELU / ReLU and the feed-forward in sublayers.py, multi-head
self-attention and the block in selfattention.py (over the attention core of attention.py).

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
from .layers import inverted_dropout
from .selfattention import Block, attention_mask
from .sublayers import ACTIVATIONS, LayerNorm, LayerNormCache, col, uniform

POSITIONS = ("sinusoidal", "learned")
MAX_POSITIONS = 1 << 16         # bound on max_len read from a model file
MAX_FF = 4 * checks.MAX_UNITS   # the feed-forward width is usually 4 d_model


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
            params[self.k_in[0]] = uniform(rng, (d, self.n_in), 1.0 / self.n_in, self.dtype)
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
            h += col(self.params[self.k_in[1]])
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
