"""scikit-learn estimators that fit the zoo's classifiers on raw texts.

``BowClassifier``, ``SeqClassifier`` and ``TransformerClassifier`` follow the estimator rules (hyperparameters stored verbatim
by ``__init__``, fitted attributes with a trailing underscore), so ``clone``, ``cross_val_score``,
``GridSearchCV`` and joblib work on them. Their parameters are the fields of config.py (BowConfig,
SeqConfig or TransformerSeqConfig, and TrainConfig; SeqClassifier also TransferConfig's: word vectors, a
language model or pretraining one; a test keeps the signatures and the configs equal). Fitting is the task's
own path: ``tasks.classify.make_job`` builds the job, ``training.fit.fit`` trains it. This module
imports scikit-learn, so the predict path never imports it: the fitted model (``model_``) is the light
class from seqcli.models.
"""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted


def _texts(X, what="X"):
    """``X`` as a list of str: a sequence of texts (a 1-D array, a list, a pandas Series)."""
    if isinstance(X, str):
        raise ValueError(f"{what} must be a sequence of texts, not a single string")
    array = np.asarray(X, dtype=object)
    if array.ndim != 1:
        raise ValueError(f"{what} must be a 1-D sequence of texts, got an array of shape {array.shape}")
    return [str(t) for t in array.tolist()]


def _labels(y, n):
    """``y`` as a 1-D array of class labels for ``n`` texts; anything else is a ValueError."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D (one label per text), got shape {y.shape}")
    if len(y) != n:
        raise ValueError(f"X has {n} texts but y has {len(y)} labels")
    kind = type_of_target(y)
    if kind not in ("binary", "multiclass"):
        raise ValueError(f"Unknown label type: {kind!r}; a classifier needs class labels, not {kind} values")
    return y


class _TextClassifier(ClassifierMixin, BaseEstimator):
    """Shared fitting logic; subclasses differ only in their parameters and model kind.

    ``class_weight`` takes None, "balanced" or a dict {class: weight}, as scikit-learn's classifiers do."""

    def _model_kind(self):
        raise NotImplementedError

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True       # texts in, as scikit-learn's own text tools
        tags.input_tags.two_d_array = False
        return tags

    def fit(self, X, y, X_val=None, y_val=None, report=None):
        """Fit on texts ``X`` with labels ``y``; validate on (X_val, y_val) or an internal split
        (``val_split``; 0 = early stopping watches the training loss).

        report(event): progress events. A run stopped by ``max_steps`` / ``max_time`` keeps its best
        weights and says why in ``halted_``; Ctrl-C raises KeyboardInterrupt.
        """
        from seqcli.tasks import classify
        from seqcli.training.fit import fit

        params = self.get_params()
        weights = params.pop("class_weight")
        if weights is not None and not isinstance(weights, (str, dict)):
            raise ValueError(f"class_weight must be None, 'balanced' or a dict, not {weights!r}")
        if isinstance(weights, str):
            params["class_weight"] = weights
        X = _texts(X)
        y = _labels(y, len(X))
        if X_val is None:
            _, tcfg = classify.configs(self._model_kind(), params)
            if tcfg.val_split > 0:
                X, X_val, y, y_val = classify.split_stratified(X, y, tcfg.val_split, tcfg.seed)
        job, self.classes_ = classify.make_job(self._model_kind(), params, X, y, X_val, y_val,
                                               class_weight=weights if isinstance(weights, dict) else None,
                                               report=report)
        outcome = fit(job, report=report)
        if outcome.halted == "interrupted":
            raise KeyboardInterrupt
        self.model_ = job.model
        self.history_ = outcome.state.history
        epochs = outcome.state.step / max(len(job.make_batches(0)), 1)   # epochs' worth of steps trained
        self.fit_stats_ = {"tokens": outcome.tokens, "seconds": outcome.seconds, "epochs": epochs,
                           "tokens_per_second": outcome.tokens / max(outcome.seconds, 1e-9),
                           "epoch_seconds": outcome.seconds / epochs if epochs else None}
        self.train_state_ = outcome.state
        self.halted_ = outcome.halted
        return self

    def predict_proba(self, X):
        """Class probabilities (n_texts, n_classes) in the order of ``classes_``."""
        check_is_fitted(self, "model_")
        return self.model_.predict_proba(_texts(X))

    def predict(self, X):
        check_is_fitted(self, "model_")
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


class BowClassifier(_TextClassifier):
    """Multinomial logistic regression on bag-of-words / n-gram / tf-idf / hashed features."""

    def __init__(self, analyzer="word", ngram_min=1, ngram_max=1, mode="tfidf", sublinear_tf=True,
                 min_df=1, max_features=None, hash_bits=None, lowercase=True, epochs=None,
                 batch_size=None, lr=None, optimizer=None, clip=5.0, weight_decay=None,
                 patience=3, val_split=0.1, seed=0, class_weight=None, max_steps=None, max_time=None, warmup=None, workers=1):
        self.analyzer, self.ngram_min, self.ngram_max, self.mode = analyzer, ngram_min, ngram_max, mode
        self.sublinear_tf, self.min_df, self.max_features = sublinear_tf, min_df, max_features
        self.hash_bits, self.lowercase = hash_bits, lowercase
        self.epochs, self.batch_size, self.lr, self.optimizer = epochs, batch_size, lr, optimizer
        self.clip, self.weight_decay, self.patience, self.val_split = clip, weight_decay, patience, val_split
        self.seed, self.class_weight, self.max_steps, self.max_time = seed, class_weight, max_steps, max_time
        self.warmup, self.workers = warmup, workers

    def _model_kind(self):
        return "bow"


