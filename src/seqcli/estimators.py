"""scikit-learn style estimators that fit the zoo's models on raw texts.

``BowClassifier`` and ``SeqClassifier`` follow the estimator rules (hyperparameters stored verbatim
by ``__init__``, fitted attributes with a trailing underscore), so ``clone``, ``cross_val_score``,
``GridSearchCV`` and joblib work on them. They differ only in how texts become batches and which
network they build; the fitting loop is shared (``_TextClassifier.fit`` over ``train.run``).
This module imports scikit-learn, so the predict path never imports it: fitted models are the
light ``predictors`` classes held in ``model_``.
"""

from dataclasses import fields

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from seqcli import train
from seqcli.config import BowConfig, SeqConfig, TrainConfig
from seqcli.errors import SeqcliError
from seqcli.nn import checks
from seqcli.nn.functional import log_softmax
from seqcli.nn.optim import make_optimizer
from seqcli.predictors import BowModel, SeqModel
from seqcli.text import Vocab, bucket_batches, pad_batch


class ResumePoint:
    """What a checkpoint restores: current and best params, optimizer state, loop position."""

    def __init__(self, params, best_params, opt_arrays, opt_meta, state):
        self.params, self.best_params = params, best_params
        self.opt_arrays, self.opt_meta, self.state = opt_arrays, opt_meta, state


class _TextClassifier(ClassifierMixin, BaseEstimator):
    """Shared fitting logic; subclasses define the model config class and four small hooks."""

    model_config_cls = None   # BowConfig or SeqConfig
    model_name = None         # "bow" or the cell name, to pick training defaults

    def _configs(self):
        params = self.get_params()
        model_cfg = self.model_config_cls(**{f.name: params[f.name] for f in fields(self.model_config_cls)})
        train_cfg = TrainConfig(**{f.name: params[f.name] for f in fields(TrainConfig)})
        return model_cfg, train_cfg.with_defaults(self._defaults_key(model_cfg))

    def fit(self, X, y, X_val=None, y_val=None, report=None, resume=None, on_best=None, on_halt=None):
        """Fit on texts ``X`` with labels ``y``; validate on (X_val, y_val) or an internal split.

        report(event): progress events from train.run. resume: a ResumePoint. on_best(model):
        called with the model at its best weights each time validation improves. When training
        halts early (Ctrl-C, --max-steps, --max-time) ``on_halt(model, resume_point, reason)``
        is called (to write a checkpoint) and train.Halted is re-raised.
        """
        model_cfg, tcfg = self._configs()
        X, y = [str(t) for t in X], np.asarray(y)
        if X_val is None and tcfg.val_split > 0:
            X, X_val, y, y_val = split_stratified(X, y, tcfg.val_split, tcfg.seed)
        # classes_ keeps the caller's label type (scikit-learn's rule); model files store str()
        self.classes_ = np.unique(y if y_val is None else np.concatenate([y, np.asarray(y_val)]))
        index = {c: i for i, c in enumerate(self.classes_.tolist())}
        y_idx = np.array([index[v] for v in y.tolist()], dtype=np.int64)
        weights = class_weights(y_idx, len(self.classes_)) if tcfg.class_weight == "balanced" else None

        model = self._build(model_cfg, tcfg, X, y_idx, len(self.classes_))
        enc = self._encode(model, X)
        if X_val is not None and len(X_val):
            enc_val = self._encode(model, list(X_val))
            yv_idx = np.array([index[v] for v in np.asarray(y_val).tolist()], dtype=np.int64)
        else:  # no validation data: early stopping watches the training loss
            enc_val, yv_idx = enc, y_idx
        net = model.net
        optimizer = make_optimizer(tcfg.optimizer, tcfg.lr, tcfg.weight_decay)
        state = best = None
        if resume is not None:
            try:  # the network built from the data and settings must be the checkpoint's
                checks.check_resume(net.params, resume.params, resume.best_params, resume.opt_arrays)
            except ValueError as exc:
                raise SeqcliError(f"--resume: the checkpoint does not match the network ({exc})") from None
            net.params.update({k: v.copy() for k, v in resume.params.items()})
            optimizer.load_state(resume.opt_arrays, resume.opt_meta)
            state, best = resume.state, resume.best_params

        def make_batches(epoch):
            rng = np.random.default_rng([tcfg.seed, epoch])
            return self._batch_indices(enc, tcfg.batch_size, rng)

        def step_loss(idx, rng):
            batch = self._batch(enc, idx)
            w = None if weights is None else weights[idx]
            loss, grads = self._loss(net, batch, y_idx[idx], w, rng)
            return loss, grads, len(idx), self._n_tokens(batch)

        def evaluate():
            logp = self._log_proba(model, enc_val)
            loss = -float(logp[np.arange(len(yv_idx)), yv_idx].mean())
            return {"loss": loss, "accuracy": float((logp.argmax(axis=1) == yv_idx).mean())}

        def best_seen(params):
            if on_best is not None:
                live = dict(net.params)
                net.params.update(params)
                on_best(model)
                net.params.update(live)

        try:
            state, _ = train.run(net, optimizer, make_batches, step_loss, evaluate, tcfg, report,
                                 state=state, best_params=best, on_best=best_seen)
        except train.Halted as halt:
            if on_halt is not None:
                opt_arrays, opt_meta = optimizer.state_arrays()
                point = ResumePoint({k: v.copy() for k, v in net.params.items()}, halt.best_params,
                                    opt_arrays, opt_meta, halt.state)
                net.params.update(halt.best_params)
                self.model_ = model
                on_halt(model, point, halt.reason)
            raise
        self.model_ = model
        self.history_ = state.history
        self.train_state_ = state
        return self

    def predict_proba(self, X):
        """Class probabilities (n_texts, n_classes) in the order of ``classes_``."""
        return self.model_.predict_proba([str(t) for t in X])

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def _log_proba(self, model, enc):
        """Log-probabilities (m, n_y) of encoded texts, in batches."""
        out = []
        for idx in self._batch_indices(enc, 512, None, keep_order=True):
            out.append(log_softmax(self._logits(model.net, self._batch(enc, idx)), axis=0).T)
        return np.concatenate(out) if out else np.zeros((0, len(self.classes_)))


