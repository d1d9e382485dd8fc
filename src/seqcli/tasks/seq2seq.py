"""Many to many, encoder-decoder: ``seqcli train PAIRS.csv --task seq2seq`` (spelling to sound,
transliteration, normalisation, short translations).

Data: a CSV/TSV of pairs (data/tables.py with ``PAIRS`` roles): the source and target columns are found
by name (source/target, input/output, src/tgt), else they are the first two columns, or they are given
(``--source-col`` / ``--target-col``). Both sides lose surrounding whitespace; a row with an empty side is
skipped and reported. Each side is split into characters or at spaces (``--source-split`` /
``--target-split``; when not given, ``space`` for a side where at least half the values hold a space,
else ``char``), and the choice is stored in the model. Several rows with one source are several valid
answers: every pair trains, and a prediction counts as right when it equals any of them.

Validation: ``--val FILE``, or a seeded ``--val-split`` of the distinct sources (all the targets of a
source stay on one side). Each validation computes the teacher-forced loss and decodes the validation
sources greedily: exact match, word error rate (WER = 1 - exact match) and token error rate (TER: edit
distance to the closest reference over its length; the phoneme error rate in grapheme-to-phoneme).
Early stopping and the best weights follow the WER (the figures' ``objective``). Validation decodes at most
``VAL_DECODE`` sources (a seeded sample of a larger set, said at the start); the final figures decode all.

Batches hold pairs of similar source and target lengths (little padding), shuffled per epoch by seed.
"""

from dataclasses import dataclass, fields

import numpy as np

from seqcli.config import Seq2SeqConfig, TrainConfig, split_params
from seqcli.errors import UsageError
from seqcli.training.fit import Job

NAME = "seq2seq"
MODELS = ("lstm", "gru", "rnn")
OTHER_DATA = ("other data", "data file")

VAL_DECODE = 8000      # validation sources decoded at each validation (a seeded sample of more)
EVAL_BATCH = 256       # pairs per teacher-forced validation batch


TRANSFER = ("embeddings", "freeze_embeddings")   # word vectors for a side split at spaces


def accepts(model):
    """The parameter names a seq2seq run uses."""
    return ({f.name for f in fields(Seq2SeqConfig)} | {f.name for f in fields(TrainConfig)} | set(TRANSFER)) - {
        "class_weight"}


def configs(model, params):
    """(Seq2SeqConfig, TrainConfig with the seq2seq training defaults); ``model`` is the cell."""
    if model not in MODELS:
        raise UsageError(f"--task seq2seq needs a recurrent model (rnn, gru or lstm), not {model!r}")
    model_values, train_values = split_params(params, Seq2SeqConfig, TrainConfig)
    model_values["cell"] = model
    model_cfg = Seq2SeqConfig(**model_values)
    if model_cfg.attention == "dot" and model_cfg.bidirectional and model_cfg.hidden % 2:
        raise UsageError("--attention dot with a bidirectional encoder needs an even --hidden (each "
                          "direction has half); or use --attention general")
    return model_cfg, TrainConfig(**train_values).with_defaults(model_cfg)


# ------------------------------------------------------------------------------------------ pairs

def resolve_split(values, given):
    """``given``, or ``space`` when at least half of ``values`` hold whitespace, else ``char``."""
    if given is not None:
        return given
    spaced = sum(1 for v in values if len(v.split()) > 1)
    return "space" if values and spaced * 2 >= len(values) else "char"


def read_pairs(path, columns, notify):
    """(sources, targets, display name) of a pairs file, both sides stripped; skipped rows reported."""
    from seqcli.data.tables import PAIRS, read_table

    columns = columns or {}
    if columns.get("text_col") is not None or columns.get("label_col") is not None:
        raise UsageError("--text-col and --label-col are a classifier's columns; a seq2seq task reads "
                          "--source-col and --target-col")
    table = read_table(path, columns.get("source_col"), columns.get("target_col"), roles=PAIRS)
    if table.skipped:
        notify(table.skipped_summary())
    return [t.strip() for t in table.texts], table.labels, table.source


def group(sources, targets):
    """(distinct sources in order of appearance, {source: [targets]})."""
    refs = {}
    for s, t in zip(sources, targets):
        refs.setdefault(s, []).append(t)
    return list(refs), refs


