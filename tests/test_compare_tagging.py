"""seqcli compare on tagged data: taggers trained on one split and scored side by side."""

import json

import pytest

from conftest import run_seqcli
from test_tag_task import TINY, conllu, sentences


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cmptag")
    train, test = folder / "train.conllu", folder / "test.conllu"
    train.write_text(conllu(sentences(40)), encoding="utf-8")
    test.write_text(conllu(sentences(10, seed=3, stems=["hop", "bake"])), encoding="utf-8")
    return folder, train, test


def test_compare_taggers_on_conllu_without_being_told(files):
    folder, train, test = files
    rc, out, err = run_seqcli(["compare", train, "--test", test, "--models", "lstm,crf,words", "--epochs", "2",
                               *TINY[:4], "--json", "-q"], timeout=300)
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["task"] == "tag" and doc["evaluation"]["method"] == "test"
    assert (doc["evaluation"]["n_train"], doc["evaluation"]["n_test"]) == (40, 10)
    rows = {r["name"]: r for r in doc["models"]}
    assert set(rows) == {"lstm", "crf", "words"}
    for r in rows.values():
        assert 0 <= r["accuracy"] <= 1 and r["unseen_accuracy"] is not None and r["tokens_per_second"] > 0
        assert r["n_params"] > 0 and r["file_bytes"] > 0 and r["train_seconds"] > 0
    assert rows["words"]["n_params"] < rows["lstm"]["n_params"] < rows["crf"]["n_params"]   # no char BiLSTM; + CRF
    assert set(doc["best"]) >= {"accuracy", "unseen_accuracy", "tokens_per_second", "file_bytes"}


def test_compare_a_saved_tagger_and_the_table(files, tmp_path):
    folder, train, test = files
    model = tmp_path / "m.npz"
    assert run_seqcli(["train", train, "--task", "tag", "-o", model, "--epochs", "1", *TINY, "-q"])[0] == 0
    rc, out, err = run_seqcli(["compare", train, "--models", f"cnn:char_hidden=4,{model}", "--epochs", "1",
                               "--val-split", "0.25"], timeout=300)
    assert rc == 0, err
    assert "unseen words" in out and "tag tokens/s" in out and str(model) in out and "cnn:char_hidden=4" in out
    assert "0.25 held out (30 train / 10 test sentences)" in out


@pytest.mark.parametrize("args,message", [(["--folds", "3"], "--folds does not apply to taggers"),
                                          (["--models", "bow"], "unknown model 'bow'"),
                                          (["--models", "lstm:ngrams=1:2"], "unknown option 'ngrams'")])
def test_what_does_not_apply_to_taggers_is_a_usage_error(files, args, message):
    _, train, _ = files
    rc, out, err = run_seqcli(["compare", train, *args])
    assert rc == 2 and message in err, err
