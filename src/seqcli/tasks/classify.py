"""Many to one: text classification (``seqcli train DATA.csv --model bow|rnn|gru|lstm|transformer``).

What this task supplies to the one training path (training/fit.py): reading a CSV/TSV of texts and
labels, the validation rows (a stratified ``--val-split`` of DATA, or ``--val FILE``), two ways of
feeding the texts (``BowFeed``: sparse n-gram rows for the bag-of-words model; ``SeqFeed``: token ids
bucketed by length for the sequence models, recurrent or Transformer), the loss, the validation figures (log-loss, accuracy)
and the final report (accuracy, macro-F1, per-class table, confusion matrix). The scikit-learn
estimators (estimators.py) build the same job from texts in memory.
"""

from dataclasses import dataclass

import numpy as np

from seqcli.config import BowConfig, SeqConfig, TrainConfig, TransformerFields, TransformerSeqConfig, split_params
from seqcli.errors import SeqcliError
from seqcli.nn.functional import log_softmax
from seqcli.text import Vocab, bucket_batches, pad_batch
from seqcli.training.fit import Job

NAME = "classify"
MODELS = ("bow", "rnn", "gru", "lstm", "transformer")
OTHER_DATA = ("other data", "data file")   # "made on other data than X; resume with the same data file"


def config_class(model):
    """The config dataclass of model kind ``model``."""
    return {"bow": BowConfig, "transformer": TransformerSeqConfig}.get(model, SeqConfig)


def accepts(model):
    """The parameter names a run of model kind ``model`` uses."""
    from dataclasses import fields

    from seqcli.tasks import transfer

    names = {f.name for f in fields(config_class(model))} | {f.name for f in fields(TrainConfig)}
    if model == "transformer":   # transfer learning starts recurrent layers (and their embedding) only
        return names - {"bidirectional"}
    return names if model == "bow" else names | transfer.names()


def configs(model, params):
    """(model config, train config with the model's training defaults) for model kind ``model``."""
    if model not in MODELS:
        raise SeqcliError(f"unknown model {model!r} (choose {', '.join(MODELS)})", exit_code=2)
    cls = config_class(model)
    model_values, train_values = split_params(params, cls, TrainConfig)
    if model != "bow":
        model_values["cell"] = model
    model_cfg = cls(**model_values)
    return model_cfg, TrainConfig(**train_values).with_defaults(model_cfg)


# ------------------------------------------------------------------------------------------ feeds

class BowFeed:
    """Texts as sparse feature rows (CSR triples) for the bag-of-words network."""

    unit = "rows"
    worth_splitting = False   # a step is a fraction of a millisecond: the pipes would cost more than they share
    eval_batch = 512

    def build(self, cfg, tcfg, texts, y_idx, classes, transfer=None, info=None):
        from seqcli.features import Vectorizer, nb_scale
        from seqcli.models.bow import BowModel
        from seqcli.nn.bownet import BowNet

        vec = Vectorizer(cfg.vectorizer_config())
        rows = vec.fit_transform(texts)
        # mode nb: binary features scaled by naive-Bayes ratios learnt from the labels
        scale = nb_scale(rows, y_idx, len(classes)) if cfg.mode == "nb" else None
        return BowModel(cfg, vec, BowNet(vec.n_features_, len(classes)), classes, scale)

    def encode(self, model, texts, cut=None):
        return model.features(texts)   # every n-gram of a text is read: nothing is cut

    def batches(self, rows, batch_size, rng=None):
        """Index arrays of the rows, shuffled by ``rng`` (None: in order)."""
        n = len(rows[0]) - 1
        order = np.arange(n) if rng is None else rng.permutation(n)
        return [order[i: i + batch_size] for i in range(0, n, batch_size)]

    def batch(self, rows, idx):
        return take_rows(rows[0], rows[1], rows[2], idx)

    def n_tokens(self, batch):
        return len(batch[1])

    def loss(self, net, batch, y, w, rng):
        return net.loss(batch, y, w)

    def logits(self, net, batch):
        return net.logits(batch)


