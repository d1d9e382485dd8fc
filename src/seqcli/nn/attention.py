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

Beside the core, the two other scores of the encoder-decoder (each with its backward beside it; every
cache has the weights as ``alpha``):

    general  (Luong)     e_j = s * q^T Wa k_j            the query projected by Wa, then the core
    additive (Bahdanau)  e_j = va . tanh(W1 q + W2 k_j)  a one-hidden-layer score; the keys' projection
                                                         W2 k_j is made once by ``additive_keys`` (it
                                                         does not change over the decoder's steps)

Products of an array batched over leading axes with one weight matrix are done as ONE 2-D product
(``_project``): ``matmul`` would otherwise loop over the leading axes and read the weights once each.
"""

from typing import NamedTuple

import numpy as np


class AttentionCache(NamedTuple):
    q: np.ndarray        # (..., n_q, d)
    k: np.ndarray        # (..., n_k, d)
    v: np.ndarray        # (..., n_k, d_v)
    alpha: np.ndarray    # (..., n_q, n_k) attention weights; rows sum to 1 (0 for a query with no key)
    scale: float


def _masked_softmax(e, mask):
    """Softmax of the scores e (..., n_q, n_k) over the keys ``mask`` allows; 0 for the others, and 0
    everywhere for a query that may see no key (not NaN)."""
    if mask is not None:
        e = np.where(mask, e, -np.inf)
    top = e.max(axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)         # a query with no key: all -inf
    alpha = np.exp(e - top)
    total = alpha.sum(axis=-1, keepdims=True)
    alpha /= np.where(total > 0, total, 1.0)
    return alpha


def _softmax_backward(alpha, dalpha):
    """de_j = alpha_j (dalpha_j - sum_i alpha_i dalpha_i): masked keys (alpha 0) get no gradient."""
    return alpha * (dalpha - (alpha * dalpha).sum(axis=-1, keepdims=True))


def _t_matmul(a, b):
    """swapaxes(a) @ b: a (..., n_q, n_k), b (..., n_q, d) -> (..., n_k, d), a sum over the queries.
    With one query (a decoder step) it is an outer product, written as a broadcast multiply: the same
    numbers, without ``matmul``'s slow path for a contraction of length 1."""
    if a.shape[-2] == 1:
        return np.swapaxes(a, -1, -2) * b
    return np.matmul(np.swapaxes(a, -1, -2), b)


def _project(x, W):
    """x (..., d) @ W (d, d') -> (..., d') as ONE 2-D product over all leading positions."""
    return (x.reshape(-1, x.shape[-1]) @ W).reshape(x.shape[:-1] + (W.shape[1],))


def _outer_sum(a, b):
    """sum over every leading position of a[..., :, None] * b[..., None, :]: a (..., d_a), b (..., d_b)
    -> (d_a, d_b), one 2-D product (the weight gradient of ``_project``)."""
    return a.reshape(-1, a.shape[-1]).T @ b.reshape(-1, b.shape[-1])


def attention_forward(q, k, v, mask=None, scale=None):
    """Scaled dot-product attention.  Returns out (..., n_q, d_v) and an AttentionCache.

    scale: multiplies the dot products (default 1/sqrt(d)).
    """
    if scale is None:
        scale = 1.0 / np.sqrt(q.shape[-1])
    e = np.matmul(q, np.swapaxes(k, -1, -2))          # (..., n_q, n_k)
    e *= e.dtype.type(scale)
    alpha = _masked_softmax(e, mask)
    out = np.matmul(alpha, v)
    return out, AttentionCache(q, k, v, alpha, scale)


def attention_backward(dout, cache):
    """Backward of attention_forward.  dout (..., n_q, d_v) -> dq, dk, dv (shapes of q, k, v).

    Through the softmax: de_j = alpha_j (dalpha_j - sum_i alpha_i dalpha_i); masked keys have
    alpha 0 and so get no gradient.
    """
    q, k, v, alpha, scale = cache
    dv = _t_matmul(alpha, dout)                                      # (..., n_k, d_v)
    dalpha = np.matmul(dout, np.swapaxes(v, -1, -2))                 # (..., n_q, n_k)
    de = _softmax_backward(alpha, dalpha)
    de *= de.dtype.type(scale)
    dq = np.matmul(de, k)
    dk = _t_matmul(de, q)
    return dq, dk, dv


def causal_mask(n):
    """(n, n) bool, True on and below the diagonal: position t may attend to positions <= t."""
    return np.tri(n, dtype=bool)


def key_padding_mask(lengths, n_k):
    """(m, 1, n_k) bool, True at the real keys j < lengths[i] of each row i (broadcasts over queries)."""
    return (np.arange(n_k)[None, :] < np.asarray(lengths)[:, None])[:, None, :]


# ----------------------------------------------------------------------------------------------------
# Luong's general score


class GeneralCache(NamedTuple):
    q: np.ndarray        # (..., n_q, d_q) the query before its projection
    Wa: np.ndarray       # (d_q, d_k)
    alpha: np.ndarray    # (..., n_q, n_k) attention weights (the core's)
    core: AttentionCache  # the core's cache, over the projected query q Wa


def general_forward(q, k, v, Wa, mask=None, scale=None):
    """Luong's general attention: e_j = s * q^T Wa k_j, i.e. the dot-product core on the projected
    query q Wa.

    q (..., n_q, d_q), k (..., n_k, d_k), v (..., n_k, d_v), Wa (d_q, d_k), mask as the core's;
    scale s defaults to 1/sqrt(d_k). Returns out (..., n_q, d_v) and a GeneralCache.
    """
    out, core = attention_forward(_project(q, Wa), k, v, mask, scale)
    return out, GeneralCache(q, Wa, core.alpha, core)


def general_backward(dout, cache):
    """Backward of general_forward.  dout (..., n_q, d_v) -> dq, dk, dv (shapes of q, k, v), dWa (d_q, d_k)."""
    q, Wa, _, core = cache
    dqp, dk, dv = attention_backward(dout, core)
    return _project(dqp, Wa.T), dk, dv, _outer_sum(q, dqp)


# ----------------------------------------------------------------------------------------------------
# Bahdanau's additive score


class AdditiveCache(NamedTuple):
    q: np.ndarray        # (..., n_q, d_q)
    kp: np.ndarray       # (..., n_k, n_h) the projected keys W2 k_j
    v: np.ndarray        # (..., n_k, d_v)
    W1: np.ndarray       # (n_h, d_q)
    va: np.ndarray       # (n_h, 1)
    s: np.ndarray        # (..., n_q, n_k, n_h) tanh(W1 q + W2 k_j), the score's hidden layer
    alpha: np.ndarray    # (..., n_q, n_k) attention weights


def additive_keys(k, W2):
    """The keys' half of the additive score, W2 k_j.  k (..., n_k, d_k), W2 (n_h, d_k) -> kp (..., n_k, n_h).

    Made once per source: a decoder then scores every step against the same kp."""
    return _project(k, W2.T)


def additive_keys_backward(dkp, k, W2):
    """Backward of additive_keys.  dkp (..., n_k, n_h) -> dk (shape of k), dW2 (n_h, d_k)."""
    return _project(dkp, W2), _outer_sum(dkp, k)


def additive_forward(q, kp, v, W1, va, mask=None):
    """Bahdanau's additive attention: e_j = va . tanh(W1 q + W2 k_j), masked softmax, weighted sum.

    q (..., n_q, d_q); kp (..., n_k, n_h) = additive_keys(k, W2); v (..., n_k, d_v); W1 (n_h, d_q);
    va (n_h, 1); mask as the core's. Returns out (..., n_q, d_v) and an AdditiveCache.
    """
    qp = _project(q, W1.T)                                    # (..., n_q, n_h)
    s = np.tanh(qp[..., :, None, :] + kp[..., None, :, :])     # (..., n_q, n_k, n_h)
    e = (s.reshape(-1, s.shape[-1]) @ va.reshape(-1)).reshape(s.shape[:-1])
    alpha = _masked_softmax(e, mask)
    return np.matmul(alpha, v), AdditiveCache(q, kp, v, W1, va, s, alpha)


def additive_backward(dout, cache):
    """Backward of additive_forward.  dout (..., n_q, d_v) -> dq (..., n_q, d_q), dkp (..., n_k, n_h),
    dv (..., n_k, d_v), dW1 (n_h, d_q), dva (n_h, 1).

    Through the score: de_j flows into va as de_j s_j and into the hidden layer as de_j va (1 - s_j^2),
    whose sum over the keys is the gradient of W1 q and whose sum over the queries that of each kp_j.
    Masked keys have de_j = 0, so they get no gradient.
    """
    q, kp, v, W1, va, s, alpha = cache
    dv = _t_matmul(alpha, dout)
    de = _softmax_backward(alpha, np.matmul(dout, np.swapaxes(v, -1, -2)))   # (..., n_q, n_k)
    n_h = s.shape[-1]
    dva = (de.reshape(1, -1) @ s.reshape(-1, n_h)).reshape(va.shape)
    dpre = s * s
    np.subtract(1.0, dpre, out=dpre)
    dpre *= de[..., None]
    dpre *= va.reshape(-1)                                     # (..., n_q, n_k, n_h)
    dqp = dpre.sum(axis=-2)                                    # (..., n_q, n_h)
    dkp = dpre.sum(axis=-3)                                    # (..., n_k, n_h)
    return _project(dqp, W1), dkp, dv, _outer_sum(dqp, q), dva
