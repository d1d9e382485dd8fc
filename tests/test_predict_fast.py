"""predict's batch-at-once paths give what the line-by-line code gave, byte for byte.

The reference here is the code the batch paths replaced, kept as an oracle: ``_analyze`` text by text
for the features, ``format_prediction`` row by row for the output lines, and a whole-input decode cut
line by line for the reading. Each is compared on inputs made to hit the edges: CRLF cut between two
reads, bytes that are not UTF-8, NUL, empty lines, a last line without LF, Unicode whose lower case
depends on its neighbours, apostrophes, n-grams at the border of two texts."""

import io
import re

import numpy as np
import pytest

from conftest import csv_text, run_seqcli, separable_rows
from seqcli import models
from seqcli.config import VectorizerConfig
from seqcli.features import Vectorizer
from seqcli.features.vectorizer import _analyze, _count
from seqcli.predictions import format_prediction, format_predictions
from seqcli.stream import BadLines, line_batches

TEXTS = ["the film was good", "", "not good , not bad", "ΟΔΟΣ ΣΑΣ Σ. İstanbul", "don't ''stop'' it's o’clock 'x",
         "snake_case 42 a1 __", "good good good bad", "one", "a\nb two", "  \t spaces\taround  ", "good bad",
         "ends with a word", "bad", "the film was good"]


def _reference_rows(vec, texts):
    """What ``transform`` gave before the batch path: the n-grams of each text by ``_analyze``."""
    get = vec.vocabulary_.get
    cols, lengths = [], []
    for text in texts:
        ids = [get(g, -1) for g in _analyze(text, vec.config)]
        cols += ids
        lengths.append(len(ids))
    return vec._weight(_count(np.array(cols, dtype=np.int64), lengths, len(vec.vocabulary_)))


@pytest.mark.parametrize("settings", [dict(), dict(ngram_max=2), dict(ngram_min=2, ngram_max=3, mode="binary"),
                                      dict(ngram_max=2, lowercase=False, mode="counts"),
                                      dict(ngram_max=2, sublinear_tf=True), dict(ngram_max=3)])
def test_transform_of_a_batch_gives_each_texts_rows_as_the_text_by_text_analyzer(settings):
    vec = Vectorizer(VectorizerConfig(**settings)).fit(TEXTS + ["two good", "good bad two"])
    texts = TEXTS * 3 + ["unseen words only", "good two"]
    got, want = vec.transform(texts), _reference_rows(vec, texts)
    assert got.indptr.tolist() == want.indptr.tolist() and got.n_cols == want.n_cols
    assert got.indices.tolist() == want.indices.tolist()
    assert got.data.tobytes() == want.data.tobytes()
    assert got.indptr[-1] > 3 * len(TEXTS)   # the texts have features: not vacuously equal
    for a, b in zip(got.indptr[:-1], got.indptr[1:]):   # write_jsonl's key order: where terms first occur
        assert np.argsort(got.first_seen[a:b]).tolist() == np.argsort(want.first_seen[a:b]).tolist()
    one_by_one = [vec.transform([t]) for t in texts]   # no n-gram runs from one text into the next
    assert [r.indices.tolist() for r in one_by_one] == [
        got.indices[a:b].tolist() for a, b in zip(got.indptr[:-1], got.indptr[1:])]


CLASSES = ["neg", "pos", "100%", "{x}", 'say "hi"', "ünï"]


@pytest.mark.parametrize("as_json, proba", [(False, False), (False, True), (True, False)])
def test_format_predictions_writes_each_row_as_format_prediction(as_json, proba):
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(len(CLASSES)), size=300).astype(np.float32)   # (300, 6)
    probs[0] = probs[0, 0]            # a tie: the first largest wins
    probs[1] = np.nan                 # a damaged model's row
    probs[2, :] = [0.00005, 0.99995, 0, 0, 0, 0]   # at the edge of 4-digit rounding
    want = [format_prediction(CLASSES, row, as_json, proba) for row in probs]
    assert format_predictions(CLASSES, probs, as_json, proba) == want
    assert len(set(want)) > 250


def _reference_lines(data, errors):
    """The input's lines as the line-by-line reader gave them (None for a strict run that fails)."""
    text = data.decode("utf-8", "surrogateescape")
    lines = [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]
    if lines[-1] == "":
        lines.pop()
    bad = re.compile("[\x00\udc80-\udcff]")
    if errors == "strict":
        return None if any(bad.search(line) for line in lines) else lines
    return [("" if errors == "skip" else bad.sub("\ufffd", line)) if bad.search(line) else line for line in lines]


