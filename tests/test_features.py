"""features.py: our NumPy vectorizer against scikit-learn, the hashing trick, model-file state, writers."""

import io
import json
import os
import subprocess
import sys
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqcli.errors import SeqcliError
from seqcli.config import VectorizerConfig
from seqcli.persist import pack_strings, unpack_strings
from seqcli.features import (SparseRows, Vectorizer, write_jsonl, write_npz,
                             write_svmlight)
from seqcli.text import WORD_RE

LECTURE = "The movie was not long, but interesting."

CORPUS = [
    LECTURE,
    "The movie was long and not interesting!",
    "",
    "Don't watch it; it\u2019s long... LONG.",
    "  spaces\tand\t\ttabs\n\nand   newlines  ",
    "Caf\u00e9 na\u00efve caf\u00e9 42 x_y",
    "not bad, not bad at all",
    "   ",
    "a",
]


def sk_vectorizer(cfg):
    """The scikit-learn vectorizer equivalent to ``cfg`` (vocabulary modes only)."""
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

    kw = dict(analyzer=cfg.analyzer, ngram_range=(cfg.ngram_min, cfg.ngram_max),
              lowercase=cfg.lowercase, min_df=cfg.min_df, max_features=cfg.max_features)
    if cfg.analyzer == "word":
        kw["token_pattern"] = WORD_RE.pattern
    if cfg.mode == "tfidf":
        return TfidfVectorizer(sublinear_tf=cfg.sublinear_tf, **kw)
    return CountVectorizer(binary=cfg.mode == "binary", **kw)


def check_rows(rows, m):
    """Container invariants: dtypes, shapes, sorted columns within each row."""
    assert rows.indptr.dtype == np.int64 and rows.indptr.shape == (m + 1,)
    assert rows.indices.dtype == np.int32 and rows.data.dtype == np.float32
    assert rows.indptr[0] == 0 and rows.indptr[-1] == len(rows.indices) == len(rows.data)
    for a, b in zip(rows.indptr[:-1], rows.indptr[1:]):
        assert np.all(np.diff(rows.indices[a:b]) > 0)
    assert rows.shape == (m, rows.n_cols)


def assert_matches_sklearn(cfg, texts):
    ours = Vectorizer(cfg)
    rows = ours.fit_transform(texts)
    check_rows(rows, len(texts))
    sk = sk_vectorizer(cfg)
    expected = sk.fit_transform(texts).toarray()
    assert ours.feature_names() == list(sk.get_feature_names_out())
    got = rows.to_scipy().toarray()
    if cfg.mode == "tfidf":
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(ours.idf_, sk.idf_)
    else:
        np.testing.assert_array_equal(got, expected)
    again = ours.transform(texts)  # transform after fit gives the rows fit_transform gave
    for a, b in zip(rows[:3], again[:3]):
        np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------------------------
# the lecture example and equality with scikit-learn


def test_lecture_vector_prints_exactly():
    vec = Vectorizer(VectorizerConfig())
    rows = vec.fit_transform([LECTURE])
    out = io.StringIO()
    write_jsonl(rows, vec.feature_names(), out)
    assert out.getvalue() == ('{"the": 1, "movie": 1, "was": 1, "not": 1, "long": 1, '
                              '"but": 1, "interesting": 1}\n')


@pytest.mark.parametrize("cfg", [
    VectorizerConfig(),
    VectorizerConfig(mode="binary"),
    VectorizerConfig(ngram_min=1, ngram_max=2),
    VectorizerConfig(ngram_min=2, ngram_max=3, mode="binary"),
    VectorizerConfig(lowercase=False),
    VectorizerConfig(analyzer="char", ngram_min=1, ngram_max=3),
    VectorizerConfig(analyzer="char", ngram_min=2, ngram_max=4, lowercase=False),
    VectorizerConfig(min_df=2),
    VectorizerConfig(ngram_max=2, min_df=2, mode="binary"),
    VectorizerConfig(mode="tfidf"),
    VectorizerConfig(mode="tfidf", sublinear_tf=True, ngram_max=2),
    VectorizerConfig(mode="tfidf", analyzer="char", ngram_min=2, ngram_max=3, min_df=2),
], ids=repr)
def test_equals_sklearn(cfg):
    assert_matches_sklearn(cfg, CORPUS)


@pytest.mark.parametrize("analyzer, ngram_max, min_df", [("word", 2, 1), ("word", 1, 2),
                                                         ("char", 2, 1)])
