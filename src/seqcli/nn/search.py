"""Decoding an encoder-decoder: greedy and beam search over its one-step API.

The network is anything with the three calls of nn.seq2seq.Seq2SeqNet:

    encode(src_ids (T_x, B), src_lengths (B,)) -> state of B columns
    step(state, prev_ids (k,)) -> (log-probabilities (V, k), new state, attention weights (k, T_x))
    select(state, index (k',)) -> the state of those columns (reorder, repeat, drop)

Both searches are vectorised over every hypothesis of every source: ONE step call per time step for
the whole batch. Sources whose search is over are dropped from the batch (``select``), so a batch
costs what its longest outputs cost, on fewer and fewer columns.

Scores. A hypothesis is a sequence of steps; it ends at the end symbol (which counts as a step) or is
cut at ``max_len`` steps. Its log-probability is the sum of the steps' log-probabilities and its score
is length-normalised:

    score = logprob / steps ** alpha          (alpha = 0: the plain log-probability; 1: per step)

so that longer outputs are not penalised merely for having more factors below 1. ``tokens`` never
include the end symbol.

Beam search (K = ``beam``), for every source at once: each step scores the K live hypotheses' every
continuation, keeps the best 2K candidates by log-probability; of these, the ones that choose the end
symbol AND rank within the first K are finished (their score computed), and the best K that do not end
stay live. A finished hypothesis is never extended. A source's search is over once K of its hypotheses
have finished AND the best candidate of the step chooses the end symbol (so no live hypothesis has a
higher log-probability than a finished one), or at ``max_len``, when its live hypotheses are kept as
cut ones. (fairseq's rule, K finished alone, let a weak model's early, short endings fill the K places
while the best hypothesis was still live, and return worse than greedy search.) The
n-best list is the ``nbest`` best finished (and cut) hypotheses by score, distinct, best first. With
K = 1 this is greedy search exactly; with K at least the number of sequences up to max_len nothing is
ever pruned, so it finds the true best.
"""

from typing import NamedTuple

import numpy as np

from .seq2seq import END, START


class Hypothesis(NamedTuple):
    tokens: list       # target ids, the end symbol excluded
    logprob: float     # log P(tokens [, end] | source)
    score: float       # logprob / steps ** alpha (steps = len(tokens) + ended)
    ended: bool        # False: cut at max_len
    attention: object  # (steps, T_x) attention weights of every step, or None (not asked for)


def _check(max_len, alpha):
    if isinstance(max_len, bool) or not isinstance(max_len, (int, np.integer)) or max_len < 1:
        raise ValueError(f"max_len must be a positive integer, not {max_len!r}")
    if not np.isfinite(alpha) or alpha < 0:
        raise ValueError(f"length penalty alpha must be a number >= 0, not {alpha!r}")


def _lengths(src_ids, src_lengths):
    src_ids = np.asarray(src_ids)
    if src_ids.ndim != 2:
        raise ValueError(f"source ids must be (T_x, B), got shape {src_ids.shape}")
    return src_ids, np.clip(np.asarray(src_lengths, dtype=np.intp).reshape(-1), 0, src_ids.shape[0])


def greedy(net, src_ids, src_lengths, max_len=50, alpha=1.0, attention=False, start=START, end=END):
    """The most probable next token at every step, for B sources at once.

    src_ids (T_x, B) ints, src_lengths (B,). Returns one Hypothesis per source (attention (steps,
    T_x_i) of each step if ``attention``, cut to the source's own length).
    """
    _check(max_len, alpha)
    src_ids, src_lengths = _lengths(src_ids, src_lengths)
    n_src = src_ids.shape[1]
    state = net.encode(src_ids, src_lengths)
    tokens = np.zeros((n_src, max_len), np.intp)
    logprob = np.zeros(n_src)
    steps = np.zeros(n_src, np.intp)
    ended = np.zeros(n_src, bool)
    att = None
    live = np.arange(n_src)                     # the sources still decoding, one column each
    prev = np.full(n_src, start, np.intp)
    for t in range(max_len):
        if not live.size:
            break
        logp, state, alpha_t = net.step(state, prev)
        if attention:
            if att is None:
                att = np.zeros((n_src, max_len, alpha_t.shape[1]), alpha_t.dtype)
            att[live, t] = alpha_t
        y = logp.argmax(axis=0)
        tokens[live, t] = y
        logprob[live] += logp[y, np.arange(y.size)]
        steps[live] = t + 1
        done = y == end
        if done.any():
            ended[live[done]] = True
            going = np.flatnonzero(~done)
            state = net.select(state, going)
            live, y = live[going], y[going]
        prev = y
    out = []
    for i in range(n_src):
        s = int(steps[i])
        toks = tokens[i, :s - 1] if ended[i] else tokens[i, :s]
        a = att[i, :s, :src_lengths[i]] if att is not None else None
        out.append(Hypothesis([int(v) for v in toks], float(logprob[i]), _score(logprob[i], s, alpha),
                              bool(ended[i]), a))
    return out


def _score(logprob, steps, alpha):
    return float(logprob) / float(steps) ** alpha if steps else float(logprob)


