"""The model file and the user's other files are never damaged by a run that cannot do better."""

import os
import stat

from conftest import SAMPLE_REVIEWS, run_seqcli


def test_a_run_halted_before_any_validation_leaves_an_existing_model_untouched(tmp_path):
    out = tmp_path / "m.npz"
    assert run_seqcli(["train", SAMPLE_REVIEWS, "--epochs", "2", "-o", out, "-q"])[0] == 0
    before = out.read_bytes()
    rc, stdout, err = run_seqcli(["train", SAMPLE_REVIEWS, "--model", "lstm", "--hidden", "8", "--embed", "8",
                                  "-o", out, "--max-steps", "1", "--json"])
    assert rc == 0
    assert out.read_bytes() == before  # not replaced by random weights
    assert "no model yet" in err and "--resume" in err
    assert (tmp_path / "m.ckpt.npz").exists()


def test_the_output_cannot_be_the_training_data(tmp_path):
    data = tmp_path / "d.csv"
    data.write_bytes(SAMPLE_REVIEWS.read_bytes())
    rc, _, err = run_seqcli(["train", data, "-o", data])
    assert rc == 1 and "is the training data" in err and err.count("\n") == 1
    assert data.read_bytes() == SAMPLE_REVIEWS.read_bytes()


def test_a_device_as_output_is_refused_before_training():
    rc, _, err = run_seqcli(["train", SAMPLE_REVIEWS, "-o", "/dev/null"])
    assert rc == 1 and "not a regular file" in err and "epoch" not in err


def test_model_files_follow_the_umask(tmp_path):
    out = tmp_path / "m.npz"
    old = os.umask(0o077)
    try:
        assert run_seqcli(["train", SAMPLE_REVIEWS, "--epochs", "1", "-o", out, "-q"])[0] == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_text_col_needs_a_table_input(tmp_path, tiny_model):
    rc, _, err = run_seqcli(["predict", tiny_model, "--text-col", "foo"], input="good\n")
    assert rc == 2 and "--text-col" in err


def test_an_unreadable_input_is_a_read_error_not_a_write_error(tmp_path, tiny_model):
    rc, _, err = run_seqcli(["predict", tiny_model, "/proc/self/mem"])
    assert rc == 1 and "cannot read" in err and "cannot write" not in err


def test_vocab_and_stats_go_to_the_output_file(tmp_path):
    out = tmp_path / "v.tsv"
    rc, stdout, _ = run_seqcli(["vectorize", "--vocab", "-o", out], input="good film\nbad film\n")
    assert rc == 0 and stdout == "" and out.read_text() == "bad\t1\nfilm\t2\ngood\t1\n"
    rc, stdout, _ = run_seqcli(["vectorize", "--stats", "--ngrams", "1:2", "-o", out], input="good film\n")
    assert rc == 0 and stdout == "" and out.read_text() == "1-grams\t2\n2-grams\t1\n"
    rc, _, err = run_seqcli(["vectorize", "--vocab", "--hash-bits", "4"], input="good film\n")
    assert rc == 2 and "--vocab" in err


def test_resume_says_which_options_it_ignores(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("".join(SAMPLE_REVIEWS.read_text().splitlines(keepends=True)[:301]))
    out = tmp_path / "z.npz"
    assert run_seqcli(["train", data, "-o", out, "--epochs", "3", "--max-steps", "7", "-q"])[0] == 0
    rc, _, err = run_seqcli(["train", data, "-o", out, "--resume", tmp_path / "z.ckpt.npz", "-m", "lstm",
                             "--epochs", "30", "-q"])
    assert rc == 0 and "ignored: --model, --epochs" in err
