"""Tokenizers (word, char) and the vocabulary that maps tokens to integer ids.

Pure Python + NumPy so that the predict path never imports scikit-learn or scipy.
"""

import re

import numpy as np

# A word is a run of letters/digits/underscore, optionally joined by apostrophes ("it's", "don't").
# Punctuation is dropped, which gives the lecture's bag-of-words example exactly.
WORD_RE = re.compile(r"\w+(?:['\u2019]\w+)*")

PAD, UNK = "<pad>", "<unk>"  # ids 0 and 1 in every vocabulary built here


def word_tokens(text, lowercase=True):
    """Split ``text`` into word tokens (lower-cased by default)."""
    if lowercase:
        text = text.lower()
    return WORD_RE.findall(text)


def char_tokens(text, lowercase=False):
    """Split ``text`` into characters."""
    return list(text.lower() if lowercase else text)


class Vocab:
    """Token <-> id mapping. Id 0 is padding, id 1 stands for every unknown token.

    ``tokens``: list of tokens whose position is the id (tokens[0] == PAD, tokens[1] == UNK).
    """

    def __init__(self, tokens):
        self.tokens = list(tokens)
        self.index = {tok: i for i, tok in enumerate(self.tokens)}

    @classmethod
    def build(cls, token_lists, min_count=1, max_size=None):
        """Vocabulary of the tokens seen at least ``min_count`` times, most frequent first
        (ties broken alphabetically, so the same data always gives the same ids)."""
        counts = {}
        for toks in token_lists:
            for tok in toks:
                counts[tok] = counts.get(tok, 0) + 1
        kept = sorted((t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t))
        if max_size is not None:
            kept = kept[: max(0, max_size - 2)]
        return cls([PAD, UNK] + kept)

    def __len__(self):
        return len(self.tokens)

    def encode(self, tokens):
        """List of ids for ``tokens`` (unknown tokens -> 1)."""
        get = self.index.get
        return [get(tok, 1) for tok in tokens]


def pad_batch(id_lists, dtype=np.int32):
    """Pad id lists into a time-first matrix.

    Returns ``ids`` (T_x, m) with 0 after each row's end, and ``lengths`` (m,) int64.
    T_x is the longest row's length (0 when every row is empty).
    """
    lengths = np.fromiter((len(ids) for ids in id_lists), dtype=np.int64, count=len(id_lists))
    T_x = int(lengths.max()) if len(lengths) else 0
    ids = np.zeros((T_x, len(id_lists)), dtype=dtype)
    for j, row in enumerate(id_lists):
        ids[: len(row), j] = row
    return ids, lengths


def bucket_batches(lengths, batch_size, rng=None):
    """Split example indices into batches of similar length to limit padding.

    Sorting by length (with random tie-breaking when ``rng`` is given) and cutting into chunks of
    ``batch_size`` keeps the padding per batch small; the order of the batches is then shuffled so
    training does not see short sentences first. Without ``rng`` the order is deterministic.
    Returns a list of index arrays covering every example exactly once.
    """
    lengths = np.asarray(lengths)
    n = len(lengths)
    if rng is None:
        order = np.argsort(lengths, kind="stable")
    else:
        order = np.lexsort((rng.random(n), lengths))
    batches = [order[i: i + batch_size] for i in range(0, n, batch_size)]
    if rng is not None:
        perm = rng.permutation(len(batches))
        batches = [batches[i] for i in perm]
    return batches
