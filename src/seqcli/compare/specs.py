"""--models: which models to compare, with their options (``lstm:hidden=256,layers=2``).

Model specs: ``bow``, ``bigram`` (bow with word 1- and 2-grams), ``rnn``, ``gru``, ``lstm``, ``birnn``,
``bigru``, ``bilstm``, ``transformer``, ``pretrained`` (an lstm fine-tuned from a word language model
pretrained on each fold's training texts: ``lstm:pretrain=1``), or the path of a saved model file. A trained kind can take options after a colon,
comma-separated; since options use commas too, a piece of the list that reads ``NAME=VALUE`` continues
the model before it. Option names, types, bounds and choices are the config fields' (config.py).
"""

import os
from dataclasses import dataclass, field, fields

from seqcli.config import (BowConfig, ConfigError, SeqConfig, TrainConfig, TransferConfig, TransformerSeqConfig,
                           base_type, check_value,
                           field_type)
from seqcli.errors import UsageError

# name -> (estimator kind, preset options)
ALIASES = {
    "bow": ("bow", {}),
    "bigram": ("bow", {"ngram_min": 1, "ngram_max": 2}),
    "rnn": ("rnn", {}),
    "gru": ("gru", {}),
    "lstm": ("lstm", {}),
    "birnn": ("rnn", {"bidirectional": True}),
    "bigru": ("gru", {"bidirectional": True}),
    "bilstm": ("lstm", {"bidirectional": True}),
    "transformer": ("transformer", {}),
    "pretrained": ("lstm", {"pretrain": True}),
}
DEFAULT_MODELS = "bow,bigram,rnn,lstm"
# seq2seq models (compare/transduce.py): the cell of an encoder-decoder, options from Seq2SeqConfig
SEQ2SEQ_ALIASES = {"rnn": ("rnn", {}), "gru": ("gru", {}), "lstm": ("lstm", {})}
SEQ2SEQ_DEFAULT_MODELS = "lstm,gru"
RECURRENT = ("rnn", "gru", "lstm")


# ------------------------------------------------------------------------------------ model specs

@dataclass
class ModelSpec:
    """One entry of --models: a trained kind with its options, or a saved model file."""
    name: str                 # as shown in the table, e.g. "lstm:hidden=256,layers=2"
    kind: str                 # "bow", "rnn", "gru", "lstm", "transformer" or "file"
    params: dict = field(default_factory=dict)   # estimator options set by the spec itself
    path: str | None = None   # model file (kind "file")

    @property
    def trained(self):
        return self.kind != "file"


def _option_fields(kind, model_cfg=None):
    """{name: config class} of the options a trained kind takes (its estimator's parameters);
    ``model_cfg``: the model's config class when it is not the classifier's (a tagger's, a seq2seq's),
    or a function of the kind giving it (the taggers': a recurrent one's or the Transformer's)."""
    if model_cfg is not None and not isinstance(model_cfg, type):
        model_cfg = model_cfg(kind)
    model_cfg = model_cfg or {"bow": BowConfig, "transformer": TransformerSeqConfig}.get(kind, SeqConfig)
    skip = ("cell", "bidirectional") if kind == "transformer" else ("cell",)
    out = {f.name: model_cfg for f in fields(model_cfg) if f.name not in skip}
    out.update({f.name: TrainConfig for f in fields(TrainConfig)})
    if kind != "bow":
        out.update({f.name: TransferConfig for f in fields(TransferConfig)})
    return out


def _looks_like_file(piece):
    return piece.lower().endswith(".npz") or os.sep in piece or "/" in piece or os.path.isfile(piece)


