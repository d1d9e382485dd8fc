"""The training loop shared by every task: batches, epochs, clipping, validation, early stopping.

The loop knows nothing about text, tasks or model kinds. It is given a ``net`` (with ``params``), an
optimizer, and three callables:

- ``make_batches(epoch) -> list``: the batches of one epoch (deterministic given the epoch, so a
  resumed run sees exactly the batches the interrupted run would have seen);
- ``step_loss(batch, rng) -> (loss, grads, n_rows, n_tokens)``: forward + backward on one batch;
- ``evaluate() -> dict``: validation figures, at least ``{"loss": float}``. The best weights and early
  stopping follow the validation loss, or the figure's ``"objective"`` when it has one (lower is
  better: a tagger's error rate, since its accuracy keeps improving after its loss has turned).

With ``lr_decay`` the learning rate is multiplied by it after every validation that does not improve
(``TrainState.lr`` keeps the rate in force, so a resumed run goes on with it).

It reports progress through ``report(event: dict)`` (the UI draws it; tests pass a list.append) and
never prints. Everything needed to continue exactly lives in ``TrainState``.
"""

import math
import signal
import time
from dataclasses import dataclass, field

import numpy as np

from seqcli.nn.functional import clip_by_global_norm
from seqcli.training.schedule import lr_factor


@dataclass
class TrainState:
    """Position and memory of a training run; with params and optimizer state, enough to resume."""
    epoch: int = 0              # epoch in progress (0-based)
    batch: int = 0              # next batch index within that epoch
    step: int = 0               # optimizer steps taken so far
    best_loss: float = math.inf    # the best objective (the validation loss unless evaluate names another)
    best_epoch: int = -1
    bad_evals: int = 0          # evaluations since the last improvement (early stopping)
    history: list = field(default_factory=list)
    rng_state: dict | None = None   # dropout RNG (numpy bit generator state)
    finished: bool = False
    stop_reason: str = ""
    seconds: float = 0.0        # time spent training so far, across resumed runs (--max-time is a total)
    epoch_loss: float = 0.0     # sum of the losses of the epoch in progress, and their count, so a resumed
    epoch_batches: int = 0      # run reports the whole epoch's mean loss
    lr: float | None = None     # the learning rate in force when it was decayed (None: the configured one)

    def to_json(self):
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def reuse_freed_memory():
    """Ask glibc to keep freed large blocks for reuse instead of returning them to the system.

    Why: every forward pass allocates its caches (for an LSTM at B 32, H 128, T 40 about 5 MB);
    glibc serves blocks that large with mmap and unmaps them on free, so the next pass pays a
    page fault per 4 KB again. That measured 6.0 ms vs 3.8 ms per LSTM forward here (torch avoids
    it with a caching allocator). Raising the mmap and trim thresholds makes freed blocks reusable.
    Only affects this process; a no-op where glibc's mallopt is not available.
    """
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    return bool(mallopt(M_MMAP_THRESHOLD, 1 << 30) and mallopt(M_TRIM_THRESHOLD, 1 << 30))


class Halted(Exception):
    """Training stopped before its end (Ctrl-C, --max-steps, --max-time); ``state`` can resume it."""

    def __init__(self, reason, state, best_params):
        super().__init__(reason)
        self.reason, self.state, self.best_params = reason, state, best_params


class Diverged(Exception):
    """The loss became NaN or infinite; the best weights so far are kept."""


class _InterruptFlag:
    """Turns the first Ctrl-C into a flag checked between batches, so an update is never cut in
    half; a second Ctrl-C raises KeyboardInterrupt at once."""

    def __init__(self):
        self.set = False
        self._old = None

    def __enter__(self):
        try:
            self._old = signal.signal(signal.SIGINT, self._handler)
        except ValueError:  # not the main thread (e.g. a joblib worker): no handler
            self._old = None
        return self

    def _handler(self, signum, frame):
        if self.set:
            raise KeyboardInterrupt
        self.set = True

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
        return False


def run(net, optimizer, make_batches, step_loss, evaluate, cfg, report=None, state=None,
        best_params=None, on_best=None, eval_every=None, lr_decay=None):
    """Train ``net`` in place until ``cfg.epochs`` are done or early stopping triggers.

    cfg: a TrainConfig (epochs, lr, warmup, clip, patience, seed, max_steps, max_time used here); the
    optimizer's step size follows ``lr`` times the schedule's factor (training/schedule.py).
    state: a TrainState to resume from (params and optimizer must already be restored),
    best_params: the best parameters of that run so far (resume only).
    on_best(params): called with a copy of the parameters each time validation improves.
    eval_every: also validate every this many steps (language models); None = once per epoch.
    lr_decay: multiply the optimizer's learning rate by this after a validation without improvement.
    Returns (state, best_params). Raises Halted (resumable) or Diverged.
    """
    run = _Run(net, optimizer, step_loss, evaluate, cfg, report or (lambda event: None), state or TrainState(),
               best_params, on_best, lr_decay)
    state = run.state
    with _InterruptFlag() as interrupt:
        while state.epoch < cfg.epochs:
            if run.epoch(make_batches(state.epoch), interrupt, eval_every):
                n = cfg.patience
                state.stop_reason = f"early stopping: no improvement in {n} evaluation{'s' if n != 1 else ''}"
                break
    if not state.stop_reason:
        state.stop_reason = f"finished {cfg.epochs} epochs"
    state.finished = True
    run.keep_place()
    net.params.update({k: v.copy() for k, v in run.best_params.items()})
    return state, run.best_params


