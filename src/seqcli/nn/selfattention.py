"""Multi-head self-attention and the Transformer's pre-norm block, over rows ``(m, T_x, d)``.

The attention itself is ``attention.attention_forward`` (the zoo's one attention core); this module
projects the rows into the heads' queries, keys and values, runs every head at once (heads are a
leading batch axis) and merges them back. ``Block`` puts it and the feed-forward (sublayers.py)
into a residual pre-norm block.
"""

from typing import NamedTuple

import numpy as np

from .attention import attention_backward, attention_forward, causal_mask, key_padding_mask
from .layers import inverted_dropout
from .sublayers import FeedForward, FeedForwardCache, LayerNorm, LayerNormCache, col, uniform


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
        params[self.k["Wqkv"]] = uniform(rng, (3 * d, d), 1.0 / d, dtype)
        params[self.k["bqkv"]] = np.zeros((3 * d, 1), dtype)
        params[self.k["Wo"]] = uniform(rng, (d, d), out_scale ** 2 / d, dtype)
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
        qkv += col(self.params[self.k["bqkv"]])
        # (m, n, 3, H, d_k) -> (3, m, H, n, d_k): one copy makes each head's q, k, v contiguous
        qkv = np.ascontiguousarray(qkv.reshape(m, n, 3, self.heads, self.d_k).transpose(2, 0, 3, 1, 4))
        return qkv[0], qkv[1], qkv[2], x2

    def merge(self, out):
        """The heads' outputs (m, heads, n, d_k) -> y (m, n, d) through Wo, and ctx2 (m n, d)."""
        m, _, n, _ = out.shape
        ctx2 = out.transpose(0, 2, 1, 3).reshape(m * n, self.d)
        y = ctx2 @ self.params[self.k["Wo"]].T
        y += col(self.params[self.k["bo"]])
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
