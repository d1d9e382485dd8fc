"""Fitted models as predict, generate and explain load them: text in, predictions out.

A fitted model holds what its file holds (featurizer or vocabulary, network, class names) and nothing
about how it was fitted. The modules import only numpy and seqcli's light modules, never scikit-learn
or scipy, so ``seqcli predict`` starts fast. Each kind has its class, found through ``KINDS`` (a
table of module paths: a kind's module is imported only when a file of that kind is loaded).

Every model class has ``kind``, ``net``, ``to_state() -> (header, arrays)`` and
``from_state(header, arrays)`` (which raises KeyError/ValueError/TypeError on a damaged file).
"""

import importlib

from seqcli import persist
from seqcli.errors import SeqcliError

KINDS = {
    "bow": ("seqcli.models.bow", "BowModel"),
    "seq": ("seqcli.models.classifier", "SeqModel"),
    "lm": ("seqcli.models.charlm", "CharLMModel"),
    "tagger": ("seqcli.models.tagger", "Tagger"),
    "seq2seq": ("seqcli.models.seq2seq", "Seq2SeqModel"),
}
"""Model kind (as stored in a file's header) -> (module, class)."""

CLASSIFIERS = ("bow", "seq")


def model_class(kind):
    module, name = KINDS[kind]
    return getattr(importlib.import_module(module), name)


def prefixed(arrays, prefix):
    """The arrays stored under ``prefix``, with the prefix removed."""
    return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}


def class_names(header, n):
    """The header's class list, which must be ``n`` strings (the network's outputs)."""
    classes = header["classes"]
    if not isinstance(classes, list) or len(classes) != n or not all(isinstance(c, str) for c in classes):
        raise ValueError(f"class list does not match the {n} outputs of the network")
    return classes


def save(path, model, training=None):
    """Write ``model`` to ``path`` atomically (see persist.save_model)."""
    header, arrays = model.to_state()
    if training is not None:
        header["training"] = training
    persist.save_model(path, model.kind, header, arrays)


def load(path, kinds=None):
    """Load a model file of one of ``kinds`` (default: any) into its class; every failure is one line."""
    header, arrays = persist.load_model(path, set(KINDS) if kinds is None else set(kinds))
    try:
        model = model_class(header["kind"]).from_state(header, arrays)
    except (KeyError, ValueError, TypeError, IndexError, AttributeError) as exc:
        what = f"missing {exc}" if isinstance(exc, KeyError) else " ".join(str(exc).split())
        raise SeqcliError(f"{path}: damaged model file ({what})") from None
    model.header = header
    return model
