"""Levenshtein distance between token sequences, and the error rates of a sequence-to-sequence task.

A sequence is any sequence of hashable tokens: a str (its characters), a list of phoneme strings, a
list of ids. The distance is the least number of insertions, deletions and substitutions (each costs
1) that turn one into the other.

``distances`` computes many pairs at once: the dynamic programme runs over the positions of the first
sequences (rows i), each step a few numpy operations over every pair and every position j of the
second sequences together. The row recurrence

    D[i, j] = min(D[i-1, j] + 1, D[i-1, j-1] + (a_i != b_j), D[i, j-1] + 1)

has its only sequential part in the last term (insertions, left to right); with
E[j] = min(D[i-1, j] + 1, D[i-1, j-1] + (a_i != b_j)) it is a running minimum:
D[i, j] = min over k <= j of (E[k] + j - k) = j + cummin(E[k] - k), one ``np.minimum.accumulate``.

Figures against several references (a source may have several valid targets, e.g. two pronunciations):

    exact match  the prediction equals one of the references; word error rate WER = 1 - exact match
    error rate   sum over sources of d(prediction, closest reference) / sum of those references'
                 lengths (token or character error rate; phoneme error rate in grapheme-to-phoneme)

The closest reference is the one at the least distance; among equally close ones, the longest (the one
that gives this source the lowest rate). A prediction compared with an empty reference adds its length
in edits and nothing to the denominator; the rate is 0 when there are no reference tokens at all and
no edits (and counts edits over 1 token otherwise, so it is never NaN). No sources at all: every
figure is 0.
"""

from typing import NamedTuple

import numpy as np


def levenshtein(a, b):
    """Edit distance between two token sequences (ints, strs, anything hashable)."""
    return int(distances([a], [b])[0])


def _encode(seqs, index):
    """Token sequences -> (n, L) int array padded with -1, and (n,) lengths; ``index`` maps tokens to ints
    (shared between both sides so equal tokens get equal ids)."""
    lengths = np.fromiter((len(s) for s in seqs), np.intp, len(seqs))
    out = np.full((len(seqs), int(lengths.max(initial=0))), -1, np.intp)
    for r, s in enumerate(seqs):
        if len(s):
            out[r, :len(s)] = [index.setdefault(tok, len(index)) for tok in s]
    return out, lengths


def distances(a_seqs, b_seqs):
    """Edit distance of every pair (a_seqs[p], b_seqs[p]): (P,) int array. Vectorised over the pairs."""
    if len(a_seqs) != len(b_seqs):
        raise ValueError(f"{len(a_seqs)} sequences against {len(b_seqs)}")
    P = len(a_seqs)
    if not P:
        return np.zeros(0, np.intp)
    index = {}
    A, la = _encode(a_seqs, index)
    Bs, lb = _encode(b_seqs, index)
    Lb = Bs.shape[1]
    j = np.arange(Lb + 1)
    D = np.broadcast_to(j, (P, Lb + 1)).copy()     # row 0: j insertions
    out = D[np.arange(P), lb].copy()                # pairs whose a is empty
    E = np.empty((P, Lb + 1), np.intp)
    for i in range(1, A.shape[1] + 1):
        E[:, 0] = i                                 # column 0: i deletions
        np.add(D[:, 1:], 1, out=E[:, 1:])           # deletion of a_i
        sub = D[:, :-1] + (A[:, i - 1:i] != Bs)     # substitution (or match)
        np.minimum(E[:, 1:], sub, out=E[:, 1:])
        E -= j
        np.minimum.accumulate(E, axis=1, out=D)     # insertions: a running minimum
        D += j
        ends = la == i
        out[ends] = D[ends, lb[ends]]
    return out


class Scores(NamedTuple):
    exact: float        # fraction of predictions equal to one of their references
    wer: float          # 1 - exact
    error_rate: float   # edits to the closest references / their total length
    edits: int          # sum of the distances to the closest references
    ref_tokens: int     # sum of the closest references' lengths
    n: int              # number of sources
    distance: np.ndarray   # (n,) distance of each prediction to its closest reference
    closest: np.ndarray    # (n,) index of that reference in its source's list


def score(predictions, references):
    """The task's figures: predictions (n sequences), references (n non-empty lists of sequences)."""
    n = len(predictions)
    if len(references) != n:
        raise ValueError(f"{n} predictions for {len(references)} reference lists")
    counts = np.fromiter((len(r) for r in references), np.intp, n)
    if n and counts.min() < 1:
        raise ValueError("every source needs at least one reference")
    if not n:   # nothing to get wrong: every figure 0
        return Scores(0.0, 0.0, 0.0, 0, 0, 0, np.zeros(0, np.intp), np.zeros(0, np.intp))
    owner = np.repeat(np.arange(n), counts)                     # the source of each (prediction, reference)
    flat_refs = [r for refs in references for r in refs]
    d = distances([predictions[s] for s in owner], flat_refs)
    ref_len = np.fromiter((len(r) for r in flat_refs), np.intp, len(flat_refs))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    # closest: least distance, then longest reference; lexsort's last key is the primary one
    order = np.lexsort((-ref_len, d, owner))                    # grouped by source, best first
    best = order[starts]
    dist, blen = d[best], ref_len[best]
    exact = np.minimum.reduceat(d, starts) == 0
    edits, total = int(dist.sum()), int(blen.sum())
    return Scores(float(exact.mean()), 1.0 - float(exact.mean()), edits / max(total, 1), edits, total, n,
                  dist, best - starts)
