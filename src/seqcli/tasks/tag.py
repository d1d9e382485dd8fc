"""Many to many, aligned: sequence tagging (``seqcli train DATA --task tag``), one tag per token.

What this task supplies to the one training path (training/fit.py): reading tagged sentences
(CoNLL-U, CoNLL columns or a CSV of tokens and tags: data/conll.py, the format from the extension and
the content or ``--format``, the tag column from ``--tag-col``), the validation sentences (a seeded
``--val-split`` of DATA's sentences, or ``--val FILE``), the vocabularies (word ids by the lowercased
form, characters as they are), batches of sentences of similar length (each sorted longest first: the
order the recurrent cells compute fastest), the loss (models/tagger.py, nn/tagger.py), the figures of
every validation (loss per token, token accuracy, accuracy on tokens unseen in training) and the final
report (metrics/spans.py: per-tag precision/recall/F1, the most confused pairs and, when the tags follow
BIO / IOB1 / BIOES / BILOU, conlleval's span precision/recall/F1).
"""

from collections import Counter
from dataclasses import dataclass, fields

import numpy as np

from seqcli.config import TagConfig, TrainConfig, TransformerTagConfig, split_params
from seqcli.errors import SeqcliError
from seqcli.training.fit import Job
from seqcli.text import PAD, UNK, bucket_batches

NAME = "tag"
MODELS = ("lstm", "gru", "rnn", "transformer")
OTHER_DATA = ("other data", "data file")
DATA_OPTIONS = ("format", "tag_col", "text_col")   # how the data is read (``columns`` of api.train)


TRANSFER = ("embeddings", "freeze_embeddings")   # a tagger's word embedding may start from word vectors


def config_class(model):
    """The config dataclass of encoder ``model``: a recurrent cell's or the Transformer's."""
    return TransformerTagConfig if model == "transformer" else TagConfig


def accepts(model):
    """The parameter names a tagging run uses (a Transformer reads both ways at once: no bidirectional)."""
    names = {f.name for f in fields(config_class(model))} | {f.name for f in fields(TrainConfig)} | set(TRANSFER)
    return names - {"class_weight"} - ({"bidirectional"} if model == "transformer" else set())


def configs(model, params):
    """(TagConfig or TransformerTagConfig, TrainConfig with the tagger's training defaults) for ``model``."""
    if model not in MODELS:
        raise SeqcliError(f"--task tag has no model {model!r} (choose {', '.join(MODELS)})", exit_code=2)
    cls = config_class(model)
    model_values, train_values = split_params({**params, "cell": model}, cls, TrainConfig)
    model_cfg = cls(**model_values)
    return model_cfg, TrainConfig(**train_values).with_defaults(model_cfg)


# ------------------------------------------------------------------------------------------ data

@dataclass
class Sentences:
    """Encoded sentences: word ids, char ids and tag ids per sentence, their lengths."""
    words: list
    chars: list
    tags: list
    lengths: np.ndarray

    def tag_matrix(self, idx):
        """(T_x, m) tag ids of sentences ``idx`` (0 at padding)."""
        out = np.zeros((int(self.lengths[idx].max(initial=0)), len(idx)), np.intp)
        for j, i in enumerate(idx):
            out[:len(self.tags[i]), j] = self.tags[i]
        return out


def vocabulary(sentences, lowercase, min_count=1, max_size=None):
    """[PAD, UNK] + the (lowercased) words seen at least ``min_count`` times, most frequent first (ties
    alphabetical, so the same data always gives the same ids), cut to ``max_size`` entries."""
    counts = Counter(w.lower() if lowercase else w for s in sentences for w in s)
    kept = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
    return [PAD, UNK] + kept[:None if max_size is None else max(0, max_size - 2)]


def characters(sentences):
    """[PAD, UNK] + every character of the training tokens, most frequent first."""
    counts = Counter(c for s in sentences for w in s for c in w)
    return [PAD, UNK] + sorted(counts, key=lambda c: (-counts[c], c))


def encode(model, sentences, tags):
    words, chars = model.encode(sentences)
    index = {t: i for i, t in enumerate(model.tags)}
    return Sentences(words, chars, [[index[t] for t in row] for row in tags],
                     np.array([len(s) for s in sentences], dtype=np.intp))


