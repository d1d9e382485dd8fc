"""The command line as a user meets it: vectorize, train, predict, errors (issue 2).

Every command runs in a subprocess (``python -m seqcli``), so these tests see exactly what a shell
sees: stdout, stderr and the exit code.
"""

import json
import math
import re
import zipfile
import zlib

import numpy as np
import pytest

from conftest import SAMPLE_REVIEWS, csv_text, run_seqcli, separable_rows

TSV_LINE = re.compile(r"^(?P<label>[^\t]+)\t(?P<p>[01]\.\d{4})$")


def jsonl(text):
    return [json.loads(line) for line in text.splitlines()]


def assert_one_line_error(rc, out, err, *, rc_expected=1, mentions=()):
    """An expected failure: exit code, nothing on stdout, exactly one 'seqcli: error:' line."""
    assert rc == rc_expected, (rc, err)
    assert "Traceback" not in err
    assert "internal error" not in err, err
    lines = err.strip("\n").split("\n")
    assert len(lines) == 1, err
    assert lines[0].startswith("seqcli: error: "), err
    for word in mentions:
        assert str(word) in lines[0], (word, err)
    assert out == ""


# -------------------------------------------------------------------------------------- vectorize

def test_vectorize_lecture_example(seqcli):
    rc, out, err = seqcli(["vectorize"], input="The movie was not long but interesting.\n")
    assert rc == 0, err
    assert err == ""
    assert json.loads(out) == {"the": 1, "movie": 1, "was": 1, "not": 1, "long": 1, "but": 1,
                               "interesting": 1}
    assert out.count("\n") == 1


def test_vectorize_one_line_out_per_line_in_including_empty_and_unterminated(seqcli):
    rc, out, err = seqcli(["vectorize", "-"], input="a b\n\nb c c\r\n\nc")
    assert rc == 0, err
    assert jsonl(out) == [{"a": 1, "b": 1}, {}, {"b": 1, "c": 2}, {}, {"c": 1}]


