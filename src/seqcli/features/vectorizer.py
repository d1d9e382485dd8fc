"""The vectorizer: counts, binary, tf-idf and the hashing trick, in pure Python + NumPy.

Why our own vectorizer: ``seqcli predict`` must featurize text for bag-of-words models without
importing scikit-learn or scipy (they cost most of the start-up time). The results equal
scikit-learn's ``CountVectorizer`` / ``TfidfVectorizer`` on equivalent settings (tests check it):

- word analyzer: ``text.word_tokens`` (sklearn ``token_pattern=text.WORD_RE.pattern``), n-grams
  joined by one space ("not long");
- char analyzer: like sklearn ``analyzer="char"``: runs of two or more whitespace characters become
  one space, then every n-gram of the whole text, spaces included;
- columns sorted by term; ``min_df`` (documents) is applied first, then ``max_features`` keeps the
  terms with the largest total count, ties going to the term that sorts first (sklearn's unstable
  argsort may break such ties differently);
- tf-idf: smooth idf ``ln((1 + n) / (1 + df)) + 1``, optional ``1 + ln(tf)``, rows scaled to unit
  L2 norm (sklearn's defaults);
- hashing: column = ``zlib.crc32(utf8(term)) mod 2**hash_bits`` (a lone surrogate, possible only
  from library callers, is encoded with ``surrogatepass``), collisions summed; no vocabulary,
  no alternating signs (unlike sklearn's HashingVectorizer default).

Rows are returned as :class:`SparseRows`, a CSR triple in plain numpy; scipy is imported only by
``SparseRows.to_scipy`` and ``write_npz``. Per-document Python work is tokenizing and one dict lookup
per n-gram (as in sklearn); counting, weighting and normalising run in numpy over the whole batch.
"""

import re
import zlib
from array import array
from collections import defaultdict
from collections.abc import Sequence
from itertools import compress
from typing import NamedTuple

import numpy as np

from seqcli.config import VectorizerConfig
from seqcli.errors import FeatureError
from seqcli.features.grams import word_gram_ids
from seqcli.text import char_tokens, word_tokens


_WHITESPACE_RUN = re.compile(r"\s\s+")  # sklearn's char analyzer collapses these to one space


# --------------------------------------------------------------------------------------------
# configuration and the sparse row container


class SparseRows(NamedTuple):
    """``m`` rows of ``n_cols`` columns in CSR form, plain numpy (no scipy needed).

    Row ``i`` holds columns ``indices[indptr[i]:indptr[i+1]]`` (sorted) with values ``data[...]``.
    ``first_seen`` (optional, same length as ``indices``) orders the entries of a row by where
    their term first occurs in the document; :func:`write_jsonl` uses it to print keys in text
    order. Row slicing code may leave it ``None``.
    """

    indptr: np.ndarray  # (m + 1,) int64
    indices: np.ndarray  # (nnz,) int32
    data: np.ndarray  # (nnz,) float32
    n_cols: int
    first_seen: np.ndarray | None = None  # (nnz,) int64, or None

    @property
    def shape(self):
        """``(m, n_cols)``."""
        return (len(self.indptr) - 1, self.n_cols)

    def to_scipy(self):
        """The same rows as a ``scipy.sparse.csr_matrix`` of shape (m, n_cols)."""
        from scipy.sparse import csr_matrix  # lazy: scipy is slow to import

        return csr_matrix((self.data, self.indices, self.indptr), shape=self.shape)


class HashedNames(Sequence):
    """Column names ``"#0" .. "#{n-1}"`` of a hashing vectorizer, made on demand (2**bits of them)."""

    def __init__(self, n):
        self._n = n

    def __len__(self):
        return self._n

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [f"#{j}" for j in range(*i.indices(self._n))]
        if not -self._n <= i < self._n:
            raise IndexError(i)
        return f"#{i % self._n}"


# --------------------------------------------------------------------------------------------
# analysis: text -> list of n-grams


def pieces(text, cfg):
    """(the words or characters of ``text`` the n-grams are made of, the string that joins them)."""
    if cfg.analyzer == "word":
        return word_tokens(text, lowercase=cfg.lowercase), " "
    return char_tokens(_WHITESPACE_RUN.sub(" ", text), lowercase=cfg.lowercase), ""


def hashed_column(gram, hash_bits):
    """The column of ``gram`` under the hashing trick (see the module docstring)."""
    return zlib.crc32(gram.encode("utf-8", "surrogatepass")) & ((1 << hash_bits) - 1)


