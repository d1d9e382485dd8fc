"""Every hyperparameter of seqcli, declared once: frozen dataclasses with defaults AND bounds.

A field's metadata (``knob(...)``) holds its bounds or its choices. Everything that takes a
hyperparameter reads them here: the CLI options (``cli/options.py`` builds their ranges and choices from
these fields), ``compare``'s ``name:key=value`` specs, the checks of a config stored in a model file
(``from_dict``) and the scikit-learn estimators (their signatures are tested against these fields).
A config checks itself when it is made: a value out of bounds is a ``ConfigError`` (a ValueError for
library callers, a one-line usage error for the CLI).

- ``VectorizerConfig``: how ``seqcli vectorize`` (and a bag-of-words model) turns text into features;
- ``BowConfig``, ``SeqConfig``, ``LMConfig``, ``TagConfig``, ``Seq2SeqConfig``: the model of each kind
  (bag-of-words classifier, recurrent classifier, language model, sequence tagger, encoder-decoder),
  each with ``TRAIN_DEFAULTS``: the training values that work for it where the user gives none;
- ``TransformerSeqConfig``, ``TransformerLMConfig``, ``TransformerTagConfig``: the same with a Transformer encoder
  (``--model transformer``): ``TransformerFields`` adds its own sizes to a task's config, so a task
  that takes the encoder declares its variant in one line;
- ``TrainConfig``: how any model is fitted (epochs, batches, optimizer, learning-rate warm-up, early
  stopping, budgets);
- ``TransferConfig``: what a model with a word embedding starts from (word vectors, a language model).

How a field is declared and checked (``knob``, ``ConfigError``, ``from_dict`` ...) is in knobs.py; those
names are importable from here too.
"""

from dataclasses import dataclass, fields, replace
from typing import ClassVar

from seqcli.knobs import (ConfigError, _Checked, base_type, bounds, check_value, field_type,  # noqa: F401
                          from_dict, knob, span, split_params, to_dict)
from seqcli.nn import limits

CELLS = ("rnn", "gru", "lstm")
TRANSFORMER = "transformer"


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

    TRAIN_DEFAULTS: ClassVar[dict] = {"epochs": 30, "batch_size": 64, "lr": 0.02, "weight_decay": 1e-5,
                                      "optimizer": "adam"}

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
    pool: str = knob("last", choices=("last", "mean", "max", "first"))
    dropout: float = knob(0.5, lo=0.0, hi=1.0, hi_open=True)
    min_count: int = knob(2, lo=1, hi=10**9)  # words seen once become <unk>: their vectors would only memorise
    max_vocab: int | None = knob(50000, lo=3, hi=limits.MAX_VOCAB)
    max_len: int = knob(256, lo=1, hi=10**7)
    lowercase: bool = knob(True)

    TRAIN_DEFAULTS: ClassVar[dict] = {"epochs": 12, "batch_size": 32, "lr": 2e-3, "weight_decay": 0.0,
                                      "optimizer": "adam"}


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

    TRAIN_DEFAULTS: ClassVar[dict] = {"epochs": 20, "batch_size": 32, "lr": 3e-3, "weight_decay": 0.0,
                                      "optimizer": "adam"}

    @property
    def window(self):
        """Characters per training window (truncated BPTT)."""
        return self.seq_len


# ------------------------------------------------------------------------------- transformer

@dataclass(frozen=True)
class TransformerFields(_Checked):
    """A Transformer encoder's own sizes, added to a task's config by inheritance: a task that takes
    the encoder declares ``class TransformerXConfig(TransformerFields, XConfig)`` with its defaults.
    ``hidden`` is the model width d_model, ``embed`` None the same width (no input projection), ``ff``
    None ``FF_RATIO`` times the width."""
    heads: int = knob(4, lo=1, hi=limits.MAX_UNITS)
    ff: int | None = knob(None, lo=1, hi=4 * limits.MAX_UNITS)   # feed-forward width (None: FF_RATIO hidden)

    FF_RATIO: ClassVar[int] = 4
    positions: str = knob("sinusoidal", choices=("sinusoidal", "learned"))
    activation: str = knob("gelu", choices=("gelu", "relu"))

    def _check_together(self):
        if self.hidden % self.heads:
            raise ConfigError(f"hidden {self.hidden} must be a multiple of heads {self.heads}")
        if getattr(self, "bidirectional", False):
            raise ConfigError("a transformer reads the whole text at once: bidirectional does not apply")

    def transformer_options(self, max_len):
        """The encoder's own options (nn/encoders.py); ``max_len``: the longest sequence it reads."""
        return {"heads": self.heads, "ff": self.FF_RATIO * self.hidden if self.ff is None else self.ff,
                "positions": self.positions, "activation": self.activation, "max_len": max_len}

    def embed_size(self):
        return self.hidden if self.embed is None else self.embed


