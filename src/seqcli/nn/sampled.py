"""Sampled softmax: the cross-entropy of a large output vocabulary, estimated over a few sampled words.

A word language model's output layer scores every word of the vocabulary at every step: with 10,000
words and 128 units that is 20 times the work of the LSTM itself. Training only needs a good
gradient, so (Jean et al. 2015, as TensorFlow's ``sampled_softmax_loss``) each batch draws ``K``
candidate words from a proposal ``q`` (the unigram distribution to the 3/4), shared by every position;
each position's softmax is taken over its own target and the ``K`` candidates, each score corrected
by ``- log(K q(word))`` so that the estimate is unbiased in the limit; a candidate that is a position's
own target is left out of that position's softmax ("accidental hit"). Evaluation still uses the full
softmax (``softmax_cross_entropy``).

Shapes follow the lecture's columns: ``H`` (n_a, N) one column per position, ``Wya`` (n_y, n_a),
``by`` (n_y, 1), targets ``y`` (N,), candidates ``neg`` (K,).
"""

import numpy as np

from .functional import log_softmax


def proposal(counts, power=0.75):
    """(n_y,) float64 probabilities of drawing each word: counts ** power, normalised; words that
    never occur (<pad>) are never drawn."""
    q = np.asarray(counts, dtype=np.float64) ** power
    return q / q.sum()


def sampled_softmax_loss(H, Wya, by, y, neg, logq, weights=None):
    """Mean sampled-softmax cross-entropy of targets ``y`` and its gradients.

    H (n_a, N), Wya (n_y, n_a), by (n_y, 1), y (N,) ints, neg (K,) candidate ids, logq (n_y,) the log
    of each word's expected count among the K draws (log K q; finite everywhere, also where a masked
    step's target is a word never drawn), weights (N,) or None (0 leaves a
    position out; the mean is over the weights). Returns (loss, dH (n_a, N), dWya (n_y, n_a),
    dby (n_y, 1)); dWya and dby are dense, nonzero only in the rows of ``y`` and ``neg``.
    """
    N = H.shape[1]
    Wn = Wya[neg]                                               # (K, n_a)
    Wy = Wya[y]                                                 # (N, n_a)
    zn = Wn @ H + (by[neg, 0] - logq[neg])[:, None]             # (K, N)
    zy = np.einsum("nd,dn->n", Wy, H) + by[y, 0] - logq[y]      # (N,)
    hit = neg[:, None] == y[None, :]                            # (K, N): a candidate that is the target
    zn[hit] = -np.inf
    z = np.concatenate([zy[None, :], zn], axis=0)               # (1 + K, N), the target in row 0
    logp = log_softmax(z, axis=0)
    w = np.ones(N, H.dtype) if weights is None else np.asarray(weights, dtype=H.dtype)
    total = float(w.sum())
    loss = -float((logp[0] * w).sum()) / total
    dz = np.exp(logp)
    dz[0] -= 1.0
    dz *= (w / total).astype(H.dtype)
    dzy, dzn = dz[0], dz[1:]                                    # (N,), (K, N); 0 at the hits
    dH = Wy.T * dzy + Wn.T @ dzn
    dW = np.zeros_like(Wya)
    db = np.zeros_like(by)
    np.add.at(dW, y, dzy[:, None] * H.T)
    np.add.at(db[:, 0], y, dzy)
    np.add.at(dW, neg, dzn @ H.T)
    np.add.at(db[:, 0], neg, dzn.sum(axis=1))
    return loss, dH.astype(H.dtype, copy=False), dW, db
