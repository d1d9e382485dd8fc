"""The one training loop's contract: patience means "this many", budgets are totals kept across
resumes, a resumed epoch reports the whole epoch's loss, and figures on training rows are labelled so."""

import json

import numpy as np
import pytest

from conftest import run_seqcli
from seqcli.config import TrainConfig
from seqcli.training import loop


class _Net:
    def __init__(self):
        self.params = {"w": np.zeros(2)}


class _Sgd:
    def step(self, params, grads):
        for k in params:
            params[k] -= 0.1 * grads[k]


def _run(losses_by_eval, patience, epochs=10, state=None, **cfg):
    """Train a dummy net whose validation losses are given; returns (state, eval events)."""
    evals = iter(losses_by_eval)
    events = []
    net = _Net()
    state, _ = loop.run(net, _Sgd(), lambda epoch: [0, 1, 2], lambda b, rng: (float(b + 1), {"w": np.ones(2)}, 1, 1),
                        lambda: {"loss": next(evals)}, TrainConfig(epochs=epochs, patience=patience, clip=0, **cfg),
                        events.append, state=state)
    return state, [e for e in events if e["event"] == "eval"]


@pytest.mark.parametrize("patience", [1, 2, 3])
def test_patience_is_the_number_of_evaluations_without_improvement(patience):
    state, evals = _run([1.0, 0.5] + [0.9] * 10, patience)
    assert len(evals) == 2 + patience        # the best at evaluation 2, then exactly ``patience`` worse
    assert state.stop_reason == f"early stopping: no improvement in {patience} evaluation{'s' * (patience > 1)}"


def test_max_time_is_a_total_over_resumed_parts():
    state = loop.TrainState(seconds=100.0)
    with pytest.raises(loop.Halted, match="reached --max-time 50s") as halted:
        _run([1.0] * 10, 3, state=state, max_time=50.0)
    assert halted.value.state.step == 1 and halted.value.state.seconds >= 100.0   # one step, then the budget


def test_a_resumed_epoch_reports_the_loss_of_the_whole_epoch():
    _, whole = _run([1.0, 0.9], 5, epochs=2)
    events = []
    net = _Net()
    evals = iter([1.0, 0.9])
    cfg = TrainConfig(epochs=2, patience=5, clip=0, max_steps=4)

    def step(b, rng):
        return float(b + 1), {"w": np.ones(2)}, 1, 1

    with pytest.raises(loop.Halted) as halted:
        loop.run(net, _Sgd(), lambda e: [0, 1, 2], step, lambda: {"loss": next(evals)}, cfg, events.append)
    cfg = TrainConfig(epochs=2, patience=5, clip=0)
    loop.run(net, _Sgd(), lambda e: [0, 1, 2], step, lambda: {"loss": next(evals)}, cfg, events.append,
             state=halted.value.state, best_params=halted.value.best_params)
    last_batch = [e for e in events if e["event"] == "batch"][-1]
    assert last_batch["epoch_loss"] == pytest.approx(2.0)    # (1 + 2 + 3) / 3, the halted batch included


def test_a_budget_is_kept_by_a_resume_unless_it_was_what_halted_the_run(tmp_path, tiny_csv):
    out, ckpt = tmp_path / "m.npz", tmp_path / "m.ckpt.npz"
    common = ["train", tiny_csv, "-o", out, "--model", "bow", "--epochs", "30", "--patience", "30", "-q"]
    rc, _, err = run_seqcli(common + ["--max-steps", "3"])
    assert rc == 0 and "reached --max-steps 3" in err
    rc, _, err = run_seqcli(["train", tiny_csv, "-o", out, "--resume", ckpt, "--max-steps", "5", "-q"])
    assert rc == 0 and "reached --max-steps 5" in err
    # a run stopped by Ctrl-C keeps its budget: make the checkpoint say so
    from seqcli import persist

    header, arrays = persist.load_model(ckpt)
    header["halted"] = "interrupted"
    header["params"]["max_steps"] = 7
    persist.save_model(ckpt, "checkpoint", {k: v for k, v in header.items() if k not in
                                            ("format", "format_version", "seqcli_version", "kind")}, arrays)
    rc, out_json, err = run_seqcli(["train", tiny_csv, "-o", out, "--resume", ckpt, "-q", "--json"])
    assert rc == 0 and "reached --max-steps 7" in err
    # halted by its budget: resuming without one goes on to the end
    rc, out_json, err = run_seqcli(["train", tiny_csv, "-o", out, "--resume", ckpt, "--json", "-q"])
    assert rc == 0 and "halted" not in json.loads(out_json) and not ckpt.exists()


def test_without_validation_data_the_figures_are_labelled_as_training_figures(tmp_path, tiny_csv):
    rc, _, err = run_seqcli(["train", tiny_csv, "-o", tmp_path / "m.npz", "--val-split", "0", "--epochs", "2"])
    assert rc == 0
    lines = [line for line in err.splitlines() if line.startswith("epoch ")]
    assert lines and all("train_loss" in line and "val_" not in line for line in lines)
