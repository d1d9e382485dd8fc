"""Stateful batching for language models (truncated BPTT): a text laid out as contiguous streams,
one per column of a batch, read window by window with the state carried from one window to the next;
and the mean loss over such streams (validation)."""

from dataclasses import dataclass

import numpy as np

@dataclass
class Streams:
    """A text laid out as ``m`` contiguous streams, one per column, for stateful batching.

    X, Y: (L, m) input and target ids (Y[t, i] is the character after X[t, i]); mask: (L, m) bool,
    True where the stream has a step (False after a shorter stream's end: the state is carried);
    score: (L, m) bool, True where the target is counted (mask minus the warm-up steps);
    starts, lengths: (m,) the first scored target position in the text and the number of scored
    targets of each stream. The scored targets of all streams are positions 1 .. n-1, each once.
    """
    X: np.ndarray
    Y: np.ndarray
    mask: np.ndarray
    score: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray

    def windows(self, seq_len):
        return -(-self.X.shape[0] // seq_len)

    def window(self, w, seq_len):
        """(X, Y, mask or None, score or None) of window ``w``; None where every step is real."""
        sl = slice(w * seq_len, (w + 1) * seq_len)
        mask, score = self.mask[sl], self.score[sl]
        return (self.X[sl], self.Y[sl], None if mask.all() else mask, None if score.all() else score)


def make_streams(ids, m, warmup=0):
    """Lay ``ids`` (n,) out as ``min(m, n-1)`` streams whose targets partition positions 1..n-1.

    Stream lengths differ by at most one (the longer ones first). With ``warmup`` > 0 each stream also
    re-reads up to that many characters before its first target, unscored (validation).
    """
    ids = np.asarray(ids)
    n_t = len(ids) - 1
    if n_t < 1:
        raise ValueError("a text needs at least two characters to predict one")
    m = max(1, min(int(m), n_t))
    q, r = divmod(n_t, m)
    lengths = np.array([q + 1] * r + [q] * (m - r), dtype=np.int64)
    starts = 1 + np.concatenate([[0], np.cumsum(lengths)[:-1]])
    pre = np.minimum(warmup, starts - 1)
    total = lengths + pre
    L = int(total.max())
    dtype = np.uint8 if ids.max(initial=0) < 256 else (np.uint16 if ids.max() < 65536 else np.int32)
    X, Y = np.zeros((L, m), dtype), np.zeros((L, m), dtype)
    mask, score = np.zeros((L, m), bool), np.zeros((L, m), bool)
    for i in range(m):
        a, k = starts[i] - pre[i], total[i]   # first target position read, steps in this stream
        X[:k, i] = ids[a - 1: a - 1 + k]
        Y[:k, i] = ids[a: a + k]
        mask[:k, i] = True
        score[pre[i]:k, i] = True
    return Streams(X, Y, mask, score, starts, lengths)


def mean_nll(net, streams, window=256):
    """Mean negative log-likelihood (nats per character) of the scored targets of ``streams``."""
    # a window's logits (n_vocab x window x streams) within about 64 MB, whatever the vocabulary
    window = max(1, min(window, (1 << 24) // (net.n_vocab * streams.X.shape[1])))
    mask = None if streams.mask.all() else streams.mask.astype(np.float64)
    nll, _ = net.nll(streams.X, streams.Y, mask=mask, window=window)
    return float((nll * streams.score).sum() / streams.score.sum())
