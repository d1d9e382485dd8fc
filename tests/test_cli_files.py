"""Files and options a user gets wrong: -o never replaces an unrelated file, vectorize reads a CSV's
columns, options that cannot apply are refused instead of ignored."""

import json

from conftest import run_seqcli, separable_rows


def test_o_refuses_to_replace_a_file_that_is_not_a_seqcli_model(tmp_path, tiny_csv):
    precious = tmp_path / "model.npz"
    precious.write_bytes(b"my thesis, not a model")
    rc, out, err = run_seqcli(["train", tiny_csv, "-o", precious, "--epochs", "1", "-q"])
    assert rc == 1 and err.count("\n") == 1 and "not a seqcli file" in err and "--force" in err
    assert precious.read_bytes() == b"my thesis, not a model"
    assert run_seqcli(["train", tiny_csv, "-o", precious, "--epochs", "1", "-q", "--force"])[0] == 0
    # a seqcli model there is replaced without --force: that is retraining
    assert run_seqcli(["train", tiny_csv, "-o", precious, "--epochs", "2", "-q"])[0] == 0


def test_vectorize_save_refuses_an_unrelated_file_too(tmp_path):
    other = tmp_path / "vec.npz"
    other.write_text("x")
    rc, _, err = run_seqcli(["vectorize", "--save", other, "--vocab"], input="good film\n")
    assert rc == 1 and "not a seqcli file" in err and other.read_text() == "x"


def test_vectorize_reads_a_csv_text_column_and_writes_its_labels_in_svmlight(tmp_path):
    rows = separable_rows(6)
    data = tmp_path / "d.csv"
    # an id column first: the text and label columns are found by name
    data.write_text("id,text,label\n" + "".join(f"{i},{t},{y}\n" for i, (t, y) in enumerate(rows)), encoding="utf-8")
    rc, out, err = run_seqcli(["vectorize", data, "--format", "svmlight"])
    assert rc == 0, err
    lines = out.splitlines()
    assert len(lines) == 6 and [line.split()[0] for line in lines] == [y for _, y in rows]
    rc, out, _ = run_seqcli(["vectorize", data, "--vocab"])
    vocabulary = [line.split("\t")[0] for line in out.splitlines()]
    assert "text" not in vocabulary and "pos" not in vocabulary and "film" in vocabulary
    rc, out, _ = run_seqcli(["vectorize", data, "--text-col", "id"])
    assert [json.loads(line) for line in out.splitlines()][0] == {"0": 1}


def test_vectorize_load_refuses_settings_it_would_ignore(tmp_path):
    vec = tmp_path / "v.npz"
    assert run_seqcli(["vectorize", "--save", vec, "--vocab"], input="good film\n")[0] == 0
    rc, out, err = run_seqcli(["vectorize", "--load", vec, "--mode", "counts"], input="good\n")
    assert rc == 2 and out == "" and err.startswith("seqcli: error: --mode does not go with --load")


def test_predict_proba_with_json_is_refused_not_dropped(tiny_model):
    rc, out, err = run_seqcli(["predict", tiny_model, "--proba", "--json"], input="good\n")
    assert rc == 2 and out == "" and err.startswith("seqcli: error: --proba does not go with --json")
