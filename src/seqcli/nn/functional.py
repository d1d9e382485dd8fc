"""Activations, softmax / cross-entropy and gradient clipping, shared by every model.

Arrays follow the lecture's column convention: class scores are ``(n_y, m)``, one column per example.
"""

import numpy as np

from .sparse import ColumnGrad


def sigmoid(z, out=None):
    """Logistic function, computed as 0.5 * tanh(z / 2) + 0.5 so it never overflows."""
    out = np.multiply(z, 0.5, out=out)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


def log_softmax(z, axis=0):
    """Numerically stable log-softmax of scores ``z`` along ``axis`` (classes on axis 0 by default)."""
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def softmax(z, axis=0):
    """Softmax of scores ``z`` along ``axis``; columns of the result sum to one."""
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def softmax_cross_entropy(logits, y, weights=None):
    """Mean softmax cross-entropy and its gradient with respect to the logits.

    logits:  (n_y, m) unnormalised class scores.
    y:       (m,) integer class indices.
    weights: (m,) optional per-example weights (class weighting); the loss is
             sum(w_i * loss_i) / sum(w_i), so uniform weights give the plain mean.
    Returns (loss: float, dlogits: (n_y, m) array of the logits' dtype).
    """
    m = logits.shape[1]
    logp = log_softmax(logits, axis=0)
    cols = np.arange(m)
    if weights is None:
        weights = np.ones(m, dtype=logits.dtype)
    total = float(weights.sum())
    if total == 0:   # nothing counts (every row weighed 0): no loss, no gradient
        return 0.0, np.zeros_like(logits)
    loss = -float((logp[y, cols] * weights).sum()) / total
    dlogits = np.exp(logp)
    dlogits[y, cols] -= 1.0
    dlogits *= (weights / total).astype(logits.dtype)
    return loss, dlogits


def global_norm(grads):
    """Euclidean norm of all gradient arrays (or ``sparse.ColumnGrad``s) in the dict ``grads`` together."""
    return float(np.sqrt(sum(g.sum_sq() if isinstance(g, ColumnGrad) else float(np.vdot(g, g))
                             for g in grads.values())))


def clip_by_global_norm(grads, max_norm):
    """Scale every gradient in place so their global norm is at most ``max_norm``.

    Returns the norm before clipping (shown in training progress). ``max_norm`` of None or
    <= 0 disables clipping.
    """
    norm = global_norm(grads)
    if max_norm and max_norm > 0 and norm > max_norm:
        scale = max_norm / (norm + 1e-12)
        for g in grads.values():
            g *= scale
    return norm