def test_max_features_equals_sklearn(analyzer, ngram_max, min_df):
    # sklearn breaks ties at the cut with an unstable argsort, so cut where the totals differ
    base = VectorizerConfig(analyzer=analyzer, ngram_max=ngram_max, min_df=min_df)
    totals = np.sort(np.asarray(sk_vectorizer(base).fit_transform(CORPUS).sum(axis=0)).ravel())[::-1]
    cuts = [k for k in range(3, len(totals)) if totals[k - 1] > totals[k]]
    for k in cuts[:2]:
        for mode in ("counts", "tfidf"):
            cfg = VectorizerConfig(analyzer=analyzer, ngram_max=ngram_max, min_df=min_df,
                                   max_features=k, mode=mode)
            assert_matches_sklearn(cfg, CORPUS)


def test_max_features_ties_go_to_the_term_sorting_first():
    vec = Vectorizer(VectorizerConfig(max_features=2)).fit(["c b a", "a"])  # a:2, b:1, c:1
    assert vec.feature_names() == ["a", "b"]
    words = [f"w{i:03d}" for i in range(300)]  # all seen once: enough ties to unsettle quicksort
    vec = Vectorizer(VectorizerConfig(max_features=50)).fit([" ".join(words[::-1]), "w299"])
    assert vec.feature_names() == words[:49] + ["w299"]


@settings(max_examples=40, deadline=None)
@given(texts=st.lists(st.text(alphabet="abAB '\u2019.,\t\n\u00e9", max_size=25), max_size=6),
       analyzer=st.sampled_from(["word", "char"]),
       ngrams=st.sampled_from([(1, 1), (1, 2), (2, 3)]),
       mode=st.sampled_from(["counts", "binary", "tfidf"]))
def test_equals_sklearn_on_random_texts(texts, analyzer, ngrams, mode):
    texts = texts + ["ab ba a'b A"]  # never an empty vocabulary
    cfg = VectorizerConfig(analyzer=analyzer, ngram_min=ngrams[0], ngram_max=ngrams[1], mode=mode)
    assert_matches_sklearn(cfg, texts)


# --------------------------------------------------------------------------------------------
# empty documents, unseen terms, errors


@pytest.mark.parametrize("mode", ["counts", "binary", "tfidf"])
def test_empty_documents_keep_their_rows(mode):
    vec = Vectorizer(VectorizerConfig(mode=mode))
    rows = vec.fit_transform(["", "hello world", "", "  ...  "])
    check_rows(rows, 4)
    assert np.diff(rows.indptr).tolist() == [0, 2, 0, 0]
    assert np.isfinite(rows.data).all()
    assert vec.transform([]).indptr.tolist() == [0]
    assert np.diff(vec.transform(["", "unseen words only", "hello"]).indptr).tolist() == [0, 0, 1]


def test_unseen_terms_are_ignored():
    vec = Vectorizer(VectorizerConfig(ngram_max=2)).fit(["a b", "b c"])
    rows = vec.transform(["a c b zzz"])
    assert {vec.feature_names()[j]: v for j, v in zip(rows.indices, rows.data)} == \
        {"a": 1, "b": 1, "c": 1}


def test_errors():
    with pytest.raises(ValueError, match="empty vocabulary"):
        Vectorizer(VectorizerConfig()).fit(["", "..."])
    with pytest.raises(SeqcliError, match="min_df=3"):  # also a ValueError; the CLI prints one line
        Vectorizer(VectorizerConfig(min_df=3)).fit(["a", "a b"])
    with pytest.raises(ValueError, match="not fitted"):
        Vectorizer(VectorizerConfig()).transform(["a"])
    with pytest.raises(ValueError, match="single string"):
        Vectorizer(VectorizerConfig()).fit("a b c")
    for bad in [dict(analyzer="chars"), dict(mode="tf"), dict(ngram_min=2, ngram_max=1),
                dict(ngram_min=0), dict(min_df=0), dict(max_features=0), dict(hash_bits=0),
                dict(hash_bits=40), dict(hash_bits=8, min_df=2),
                dict(hash_bits=8, max_features=10), dict(lowercase="yes")]:
        with pytest.raises(ValueError):
            VectorizerConfig(**bad)


# --------------------------------------------------------------------------------------------
# hashing trick


HASH_SCRIPT = """
import json, sys
from seqcli.config import VectorizerConfig
from seqcli.features import Vectorizer
rows = Vectorizer(VectorizerConfig(hash_bits=12, ngram_max=2)).transform(json.loads(sys.argv[1]))
print(json.dumps([rows.indptr.tolist(), rows.indices.tolist(), rows.data.tolist(),
                  sorted(m for m in sys.modules if m.split(".")[0] in ("sklearn", "scipy"))]))
"""


