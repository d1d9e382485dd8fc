"""scikit-learn estimators that fit the zoo's classifiers on raw texts.

``BowClassifier`` and ``SeqClassifier`` follow the estimator rules (hyperparameters stored verbatim
by ``__init__``, fitted attributes with a trailing underscore), so ``clone``, ``cross_val_score``,
``GridSearchCV`` and joblib work on them. Their parameters are the fields of config.py (BowConfig or
SeqConfig, and TrainConfig; SeqClassifier also TransferConfig's: word vectors, a language model or
pretraining one; a test keeps the signatures and the configs equal). Fitting is the task's
own path: ``tasks.classify.make_job`` builds the job, ``training.fit.fit`` trains it. This module
imports scikit-learn, so the predict path never imports it: the fitted model (``model_``) is the light
class from seqcli.models.
"""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin


class _TextClassifier(ClassifierMixin, BaseEstimator):
    """Shared fitting logic; subclasses differ only in their parameters and model kind."""

    def _model_kind(self):
        raise NotImplementedError

    def fit(self, X, y, X_val=None, y_val=None, report=None):
        """Fit on texts ``X`` with labels ``y``; validate on (X_val, y_val) or an internal split
        (``val_split``; 0 = early stopping watches the training loss).

        report(event): progress events. A run stopped by ``max_steps`` / ``max_time`` keeps its best
        weights and says why in ``halted_``; Ctrl-C raises KeyboardInterrupt.
        """
        from seqcli.tasks import classify
        from seqcli.training.fit import fit

        params = self.get_params()
        X, y = [str(t) for t in X], np.asarray(y)
        if X_val is None:
            _, tcfg = classify.configs(self._model_kind(), params)
            if tcfg.val_split > 0:
                X, X_val, y, y_val = classify.split_stratified(X, y, tcfg.val_split, tcfg.seed)
        job, self.classes_ = classify.make_job(self._model_kind(), params, X, y, X_val, y_val, report=report)
        outcome = fit(job, report=report)
        if outcome.halted == "interrupted":
            raise KeyboardInterrupt
        self.model_ = job.model
        self.history_ = outcome.state.history
        self.train_state_ = outcome.state
        self.halted_ = outcome.halted
        return self

    def predict_proba(self, X):
        """Class probabilities (n_texts, n_classes) in the order of ``classes_``."""
        return self.model_.predict_proba([str(t) for t in X])

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


class BowClassifier(_TextClassifier):
    """Multinomial logistic regression on bag-of-words / n-gram / tf-idf / hashed features."""

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

    def _model_kind(self):
        return "bow"


class SeqClassifier(_TextClassifier):
    """Embedding -> RNN / GRU / LSTM stack (optionally bidirectional) -> pooling -> dense -> softmax."""

    def __init__(self, cell="lstm", embed=128, hidden=128, layers=1, bidirectional=False, pool="last",
                 dropout=0.5, min_count=2, max_vocab=50000, max_len=256, lowercase=True, epochs=None,
                 batch_size=None, lr=None, optimizer="adam", clip=5.0, weight_decay=None, patience=3,
                 val_split=0.1, seed=0, class_weight=None, max_steps=None, max_time=None, embeddings=None,
                 freeze_embeddings=False, init_from=None, freeze_epochs=0, lr_decay=1.0, pretrain=False,
                 pretrain_corpus=None, pretrain_epochs=None):
        self.cell, self.embed, self.hidden, self.layers = cell, embed, hidden, layers
        self.bidirectional, self.pool, self.dropout = bidirectional, pool, dropout
        self.min_count, self.max_vocab, self.max_len, self.lowercase = min_count, max_vocab, max_len, lowercase
        self.epochs, self.batch_size, self.lr, self.optimizer = epochs, batch_size, lr, optimizer
        self.clip, self.weight_decay, self.patience, self.val_split = clip, weight_decay, patience, val_split
        self.seed, self.class_weight, self.max_steps, self.max_time = seed, class_weight, max_steps, max_time
        self.embeddings, self.freeze_embeddings, self.init_from = embeddings, freeze_embeddings, init_from
        self.freeze_epochs, self.lr_decay, self.pretrain = freeze_epochs, lr_decay, pretrain
        self.pretrain_corpus, self.pretrain_epochs = pretrain_corpus, pretrain_epochs

    def _model_kind(self):
        return self.cell


def make_estimator(model, params):
    """A fresh estimator for model kind ``model`` ("bow" or a cell) with hyperparameters ``params``
    (keys it does not take are ignored; None = the default)."""
    cls = BowClassifier if model == "bow" else SeqClassifier
    known = cls._get_param_names()
    kwargs = {k: v for k, v in params.items() if k in known and v is not None}
    if cls is SeqClassifier:
        kwargs["cell"] = model
    return cls(**kwargs)
