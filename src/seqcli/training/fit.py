"""The one path from a task's job to a trained model: optimizer, resume, best model, halt, divergence.

A task (tasks/classify.py, tasks/lm.py) builds a *job* and ``fit`` trains it. The job supplies only
what differs between tasks:

    job.model             the fitted-model object being trained (``models.save`` writes it); its
                          ``net.params`` are the weights the loop updates in place
    job.cfg               a TrainConfig with every value set (epochs, lr, clip, patience, budgets, ...)
    job.identity          {"task", "model", "params", "data_sha256"}: what a checkpoint needs to
                          rebuild the same job from the same data
    job.make_batches(epoch), job.step_loss(batch, rng), job.evaluate()   (see training/loop.py)
    job.eval_every        validate every this many steps as well (None: once per epoch)
    job.validate_on_halt  validate where a halted run stopped when that is past the last validation
    job.lr_decay          (optional) the learning rate's factor after a validation without improvement
    job.show(event)       the event the display is given (a task may translate its epochs)
    job.evaluates_on      "validation", or "training" when there is no validation data (the labels say so)
    job.extra_state() -> (arrays, meta) and job.set_extra_state(arrays, meta): state of the task's own
                          that a checkpoint must carry (a language model's recurrent state)
    job.param_scales      optional: ``param_scales(epoch) -> {name: scale}``, what trains in that epoch
                          (0 = frozen, a 0/1 mask, or a learning-rate factor; see nn/optim.py). Frozen
                          weights get no update, no weight decay, and no say in the clipping norm.
    job.blas_threads      BLAS threads while it trains (Job's default: 1; None = numpy's default)
    job.shards(batch, n), job.shard_loss(shard, rng), job.join_shards(extras)
                          how ``--workers`` splits a batch and weighs the parts (training/workers.py;
                          Job's versions serve batches that are index arrays)

Why one BLAS thread by default, for every task: a training step is many small products (a batch of
32 columns, a few hundred units), which two BLAS threads barely share even on an idle machine, and
when another process keeps a core busy OpenBLAS's threads wait for each other: on this 2-core machine
under load (about 4) a step of the rt-polarity LSTM classifier took 178 ms with 2 threads against 22 ms
with one, a character LM's 480 against 103 ms, a bag-of-words step 0.44 against 0.31 ms, a Transformer
classifier's 205 against 21 ms (bench/bench_train_step.py). On an idle machine two threads gained 13%
(LSTM classifier), 27% (1x256 character LM) and nothing (Transformer): far less than they lose under
load. More cores are for more processes, not for more BLAS threads.

``fit`` sets ``job.state`` to the live TrainState before training. It writes the model at its best
weights to ``output`` each time validation improves, and on a halt (Ctrl-C, --max-steps, --max-time)
writes the checkpoint that ``--resume`` continues from. It never prints.
"""

import time
from dataclasses import dataclass

from seqcli.errors import SeqcliError
from seqcli.training import checkpoint, loop


class Job:
    """The defaults of the job protocol for a task whose job has nothing to translate for the display
    and no state of its own for a checkpoint (classify, tag and seq2seq jobs inherit them)."""

    eval_every = None
    validate_on_halt = False
    blas_threads = 1   # see the module docstring

    def show(self, event):
        return event

    # -- data-parallel steps (training/workers.py) --------------------------------------------------
    loss_per = "tokens"   # what step_loss's loss is a mean over: "tokens" or "rows"
    worth_splitting = True   # whether --workers 0 (auto) shares its steps among the cores

    def shards(self, batch, n):
        """``batch`` (an index array) cut into at most ``n`` non-empty parts, in order."""
        import numpy as np

        return [part for part in np.array_split(np.asarray(batch), n) if len(part)]

    def shard_loss(self, shard, rng):
        """step_loss of one part, with the denominator of its mean loss and nothing to join."""
        loss, grads, rows, tokens = self.step_loss(shard, rng)
        return loss, grads, rows, tokens, self.shard_weight(shard, rows, tokens), None

    def shard_weight(self, shard, rows, tokens):
        return rows if self.loss_per == "rows" else tokens

    def join_shards(self, extras):
        pass

    def extra_state(self):
        return {}, {}

    def set_extra_state(self, arrays, meta):
        pass


class DivergedError(SeqcliError):
    """Training diverged (the loss became NaN or infinite); the best weights so far are kept."""