def split_sources(distinct, val_split, seed):
    """(training sources, validation sources): a seeded share of the distinct sources held out."""
    n_val = int(round(len(distinct) * val_split))
    if n_val == 0 or n_val >= len(distinct):
        return list(distinct), []
    order = np.random.default_rng(seed).permutation(len(distinct))
    held = set(order[:n_val].tolist())
    return ([s for i, s in enumerate(distinct) if i not in held],
            [s for i, s in enumerate(distinct) if i in held])


# ------------------------------------------------------------------------------------------ job

@dataclass
class ValSet:
    """What a validation reads: the sources decoded, their reference token lists, and the pairs
    (source ids, target ids) of the teacher-forced loss."""
    sources: list
    refs: list
    src_ids: list
    tgt_ids: list


def make_valset(model, sources, refs):
    """A ValSet of ``sources`` (their references: ``refs[source]``, target strings)."""
    how = model.config.target_split
    from seqcli.models.seq2seq import split

    pairs = [(s, t) for s in sources for t in refs[s]]
    return ValSet(list(sources), [[split(t, how) for t in refs[s]] for s in sources],
                  model.encode_sources([s for s, _ in pairs]), model.encode_targets([t for _, t in pairs]))


def teacher_batch(src_lists, tgt_lists):
    """(src (T_x, m), src lengths, tgt_in (T_y, m), tgt_out, tgt lengths) of id lists: tgt_in starts with
    the start id, tgt_out ends with the end id."""
    from seqcli.nn.seq2seq import END, START
    from seqcli.text import pad_batch

    src, s_len = pad_batch(src_lists)
    tgt_in, t_len = pad_batch([[START] + t for t in tgt_lists])
    tgt_out, _ = pad_batch([t + [END] for t in tgt_lists])
    return src, s_len, tgt_in, tgt_out, t_len


def mean_nll(net, src_lists, tgt_lists, batch_size=EVAL_BATCH):
    """Teacher-forced mean negative log-likelihood per target token (the end symbol included)."""
    from seqcli.text import bucket_batches

    total, count = 0.0, 0
    for idx in bucket_batches([len(s) * 4096 + len(t) for s, t in zip(src_lists, tgt_lists)], batch_size):
        src, s_len, tgt_in, tgt_out, t_len = teacher_batch([src_lists[i] for i in idx], [tgt_lists[i] for i in idx])
        logp = net.log_probs(src, s_len, tgt_in, t_len)              # (V, T_y, m)
        picked = np.take_along_axis(logp, tgt_out[None].astype(np.intp), axis=0)[0]
        real = np.arange(tgt_out.shape[0])[:, None] < t_len[None, :]
        total -= float(picked[real].sum(dtype=np.float64))
        count += int(real.sum())
    return total / max(count, 1)


def figures(model, valset):
    """Validation figures: loss, exact match, WER, TER (and the Scores)."""
    from seqcli.metrics.editdistance import score

    outs = model.decode(valset.sources)
    sc = score([o[0].tokens for o in outs], valset.refs)
    loss = mean_nll(model.net, valset.src_ids, valset.tgt_ids) if valset.src_ids else 0.0
    return {"loss": loss, "wer": sc.wer, "exact": sc.exact, "ter": sc.error_rate}, sc


class Seq2SeqJob(Job):
    """One encoder-decoder being trained (the job protocol of training/fit.py)."""

    validate_on_halt = True
    unit = "tokens"

    def __init__(self, model, cfg, src_ids, tgt_ids, valset, identity):
        self.model, self.cfg, self.identity = model, cfg, identity
        self.lr_decay = model.config.lr_decay if model.config.lr_decay < 1 else None
        self.src_ids, self.tgt_ids, self.valset = src_ids, tgt_ids, valset
        # batches of similar source, then target, lengths (little padding on either side)
        self.keys = [len(s) * 4096 + min(len(t), 4095) for s, t in zip(src_ids, tgt_ids)]
        self.state = None

    def make_batches(self, epoch):
        from seqcli.text import bucket_batches

        return bucket_batches(self.keys, self.cfg.batch_size, np.random.default_rng([self.cfg.seed, epoch]))

    def step_loss(self, idx, rng):
        batch = teacher_batch([self.src_ids[i] for i in idx], [self.tgt_ids[i] for i in idx])
        loss, grads = self.model.net.loss(*batch, rng=rng)
        return loss, grads, len(idx), int(batch[4].sum())

    def evaluate(self):
        found = figures(self.model, self.valset)[0]
        found["objective"] = found["wer"]   # the best weights and early stopping follow the WER
        return found


