"""One to many: language models (``seqcli train CORPUS --task lm``; ``generate`` samples them).

The model is recurrent (``--model lstm|gru|rnn``: nn/lmnet.py) or a causal Transformer (``--model
transformer``: nn/transformerlm.py, nanoGPT's shape, whose windows are ``--block-size`` characters and
carry nothing into the next one); both train on the same streams below.

The corpus (UTF-8, BOM dropped, CRLF read as LF; ``data.read_corpus``), or the text column of a CSV/TSV
(``--text-col``, or a file named .csv/.tsv: one text per line), is split by position: the first
(1 - val_split) of its characters train, the rest validate. The unit (``--split``) is the character (the
vocabulary: the corpus's Unicode characters) or the word (tokenised as the classifiers tokenise, ``<eos>``
ending every line; the vocabulary: the training part's words seen ``--min-count`` times, the others
``<unk>``). Everything below is the same for both; "character" reads "unit".

Stateful batching (truncated BPTT): the training text is cut into ``batch_size`` contiguous streams, one
per column of a batch, and each stream is read in windows of ``seq_len`` steps; the state at the end of
one window is the initial state of the next (no gradient flows back across the cut). The streams
partition the prediction targets exactly -- every training character after the first is predicted once
per epoch -- so when the length does not divide evenly, the shorter streams are masked in the last
window (``Streams``). The state restarts from zeros at every epoch.

Validation reads the validation text the same way (in 64 streams) and reports nats per character and
bits per character (nats / ln 2); a word model nats per word and the perplexity (e ** nats). Each validation stream first re-reads up to ``WARMUP`` characters
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

from seqcli.config import TRANSFORMER, LMConfig, TrainConfig, TransformerLMConfig, split_params
from seqcli.errors import SeqcliError
from seqcli.training.streams import Streams, make_streams, mean_nll

NAME = "lm"
MODELS = ("lstm", "gru", "rnn", TRANSFORMER)
OTHER_DATA = ("another corpus", "file")

EVAL_CHARS = 500_000       # validate about every this many training characters (at least once an epoch)
VAL_STREAMS = 64           # columns of the validation batch
VAL_MAX_CHARS = 150_000    # periodic validation reads at most this much of the validation text
WARMUP = 100               # context each validation stream re-reads before its first scored character
_LN2 = math.log(2.0)
SAMPLED_ABOVE = 4096       # a vocabulary larger than this trains with a sampled softmax (nn/sampled.py) ...
SAMPLED = 1024             # ... over this many candidate words per window (validation: the full softmax)


# --------------------------------------------------------------------------------------------- job

def config_class(model):
    """The config dataclass of model kind ``model``."""
    return TransformerLMConfig if model == TRANSFORMER else LMConfig


def accepts(model):
    """The parameter names a language model run uses (bidirectional: to say why it cannot; a word
    model's embedding can start from word vectors)."""
    from dataclasses import fields

    unused = {"class_weight", "seq_len"} if model == TRANSFORMER else {"class_weight"}
    return ({f.name for f in fields(config_class(model))} | {f.name for f in fields(TrainConfig)}
            | {"bidirectional", "embeddings", "freeze_embeddings"}) - unused


def configs(params):
    """(LMConfig, TrainConfig with the language model's training defaults) from flat ``params``."""
    params = dict(params)
    if params.get("model") is not None and params.get("cell") is None:
        params["cell"] = params["model"]
    if params.get("bidirectional"):
        raise SeqcliError("a language model reads left to right: --bidirectional does not apply")
    if params.get("cell") not in (None,) + MODELS:
        raise SeqcliError(f"--task lm needs a recurrent model or a transformer (rnn, gru, lstm, transformer), "
                          f"not {params['cell']!r}")
    cls = config_class(params.get("cell"))
    model_values, train_values = split_params(params, cls, TrainConfig)
    model_cfg = cls(**model_values)
    if model_cfg.split == "char":
        given = [k for k in (*LMConfig.WORD_ONLY, "embeddings", "freeze_embeddings") if params.get(k) is not None]
        if given:
            names = ", ".join("--" + k.replace("_", "-") for k in given)
            raise SeqcliError(f"{names}: for word models (--split word)", exit_code=2)
    return model_cfg, TrainConfig(**train_values).with_defaults(model_cfg)


class LMJob:
    """One language model being trained (the job protocol of training/fit.py).

    train.run's "epochs" are evaluation periods of ``period`` windows over the endless sequence of
    windows (text epoch after text epoch), so validation comes every ``period`` steps exactly, however
    the text's length divides; ``show`` translates events back to text epochs for the display.
    """

    validate_on_halt = True

    def __init__(self, model, mcfg, cfg, streams, val_part, identity, report):
        self.model, self.mcfg, self.identity, self.report = model, mcfg, identity, report
        self.unit = "tokens" if mcfg.split == "word" else "chars"
        self.param_scales = None   # set by tasks/transfer.py when word vectors are frozen
        self.streams, self.val_part = streams, val_part
        self.B, self.T = streams.X.shape[1], mcfg.window
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
        self.logq = None    # a large vocabulary's log expected counts among the sampled candidates
        if model.net.n_vocab > SAMPLED_ABOVE:
            from seqcli.nn.sampled import proposal

            self.q = proposal(model.counts)
            # finite for words never drawn too (<pad>, the target of a masked step: weight 0)
            self.logq = np.log(np.maximum(SAMPLED * self.q, 1e-30)).astype(model.net.dtype)

    def make_batches(self, k):
        return range(k * self.period, min(self.total, (k + 1) * self.period))   # global window numbers

    def step_loss(self, g, rng):
        loss, grads, rows, chars, _, carry = self.shard_loss(self.shards(g, 1)[0], rng)
        self.join_shards([carry])
        return loss, grads, rows, chars

    # -- data-parallel steps (training/workers.py): a part is some of the streams, with their state

    def shards(self, g, n):
        """Window ``g``'s streams cut into at most ``n`` parts: (g, first, end, their carried state)."""
        if g % self.n_windows == 0 or self.carry is None:   # a new text epoch: the streams start from zeros
            self.carry = self.model.net.zero_state(self.B)
        parts = [p for p in np.array_split(np.arange(self.B), n) if len(p)]
        return [(g, p[0], p[-1] + 1, [tuple(x[:, p[0]:p[-1] + 1] for x in layer) for layer in self.carry])
                for p in parts]

    def shard_loss(self, shard, rng):
        """(loss, grads, streams, chars, chars, the streams' state after the window) of one part."""
        g, lo, hi, carry = shard
        X, Y, mask, _ = self.streams.window(g % self.n_windows, self.T)
        X, Y, mask = X[:, lo:hi], Y[:, lo:hi], None if mask is None else mask[:, lo:hi]
        sampled = None if self.logq is None else (rng.choice(len(self.q), SAMPLED, p=self.q), self.logq)
        loss, grads, carry = self.model.net.loss(X, Y, carry, mask, rng, sampled)
        chars = X.size if mask is None else int(mask.sum())
        return loss, grads, hi - lo, chars, chars, carry

    def join_shards(self, carries):
        """The whole batch's carried state from its parts' (in stream order)."""
        self.carry = carries[0] if len(carries) == 1 else [
            tuple(np.concatenate(parts, axis=1) for parts in zip(*layers)) for layers in zip(*carries)]

    def evaluate(self):
        nats = mean_nll(self.model.net, self.val_part)
        step = self.state.step if self.state is not None else 0
        self.report({"event": "sample", "text": _sample(self.model, self.cfg.seed, step), "step": step})
        if self.mcfg.split == "word":
            return {"loss": nats, "ppl": math.exp(min(nats, 700.0))}
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

    model: the cell (rnn, gru, lstm); columns: {"text_col"} reads that column of a CSV/TSV corpus.
    notify(str): warnings; info(str): notes that only describe the run (the corpus size);
    report(event): where the job's samples go (the display).
    """
    from seqcli import data

    from seqcli.tasks import transfer

    configs({**params, "cell": model})   # bad settings fail before the corpus is read
    text = read_text(corpus, columns, notify)
    val_text = read_text(val, columns, notify) if val is not None else None
    tr = transfer.start(params)
    if tr.cfg.embeddings is not None and params.get("embed") is None:   # the file's dimension
        params = {**params, "embed": transfer.vector_dim(tr.cfg.embeddings)}
    vectors = None
    if tr.cfg.used:   # a word model's embedding from word vectors
        def vectors(net, units, counts):
            tr.apply(net, units.tokens, counts, embed="embed.E", stack="rnn.l{i}", info=info or notify)

    prepared = build(text, data.display_name(corpus), model, params, val_text,
                     None if val is None else data.display_name(val), notify, info, report, vectors)
    if tr.cfg.used:
        prepared.job.transfer, prepared.job.param_scales = tr, tr.scales
    return prepared


def read_text(source, columns=None, notify=None):
    """A corpus: the text of a plain file, or the text column of a CSV/TSV (one text per line), when
    the file is named .csv/.tsv/.tab or a column is given."""
    from seqcli import data

    columns = columns or {}
    if columns.get("label_col") is not None:
        raise SeqcliError("--label-col: a language model reads texts only (give --text-col)", exit_code=2)
    text_col = columns.get("text_col")
    if text_col is None and not str(source).lower().endswith((".csv", ".tsv", ".tab")):
        return data.read_corpus(source)
    table = data.read_table(source, text_col, None, need_labels=False)
    if table.skipped and notify is not None:
        notify(table.skipped_summary())
    return "".join(t + "\n" for t in table.texts)


def build(text, name, model, params, val_text=None, val_name=None, notify=None, info=None, report=None,
          vectors=None):
    """The job of a language model of cell ``model`` on ``text`` (validated on ``val_text``, else on
    the last val_split of ``text``), named ``name`` in messages. The pretraining of a classifier
    (tasks/transfer.py) builds its language model here too, from texts in memory.

    vectors: a callable (net, units, counts) -> None that puts pretrained word vectors into the net.
    """
    from seqcli.models.charlm import CharLMModel, ngram_set, start_context
    from seqcli.models.lmunits import CharUnits, WordUnits
    from seqcli.models.seen import BloomFilter
    from seqcli.training import checkpoint

    notify = notify or (lambda message: None)
    info = info or notify
    mcfg, cfg = configs({**params, "cell": model})
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
    if mcfg.split == "word":   # the words of the training part (the rest is what <unk> is for)
        units, counts = WordUnits.build(train_text, mcfg.min_count, mcfg.max_vocab, mcfg.lowercase)
    else:   # every character, so the validation text encodes
        units, counts = CharUnits.build(text if val_name is None else text + val_text)
    net = make_net(mcfg, len(units), cfg.seed)
    if vectors is not None:
        vectors(net, units, counts)
    ngrams, keep_bits = ngram_set(train_text, units=units)
    model = CharLMModel(units, net, counts, BloomFilter.build(ngrams), keep_bits, start_context(train_text))
    ids = model.encode(train_text)
    if len(ids) < 2:
        raise SeqcliError(f"{name}: {len(ids)} word{'s' if len(ids) != 1 else ''}; a language model needs at least two")
    info(_describe(name, n, units, train_text, ids, val_text, val_name))
    streams = make_streams(ids, cfg.batch_size)
    if val_text:
        # a split validation text starts one back: its first unit is a target
        val_ids = np.concatenate([ids[-1:], model.encode(val_text)]) if val_name is None else model.encode(val_text)
        if len(val_ids) < 2:
            raise SeqcliError(f"{val_name or name}: too short to validate on (needs two {units.noun}s)")
        val_full = make_streams(val_ids, VAL_STREAMS, WARMUP)
        val_part = (make_streams(val_ids[: VAL_MAX_CHARS + 1], VAL_STREAMS, WARMUP)
                    if len(val_ids) > VAL_MAX_CHARS + 1 else val_full)
    else:  # nothing held out: watch the training text (as classifiers do)
        val_full = val_part = make_streams(ids, VAL_STREAMS, WARMUP)
    pieces = [text] if val_name is None else [text, "--val", val_text]
    identity = {"task": NAME, "model": mcfg.cell, "params": dict(params),
                "data_sha256": checkpoint.fingerprint(pieces)}
    job = LMJob(model, mcfg, cfg, streams, val_part, identity, report or (lambda event: None))
    job.evaluates_on = "validation" if val_text else "training"
    return Prepared(job, val_full, n, len(train_text), len(val_text) if val_text else 0, val_name)


def _describe(name, n, units, train_text, ids, val_text, val_name):
    """'corpus.txt: 1,115,394 characters, 65 distinct characters; training on the first ...'."""
    where = (f", validating on {val_name} ({len(val_text):,} characters)" if val_name is not None
             else f", validating on the last {len(val_text):,}" if val_text else "")
    words = f" ({len(ids):,} words and line ends)" if units.split == "word" else ""
    return (f"{name}: {n:,} characters, {len(units):,} distinct {units.noun}s; training on "
            f"{'all' if val_name is not None else 'the first'} {len(train_text):,}{words}{where}")


def make_net(mcfg, n_vocab, seed):
    """The network an LMConfig (recurrent) or TransformerLMConfig describes, for ``n_vocab`` characters."""
    if mcfg.cell == TRANSFORMER:
        from seqcli.nn.transformerlm import TransformerLMNet

        o = mcfg.transformer_options(mcfg.block_size)
        return TransformerLMNet(n_vocab, embed=mcfg.embed_size(), hidden=mcfg.hidden, layers=mcfg.layers,
                                heads=o["heads"], ff=o["ff"], block_size=mcfg.block_size, positions=o["positions"],
                                activation=o["activation"], dropout=mcfg.dropout, seed=seed)
    from seqcli.nn.lmnet import CharLMNet

    return CharLMNet(n_vocab, mcfg.cell, mcfg.embed, mcfg.hidden, mcfg.layers, mcfg.dropout, seed)


def summary(prepared, outcome):
    """The final figures: validation nats and bits per character over the whole validation text."""
    from seqcli.config import to_dict

    job, state = prepared.job, outcome.state
    val_loss = state.best_loss if job.val_part is prepared.val_full else mean_nll(job.model.net, prepared.val_full)
    if not math.isfinite(val_loss):   # stopped before anything was validated
        val_loss = mean_nll(job.model.net, prepared.val_full)
    best = [h for h in state.history if h.get("loss") == state.best_loss]
    params = {**to_dict(job.mcfg), **to_dict(job.train_cfg)}
    out = {"split": job.mcfg.split, "n_chars": prepared.n_chars, "n_train_chars": prepared.n_train,
           "n_val_chars": prepared.n_val, "evaluated_on": "validation" if prepared.n_val else "training",
           "n_vocab": len(job.model.chars), "val_loss": round(val_loss, 6),
           **({"val_ppl": round(math.exp(min(val_loss, 700.0)), 4)} if job.mcfg.split == "word"
              else {"val_bpc": round(val_loss / _LN2, 6)}),
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
    return "".join(model.sample("", model.units.sample_length, temperature=0.8, rng=rng))