def _analyze(text, cfg, legacy=False):
    """All n-grams of ``text`` for orders ngram_min..ngram_max, grouped by order, each in text order.

    legacy: as seqcli up to 0.x's vectorizer state version 2 made word n-grams with ngram_min 1: the
    grams list was the token list itself, so orders 3 and up also ran across the unigrams and the
    n-grams appended before them ("earthshaking though the"). Models saved then hold those in their
    vocabulary and keep being read with them."""
    lo, hi = cfg.ngram_min, cfg.ngram_max
    if cfg.analyzer == "word":
        toks = word_tokens(text, lowercase=cfg.lowercase)
        grams = (toks if legacy else toks[:]) if lo == 1 else []
        for n in range(max(lo, 2), min(hi, len(toks)) + 1):
            grams += [" ".join(toks[i:i + n]) for i in range(len(toks) - n + 1)]
        return grams
    chars, _ = pieces(text, cfg)
    grams = chars if lo == 1 else []
    joined = "".join(chars)  # n-grams of characters are slices of their concatenation
    for n in range(max(lo, 2), min(hi, len(joined)) + 1):
        grams += [joined[i:i + n] for i in range(len(joined) - n + 1)]
    return grams


def _check_texts(texts):
    if isinstance(texts, (str, bytes)):
        raise FeatureError("expected a list of texts, got a single string")
    return texts


# --------------------------------------------------------------------------------------------
# counting: column ids per document -> CSR


def _count(cols, lengths, n_cols):
    """Count column ids per document into CSR rows.

    cols: (total,) int64 column id of every n-gram of every document, documents one after another,
    -1 for n-grams to ignore; lengths: (m,) n-grams per document. Returns SparseRows with counts
    (float32), columns sorted within rows and ``first_seen`` = position of the first occurrence.
    """
    m = len(lengths)
    return _count_entries(np.repeat(np.arange(m, dtype=np.int64), lengths), cols, m, n_cols)


def _count_entries(rows, cols, m, n_cols):
    """``_count`` with the document of each n-gram given: rows, cols (total,) int64, m documents.
    ``first_seen`` is the position in these arrays of each (row, col)'s first occurrence."""
    pos = np.flatnonzero(cols >= 0)  # (kept,) flat positions of counted n-grams
    keys = rows[pos] * max(n_cols, 1) + cols[pos]  # row-major key, so sorting keys sorts rows
    # return_index uses a stable sort, so ``first`` points at each (row, col)'s first occurrence
    uniq, first, counts = np.unique(keys, return_index=True, return_counts=True)
    return _csr(uniq // max(n_cols, 1), uniq % max(n_cols, 1), counts.astype(np.float32),
                pos[first], m, n_cols)


def _csr(rows, cols, data, first_seen, m, n_cols):
    """SparseRows from entries already sorted by (row, col) without duplicates; all arrays (nnz,)."""
    indptr = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=m), out=indptr[1:])
    return SparseRows(indptr, cols.astype(np.int32), data, int(n_cols),
                      first_seen.astype(np.int64))


def _keep_columns(rows, keep):
    """Drop the columns where ``keep`` (n_cols,) bool is False; the others are renumbered in order."""
    new_col = np.cumsum(keep) - 1  # (n_cols,) old column -> new column where kept
    mask = keep[rows.indices]  # (nnz,) entries that stay
    kept_before = np.concatenate(([0], np.cumsum(mask, dtype=np.int64)))  # (nnz + 1,)
    indptr = kept_before[rows.indptr]  # entries kept before each row boundary
    return SparseRows(indptr, new_col[rows.indices[mask]].astype(np.int32), rows.data[mask],
                      int(keep.sum()), None if rows.first_seen is None else rows.first_seen[mask])


def _row_ids(indptr):
    """(nnz,) row index of every stored entry of CSR rows with ``indptr`` (m + 1,)."""
    return np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))


# --------------------------------------------------------------------------------------------
# the vectorizer