def test_hashing_is_stable_across_processes_and_imports_no_sklearn():
    texts = [LECTURE, "", "a b a", "caf\u00e9 \u2019tis"]
    rows = Vectorizer(VectorizerConfig(hash_bits=12, ngram_max=2)).transform(texts)
    mine = [rows.indptr.tolist(), rows.indices.tolist(), rows.data.tolist(), []]
    src = os.path.join(os.path.dirname(__file__), os.pardir, "src")
    for seed in ("1", "2"):  # Python's str hash differs between these; crc32 must not
        env = dict(os.environ, PYTHONHASHSEED=seed,
                   PYTHONPATH=os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]))
        out = subprocess.run([sys.executable, "-c", HASH_SCRIPT, json.dumps(texts)], env=env,
                             capture_output=True, text=True, check=True).stdout
        assert json.loads(out) == mine


def test_hashing_columns_and_collisions():
    vec = Vectorizer(VectorizerConfig(hash_bits=4))
    rows = vec.transform(["movie"])
    assert rows.indices.tolist() == [zlib.crc32(b"movie") % 16] and rows.n_cols == 16
    assert vec.feature_names()[3] == "#3" and len(vec.feature_names()) == 16
    # two different words in the same column: their counts add up
    words = [f"w{i}" for i in range(40)]
    col = {w: zlib.crc32(w.encode()) % 16 for w in words}
    u, v = next((u, v) for u in words for v in words if u < v and col[u] == col[v])
    rows = vec.transform([f"{u} {v} {u}", ""])
    assert rows.indices.tolist() == [col[u]] and rows.data.tolist() == [3.0]
    assert rows.indptr.tolist() == [0, 1, 1]


def test_hashing_tfidf_equals_sklearn_on_hashed_counts():
    from sklearn.feature_extraction.text import TfidfTransformer

    counts = Vectorizer(VectorizerConfig(hash_bits=6, ngram_max=2)).transform(CORPUS)
    vec = Vectorizer(VectorizerConfig(hash_bits=6, ngram_max=2, mode="tfidf"))
    rows = vec.fit_transform(CORPUS)
    expected = TfidfTransformer().fit_transform(counts.to_scipy()).toarray()
    np.testing.assert_allclose(rows.to_scipy().toarray(), expected, rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match="not fitted"):
        Vectorizer(VectorizerConfig(hash_bits=6, mode="tfidf")).transform(["a"])


# --------------------------------------------------------------------------------------------
# n-gram statistics


def test_ngram_stats_by_hand():
    texts = ["a b a", "B a c", ""]
    # unigrams {a, b, c}; bigrams {a b, b a, a c}; trigrams {a b a, b a c}
    assert Vectorizer(VectorizerConfig(ngram_max=3)).ngram_stats(texts) == [(1, 3), (2, 3), (3, 2)]
    assert Vectorizer(VectorizerConfig(ngram_min=2, ngram_max=3)).ngram_stats(iter(texts)) == \
        [(2, 3), (3, 2)]
    # "ABab" lowercased is "abab": chars {a, b}, pairs {ab, ba}, triples {aba, bab}, {abab}
    cfg = VectorizerConfig(analyzer="char", ngram_min=1, ngram_max=4)
    assert Vectorizer(cfg).ngram_stats(["ABab"]) == [(1, 2), (2, 2), (3, 2), (4, 1)]


# --------------------------------------------------------------------------------------------
# state for model files


@pytest.mark.parametrize("cfg", [
    VectorizerConfig(),
    VectorizerConfig(ngram_max=2, mode="tfidf", sublinear_tf=True, min_df=2),
    VectorizerConfig(analyzer="char", ngram_max=3, mode="binary", max_features=30),
    VectorizerConfig(hash_bits=8, mode="tfidf"),
], ids=repr)
def test_state_round_trip_through_npz(cfg, tmp_path):
    vec = Vectorizer(cfg)
    vec.fit(CORPUS)
    header, arrays = vec.to_state()
    assert not any(a.dtype.hasobject for a in arrays.values())
    np.savez(tmp_path / "vec.npz", **arrays)
    with np.load(tmp_path / "vec.npz", allow_pickle=False) as f:
        loaded = {k: f[k] for k in f.files}
    back = Vectorizer.from_state(json.loads(json.dumps(header)), loaded)
    assert back.config == cfg and back.n_docs_ == vec.n_docs_
    assert back.vocabulary_ == vec.vocabulary_
    np.testing.assert_array_equal(back.df_, vec.df_)
    texts = CORPUS + ["new text with long movie", "zz top"]
    for a, b in zip(vec.transform(texts), back.transform(texts)):
        np.testing.assert_array_equal(a, b)


