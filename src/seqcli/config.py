"""Every hyperparameter of seqcli, declared once: frozen dataclasses with defaults AND bounds.

A field's metadata (``knob(...)``) holds its bounds or its choices. Everything that takes a
hyperparameter reads them here: the CLI options (``cli/options.py`` builds their ranges and choices from
these fields), ``compare``'s ``name:key=value`` specs, the checks of a config stored in a model file
(``from_dict``) and the scikit-learn estimators (their signatures are tested against these fields).
A config checks itself when it is made: a value out of bounds is a ``ConfigError`` (a ValueError for
library callers, a one-line usage error for the CLI).

- ``VectorizerConfig``: how ``seqcli vectorize`` (and a bag-of-words model) turns text into features;
- ``BowConfig``, ``SeqConfig``, ``LMConfig``: the model of each kind (bag-of-words classifier,
  recurrent classifier, language model), each with ``TRAIN_DEFAULTS``: the training values that work
  for it where the user gives none;
- ``TrainConfig``: how any model is fitted (epochs, batches, optimizer, early stopping, budgets);
- ``TransferConfig``: what a model with a word embedding starts from (word vectors, a language model).
"""

import math
import types
import typing
from dataclasses import asdict, dataclass, field, fields, replace
from typing import ClassVar

from seqcli.errors import UsageError
from seqcli.nn import limits

CELLS = ("rnn", "gru", "lstm")


class ConfigError(UsageError, ValueError):
    """A hyperparameter out of its bounds: a usage error (exit code 2)."""


def knob(default, *, lo=None, hi=None, lo_open=False, hi_open=False, choices=None):
    """A config field with its bounds ([lo, hi], an end open where asked) or its choices."""
    return field(default=default, metadata={"lo": lo, "hi": hi, "lo_open": lo_open, "hi_open": hi_open,
                                            "choices": choices})


def bounds(cls, name):
    """(lo, hi, lo_open, hi_open, choices) of field ``name`` of config class ``cls``."""
    meta = {f.name: f.metadata for f in fields(cls)}[name]
    return meta.get("lo"), meta.get("hi"), meta.get("lo_open", False), meta.get("hi_open", False), meta.get("choices")


def field_type(cls, name):
    """The annotation of field ``name`` of config class ``cls`` (inherited fields included)."""
    return {f.name: f.type for f in fields(cls)}[name]


def base_type(annotation):
    """(type, None allowed) of a field annotation such as ``int | None``."""
    args = typing.get_args(annotation)
    if isinstance(annotation, types.UnionType) or args:
        kinds = [a for a in args if a is not type(None)]
        return kinds[0], len(kinds) < len(args)
    return annotation, False


def check_value(cls, name, value):
    """``value`` if field ``name`` of ``cls`` accepts it, else a ConfigError saying why (one line)."""
    f = {f.name: f for f in fields(cls)}[name]
    typ, optional = base_type(f.type)
    if value is None:
        if optional:
            return value
        raise ConfigError(f"{name} must be set (not None)")
    if not _has_type(value, typ):
        raise ConfigError(f"{name} must be {_TYPE_NAMES[typ]}, not {value!r}")
    lo, hi, lo_open, hi_open, choices = bounds(cls, name)
    if choices is not None and value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(map(str, choices))}, not {value!r}")
    if typ is float and not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, not {value!r}")
    if (lo is not None and (value < lo or (lo_open and value == lo))) or (
            hi is not None and (value > hi or (hi_open and value == hi))):
        raise ConfigError(f"{name} must be {span(lo, hi, lo_open, hi_open)}, not {value:g}")
    return value


def span(lo, hi, lo_open=False, hi_open=False):
    """'between 1 and 8192', 'at least 0 and less than 1', 'more than 0': a range in words."""
    lower = None if lo is None else f"{'more than' if lo_open else 'at least'} {lo:g}"
    upper = None if hi is None else f"{'less than' if hi_open else 'at most'} {hi:g}"
    if lower and upper and not (lo_open or hi_open):
        return f"between {lo:g} and {hi:g}"
    return " and ".join(p for p in (lower, upper) if p)


_TYPE_NAMES = {int: "a whole number", float: "a number", bool: "true or false", str: "a string"}


def _has_type(value, typ):
    if typ is bool:
        return isinstance(value, bool)
    if typ is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if typ is float:  # JSON writes 1.0 as 1.0, but accept an integer too
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, typ)


class _Checked:
    """Mixin: every field is checked against its bounds when the config is made."""

    def __post_init__(self):
        for f in fields(self):
            check_value(type(self), f.name, getattr(self, f.name))
        self._check_together()

    def _check_together(self):
        """Checks that involve several fields (none by default)."""


# ------------------------------------------------------------------------------------ features

