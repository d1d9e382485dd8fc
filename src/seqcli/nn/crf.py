"""A linear-chain conditional random field (CRF) over per-token tag scores, written out by hand.

A tagger's readout gives every token t of row i a score for every tag k: the emissions
``e`` (T_x, K, m). A softmax treats the tokens independently; the CRF adds a score for each pair of
neighbouring tags, so the tag sequence is chosen as a whole (in BIO tagging, I-PER after B-LOC can be
made as unlikely as it is in the data). The score of a tag sequence y of a row of length L is

    s(y) = start[y_0] + sum_{t<L} e[t, y_t] + sum_{1<=t<L} trans[y_{t-1}, y_t] + end[y_{L-1}]

and its probability is exp(s(y)) / Z, where Z sums exp(s) over all K^L sequences.

Parameters (``p`` holds them under these local names; the ``CRF`` layer keeps them in the shared flat
dict as ``{name}.trans``, ``{name}.start``, ``{name}.end``):

    trans (K, K)   trans[i, j]: score of tag i followed by tag j
    start (K, 1)   score of a row beginning with tag k
    end   (K, 1)   score of a row ending with tag k

Algorithms (each a loop over time, vectorised over the batch m and the tags K, log-sum-exp in log
space so no score can overflow):

- forward:  alpha[t, j] = log sum of exp(score) of every prefix y_0..y_t with y_t = j;
            log Z = logsumexp_j(alpha[L-1, j] + end[j]).
- backward: beta[t, i] = log sum of exp(score) of every suffix after t given y_t = i (end included).
- marginals P(y_t = k) = exp(alpha[t, k] + beta[t, k] - log Z) and the pair marginals
  P(y_t = i, y_{t+1} = j) are the gradients of log Z, so the negative log-likelihood
  log Z - s(gold) has gradient "expected counts minus gold counts" for every score.
- Viterbi: the same recursion as forward with max instead of logsumexp, plus back-pointers.

Variable lengths: ``lengths`` (m,) ints, row i real at t < lengths[i]. At padded steps alpha and the
Viterbi scores are carried over unchanged and beta stays ``end``, so the tables at T_x-1 equal those at
each row's own last token; padded tokens get no marginal, no tag (0) and no gradient. A row of length 0
has Z = 1 (log Z = 0), score 0, and contributes nothing.

Loss normalisation: ``nll`` returns sum over rows of (log Z_i - s_i(gold)) divided by the number of
real tokens in the batch, sum(lengths), so its scale matches a per-token softmax cross-entropy (and
the two outputs can share a learning rate). A batch with no real token has loss 0.
"""

from typing import NamedTuple

import numpy as np

from .layers import length_mask

NAMES = ("trans", "start", "end")


def param_shapes(n_tags):
    """{"trans": (K, K), "start": (K, 1), "end": (K, 1)}, without allocating (to check stored arrays)."""
    K = n_tags
    return {"trans": (K, K), "start": (K, 1), "end": (K, 1)}


def init_params(n_tags, dtype=np.float32):
    """Zero scores: the CRF starts as independent per-token softmaxes and learns its transitions."""
    return {k: np.zeros(s, dtype) for k, s in param_shapes(n_tags).items()}


class ForwardBackward(NamedTuple):
    alpha: np.ndarray   # (T_x, K, m) forward log-scores (carried over padded steps)
    beta: np.ndarray    # (T_x, K, m) backward log-scores (``end`` at and after each row's last token)
    log_z: np.ndarray   # (m,) log partition function, 0 for rows of length 0
    real: np.ndarray    # (T_x, m) bool, True at real tokens
    marg: np.ndarray    # (T_x, K, m) P(y_t = k), 0 at padded tokens
    pairs: object       # (K, K) sum over rows and t of P(y_{t-1} = i, y_t = j); None unless asked


def _check(e, lengths):
    """e (T_x, K, m), lengths (m,) -> (lengths as intp clipped to [0, T_x], real (T_x, m) bool)."""
    if e.ndim != 3:
        raise ValueError(f"emissions must be (T_x, K, m), got shape {e.shape}")
    T, _, m = e.shape
    lengths = np.asarray(lengths, dtype=np.intp).reshape(-1)
    if lengths.shape[0] != m:
        raise ValueError(f"{lengths.shape[0]} lengths for {m} rows")
    lengths = np.clip(lengths, 0, T)
    return lengths, length_mask(lengths, T)


def _forward(e, p, real):
    """alpha (T_x, K, m): the forward algorithm in log space; padded steps carry alpha over."""
    T, K, m = e.shape
    alpha = np.empty_like(e)
    if T == 0:
        return alpha
    trans = p["trans"][:, :, None]                      # (K_i, K_j, 1)
    buf = np.empty((K, K, m), e.dtype)                  # buf[i, j] = alpha[t-1, i] + trans[i, j]
    mx = np.empty((K, m), e.dtype)
    alpha[0] = e[0] + p["start"]
    for t in range(1, T):
        np.add(alpha[t - 1][:, None, :], trans, out=buf)
        buf.max(axis=0, out=mx)                         # shift by the max over i: exp cannot overflow
        buf -= mx
        np.exp(buf, out=buf)
        new = alpha[t]
        buf.sum(axis=0, out=new)
        np.log(new, out=new)
        new += mx
        new += e[t]
        np.copyto(new, alpha[t - 1], where=~real[t])   # padded: carry the row's last real alpha
    return alpha


