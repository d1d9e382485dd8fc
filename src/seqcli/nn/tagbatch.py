"""The tagger's input: a padded batch of word ids plus the characters of the batch's distinct words.

``make_batch`` builds a ``TagBatch`` from lists of ids. Each distinct spelling of the batch is one
column of ``chars`` (its character features are computed once however often it occurs), and those
columns come longest first: a recurrent layer over rows sorted by length computes only the real
columns of each step (nn/cells/lstm.py), so a batch padded to its longest word does the work of its
real characters, not three times that.
"""

import itertools
from typing import NamedTuple

import numpy as np


class TagBatch(NamedTuple):
    ids: np.ndarray           # (T_x, m) word ids, 0 at padding
    lengths: np.ndarray       # (m,) tokens per row
    chars: np.ndarray         # (L, n_u) char ids of the batch's distinct words, 0 at padding
    char_lengths: np.ndarray  # (n_u,) characters per distinct word, longest first
    word_index: np.ndarray    # (T_x, m) column of ``chars`` holding each token's word (0 at padding)


def clip_word(chars, max_chars):
    """A word's char ids cut to ``max_chars``: its first ceil(max/2) and last floor(max/2) characters,
    so both the prefix and the suffix (what tags are guessed from) survive in a long URL or e-mail."""
    if max_chars is None or len(chars) <= max_chars:
        return tuple(chars)
    tail = max_chars // 2
    return tuple(chars[:max_chars - tail]) + (tuple(chars[-tail:]) if tail else ())


def make_batch(word_ids, char_ids=None, max_chars=None):
    """A padded TagBatch from plain lists.

    word_ids: m sequences of word ids (row i has len(word_ids[i]) tokens).
    char_ids: None (no character features), or m sequences holding, for every token of the row, the
        sequence of its char ids. Words are the same type when their (clipped) char ids are equal, so
        unknown words of different spellings stay apart.
    max_chars: None, or the most characters a word keeps (see ``clip_word``); bounds L so one long
        token does not lengthen the whole batch's character computation.
    """
    lengths = np.array([len(s) for s in word_ids], dtype=np.intp)
    m = len(lengths)
    T = int(lengths.max(initial=0))
    ids = np.zeros((T, m), np.intp)
    for i, row in enumerate(word_ids):
        ids[:lengths[i], i] = row
    word_index = np.zeros((T, m), np.intp)
    if char_ids is None:
        return TagBatch(ids, lengths, np.zeros((0, 0), np.intp), np.zeros(0, np.intp), word_index)
    if len(char_ids) != m:
        raise ValueError(f"{len(char_ids)} rows of char ids for {m} rows of word ids")
    types = {}
    for i, row in enumerate(char_ids):
        if len(row) != lengths[i]:
            raise ValueError(f"row {i}: {len(row)} words of char ids for {lengths[i]} word ids")
        word_index[:lengths[i], i] = [types.setdefault(clip_word(w, max_chars), len(types)) for w in row]
    spellings = list(types)                                       # in first-seen order
    seen_lengths = np.fromiter(map(len, spellings), np.intp, len(spellings))
    order = np.argsort(-seen_lengths, kind="stable")             # longest first
    spellings = [spellings[u] for u in order]
    if len(order):
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        word_index = np.where(np.arange(T)[:, None] < lengths[None, :], rank[word_index], 0)
    char_lengths = seen_lengths[order]
    L = int(char_lengths.max(initial=0))
    chars = np.zeros((len(spellings), L), np.intp)
    flat = np.fromiter(itertools.chain.from_iterable(spellings), np.intp, int(char_lengths.sum()))
    chars[np.arange(L)[None, :] < char_lengths[:, None]] = flat  # row-major order = chain order
    return TagBatch(ids, lengths, np.ascontiguousarray(chars.T), char_lengths, word_index)
