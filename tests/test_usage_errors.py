"""Usage errors in seqcli's voice: one line and at most a hint, exit code 2, no box drawing in a pipe;
help that can be read and grepped in a pipe."""

import pytest

from conftest import run_seqcli

BOX = "╭╮╰╯│─┃━"


@pytest.mark.parametrize("args,line", [
    (["train", "d.csv", "--epochs", "-1"], "--epochs must be at least 1 (got -1)"),
    (["train", "d.csv", "--epochs", "abc"], "--epochs must be a whole number (got abc)"),
    (["train", "d.csv", "--model", "cnn"], "--model must be one of bow, rnn, gru, lstm, transformer (got cnn)"),
    (["train", "d.csv", "--lr", "nan"], "--lr must be a finite number (got nan)"),
    (["train", "d.csv", "--dropout", "1"], "--dropout must be less than 1 (got 1)"),
    (["train", "d.csv", "--hash-bits", "25"], "--hash-bits must be at most 24 (got 25)"),
    (["train"], "missing DATA"),
    (["train", "d.csv", "--bogus"], "unknown option --bogus"),
    (["generate", "m.npz", "--top-k", "0"], "--top-k must be at least 1 (got 0)"),
    (["predict", "m.npz", "--units", "3"], "--units only goes with --explain"),
    (["frobnicate"], "unknown command 'frobnicate'"),
])
def test_a_usage_error_is_one_line_in_seqcli_words_and_a_hint(args, line):
    rc, out, err = run_seqcli(args)
    assert rc == 2 and out == ""
    lines = err.splitlines()
    assert lines[0] == f"seqcli: error: {line}", err
    command = args[0] if args[0] != "frobnicate" else None
    assert lines[1:] == [f"try 'seqcli {command} -h'" if command else "try 'seqcli -h'"]
    assert not any(ch in err for ch in BOX)


def test_compare_with_an_unknown_backend_is_a_usage_error(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("text,label\ngood,pos\nbad,neg\n" * 5, encoding="utf-8")
    rc, out, err = run_seqcli(["compare", data, "--backend", "bogus"])
    assert rc == 2 and out == "" and err.startswith("seqcli: error: unknown --backend 'bogus'")


@pytest.mark.parametrize("command", ["train", "predict", "compare", "generate", "vectorize"])
def test_help_in_a_pipe_is_plain_text(command):
    rc, out, err = run_seqcli([command, "--help"])
    assert rc == 0 and err == ""
    assert not any(ch in out for ch in BOX)
    assert "--help" in out


def test_seqcli_debug_shows_the_traceback_of_an_expected_error(tmp_path):
    damaged = tmp_path / "m.npz"
    damaged.write_bytes(b"PK\x03\x04 damaged")
    rc, _, err = run_seqcli(["predict", damaged], input="x\n", env={"SEQCLI_DEBUG": "1"})
    assert rc == 1 and "Traceback" in err and err.rstrip().endswith("not a valid .npz archive; truncated or damaged?)")
    rc, _, err = run_seqcli(["predict", damaged], input="x\n")
    assert rc == 1 and "Traceback" not in err and err.count("\n") == 1


def test_compare_tables_in_a_pipe_have_no_trailing_spaces(tmp_path):
    from conftest import csv_text, separable_rows

    data = tmp_path / "d.csv"
    data.write_text(csv_text(separable_rows(40)), encoding="utf-8")
    rc, out, err = run_seqcli(["compare", data, "--models", "bow,bigram", "--folds", "2", "-q"])
    assert rc == 0, err
    assert out and all(line == line.rstrip() for line in out.splitlines())