class SeqClassifier(_TextClassifier):
    """Embedding -> RNN / GRU / LSTM stack (optionally bidirectional) -> pooling -> dense -> softmax."""

    def __init__(self, cell="lstm", embed=128, hidden=128, layers=1, bidirectional=False, pool="last",
                 dropout=0.5, min_count=2, max_vocab=50000, max_len=256, lowercase=True, epochs=None,
                 batch_size=None, lr=None, optimizer=None, clip=5.0, weight_decay=None, patience=3,
                 val_split=0.1, seed=0, class_weight=None, max_steps=None, max_time=None, warmup=None, workers=1,
                 embeddings=None, freeze_embeddings=False, init_from=None, freeze_epochs=0, layer_decay=1.0,
                 pretrain=False, pretrain_corpus=None, pretrain_epochs=None):
        self.cell, self.embed, self.hidden, self.layers = cell, embed, hidden, layers
        self.bidirectional, self.pool, self.dropout = bidirectional, pool, dropout
        self.min_count, self.max_vocab, self.max_len, self.lowercase = min_count, max_vocab, max_len, lowercase
        self.epochs, self.batch_size, self.lr, self.optimizer = epochs, batch_size, lr, optimizer
        self.clip, self.weight_decay, self.patience, self.val_split = clip, weight_decay, patience, val_split
        self.seed, self.class_weight, self.max_steps, self.max_time = seed, class_weight, max_steps, max_time
        self.warmup, self.workers = warmup, workers
        self.embeddings, self.freeze_embeddings, self.init_from = embeddings, freeze_embeddings, init_from
        self.freeze_epochs, self.layer_decay, self.pretrain = freeze_epochs, layer_decay, pretrain
        self.pretrain_corpus, self.pretrain_epochs = pretrain_corpus, pretrain_epochs

    def _model_kind(self):
        return self.cell


class TransformerClassifier(_TextClassifier):
    """Embedding + positions -> Transformer encoder (pre-norm blocks) -> pooling -> dense -> softmax."""

    def __init__(self, cell="transformer", embed=None, hidden=64, layers=1, bidirectional=False, pool="mean",
                 dropout=0.3, min_count=2, max_vocab=50000, max_len=256, lowercase=True, heads=2, ff=None,
                 positions="sinusoidal", activation="relu", epochs=None, batch_size=None, lr=None, optimizer=None,
                 clip=5.0, weight_decay=None, patience=3, val_split=0.1, seed=0, class_weight=None, max_steps=None,
                 max_time=None, warmup=None, workers=1):
        self.cell, self.embed, self.hidden, self.layers = cell, embed, hidden, layers
        self.bidirectional, self.pool, self.dropout = bidirectional, pool, dropout
        self.min_count, self.max_vocab, self.max_len, self.lowercase = min_count, max_vocab, max_len, lowercase
        self.heads, self.ff, self.positions, self.activation = heads, ff, positions, activation
        self.epochs, self.batch_size, self.lr, self.optimizer = epochs, batch_size, lr, optimizer
        self.clip, self.weight_decay, self.patience, self.val_split = clip, weight_decay, patience, val_split
        self.seed, self.class_weight, self.max_steps, self.max_time = seed, class_weight, max_steps, max_time
        self.warmup, self.workers = warmup, workers

    def _model_kind(self):
        return "transformer"


def make_estimator(model, params):
    """A fresh estimator for model kind ``model`` ("bow", a cell or "transformer") with hyperparameters
    ``params`` (keys it does not take are ignored; None = the default)."""
    cls = {"bow": BowClassifier, "transformer": TransformerClassifier}.get(model, SeqClassifier)
    known = cls._get_param_names()
    kwargs = {k: v for k, v in params.items() if k in known and v is not None}
    if cls is SeqClassifier:
        kwargs["cell"] = model
    return cls(**kwargs)


class TextVectorizer(TransformerMixin, BaseEstimator):
    """seqcli's vectorizer as a scikit-learn transformer: texts in, a scipy CSR matrix out, so it can
    stand in a ``Pipeline`` (the parameters are config.VectorizerConfig's)."""

    def __init__(self, analyzer="word", ngram_min=1, ngram_max=1, mode="counts", sublinear_tf=False, min_df=1,
                 max_features=None, hash_bits=None, lowercase=True):
        self.analyzer, self.ngram_min, self.ngram_max, self.mode = analyzer, ngram_min, ngram_max, mode
        self.sublinear_tf, self.min_df, self.max_features = sublinear_tf, min_df, max_features
        self.hash_bits, self.lowercase = hash_bits, lowercase

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        return tags

    def fit(self, X, y=None):
        from seqcli.config import VectorizerConfig
        from seqcli.features import Vectorizer

        self.vectorizer_ = Vectorizer(VectorizerConfig(**self.get_params())).fit(_texts(X))
        return self

    def transform(self, X):
        check_is_fitted(self, "vectorizer_")
        return self.vectorizer_.transform(_texts(X)).to_scipy()

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "vectorizer_")
        return np.asarray(list(self.vectorizer_.feature_names()), dtype=object)

