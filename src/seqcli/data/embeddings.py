"""Pretrained word vectors for ``--embeddings FILE``: read a vector file, keep only the vocabulary's.

Formats, told apart by the content, never by the file name:

* **text with a header** (word2vec ``-binary 0``, fastText ``.vec``): line 1 is ``count dim``, then one
  word per line followed by ``dim`` numbers, separated by spaces (fastText leaves a trailing space).
* **text without a header** (GloVe): the same lines without line 1; ``dim`` is read off the first line.
  GloVe's Common Crawl files hold a few "words" with spaces in them (``. . .``): a line with more
  fields than ``dim + 1`` whose first extra field is not a number is such a word, not an error.
* **word2vec binary** (``-binary 1``, gensim ``binary=True``): the ``count dim`` header line, then for
  each word its UTF-8 bytes up to a space and ``dim`` little-endian float32 values (``4 dim`` bytes),
  optionally followed by a newline. A header followed by bytes that cannot be the numbers of a text
  line means binary.

Any of them may be gzip-, bzip2- or xz-compressed (recognised by the magic bytes). Words are UTF-8; a
word with an invalid byte is decoded with replacement characters and counted, not an error.

Memory stays bounded whatever the file's size: the file is read in chunks of ``_CHUNK`` bytes and only
the vectors of the vocabulary's words are kept, written straight into the ``(dim, n_vocab)`` result.
Most of a large file is words nobody asked for, so a line is first looked at without parsing its
numbers: its word is cut off at the first space and looked up, and its values are only counted (one
``bytes.count``, which catches truncated and wrong-sized lines anywhere in the file). Numbers are parsed
for wanted words only; so a non-number in the line of a word not asked for goes unnoticed. Reading
stops early once every word has been found exactly: the rest of the file cannot change the result.

Lookup: the exact word first. A vocabulary word missing exactly falls back to the first word in the
file (files are sorted by frequency, so usually the most frequent spelling) whose ``str.casefold()``
equals its own: with seqcli's lower-cased vocabularies this finds "Paris" for "paris". Ids below
``reserved`` (``<pad>`` and ``<unk>`` in seqcli vocabularies) are never looked up.

Every failure the user can cause is a one-line ``SeqcliError`` naming the file and the line (or, in
a binary file, the record).
"""

import os
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from seqcli.data import vecfile
from seqcli.data.vecfile import FORMAT_BINARY, FORMAT_TEXT, FORMAT_TEXT_HEADER
from seqcli.errors import SeqcliError

__all__ = ["FORMAT_BINARY", "FORMAT_TEXT", "FORMAT_TEXT_HEADER", "Vectors", "apply_vectors", "load_vectors"]


@dataclass
class Vectors:
    """The vectors of a vocabulary's words read from one file, and how many were found.

    matrix     (dim, n_vocab) float32: column i is the vector of vocabulary id i, zero if not found
    found      (n_vocab,) bool: id i got a vector (never true for the ``reserved`` ids)
    folded     (n_vocab,) bool: id i got it by case folding only (a subset of ``found``)
    counts     (n_vocab,) float64 token counts as given, or None
    """

    source: str            # the path as given
    format: str            # FORMAT_TEXT_HEADER, FORMAT_TEXT or FORMAT_BINARY
    compression: str | None  # "gzip", "bzip2", "xz" or None
    dim: int
    matrix: np.ndarray
    found: np.ndarray
    folded: np.ndarray
    reserved: int          # ids below this were not looked up
    counts: np.ndarray | None
    lines_read: int        # text: lines read, header included; binary: records read
    vectors_read: int      # words with a vector seen in the file (blank lines are not vectors)
    invalid_utf8: int      # words seen whose bytes are not valid UTF-8
    read_to_end: bool      # False when reading stopped because every word had been found exactly

    @property
    def n_looked_up(self) -> int:
        """Vocabulary types looked up: every id from ``reserved`` on."""
        return max(0, len(self.found) - self.reserved)

    @property
    def n_found(self) -> int:
        return int(self.found.sum())

    @property
    def n_folded(self) -> int:
        return int(self.folded.sum())

    @property
    def n_exact(self) -> int:
        return self.n_found - self.n_folded

    @property
    def type_coverage(self) -> float:
        """Share of the looked-up vocabulary types found, in [0, 1] (0 for an empty vocabulary)."""
        return self.n_found / self.n_looked_up if self.n_looked_up else 0.0

    @property
    def token_coverage(self) -> float | None:
        """Share of the tokens (ids >= ``reserved``, weighted by ``counts``) whose id was found;
        None without counts or when they sum to zero."""
        if self.counts is None:
            return None
        total = float(self.counts[self.reserved:].sum())
        return float(self.counts[self.found].sum()) / total if total > 0 else None

    def summary(self) -> str:
        """One line for the CLI, e.g.
        ``found 11,234 of 14,001 words (80.2%; 97.1% of tokens), 312 by case folding``."""
        shares = _percent(self.n_found, self.n_looked_up)
        if self.token_coverage is not None:
            total = float(self.counts[self.reserved:].sum())
            shares += f"; {_percent(float(self.counts[self.found].sum()), total)} of tokens"
        return (f"found {self.n_found:,} of {self.n_looked_up:,} words ({shares}), "
                f"{self.n_folded:,} by case folding")


