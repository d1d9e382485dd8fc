"""--val FILE: validate on a given file (a corpus's official dev part) instead of a split of DATA."""

import json

import numpy as np

from conftest import SAMPLE_REVIEWS, run_seqcli


def _split_reviews(tmp_path):
    lines = SAMPLE_REVIEWS.read_text(encoding="utf-8").splitlines(keepends=True)
    train, dev = tmp_path / "train.csv", tmp_path / "dev.csv"
    train.write_text("".join(lines[:241]), encoding="utf-8")
    dev.write_text(lines[0] + "".join(lines[241:301]), encoding="utf-8")
    return train, dev


def test_classifier_validates_on_the_given_file_and_trains_on_all_of_data(tmp_path):
    train, dev = _split_reviews(tmp_path)
    rc, out, err = run_seqcli(["train", train, "--val", dev, "--epochs", "2", "-o", tmp_path / "m.npz", "--json"])
    assert rc == 0, err
    summary = json.loads(out)
    assert (summary["n_train"], summary["n_val"]) == (240, 60)
    assert summary["evaluated_on"] == "validation" and summary["val_source"] == str(dev)
    assert summary["metrics"]["n"] == 60
    assert f"validation ({dev})" in err


def test_halted_run_with_val_resumes_with_it_to_the_same_model(tmp_path):
    train, dev = _split_reviews(tmp_path)
    common = ["--model", "lstm", "--hidden", "8", "--embed", "6", "--epochs", "3", "--val", dev]
    whole, part = tmp_path / "whole.npz", tmp_path / "part.npz"
    assert run_seqcli(["train", train, *common, "-o", whole, "-q"])[0] == 0
    assert run_seqcli(["train", train, *common, "-o", part, "-q", "--max-steps", "9"])[0] == 0
    rc, _, err = run_seqcli(["train", train, "-o", part, "-q", "--resume", tmp_path / "part.ckpt.npz"])
    assert rc == 0, err
    with np.load(whole) as a, np.load(part) as b:
        for key in a.files:
            if key != "__header__":
                np.testing.assert_array_equal(a[key], b[key])


def test_language_model_validates_on_the_given_text(tmp_path):
    corpus, dev = tmp_path / "corpus.txt", tmp_path / "dev.txt"
    corpus.write_text("the quick brown fox jumps over the lazy dog.\n" * 8, encoding="utf-8")
    dev.write_text("the lazy dog jumps over the quick fox.\n", encoding="utf-8")
    rc, out, err = run_seqcli(["train", corpus, "--task", "lm", "--val", dev, "--hidden", "8", "--embed", "4",
                               "--seq-len", "10", "--batch-size", "2", "--epochs", "1", "-o", tmp_path / "lm.npz",
                               "--json"])
    assert rc == 0, err
    summary = json.loads(out)
    assert summary["n_train_chars"] == 45 * 8 and summary["n_val_chars"] == 39
    assert summary["val_source"] == str(dev) and summary["evaluated_on"] == "validation"
    assert f"validating on {dev}" in err


def test_a_val_file_of_the_wrong_shape_is_one_line(tmp_path):
    train, _ = _split_reviews(tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text("comment,stars\nnice,5\n", encoding="utf-8")
    rc, _, err = run_seqcli(["train", train, "--val", bad, "-o", tmp_path / "m.npz"])
    assert rc == 1 and err.count("\n") == 1 and "bad.csv" in err