class SeqFeed:
    """Texts as token id lists, batched by similar length, for the sequence networks (SeqNet with the
    encoder the config names: recurrent or Transformer)."""

    unit = "tokens"
    eval_batch = 256
    sparse = True   # the embedding's gradient: only the columns a batch read (nn/sparse.py)

    def build(self, cfg, tcfg, texts, y_idx, classes, transfer=None, info=None):
        """The SeqModel to train; ``transfer`` (tasks/transfer.py) puts word vectors or a language
        model's weights into its net (and may add the language model's words to the vocabulary)."""
        from seqcli.models.classifier import SeqModel
        from seqcli.nn.seqnet import SeqNet

        probe = SeqModel(cfg, None, None, [])
        vocab = Vocab.build((probe.tokenize(t) for t in texts), cfg.min_count, cfg.max_vocab)
        if transfer is not None:
            vocab = transfer.vocab(vocab)
        transformer = cfg.transformer_options(cfg.max_len) if isinstance(cfg, TransformerFields) else {}
        net = SeqNet(len(vocab), len(classes), cell=cfg.cell, embed=cfg.embed_size() if transformer else cfg.embed,
                     hidden=cfg.hidden, layers=cfg.layers, bidirectional=cfg.bidirectional, pool=cfg.pool,
                     dropout=cfg.dropout, seed=tcfg.seed, **transformer)
        model = SeqModel(cfg, vocab, net, classes)
        if transfer is not None and transfer.cfg.used:
            if cfg.bidirectional and transfer.lm is not None:
                raise SeqcliError("a language model reads left to right: --init-from / --pretrain start a "
                                  "one-directional classifier (leave out --bidirectional)", exit_code=2)
            ids = model.encode(texts)
            counts = np.bincount(np.fromiter((i for row in ids for i in row), dtype=np.int64),
                                 minlength=len(vocab))
            transfer.apply(net, vocab.tokens, counts, embed="embed.E", stack="enc.l{i}.fw", info=info)
        return model

    def encode(self, model, texts, cut=None):
        return model.encode(texts, cut)

    def batches(self, id_lists, batch_size, rng=None):
        """Index arrays of rows of similar length; shuffled by ``rng`` (None: shortest first)."""
        return bucket_batches([len(ids) for ids in id_lists], batch_size, rng)

    def batch(self, id_lists, idx):
        return pad_batch([id_lists[i] for i in idx])

    def n_tokens(self, batch):
        return int(batch[1].sum())

    def loss(self, net, batch, y, w, rng):
        ids, lengths = batch
        return net.loss(ids, lengths, y, w, rng=rng, sparse=self.sparse)

    def logits(self, net, batch):
        ids, lengths = batch
        return net.forward(ids, lengths)[0]


def feed_for(model_cfg):
    return BowFeed() if isinstance(model_cfg, BowConfig) else SeqFeed()


# ------------------------------------------------------------------------------------------- job

class ClassifyJob(Job):
    """One classifier being trained (the job protocol of training/fit.py)."""

    transfer = None        # tasks/transfer.py's Transfer, when the model starts from pretrained weights
    param_scales = None    # what trains in each epoch (see training/fit.py)
    def __init__(self, feed, model, cfg, train, val, weights, identity):
        self.feed, self.model, self.cfg, self.identity = feed, model, cfg, identity
        self.enc, self.y = train          # encoded rows, (n,) class indices
        self.enc_val, self.y_val = val
        self.weights = weights            # (n,) per-row weights (class_weight) or None
        self.unit, self.worth_splitting = feed.unit, getattr(feed, "worth_splitting", True)
        self.evaluates_on = "training" if val[0] is train[0] else "validation"
        self.state = None
        self.truncated = (0, 0)   # (training, validation) texts longer than a recurrent model reads

    def make_batches(self, epoch):
        rng = np.random.default_rng([self.cfg.seed, epoch])
        return self.feed.batches(self.enc, self.cfg.batch_size, rng)

    def step_loss(self, idx, rng):
        batch = self.feed.batch(self.enc, idx)
        w = None if self.weights is None else self.weights[idx]
        loss, grads = self.feed.loss(self.model.net, batch, self.y[idx], w, rng)
        return loss, grads, len(idx), self.feed.n_tokens(batch)

    loss_per = "rows"

    def shard_weight(self, idx, rows, tokens):
        """The denominator of a part's mean loss: its rows, or their class weights."""
        return rows if self.weights is None else float(self.weights[idx].sum())

    def evaluate(self):
        logp = self.log_proba(self.enc_val)
        y = self.y_val
        return {"loss": -float(logp[np.arange(len(y)), y].mean()),
                "accuracy": float((logp.argmax(axis=1) == y).mean())}

    def log_proba(self, enc):
        """Log-probabilities (m, n_classes) of encoded rows, in batches."""
        out = np.zeros((_n_rows(enc), len(self.model.classes)))
        for idx in self.feed.batches(enc, self.feed.eval_batch):
            out[idx] = log_softmax(self.feed.logits(self.model.net, self.feed.batch(enc, idx)), axis=0).T
        return out


