"""The fitted bag-of-words classifier: vectorizer + BowNet + class names (numpy only)."""


from seqcli.config import BowConfig, from_dict, to_dict
from seqcli.models import class_names, prefixed


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
        from seqcli.nn.bownet import BowNet

        config = from_dict(BowConfig, header["config"], "bag-of-words config")
        vectorizer = Vectorizer.from_state(header["vectorizer"], prefixed(arrays, "vec."))
        net = BowNet.from_config(header["net"], prefixed(arrays, "net."))
        classes = class_names(header, net.params["W"].shape[0])
        if net.params["W"].shape[1] != vectorizer.n_features_:
            raise ValueError(f"weights have {net.params['W'].shape[1]} features, vectorizer {vectorizer.n_features_}")
        scale = arrays.get("nb_scale")
        if (config.mode == "nb") != (scale is not None) or (
                scale is not None and (scale.shape != (vectorizer.n_features_,) or scale.dtype.kind != "f")):
            raise ValueError("naive-Bayes feature scale missing, unexpected or of the wrong shape")
        return cls(config, vectorizer, net, classes, scale)
