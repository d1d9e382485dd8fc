"""The word n-grams of a whole batch of texts as column ids, made in a few passes over the batch.

``Vectorizer.transform`` of word n-grams is predict's inner loop on a bag-of-words model. Made text by
text, most of its time went into Python calls per text (the analyzer, a list per order, an
``array.extend``); here the tokens of every text go into one flat list, every order's n-grams are
looked up in one ``map``, and numpy drops the n-grams that would run from one text into the next.
The n-grams are those of ``vectorizer._analyze``, text by text; only their order in the flat arrays
differs (every text's unigrams, then every text's bigrams, ...), which keeps each text's n-grams in
the order ``_analyze`` gives them (the order ``first_seen`` follows).
"""

from itertools import chain, repeat

import numpy as np

from seqcli.text import WORD_RE


def word_gram_ids(texts, cfg, lookup):
    """(rows, cols): for every n-gram of every text of ``texts``, orders ``cfg.ngram_min`` to
    ``cfg.ngram_max`` (word analyzer), its text's index and ``lookup(gram, -1)`` (-1 = not a column).

    texts: m strings; lookup: e.g. ``vocabulary.get``. Returns rows, cols (total,) int64 and m.
    """
    findall = WORD_RE.findall
    per_text = list(map(findall, map(str.lower, texts) if cfg.lowercase else texts))
    m = len(per_text)
    lengths = np.fromiter(map(len, per_text), dtype=np.int64, count=m)   # (m,) tokens per text
    tokens = list(chain.from_iterable(per_text))   # (T,) every text's tokens, one text after another
    n_tokens = len(tokens)
    row = np.repeat(np.arange(m, dtype=np.int64), lengths)   # (T,) text of each token
    ends = np.cumsum(lengths)   # (m,) where each text's tokens end in ``tokens``
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
