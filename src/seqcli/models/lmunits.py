"""What a language model reads and writes, one unit at a time: characters or words.

A language model (models/charlm.py) is the same network, streams, scoring and sampling whatever its
unit; only these few things differ, and each unit kind says them here:

- the vocabulary (``tokens``: position = id) and ``encode(text) -> ids``: characters by code point,
  or words tokenised as the classifiers tokenise them (``seqcli.text.word_tokens``) with ``<eos>``
  after every line and ``<unk>`` for words out of the vocabulary;
- ``end``: the id that ends a line ("\\n", or ``<eos>``), where scoring and generation start;
- ``piece(id, at_line_start)``: the text a sampled unit adds (a word after a space, the first word of a
  line without one, ``<eos>`` as a newline);
- ``hash_ids(context, text)`` and ``ngram``: the units the memorisation check hashes (code points and
  8-grams; word ids and 4-grams);
- ``to_arrays`` / ``from_arrays``: how the vocabulary is stored in a model file.

Imports only numpy and seqcli.text (the predict path).
"""

import numpy as np

from seqcli.text import PAD, UNK, Vocab, word_tokens

EOS = "<eos>"   # the end of a line in a word vocabulary: id 2, after <pad> and <unk>
EOS_ID = 2


def code_points(text):
    """uint32 code points of ``text`` (a lone surrogate, e.g. from a badly encoded argument, is kept
    as its code point, so it shows up as an unknown character instead of an encoding error)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")


class CharUnits:
    """Characters: the vocabulary is a corpus's characters sorted by code point, so encoding a text is
    one ``searchsorted`` over its code points. An unknown character is an error (or skipped)."""

    split = "char"
    noun = "character"
    ngram = 8
    never_sampled = ()
    sample_length = 80    # units of the sample shown with every validation

    def __init__(self, chars):
        self.tokens = list(chars)
        self.cps = code_points("".join(self.tokens)).astype(np.uint32)
        if self.cps.size != len(self.tokens) or (
                self.cps.size > 1 and not (np.diff(self.cps.astype(np.int64)) > 0).all()):
            raise ValueError("the vocabulary must be distinct single characters sorted by code point")
        self.index = {c: i for i, c in enumerate(self.tokens)}
        self.end = self.index.get("\n")

    @classmethod
    def build(cls, text):
        """(CharUnits of the characters of ``text``, count of each (n_vocab,))."""
        cps, counts = np.unique(code_points(text), return_counts=True)
        return cls([chr(c) for c in cps]), counts

    def __len__(self):
        return len(self.tokens)

    def encode(self, text, skip_unknown=False):
        """Character ids (int64) of ``text``; unknown characters raise ValueError or are dropped."""
        cps = code_points(text)
        ids = np.searchsorted(self.cps, cps)
        ok = ids < self.cps.size
        ok[ok] = self.cps[ids[ok]] == cps[ok]
        if not ok.all():
            if not skip_unknown:
                raise ValueError(f"characters the model never saw: {describe_chars(self.unknown(text))}")
            ids = ids[ok]
        return ids.astype(np.int64)

    def decode(self, ids):
        return "".join(self.tokens[i] for i in ids)

    def unknown(self, text):
        """The distinct characters of ``text`` outside the vocabulary, in order of first appearance."""
        return [c for c in dict.fromkeys(text) if c not in self.index]

    def piece(self, j, at_line_start=False):
        return self.tokens[j]

    def hash_ids(self, context, text):
        """Code points of the last ngram-1 characters of ``context`` and of ``text``."""
        context = context[-(self.ngram - 1):] if context else ""
        return code_points(context + text)

    def to_arrays(self):
        return {}, {"vocab": self.cps.astype(np.uint32)}

    @classmethod
    def from_arrays(cls, header, arrays):
        cps = np.asarray(arrays["vocab"])
        if cps.ndim != 1 or cps.dtype.kind not in "ui" or cps.size == 0:
            raise ValueError("vocabulary is not a list of code points")
        if cps.min() < 0 or cps.max() > 0x10FFFF:
            raise ValueError("vocabulary holds a value that is not a Unicode code point")
        return cls([chr(int(c)) for c in cps])


class WordUnits:
    """Words: ``<pad>`` 0 (never read), ``<unk>`` 1, ``<eos>`` 2, then the corpus's words by
    frequency, as the classifiers' vocabularies (``min_count``, ``max_vocab``, ``lowercase``). Every
    text encodes: a word out of the vocabulary is ``<unk>``, which is scored like any word."""

    split = "word"
    noun = "word"
    ngram = 4
    never_sampled = (0,)   # <pad> is no word (it is never a target, but has a logit)
    sample_length = 20

    def __init__(self, tokens, lowercase=True):
        self.tokens = list(tokens)
        if self.tokens[:3] != [PAD, UNK, EOS] or len(set(self.tokens)) != len(self.tokens):
            raise ValueError("a word vocabulary starts <pad>, <unk>, <eos> and holds each word once")
        self.lowercase = bool(lowercase)
        self.index = {w: i for i, w in enumerate(self.tokens)}
        self.end = EOS_ID

    @classmethod
    def build(cls, text, min_count=2, max_vocab=None, lowercase=True):
        """(WordUnits of the words of ``text``, count of each unit (n_vocab,), <eos> included)."""
        lines = [word_tokens(line, lowercase) for line in text.split("\n")]
        kept = Vocab.build(lines, min_count, None if max_vocab is None else max_vocab - 1).tokens[2:]
        units = cls([PAD, UNK, EOS] + kept, lowercase)
        counts = np.bincount(units.encode(text), minlength=len(units.tokens))
        return units, counts

    def __len__(self):
        return len(self.tokens)

    def encode(self, text, skip_unknown=False):
        """Word ids (int64): each line's words, ``<eos>`` after every line a newline ends."""
        get, ids = self.index.get, []
        lines = text.split("\n")
        for i, line in enumerate(lines):
            ids.extend(get(w, 1) for w in word_tokens(line, self.lowercase))
            if i < len(lines) - 1:
                ids.append(EOS_ID)
        return np.array(ids, dtype=np.int64)

    def decode(self, ids):
        """The tokens of ``ids`` (a list: words are not joined)."""
        return [self.tokens[i] for i in ids]

    def unknown(self, text):
        """Nothing is left out of a word model's scores (a new word is read as <unk>)."""
        return []

    def piece(self, j, at_line_start=False):
        if j == EOS_ID:
            return "\n"
        return self.tokens[j] if at_line_start else " " + self.tokens[j]

    def hash_ids(self, context, text):
        """Word ids of the last ngram-1 words of ``context`` and of ``text``."""
        tail = self.encode(context)[-(self.ngram - 1):] if context else np.zeros(0, np.int64)
        return np.concatenate([tail, self.encode(text)]).astype(np.uint64)

    def to_arrays(self):
        return {"split": "word", "lowercase": self.lowercase}, {"vocab": np.array(self.tokens)}

    @classmethod
    def from_arrays(cls, header, arrays):
        tokens = np.asarray(arrays["vocab"])
        if tokens.ndim != 1 or tokens.dtype.kind != "U":
            raise ValueError("word vocabulary is not a list of strings")
        lowercase = header.get("lowercase", True)
        if not isinstance(lowercase, bool):
            raise ValueError("lowercase is not true or false")
        return cls(tokens.tolist(), lowercase)


def describe_chars(chars, at_most=10):
    """'é' (U+00E9), '\\t' (U+0009), ... for messages (control characters escaped)."""
    shown = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in chars[:at_most])
    if len(chars) > at_most:
        shown += f" and {len(chars) - at_most} more"
    return shown


def units_from_state(header, arrays):
    """The unit kind a model file's header names (files without one hold characters)."""
    split = header.get("split", "char")
    if split not in ("char", "word"):
        raise ValueError(f"unknown language model split {split!r}")
    return (WordUnits if split == "word" else CharUnits).from_arrays(header, arrays)