# ------------------------------------------------------------------------------------------- job

class TagJob(Job):
    """One tagger being trained (the job protocol of training/fit.py)."""

    unit = "tokens"

    transfer = None   # tasks/transfer.py's Transfer when the word vectors come from a file (--embeddings)

    def __init__(self, model, cfg, train, val, unseen, unk_rate, scheme, identity):
        self.model, self.cfg, self.identity = model, cfg, identity
        self.train, self.val = train, val     # Sentences
        self.unseen = unseen                  # per validation sentence, (L,) bool: token unseen in training
        self.unk_rate = unk_rate              # (n_vocab,) chance a training token's word becomes <unk>
        self.scheme = scheme                  # the training tags' scheme (BIO, ...): span F1 at validations
        self.state = None

    def make_batches(self, epoch):
        """Sentences of similar length per batch, each batch longest first; shuffled per epoch."""
        rng = np.random.default_rng([self.cfg.seed, epoch])
        lengths = self.train.lengths
        return [idx[np.argsort(-lengths[idx], kind="stable")]
                for idx in bucket_batches(lengths, self.cfg.batch_size, rng)]

    def step_loss(self, idx, rng):
        net, data = self.model.net, self.train
        batch = net.batch([data.words[i] for i in idx], [data.chars[i] for i in idx])
        if self.unk_rate is not None:   # word dropout: the rarer the word, the likelier (characters kept)
            batch = batch._replace(ids=np.where(rng.random(batch.ids.shape) < self.unk_rate[batch.ids], 1, batch.ids))
        loss, grads = net.loss(batch, data.tag_matrix(idx), rng)
        return loss, grads, len(idx), int(data.lengths[idx].sum())

    def predict_val(self):
        """(mean loss per token, predicted tag ids per validation sentence) in one pass."""
        from seqcli.models.tagger import token_batches

        net, data = self.model.net, self.val
        pred, total = [None] * len(data.lengths), 0.0
        for idx in token_batches(data.lengths):
            loss, tags = net.score(net.batch([data.words[i] for i in idx], [data.chars[i] for i in idx]),
                                   data.tag_matrix(idx))
            total += loss
            for j, i in enumerate(idx):
                pred[i] = tags[:data.lengths[i], j]
        return total / max(int(data.lengths.sum()), 1), pred

    def evaluate(self):
        loss, pred = self.predict_val()
        right = [p == np.asarray(g) for p, g in zip(pred, self.val.tags)]
        n, n_unseen = int(self.val.lengths.sum()), int(sum(u.sum() for u in self.unseen))
        figures = {"loss": loss, "accuracy": sum(int(r.sum()) for r in right) / max(n, 1)}
        # the best weights are those of the best accuracy: on UD English EWT the validation loss turned
        # upward at epoch 8 of 30 while the accuracy went on improving
        figures["objective"] = 1.0 - figures["accuracy"]
        if n_unseen:
            figures["unseen_accuracy"] = sum(int(r[u].sum()) for r, u in zip(right, self.unseen)) / n_unseen
        if self.scheme is not None:
            from seqcli.metrics.spans import span_scores

            names = self.model.tags
            figures["span_f1"] = span_scores([[names[k] for k in g] for g in self.val.tags],
                                             [[names[k] for k in p] for p in pred])["f1"]
        return figures

    def param_scales(self, epoch):
        """The learning rate of every weight in ``epoch`` (0-based): lr x lr_decay ** epoch. Large steps
        first, then smaller ones that settle: the validation figures of a constant rate wander by a point
        (two on unseen words) from one epoch to the next. Word vectors kept fixed (--freeze-embeddings)
        are a 0/1 mask times that factor."""
        decay = self.model.config.lr_decay
        scales = {} if decay == 1.0 else dict.fromkeys(self.model.net.params, decay ** epoch)
        if self.transfer is not None:
            for name, scale in self.transfer.scales(epoch).items():
                scales[name] = scale * scales.get(name, 1.0)
        return scales



# ------------------------------------------------------------------------------------ from files