@dataclass(frozen=True)
class TransformerSeqConfig(TransformerFields, SeqConfig):
    """A classifier with a Transformer encoder: embedding + positions -> pre-norm blocks -> pooling ->
    dense. Defaults chosen by measurement on rt-polarity (README, "--model transformer"): one narrow
    block (a few thousand sentences do not feed more), mean pooling, ReLU (GELU: the same accuracy,
    13% slower), and strong decoupled weight decay (the embedding table is most of the parameters)."""
    cell: str = knob(TRANSFORMER, choices=(TRANSFORMER,))
    embed: int | None = knob(None, lo=1, hi=limits.MAX_UNITS)
    hidden: int = knob(64, lo=1, hi=limits.MAX_UNITS)
    layers: int = knob(1, lo=1, hi=limits.MAX_LAYERS)
    pool: str = knob("mean", choices=("last", "mean", "max", "first"))
    dropout: float = knob(0.3, lo=0.0, hi=1.0, hi_open=True)
    heads: int = knob(2, lo=1, hi=limits.MAX_UNITS)
    activation: str = knob("relu", choices=("gelu", "relu"))

    FF_RATIO: ClassVar[int] = 2
    TRAIN_DEFAULTS: ClassVar[dict] = {"epochs": 12, "batch_size": 32, "lr": 4e-3, "weight_decay": 0.3,
                                      "optimizer": "adamw", "warmup": 100}


@dataclass(frozen=True)
class TransformerLMConfig(TransformerFields, LMConfig):
    """A causal Transformer character model (nanoGPT's shape): each window of ``block_size``
    characters is one block, every position predicting the next character from the ones before it.
    Defaults chosen by measurement on tinyshakespeare in a time budget (README): two blocks of width
    128 learn more in ten CPU minutes than nanoGPT's four."""
    cell: str = knob(TRANSFORMER, choices=(TRANSFORMER,))
    embed: int | None = knob(None, lo=1, hi=limits.MAX_UNITS)
    hidden: int = knob(128, lo=1, hi=limits.MAX_UNITS)
    layers: int = knob(2, lo=1, hi=limits.MAX_LAYERS)
    dropout: float = knob(0.0, lo=0.0, hi=1.0, hi_open=True)
    positions: str = knob("learned", choices=("sinusoidal", "learned"))
    block_size: int = knob(64, lo=1, hi=4096)       # context window: positions, training windows

    TRAIN_DEFAULTS: ClassVar[dict] = {"epochs": 20, "batch_size": 32, "lr": 3e-3, "weight_decay": 0.1,
                                      "optimizer": "adamw", "warmup": 100}

    @property
    def window(self):
        """Characters per training window: one block."""
        return self.block_size


@dataclass(frozen=True)
class TagConfig(_Checked):
    """A sequence tagger: word embedding + character features of each word -> recurrent stack (both
    directions by default) -> a tag per token, from a softmax or a CRF (nn/tagger.py).

    Words get their ids by their lowercased form (``lowercase``) while their characters keep the case,
    so "Apple" at the start of a sentence shares the vector of "apple" and its capital still shows.
    Defaults chosen by measurement on UD English EWT (README, "Tagging")."""
    cell: str = knob("lstm", choices=CELLS)
    embed: int = knob(100, lo=1, hi=limits.MAX_UNITS)
    hidden: int = knob(128, lo=1, hi=limits.MAX_UNITS)
    layers: int = knob(1, lo=1, hi=limits.MAX_LAYERS)
    bidirectional: bool = knob(True)
    dropout: float = knob(0.5, lo=0.0, hi=1.0, hi_open=True)
    char_features: str = knob("lstm", choices=("lstm", "cnn", "none"))
    char_embed: int = knob(30, lo=1, hi=limits.MAX_UNITS)
    char_hidden: int = knob(50, lo=1, hi=limits.MAX_UNITS)   # per direction (lstm) or filters (cnn)
    char_width: int = knob(3, lo=1, hi=64)                    # cnn window
    crf: bool = knob(False)
    word_dropout: float = knob(0.25, lo=0.0, hi=1000.0)   # alpha: a word seen n times -> <unk> w.p. alpha/(alpha+n)
    min_count: int = knob(1, lo=1, hi=10**9)
    max_vocab: int | None = knob(None, lo=3, hi=limits.MAX_VOCAB)
    lowercase: bool = knob(True)
    max_word_chars: int | None = knob(30, lo=1, hi=10**4)    # longer words keep their first and last characters
    lr_decay: float = knob(0.9, lo=0.0, hi=1.0, lo_open=True)  # the learning rate times this after every epoch

    TRAIN_DEFAULTS: ClassVar[dict] = {"epochs": 30, "batch_size": 32, "lr": 2e-3, "weight_decay": 0.0,
                                      "optimizer": "adam"}


