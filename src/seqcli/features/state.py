"""A fitted vectorizer as a model file stores it: a JSON header and plain arrays (never pickled)."""

from dataclasses import asdict

import numpy as np

from seqcli.config import VectorizerConfig, from_dict
from seqcli.errors import FeatureError
from seqcli.persist import pack_strings, unpack_strings

STATE_FORMAT = "seqcli-vectorizer"
STATE_VERSION = 3   # 3: word n-grams of order 3+ from the words alone; 2: the vocabulary as UTF-8 bytes +
#                     lengths (1: a unicode text + offsets)


def to_state(vec):
    """``(header, arrays)`` for a model file: JSON-ready dict and plain numeric/unicode arrays.

    arrays: ``df`` (n_cols,) int64 and, unless hashing, the vocabulary in column order as
    ``vocab_utf8`` / ``vocab_lengths`` (persist.pack_strings: any term, spaces, newlines and NULs
    included, at its UTF-8 size). idf is not stored: it is recomputed from df and n_docs, so the two
    can never disagree.
    """
    header = {"format": STATE_FORMAT, "version": STATE_VERSION, "config": asdict(vec.config),
              "n_docs": int(vec.n_docs_), "n_cols": int(len(vec.df_))}
    arrays = {"df": np.asarray(vec.df_, dtype=np.int64)}
    if vec.vocabulary_ is not None:
        arrays["vocab_utf8"], arrays["vocab_lengths"] = pack_strings(vec.feature_names())
    return header, arrays


def from_state(cls, header, arrays):
    """A fitted ``cls`` (Vectorizer) rebuilt from :func:`to_state` output; FeatureError if inconsistent."""
    if not isinstance(header, dict) or header.get("format") != STATE_FORMAT:
        raise FeatureError(f"not a vectorizer state (expected format {STATE_FORMAT!r})")
    version = header.get("version")
    if not isinstance(version, int) or not 1 <= version <= STATE_VERSION:
        raise FeatureError(f"vectorizer state version {version!r} is not supported "
                           f"(this seqcli reads up to {STATE_VERSION})")
    try:
        config = from_dict(VectorizerConfig, header.get("config"), "config")
    except (TypeError, ValueError) as exc:
        raise FeatureError(f"vectorizer state: {exc}") from None
    n_docs, n_cols = header.get("n_docs"), header.get("n_cols")
    if not (isinstance(n_docs, int) and n_docs >= 0 and isinstance(n_cols, int) and n_cols >= 0):
        raise FeatureError("vectorizer state: n_docs and n_cols must be integers >= 0")

    hashing = config.hash_bits is not None
    stored = ("vocab_text", "vocab_offsets") if version == 1 else ("vocab_utf8", "vocab_lengths")
    expected = {"df"} if hashing else {"df", *stored}
    if set(arrays) != expected:
        raise FeatureError(f"vectorizer state: arrays {sorted(arrays)} do not match the "
                           f"expected {sorted(expected)}")
    df = _checked(arrays, "df", "iu", (n_cols,))
    if (df < 0).any() or (df > n_docs).any():
        raise FeatureError("vectorizer state: document frequencies out of range 0..n_docs")
    vec = cls(config)
    # word 1:3 and wider: read as fitted, with the n-grams of the old analyzer (vectorizer._analyze)
    vec.legacy_grams = version <= 2 and config.analyzer == "word" and config.ngram_min == 1 and config.ngram_max >= 3
    if hashing:
        if n_cols != 1 << config.hash_bits:
            raise FeatureError(f"vectorizer state: n_cols={n_cols} but hash_bits="
                               f"{config.hash_bits} needs {1 << config.hash_bits}")
    else:
        vec.vocabulary_ = (_unpack_vocabulary_v1 if version == 1 else _unpack_vocabulary)(arrays, n_cols)
    vec.df_ = df.astype(np.int64)
    vec.n_docs_ = n_docs
    vec.idf_ = cls._idf(vec.df_, n_docs) if config.mode == "tfidf" else None
    return vec


def _checked(arrays, key, kinds, shape):
    """``arrays[key]`` if it is an ndarray of a dtype kind in ``kinds`` with ``shape``."""
    arr = arrays[key]
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in kinds or arr.shape != shape:
        got = (f"{arr.dtype} {arr.shape}" if isinstance(arr, np.ndarray) else type(arr).__name__)
        raise FeatureError(f"vectorizer state: array {key!r} should have shape {shape} and dtype "
                           f"kind {'/'.join(kinds)}, got {got}")
    return arr


def _unpack_vocabulary(arrays, n_cols):
    """term -> column from ``vocab_utf8`` / ``vocab_lengths`` (see to_state)."""
    _checked(arrays, "vocab_lengths", "u", (n_cols,))
    _checked(arrays, "vocab_utf8", "u", arrays["vocab_utf8"].shape)
    try:
        terms = unpack_strings(arrays["vocab_utf8"], arrays["vocab_lengths"], "vocabulary")
    except ValueError as exc:
        raise FeatureError(f"vectorizer state: {exc}") from None
    return _sorted_vocabulary(terms)


def _sorted_vocabulary(terms):
    if any(a >= b for a, b in zip(terms, terms[1:])):
        raise FeatureError("vectorizer state: vocabulary terms must be unique and sorted")
    return {t: i for i, t in enumerate(terms)}


def _unpack_vocabulary_v1(arrays, n_cols):
    """term -> column from ``vocab_text`` / ``vocab_offsets`` (seqcli 0.1's vectorizer files)."""
    offsets = _checked(arrays, "vocab_offsets", "iu", (n_cols + 1,)).astype(np.int64)
    text = str(_checked(arrays, "vocab_text", "U", ())[()])
    if offsets[0] != 0 or (np.diff(offsets) <= 0).any():
        raise FeatureError("vectorizer state: vocab_offsets must start at 0 and increase")
    total = int(offsets[-1])
    if len(text) > total or total > arrays["vocab_text"].dtype.itemsize // 4:
        raise FeatureError("vectorizer state: vocab_text length does not match vocab_offsets")
    text += "\0" * (total - len(text))  # numpy drops trailing NULs of a unicode scalar
    bounds = offsets.tolist()
    return _sorted_vocabulary([text[a:b] for a, b in zip(bounds[:-1], bounds[1:])])