def forward_backward(e, lengths, p, pairs=False):
    """Forward and backward tables, log Z and the marginals of every token.

    e (T_x, K, m) emissions, lengths (m,), p {"trans" (K, K), "start" (K, 1), "end" (K, 1)}.
    pairs=True also sums the pair marginals over rows and steps into ``.pairs`` (K, K) (what the
    gradient of ``trans`` needs). Returns a ForwardBackward.
    """
    lengths, real = _check(e, lengths)
    T, K, m = e.shape
    dtype = e.dtype
    alpha = _forward(e, p, real)
    beta = np.empty_like(e)
    marg = np.zeros_like(e)
    log_z = np.zeros(m, dtype)
    pair_sum = np.zeros((K, K), dtype) if pairs else None
    if T == 0:
        return ForwardBackward(alpha, beta, log_z, real, marg, pair_sum)
    end = p["end"]
    final = alpha[T - 1] + end                           # = alpha at each row's last token + end
    fmax = final.max(axis=0)
    lz = np.log(np.exp(final - fmax).sum(axis=0)) + fmax
    # the marginals use lz even for empty rows (whose tables are finite garbage, masked below), so
    # alpha + beta - lz <= 0 everywhere and exp cannot overflow into inf * 0 = nan
    log_z[:] = np.where(lengths > 0, lz, 0.0)

    trans = p["trans"][:, :, None]
    buf = np.empty((K, K, m), dtype)                     # buf[i, j] = trans[i, j] + e[t+1, j] + beta[t+1, j]
    mx = np.empty((K, m), dtype)
    beta[T - 1] = end
    marg[T - 1] = np.exp(alpha[T - 1] + beta[T - 1] - lz) * real[T - 1]
    for t in range(T - 2, -1, -1):
        np.add(trans, (e[t + 1] + beta[t + 1])[None, :, :], out=buf)
        buf.max(axis=1, out=mx)
        buf -= mx[:, None, :]
        np.exp(buf, out=buf)                             # buf[i, j] ∝ P(y_{t+1} = j | y_t = i)
        b = beta[t]
        buf.sum(axis=1, out=b)
        if pairs:
            buf /= b[:, None, :]                         # the conditional, normalised over j
        np.log(b, out=b)
        b += mx
        np.copyto(b, end, where=~real[t + 1])            # t is the row's last token or padding
        mt = marg[t]
        np.add(alpha[t], b, out=mt)
        mt -= lz
        np.exp(mt, out=mt)
        mt *= real[t]
        if pairs:
            # P(y_t = i, y_{t+1} = j) = P(y_t = i) P(y_{t+1} = j | y_t = i), for real pairs only
            w = mt * real[t + 1]
            pair_sum += np.einsum("ijm,im->ij", buf, w)
    return ForwardBackward(alpha, beta, log_z, real, marg, pair_sum)


def log_partition(e, lengths, p):
    """log Z (m,) by the forward algorithm alone; 0 for rows of length 0."""
    lengths, real = _check(e, lengths)
    T, m = e.shape[0], e.shape[2]
    if T == 0:
        return np.zeros(m, e.dtype)
    final = _forward(e, p, real)[T - 1] + p["end"]
    fmax = final.max(axis=0)
    return np.where(lengths > 0, np.log(np.exp(final - fmax).sum(axis=0)) + fmax, 0.0).astype(e.dtype)


def _gold(tags, real, K):
    """tags (T_x, m) ints -> the same with padding set to 0, after checking the real ones are in [0, K)."""
    tags = np.asarray(tags, dtype=np.intp)
    if tags.shape != real.shape:
        raise ValueError(f"tags must be (T_x, m) = {real.shape}, got {tags.shape}")
    tags = np.where(real, tags, 0)
    if tags.size and (tags.min() < 0 or tags.max() >= K):
        raise ValueError(f"tags must be in [0, {K})")
    return tags


def sequence_score(e, tags, lengths, p):
    """s(y) (m,) of the given tag sequences tags (T_x, m) (padding ignored); 0 for rows of length 0."""
    lengths, real = _check(e, lengths)
    T, K, m = e.shape
    y = _gold(tags, real, K)
    if T == 0:
        return np.zeros(m, e.dtype)
    cols = np.arange(m)
    has = lengths > 0
    emit = (np.take_along_axis(e, y[:, None, :], axis=1)[:, 0, :] * real).sum(axis=0)
    trans = (p["trans"][y[:-1], y[1:]] * real[1:]).sum(axis=0)
    last = y[np.maximum(lengths - 1, 0), cols]
    ends = p["start"][y[0], 0] + p["end"][last, 0]
    return (emit + trans + np.where(has, ends, 0.0)).astype(e.dtype)