@dataclass
class Outcome:
    """How a fit ended."""
    state: loop.TrainState
    halted: str | None           # why training stopped before its end, or None
    checkpoint: str | None       # the checkpoint written on a halt (None without an output file)
    rows: int = 0                # rows and tokens (a language model's: characters) trained on in this run
    tokens: int = 0
    seconds: float = 0.0         # time spent in the loop (validation included)
    workers: int = 1             # processes that shared each step (--workers)

    @property
    def has_model(self):
        """Whether some validation has picked best weights (False: halted before the first one)."""
        return self.state.best_epoch >= 0


def fit(job, output=None, resume=None, report=None):
    """Train ``job`` (see the module docstring); returns an Outcome, the net at its best weights.

    output: model file to keep up to date (None: nothing is written, as for scikit-learn estimators).
    resume: a checkpoint.ResumePoint of a halted run of this very job.
    Raises DivergedError (a SeqcliError) when training diverges.
    """
    from seqcli.training import workers

    n = workers_for(job)
    given = (getattr(job, "identity", None) or {}).get("params") or {}
    if given.get("workers") == 0:   # auto: a resumed run goes on with as many, wherever it runs
        given["workers"] = n
    with _blas_threads(getattr(job, "blas_threads", 1)):   # validation and the halt's too
        if n == 1:
            return _fit(job, output, resume, report, job.step_loss)
        with workers.Pool(job, n, job.cfg.seed) as pool:
            try:
                outcome = _fit(job, output, resume, report, pool.step_loss)
                outcome.workers = n
                return outcome
            except workers.WorkerError as exc:
                kept = f"; the best weights so far are in {output}" if output is not None and (
                    job.state.best_epoch >= 0) else ""
                raise workers.WorkerError(f"{exc}{kept}") from None


# Auto (--workers 0) splits a step among the cores when its work, the batch's rows times the weights
# other than embedding tables, reaches SPLIT_FROM. Step time of one process / two on this 2-core
# machine (bench/bench_workers.py: 40 batches of each task's default model), idle -> busy with one
# other 2-thread job: rt-polarity LSTM classifier, hidden 128 (4.2 M) 1.22 -> 0.93x; hidden 256 (17 M)
# 1.34x; 1x256 character LM (11 M) 1.60 -> 1.31x; EWT tagger (12 M) 1.46 -> 0.99x; CMUdict seq2seq
# (68 M) 1.46 -> 1.26x; Transformer classifier (1 M) 1.14x; hidden 16-64 (0.1-1.1 M) 0.5-1.0x. Under
# heavier load (three other busy processes) two processes lost 8-29% everywhere: hence one by default.
SPLIT_FROM = 8_000_000


def workers_for(job):
    """How many processes train ``job``: its ``--workers``, or when that is 0 (auto) one per core (at
    most 8) if a step is worth splitting (see SPLIT_FROM; never for a bag-of-words model, whose step is
    a fraction of a millisecond), else one; never more than a batch has rows. Raises SeqcliError for
    several workers where processes cannot be forked."""
    from seqcli.training import workers

    n = int(getattr(job.cfg, "workers", 1))
    if n == 0:
        work = job.cfg.batch_size * sum(v.size for k, v in job.model.net.params.items() if not k.endswith(".E"))
        split = workers.available() and getattr(job, "worth_splitting", True) and work >= SPLIT_FROM
        n = min(workers.default_workers(), 8) if split else 1
    if n > 1 and not workers.available():
        raise SeqcliError("--workers needs Linux (forked processes); use --workers 1 here", exit_code=2)
    return max(1, min(n, job.cfg.batch_size))