@dataclass(frozen=True)
class VectorizerConfig(_Checked):
    """How texts become feature rows (``seqcli vectorize``; see features.Vectorizer)."""
    analyzer: str = knob("word", choices=("word", "char"))
    ngram_min: int = knob(1, lo=1, hi=10)
    ngram_max: int = knob(1, lo=1, hi=10)
    mode: str = knob("counts", choices=("counts", "binary", "tfidf"))
    sublinear_tf: bool = knob(False)  # tfidf only: tf -> 1 + ln(tf)
    min_df: int = knob(1, lo=1, hi=10**9)  # keep terms found in at least this many documents
    max_features: int | None = knob(None, lo=1, hi=10**9)  # keep the most frequent terms
    hash_bits: int | None = knob(None, lo=1, hi=limits.MAX_HASH_BITS)  # hashing trick, no vocabulary
    lowercase: bool = knob(True)

    def _check_together(self):
        if self.ngram_min > self.ngram_max:
            raise ConfigError(f"n-gram range must satisfy min <= max, got {self.ngram_min}:{self.ngram_max}")
        if self.hash_bits is not None and (self.min_df != 1 or self.max_features is not None):
            raise ConfigError("min_df and max_features need a vocabulary; they cannot be combined with hash_bits")


# -------------------------------------------------------------------------------------- models

@dataclass(frozen=True)
class BowConfig(VectorizerConfig):
    """A bag-of-words classifier: its features (mode ``nb``: binary n-grams scaled by naive-Bayes
    log-count ratios, NB-LR), then multinomial logistic regression."""
    mode: str = knob("tfidf", choices=("counts", "binary", "tfidf", "nb"))
    sublinear_tf: bool = knob(True)

    TRAIN_DEFAULTS: ClassVar[dict] = {"epochs": 30, "batch_size": 64, "lr": 0.02, "weight_decay": 1e-5}

    def vectorizer_config(self):
        """The VectorizerConfig of these features (``nb`` counts binary values, scaled later)."""
        values = {f.name: getattr(self, f.name) for f in fields(VectorizerConfig)}
        values["mode"] = "binary" if self.mode == "nb" else self.mode
        return VectorizerConfig(**values)


@dataclass(frozen=True)
class SeqConfig(_Checked):
    """A recurrent classifier: embedding -> recurrent stack -> pooling -> dense."""
    cell: str = knob("lstm", choices=CELLS)
    embed: int = knob(128, lo=1, hi=limits.MAX_UNITS)
    hidden: int = knob(128, lo=1, hi=limits.MAX_UNITS)
    layers: int = knob(1, lo=1, hi=limits.MAX_LAYERS)
    bidirectional: bool = knob(False)
    pool: str = knob("last", choices=("last", "mean", "max"))
    dropout: float = knob(0.5, lo=0.0, hi=1.0, hi_open=True)
    min_count: int = knob(2, lo=1, hi=10**9)  # words seen once become <unk>: their vectors would only memorise
    max_vocab: int | None = knob(50000, lo=3, hi=limits.MAX_VOCAB)
    max_len: int = knob(256, lo=1, hi=10**7)
    lowercase: bool = knob(True)

    TRAIN_DEFAULTS: ClassVar[dict] = {"epochs": 12, "batch_size": 32, "lr": 2e-3, "weight_decay": 0.0}


@dataclass(frozen=True)
class LMConfig(_Checked):
    """A language model: embedding -> recurrent stack -> a softmax over the next unit (a character, or
    with ``split`` word a word token) at every step, trained on ``batch_size`` contiguous streams in
    windows of ``seq_len`` steps. ``min_count``, ``max_vocab`` and ``lowercase`` make a word vocabulary
    as the classifiers' (words seen fewer times become <unk>)."""
    split: str = knob("char", choices=("char", "word"))
    cell: str = knob("lstm", choices=CELLS)
    embed: int = knob(64, lo=1, hi=limits.MAX_UNITS)
    hidden: int = knob(256, lo=1, hi=limits.MAX_UNITS)
    layers: int = knob(1, lo=1, hi=limits.MAX_LAYERS)
    dropout: float = knob(0.15, lo=0.0, hi=1.0, hi_open=True)
    seq_len: int = knob(100, lo=1, hi=100000)
    eval_every: int | None = knob(None, lo=1, hi=10**12)  # steps between validations (None: ~500k chars)
    min_count: int = knob(2, lo=1, hi=10**9)   # word split only
    max_vocab: int | None = knob(50000, lo=3, hi=limits.MAX_VOCAB)
    lowercase: bool = knob(True)

    WORD_ONLY: ClassVar[tuple] = ("min_count", "max_vocab", "lowercase")

    TRAIN_DEFAULTS: ClassVar[dict] = {"epochs": 20, "batch_size": 32, "lr": 3e-3, "weight_decay": 0.0}


