"""Fitted models as the predict path sees them: text in, class probabilities out.

These classes hold what a model file holds (featurizer or vocabulary, network, class names) and
nothing about how they were fitted. They import only numpy and seqcli's light modules, never
scikit-learn or scipy, so ``seqcli predict`` starts fast. The scikit-learn style estimators in
``estimators.py`` fit them; ``persist.py`` stores them.
"""

import itertools

import numpy as np

from seqcli import persist
from seqcli.config import BowConfig, SeqConfig, from_dict, to_dict
from seqcli.errors import SeqcliError
from seqcli.text import WORD_RE, Vocab, pad_batch

CLASSIFIER_KINDS = {"bow", "seq"}


class BowModel:
    """Vectorizer + BowNet + class names."""

    kind = "bow"

    def __init__(self, config, vectorizer, net, classes, feature_scale=None):
        self.config, self.vectorizer, self.net, self.classes = config, vectorizer, net, list(classes)
        self.feature_scale = feature_scale  # (n_x,) naive-Bayes ratios for mode "nb", else None

    def features(self, texts):
        """CSR triple (indptr, indices, data) of the texts' feature rows."""
        rows = self.vectorizer.transform(texts)
        data = rows.data if self.feature_scale is None else rows.data * self.feature_scale[rows.indices]
        return rows.indptr, rows.indices, data

    def predict_proba(self, texts):
        """Probabilities (m, n_classes) for a list of texts."""
        return self.net.predict_proba(self.features(texts)).T

    def to_state(self):
        vec_header, vec_arrays = self.vectorizer.to_state()
        header = {"config": to_dict(self.config), "classes": self.classes, "vectorizer": vec_header,
                  "net": self.net.config()}
        arrays = {f"vec.{k}": v for k, v in vec_arrays.items()}
        arrays.update({f"net.{k}": v for k, v in self.net.params.items()})
        if self.feature_scale is not None:
            arrays["nb_scale"] = self.feature_scale
        return header, arrays

    @classmethod
    def from_state(cls, header, arrays):
        from seqcli.features import Vectorizer
        from seqcli.nn.models import BowNet

        config = from_dict(BowConfig, header["config"], "bag-of-words config")
        vectorizer = Vectorizer.from_state(header["vectorizer"], _prefixed(arrays, "vec."))
        net = BowNet.from_config(header["net"], _prefixed(arrays, "net."))
        classes = _classes(header, net.params["W"].shape[0])
        if net.params["W"].shape[1] != vectorizer.n_features_:
            raise ValueError(f"weights have {net.params['W'].shape[1]} features, vectorizer {vectorizer.n_features_}")
        scale = arrays.get("nb_scale")
        if (config.mode == "nb") != (scale is not None) or (
                scale is not None and (scale.shape != (vectorizer.n_features_,) or scale.dtype.kind != "f")):
            raise ValueError("naive-Bayes feature scale missing, unexpected or of the wrong shape")
        return cls(config, vectorizer, net, classes, scale)


class SeqModel:
    """Vocabulary + SeqNet (embedding, recurrent stack, pooling, dense) + class names."""

    kind = "seq"

    def __init__(self, config, vocab, net, classes):
        self.config, self.vocab, self.net, self.classes = config, vocab, net, list(classes)

    def tokenize(self, text):
        """The first max_len word tokens, as ``word_tokens(text)[:max_len]``, but the scan stops
        there: a 50 MB line is not split into millions of tokens to keep 256."""
        if self.config.lowercase:
            text = text.lower()
        return [m.group() for m in itertools.islice(WORD_RE.finditer(text), self.config.max_len)]

    def encode(self, texts):
        """Token id lists, one per text (unknown words -> 1, truncated to max_len tokens)."""
        return [self.vocab.encode(self.tokenize(t)) for t in texts]

    def predict_proba(self, texts, batch_size=256):
        """Probabilities (m, n_classes); rows are batched by length to limit padding."""
        id_lists = self.encode(texts)
        out = np.empty((len(id_lists), len(self.classes)), dtype=np.float64)
        order = np.argsort([len(ids) for ids in id_lists], kind="stable")
        for start in range(0, len(order), batch_size):
            idx = order[start: start + batch_size]
            ids, lengths = pad_batch([id_lists[i] for i in idx])
            out[idx] = self.net.predict_proba(ids, lengths).T
        return out

    def to_state(self):
        header = {"config": to_dict(self.config), "classes": self.classes, "net": self.net.config()}
        arrays = {f"net.{k}": v for k, v in self.net.params.items()}
        arrays["vocab"] = np.array(self.vocab.tokens)
        return header, arrays

    @classmethod
    def from_state(cls, header, arrays):
        from seqcli.nn.seqnet import SeqNet

        config = from_dict(SeqConfig, header["config"], "recurrent model config")
        if config.max_len < 1:
            raise ValueError(f"max_len must be at least 1, not {config.max_len}")
        vocab = Vocab(arrays["vocab"].tolist())
        net = SeqNet.from_config(header["net"], _prefixed(arrays, "net."))
        if len(vocab) != net.n_vocab:  # a longer vocabulary would index past the embedding
            raise ValueError(f"vocabulary has {len(vocab)} entries, the embedding {net.n_vocab}")
        classes = _classes(header, net.config()["n_classes"])
        return cls(config, vocab, net, classes)


def _prefixed(arrays, prefix):
    return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}


def _classes(header, n):
    classes = header["classes"]
    if not isinstance(classes, list) or len(classes) != n or not all(isinstance(c, str) for c in classes):
        raise ValueError(f"class list does not match the {n} outputs of the network")
    return classes


MODEL_CLASSES = {"bow": BowModel, "seq": SeqModel}


def register(kind, cls):
    """Make a model kind loadable (the language model registers itself from its module)."""
    MODEL_CLASSES[kind] = cls


def save(path, model, training=None):
    """Write ``model`` to ``path`` atomically (see persist.save_model)."""
    header, arrays = model.to_state()
    if training is not None:
        header["training"] = training
    persist.save_model(path, model.kind, header, arrays)


def load(path, kinds=None):
    """Load a model file of one of ``kinds`` into its predictor class; every failure is one line."""
    if kinds is None:
        kinds = set(MODEL_CLASSES) | {"lm"}
    if "lm" in kinds and "lm" not in MODEL_CLASSES:
        import seqcli.charlm  # noqa: F401  (registers the language model kind)
    header, arrays = persist.load_model(path, kinds)
    cls = MODEL_CLASSES[header["kind"]]
    try:
        model = cls.from_state(header, arrays)
    except (KeyError, ValueError, TypeError, IndexError, AttributeError) as exc:
        what = f"missing {exc}" if isinstance(exc, KeyError) else " ".join(str(exc).split())
        raise SeqcliError(f"{path}: damaged model file ({what})") from None
    model.header = header
    return model