def load_vectors(path, vocab_tokens: Sequence[str], counts=None, *, reserved: int = 2,
                 expect_dim: int | None = None,
                 progress: Callable[[int, int], None] | None = None) -> Vectors:
    """Read the vectors of ``vocab_tokens`` from the word-vector file ``path``.

    vocab_tokens  sequence of n_vocab str, position = id (a ``seqcli.text.Vocab`` is taken too)
    counts        optional (n_vocab,) token counts, to weight the token coverage
    reserved      ids below it are not looked up (0 <pad> and 1 <unk> in seqcli vocabularies)
    expect_dim    when given, a file of another dimension fails at once, before it is read
    progress      optional ``progress(bytes_done, bytes_total)`` called after every chunk read
                  (bytes of the file on disk, so compressed bytes for a compressed file)

    Returns ``Vectors`` with ``matrix`` (dim, n_vocab) float32. Raises ``SeqcliError`` (one line,
    naming the file and the line or record) for anything wrong with the file.
    """
    tokens = list(getattr(vocab_tokens, "tokens", vocab_tokens))
    n_vocab = len(tokens)
    if counts is not None:
        counts = np.asarray(counts, dtype=np.float64)
        if counts.shape != (n_vocab,):
            raise ValueError(f"counts has shape {counts.shape}, expected ({n_vocab},)")
    name = os.fspath(path)
    src = vecfile.Source(name, progress)
    try:
        head = vecfile.read_head(src)
        if expect_dim is not None and head.dim != expect_dim:
            raise SeqcliError(f"{name}: the vectors have {head.dim} dimensions, "
                              f"expected {expect_dim}")
        lookup = _Lookup(tokens, reserved, head.dim)
        if lookup.done:  # nothing to look up: the file's size is all there is to learn
            lines_read, vectors_read, read_to_end = head.lines, 0, False
        elif head.format == FORMAT_BINARY:
            lines_read, vectors_read, read_to_end = vecfile.read_binary(src, head, lookup)
        else:
            lines_read, vectors_read, read_to_end = vecfile.read_text(src, head, lookup)
    finally:
        src.close()
    state = np.frombuffer(bytes(lookup.state), dtype=np.uint8)
    return Vectors(source=name, format=head.format, compression=src.compression, dim=head.dim,
                   matrix=lookup.matrix, found=state > 0, folded=state == _FOLDED,
                   reserved=min(max(reserved, 0), n_vocab), counts=counts, lines_read=lines_read,
                   vectors_read=vectors_read, invalid_utf8=lookup.invalid_utf8,
                   read_to_end=read_to_end)