def _fit(job, output, resume, report, step_loss_of):
    from seqcli import models
    from seqcli.nn.optim import make_optimizer

    report = report or (lambda event: None)
    net, cfg = job.model.net, job.cfg
    optimizer = make_optimizer(cfg.optimizer, cfg.lr, cfg.weight_decay)
    best = _start(job, optimizer, resume)
    ckpt = checkpoint.path_for(output) if output is not None else None

    def save_best(params):
        if output is not None:
            with_params(net, params, lambda: models.save(output, job.model))

    def shown(event):
        report(job.show(event))

    seen = {"rows": 0, "tokens": 0, "started": time.perf_counter()}
    scales = getattr(job, "param_scales", None)

    def make_batches(epoch):
        if scales is not None:   # the loop asks at every epoch's start, a resumed one included
            optimizer.scale = scales(epoch)
        return job.make_batches(epoch)

    def step_loss(batch, rng):
        loss, grads, rows, tokens = step_loss_of(batch, rng)
        grads = optimizer.trainable(grads)
        seen["rows"] += rows
        seen["tokens"] += tokens
        return loss, grads, rows, tokens

    def outcome(state, halted, path):
        return Outcome(state, halted, path, seen["rows"], seen["tokens"], time.perf_counter() - seen["started"])

    try:
        state, _ = loop.run(net, optimizer, make_batches, step_loss, job.evaluate, cfg, shown,
                            state=job.state, best_params=best, on_best=save_best, eval_every=job.eval_every,
                            lr_decay=getattr(job, "lr_decay", None))
        return outcome(state, None, None)
    except loop.Halted as halt:
        state, best = halt.state, halt.best_params
        if ckpt is not None:
            checkpoint.save(ckpt, job.identity, _point(job, optimizer, state, best), halt.reason)
        if job.validate_on_halt and _validate_where_stopped(job, state, best, halt.reason, save_best, shown) \
                and ckpt is not None:
            checkpoint.save(ckpt, job.identity, _point(job, optimizer, state, best), halt.reason)
        net.params.update({k: v.copy() for k, v in best.items()})
        return outcome(state, halt.reason, ckpt)
    except loop.Diverged as exc:
        kept = f"; the best weights so far are in {output}" if output is not None and (
            job.state.best_epoch >= 0) else ""
        raise DivergedError(f"training diverged: {exc}{kept}") from None


def _start(job, optimizer, resume):
    """Put ``job`` at its start, or at a halted run's resume point; returns that run's best weights
    (None for a new run)."""
    if resume is None:
        job.state = loop.TrainState()
        return None
    _restore(job, optimizer, resume)
    job.state = resume.state
    # a halted run's look where it stopped (validate_on_halt) is not part of the run that goes on: the
    # resumed run's history is the whole run's
    job.state.history = [h for h in job.state.history if not h.get("final")]
    return resume.best_params


def _blas_threads(n):
    """BLAS limited to ``n`` threads in the block (None: no limit)."""
    import contextlib

    from seqcli.threads import blas_threads

    return contextlib.nullcontext() if n is None else blas_threads(n)


def with_params(net, params, action):
    """Run ``action()`` with ``params`` in the network, then put the live weights back."""
    live = {k: v.copy() for k, v in net.params.items()}
    net.params.update(params)
    try:
        return action()
    finally:
        net.params.update(live)


def _restore(job, optimizer, point):
    """Put a resume point's weights, optimizer moments and extra state into the job."""
    from seqcli.nn import checks

    net = job.model.net
    try:  # the network built from the data and settings must be the checkpoint's
        checks.check_resume(net.params, point.params, point.best_params, point.opt_arrays)
        job.set_extra_state(point.extra_arrays, point.extra_meta)
    except (KeyError, TypeError, ValueError) as exc:
        raise SeqcliError(f"{point.source or '--resume'}: damaged checkpoint, or not of this run ({exc})") from None
    net.params.update({k: v.astype(net.params[k].dtype) for k, v in point.params.items()})
    optimizer.load_state(point.opt_arrays, point.opt_meta)


def _point(job, optimizer, state, best):
    opt_arrays, opt_meta = optimizer.state_arrays()
    extra_arrays, extra_meta = job.extra_state()
    return checkpoint.ResumePoint({k: v.copy() for k, v in job.model.net.params.items()}, best,
                                  opt_arrays, opt_meta, state, extra_arrays, extra_meta)


def _validate_where_stopped(job, state, best, reason, save_best, shown):
    """Validate at the step where training stopped, when that is past the last validation (after
    Ctrl-C only when nothing was validated yet: the user wants out at once). Keeps the weights when
    they are the best so far. Returns whether it validated."""
    last = state.history[-1].get("step") if state.history else None
    if state.step == 0 or (state.history and (reason == "interrupted" or last == state.step)):
        return False
    figures = job.evaluate()
    figures.update(epoch=state.epoch + 1, step=state.step, final=True)
    state.history.append(figures)
    improved = loop.objective(figures) < state.best_loss - 1e-7
    if improved:
        state.best_loss, state.best_epoch = loop.objective(figures), state.epoch
        best.update({k: v.copy() for k, v in job.model.net.params.items()})
        save_best(best)
    shown({"event": "eval", "improved": improved, **figures})
    return True