class _Run:
    """One call of ``run``: its state, the best weights, the dropout RNG and the clock."""

    def __init__(self, net, optimizer, step_loss, evaluate, cfg, report, state, best_params, on_best, lr_decay):
        self.net, self.optimizer, self.step_loss, self.evaluate = net, optimizer, step_loss, evaluate
        self.cfg, self.report, self.state, self.on_best, self.lr_decay = cfg, report, state, on_best, lr_decay
        reuse_freed_memory()
        self.rng = np.random.default_rng(cfg.seed + 7919)
        if state.rng_state is not None:
            self.rng.bit_generator.state = state.rng_state
        self.best_params = {k: v.copy() for k, v in (best_params or net.params).items()}
        if state.lr is not None:
            optimizer.lr = state.lr
        self.started, self.seconds_before, self.steps_at_start = time.monotonic(), state.seconds, state.step
        self.warmup = getattr(cfg, "warmup", None)

    def spent(self):
        """Seconds of training so far, resumed parts included (--max-time is a total)."""
        return self.seconds_before + time.monotonic() - self.started

    def keep_place(self):
        """Store what a resumed run needs to go on exactly: the RNG's place and the time spent."""
        self.state.rng_state = self.rng.bit_generator.state
        self.state.seconds = self.spent()

    def epoch(self, batches, interrupt, eval_every):
        """Train on the rest of one epoch's ``batches`` and validate; True when early stopping triggers."""
        state = self.state
        if state.batch == 0:
            state.epoch_loss, state.epoch_batches = 0.0, 0
        self.report({"event": "epoch_start", "epoch": state.epoch, "epochs": self.cfg.epochs,
                     "batches": len(batches), "batch": state.batch})
        stop_early = False
        while state.batch < len(batches) and not stop_early:
            halt = _halt_reason(interrupt, self.cfg, state, self.spent(), self.steps_at_start)
            if halt:
                self.keep_place()
                raise Halted(halt, state, self.best_params)
            self.step(batches[state.batch], len(batches))
            if eval_every and state.step % eval_every == 0 and state.batch < len(batches):
                stop_early = self.validate({"epoch": state.epoch + 1, "step": state.step})
        if not stop_early:
            stop_early = self.validate({"epoch": state.epoch + 1, "step": state.step})
        state.epoch += 1
        state.batch = 0
        return stop_early

    def step(self, batch, n_batches):
        """Forward, backward, clipping and one optimizer step on ``batch``; reported as a "batch" event."""
        state, optimizer = self.state, self.optimizer
        tick = time.perf_counter()
        loss, grads, n_rows, n_tokens = self.step_loss(batch, self.rng)
        if not math.isfinite(loss):
            raise Diverged(f"the loss became {loss} at step {state.step + 1} "
                           f"(epoch {state.epoch + 1}); try a smaller --lr")
        norm = clip_by_global_norm(grads, self.cfg.clip)
        if self.warmup:
            optimizer.lr = self.cfg.lr * lr_factor(state.step + 1, self.warmup)
        optimizer.step(self.net.params, grads)
        state.step += 1
        state.batch += 1
        state.epoch_loss += loss
        state.epoch_batches += 1
        self.report({"event": "batch", "epoch": state.epoch, "batch": state.batch, "batches": n_batches,
                     "loss": loss, "grad_norm": norm, "rows": n_rows, "tokens": n_tokens,
                     "seconds": time.perf_counter() - tick, "step": state.step,
                     "epoch_loss": state.epoch_loss / state.epoch_batches, "lr": getattr(optimizer, "lr", None)})

    def validate(self, where):
        """Evaluate, keep the best weights, count evaluations without improvement (decaying the rate
        if asked); True when early stopping triggers."""
        state, optimizer = self.state, self.optimizer
        figures = self.evaluate()
        figures.update(where)
        if state.epoch_batches:   # the training loss of the epoch so far, for the history's curves
            figures["train_loss"] = state.epoch_loss / state.epoch_batches
        state.history.append(figures)
        improved = objective(figures) < state.best_loss - 1e-7
        if improved:
            state.best_loss, state.best_epoch, state.bad_evals = objective(figures), state.epoch, 0
            self.best_params.update({k: v.copy() for k, v in self.net.params.items()})
            if self.on_best is not None:
                self.on_best(self.best_params)
        else:
            state.bad_evals += 1
            if self.lr_decay is not None and state.bad_evals <= self.cfg.patience:
                optimizer.lr = state.lr = optimizer.lr * self.lr_decay
        if self.lr_decay is not None:
            figures["lr"] = optimizer.lr
        self.report({"event": "eval", "improved": improved, **figures})
        return state.bad_evals >= self.cfg.patience


def objective(figures):
    """What picks the best weights and drives early stopping: ``figures["objective"]`` when a job gives
    one, else the validation loss (lower is better either way)."""
    return figures.get("objective", figures["loss"])


def _halt_reason(interrupt, cfg, state, spent, steps_at_start):
    """Why to stop before the next batch ("" to go on). --max-steps and --max-time are totals over the
    whole run, resumed parts included; a run always takes at least one step."""
    if interrupt.set:
        return "interrupted"
    if cfg.max_steps is not None and state.step >= cfg.max_steps:
        return f"reached --max-steps {cfg.max_steps}"
    if cfg.max_time is not None and spent >= cfg.max_time and state.step > steps_at_start:
        return f"reached --max-time {cfg.max_time:g}s"
    return ""