@dataclass(frozen=True)
class TransformerTagConfig(TransformerFields, TagConfig):
    """A tagger whose contextual encoder is a Transformer (``--task tag --model transformer``): the same
    word embedding and character features, projected to the width ``hidden``, then pre-norm blocks
    that read the whole sentence at once (so ``bidirectional`` does not apply). The learning rate warms
    up and then decays by the inverse square root of the step, so ``lr_decay`` is off. Defaults chosen
    by measurement on UD English EWT in a time budget (README, "Tagging")."""
    cell: str = knob(TRANSFORMER, choices=(TRANSFORMER,))
    layers: int = knob(2, lo=1, hi=limits.MAX_LAYERS)
    bidirectional: bool = knob(False)
    dropout: float = knob(0.2, lo=0.0, hi=1.0, hi_open=True)
    positions: str = knob("learned", choices=("sinusoidal", "learned"))
    lr_decay: float = knob(1.0, lo=0.0, hi=1.0, lo_open=True)

    FF_RATIO: ClassVar[int] = 2
    TRAIN_DEFAULTS: ClassVar[dict] = {"epochs": 30, "batch_size": 32, "lr": 2e-3, "weight_decay": 0.01,
                                      "optimizer": "adamw", "warmup": 200}


@dataclass(frozen=True)
class Seq2SeqConfig(_Checked):
    """An encoder-decoder with attention (``--task seq2seq``): an encoder over the source (bidirectional
    by default), a decoder of the same cell started from its final states, attention over the encoder's
    outputs at every step (input feeding), and how each side of a pair is split into tokens (``None``:
    found from the data, then stored)."""
    cell: str = knob("lstm", choices=CELLS)
    embed: int = knob(64, lo=1, hi=limits.MAX_UNITS)
    hidden: int = knob(256, lo=1, hi=limits.MAX_UNITS)
    layers: int = knob(1, lo=1, hi=limits.MAX_LAYERS)
    bidirectional: bool = knob(True)
    attention: str = knob("dot", choices=("dot", "general", "additive", "none"))
    dropout: float = knob(0.1, lo=0.0, hi=1.0, hi_open=True)
    source_split: str | None = knob(None, choices=("char", "space"))
    target_split: str | None = knob(None, choices=("char", "space"))
    lr_decay: float = knob(0.5, lo=0.0, hi=1.0, lo_open=True)  # lr factor after a validation without gain

    TRAIN_DEFAULTS: ClassVar[dict] = {"epochs": 20, "batch_size": 64, "lr": 2e-3, "weight_decay": 0.0,
                                      "optimizer": "adam"}


# ------------------------------------------------------------------------------------ training

@dataclass(frozen=True)
class TrainConfig(_Checked):
    """How a model is fitted. ``None`` values are filled by ``with_defaults`` per model kind."""
    epochs: int | None = knob(None, lo=1, hi=100000)
    batch_size: int | None = knob(None, lo=1, hi=1_000_000)
    lr: float | None = knob(None, lo=0.0, hi=100.0, lo_open=True)
    optimizer: str | None = knob(None, choices=("adam", "adamw", "sgd", "lazyadam"))   # adamw: decoupled decay, matrices only
    clip: float = knob(5.0, lo=0.0, hi=1e6)  # global gradient norm; 0 = off
    weight_decay: float | None = knob(None, lo=0.0, hi=10.0)
    patience: int = knob(3, lo=1, hi=10000)   # stop after this many evaluations without improvement
    val_split: float = knob(0.1, lo=0.0, hi=0.9)
    seed: int = knob(0, lo=0, hi=2**32 - 1)
    class_weight: str | None = knob(None, choices=("balanced",))
    max_steps: int | None = knob(None, lo=1, hi=10**12)
    max_time: float | None = knob(None, lo=0.0, hi=1e9, lo_open=True)  # seconds
    warmup: int | None = knob(None, lo=0, hi=10**9)  # steps of linear warm-up, then decay (training/schedule.py)
    workers: int = knob(1, lo=0, hi=256)   # processes sharing each batch (training/workers.py); 0 = auto

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
    layer_decay: discriminative rates, each layer down from the output learns lr / layer_decay**depth
    (the embedding the least); 1 = one rate for all."""
    embeddings: str | None = knob(None)
    freeze_embeddings: bool = knob(False)
    init_from: str | None = knob(None)
    freeze_epochs: int = knob(0, lo=0, hi=100000)
    layer_decay: float = knob(1.0, lo=1.0, hi=100.0)
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
        for name in ("freeze_epochs", "layer_decay"):
            if getattr(self, name) != TransferConfig.__dataclass_fields__[name].default and not starts:
                raise ConfigError(f"--{name.replace('_', '-')} applies to a model started from a language model "
                                  "(--init-from or --pretrain)")
        if (self.pretrain_corpus is not None or self.pretrain_epochs is not None) and not self.pretrain:
            raise ConfigError("--pretrain-corpus and --pretrain-epochs go with --pretrain")

    @property
    def used(self):
        """Whether any transfer is asked for."""
        return self.embeddings is not None or self.init_from is not None or self.pretrain
