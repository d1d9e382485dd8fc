"""Attention: a query reads a weighted average of the values, weighted by how well it matches each key.

For one query q (d,) over n_k keys K (n_k, d) and values V (n_k, d_v):

    e_j     = s * q . k_j                  score of key j (s = 1/sqrt(d) by default, "scaled dot product")
    alpha_j = exp(e_j) / sum_i exp(e_i)    over the keys the query may see (the mask); the others get 0
    out     = sum_j alpha_j v_j            (d_v,)

This is the one attention of the zoo: Luong's dot and general scores (general = dot with a projected
query, done by the caller), the encoder-decoder attention of seq2seq, and the Transformer's
multi-head self-attention (heads are a leading batch axis) all call it.

Arrays are batched over any leading axes (written ``...``): queries ``(..., n_q, d)``, keys
``(..., n_k, d)``, values ``(..., n_k, d_v)``; ``mask`` is a bool array broadcastable to
``(..., n_q, n_k)``, True where the query may attend to the key (padding and, for a causal model,
later positions are False). A query that may see no key at all gets zero weights and a zero output
(not NaN), and no gradient. The weights ``alpha`` stay in the cache, so ``--explain`` draws the very
matrix the model used.
"""

from typing import NamedTuple

import numpy as np


class AttentionCache(NamedTuple):
    q: np.ndarray        # (..., n_q, d)
    k: np.ndarray        # (..., n_k, d)
    v: np.ndarray        # (..., n_k, d_v)
    alpha: np.ndarray    # (..., n_q, n_k) attention weights; rows sum to 1 (0 for a query with no key)
    scale: float


def attention_forward(q, k, v, mask=None, scale=None):
    """Scaled dot-product attention.  Returns out (..., n_q, d_v) and an AttentionCache.

    scale: multiplies the dot products (default 1/sqrt(d)).
    """
    if scale is None:
        scale = 1.0 / np.sqrt(q.shape[-1])
    e = np.matmul(q, np.swapaxes(k, -1, -2))          # (..., n_q, n_k)
    e *= e.dtype.type(scale)
    if mask is not None:
        e = np.where(mask, e, -np.inf)
    top = e.max(axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)         # a query with no key: all -inf
    alpha = np.exp(e - top)
    total = alpha.sum(axis=-1, keepdims=True)
    alpha /= np.where(total > 0, total, 1.0)
    out = np.matmul(alpha, v)
    return out, AttentionCache(q, k, v, alpha, scale)


def attention_backward(dout, cache):
    """Backward of attention_forward.  dout (..., n_q, d_v) -> dq, dk, dv (shapes of q, k, v).

    Through the softmax: de_j = alpha_j (dalpha_j - sum_i alpha_i dalpha_i); masked keys have
    alpha 0 and so get no gradient.
    """
    q, k, v, alpha, scale = cache
    dv = np.matmul(np.swapaxes(alpha, -1, -2), dout)                 # (..., n_k, d_v)
    dalpha = np.matmul(dout, np.swapaxes(v, -1, -2))                 # (..., n_q, n_k)
    de = alpha * (dalpha - (alpha * dalpha).sum(axis=-1, keepdims=True))
    de *= de.dtype.type(scale)
    dq = np.matmul(de, k)
    dk = np.matmul(np.swapaxes(de, -1, -2), q)
    return dq, dk, dv


def causal_mask(n):
    """(n, n) bool, True on and below the diagonal: position t may attend to positions <= t."""
    return np.tri(n, dtype=bool)


def key_padding_mask(lengths, n_k):
    """(m, 1, n_k) bool, True at the real keys j < lengths[i] of each row i (broadcasts over queries)."""
    return (np.arange(n_k)[None, :] < np.asarray(lengths)[:, None])[:, None, :]
