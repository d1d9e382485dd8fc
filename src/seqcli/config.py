"""Frozen dataclasses for every hyperparameter, with defaults. Stored verbatim in model files."""

import typing
from dataclasses import asdict, dataclass, fields, replace



@dataclass(frozen=True)
class BowConfig:
    """How a bag-of-words model turns text into features (see features.VectorizerConfig)."""
    analyzer: str = "word"
    ngram_min: int = 1
    ngram_max: int = 1
    mode: str = "tfidf"  # counts | binary | tfidf | nb (naive-Bayes scaled binary, NB-LR)
    sublinear_tf: bool = True
    min_df: int = 1
    max_features: int | None = None
    hash_bits: int | None = None
    lowercase: bool = True


@dataclass(frozen=True)
class SeqConfig:
    """Shape of a recurrent classifier: embedding -> recurrent stack -> pooling -> dense."""
    cell: str = "lstm"
    embed: int = 128
    hidden: int = 128
    layers: int = 1
    bidirectional: bool = False
    pool: str = "last"
    dropout: float = 0.5
    min_count: int = 2  # words seen once become <unk>: their embeddings would only memorise
    max_vocab: int | None = 50000
    max_len: int = 256
    lowercase: bool = True


@dataclass(frozen=True)
class TrainConfig:
    """How a model is fitted. ``None`` values are filled by ``with_defaults`` per model kind."""
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    optimizer: str = "adam"
    clip: float = 5.0
    weight_decay: float | None = None
    patience: int = 3
    val_split: float = 0.1
    seed: int = 0
    class_weight: str | None = None
    max_steps: int | None = None
    max_time: float | None = None

    def with_defaults(self, model):
        """Fill unset values with the defaults that work for ``model`` ("bow" or a cell name)."""
        if model == "bow":
            defaults = {"epochs": 30, "batch_size": 64, "lr": 0.02, "weight_decay": 1e-5}
        else:
            defaults = {"epochs": 12, "batch_size": 32, "lr": 2e-3, "weight_decay": 0.0}
        return replace(self, **{k: v for k, v in defaults.items() if getattr(self, k) is None})


def to_dict(cfg):
    """JSON-ready dict of a config dataclass."""
    return asdict(cfg)


def from_dict(cls, data, what="config"):
    """Rebuild a config dataclass from a stored dict; unknown keys or values of the wrong type are
    errors. TypeError / ValueError (not SeqcliError): the loader adds the file's name."""
    if not isinstance(data, dict):
        raise TypeError(f"{what} is not a mapping")
    names = {f.name for f in fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"unknown {what} keys: {', '.join(sorted(unknown))}")
    for f in fields(cls):
        if f.name in data and not _has_type(data[f.name], f.type):
            raise TypeError(f"{what} value {f.name}={data[f.name]!r} is not of type {f.type}")
    return cls(**data)


def _has_type(value, annotation):
    """Whether a JSON value fits a field annotation: int, float, bool, str, or one of them | None."""
    args = typing.get_args(annotation)
    if args:  # int | None, Optional[...]
        return any(_has_type(value, a) for a in args)
    if annotation is type(None):
        return value is None
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is float:  # JSON writes 1.0 as 1.0, but accept an integer too
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, annotation)