def nll(e, tags, lengths, p):
    """Negative log-likelihood of the gold tags and its gradients.

    e (T_x, K, m) emissions, tags (T_x, m) ints in [0, K) (any value at padding), lengths (m,),
    p {"trans" (K, K), "start" (K, 1), "end" (K, 1)}.
    Returns (loss, de (T_x, K, m), dp {"trans", "start", "end"}) where
    loss = sum_i (log Z_i - s_i(gold)) / sum(lengths)  (0 if there is no real token).
    Every gradient is (expected count under the model - gold count) / sum(lengths); de is 0 at padding.
    """
    lengths, real = _check(e, lengths)
    T, K, m = e.shape
    y = _gold(tags, real, K)
    n_tokens = int(lengths.sum())
    scale = 1.0 / max(n_tokens, 1)
    if T == 0 or n_tokens == 0:
        return 0.0, np.zeros_like(e), {k: np.zeros_like(p[k]) for k in NAMES}
    fb = forward_backward(e, lengths, p, pairs=True)
    cols = np.arange(m)
    has = lengths > 0
    loss = float((fb.log_z - sequence_score(e, y, lengths, p)).sum()) * scale

    de = fb.marg.copy()                                          # expected emission counts ...
    t_idx, m_idx = np.nonzero(real)
    de[t_idx, y[t_idx, m_idx], m_idx] -= 1.0                     # ... minus the gold ones
    de *= scale

    K2 = K * K
    pair_real = real[1:] & real[:-1]
    gold_pairs = np.bincount((y[:-1] * K + y[1:])[pair_real], minlength=K2).reshape(K, K)
    dtrans = (fb.pairs - gold_pairs) * scale

    first = fb.marg[0].sum(axis=1) - np.bincount(y[0][has], minlength=K)
    last_t = np.maximum(lengths - 1, 0)
    last_marg = fb.marg[last_t, :, cols][has].sum(axis=0)       # P(y_{L-1} = k), summed over rows
    last = last_marg - np.bincount(y[last_t, cols][has], minlength=K)
    dtype = e.dtype
    dp = {"trans": dtrans.astype(dtype),
          "start": (first * scale).astype(dtype)[:, None],
          "end": (last * scale).astype(dtype)[:, None]}
    return loss, de, dp


def marginals(e, lengths, p):
    """P(y_t = k | row) (T_x, K, m): each real token's tag distribution (sums to 1 over K); 0 at padding."""
    return forward_backward(e, lengths, p).marg


def viterbi(e, lengths, p):
    """The best tag sequence of every row and its score.

    e (T_x, K, m), lengths (m,) -> (tags (T_x, m) intp, 0 at padding; score (m,) = s(tags), 0 for
    rows of length 0).
    """
    lengths, real = _check(e, lengths)
    T, K, m = e.shape
    path = np.zeros((T, m), np.intp)
    score = np.zeros(m, e.dtype)
    if T == 0:
        return path, score
    trans = p["trans"][:, :, None]
    stay = np.broadcast_to(np.arange(K)[:, None], (K, m))
    back = np.empty((T, K, m), np.intp)                    # back[t, j]: best previous tag for y_t = j
    back[0] = stay
    buf = np.empty((K, K, m), e.dtype)
    delta = e[0] + p["start"]                              # best score of a prefix ending in each tag
    for t in range(1, T):
        np.add(delta[:, None, :], trans, out=buf)
        best = buf.argmax(axis=0)                          # (K, m)
        new = np.take_along_axis(buf, best[None], axis=0)[0] + e[t]
        pad = ~real[t]
        np.copyto(new, delta, where=pad)                   # padded: carry the row's scores ...
        np.copyto(best, stay, where=pad)                   # ... and point back to the same tag
        delta = new
        back[t] = best
    final = delta + p["end"]
    cols = np.arange(m)
    path[T - 1] = final.argmax(axis=0)
    score[:] = final[path[T - 1], cols]
    for t in range(T - 1, 0, -1):
        path[t - 1] = back[t][path[t], cols]
    path *= real
    score *= lengths > 0
    return path, score


class CRF:
    """The CRF as a layer over the shared flat parameter dict: ``{name}.trans``, ``.start``, ``.end``."""

    def __init__(self, params, name, n_tags, dtype=np.float32):
        self.params, self.name, self.n_tags = params, name, int(n_tags)
        for k, v in init_params(self.n_tags, dtype).items():
            params[f"{name}.{k}"] = v

    def p(self):
        """This layer's parameters under their local names (trans, start, end)."""
        return {k: self.params[f"{self.name}.{k}"] for k in NAMES}

    def loss(self, e, tags, lengths):
        """(loss, de (T_x, K, m), grads keyed like params); see ``nll`` for the normalisation."""
        loss, de, dp = nll(e, tags, lengths, self.p())
        return loss, de, {f"{self.name}.{k}": g for k, g in dp.items()}

    def decode(self, e, lengths):
        """Viterbi: (tags (T_x, m), score (m,))."""
        return viterbi(e, lengths, self.p())

    def marginals(self, e, lengths):
        """(T_x, K, m) per-token tag probabilities."""
        return marginals(e, lengths, self.p())