class BowClassifier(_TextClassifier):
    """Multinomial logistic regression on bag-of-words / n-gram / tf-idf / hashed features."""

    model_config_cls = BowConfig

    def __init__(self, analyzer="word", ngram_min=1, ngram_max=1, mode="tfidf", sublinear_tf=True,
                 min_df=1, max_features=None, hash_bits=None, lowercase=True, epochs=None,
                 batch_size=None, lr=None, optimizer="adam", clip=5.0, weight_decay=None,
                 patience=3, val_split=0.1, seed=0, class_weight=None, max_steps=None, max_time=None):
        self.analyzer, self.ngram_min, self.ngram_max, self.mode = analyzer, ngram_min, ngram_max, mode
        self.sublinear_tf, self.min_df, self.max_features = sublinear_tf, min_df, max_features
        self.hash_bits, self.lowercase = hash_bits, lowercase
        self.epochs, self.batch_size, self.lr, self.optimizer = epochs, batch_size, lr, optimizer
        self.clip, self.weight_decay, self.patience, self.val_split = clip, weight_decay, patience, val_split
        self.seed, self.class_weight, self.max_steps, self.max_time = seed, class_weight, max_steps, max_time

    def _defaults_key(self, model_cfg):
        return "bow"

    def _build(self, cfg, tcfg, texts, y_idx, n_classes):
        from seqcli.features import Vectorizer, VectorizerConfig, nb_scale
        from seqcli.nn.models import BowNet

        nb = cfg.mode == "nb"  # binary features scaled by naive-Bayes ratios learnt from the labels
        vec = Vectorizer(VectorizerConfig(
            analyzer=cfg.analyzer, ngram_min=cfg.ngram_min, ngram_max=cfg.ngram_max,
            mode="binary" if nb else cfg.mode, sublinear_tf=cfg.sublinear_tf, min_df=cfg.min_df,
            max_features=cfg.max_features, hash_bits=cfg.hash_bits, lowercase=cfg.lowercase))
        rows = vec.fit_transform(texts)
        scale = nb_scale(rows, y_idx, n_classes) if nb else None
        return BowModel(cfg, vec, BowNet(vec.n_features_, n_classes), [str(c) for c in self.classes_], scale)

    def _encode(self, model, texts):
        return model.features(texts)

    def _batch_indices(self, rows, batch_size, rng, keep_order=False):
        n = len(rows[0]) - 1
        order = np.arange(n) if rng is None else rng.permutation(n)
        return [order[i: i + batch_size] for i in range(0, n, batch_size)]

    def _batch(self, rows, idx):
        return take_rows(rows[0], rows[1], rows[2], idx)

    def _n_tokens(self, batch):
        return len(batch[1])

    def _loss(self, net, batch, y, w, rng):
        return net.loss(batch, y, w)

    def _logits(self, net, batch):
        return net.logits(batch)


