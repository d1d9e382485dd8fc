"""The training loop keeps the weights of the best objective: the validation loss, or the figure a job
names "objective" (a tagger's error rate), and early stopping counts by the same figure."""

from types import SimpleNamespace

import numpy as np

from seqcli.training import loop


class Net:
    def __init__(self):
        self.params = {"w": np.zeros(1)}


class Step:
    """An optimizer whose step marks the weights with the number of steps taken."""

    def __init__(self):
        self.t = 0

    def step(self, params, grads):
        self.t += 1
        params["w"][:] = self.t


def train(figures, patience=1):
    net, seen = Net(), iter(figures)
    cfg = SimpleNamespace(epochs=len(figures), clip=0, patience=patience, seed=0, max_steps=None, max_time=None)
    state, best = loop.run(net, Step(), lambda epoch: [0], lambda batch, rng: (0.0, {"w": np.zeros(1)}, 1, 1),
                           lambda: dict(next(seen)), cfg)
    return state, best["w"][0]


def test_the_loss_picks_the_best_weights_without_an_objective():
    state, w = train([{"loss": 0.5}, {"loss": 0.4}, {"loss": 0.45}], patience=5)
    assert (state.best_epoch, w, state.best_loss) == (1, 2.0, 0.4)


def test_an_objective_picks_the_best_weights_and_drives_early_stopping():
    figures = [{"loss": 0.5, "objective": 0.10}, {"loss": 0.4, "objective": 0.08},
               {"loss": 0.6, "objective": 0.06}, {"loss": 0.3, "objective": 0.07},
               {"loss": 0.2, "objective": 0.07}, {"loss": 0.1, "objective": 0.01}]
    state, w = train(figures, patience=1)
    assert (state.best_epoch, w, state.best_loss) == (2, 3.0, 0.06)   # the loss was worst there
    # one evaluation without a better objective stops it (patience 1), although the loss improved there
    assert state.epoch == 4 and state.stop_reason.startswith("early stopping")