def _n_rows(enc):
    return len(enc[0]) - 1 if isinstance(enc, tuple) else len(enc)


def make_job(model, params, X_tr, y_tr, X_va=None, y_va=None, identity=None, notify=None, info=None,
             report=None, class_weight=None):
    """The job that trains model kind ``model`` with hyperparameters ``params`` on texts ``X_tr`` and
    labels ``y_tr``, validating on (X_va, y_va) (None: on the training rows). ``class_weight``: a dict
    {class: weight} (scikit-learn's form; "balanced" comes in ``params``). A recurrent model may
    start from word vectors or a language model (``--pretrain`` trains that first: its progress goes
    to ``report``, its notes to ``info``).

    Returns (job, classes): classes is the sorted array of every label seen, in the caller's type.
    """
    from seqcli.tasks import transfer as transfer_mod

    model_cfg, tcfg = configs(model, params)
    X_tr, y_tr = [str(t) for t in X_tr], np.asarray(y_tr)
    classes = np.unique(y_tr if y_va is None else np.concatenate([y_tr, np.asarray(y_va)]))
    index = {c: i for i, c in enumerate(classes.tolist())}
    y_idx = np.array([index[v] for v in y_tr.tolist()], dtype=np.int64)
    weights = class_weights(y_idx, len(classes)) if tcfg.class_weight == "balanced" else None
    if class_weight is not None:
        per_class = np.array([float(class_weight.get(c, 1.0)) for c in classes.tolist()], dtype=np.float32)
        weights = per_class[y_idx]
    feed = feed_for(model_cfg)
    transfer = None
    if model != "bow":
        transfer = transfer_mod.start(params, model_cfg, X_tr, notify, info, report)
        model_cfg = transfer.adapt(model_cfg, params)
    fitted = feed.build(model_cfg, tcfg, X_tr, y_idx, [str(c) for c in classes], transfer, info)
    cut_tr, cut_va = [], []   # texts longer than max_len tokens (recurrent models read only their head)
    enc = feed.encode(fitted, X_tr, cut_tr)
    if X_va is not None and len(X_va):
        val = (feed.encode(fitted, [str(t) for t in X_va], cut_va),
               np.array([index[v] for v in np.asarray(y_va).tolist()], dtype=np.int64))
    else:  # no validation data: early stopping watches the training loss
        val = (enc, y_idx)
    job = ClassifyJob(feed, fitted, tcfg, (enc, y_idx), val, weights, identity)
    job.truncated = (len(cut_tr), len(cut_va))   # (training, validation) texts cut to max_len
    if transfer is not None and transfer.cfg.used:
        job.transfer, job.param_scales = transfer, transfer.scales
    return job, classes


# ------------------------------------------------------------------------------------ from files

@dataclass
class Prepared:
    """A classification run read from files: the job and what the final report needs."""
    job: ClassifyJob
    eval_texts: list
    eval_labels: list
    n_train: int
    n_val: int
    evaluated_on: str          # "validation" or "training"
    val_source: str | None     # the --val file, when given
    skipped_rows: int


def prepare(data_path, model, params, columns=None, val=None, notify=None, info=None, report=None):
    """Read DATA (and the --val file), split, and build the job. Raises SeqcliError.

    columns: {"text_col": ..., "label_col": ...} (None: found by name)."""
    from seqcli import data
    from seqcli.training import checkpoint

    notify = notify or (lambda message: None)
    text_col, label_col = (columns or {}).get("text_col"), (columns or {}).get("label_col")
    table = data.read_table(data_path, text_col, label_col)  # bad data fails before slow imports
    if table.skipped:
        notify(table.skipped_summary())
    if len(set(table.labels)) < 2:
        raise SeqcliError(f"{table.source}: every usable row has the label {table.labels[0]!r}; "
                          "a classifier needs at least two classes")
    _, tcfg = configs(model, params)
    skipped = len(table.skipped)
    if val is not None:
        vt = data.read_table(val, text_col, label_col)
        if vt.skipped:
            notify(vt.skipped_summary())
        skipped += len(vt.skipped)
        X_tr, y_tr, X_va, y_va = table.texts, np.array(table.labels), vt.texts, np.array(vt.labels)
    else:
        X_tr, X_va, y_tr, y_va = split_stratified(table.texts, np.array(table.labels), tcfg.val_split,
                                                  tcfg.seed)
    pieces = [p for pair in zip(table.texts, table.labels) for p in pair]
    if val is not None:
        pieces += ["--val"] + [p for pair in zip(vt.texts, vt.labels) for p in pair]
    identity = {"task": NAME, "model": model, "params": dict(params),
                "data_sha256": checkpoint.fingerprint(pieces)}
    job, _ = make_job(model, params, X_tr, y_tr, X_va, y_va, identity, notify, info, report)
    has_val = X_va is not None
    _say_truncated(job, len(X_tr), table.source, notify)
    return Prepared(job, list(X_va if has_val else X_tr), list(y_va if has_val else y_tr), len(X_tr),
                    len(X_va) if has_val else 0, "validation" if has_val else "training",
                    None if val is None else data.display_name(val), skipped)