DATA = (b"good film\r\n\r\nbad\xff film\r\n" + b"x" * 40 + b"\r\n" + b"nul\x00 here\n" + "ΟΔΟΣ’s\r\n".encode()
        + b"cut \xe2\x80\n" + b"\n".join(b"line %d\r" % i for i in range(50)) + b"\nno newline at the end")


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 1 << 16])
@pytest.mark.parametrize("errors", ["replace", "skip"])
def test_line_batches_give_every_line_once_in_order_whatever_the_reads(chunk, errors):
    bad = BadLines(errors)
    batches = list(line_batches(io.BytesIO(DATA), "in.txt", max_batch=16, chunk=chunk, bad=bad))
    assert [line for batch in batches for line in batch] == _reference_lines(DATA, errors)
    assert all(len(b) == 16 for b in batches[:-1]) and 0 < len(batches[-1]) <= 16
    assert bad.lines == [3, 5, 7]


def test_clean_input_reads_the_same_under_strict():
    clean = DATA.replace(b"\xff", b"").replace(b"\x00", b"").replace(b"\xe2\x80\n", b"\n")
    got = [line for batch in line_batches(io.BytesIO(clean), "in.txt", max_batch=5, chunk=3) for line in batch]
    assert got == _reference_lines(clean, "strict") and len(got) == 58


@pytest.fixture(scope="module")
def bigram_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bigram")
    (folder / "d.csv").write_text(csv_text(separable_rows(60)), encoding="utf-8")
    rc, _, err = run_seqcli(["train", folder / "d.csv", "--model", "bow", "--ngrams", "1:2", "-o",
                             folder / "m.npz", "--epochs", "3", "--quiet"])
    assert rc == 0, err
    return folder / "m.npz"


def _expected(model_path, data, errors, as_json=False, proba=False):
    """predict's output for ``data``: each line scored alone and formatted by format_prediction."""
    model = models.load(str(model_path))
    lines = _reference_lines(data, errors)
    return "".join(format_prediction(model.classes, model.predict_proba([t])[0], as_json, proba) + "\n"
                   for t in lines)


INPUT = (b"good great film\r\nbad awful\r\n\r\n" + b"fine \xff nice\n" + b"dull\x00boring\n"
         + b"".join(b"%s %s film\n" % (a, b) for a in (b"good", b"bad", b"ugly", b"nice") for b in (b"fine", b"dull"))
         * 90 + b"last lovely line")


@pytest.mark.parametrize("options", [[], ["--json"], ["--proba"], ["--jobs", "2"], ["--errors", "skip"],
                                     ["--proba", "--errors", "skip", "--jobs", "2"]])
def test_predict_writes_each_lines_own_prediction_in_order(tiny_model, tmp_path, options):
    path = tmp_path / "in.txt"
    path.write_bytes(INPUT)
    errors = options[options.index("--errors") + 1] if "--errors" in options else "replace"
    rc, out, err = run_seqcli(["predict", tiny_model, path, *options])
    assert rc == 0, err
    assert out == _expected(tiny_model, INPUT, errors, "--json" in options, "--proba" in options)
    assert len(out.splitlines()) == 726 and "2 lines held bytes" in err


def test_predict_of_a_bigram_model_from_stdin_and_strict(bigram_model, tmp_path):
    rc, out, err = run_seqcli(["predict", bigram_model, "-", "--proba"], input=INPUT)
    assert rc == 0, err
    assert out == _expected(bigram_model, INPUT, "replace", proba=True) and len(out.splitlines()) == 726
    rc, out, err = run_seqcli(["predict", bigram_model, "-", "--errors", "strict"], input=INPUT)
    assert rc == 1 and out == ""   # the first read already holds the bad byte: it stops before any answer
    assert "line 4" in err and "Traceback" not in err


def test_jobs_n_is_a_plain_predict_call_and_a_value_typer_would_refuse_is_left_to_typer(tiny_model):
    from seqcli.cli.quick import parse

    assert parse(["predict", "m.npz", "--jobs", "1"]) == {"model": "m.npz", "jobs": 1}
    assert parse(["predict", "--jobs", "256", "m.npz", "-", "--json"]) == {"model": "m.npz", "input": "-",
                                                                         "jobs": 256, "as_json": True}
    for value in (["0"], ["257"], ["x"], ["-1"], ["-"], ["\u0663"], [], ["1", "--jobs", "2"]):
        assert parse(["predict", "m.npz", "--jobs", *value]) is None, value
    assert parse(["predict", "m.npz", "--jobs=2"]) is None
    rc, out, err = run_seqcli(["predict", tiny_model, "--jobs", "0"], input="good\n")
    assert rc == 2 and out == "" and "--jobs" in err and "Traceback" not in err
