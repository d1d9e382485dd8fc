"""Halted training (--max-steps, Ctrl-C) keeps its best model and resumes to the very same file."""

import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import SAMPLE_REVIEWS, _env, run_seqcli
from seqcli.training import loop as train
from seqcli.config import TrainConfig

SMALL = ["--hidden", "8", "--embed", "8", "--epochs", "3", "-q"]


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("resume") / "small.csv"
    path.write_text("".join(SAMPLE_REVIEWS.read_text().splitlines(keepends=True)[:301]))
    return path


@pytest.mark.parametrize("model", ["bow", "lstm", "gru"])
def test_max_steps_then_resume_gives_the_same_model_file_byte_for_byte(small_csv, tmp_path, model):
    whole, halted = tmp_path / "whole.npz", tmp_path / "halted.npz"
    small = SMALL if model != "bow" else SMALL[4:]   # a bag-of-words model has no --hidden / --embed
    assert run_seqcli(["train", small_csv, "--model", model, *small, "-o", whole])[0] == 0
    rc, _, err = run_seqcli(["train", small_csv, "--model", model, *small, "-o", halted, "--max-steps", "12"])
    assert rc == 0
    ckpt = tmp_path / "halted.ckpt.npz"
    assert ckpt.exists() and halted.exists()
    assert f"--resume {ckpt}" in err and "reached --max-steps 12" in err
    assert halted.read_bytes() != whole.read_bytes()
    rc, _, err = run_seqcli(["train", small_csv, "-o", halted, "--resume", ckpt, "-q"])
    assert rc == 0, err
    assert halted.read_bytes() == whole.read_bytes()
    assert not ckpt.exists()  # a finished run removes its resume point


def test_resume_refuses_other_data(small_csv, tmp_path):
    out = tmp_path / "m.npz"
    run_seqcli(["train", small_csv, "--model", "bow", *SMALL[4:], "-o", out, "--max-steps", "2"])
    other = tmp_path / "other.csv"
    other.write_text(small_csv.read_text().replace("movie", "film"))
    rc, _, err = run_seqcli(["train", other, "-o", out, "--resume", tmp_path / "m.ckpt.npz"])
    assert rc == 1 and err.count("\n") == 1 and "other data" in err


def test_ctrl_c_keeps_the_best_model_says_how_to_resume_and_exits_130(tmp_path):
    out = tmp_path / "m.npz"
    proc = subprocess.Popen([sys.executable, "-m", "seqcli", "train", str(SAMPLE_REVIEWS), "--model", "lstm",
                             "--hidden", "16", "--embed", "16", "--epochs", "50", "--patience", "50",
                             "-o", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, env=_env(), text=True)
    # wait for the first epoch line, so a best model exists, then interrupt
    first = proc.stderr.readline()
    assert first.startswith("epoch 1/50"), first
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert "Traceback" not in err
    assert "stopped: interrupted" in err and "--resume" in err
    assert out.exists() and (tmp_path / "m.ckpt.npz").exists()
    rc, stdout, _ = run_seqcli(["predict", out], input="the movie was not long but interesting\n")
    assert rc == 0 and stdout.count("\n") == 1


class _Net:
    def __init__(self):
        self.params = {"w": np.zeros(2)}


def test_a_nan_loss_stops_training_with_a_clear_error():
    net = _Net()
    losses = iter([1.0, float("nan")])

    def step_loss(batch, rng):
        return next(losses), {"w": np.ones(2)}, 1, 1

    with pytest.raises(train.Diverged, match="loss became nan at step 2"):
        train.run(net, _Sgd(), lambda epoch: [0, 1], step_loss, lambda: {"loss": 1.0},
                  TrainConfig(epochs=1, clip=0))


class _Sgd:
    def step(self, params, grads):
        for k in params:
            params[k] -= grads[k]


def test_diverged_training_from_the_cli_is_one_line(monkeypatch, small_csv, tmp_path):
    from seqcli import api, errors

    def boom(*args, **kwargs):
        raise train.Diverged("the loss became nan at step 3 (epoch 1); try a smaller --lr")

    monkeypatch.setattr(train, "run", boom)
    with pytest.raises(errors.SeqcliError, match="training diverged: the loss became nan"):
        api.train(str(small_csv), str(tmp_path / "m.npz"), 'classify', "bow", {"epochs": 1})