def summary(prepared, outcome):
    """The final figures on the validation rows (the training rows without any)."""
    from seqcli.metrics import classification_report

    fitted, state = prepared.job.model, outcome.state
    proba = fitted.predict_proba(prepared.eval_texts)
    pred = np.array(fitted.classes)[proba.argmax(axis=1)]
    out = {"classes": fitted.classes, "n_train": prepared.n_train, "n_val": prepared.n_val,
           "evaluated_on": prepared.evaluated_on, "skipped_rows": prepared.skipped_rows,
           "metrics": classification_report(prepared.eval_labels, pred, fitted.classes, proba)}
    if prepared.val_source is not None:
        out["val_source"] = prepared.val_source
    if isinstance(prepared.job.feed, SeqFeed):   # the training (and validation) texts read only in part
        out.update(max_len=fitted.config.max_len, truncated=prepared.job.truncated[0],
                   truncated_val=prepared.job.truncated[1])
    if outcome.halted is None:
        out.update(epochs_run=state.epoch, best_epoch=state.best_epoch + 1, stopped=state.stop_reason)
    return out


# ------------------------------------------------------------------------------------------ helpers

def _say_truncated(job, n_train, source, notify):
    """A warning when training texts are longer than the recurrent model reads (--max-len): never silent."""
    n_cut, n_cut_val = job.truncated
    if n_cut or n_cut_val:
        limit = job.model.config.max_len
        also = f" (and {n_cut_val:,} validation texts)" if n_cut_val else ""
        notify(f"{source}: {n_cut:,} of {n_train:,} training texts{also} have more than {limit:,} tokens: "
               f"only their first {limit:,} are read (a larger --max-len reads more)")


def take_rows(indptr, indices, data, idx):
    """CSR rows ``idx`` of a CSR triple, as a new triple (indptr (k+1,), indices, data)."""
    starts, lengths = indptr[idx], indptr[np.asarray(idx) + 1] - indptr[idx]
    new_indptr = np.zeros(len(idx) + 1, dtype=np.int64)
    np.cumsum(lengths, out=new_indptr[1:])
    # position of each kept nonzero in the old arrays: its row's old start + offset within the row
    offsets = np.arange(new_indptr[-1]) - np.repeat(new_indptr[:-1], lengths)
    src = np.repeat(starts, lengths) + offsets
    return new_indptr, indices[src], data[src]


def class_weights(y_idx, n_classes):
    """Per-example weights n / (k * count[class]), scikit-learn's "balanced" rule."""
    counts = np.bincount(y_idx, minlength=n_classes).astype(np.float64)
    per_class = len(y_idx) / (n_classes * np.maximum(counts, 1))
    return per_class[y_idx].astype(np.float32)


def split_stratified(X, y, val_split, seed):
    """Seeded stratified split (train_test_split); falls back to a plain split when a class has
    fewer than two members, since stratifying is then impossible. Returns X_tr, X_va, y_tr, y_va
    (X_va, y_va None when nothing is held out)."""
    from sklearn.model_selection import train_test_split

    y = np.asarray(y)
    _, counts = np.unique(y, return_counts=True)
    stratify = y if counts.min() >= 2 else None
    n_val = int(np.ceil(val_split * len(y)))  # how train_test_split rounds a fractional test_size
    if n_val == 0 or n_val >= len(y) or (stratify is not None and len(y) - n_val < len(counts)):
        return list(X), None, y, None
    test_size = max(val_split, len(counts) / len(y)) if stratify is not None else val_split
    X_tr, X_va, y_tr, y_va = train_test_split(list(X), y, test_size=test_size, random_state=seed,
                                              stratify=stratify)
    return X_tr, X_va, y_tr, y_va
