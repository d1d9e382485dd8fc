"""One to many: character language models (``seqcli train CORPUS --task lm``; ``generate`` samples them).

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

``--val FILE`` validates on another text (a corpus's official dev part) instead: then the whole corpus
trains.

The loop, the checkpoint and resuming are training/'s (training/fit.py); this module supplies the
batches, the loss, the evaluation and, as the job's extra state, the recurrent state carried into the
next window, so ``--resume`` continues exactly.
"""

import math
from dataclasses import asdict, dataclass
from types import SimpleNamespace

import numpy as np

from seqcli.config import LMConfig, TrainConfig, split_params
from seqcli.errors import SeqcliError

NAME = "lm"
MODELS = ("lstm", "gru", "rnn")
OTHER_DATA = ("another corpus", "file")

EVAL_CHARS = 500_000       # validate about every this many training characters (at least once an epoch)
VAL_STREAMS = 64           # columns of the validation batch
VAL_MAX_CHARS = 150_000    # periodic validation reads at most this much of the validation text
WARMUP = 100               # context each validation stream re-reads before its first scored character
SAMPLE_CHARS = 80          # length of the sample shown with every validation
_LN2 = math.log(2.0)


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


# --------------------------------------------------------------------------------------------- job

def accepts(model):
    """The parameter names a language model run uses (bidirectional: to say why it cannot)."""
    from dataclasses import fields

    return ({f.name for f in fields(LMConfig)} | {f.name for f in fields(TrainConfig)} | {"bidirectional"}) - {
        "class_weight"}


def configs(params):
    """(LMConfig, TrainConfig with the language model's training defaults) from flat ``params``."""
    params = dict(params)
    if params.get("model") is not None and params.get("cell") is None:
        params["cell"] = params["model"]
    if params.get("bidirectional"):
        raise SeqcliError("a language model reads left to right: --bidirectional does not apply")
    if params.get("cell") not in (None, "rnn", "gru", "lstm"):
        raise SeqcliError(f"--task lm needs a recurrent model (rnn, gru or lstm), not {params['cell']!r}")
    model_values, train_values = split_params(params, LMConfig, TrainConfig)
    model_cfg = LMConfig(**model_values)
    return model_cfg, TrainConfig(**train_values).with_defaults(model_cfg)


