"""Texts longer than a recurrent classifier reads (issue 16, item 5): ``train --max-len N`` sets the
limit, the head of a text is kept, and the cut is never silent: train warns and counts the cut
training texts in --json and in the model file, predict says once at the end which lines were cut."""

import json
from pathlib import Path

from conftest import csv_text, run_seqcli

from seqcli import models

FIX = Path(__file__).parent / "fixtures" / "v0.1.0"
SMALL = ["--hidden", "4", "--embed", "3", "--epochs", "1", "--val-split", "0", "--min-count", "1"]


def _data(tmp_path):
    rows = [("good fine nice", "pos"), ("bad dull poor", "neg")] * 4
    rows += [(" ".join(["good"] * 15), "pos"), (" ".join(["bad"] * 12), "neg"), (" ".join(["dull"] * 11), "neg")]
    path = tmp_path / "d.csv"
    path.write_text(csv_text(rows), encoding="utf-8")
    return path


def test_train_counts_the_texts_cut_at_max_len(tmp_path):
    out = tmp_path / "m.npz"
    rc, stdout, err = run_seqcli(["train", _data(tmp_path), "--model", "rnn", "--max-len", "10", *SMALL,
                                  "-o", out, "--json"])
    assert rc == 0, err
    summary = json.loads(stdout)
    assert (summary["max_len"], summary["truncated"], summary["truncated_val"]) == (10, 3, 0)
    assert "3 of 11 training texts have more than 10 tokens: only their first 10 are read" in err
    model = models.load(out)
    assert model.config.max_len == 10 and model.header["training"]["truncated"] == 3
    # the default (256) cuts nothing and says nothing about it
    rc, stdout, err = run_seqcli(["train", _data(tmp_path), "--model", "gru", *SMALL, "-o", out, "--json"])
    assert rc == 0, err
    assert json.loads(stdout)["truncated"] == 0 and "only their first" not in err


def test_max_len_is_bounded_and_only_for_recurrent_classifiers(tmp_path):
    data = _data(tmp_path)
    rc, _, err = run_seqcli(["train", data, "--model", "lstm", "--max-len", "0", "-o", tmp_path / "m.npz"])
    assert rc == 2 and "--max-len" in err
    for args in (["--model", "bow"], ["--task", "lm"]):
        rc, _, err = run_seqcli(["train", data, *args, "--max-len", "5", "-o", tmp_path / "m.npz"])
        assert rc == 2 and "--max-len does not apply" in err, err


def test_predict_says_once_which_lines_were_cut(tmp_path):
    out = tmp_path / "m.npz"
    rc, _, err = run_seqcli(["train", _data(tmp_path), "--model", "lstm", "--max-len", "10", *SMALL,
                             "-o", out, "--quiet"])
    assert rc == 0, err
    long_text = " ".join(["good"] * 10)
    lines = ["good", long_text + " bad", long_text, long_text + " bad bad", "bad"]
    rc, stdout, err = run_seqcli(["predict", out, "-"], input="\n".join(lines) + "\n")
    assert rc == 0, err
    got = stdout.splitlines()
    assert len(got) == 5 and got[1] == got[2] == got[3]   # the head is kept: words after the 10th are not read
    assert err == ("seqcli: <stdin>: 2 texts longer than the model's 10 tokens, read only up to there "
                   "(--max-len when training): output lines 2, 4\n")


def test_old_model_file_cuts_at_its_stored_256_and_says_so(tmp_path):
    head = " ".join(["awful"] * 5 + ["great"] * 251)
    inputs = tmp_path / "in.txt"
    inputs.write_text(head + "\n" + head + " terrible" * 40 + "\n", encoding="utf-8")
    rc, stdout, err = run_seqcli(["predict", FIX / "lstm.npz", inputs, "--json"])
    assert rc == 0, err
    first, second = stdout.splitlines()
    assert first == second
    assert "1 text longer than the model's 256 tokens" in err and "output line 2" in err
    rc, _, err = run_seqcli(["predict", FIX / "lstm.npz", FIX / "inputs.txt"])
    assert rc == 0 and err == ""