@dataclass
class Prepared:
    """A tagging run read from files: the job and what the final report needs."""
    job: TagJob
    sentences: list            # the evaluated sentences' tokens ...
    gold: list                 # ... and gold tags
    seen: frozenset            # the training tokens (exact forms)
    scheme: str | None         # the training tags' scheme (BIO, IOB1, BIOES, BILOU) or None
    n_train: int
    n_val: int
    evaluated_on: str
    val_source: str | None
    skipped: int
    data: dict                 # format and tag column as read


def read(source, columns, notify):
    """The tagged sentences of ``source`` (data/conll.py), skipped sentences said through ``notify``."""
    from seqcli.data.conll import read_tagged

    columns = columns or {}
    data = read_tagged(source, columns.get("format"), columns.get("tag_col"), columns.get("text_col"))
    if data.skipped:
        notify(f"{data.source}: {data.skipped_summary()}")
    return data


def split(n, val_split, seed):
    """(train indexes, validation indexes) of n sentences: a seeded random ``val_split`` share held out
    (none when that rounds to 0 or would leave nothing to train on)."""
    n_val = int(np.ceil(val_split * n))
    if n_val == 0 or n_val >= n:
        return np.arange(n), None
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def unk_rates(words, sentences, lowercase, alpha):
    """(n_vocab,) word dropout rates alpha / (alpha + count): a word seen once is replaced by <unk>
    with probability alpha / (alpha + 1), a frequent one almost never; None when alpha is 0. So the
    <unk> vector and the character features learn from the words most like those unseen in training."""
    if not alpha:
        return None
    counts = Counter(w.lower() if lowercase else w for s in sentences for w in s)
    n = np.array([counts.get(w, 0) for w in words], dtype=np.float64)
    rate = alpha / (alpha + np.maximum(n, 1.0))
    rate[:2] = 0.0                     # padding and <unk> itself
    return rate


def transformer_options(cfg, sentences):
    """A Transformer encoder's own options (none for a recurrent one). Its ``max_len`` is the longest
    sentence it trains or validates on (at least 1): learned positions have a vector each up to it,
    and the fitted model tags a longer sentence in pieces of that many tokens (models/tagger.py)."""
    from seqcli.nn.transformer import MAX_POSITIONS

    if not isinstance(cfg, TransformerTagConfig):
        return {}
    longest = max(map(len, sentences), default=1)
    if cfg.positions == "learned" and longest > MAX_POSITIONS:
        raise SeqcliError(f"a sentence of {longest:,} tokens: learned positions reach {MAX_POSITIONS:,} at most "
                          "(--positions sinusoidal has no limit)")
    return cfg.transformer_options(max(1, min(longest, MAX_POSITIONS)))


def make_job(model, params, train, val=None, identity=None, info=None):
    """The job that trains a tagger of cell ``model`` with hyperparameters ``params`` on ``train``
    (sentences, tags: lists of token lists and tag lists), validating on ``val`` (the same; None: on
    the training sentences). Returns the job; its ``model`` is the Tagger being trained. With
    ``embeddings`` in ``params`` the word embedding starts from that vector file (tasks/transfer.py;
    its coverage goes to ``info``)."""
    from seqcli.metrics.spans import detect_scheme
    from seqcli.models.tagger import Tagger
    from seqcli.nn.tagger import TaggerNet
    from seqcli.tasks import transfer as transfer_mod

    mcfg, tcfg = configs(model, params)
    tr = transfer_mod.start({k: params[k] for k in TRANSFER if params.get(k) is not None})
    mcfg = tr.adapt(mcfg, params)
    (tr_s, tr_t), (va_s, va_t) = train, val if val is not None else train
    tags = sorted({t for row in tr_t for t in row} | {t for row in va_t for t in row})
    words = vocabulary(tr_s, mcfg.lowercase, mcfg.min_count, mcfg.max_vocab)
    chars = characters(tr_s)
    net = TaggerNet(len(words), len(chars), len(tags), cell=mcfg.cell, embed=mcfg.embed, hidden=mcfg.hidden,
                    layers=mcfg.layers, bidirectional=mcfg.bidirectional, char_features=mcfg.char_features,
                    char_embed=mcfg.char_embed, char_hidden=mcfg.char_hidden, char_width=mcfg.char_width,
                    crf=mcfg.crf, dropout=mcfg.dropout, max_word_chars=mcfg.max_word_chars, seed=tcfg.seed,
                    **transformer_options(mcfg, tr_s + va_s))
    if tr.cfg.embeddings is not None:
        counts = Counter(w.lower() if mcfg.lowercase else w for s in tr_s for w in s)
        tr.apply(net, words, np.array([counts.get(w, 0) for w in words]), embed="embed.E", info=info)
    seen = frozenset(w for s in tr_s for w in s)
    tagger = Tagger(mcfg, words, chars, tags, net, seen)
    unseen = [np.array([w not in seen for w in s], bool) for s in va_s]
    job = TagJob(tagger, tcfg, encode(tagger, tr_s, tr_t), encode(tagger, va_s, va_t), unseen,
                 unk_rates(words, tr_s, mcfg.lowercase, mcfg.word_dropout), detect_scheme(tr_t), identity)
    job.transfer = tr if tr.cfg.embeddings is not None else None
    return job


