"""The word n-grams of a whole batch of texts as column ids, made in a few passes over the batch.

``Vectorizer.transform`` of word n-grams is predict's inner loop on a bag-of-words model. Made text by
text, most of its time went into Python calls per text (the analyzer, a list per order, an
``array.extend``); here the tokens of every text go into one flat list, every order's n-grams are
looked up in one ``map``, and numpy drops the n-grams that would run from one text into the next.
The n-grams are those of ``vectorizer._analyze``, text by text; only their order in the flat arrays
differs (every text's unigrams, then every text's bigrams, ...), which keeps each text's n-grams in
the order ``_analyze`` gives them (the order ``first_seen`` follows).
"""

import re
from itertools import chain, repeat

import numpy as np

from seqcli.text import WORD_RE

# Tokens without a Python step per text: every text that is not ASCII (few are) is first replaced by its
# WORD_RE tokens joined by spaces; in what is then left, WORD_RE's tokens are what lies between spaces
# once every apostrophe that does not join two word characters and every ASCII character that is
# neither a word character ("\w" of ASCII: a letter, a digit, "_") nor an apostrophe has become a space.
# That is one regex substitution that only looks at apostrophes, one bytes.translate and one split
# for the whole batch; the text of each token is found in numpy from the "\n" that end the texts.
_LONE_APOSTROPHE = re.compile("'(?:(?<!\\w')|(?!\\w))")   # not after a word character, or not before one
_SPACES = bytes(c if chr(c).isalnum() or chr(c) in "_'\n" or c >= 128 else 32 for c in range(256))


def word_gram_ids(texts, cfg, lookup):
    """(rows, cols): for every n-gram of every text of ``texts``, orders ``cfg.ngram_min`` to
    ``cfg.ngram_max`` (word analyzer), its text's index and ``lookup(gram, -1)`` (-1 = not a column).

    texts: m strings; lookup: e.g. ``vocabulary.get``. Returns rows, cols (total,) int64 and m.
    """
    tokens, row, m = words(texts, cfg.lowercase)   # (T,) every text's tokens, one text after another
    n_tokens = len(tokens)
    if cfg.ngram_max > 1:
        ends = np.cumsum(np.bincount(row, minlength=m))   # (m,) where each text's tokens end in ``tokens``
        left = ends[row] - np.arange(n_tokens)   # (T,) tokens from this one to the end of its text
    rows, cols = [], []
    for n in range(cfg.ngram_min, cfg.ngram_max + 1):
        count = max(n_tokens - n + 1, 0)   # n-grams of the flat list, some across two texts
        grams = tokens if n == 1 else map(" ".join, zip(*(tokens[k:] for k in range(n))))
        ids = np.fromiter(map(lookup, grams, repeat(-1)), dtype=np.int64, count=count)
        if n > 1:
            ids[left[:count] < n] = -1   # the n-gram runs past its text's last token
        rows.append(row[:count])
        cols.append(ids)
    return np.concatenate(rows), np.concatenate(cols), m


def words(texts, lowercase=True):
    """(tokens, rows, m): the tokens of ``text.word_tokens(t, lowercase)`` of every text, one text after
    another, as a list (T,), the index of each token's text (T,) int64, and m = len(texts)."""
    texts = list(texts)
    m = len(texts)
    joined = "\n".join(texts)
    if joined.count("\n") != m - 1:   # a text holds a line break (a CSV field): text by text
        per_text = [WORD_RE.findall(t.lower() if lowercase else t) for t in texts]
        row = np.repeat(np.arange(m), np.fromiter(map(len, per_text), dtype=np.int64, count=m))
        return list(chain.from_iterable(per_text)), row, m
    if lowercase:   # neither "\n" nor anything lower() ignores around a letter is cased: as text by text
        joined = joined.lower()
    if not joined.isascii():
        joined = "\n".join(line if line.isascii() else " ".join(WORD_RE.findall(line)) for line in joined.split("\n"))
    # no lone surrogate is left (a token is made of word characters), so this encodes
    data = _LONE_APOSTROPHE.sub(" ", joined).encode("utf-8").translate(_SPACES)
    b = np.frombuffer(data, dtype=np.uint8)
    inside = (b != 32) & (b != 10)   # bytes of tokens: only spaces and "\n" are left between them
    first = np.flatnonzero(inside & ~np.concatenate(([False], inside[:-1])))   # (T,) where each token starts
    return data.decode("utf-8").split(), np.searchsorted(np.flatnonzero(b == 10), first), m
