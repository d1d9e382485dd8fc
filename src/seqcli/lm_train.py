"""Training a character language model: ``seqcli train CORPUS --task lm``.

The corpus (UTF-8, BOM dropped, CRLF read as LF; ``data.read_corpus``) is split by position: the first
(1 - val_split) of its characters train, the rest validate. Its Unicode characters are the vocabulary.

Stateful batching (truncated BPTT): the training text is cut into ``batch_size`` contiguous streams, one
per column of a batch, and each stream is read in windows of ``seq_len`` steps; the state at the end of
one window is the initial state of the next (no gradient flows back across the cut). The streams
partition the prediction targets exactly -- every training character after the first is predicted once
per epoch -- so when the length does not divide evenly, the shorter streams are masked in the last
window (``Streams``). The state restarts from zeros at every epoch.

Validation reads the validation text the same way (in 64 streams) and reports nats per character and
bits per character (nats / ln 2). Each validation stream first re-reads up to ``WARMUP`` characters
before its start without scoring them, so the figure hardly depends on where the text was cut.
Validation runs every ``eval_every`` steps (by default about every 500,000 training characters, and at
least once an epoch; it costs about 8% of the time on tinyshakespeare) and where training stops. It reads
the whole validation text, or its first 150,000 characters when it is longer (then the final figure is
computed on the whole of it); the best parameters by validation loss are written to the output file at
once.

The loop itself is ``seqcli.train.run`` (epochs, clipping, Ctrl-C, --max-steps / --max-time, early
stopping); this module supplies the batches, the loss and the evaluation, and writes checkpoints the way
``api.train_classifier`` does, plus the carried recurrent state, so ``--resume`` continues exactly.
"""

import contextlib
import hashlib
import math
import os
import time
from dataclasses import dataclass

import numpy as np

from seqcli.errors import SeqcliError

LM_DEFAULTS = {
    "cell": "lstm", "embed": 64, "hidden": 256, "layers": 1, "dropout": 0.15,
    "seq_len": 100, "batch_size": 32, "lr": 3e-3, "optimizer": "adam", "weight_decay": 0.0,
    "clip": 5.0, "epochs": 20, "patience": 3, "val_split": 0.1, "seed": 0,
    "eval_every": None, "max_steps": None, "max_time": None, "threads": 1,
}
"""Hyperparameters of a language model run; ``None`` in ``params`` means "use this default"."""

EVAL_CHARS = 500_000       # validate about every this many training characters (at least once an epoch)
VAL_STREAMS = 64           # columns of the validation batch
VAL_MAX_CHARS = 150_000    # periodic validation reads at most this much of the validation text
WARMUP = 100               # context each validation stream re-reads before its first scored character
SAMPLE_CHARS = 80          # length of the sample shown with every validation
_LN2 = math.log(2.0)


def _quiet(message):
    pass