# ------------------------------------------------------------------------------------ from files

@dataclass
class Prepared:
    """A seq2seq run read from files: the job and what the final report needs."""
    job: Seq2SeqJob
    val_full: ValSet          # every validation source (the job's may be a sample)
    n_pairs: int
    n_train_sources: int
    evaluated_on: str         # "validation" or "training"
    val_source: str | None


def build_model(mcfg, cfg, train_pairs):
    """The untrained Seq2SeqModel of ``train_pairs`` [(source, target)]: each side's split resolved from
    them, both vocabularies, the network. Returns (model, source id lists, target id lists)."""
    from dataclasses import replace

    from seqcli.models.seq2seq import Seq2SeqModel, split
    from seqcli.nn.seq2seq import Seq2SeqNet
    from seqcli.text import Vocab

    mcfg = replace(mcfg, source_split=resolve_split([s for s, _ in train_pairs], mcfg.source_split),
                   target_split=resolve_split([t for _, t in train_pairs], mcfg.target_split))
    src_toks = [split(s, mcfg.source_split) for s, _ in train_pairs]
    tgt_toks = [split(t, mcfg.target_split) for _, t in train_pairs]
    src_vocab, tgt_vocab = Vocab.build(src_toks), Seq2SeqModel.target_vocab(tgt_toks)
    net = Seq2SeqNet(len(src_vocab), len(tgt_vocab), mcfg.cell, mcfg.embed, mcfg.hidden, None, mcfg.layers,
                     mcfg.bidirectional, mcfg.attention, mcfg.dropout, cfg.seed)
    fitted = Seq2SeqModel(mcfg, src_vocab, tgt_vocab, net, max(map(len, tgt_toks)))
    return fitted, [src_vocab.encode(t) for t in src_toks], [tgt_vocab.encode(t) for t in tgt_toks]


def make_job(model, params, train_pairs, val_src, val_refs, identity=None, info=None):
    """(job, every validation source's ValSet): the job that trains model kind ``model`` with ``params`` on
    ``train_pairs``, validating on ``val_src`` (references ``val_refs[source]``: target strings); its
    ValSet is a seeded sample of ``VAL_DECODE`` of them when there are more. With ``embeddings`` the
    word embedding of each side split at spaces starts from that vector file (coverage to ``info``)."""
    from seqcli.tasks import transfer as transfer_mod

    mcfg, cfg = configs(model, params)
    tr = transfer_mod.start({k: params[k] for k in TRANSFER if params.get(k) is not None})
    fitted, src_ids, tgt_ids = build_model(tr.adapt(mcfg, params), cfg, train_pairs)
    if tr.cfg.embeddings is not None:
        _word_vectors(tr, fitted, src_ids, tgt_ids, info)
    val_full = make_valset(fitted, val_src, val_refs)
    valset = val_full
    if len(val_src) > VAL_DECODE:
        pick = np.sort(np.random.default_rng([cfg.seed, 1]).choice(len(val_src), VAL_DECODE, replace=False))
        valset = make_valset(fitted, [val_src[i] for i in pick], val_refs)
    job = Seq2SeqJob(fitted, cfg, src_ids, tgt_ids, valset, identity)
    if tr.cfg.embeddings is not None:
        job.transfer, job.param_scales = tr, tr.scales
    return job, val_full


def _word_vectors(tr, fitted, src_ids, tgt_ids, info):
    """Word vectors from ``tr``'s file into the embedding of each side split at spaces (a side of
    characters keeps its random start); a one-line error when neither side is words."""
    sides = [(key, vocab, ids) for key, split, vocab, ids in (
        ("src.E", fitted.config.source_split, fitted.src_vocab, src_ids),
        ("tgt.E", fitted.config.target_split, fitted.tgt_vocab, tgt_ids)) if split == "space"]
    if not sides:
        raise UsageError("--embeddings: word vectors need a side split into words (--source-split space or "
                         "--target-split space); both sides here are characters")
    coverage = {}
    for key, vocab, ids in sides:
        counts = np.bincount(np.fromiter((i for row in ids for i in row), dtype=np.int64), minlength=len(vocab))
        tr.apply(fitted.net, vocab.tokens, counts, embed=key, info=info)
        coverage["source" if key == "src.E" else "target"] = tr.phases["embeddings"]
    tr.phases["embeddings"] = coverage   # {"source": ..., "target": ...}: the sides that took vectors