def test_state_keeps_awkward_terms():
    # char n-grams may hold spaces, newlines and NULs (numpy drops a unicode scalar's trailing NULs)
    vec = Vectorizer(VectorizerConfig(analyzer="char", ngram_max=2, lowercase=False))
    vec.fit(["a\nb c\x00", "\u00e9\U0001f600\x00"])
    back = Vectorizer.from_state(*vec.to_state())
    assert back.vocabulary_ == vec.vocabulary_ and "\x00" in back.vocabulary_


def test_state_mismatch_is_a_clear_value_error():
    header, arrays = Vectorizer(VectorizerConfig(ngram_max=2)).fit(CORPUS).to_state()

    def broken(message, header=header, **changes):
        bad = dict(arrays, **changes)
        for k in [k for k, v in changes.items() if v is None]:
            del bad[k]
        with pytest.raises(ValueError, match=message):
            Vectorizer.from_state(header, bad)

    broken("do not match", df=None)
    broken("do not match", idf=np.ones(3))
    broken("'df' should have shape", df=arrays["df"][:-1])
    broken("'df' should have shape", df=arrays["df"].astype(np.float64))
    broken("'vocab_lengths' should have shape", vocab_lengths=arrays["vocab_lengths"][:-1])
    broken("lengths add up", vocab_utf8=arrays["vocab_utf8"][:-3])
    broken("not valid UTF-8", vocab_utf8=np.full_like(arrays["vocab_utf8"], 0xFF))
    terms = unpack_strings(arrays["vocab_utf8"], arrays["vocab_lengths"])
    utf8, lengths = pack_strings([terms[1], terms[0]] + terms[2:])
    broken("unique and sorted", vocab_utf8=utf8, vocab_lengths=lengths)
    broken("not a vectorizer state", header={**header, "format": "other"})
    broken("version 4", header={**header, "version": 4})
    broken("unknown config keys", header={**header, "config": {**header["config"], "x": 1}})
    broken("analyzer", header={**header, "config": {**header["config"], "analyzer": "byte"}})
    broken("n_docs", header={**header, "n_docs": -1})


# --------------------------------------------------------------------------------------------
# writers


def test_write_jsonl_orders_keys_by_first_occurrence_and_rounds_tfidf():
    vec = Vectorizer(VectorizerConfig(ngram_max=2))
    rows = vec.fit_transform(["b a b", "", "Caf\u00e9"])
    out = io.StringIO()
    write_jsonl(rows, vec.feature_names(), out)
    assert out.getvalue() == ('{"b": 2, "a": 1, "b a": 1, "a b": 1}\n{}\n'
                              '{"caf\u00e9": 1}\n')
    out = io.StringIO()
    write_jsonl(rows._replace(first_seen=None), vec.feature_names(), out)  # column order
    assert out.getvalue().splitlines()[0] == '{"a": 1, "a b": 1, "b": 2, "b a": 1}'

    vec = Vectorizer(VectorizerConfig(mode="tfidf"))
    rows = vec.fit_transform(["x y", "y", ""])  # idf(x) = ln(4/2) + 1, idf(y) = ln(4/3) + 1
    out = io.StringIO()
    write_jsonl(rows, vec.feature_names(), out)
    ix, iy = np.log(2) + 1, np.log(4 / 3) + 1
    wx, wy = ix / np.hypot(ix, iy), iy / np.hypot(ix, iy)
    # all values of a non-integral matrix print as floats, even a lone 1.0
    assert out.getvalue() == f'{{"x": {wx:.6f}, "y": {wy:.6f}}}\n{{"y": 1.0}}\n{{}}\n'
    # a one-line tf-idf batch of whole numbers prints ints unless told otherwise (streaming)
    for integers, line in [(None, '{"y": 1}'), (False, '{"y": 1.0}')]:
        out = io.StringIO()
        write_jsonl(vec.transform(["y"]), vec.feature_names(), out, integers=integers)
        assert out.getvalue() == line + "\n"