def blas_threads(n):
    """Limit BLAS to ``n`` threads inside the block (a no-op without threadpoolctl).

    A character model's products are small (a batch is a few dozen columns), so extra BLAS threads
    gain little even on an idle machine, and on a busy one OpenBLAS's spinning threads made training
    3-4x slower here (5,000 against 16,000-24,000 characters/s for a 1x256 LSTM); one thread is the
    robust default.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=int(n), user_api="blas")


# ------------------------------------------------------------------------------------------ streams

@dataclass
class Streams:
    """A text laid out as ``m`` contiguous streams, one per column, for stateful batching.

    X, Y: (L, m) input and target ids (Y[t, i] is the character after X[t, i]); mask: (L, m) bool,
    True where the stream has a step (False after a shorter stream's end: the state is carried);
    score: (L, m) bool, True where the target is counted (mask minus the warm-up steps);
    starts, lengths: (m,) the first scored target position in the text and the number of scored
    targets of each stream. The scored targets of all streams are positions 1 .. n-1, each once.
    """
    X: np.ndarray
    Y: np.ndarray
    mask: np.ndarray
    score: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray

    def windows(self, seq_len):
        return -(-self.X.shape[0] // seq_len)

    def window(self, w, seq_len):
        """(X, Y, mask or None, score or None) of window ``w``; None where every step is real."""
        sl = slice(w * seq_len, (w + 1) * seq_len)
        mask, score = self.mask[sl], self.score[sl]
        return (self.X[sl], self.Y[sl], None if mask.all() else mask, None if score.all() else score)


def make_streams(ids, m, warmup=0):
    """Lay ``ids`` (n,) out as ``min(m, n-1)`` streams whose targets partition positions 1..n-1.

    Stream lengths differ by at most one (the longer ones first). With ``warmup`` > 0 each stream also
    re-reads up to that many characters before its first target, unscored (validation).
    """
    ids = np.asarray(ids)
    n_t = len(ids) - 1
    if n_t < 1:
        raise ValueError("a text needs at least two characters to predict one")
    m = max(1, min(int(m), n_t))
    q, r = divmod(n_t, m)
    lengths = np.array([q + 1] * r + [q] * (m - r), dtype=np.int64)
    starts = 1 + np.concatenate([[0], np.cumsum(lengths)[:-1]])
    pre = np.minimum(warmup, starts - 1)
    total = lengths + pre
    L = int(total.max())
    dtype = np.uint8 if ids.max(initial=0) < 256 else (np.uint16 if ids.max() < 65536 else np.int32)
    X, Y = np.zeros((L, m), dtype), np.zeros((L, m), dtype)
    mask, score = np.zeros((L, m), bool), np.zeros((L, m), bool)
    for i in range(m):
        a, k = starts[i] - pre[i], total[i]   # first target position read, steps in this stream
        X[:k, i] = ids[a - 1: a - 1 + k]
        Y[:k, i] = ids[a: a + k]
        mask[:k, i] = True
        score[pre[i]:k, i] = True
    return Streams(X, Y, mask, score, starts, lengths)


def mean_nll(net, streams, window=256):
    """Mean negative log-likelihood (nats per character) of the scored targets of ``streams``."""
    mask = None if streams.mask.all() else streams.mask.astype(np.float64)
    nll, _ = net.nll(streams.X, streams.Y, mask=mask, window=window)
    return float((nll * streams.score).sum() / streams.score.sum())


# ------------------------------------------------------------------------------------------- train

def fill_defaults(params):
    """``params`` with unset (None or missing) values taken from LM_DEFAULTS; checks the values."""
    p = dict(LM_DEFAULTS)
    if params.get("model") is not None and params.get("cell") is None:
        params = {**params, "cell": params["model"]}
    p.update({k: v for k, v in params.items() if k in LM_DEFAULTS and v is not None})
    if params.get("bidirectional"):
        raise SeqcliError("a language model reads left to right: --bidirectional does not apply")
    if p["cell"] not in ("rnn", "gru", "lstm"):
        raise SeqcliError(f"--task lm needs a recurrent model (rnn, gru or lstm), not {p['cell']!r}")
    for key in ("embed", "hidden", "layers", "seq_len", "batch_size", "epochs"):
        if int(p[key]) < 1:
            raise SeqcliError(f"{key.replace('_', '-')} must be at least 1")
    if not 0 <= p["val_split"] < 1:
        raise SeqcliError("--val-split must be at least 0 and below 1")
    if p["optimizer"] not in ("adam", "sgd"):
        raise SeqcliError(f"unknown optimizer {p['optimizer']!r} (choose adam or sgd)")
    return p


def corpus_fingerprint(text):
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def train_lm(corpus, output, params=None, resume=None, report=None, notify=_quiet, info=None):
    """Train a character language model on the text file ``corpus`` and write it to ``output``.

    params: hyperparameters (keys of LM_DEFAULTS; "model" is accepted for "cell"; None = default).
    resume: a checkpoint written by an earlier, halted run (only max_steps / max_time may change).
    report(event): progress events (train.run's "epoch_start" / "batch" / "eval", plus
    {"event": "sample", "step", "text"} just before each "eval"). notify(str): one-line notes.
    info(str): notes that only describe the run (the corpus size), not a problem; default notify,
    so ``-q`` can silence them and keep the warnings.
    Returns a summary dict; the same, minus timings, is stored in the model file. When training
    halts early (Ctrl-C, --max-steps, --max-time) the summary has "halted" and "checkpoint".
    Raises SeqcliError.
    """
    threads = (params or {}).get("threads") or LM_DEFAULTS["threads"]
    with blas_threads(threads):
        return _train_lm(corpus, output, params, resume, report, notify, notify if info is None else info)


def _train_lm(corpus, output, params, resume, report, notify, info):
    from seqcli import data, predictors, train
    from seqcli.charlm import CharLMModel, ngram_set, start_context
    from seqcli.config import TrainConfig
    from seqcli.nn import checks
    from seqcli.nn.charlm import CharLMNet
    from seqcli.nn.optim import make_optimizer

    report = report or (lambda event: None)
    params = dict(params or {})
    point = None
    if resume is not None:
        params, point = _read_checkpoint(resume, params)
    p = fill_defaults(params)

    text = data.read_corpus(corpus)
    name = data.display_name(corpus)
    fingerprint = corpus_fingerprint(text)
    if point is not None and point["data_sha256"] != fingerprint:
        raise SeqcliError(f"{resume}: this checkpoint was made on another corpus than {name}; "
                          "resume with the same file")
    n = len(text)
    n_val = int(round(n * p["val_split"])) if p["val_split"] > 0 else 0
    if 0 < n_val < 2 or n - n_val < 2:
        n_val = 0
    train_text, val_text = text[: n - n_val], text[n - n_val:]
    if len(train_text) < 2:
        raise SeqcliError(f"{name}: {n} character{'s' if n != 1 else ''}; a language model needs at least two")
    chars, counts = CharLMModel.vocabulary(text)
    if p["val_split"] > 0 and n_val == 0:
        notify(f"{name}: too short to hold out validation text; validating on the training text")
    info(f"{name}: {n:,} characters, {len(chars)} distinct; training on the first {len(train_text):,}"
           + (f", validating on the last {n_val:,}" if n_val else ""))

    net = CharLMNet(len(chars), p["cell"], p["embed"], p["hidden"], p["layers"], p["dropout"], p["seed"])
    ngrams, keep_bits = ngram_set(train_text)
    model = CharLMModel(chars, net, counts, ngrams, keep_bits, start_context(train_text))
    ids = model.encode(text)
    B, T = int(p["batch_size"]), int(p["seq_len"])
    streams = make_streams(ids[: len(train_text)], B)
    B = streams.X.shape[1]
    n_windows = streams.windows(T)
    if n_val:
        val_ids = ids[len(train_text) - 1:]          # starts one back: the first val char is a target
        val_full = make_streams(val_ids, VAL_STREAMS, WARMUP)
        val_part = (make_streams(val_ids[: VAL_MAX_CHARS + 1], VAL_STREAMS, WARMUP)
                    if len(val_ids) > VAL_MAX_CHARS + 1 else val_full)
    else:  # nothing held out: watch the training text (as classifiers do)
        val_full = val_part = make_streams(ids[: len(train_text)], VAL_STREAMS, WARMUP)
    # train.run's "epochs" are evaluation periods of ``period`` windows over the endless sequence of
    # windows (text epoch after text epoch), so validation comes every ``period`` steps exactly,
    # however the text's length divides; events are translated back to text epochs for the display.
    text_epochs = int(p["epochs"])
    total = text_epochs * n_windows
    period = int(p["eval_every"] or min(n_windows, max(1, round(EVAL_CHARS / (B * T)))))
    cfg = TrainConfig(epochs=-(-total // period), batch_size=B, lr=float(p["lr"]), optimizer=p["optimizer"],
                      clip=float(p["clip"]), weight_decay=float(p["weight_decay"]),
                      patience=int(p["patience"]), val_split=float(p["val_split"]), seed=int(p["seed"]),
                      max_steps=p["max_steps"], max_time=p["max_time"])
    optimizer = make_optimizer(cfg.optimizer, cfg.lr, cfg.weight_decay)
    carry = {"state": None}
    state = best = None
    if point is not None:
        try:  # the network built from the corpus and settings must be the checkpoint's
            checks.check_resume(net.params, point["cur"], point["best"], point["opt"])
        except ValueError as exc:
            raise SeqcliError(f"{resume}: damaged checkpoint ({exc})") from None
        net.params.update({k: v.astype(net.dtype) for k, v in point["cur"].items()})
        optimizer.load_state(point["opt"], point["opt_meta"])
        state, best = point["state"], point["best"]
        carry["state"] = point["carry"]

    def make_batches(k):
        return range(k * period, min(total, (k + 1) * period))   # global window numbers

    def step_loss(g, rng):
        w = g % n_windows
        if w == 0 or carry["state"] is None:   # a new text epoch: the streams start again from zeros
            carry["state"] = net.zero_state(B)
        X, Y, mask, _ = streams.window(w, T)
        loss, grads, carry["state"] = net.loss(X, Y, carry["state"], mask, rng)
        chars_in = X.size if mask is None else int(mask.sum())
        return loss, grads, B, chars_in

    def evaluate():
        nats = mean_nll(net, val_part)
        seen = state_ref["state"].step if state_ref["state"] is not None else 0
        report({"event": "sample", "text": _sample(model, p["seed"], seen), "step": seen})
        return {"loss": nats, "bpc": nats / _LN2}

    state_ref = {"state": state}

    def with_params(params_, action):
        live = {k: v.copy() for k, v in net.params.items()}
        net.params.update(params_)
        try:
            return action()
        finally:
            net.params.update(live)

    def save_best(params_):
        with_params(params_, lambda: predictors.save(output, model))

    def shown(event):
        """train.run's events in text epochs: "epoch" is 0-based in epoch_start / batch events and
        the (fractional) number of epochs done in eval events."""
        kind = event["event"]
        if kind in ("epoch_start", "batch"):
            first = event["epoch"] * period
            event = {**event, "epoch": first // n_windows, "epochs": text_epochs}
        elif kind == "eval":
            event = {**event, "epoch": round(event["step"] / n_windows, 2)}
        report(event)

    ckpt = _checkpoint_path(output)
    started = time.perf_counter()
    halted = None
    if state is None:
        state = train.TrainState()
        state_ref["state"] = state
    try:
        state, best = train.run(net, optimizer, make_batches, step_loss, evaluate, cfg, shown,
                                state=state, best_params=best, on_best=save_best)
        if state.stop_reason.startswith("finished"):
            state.stop_reason = f"finished {text_epochs} epoch{'s' if text_epochs != 1 else ''}"
    except train.Halted as halt:
        halted, state, best = halt.reason, halt.state, halt.best_params
        _write_checkpoint(ckpt, net, optimizer, state, best, carry["state"], p, fingerprint)
        # validate where training stopped (it may be past the last validation) and keep it if
        # better; after Ctrl-C only when nothing was validated yet (the user wants out at once)
        if state.step > 0 and (not state.history or (halted != "interrupted"
                                                     and state.history[-1].get("step") != state.step)):
            figures = evaluate()
            figures.update(epoch=state.epoch + 1, step=state.step, final=True)
            state.history.append(figures)
            improved = figures["loss"] < state.best_loss - 1e-7
            if improved:
                state.best_loss, state.best_epoch = figures["loss"], state.epoch
                best = {k: v.copy() for k, v in net.params.items()}
                save_best(best)
            _write_checkpoint(ckpt, net, optimizer, state, best, carry["state"], p, fingerprint)
            shown({"event": "eval", "improved": improved, **figures})
        net.params.update({k: v.copy() for k, v in best.items()})
    except train.Diverged as exc:
        kept = f"; the best weights so far are in {output}" if os.path.exists(output) else ""
        raise SeqcliError(f"training diverged: {exc}{kept}") from None
    seconds = time.perf_counter() - started

    val_loss = state.best_loss if val_part is val_full else mean_nll(net, val_full)
    if not math.isfinite(val_loss):   # stopped before anything was validated
        val_loss = mean_nll(net, val_full)
    summary = {
        "task": "lm", "model": p["cell"], "n_chars": n, "n_train_chars": len(train_text),
        "n_val_chars": n_val, "evaluated_on": "validation" if n_val else "training",
        "n_vocab": len(chars), "val_loss": round(val_loss, 6), "val_bpc": round(val_loss / _LN2, 6),
        "steps": state.step, "epochs": round(state.step / n_windows, 3),
        "best_step": _best_step(state), "params": {k: v for k, v in p.items() if k not in ("max_steps", "max_time")},
    }
    if halted:
        summary.update(halted=halted, checkpoint=ckpt)
    else:
        summary.update(stopped=state.stop_reason)
        if os.path.exists(ckpt):
            os.unlink(ckpt)  # the run is complete: its resume point is no longer needed
    predictors.save(output, model, training=summary)
    steps_here = state.step - (point["state_step"] if point is not None else 0)
    summary.update(output=output, seconds=round(seconds, 3), n_params=net.n_params(),
                   chars_per_second=round(steps_here * B * T / max(seconds, 1e-9)))
    return summary


def _best_step(state):
    best = [h for h in state.history if h.get("loss") == state.best_loss]
    return best[-1].get("step") if best else None


def _sample(model, seed, step):
    """A short sample from the current weights (own RNG: training's randomness is untouched)."""
    model.weights_changed()
    rng = np.random.default_rng([int(seed), int(step), 17])
    return "".join(model.sample("", SAMPLE_CHARS, temperature=0.8, rng=rng))


# -------------------------------------------------------------------------------------- checkpoints

def _checkpoint_path(output):
    root, ext = os.path.splitext(output)
    return f"{root}.ckpt{ext or '.npz'}"


def _write_checkpoint(path, net, optimizer, state, best, carry, p, fingerprint):
    """Everything --resume needs: current and best weights, optimizer moments, loop position and the
    recurrent state carried into the next window."""
    from seqcli import persist

    arrays = {f"cur.{k}": v for k, v in net.params.items()}
    arrays.update({f"best.{k}": v for k, v in best.items()})
    opt_arrays, opt_meta = optimizer.state_arrays()
    arrays.update({f"opt.{k}": v for k, v in opt_arrays.items()})
    n_carry = 0
    if carry is not None:
        for i, layer in enumerate(carry):
            for j, arr in enumerate(layer):
                arrays[f"carry.{i}.{j}"] = arr
        n_carry = len(carry)
    persist.save_model(path, "checkpoint", {
        "model_kind": "lm", "model": p["cell"], "params": p, "opt_meta": opt_meta,
        "train_state": state.to_json(), "data_sha256": fingerprint, "carry_layers": n_carry,
    }, arrays)


def _read_checkpoint(path, overrides):
    """(params, resume point) from a language model checkpoint; only the bounds of the run change."""
    from seqcli import persist
    from seqcli.train import resume_parts

    header, arrays = persist.load_model(path, {"checkpoint"})
    if header.get("model_kind") != "lm":
        raise SeqcliError(f"{path}: is a checkpoint of a classifier, not of a language model; "
                          "resume it without --task lm")
    try:
        params, state, pick = resume_parts(header, arrays, overrides)
        carry = None
        if header["carry_layers"]:
            carry = []
            for i in range(int(header["carry_layers"])):
                parts = pick(f"carry.{i}.")
                carry.append(tuple(parts[str(j)] for j in range(len(parts))))
        point = {"cur": pick("cur."), "best": pick("best."), "opt": pick("opt."),
                 "opt_meta": header["opt_meta"], "state": state, "carry": carry,
                 "data_sha256": header["data_sha256"], "state_step": state.step}
        return params, point
    except (KeyError, TypeError, ValueError) as exc:
        raise SeqcliError(f"{path}: damaged checkpoint ({exc})") from None