class SeqClassifier(_TextClassifier):
    """Embedding -> RNN / GRU / LSTM stack (optionally bidirectional) -> pooling -> dense -> softmax."""

    model_config_cls = SeqConfig

    def __init__(self, cell="lstm", embed=128, hidden=128, layers=1, bidirectional=False, pool="last",
                 dropout=0.5, min_count=2, max_vocab=50000, max_len=256, lowercase=True, epochs=None,
                 batch_size=None, lr=None, optimizer="adam", clip=5.0, weight_decay=None, patience=3,
                 val_split=0.1, seed=0, class_weight=None, max_steps=None, max_time=None):
        self.cell, self.embed, self.hidden, self.layers = cell, embed, hidden, layers
        self.bidirectional, self.pool, self.dropout = bidirectional, pool, dropout
        self.min_count, self.max_vocab, self.max_len, self.lowercase = min_count, max_vocab, max_len, lowercase
        self.epochs, self.batch_size, self.lr, self.optimizer = epochs, batch_size, lr, optimizer
        self.clip, self.weight_decay, self.patience, self.val_split = clip, weight_decay, patience, val_split
        self.seed, self.class_weight, self.max_steps, self.max_time = seed, class_weight, max_steps, max_time

    def _defaults_key(self, model_cfg):
        return model_cfg.cell

    def _build(self, cfg, tcfg, texts, y_idx, n_classes):
        from seqcli.nn.seqnet import SeqNet

        probe = SeqModel(cfg, None, None, [])
        vocab = Vocab.build((probe.tokenize(t) for t in texts), cfg.min_count, cfg.max_vocab)
        net = SeqNet(len(vocab), n_classes, cell=cfg.cell, embed=cfg.embed, hidden=cfg.hidden,
                     layers=cfg.layers, bidirectional=cfg.bidirectional, pool=cfg.pool,
                     dropout=cfg.dropout, seed=tcfg.seed)
        return SeqModel(cfg, vocab, net, [str(c) for c in self.classes_])

    def _encode(self, model, texts):
        return model.encode(texts)

    def _batch_indices(self, id_lists, batch_size, rng, keep_order=False):
        lengths = [len(ids) for ids in id_lists]
        if keep_order:  # evaluation: still bucket by length, order of rows restored by caller
            return bucket_batches(lengths, batch_size, None)
        return bucket_batches(lengths, batch_size, rng)

    def _log_proba(self, model, enc):
        out = np.empty((len(enc), len(self.classes_)))
        for idx in self._batch_indices(enc, 256, None, keep_order=True):
            logits = self._logits(model.net, self._batch(enc, idx))
            out[idx] = log_softmax(logits, axis=0).T
        return out

    def _batch(self, id_lists, idx):
        return pad_batch([id_lists[i] for i in idx])

    def _n_tokens(self, batch):
        return int(batch[1].sum())

    def _loss(self, net, batch, y, w, rng):
        ids, lengths = batch
        return net.loss(ids, lengths, y, w, rng=rng)

    def _logits(self, net, batch):
        ids, lengths = batch
        return net.forward(ids, lengths)[0]


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
    fewer than two members, since stratifying is then impossible."""
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