def prepare(data_path, model, params, columns=None, val=None, notify=None, info=None, report=None):
    """Read the pairs (and the --val file), split, build the model and the job. Raises SeqcliError.

    columns: {"source_col": ..., "target_col": ...} (None: found by name)."""
    from seqcli.training import checkpoint

    notify = notify or (lambda message: None)
    info = info or notify
    _, cfg = configs(model, params)
    sources, targets, name = read_pairs(data_path, columns, notify)
    distinct, refs = group(sources, targets)
    v_name = None
    if val is not None:
        v_sources, v_targets, v_name = read_pairs(val, columns, notify)
        train_src, (val_src, val_refs) = distinct, group(v_sources, v_targets)
    else:
        train_src, val_src = split_sources(distinct, cfg.val_split, cfg.seed)
        val_refs = refs
    evaluated_on = "validation" if val_src else "training"
    if not val_src:   # nothing held out: watch the training pairs (as classifiers do)
        val_src, val_refs = train_src, refs
        if cfg.val_split > 0 and val is None:
            notify(f"{name}: too few distinct sources to hold some out; validating on the training pairs")
    train_pairs = [(s, t) for s in train_src for t in refs[s]]
    pieces = [p for pair in zip(sources, targets) for p in pair]
    if val is not None:
        pieces += ["--val"] + [p for pair in zip(v_sources, v_targets) for p in pair]
    identity = {"task": NAME, "model": model, "params": dict(params),
                "data_sha256": checkpoint.fingerprint(pieces)}
    job, val_full = make_job(model, params, train_pairs, val_src, val_refs, identity, info)
    _describe(info, name, len(sources), len(distinct), len(train_pairs), job.model, val_full, job.valset,
              v_name, evaluated_on)
    return Prepared(job, val_full, len(train_pairs), len(train_src), evaluated_on, v_name)


def _describe(info, name, n_pairs, n_distinct, n_train, model, val_full, valset, val_name, evaluated_on):
    how = {"char": "characters", "space": "space-separated tokens"}
    where = (f"validating on {val_name} ({len(val_full.sources):,} sources)" if val_name else
             f"validating on {len(val_full.sources):,} held-out sources" if evaluated_on == "validation"
             else "validating on the training pairs")
    cfg = model.config
    info(f"{name}: {n_pairs:,} pairs, {n_distinct:,} distinct sources; training on {n_train:,} pairs, {where}; "
         f"source: {how[cfg.source_split]} ({len(model.src_vocab) - 2} symbols), target: "
         f"{how[cfg.target_split]} ({len(model.tgt_vocab) - 4} symbols)")
    if valset is not val_full:
        info(f"each validation decodes a sample of {len(valset.sources):,} of the {len(val_full.sources):,} "
             "validation sources; the final figures decode them all")


def summary(prepared, outcome):
    """The final figures over every validation source (the training sources without any)."""
    from seqcli.config import to_dict

    job, state = prepared.job, outcome.state
    fig, sc = figures(job.model, prepared.val_full)
    out = {"n_pairs": prepared.n_pairs, "n_train_sources": prepared.n_train_sources,
           "n_val_sources": len(prepared.val_full.sources), "evaluated_on": prepared.evaluated_on,
           "source_split": job.model.config.source_split, "target_split": job.model.config.target_split,
           "val_loss": round(fig["loss"], 6), "exact": round(sc.exact, 6), "wer": round(sc.wer, 6),
           "ter": round(sc.error_rate, 6), "edits": sc.edits, "ref_tokens": sc.ref_tokens,
           "params": {k: v for k, v in {**to_dict(job.model.config), **to_dict(job.cfg)}.items()
                      if k not in ("max_steps", "max_time")}}
    if prepared.val_source is not None:
        out["val_source"] = prepared.val_source
    if outcome.halted is None:
        out.update(epochs_run=state.epoch, best_epoch=state.best_epoch + 1, stopped=state.stop_reason)
    return out