def parse_models(specs, aliases=None, model_cfg=None):
    """ModelSpecs from the --models values (each a comma-separated list; see the module docstring).

    aliases, model_cfg: the names and the config of another task's models (taggers', encoder-decoders'), instead
    of the classifiers' ``ALIASES`` and configs. Raises SeqcliError (one line) on an unknown name, a bad
    option or a repeated model.
    """
    aliases = aliases or ALIASES
    if isinstance(specs, str):
        specs = [specs]
    pieces = [p.strip() for s in specs for p in s.split(",")]
    if not pieces or pieces == [""]:
        raise UsageError("--models is empty; list model kinds or files, e.g. --models bow,lstm")
    out, current, option_texts = [], None, []

    def close():
        if current is not None:
            current.name = current.name if not option_texts else f"{current.name}:{','.join(option_texts)}"
            out.append(current)

    for piece in pieces:
        if not piece:
            raise UsageError(f"empty entry in --models {','.join(specs)!r} (two commas in a row?)")
        head = piece.split("=", 1)[0]
        if "=" in piece and head.replace("-", "_").isidentifier() and not _looks_like_file(head):
            if current is None:
                raise UsageError(f"--models: option {piece!r} comes before any model kind "
                                  "(write it after a colon: lstm:hidden=64)")
            if not current.trained:
                raise UsageError(f"--models: {current.path} is a saved model, evaluated as it is; "
                                  f"it takes no options ({piece!r})")
            _set_option(current, piece, option_texts, model_cfg)
            continue
        close()
        current, option_texts = None, []
        if _looks_like_file(piece):
            current = ModelSpec(name=piece, kind="file", path=piece)
            continue
        base, _, opts = piece.partition(":")
        key = base.strip().lower()
        if key not in aliases:
            raise UsageError(f"unknown model {base.strip()!r} in --models (choose {', '.join(aliases)}, "
                              "or give a saved model file PATH.npz)")
        kind, preset = aliases[key]
        current = ModelSpec(name=key, kind=kind, params=dict(preset))
        if opts.strip():
            _set_option(current, opts.strip(), option_texts, model_cfg)
        elif ":" in piece:
            raise UsageError(f"--models: {piece!r} has a colon but no options (write {key}:hidden=64)")
    close()
    seen = set()
    for spec in out:
        if spec.name in seen:
            raise UsageError(f"--models lists {spec.name!r} twice")
        seen.add(spec.name)
        if spec.kind == "bow" and spec.params.get("ngram_min", 1) > spec.params.get("ngram_max", 1):
            raise UsageError(f"--models {spec.name!r}: ngram_min is larger than ngram_max")
    return out


def _set_option(spec, text, option_texts, model_cfg=None):
    key, sep, raw = text.partition("=")
    key, raw = key.strip().replace("-", "_").lower(), raw.strip()
    where = f"--models {spec.name}:{text}"
    if not sep or not key:
        raise UsageError(f"{where}: options are NAME=VALUE (e.g. {spec.name}:hidden=64)")
    known = _option_fields(spec.kind, model_cfg)
    if key == "ngrams" and spec.kind == "bow":
        lo, _, hi = raw.partition(":")
        try:
            lo, hi = int(lo), int(hi or lo)
        except ValueError:
            raise UsageError(f"{where}: ngrams is a range MIN:MAX like 1:2") from None
        spec.params["ngram_min"] = _checked(BowConfig, "ngram_min", lo, where)
        spec.params["ngram_max"] = _checked(BowConfig, "ngram_max", hi, where)
    elif key in ("bi", "bidirectional") and spec.kind in RECURRENT:
        spec.params["bidirectional"] = _coerce(bool, False, key, raw, where)
    elif key in known:
        typ, optional = base_type(field_type(known[key], key))
        spec.params[key] = _checked(known[key], key, _coerce(typ, optional, key, raw, where), where)
    else:
        extra = ["ngrams"] if spec.kind == "bow" else ["bi"]
        names = ", ".join(sorted(set(known) | set(extra)))
        raise UsageError(f"{where}: unknown option {key!r} for {spec.kind} (options: {names})")
    option_texts.append(f"{key}={raw}")


def _coerce(typ, optional, name, raw, where):
    """``raw`` (text) as a value of type ``typ`` (None too when ``optional``)."""
    if optional and raw.lower() in ("none", "null", ""):
        return None
    try:
        if typ is bool:
            low = raw.lower()
            if low in ("1", "true", "yes", "on", ""):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if typ is int:
            return int(raw)
        if typ is float:
            return float(raw)
    except ValueError:
        what = {bool: "true or false", int: "a whole number", float: "a number"}[typ]
        raise UsageError(f"{where}: {name} must be {what}, not {raw!r}") from None
    return raw


def _checked(cls, key, value, where):
    """``value`` if config ``cls`` accepts it for ``key`` (its bounds and choices), else one line."""
    try:
        return check_value(cls, key, value)
    except ConfigError as exc:
        raise UsageError(f"{where}: {exc.message}") from None


def estimator_params(spec, common, model_cfg=None):
    """The estimator parameters of a trained spec: ``common`` (command-line values, None = default)
    under the spec's own options. Only the options the spec's kind knows are taken from ``common``."""
    known = _option_fields(spec.kind, model_cfg)
    params = {k: v for k, v in common.items() if k in known and v is not None}
    params.update(spec.params)
    return params