# ------------------------------------------------------------------------------------ training

@dataclass(frozen=True)
class TrainConfig(_Checked):
    """How a model is fitted. ``None`` values are filled by ``with_defaults`` per model kind."""
    epochs: int | None = knob(None, lo=1, hi=100000)
    batch_size: int | None = knob(None, lo=1, hi=1_000_000)
    lr: float | None = knob(None, lo=0.0, hi=100.0, lo_open=True)
    optimizer: str = knob("adam", choices=("adam", "sgd"))
    clip: float = knob(5.0, lo=0.0, hi=1e6)  # global gradient norm; 0 = off
    weight_decay: float | None = knob(None, lo=0.0, hi=10.0)
    patience: int = knob(3, lo=0, hi=10000)
    val_split: float = knob(0.1, lo=0.0, hi=0.9)
    seed: int = knob(0, lo=0, hi=2**32 - 1)
    class_weight: str | None = knob(None, choices=("balanced",))
    max_steps: int | None = knob(None, lo=1, hi=10**12)
    max_time: float | None = knob(None, lo=0.0, hi=1e9, lo_open=True)  # seconds

    def with_defaults(self, model_cfg):
        """Unset values filled with the training defaults of ``model_cfg``'s kind."""
        defaults = type(model_cfg).TRAIN_DEFAULTS
        return replace(self, **{k: v for k, v in defaults.items() if getattr(self, k) is None})


# ------------------------------------------------------------------------------------ transfer

@dataclass(frozen=True)
class TransferConfig(_Checked):
    """Where a model with a word embedding starts (tasks/transfer.py): pretrained word vectors
    (``embeddings``), or the embedding and recurrent stack of a word language model (``init_from`` a
    model file, or ``pretrain``: one trained first on the training texts plus ``pretrain_corpus``).

    freeze_epochs: the pretrained part stays fixed for this many epochs while the rest learns;
    lr_decay: discriminative rates, each layer down from the output learns lr / lr_decay**depth
    (the embedding the least); 1 = one rate for all."""
    embeddings: str | None = knob(None)
    freeze_embeddings: bool = knob(False)
    init_from: str | None = knob(None)
    freeze_epochs: int = knob(0, lo=0, hi=100000)
    lr_decay: float = knob(1.0, lo=1.0, hi=100.0)
    pretrain: bool = knob(False)
    pretrain_corpus: str | None = knob(None)
    pretrain_epochs: int | None = knob(None, lo=1, hi=100000)

    def _check_together(self):
        if self.embeddings is not None and (self.init_from is not None or self.pretrain):
            raise ConfigError("--embeddings and --init-from / --pretrain both set the word embedding: choose one")
        if self.init_from is not None and self.pretrain:
            raise ConfigError("--init-from and --pretrain both give a language model: choose one")
        starts = self.init_from is not None or self.pretrain
        if self.freeze_embeddings and self.embeddings is None and not starts:
            raise ConfigError("--freeze-embeddings keeps pretrained word vectors fixed: give --embeddings FILE, "
                              "--init-from LM or --pretrain")
        for name in ("freeze_epochs", "lr_decay"):
            if getattr(self, name) != TransferConfig.__dataclass_fields__[name].default and not starts:
                raise ConfigError(f"--{name.replace('_', '-')} applies to a model started from a language model "
                                  "(--init-from or --pretrain)")
        if (self.pretrain_corpus is not None or self.pretrain_epochs is not None) and not self.pretrain:
            raise ConfigError("--pretrain-corpus and --pretrain-epochs go with --pretrain")

    @property
    def used(self):
        """Whether any transfer is asked for."""
        return self.embeddings is not None or self.init_from is not None or self.pretrain


# ----------------------------------------------------------------------------- stored configs

def to_dict(cfg):
    """JSON-ready dict of a config dataclass."""
    return asdict(cfg)


def split_params(params, *classes):
    """``params`` (one flat dict) cut into one dict per config class (keys it knows; None = default)."""
    out = []
    for cls in classes:
        names = {f.name for f in fields(cls)}
        out.append({k: v for k, v in params.items() if k in names and v is not None})
    return out


def from_dict(cls, data, what="config"):
    """Rebuild a config from a stored dict; unknown keys, wrong types and values out of bounds are
    errors. TypeError / ValueError (not a usage error): the loader adds the file's name."""
    if not isinstance(data, dict):
        raise TypeError(f"{what} is not a mapping")
    names = {f.name for f in fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"unknown {what} keys: {', '.join(sorted(unknown))}")
    try:
        return cls(**data)
    except ConfigError as exc:
        raise ValueError(f"{what}: {exc.message}") from None