def beam_search(net, src_ids, src_lengths, beam=5, max_len=50, alpha=1.0, nbest=1, attention=False,
                start=START, end=END):
    """Beam search for B sources at once (see the module docstring).

    src_ids (T_x, B) ints, src_lengths (B,); beam K >= 1; nbest in [1, K]. Returns, per source, a list
    of up to ``nbest`` distinct Hypothesis, best score first.
    """
    _check(max_len, alpha)
    _check_beam(beam, nbest)
    src_ids, src_lengths = _lengths(src_ids, src_lengths)
    K, n_src = int(beam), src_ids.shape[1]
    state = net.encode(src_ids, src_lengths)
    state = net.select(state, np.repeat(np.arange(n_src), K))    # column s*K + j: hypothesis j of source s

    live = np.arange(n_src)                  # sources still searching
    cum = np.full((n_src, K), -np.inf)       # live hypotheses' log-probabilities (-inf: empty slot)
    cum[:, 0] = 0.0                          # one start hypothesis, or the K copies would tie
    hist = np.zeros((n_src, K, 0), np.intp)  # their tokens so far
    att = None                               # (sources, K, t, T_x) their attention rows
    finished = [[] for _ in range(n_src)]    # per source: (score, logprob, tokens, ended, attention)
    n_fin = np.zeros(n_src, np.intp)
    prev = np.full(n_src * K, start, np.intp)

    for t in range(max_len):
        logp, state, alpha_t = net.step(state, prev)                 # (V, live*K)
        V = logp.shape[0]
        S = live.size
        top, top_val = _best_candidates((cum[:, :, None] + logp.T.reshape(S, K, V)).reshape(S, K * V), 2 * K)
        parent, token = top // V, top % V
        best_ends = token[:, 0] == end              # this step's best candidate chooses the end symbol
        if attention:
            a_t = alpha_t.reshape(S, K, 1, -1)
            att = a_t if att is None else np.concatenate([att, a_t], axis=2)

        # finish: the end symbol among the first K candidates (finite: a real hypothesis)
        fin = (token[:, :K] == end) & np.isfinite(top_val[:, :K])
        for r, j in zip(*np.nonzero(fin)):
            _keep(finished[live[r]], float(top_val[r, j]), t + 1, alpha, hist, att, r, parent[r, j], True)
            n_fin[live[r]] += 1
        # continue: the best K candidates that do not end (there are at least K among 2K)
        parent, token, cum, hist, att = _go_on(token != end, K, parent, token, top_val, hist, att)
        columns = (np.arange(S)[:, None] * K + parent).reshape(-1)
        prev = token.reshape(-1)

        over = ((n_fin[live] >= K) & best_ends) | ~np.isfinite(cum).any(axis=1)
        if t + 1 == max_len:
            over[:] = True
            for r, j in zip(*np.nonzero(np.isfinite(cum))):   # cut: live hypotheses still count at max_len
                _keep(finished[live[r]], float(cum[r, j]), max_len, alpha, hist, att, r, j, False)
        if over.all():
            break
        if over.any():   # sources done: their rows and columns leave the search
            stay = np.flatnonzero(~over)
            columns, prev = columns.reshape(S, K)[stay].reshape(-1), prev.reshape(S, K)[stay].reshape(-1)
            live, cum, hist, att = live[stay], cum[stay], hist[stay], None if att is None else att[stay]
        state = net.select(state, columns)

    return [[Hypothesis([int(v) for v in toks], lp, sc, ended, None if a is None else a[:, :src_lengths[s]])
             for sc, lp, toks, ended, a in sorted(finished[s], key=lambda h: -h[0])[:nbest]]
            for s in range(n_src)]


def _go_on(goes_on, K, parent, token, top_val, hist, att):
    """The best K candidates that do not end (there are at least K among 2K): their (parent, token,
    log-probability, tokens so far, attention rows so far)."""
    keep = np.argsort(~goes_on, axis=1, kind="stable")[:, :K]
    parent = np.take_along_axis(parent, keep, axis=1)
    token = np.take_along_axis(token, keep, axis=1)
    hist = np.concatenate([np.take_along_axis(hist, parent[:, :, None], axis=1), token[:, :, None]], axis=2)
    att = None if att is None else np.take_along_axis(att, parent[:, :, None, None], axis=1)
    return parent, token, np.take_along_axis(top_val, keep, axis=1), hist, att


def _keep(found, lp, length, alpha, hist, att, r, j, ended):
    """Add hypothesis j of live source r (its tokens in ``hist``, attention in ``att``) to ``found``."""
    found.append((_score(lp, length, alpha), lp, hist[r, j].tolist(), ended, None if att is None else att[r, j]))


def _check_beam(beam, nbest):
    if isinstance(beam, bool) or not isinstance(beam, (int, np.integer)) or beam < 1:
        raise ValueError(f"beam must be a positive integer, not {beam!r}")
    if isinstance(nbest, bool) or not isinstance(nbest, (int, np.integer)) or not 1 <= nbest <= beam:
        raise ValueError(f"nbest must be an integer from 1 to the beam ({beam}), not {nbest!r}")


def _best_candidates(cand, n):
    """(indices, values) of the best ``n`` of each row of ``cand`` (S, C), best first (ties: the lower
    index first), all of them when a row has no more than ``n``."""
    S, C = cand.shape
    top = np.argpartition(-cand, n - 1, axis=1)[:, :n] if C > n else np.broadcast_to(np.arange(C), (S, C))
    top_val = np.take_along_axis(cand, top, axis=1)
    order = np.lexsort((top, -top_val), axis=1)
    return np.take_along_axis(top, order, axis=1), np.take_along_axis(top_val, order, axis=1)
