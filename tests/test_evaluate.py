"""``seqcli evaluate MODEL TEST`` for every model kind: the figures equal those train reported for the same
file given as ``--val``; the header says what was evaluated on what; --json; stdin; the error cases."""

import json

import pytest
from conftest import run_inprocess, run_seqcli, separable_rows, csv_text

REV = ["abc", "hello", "tiny", "word", "north", "stone", "plant", "river", "cloud", "seven", "light", "green"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Training and validation files of every task, in one folder."""
    folder = tmp_path_factory.mktemp("evaluate")
    (folder / "train.csv").write_text(csv_text(separable_rows(60)), encoding="utf-8")
    (folder / "val.csv").write_text(csv_text(separable_rows(20, seed=1)), encoding="utf-8")
    text = "the cat sat on the mat. the dog sat on the log.\n"
    (folder / "corpus.txt").write_text(text * 12, encoding="utf-8")
    (folder / "dev.txt").write_text("the dog sat on the mat.\nthe cat sat on the log.\n", encoding="utf-8")
    ner = [[("John", "B-PER"), ("Smith", "I-PER"), ("visited", "O"), ("Paris", "B-LOC"), (".", "O")],
           [("Mary", "B-PER"), ("left", "O"), ("Rome", "B-LOC")]]
    (folder / "ner.conll").write_text("\n".join("\n".join(f"{w} {t}" for w, t in s) + "\n" for s in ner * 8),
                                      encoding="utf-8")
    (folder / "ner-dev.conll").write_text("Mary visited Rome\nJohn Smith left Paris".replace(" ", " O\n")
                                          .replace("Mary O", "Mary B-PER").replace("John O", "John B-PER")
                                          .replace("Smith O", "Smith I-PER").replace("Rome\n", "Rome B-LOC\n\n")
                                          + " B-LOC\n", encoding="utf-8")
    pairs = [(w, w[::-1]) for w in REV]
    (folder / "pairs.csv").write_text(csv_text(pairs * 3, ("source", "target")), encoding="utf-8")
    (folder / "pairs-dev.csv").write_text(csv_text(pairs[:5] + [("abc", "cab")], ("source", "target")),
                                          encoding="utf-8")
    return folder


TRAININGS = {   # name -> (training file, --val file, options)
    "bow": ("train.csv", "val.csv", ["--epochs", "3"]),
    "rnn": ("train.csv", "val.csv", ["--model", "gru", "--hidden", "8", "--embed", "8", "--epochs", "2",
                                     "--min-count", "1"]),
    "transformer": ("train.csv", "val.csv", ["--model", "transformer", "--hidden", "8", "--heads", "2",
                                             "--epochs", "2", "--min-count", "1"]),
    "lm": ("corpus.txt", "dev.txt", ["--task", "lm", "--hidden", "8", "--embed", "4", "--seq-len", "10",
                                     "--batch-size", "2", "--epochs", "1"]),
    "wordlm": ("corpus.txt", "dev.txt", ["--task", "lm", "--split", "word", "--min-count", "1", "--hidden", "8",
                                         "--embed", "4", "--seq-len", "5", "--batch-size", "2", "--epochs", "1"]),
    "gpt": ("corpus.txt", "dev.txt", ["--task", "lm", "--model", "transformer", "--hidden", "8", "--heads", "2",
                                      "--layers", "1", "--block-size", "8", "--batch-size", "4", "--epochs", "1"]),
    "tagger": ("ner.conll", "ner-dev.conll", ["--task", "tag", "--crf", "--hidden", "8", "--embed", "8",
                                              "--char-embed", "4", "--char-hidden", "4", "--batch-size", "4",
                                              "--epochs", "2"]),
    "seq2seq": ("pairs.csv", "pairs-dev.csv", ["--task", "seq2seq", "--hidden", "16", "--embed", "8",
                                               "--epochs", "2", "--batch-size", "8"]),
}


@pytest.fixture(scope="module")
def trained(files):
    """name -> (model path, train's --json summary), trained in this process (tiny shapes)."""
    out = {}
    for name, (data, val, options) in TRAININGS.items():
        model = files / f"{name}.npz"
        rc, stdout, err = run_inprocess(["train", files / data, "--val", files / val, "-o", model, "--json", "-q",
                                         *options])
        assert rc == 0, (name, err)
        out[name] = (model, json.loads(stdout))
    return out


def evaluate_json(*args):
    rc, out, err = run_inprocess(["evaluate", *args, "--json"])
    assert rc == 0, err
    return json.loads(out)


@pytest.mark.parametrize("name", ["bow", "rnn", "transformer"])
def test_a_classifier_gives_trains_validation_report(files, trained, name):
    model, summary = trained[name]
    report = evaluate_json(model, files / "val.csv")
    assert report["task"] == "classify" and report["n"] == 20 and report["n_unknown_labels"] == 0
    assert report["metrics"] == summary["metrics"]     # accuracy, macro-F1, log-loss, per class, confusion
    assert report["described"] == {"bow": "a bag-of-words classifier", "rnn": "a recurrent classifier",
                                   "transformer": "a transformer classifier"}[name]


@pytest.mark.parametrize("name, unit", [("lm", "bpc"), ("wordlm", "ppl"), ("gpt", "bpc")])
def test_a_language_model_gives_trains_validation_loss(files, trained, name, unit):
    model, summary = trained[name]
    report = evaluate_json(model, files / "dev.txt")
    assert report["task"] == "lm" and report["n_chars"] == summary["n_val_chars"]
    assert report["loss"] == pytest.approx(summary["val_loss"], abs=2e-6)
    assert report[unit] == pytest.approx(summary[f"val_{unit}"], rel=1e-5)


def test_a_tagger_gives_trains_validation_report(files, trained):
    model, summary = trained["tagger"]
    report = evaluate_json(model, files / "ner-dev.conll")
    assert report["task"] == "tag" and report["n"] == 2 and report["unknown_tags"] == {}
    assert report["metrics"] == summary["metrics"]     # token and unseen accuracy, spans, per type, confusions
    assert report["metrics"]["scheme"] == "BIO" and report["metrics"]["unseen"] is not None


def test_a_seq2seq_model_gives_trains_validation_figures_and_beam(files, trained):
    model, summary = trained["seq2seq"]
    report = evaluate_json(model, files / "pairs-dev.csv", "--beam", "3")
    for key in ("wer", "ter", "exact", "edits", "ref_tokens"):
        assert report[key] == summary[key], key
    assert report["loss"] == pytest.approx(summary["val_loss"], abs=2e-6)
    assert (report["n_pairs"], report["n_sources"], report["beam"]) == (6, 5, 3)
    assert {"beam_wer", "beam_ter", "beam_exact"} <= report.keys()


def test_the_plain_report_says_what_was_evaluated_on_what(files, trained):
    model, summary = trained["rnn"]
    rc, out, err = run_inprocess(["evaluate", model, files / "val.csv"])
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0] == f"{model} (a recurrent classifier) on {files / 'val.csv'}: 20 rows"
    acc = summary["metrics"]["accuracy"]
    assert lines[1].startswith(f"{files / 'val.csv'}: accuracy {acc:.4f}  macro-F1")
    assert "confusion matrix (rows: true class, columns: predicted)" in out and "trained on" not in out
    rc, out, _ = run_inprocess(["evaluate", trained["lm"][0], files / "dev.txt"])
    assert out.splitlines()[0].endswith("(a character language model) on " + str(files / "dev.txt") + ": 48 characters")
    assert f"nats/char = {summary_bpc(trained):.4f} bits/char" in out
    rc, out, _ = run_inprocess(["evaluate", trained["tagger"][0], files / "ner-dev.conll"])
    assert "(a sequence tagger) on" in out and "2 sentences, 7 tokens" in out and "spans (BIO, as conlleval)" in out
    rc, out, _ = run_inprocess(["evaluate", trained["seq2seq"][0], files / "pairs-dev.csv", "--beam", "2"])
    assert ": 6 pairs, 5 distinct sources" in out and "(greedy)" in out and "(beam 2)" in out


def summary_bpc(trained):
    return trained["lm"][1]["val_bpc"]


def test_test_data_from_stdin(files, trained):
    rc, out, err = run_seqcli(["evaluate", trained["bow"][0], "-", "--json"],
                              input=(files / "val.csv").read_text(encoding="utf-8"))
    assert rc == 0, err
    report = json.loads(out)
    assert report["test"] == "<stdin>" and report["metrics"] == trained["bow"][1]["metrics"]


def test_labels_the_model_does_not_know_are_counted_not_a_traceback(files, trained, tmp_path):
    test = tmp_path / "test.csv"
    test.write_text(csv_text(separable_rows(10, seed=3) + [("so so", "meh"), ("whatever", "meh"), ("x", "odd")]),
                    encoding="utf-8")
    report = evaluate_json(trained["bow"][0], test)
    assert (report["n"], report["n_unknown_labels"], report["metrics"]["n"]) == (13, 3, 10)
    assert report["unknown_labels"] == {"meh": 2, "odd": 1}
    rc, out, err = run_inprocess(["evaluate", trained["bow"][0], test])
    assert rc == 0 and "left out: 3 rows with labels the model does not know: meh (2), odd (1)" in out
    only_new = tmp_path / "new.csv"
    only_new.write_text(csv_text([("a", "meh"), ("b", "odd")]), encoding="utf-8")
    rc, out, err = run_inprocess(["evaluate", trained["bow"][0], only_new])
    assert rc == 1 and out == "" and err.count("\n") == 1
    assert "no row has a label the model knows" in err and "Traceback" not in err


def test_characters_a_language_model_never_saw_are_left_out_and_counted(trained, tmp_path):
    test = tmp_path / "new.txt"
    test.write_text("the cat sat. QQ\n", encoding="utf-8")
    rc, out, err = run_inprocess(["evaluate", trained["lm"][0], test, "--json"])
    assert rc == 0, err
    report = json.loads(out)
    assert report["unknown_characters"] == 2 and report["n_units"] == len("the cat sat. QQ\n") - 2
    assert "2 characters the model never saw, left out of the figures: 'Q' (U+0051)" in err


@pytest.mark.parametrize("args, code, message", [
    (["missing.npz", "val.csv"], 1, "missing.npz"),
    (["bow.npz", "missing.csv"], 1, "missing.csv"),
    (["bow.npz", "corpus.txt"], 1, "corpus.txt"),
    (["bow.npz", "val.csv", "--beam", "2"], 2, "--beam does not apply to a bag-of-words classifier"),
    (["bow.npz", "val.csv", "--tag-col", "3"], 2, "--tag-col does not apply to a bag-of-words classifier"),
    (["lm.npz", "dev.txt", "--label-col", "label"], 2, "--label-col does not apply to a character language model"),
    (["seq2seq.npz", "pairs-dev.csv", "--beam", "0"], 2, "--beam must be at least 1"),
    (["bow.npz"], 2, "missing TEST"),
])
def test_bad_input_is_one_line(files, trained, args, code, message):
    args = [files / a if not a.startswith("-") and a[0].isalpha() and "." in a else a for a in args]
    rc, out, err = run_seqcli(["evaluate", *args])
    assert rc == code and out == "", err
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) <= 2      # the error, and for a usage error a "try" hint