def apply_vectors(E: np.ndarray, vectors: Vectors, *, resize: bool = False, rng=None) -> np.ndarray:
    """Put the found vectors into the embedding matrix E (n_x, n_vocab); returns the matrix used.

    Columns of found words get the file's vectors (cast to E's dtype), the others keep their values;
    E is changed in place and returned. When the file's dimension differs from n_x this is a
    ``SeqcliError`` unless ``resize``: then a new (dim, n_vocab) matrix is returned whose columns not
    found are drawn as ``seqcli.nn.layers.Embedding`` draws them (standard normal from ``rng``,
    column 0, padding, zero).
    """
    n_vocab = vectors.found.shape[0]
    if E.ndim != 2 or E.shape[1] != n_vocab:
        raise ValueError(f"E has shape {E.shape}, expected (n_x, {n_vocab})")
    if E.shape[0] != vectors.dim:
        if not resize:
            raise SeqcliError(f"{vectors.source}: the vectors have {vectors.dim} dimensions but the "
                              f"word embedding has {E.shape[0]}: make the embedding size "
                              f"{vectors.dim} to use this file")
        if rng is None:
            raise ValueError("resize needs an rng for the columns not found")
        E = rng.standard_normal((vectors.dim, n_vocab)).astype(E.dtype)
        E[:, 0] = 0.0
    E[:, vectors.found] = vectors.matrix[:, vectors.found]
    return E


# --- the vocabulary side ---------------------------------------------------------------------------

_EXACT, _FOLDED = 2, 1  # lookup states of a vocabulary id (0: not found yet)


class _Lookup:
    """Which file words are wanted, and the (dim, n_vocab) matrix their vectors are written into.

    Words are compared as UTF-8 bytes, so a file word is looked up without decoding it. A word
    stays in ``exact`` until its first occurrence in the file; a case-folded key stays in ``fold``
    until its first occurrence fills every id still without a vector.
    """

    def __init__(self, tokens, reserved, dim):
        self.exact: dict[bytes, list[int]] = {}
        self.fold: dict[bytes, list[int]] = {}
        for i in range(max(reserved, 0), len(tokens)):
            tok = tokens[i]
            self.exact.setdefault(tok.encode("utf-8", "surrogatepass"), []).append(i)
            self.fold.setdefault(tok.casefold().encode("utf-8", "surrogatepass"), []).append(i)
        self.matrix = np.zeros((dim, len(tokens)), dtype=np.float32)
        self.state = bytearray(len(tokens))
        self.invalid_utf8 = 0

    def want(self, word: bytes):
        """(exact ids, folded ids) this file word supplies, either may be None; None if neither.
        Claims them: the caller must then ``store`` the word's vector (or fail)."""
        key = None
        if word.isascii():
            if self.fold:
                key = word.lower()  # casefold and lower agree on ASCII, and bytes.lower is fast
        else:
            try:
                text = word.decode("utf-8")
            except UnicodeDecodeError:
                self.invalid_utf8 += 1
                text = word.decode("utf-8", "replace")
            if self.fold:
                key = text.casefold().encode("utf-8", "surrogatepass")
        exact = self.exact.pop(word, None)
        folded = self.fold.pop(key, None) if key is not None else None
        if exact is None and folded is None:
            return None
        return exact, folded

    def store(self, vec: np.ndarray, hit) -> None:
        """Write vec (dim,) into the columns of ``hit`` = want(word); an exact match always wins."""
        exact, folded = hit
        for i in exact or ():
            self.matrix[:, i] = vec
            self.state[i] = _EXACT
        for i in folded or ():
            if self.state[i] == 0:
                self.matrix[:, i] = vec
                self.state[i] = _FOLDED

    @property
    def done(self) -> bool:
        """Every word found exactly: nothing later in the file can change the result."""
        return not self.exact


def _percent(part: float, whole: float) -> str:
    """part/whole as "80.2%", never rounded to 100.0% or 0.0% unless it is exactly that."""
    if whole <= 0:
        return "0.0%"
    share = 100.0 * part / whole
    if 0 < part < whole:
        share = min(max(share, 0.1), 99.9)
    return f"{share:.1f}%"