class Vectorizer:
    """Texts -> SparseRows, following ``config`` (see :class:`VectorizerConfig`).

    Fitted attributes: ``vocabulary_`` (term -> column, columns in term order; ``None`` when
    hashing), ``df_`` (n_cols,) int64 document frequency per column, ``idf_`` (n_cols,) float64
    for tf-idf else ``None``, ``n_docs_`` documents seen by ``fit``.
    """

    legacy_grams = False   # word n-grams as a state of version 2 or before made them (see _analyze)

    def __init__(self, config=None):
        self.config = config if config is not None else VectorizerConfig()
        self.vocabulary_ = None
        self.df_ = None
        self.idf_ = None
        self.n_docs_ = None

    @property
    def n_features_(self):
        """Number of columns: 2**hash_bits when hashing, else the vocabulary size."""
        if self.config.hash_bits is not None:
            return 1 << self.config.hash_bits
        self._check_fitted()
        return len(self.vocabulary_)

    # -- fitting ----------------------------------------------------------------------------

    def fit(self, texts):
        """Learn vocabulary, document frequencies and idf from ``texts``; returns self."""
        self.fit_transform(texts)
        return self

    def fit_transform(self, texts):
        """``fit(texts)`` then ``transform(texts)``, counting the corpus once."""
        cfg, self.legacy_grams = self.config, False   # a new fit makes today's n-grams
        texts = _check_texts(texts)
        if cfg.hash_bits is not None:
            counts = self._count_hashed(texts)
            self.vocabulary_ = None
        else:
            counts = self._fit_vocabulary(texts)
        self.n_docs_ = counts.shape[0]
        self.df_ = np.bincount(counts.indices, minlength=counts.n_cols).astype(np.int64)
        self.idf_ = self._idf(self.df_, self.n_docs_) if cfg.mode == "tfidf" else None
        return self._weight(counts)

    def _fit_vocabulary(self, texts):
        """Count the corpus with columns in term order, then drop pruned columns (order kept)."""
        cfg = self.config
        seen = defaultdict()  # term -> provisional id; a new term gets the next id
        seen.default_factory = seen.__len__
        cols, lengths = array("q"), []  # (total,) int64 without a Python int object per entry
        for text in texts:
            grams = _analyze(text, cfg, self.legacy_grams)
            cols.extend(map(seen.__getitem__, grams))
            lengths.append(len(grams))

        # Renumber provisional ids by term before counting, so every later step keeps column order
        # and pruning needs no re-sort.
        terms = sorted(seen)  # (V,)
        rank = np.empty(len(terms), dtype=np.int64)  # provisional id -> column
        rank[np.fromiter(map(seen.__getitem__, terms), dtype=np.int64, count=len(terms))] = \
            np.arange(len(terms))
        counts = _count(rank[np.frombuffer(cols, dtype=np.int64)], lengths, len(terms))

        keep = np.bincount(counts.indices, minlength=len(terms)) >= cfg.min_df  # (V,)
        if cfg.max_features is not None and keep.sum() > cfg.max_features:
            totals = np.bincount(counts.indices, weights=counts.data, minlength=len(terms))
            cand = np.flatnonzero(keep)  # in term order, so a stable sort breaks ties by term
            best = cand[np.argsort(-totals[cand], kind="stable")[:cfg.max_features]]
            keep = np.zeros(len(terms), dtype=bool)
            keep[best] = True
        if not keep.any():
            raise FeatureError("empty vocabulary: no term is left"
                               + (f" with min_df={cfg.min_df}" if cfg.min_df > 1 else
                                  " (the texts have no tokens)"))
        self.vocabulary_ = {t: i for i, t in enumerate(compress(terms, keep.tolist()))}
        return counts if keep.all() else _keep_columns(counts, keep)

    @staticmethod
    def _idf(df, n_docs):
        """Smooth idf (n_cols,) float64: ln((1 + n) / (1 + df)) + 1, as sklearn's default."""
        return np.log((1.0 + n_docs) / (1.0 + df)) + 1.0

    # -- transforming -----------------------------------------------------------------------

    def transform(self, texts):
        """Rows (m = len(texts), n_cols) for ``texts``; n-grams not in the vocabulary are ignored.

        A hashing vectorizer in counts/binary mode needs no ``fit``; tf-idf always does.
        """
        cfg = self.config
        texts = _check_texts(texts)
        if cfg.hash_bits is not None:
            if cfg.mode == "tfidf":
                self._check_fitted()
            return self._weight(self._count_hashed(texts))
        self._check_fitted()
        get = self.vocabulary_.get
        # the whole batch at once (features/grams.py): predict's inner loop (not for a legacy model's
        # n-grams, see _analyze)
        if cfg.analyzer == "word" and not self.legacy_grams:
            rows, cols, m = word_gram_ids(texts, cfg, get)
            return self._weight(_count_entries(rows, cols, m, len(self.vocabulary_)))
        cols, lengths = array("q"), []
        for text in texts:
            ids = [get(g, -1) for g in _analyze(text, cfg, self.legacy_grams)]
            cols.extend(ids)
            lengths.append(len(ids))
        return self._weight(_count(np.frombuffer(cols, dtype=np.int64), lengths,
                                   len(self.vocabulary_)))

    def _count_hashed(self, texts):
        """Counts (m, 2**hash_bits); colliding n-grams add up in the shared column."""
        cfg = self.config
        mask = (1 << cfg.hash_bits) - 1
        crc32 = zlib.crc32
        cols, lengths = array("q"), []
        for text in texts:
            ids = [crc32(g.encode("utf-8", "surrogatepass")) & mask for g in _analyze(text, cfg, self.legacy_grams)]
            cols.extend(ids)
            lengths.append(len(ids))
        return _count(np.frombuffer(cols, dtype=np.int64), lengths, mask + 1)

    def _weight(self, counts):
        """Apply the mode to count rows: counts as they are, binary 0/1, or l2-normalised tf-idf."""
        mode = self.config.mode
        if mode == "counts":
            return counts
        if mode == "binary":
            return counts._replace(data=np.ones_like(counts.data))
        tf = counts.data.astype(np.float64)  # (nnz,)
        if self.config.sublinear_tf:
            tf = 1.0 + np.log(tf)
        w = tf * self.idf_[counts.indices]
        rows = _row_ids(counts.indptr)  # (nnz,)
        # bincount rather than np.add.reduceat: reduceat returns a stray element for empty rows
        norms = np.sqrt(np.bincount(rows, weights=w * w, minlength=counts.shape[0]))  # (m,)
        w /= norms[rows]  # stored entries are > 0, so their row's norm is > 0
        return counts._replace(data=w.astype(np.float32))

    def _check_fitted(self):
        if self.n_docs_ is None:
            raise FeatureError("this vectorizer is not fitted yet; call fit() first")

    # -- inspection -------------------------------------------------------------------------

    def feature_names(self):
        """Column id -> term: a list in column order, or ``"#<col>"`` names when hashing."""
        if self.config.hash_bits is not None:
            return HashedNames(1 << self.config.hash_bits)
        self._check_fitted()
        return sorted(self.vocabulary_, key=self.vocabulary_.__getitem__)

    def ngram_stats(self, texts):
        """[(n, distinct n-grams of order n in ``texts``) for n in ngram_min..ngram_max].

        Shows how fast n-gram vocabularies grow with n; ignores min_df / max_features.
        """
        cfg = self.config
        orders = [VectorizerConfig(analyzer=cfg.analyzer, ngram_min=n, ngram_max=n,
                                   lowercase=cfg.lowercase)
                  for n in range(cfg.ngram_min, cfg.ngram_max + 1)]
        seen = [set() for _ in orders]
        for text in _check_texts(texts):  # one pass, so a generator of texts works too
            for one, grams in zip(orders, seen):
                grams.update(_analyze(text, one))
        return [(one.ngram_min, len(grams)) for one, grams in zip(orders, seen)]

    # -- persistence ------------------------------------------------------------------------

    def to_state(self):
        """``(header, arrays)`` for a model file (see features/state.py)."""
        from seqcli.features.state import to_state

        self._check_fitted()
        return to_state(self)

    @classmethod
    def from_state(cls, header, arrays):
        """Rebuild a fitted vectorizer from :meth:`to_state` output; ``ValueError`` if inconsistent."""
        from seqcli.features.state import from_state

        return from_state(cls, header, arrays)