def test_write_svmlight_exact_text_and_sklearn_reads_it():
    from sklearn.datasets import load_svmlight_file

    vec = Vectorizer(VectorizerConfig())
    rows = vec.fit_transform(["b a b", "", "c"])
    out = io.StringIO()
    write_svmlight(rows, out)
    assert out.getvalue() == "0 1:1 2:2\n0\n0 3:1\n"
    out = io.StringIO()
    write_svmlight(rows, out, labels=[3, -1, np.int64(7)])
    assert out.getvalue() == "3 1:1 2:2\n-1\n7 3:1\n"

    rows = Vectorizer(VectorizerConfig(mode="tfidf", ngram_max=2)).fit_transform(CORPUS)
    out = io.StringIO()
    write_svmlight(rows, out, labels=list(range(len(CORPUS))))
    X, y = load_svmlight_file(io.BytesIO(out.getvalue().encode()), zero_based=False,
                              n_features=rows.n_cols)
    np.testing.assert_array_equal(X.toarray().astype(np.float32), rows.to_scipy().toarray())
    assert y.tolist() == list(range(len(CORPUS)))

    with pytest.raises(ValueError, match="labels for"):
        write_svmlight(rows, io.StringIO(), labels=[1])
    with pytest.raises(ValueError, match="whitespace"):
        write_svmlight(rows, io.StringIO(), labels=["a b"] * len(CORPUS))


def test_write_npz_reads_back_with_scipy(tmp_path):
    from scipy.sparse import load_npz

    rows = Vectorizer(VectorizerConfig(mode="tfidf")).fit_transform(CORPUS)
    write_npz(rows, tmp_path / "x.npz")
    back = load_npz(tmp_path / "x.npz")
    assert back.shape == rows.shape
    np.testing.assert_array_equal(back.toarray(), rows.to_scipy().toarray())


def test_sparse_rows_from_plain_arrays():
    rows = SparseRows(np.array([0, 2, 2]), np.array([0, 3], dtype=np.int32),
                      np.array([1.0, 2.0], dtype=np.float32), 4)
    assert rows.first_seen is None and rows.shape == (2, 4)
    np.testing.assert_array_equal(rows.to_scipy().toarray(), [[1, 0, 0, 2], [0, 0, 0, 0]])


def test_a_vectorizer_file_of_seqcli_0_1_is_still_checked_when_damaged():
    """0.1 stored the vocabulary as one unicode text plus offsets (state version 1)."""
    from pathlib import Path

    from seqcli import persist

    header, arrays = persist.load_model(Path(__file__).parent / "fixtures" / "v0.1.0" / "vec.npz")
    state = header["vectorizer"]
    assert state["version"] == 1 and len(Vectorizer.from_state(state, arrays).vocabulary_) == 464

    def broken(message, **changes):
        with pytest.raises(ValueError, match=message):
            Vectorizer.from_state(state, dict(arrays, **changes))

    broken("'vocab_offsets' should have shape", vocab_offsets=arrays["vocab_offsets"][:-1])
    broken("start at 0 and increase", vocab_offsets=arrays["vocab_offsets"][::-1].copy())
    broken("vocab_text length", vocab_text=np.array("short"))


def test_word_trigrams_come_from_the_words_alone_and_a_version_2_state_keeps_its_old_ngrams(monkeypatch):
    from seqcli.features import vectorizer as module

    cfg = VectorizerConfig(ngram_max=3, mode="counts")
    assert module._analyze("a b c d", cfg) == ["a", "b", "c", "d", "a b", "b c", "c d", "a b c", "b c d"]
    # what seqcli made before state version 3: trigrams across the unigrams and bigrams appended before
    assert module._analyze("a b c d", cfg, legacy=True)[7:] == ["a b c", "b c d", "c d a b", "d a b b c",
                                                                "a b b c c d"]
    vec = Vectorizer(cfg).fit(["a b c d", "b c d e"])
    header, arrays = vec.to_state()
    assert header["version"] == 3 and "c d a b" not in vec.vocabulary_ and "b c d" in vec.vocabulary_
    assert not Vectorizer.from_state(header, arrays).legacy_grams
    old = Vectorizer.from_state({**header, "version": 2}, arrays)
    assert old.legacy_grams
    seen = []
    real = module._analyze
    monkeypatch.setattr(module, "_analyze", lambda text, c, legacy=False: seen.append(legacy) or real(text, c, legacy))
    assert old.transform(["a b c d"]).indices.tolist() == vec.transform(["a b c d"]).indices.tolist()
    assert seen == [True]   # the old model's n-grams (the new one's batch path does not call _analyze)
    assert not Vectorizer.from_state({**header, "version": 2, "config": {**header["config"], "ngram_max": 2}},
                                     arrays).legacy_grams