def prepare(data, model, params, columns=None, val=None, notify=None, info=None, report=None):
    """Read DATA (and the --val file), split, and build the job. Raises SeqcliError."""
    from seqcli.training import checkpoint

    notify = notify or (lambda message: None)
    info = info or notify
    _, tcfg = configs(model, params)
    tagged = read(data, columns, notify)
    skipped = len(tagged.skipped)
    if val is not None:
        val_data = read(val, columns, notify)
        skipped += len(val_data.skipped)
        train, held = (tagged.sentences, tagged.tags), (val_data.sentences, val_data.tags)
    else:
        tr, va = split(len(tagged.sentences), tcfg.val_split, tcfg.seed)
        train = ([tagged.sentences[i] for i in tr], [tagged.tags[i] for i in tr])
        held = None if va is None else ([tagged.sentences[i] for i in va], [tagged.tags[i] for i in va])
    pieces = ["\t".join(s) + "\n" + "\t".join(t) for s, t in zip(tagged.sentences, tagged.tags)]
    if val is not None:
        pieces += ["--val"] + ["\t".join(s) + "\n" + "\t".join(t) for s, t in zip(*held)]
    identity = {"task": NAME, "model": model, "params": dict(params), "data_sha256": checkpoint.fingerprint(pieces)}
    job = make_job(model, params, train, held, identity, info)
    evaluated = held or train          # nothing held out: early stopping watches the training sentences
    where = (f"validating on {len(evaluated[0]):,} sentences" + (f" of {val}" if val is not None else "")
             if held is not None else "validating on the training sentences")
    info(f"{tagged.source}: {len(train[0]):,} sentences, {sum(map(len, train[0])):,} tokens ({tagged.format}, "
         f"tags from {tagged.tag_col}: {len(job.model.tags)}), {len(job.model.words) - 2:,} words; {where}")
    return Prepared(job, evaluated[0], evaluated[1], job.model.seen, job.scheme, len(train[0]),
                    0 if held is None else len(held[0]), "training" if held is None else "validation",
                    None if val is None else str(val), skipped, {"format": tagged.format, "tag_col": tagged.tag_col})


def summary(prepared, outcome):
    """The final figures on the validation sentences (the training ones without any): token accuracy,
    unseen-word accuracy, per-tag scores, confusions and, for BIO-like tags, span scores."""
    from seqcli.metrics.spans import evaluate

    job, state = prepared.job, outcome.state
    _, pred = job.predict_val()
    tags = job.model.tags
    pred = [[tags[k] for k in row] for row in pred]
    out = {"tags": tags, "n_train": prepared.n_train, "n_val": prepared.n_val,
           "evaluated_on": prepared.evaluated_on, "skipped_sentences": prepared.skipped, "data": prepared.data,
           "metrics": evaluate(prepared.sentences, prepared.gold, pred, prepared.seen, prepared.scheme)}
    if prepared.val_source is not None:
        out["val_source"] = prepared.val_source
    if outcome.halted is None:
        out.update(epochs_run=state.epoch, best_epoch=state.best_epoch + 1, stopped=state.stop_reason)
    return out