def nb_scale(rows, y_idx, n_classes, alpha=1.0):
    """Naive-Bayes log-count ratios as one scale per feature (Wang & Manning 2012, "NBSVM").

    rows: SparseRows of binary features (m rows); y_idx (m,) class ids.
    For each class k, r_k = log(p_k / |p_k|_1) - log(q_k / |q_k|_1) where p_k (q_k) counts the
    documents of class k (of the other classes) holding each feature, plus ``alpha``. The scale is
    max_k |r_k| (n_cols,) float32: multiplying binary features by it lets a logistic regression put
    its L2 budget where naive Bayes sees evidence. For two classes this is exactly NB-LR (the sign of
    r is absorbed by the weights).
    """
    row_of = _row_ids(rows.indptr)
    per_class = np.zeros((n_classes, rows.n_cols))
    for k in range(n_classes):
        per_class[k] = np.bincount(rows.indices, weights=(y_idx[row_of] == k).astype(np.float64),
                                   minlength=rows.n_cols)
    total = per_class.sum(axis=0)
    scale = np.zeros(rows.n_cols)
    for k in range(n_classes):
        p = per_class[k] + alpha
        q = total - per_class[k] + alpha
        scale = np.maximum(scale, np.abs(np.log(p / p.sum()) - np.log(q / q.sum())))
    return scale.astype(np.float32)