class LMJob:
    """One language model being trained (the job protocol of training/fit.py).

    train.run's "epochs" are evaluation periods of ``period`` windows over the endless sequence of
    windows (text epoch after text epoch), so validation comes every ``period`` steps exactly, however
    the text's length divides; ``show`` translates events back to text epochs for the display.
    """

    validate_on_halt = True
    unit = "chars"

    def __init__(self, model, mcfg, cfg, streams, val_part, identity, report):
        self.model, self.mcfg, self.identity, self.report = model, mcfg, identity, report
        self.streams, self.val_part = streams, val_part
        self.B, self.T = streams.X.shape[1], mcfg.seq_len
        self.n_windows = streams.windows(self.T)
        self.text_epochs = cfg.epochs
        self.total = cfg.epochs * self.n_windows
        self.period = int(mcfg.eval_every or min(self.n_windows, max(1, round(EVAL_CHARS / (self.B * self.T)))))
        self.eval_every = None
        # the loop's epochs are evaluation periods (not a user's setting, so not bounded as one)
        self.cfg = SimpleNamespace(**{**asdict(cfg), "epochs": -(-self.total // self.period), "batch_size": self.B})
        self.train_cfg = cfg
        self.carry = None   # the recurrent state at the end of the last window
        self.state = None

    def make_batches(self, k):
        return range(k * self.period, min(self.total, (k + 1) * self.period))   # global window numbers

    def step_loss(self, g, rng):
        net, w = self.model.net, g % self.n_windows
        if w == 0 or self.carry is None:   # a new text epoch: the streams start again from zeros
            self.carry = net.zero_state(self.B)
        X, Y, mask, _ = self.streams.window(w, self.T)
        loss, grads, self.carry = net.loss(X, Y, self.carry, mask, rng)
        chars = X.size if mask is None else int(mask.sum())
        return loss, grads, self.B, chars

    def evaluate(self):
        nats = mean_nll(self.model.net, self.val_part)
        step = self.state.step if self.state is not None else 0
        self.report({"event": "sample", "text": _sample(self.model, self.cfg.seed, step), "step": step})
        return {"loss": nats, "bpc": nats / _LN2}

    def show(self, event):
        """The loop's events in text epochs: "epoch" is 0-based in epoch_start / batch events and the
        (fractional) number of epochs done in eval events."""
        kind = event["event"]
        if kind in ("epoch_start", "batch"):
            window = event["epoch"] * self.period + event["batch"]   # global window number
            return {**event, "epoch": window // self.n_windows, "epochs": self.text_epochs,
                    "batch": window % self.n_windows or (self.n_windows if kind == "batch" else 0),
                    "batches": self.n_windows}
        if kind == "eval":
            return {**event, "epoch": round(event["step"] / self.n_windows, 2)}
        return event

    def extra_state(self):
        if self.carry is None:
            return {}, {"carry_layers": 0}
        arrays = {f"carry.{i}.{j}": arr for i, layer in enumerate(self.carry) for j, arr in enumerate(layer)}
        return arrays, {"carry_layers": len(self.carry)}

    def set_extra_state(self, arrays, meta):
        n = int(meta["carry_layers"])
        if n == 0:
            self.carry = None
            return
        self.carry = []
        for i in range(n):
            parts = {k.rsplit(".", 1)[1]: v for k, v in arrays.items() if k.startswith(f"carry.{i}.")}
            self.carry.append(tuple(parts[str(j)].astype(self.model.net.dtype) for j in range(len(parts))))
        want = [tuple(a.shape for a in layer) for layer in self.model.net.zero_state(self.B)]
        if [tuple(a.shape for a in layer) for layer in self.carry] != want:
            raise ValueError("the carried recurrent state does not fit the network")


@dataclass
class Prepared:
    """A language model run read from files: the job and what the final report needs."""
    job: LMJob
    val_full: Streams
    n_chars: int
    n_train: int
    n_val: int
    val_source: str | None


def prepare(corpus, model, params, columns=None, val=None, notify=None, info=None, report=None):
    """Read the corpus (and the --val text), split, and build the job. Raises SeqcliError.

    model: the cell (rnn, gru, lstm); columns: unused (a corpus is plain text).
    notify(str): warnings; info(str): notes that only describe the run (the corpus size);
    report(event): where the job's samples go (the display).
    """
    from seqcli import data
    from seqcli.models.charlm import CharLMModel, ngram_set, start_context
    from seqcli.models.seen import BloomFilter
    from seqcli.nn.lmnet import CharLMNet
    from seqcli.training import checkpoint

    notify = notify or (lambda message: None)
    info = info or notify
    mcfg, cfg = configs({**params, "cell": model})
    text = data.read_corpus(corpus)
    name = data.display_name(corpus)
    val_text = data.read_corpus(val) if val is not None else None
    n = len(text)
    if val_text is not None:
        train_text = text
    else:
        n_val = int(round(n * cfg.val_split)) if cfg.val_split > 0 else 0
        if 0 < n_val < 2 or n - n_val < 2:
            n_val = 0
        train_text, val_text = text[: n - n_val], text[n - n_val:]
        if cfg.val_split > 0 and n_val == 0:
            notify(f"{name}: too short to hold out validation text; validating on the training text")
    if len(train_text) < 2:
        raise SeqcliError(f"{name}: {n} character{'s' if n != 1 else ''}; a language model needs at least two")
    chars, counts = CharLMModel.vocabulary(text if val is None else text + val_text)
    where = (f", validating on {data.display_name(val)} ({len(val_text):,} characters)" if val is not None
             else f", validating on the last {len(val_text):,}" if val_text else "")
    info(f"{name}: {n:,} characters, {len(chars)} distinct; training on "
         f"{'all' if val is not None else 'the first'} {len(train_text):,}{where}")

    net = CharLMNet(len(chars), mcfg.cell, mcfg.embed, mcfg.hidden, mcfg.layers, mcfg.dropout, cfg.seed)
    ngrams, keep_bits = ngram_set(train_text)
    model = CharLMModel(chars, net, counts, BloomFilter.build(ngrams), keep_bits, start_context(train_text))
    ids = model.encode(train_text)
    streams = make_streams(ids, cfg.batch_size)
    if val_text:
        # a split validation text starts one back: its first character is a target
        val_ids = np.concatenate([ids[-1:], model.encode(val_text)]) if val is None else model.encode(val_text)
        if len(val_ids) < 2:
            raise SeqcliError(f"{data.display_name(val)}: too short to validate on (needs two characters)")
        val_full = make_streams(val_ids, VAL_STREAMS, WARMUP)
        val_part = (make_streams(val_ids[: VAL_MAX_CHARS + 1], VAL_STREAMS, WARMUP)
                    if len(val_ids) > VAL_MAX_CHARS + 1 else val_full)
    else:  # nothing held out: watch the training text (as classifiers do)
        val_full = val_part = make_streams(ids, VAL_STREAMS, WARMUP)
    pieces = [text] if val is None else [text, "--val", val_text]
    identity = {"task": NAME, "model": mcfg.cell, "params": dict(params),
                "data_sha256": checkpoint.fingerprint(pieces)}
    job = LMJob(model, mcfg, cfg, streams, val_part, identity, report or (lambda event: None))
    job.evaluates_on = "validation" if val_text else "training"
    return Prepared(job, val_full, n, len(train_text), len(val_text) if val_text else 0,
                    None if val is None else data.display_name(val))


def summary(prepared, outcome):
    """The final figures: validation nats and bits per character over the whole validation text."""
    from seqcli.config import to_dict

    job, state = prepared.job, outcome.state
    val_loss = state.best_loss if job.val_part is prepared.val_full else mean_nll(job.model.net, prepared.val_full)
    if not math.isfinite(val_loss):   # stopped before anything was validated
        val_loss = mean_nll(job.model.net, prepared.val_full)
    best = [h for h in state.history if h.get("loss") == state.best_loss]
    params = {**to_dict(job.mcfg), **to_dict(job.train_cfg)}
    out = {"n_chars": prepared.n_chars, "n_train_chars": prepared.n_train, "n_val_chars": prepared.n_val,
           "evaluated_on": "validation" if prepared.n_val else "training",
           "n_vocab": len(job.model.chars), "val_loss": round(val_loss, 6), "val_bpc": round(val_loss / _LN2, 6),
           "steps": state.step, "epochs": round(state.step / job.n_windows, 3),
           "best_step": best[-1].get("step") if best else None,
           "params": {k: v for k, v in params.items() if k not in ("max_steps", "max_time")}}
    if prepared.val_source is not None:
        out["val_source"] = prepared.val_source
    if outcome.halted is None:
        epochs = job.text_epochs
        reason = state.stop_reason
        out["stopped"] = f"finished {epochs} epoch{'s' if epochs != 1 else ''}" if reason.startswith("finished") else reason
    return out


def _sample(model, seed, step):
    """A short sample from the current weights (own RNG: training's randomness is untouched)."""
    model.weights_changed()
    rng = np.random.default_rng([int(seed), int(step), 17])
    return "".join(model.sample("", SAMPLE_CHARS, temperature=0.8, rng=rng))