def test_vectorize_reads_a_file_argument(seqcli, tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("a b\n\nb c c\n", encoding="utf-8")
    rc, out, err = seqcli(["vectorize", path])
    assert rc == 0, err
    assert jsonl(out) == [{"a": 1, "b": 1}, {}, {"b": 1, "c": 2}]


def test_vectorize_binary_mode(seqcli_inproc):
    rc, out, err = seqcli_inproc(["vectorize", "--mode", "binary"], input="a b\n\nb c c\n")
    assert rc == 0, err
    assert jsonl(out) == [{"a": 1, "b": 1}, {}, {"b": 1, "c": 1}]


def test_vectorize_tfidf_is_smooth_idf_with_unit_rows(seqcli_inproc):
    rc, out, err = seqcli_inproc(["vectorize", "--mode", "tfidf"], input="a b\n\nb c c\n")
    assert rc == 0, err
    rows = jsonl(out)
    n = 3
    idf = {t: math.log((1 + n) / (1 + df)) + 1 for t, df in {"a": 1, "b": 2, "c": 1}.items()}

    def unit(d):
        norm = math.sqrt(sum(v * v for v in d.values()))
        return {k: v / norm for k, v in d.items()}

    expected = [unit({"a": idf["a"], "b": idf["b"]}), {}, unit({"b": idf["b"], "c": 2 * idf["c"]})]
    assert [set(r) for r in rows] == [set(e) for e in expected]
    for got, want in zip(rows, expected):
        for key in want:
            assert got[key] == pytest.approx(want[key], abs=2e-6)


def test_vectorize_word_ngrams(seqcli_inproc):
    rc, out, err = seqcli_inproc(["vectorize", "--ngrams", "1:2"], input="a b\n\nb c c\n")
    assert rc == 0, err
    assert jsonl(out) == [{"a": 1, "b": 1, "a b": 1}, {}, {"b": 1, "c": 2, "b c": 1, "c c": 1}]
    rc, out, err = seqcli_inproc(["vectorize", "--ngrams", "2"], input="a b\nb c c\n")
    assert rc == 0, err
    assert jsonl(out) == [{"a b": 1}, {"b c": 1, "c c": 1}]


def test_vectorize_char_ngrams_keep_spaces(seqcli_inproc):
    rc, out, err = seqcli_inproc(["vectorize", "--analyzer", "char", "--ngrams", "2:2"], input="ab ab\n")
    assert rc == 0, err
    assert jsonl(out) == [{"ab": 2, "b ": 1, " a": 1}]


def test_vectorize_hashing_uses_crc32_columns(seqcli_inproc):
    rc, out, err = seqcli_inproc(["vectorize", "--hash-bits", "4"], input="a b\n\nb c c\n")
    assert rc == 0, err

    def col(term):
        return f"#{zlib.crc32(term.encode()) & 15}"

    expected_last = {}
    for term in ["b", "c", "c"]:
        expected_last[col(term)] = expected_last.get(col(term), 0) + 1
    rows = jsonl(out)
    assert col("a") != col("b")  # crc32: a -> #3, b -> #9
    assert rows[0] == {col("a"): 1, col("b"): 1}
    assert rows[1] == {}
    assert rows[2] == expected_last


def test_vectorize_hashing_refuses_min_df(seqcli_inproc):
    rc, out, err = seqcli_inproc(["vectorize", "--hash-bits", "4", "--min-df", "2"], input="a\n")
    assert rc in (1, 2)
    assert "Traceback" not in err and "--min-df" in err


def test_vectorize_hash_bits_beyond_the_supported_range_is_a_usage_error(seqcli_inproc):
    # --help promises --hash-bits up to 30, the vectorizer accepts up to 24: a bad value is a
    # usage error (exit 2), not a runtime failure
    rc, out, err = seqcli_inproc(["vectorize", "--hash-bits", "25"], input="a\n")
    assert rc == 2, (rc, err)


def test_vectorize_min_df_and_max_features(seqcli_inproc):
    rc, out, err = seqcli_inproc(["vectorize", "--min-df", "2"], input="a b\na\nb c c\n")
    assert rc == 0, err
    assert jsonl(out) == [{"a": 1, "b": 1}, {"a": 1}, {"b": 1}]
    # totals: b 3, c 2, a 1 -> keep b
    rc, out, err = seqcli_inproc(["vectorize", "--max-features", "1"], input="a b\nb\nb c c\n")
    assert rc == 0, err
    assert jsonl(out) == [{"b": 1}, {"b": 1}, {"b": 1}]


def test_vectorize_min_df_leaving_nothing_is_one_line_error(seqcli_inproc):
    rc, out, err = seqcli_inproc(["vectorize", "--min-df", "5"], input="a\nb\n")
    assert_one_line_error(rc, out, err, mentions=["min_df"])


def test_vectorize_vocab_lists_terms_with_document_frequency(seqcli_inproc):
    rc, out, err = seqcli_inproc(["vectorize", "--vocab"], input="a b\n\nb c c\n")
    assert rc == 0, err
    assert out == "a\t1\nb\t2\nc\t1\n"
    rc, out, err = seqcli_inproc(["vectorize", "--vocab", "--json"], input="a b\n\nb c c\n")
    assert rc == 0, err
    assert jsonl(out) == [{"token": "a", "df": 1}, {"token": "b", "df": 2}, {"token": "c", "df": 1}]


def test_vectorize_stats_counts_distinct_ngrams_per_order(seqcli_inproc):
    rc, out, err = seqcli_inproc(["vectorize", "--stats", "--ngrams", "1:3"], input="a b\n\nb c c\n")
    assert rc == 0, err
    assert out == "1-grams\t3\n2-grams\t3\n3-grams\t1\n"


def test_vectorize_svmlight_is_one_based_and_loadable(seqcli_inproc, tmp_path):
    rc, out, err = seqcli_inproc(["vectorize", "--format", "svmlight"], input="a b\n\nb c c\n")
    assert rc == 0, err
    assert out == "0 1:1 2:1\n0\n0 2:1 3:2\n"
    from sklearn.datasets import load_svmlight_file

    path = tmp_path / "v.svm"
    path.write_text(out)
    X, y = load_svmlight_file(str(path), zero_based=False, n_features=3)
    assert X.toarray().tolist() == [[1, 1, 0], [0, 0, 0], [0, 1, 2]]


def test_vectorize_npz_output_loads_with_scipy(seqcli, tmp_path):
    from scipy.sparse import load_npz

    out_path = tmp_path / "x.npz"
    rc, out, err = seqcli(["vectorize", "--format", "npz", "-o", out_path], input="a b\n\nb c c\n")
    assert rc == 0, err
    assert out == ""
    X = load_npz(out_path)
    assert X.shape == (3, 3)
    assert X.toarray().tolist() == [[1, 1, 0], [0, 0, 0], [0, 1, 2]]


def test_vectorize_save_then_load_gives_identical_output(seqcli, tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("a b\nb c c\nthe cat sat\nthe dog sat down\n", encoding="utf-8")
    docs = "a z\n\nthe cat\nc c dog\n"
    vec = tmp_path / "vec.npz"
    rc, out1, err = seqcli(["vectorize", "--fit", corpus, "--mode", "tfidf", "--ngrams", "1:2",
                            "--save", vec], input=docs)
    assert rc == 0, err
    assert vec.exists()
    assert len(out1.splitlines()) == 4
    rc, out2, err = seqcli(["vectorize", "--load", vec], input=docs)
    assert rc == 0, err
    assert out2 == out1


def test_vectorize_fit_corpus_fixes_the_vocabulary(seqcli_inproc, tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("a b\nb c c\n", encoding="utf-8")
    rc, out, err = seqcli_inproc(["vectorize", "--fit", corpus], input="a z\n\nc\n")
    assert rc == 0, err
    assert jsonl(out) == [{"a": 1}, {}, {"c": 1}]  # z is not in the corpus
    rc, out, err = seqcli_inproc(["vectorize", "--fit", corpus, "--vocab"], input="zzz\n")
    assert out == "a\t1\nb\t2\nc\t1\n"


def test_vectorize_load_refuses_a_classifier_file(seqcli_inproc, tiny_model):
    rc, out, err = seqcli_inproc(["vectorize", "--load", tiny_model], input="a\n")
    assert_one_line_error(rc, out, err, mentions=[tiny_model.name, "vectorizer"])


def test_vectorize_missing_input_file(seqcli, tmp_path):
    rc, out, err = seqcli(["vectorize", tmp_path / "nope.txt"])
    assert_one_line_error(rc, out, err, mentions=["nope.txt"])


def test_vectorize_invalid_utf8_names_the_line(seqcli_inproc):
    rc, out, err = seqcli_inproc(["vectorize", "--errors", "strict"], input=b"fine\n\xff\xfe bad\n")
    assert_one_line_error(rc, out, err, mentions=["line 2"])


# ------------------------------------------------------------------------------------------ train

@pytest.fixture(scope="module")
def reviews_run(tmp_path_factory):
    """seqcli train sample_data/reviews.csv --ngrams 1:2 --epochs 2 --json (once per module)."""
    folder = tmp_path_factory.mktemp("reviews")
    path = folder / "m.npz"
    rc, out, err = run_seqcli(["train", SAMPLE_REVIEWS, "-o", path, "--ngrams", "1:2",
                               "--epochs", "2", "--seed", "3", "--json"])
    return folder, path, rc, out, err


def test_train_writes_model_and_json_summary(reviews_run):
    folder, path, rc, out, err = reviews_run
    assert rc == 0, err
    assert path.exists() and path.stat().st_size > 0
    summary = json.loads(out)  # stdout is one JSON document and nothing else
    assert summary["classes"] == ["neg", "pos"]
    assert summary["n_train"] + summary["n_val"] == 4000
    assert summary["n_val"] == 400  # default --val-split 0.1
    assert summary["evaluated_on"] == "validation"
    metrics = summary["metrics"]
    assert 0.5 < metrics["accuracy"] <= 1
    assert 0 <= metrics["macro_f1"] <= 1
    assert [row["class"] for row in metrics["per_class"]] == ["neg", "pos"]
    assert np.asarray(metrics["confusion"]).sum() == 400
    assert sum(row["support"] for row in metrics["per_class"]) == 400
    assert summary["epochs_run"] == 2
    # no temporary files left next to the model, no checkpoint after a finished run
    assert sorted(p.name for p in folder.iterdir()) == ["m.npz"]


def test_train_progress_is_one_plain_line_per_epoch_on_stderr(reviews_run):
    _, _, rc, out, err = reviews_run
    assert rc == 0, err
    epoch_lines = [line for line in err.splitlines() if line.startswith("epoch ")]
    assert len(epoch_lines) == 2
    assert re.match(r"^epoch 1/2  loss \d+\.\d{4}  val_loss \d+\.\d{4}  val_acc \d\.\d{4}", epoch_lines[0])
    assert epoch_lines[1].startswith("epoch 2/2  ")
    assert "\x1b[" not in err  # no colour / cursor codes when stderr is not a terminal


def test_same_seed_gives_byte_identical_model(reviews_run, tmp_path):
    _, path, rc, _, err = reviews_run
    assert rc == 0, err
    again = tmp_path / "again.npz"
    rc, out, err = run_seqcli(["train", SAMPLE_REVIEWS, "-o", again, "--ngrams", "1:2",
                               "--epochs", "2", "--seed", "3", "--quiet"])
    assert rc == 0, err
    assert again.read_bytes() == path.read_bytes()


def test_train_quiet_is_silent(tiny_model_run):
    path, rc, out, err = tiny_model_run
    assert rc == 0
    assert (out, err) == ("", "")
    assert path.exists()


def test_train_reports_skipped_rows_with_line_numbers(seqcli, write_csv, tmp_path):
    rows = [("good movie", "pos"), ("", "neg"), ("bad movie", ""), *separable_rows(20)]
    data = write_csv(rows)
    model = tmp_path / "m.npz"
    rc, out, err = seqcli(["train", data, "-o", model, "--epochs", "2"])
    assert rc == 0, err
    assert out == ""  # without --json, stdout stays empty: the report goes to stderr
    assert "accuracy" in err and "epoch 2/2" in err
    note = [line for line in err.splitlines() if line.startswith("seqcli: skipped")]
    assert len(note) == 1, err
    assert "2 of 23" in note[0] and "line 3" in note[0] and "line 4" in note[0]
    with np.load(model, allow_pickle=False) as z:
        header = json.loads(str(z["__header__"][()]))
    assert header["training"]["skipped_rows"] == 2


def test_train_with_no_usable_rows_fails_in_one_line(seqcli_inproc, write_csv, tmp_path):
    data = write_csv([("", "neg"), ("bad movie", "")])
    rc, out, err = seqcli_inproc(["train", data, "-o", tmp_path / "m.npz", "--epochs", "2"])
    assert_one_line_error(rc, out, err, mentions=[data.name, "line 2", "line 3"])
    assert not (tmp_path / "m.npz").exists()


def test_train_with_one_class_fails_in_one_line(seqcli_inproc, write_csv, tmp_path):
    data = write_csv([("a", "x"), ("b", "x")])
    rc, out, err = seqcli_inproc(["train", data, "-o", tmp_path / "m.npz"])
    assert_one_line_error(rc, out, err, mentions=["two classes"])


def test_train_missing_data_file(seqcli, tmp_path):
    rc, out, err = seqcli(["train", tmp_path / "nope.csv", "-o", tmp_path / "m.npz"])
    assert_one_line_error(rc, out, err, mentions=["nope.csv"])


def test_train_data_is_a_directory(seqcli_inproc, tmp_path):
    rc, out, err = seqcli_inproc(["train", tmp_path, "-o", tmp_path / "m.npz"])
    assert_one_line_error(rc, out, err, mentions=[str(tmp_path)])


def test_train_output_in_a_missing_folder(seqcli_inproc, tiny_csv, tmp_path):
    rc, out, err = seqcli_inproc(["train", tiny_csv, "-o", tmp_path / "no" / "m.npz", "--epochs", "1",
                                  "--quiet"])
    assert_one_line_error(rc, out, err, mentions=["m.npz"])


def test_train_reads_stdin(seqcli_inproc, tmp_path):
    rc, out, err = seqcli_inproc(["train", "-", "-o", tmp_path / "m.npz", "--epochs", "2", "--json",
                                  "--quiet"], input=csv_text(separable_rows(30)))
    assert rc == 0, err
    summary = json.loads(out)
    assert summary["n_train"] + summary["n_val"] == 30


@pytest.mark.parametrize("option", [
    ["--hidden", "0"], ["--epochs", "-1"], ["--epochs", "0"], ["--lr", "nan"], ["--lr", "0"],
    ["--lr", "-0.1"], ["--lr", "inf"], ["--dropout", "1"], ["--val-split", "0.95"],
    ["--ngrams", "2:1"], ["--model", "cnn"],
    ["--optimizer", "rmsprop"], ["--class-weight", "heavy"],
])
def test_bad_option_values_are_usage_errors(seqcli_inproc, tiny_csv, tmp_path, option):
    rc, out, err = seqcli_inproc(["train", tiny_csv, "-o", tmp_path / "m.npz", *option])
    assert rc == 2, (rc, err)
    assert "Traceback" not in err and "internal error" not in err
    assert option[0] in err
    assert out == ""
    assert not (tmp_path / "m.npz").exists()


# ---------------------------------------------------------------------------------------- predict

def test_predict_one_line_per_input_line_including_empty(seqcli, tiny_model):
    text = "the film was good and great\n\nawful and bad\n\n"
    rc, out, err = seqcli(["predict", tiny_model], input=text)
    assert rc == 0, err
    assert err == ""
    lines = out.split("\n")
    assert lines[-1] == ""
    lines = lines[:-1]
    assert len(lines) == 4
    parsed = [TSV_LINE.match(line) for line in lines]
    assert all(parsed), lines
    assert parsed[0]["label"] == "pos" and parsed[2]["label"] == "neg"
    assert all(0.5 <= float(m["p"]) <= 1 for m in parsed)
    # an empty line predicts like an empty text, the same both times
    assert lines[1] == lines[3]


def test_predict_last_line_without_newline_counts(seqcli, tiny_model):
    rc, out, err = seqcli(["predict", tiny_model], input="good\nbad")
    assert rc == 0, err
    assert len(out.splitlines()) == 2


def test_predict_json_lines(seqcli_inproc, tiny_model):
    rc, out, err = seqcli_inproc(["predict", tiny_model, "--json"], input="good great\n\nawful bad\n")
    assert rc == 0, err
    rows = jsonl(out)
    assert len(rows) == 3
    for row in rows:
        assert set(row) == {"label", "probs"}
        assert set(row["probs"]) == {"neg", "pos"}
        assert sum(row["probs"].values()) == pytest.approx(1, abs=1e-5)
        assert row["label"] == max(row["probs"], key=row["probs"].get)
    assert rows[0]["label"] == "pos" and rows[2]["label"] == "neg"


def test_predict_proba_adds_class_columns(seqcli_inproc, tiny_model):
    rc, out, err = seqcli_inproc(["predict", tiny_model, "--proba"], input="good great\nawful bad\n")
    assert rc == 0, err
    for line in out.splitlines():
        label, p, *cols = line.split("\t")
        assert [c.split("=")[0] for c in cols] == ["neg", "pos"]
        probs = {c.split("=")[0]: float(c.split("=")[1]) for c in cols}
        assert all(re.fullmatch(r"[01]\.\d{4}", c.split("=")[1]) for c in cols)
        assert sum(probs.values()) == pytest.approx(1, abs=2e-4)
        assert probs[label] == float(p) == max(probs.values())


def test_predict_agrees_with_itself_across_formats(seqcli_inproc, tiny_model):
    text = "good great\nawful bad\nthe film\n"
    _, tsv, _ = seqcli_inproc(["predict", tiny_model], input=text)
    _, js, _ = seqcli_inproc(["predict", tiny_model, "--json"], input=text)
    for line, row in zip(tsv.splitlines(), jsonl(js)):
        label, p = line.split("\t")
        assert label == row["label"]
        assert float(p) == pytest.approx(row["probs"][label], abs=5e-5)


def test_predict_csv_input_uses_its_text_column(seqcli, tiny_model, write_csv, tmp_path):
    texts = ['the film was "good", and great', "awful, bad\nand boring", "fine"]
    data = write_csv([(str(i), t) for i, t in enumerate(texts)], name="in.csv", header=("id", "review"))
    rc, out, err = seqcli(["predict", tiny_model, data])
    assert rc == 0, err
    # the same texts as plain lines (newline inside a text replaced by a space: same tokens)
    _, expected, _ = seqcli(["predict", tiny_model], input="".join(t.replace("\n", " ") + "\n" for t in texts))
    assert out == expected
    rc, out2, err = seqcli(["predict", tiny_model, data, "--text-col", "1"])
    assert rc == 0, err
    assert out2 == expected


def test_predict_csv_output_stays_aligned_with_rows_that_have_empty_text(seqcli, tiny_model, write_csv):
    # One row in, one line out: an empty text in a CSV should give a line like an empty text line,
    # or scripts that paste predictions next to the rows go out of step.
    data = write_csv([("1", "good great"), ("2", ""), ("3", "awful bad")], name="in.csv",
                     header=("id", "text"))
    rc, out, err = seqcli(["predict", tiny_model, data])
    assert rc == 0, err
    assert len(out.splitlines()) == 3, (out, err)


def test_predict_into_head_ends_quietly(shell, tiny_model, tmp_path):
    big = tmp_path / "big.txt"
    big.write_text("the film was good and great\nawful and bad\n" * 40000, encoding="utf-8")
    rc, out, err = shell(f'$SEQCLI predict "{tiny_model}" < "{big}" | head -1')
    assert rc == 0, err
    assert err == ""
    assert TSV_LINE.match(out.rstrip("\n")) and out.count("\n") == 1
    rc, out, err = shell(f'$SEQCLI predict "{tiny_model}" "{big}" --json | head -2')
    assert rc == 0, err
    assert err == ""
    assert len(jsonl(out)) == 2


def test_predict_does_not_import_sklearn_or_scipy(tiny_model, tmp_path):
    import subprocess
    import sys

    one = tmp_path / "one.txt"
    one.write_text("good\n")
    code = ("import sys\n"
            f"sys.argv = ['seqcli', 'predict', {str(tiny_model)!r}, {str(one)!r}]\n"
            "from seqcli.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'scipy', 'rich'))\n"
            "print('HEAVY', heavy, file=sys.stderr)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "HEAVY []" in proc.stderr, proc.stderr


# --------------------------------------------------------------------------------- bad model files

def _model_arrays(path):
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(str(arrays["__header__"][()]))
    return header, arrays


def _rewrite(src, dst, **changes):
    header, arrays = _model_arrays(src)
    header.update(changes)
    arrays["__header__"] = np.array(json.dumps(header))
    np.savez(dst, **arrays)


def _make_bad(kind, tiny_model, tmp_path, seqcli):
    path = tmp_path / f"{kind}.npz"
    data = tiny_model.read_bytes()
    if kind == "missing":
        pass
    elif kind == "directory":
        path.mkdir()
    elif kind == "vectorizer":
        rc, _, err = seqcli(["vectorize", "--save", path, "--vocab"], input="a b\n")
        assert rc == 0, err
    elif kind == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif kind == "zero_bytes":
        path.write_bytes(b"")
    elif kind == "random_bytes":
        path.write_bytes(np.random.default_rng(0).bytes(4096))
    elif kind == "object_array":
        header, arrays = _model_arrays(tiny_model)
        arrays["net.W"] = np.array([1, "x", None], dtype=object)
        np.savez(path, **arrays)  # np.savez pickles the object array
    elif kind == "newer":
        _rewrite(tiny_model, path, format_version=999)
    elif kind == "unknown_kind":
        _rewrite(tiny_model, path, kind="hologram")
    elif kind == "no_header":
        np.savez(path, W=np.zeros((2, 2)))
    elif kind == "plain_zip":
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("readme.txt", "hello")
    else:
        raise AssertionError(kind)
    return path


@pytest.mark.parametrize("kind,mentions", [
    ("missing", []), ("directory", ["directory"]), ("vectorizer", ["vectorizer"]),
    ("truncated", []), ("zero_bytes", []), ("random_bytes", []), ("object_array", []),
    ("newer", ["newer"]), ("unknown_kind", ["hologram"]), ("no_header", []), ("plain_zip", []),
])
def test_predict_with_a_bad_model_file_is_one_line_error(seqcli, tiny_model, tmp_path, kind, mentions):
    path = _make_bad(kind, tiny_model, tmp_path, seqcli)
    rc, out, err = seqcli(["predict", path], input="good\n")
    assert_one_line_error(rc, out, err, mentions=[path.name, *mentions])


def test_predict_answers_each_line_of_an_interactive_pipe(tiny_model):
    # a producer that writes one line and waits for its answer must get it without closing stdin
    import subprocess
    import sys
    import threading

    proc = subprocess.Popen([sys.executable, "-m", "seqcli", "predict", str(tiny_model)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    answers = []
    try:
        for text in (b"good great\n", b"awful bad\n"):
            proc.stdin.write(text)
            proc.stdin.flush()
            reader = threading.Thread(target=lambda: answers.append(proc.stdout.readline()))
            reader.start()
            reader.join(timeout=30)
            assert not reader.is_alive(), "no answer while stdin is still open"
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
        proc.wait()
    assert [a.split(b"\t")[0] for a in answers] == [b"pos", b"neg"]
