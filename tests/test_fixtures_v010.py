"""Model files written by seqcli 0.1.0 still load and predict exactly as 0.1.0 did, and retraining
with the same commands and seed gives the very same parameters (see fixtures/v0.1.0/README.md)."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import run_seqcli

FIX = Path(__file__).parent / "fixtures" / "v0.1.0"
CLASSIFIERS = ["bow", "lstm", "bigru", "rnn"]

TRAIN_ARGS = {
    "bow": ["small.csv", "--model", "bow", "--ngrams", "1:2", "--epochs", "3"],
    "lstm": ["small.csv", "--model", "lstm", "--hidden", "8", "--embed", "6", "--epochs", "2"],
    "bigru": ["small.csv", "--model", "gru", "--bidirectional", "--layers", "2", "--pool", "mean",
              "--hidden", "6", "--embed", "5", "--epochs", "2"],
    "rnn": ["small.csv", "--model", "rnn", "--pool", "max", "--hidden", "5", "--embed", "4", "--epochs", "2"],
    "lm": ["tiny.txt", "--task", "lm", "--hidden", "16", "--embed", "8", "--epochs", "1", "--seq-len", "20",
           "--batch-size", "8"],
}


def _arrays(path):
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files if k != "__header__"}


@pytest.mark.parametrize("name", CLASSIFIERS + ["lm"])
def test_old_model_files_predict_as_before(name):
    rc, out, err = run_seqcli(["predict", FIX / f"{name}.npz", FIX / "inputs.txt", "--json"])
    assert rc == 0, err
    assert out == (FIX / f"{name}.expected.jsonl").read_text(encoding="utf-8")


def test_old_language_model_generates_as_before():
    rc, out, err = run_seqcli(["generate", FIX / "lm.npz", "--prime", "First", "--length", "60", "--seed", "3"])
    assert rc == 0, err
    assert out == (FIX / "lm.generate.txt").read_text(encoding="utf-8")


def test_old_vectorizer_file_vectorizes_as_before():
    rc, out, err = run_seqcli(["vectorize", FIX / "inputs.txt", "--load", FIX / "vec.npz"])
    assert rc == 0, err
    assert out == (FIX / "vec.expected.jsonl").read_text(encoding="utf-8")


def _rounded(value, digits=6):
    """The JSON document with every float rounded as seqcli >= 0.2 writes them (0.1 wrote them whole)."""
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, list):
        return [_rounded(v, digits) for v in value]
    if isinstance(value, dict):
        return {k: _rounded(v, digits) for k, v in value.items()}
    return value


def test_old_model_explains_as_before():
    rc, out, err = run_seqcli(["predict", FIX / "lstm.npz", FIX / "inputs.txt", "--explain", "--json"])
    assert rc == 0, err
    got = [json.loads(line) for line in out.splitlines()]
    want = [json.loads(line) for line in (FIX / "lstm.explain.jsonl").read_text(encoding="utf-8").splitlines()]
    assert got == _rounded(want)


@pytest.mark.parametrize("name", list(TRAIN_ARGS))
def test_retraining_gives_the_same_parameters(name, tmp_path):
    for data in ("small.csv", "tiny.txt"):
        shutil.copy(FIX / data, tmp_path / data)
    rc, _, err = run_seqcli(["train", *TRAIN_ARGS[name], "-o", "new.npz", "--quiet"], cwd=tmp_path)
    assert rc == 0, err
    old, new = _arrays(FIX / f"{name}.npz"), _arrays(tmp_path / "new.npz")
    numbers = sorted(k for k in old if old[k].dtype.kind == "f")   # the weights (strings are stored as UTF-8 now)
    assert numbers == sorted(k for k in new if new[k].dtype.kind == "f")
    for key in numbers:
        assert old[key].dtype == new[key].dtype, key
        np.testing.assert_array_equal(old[key], new[key], err_msg=key)
    from seqcli import models

    a, b = models.load(FIX / f"{name}.npz"), models.load(tmp_path / "new.npz")
    strings = {"vocab": lambda m: m.vocab.tokens, "chars": lambda m: m.chars, "classes": lambda m: m.classes,
               "vectorizer": lambda m: m.vectorizer.vocabulary_}
    for what, read in strings.items():
        if hasattr(a, what):
            assert read(a) == read(b), what
