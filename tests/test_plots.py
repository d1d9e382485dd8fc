"""Pictures of a run: the loss curves in the terminal, the history in --json and in the model file,
and --svg for train, predict --explain and compare."""

import json

from conftest import run_seqcli
from seqcli.ui.plot import text_chart, training_chart


def test_the_training_chart_marks_the_best_evaluation():
    history = [{"epoch": 1, "loss": 0.9, "train_loss": 1.0}, {"epoch": 2, "loss": 0.5, "train_loss": 0.7},
               {"epoch": 3, "loss": 0.6, "train_loss": 0.4}]
    lines, legend = training_chart(history)
    assert legend == [("o", "training loss"), ("x", "validation loss")]
    axis = next(line for line in lines if "└" in line)
    grid = [line.split("│", 1)[1] for line in lines if "│" in line]
    best_col = axis.index("▲") - axis.index("└") - 1
    assert any(row[best_col] == "x" for row in grid)            # the best validation point above the mark
    assert grid[0].startswith("o") and lines[0].lstrip().startswith("1")   # the highest loss on top


def test_a_chart_of_one_point_or_no_finite_value_is_empty():
    assert training_chart([{"epoch": 1, "loss": 0.5}]) == ([], [])
    assert text_chart({"a": ([1, 2], [float("nan"), None])}) == ([], [])


def test_history_is_in_the_json_summary_and_in_the_model_file(tmp_path, tiny_csv):
    out = tmp_path / "m.npz"
    rc, stdout, err = run_seqcli(["train", tiny_csv, "-o", out, "--epochs", "3", "--json", "-q"])
    assert rc == 0, err
    history = json.loads(stdout)["history"]
    assert [h["epoch"] for h in history] == [1, 2, 3] and all("loss" in h and "train_loss" in h for h in history)
    from seqcli import models

    assert models.load(out).header["training"]["history"] == history


def test_svg_pictures_of_train_explain_and_compare(tmp_path, tiny_csv):
    out, picture = tmp_path / "m.npz", tmp_path / "train.svg"
    rc, _, err = run_seqcli(["train", tiny_csv, "-o", out, "--epochs", "3", "--svg", picture])
    assert rc == 0, err
    text = picture.read_text(encoding="utf-8")
    assert text.startswith("<svg") and "validation" in text and "epoch" in text
    rc, _, err = run_seqcli(["predict", out, "--explain", "--svg", tmp_path / "e.svg"], input="good film\n")
    assert rc == 0, err and (tmp_path / "e.svg").read_text().startswith("<svg")
    rc, _, err = run_seqcli(["compare", tiny_csv, "--models", "bow,bigram", "--folds", "2", "--svg",
                             tmp_path / "c.svg", "-q"])
    assert rc == 0, err
    assert "bigram" in (tmp_path / "c.svg").read_text(encoding="utf-8")
    rc, _, err = run_seqcli(["compare", tiny_csv, "--json", "--svg", tmp_path / "x.svg"])
    assert rc == 2 and "--svg does not go with --json" in err
