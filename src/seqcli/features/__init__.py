"""Bag-of-words features: the vectorizer (features/vectorizer.py: counts, binary, tf-idf and the hashing
trick in pure Python + NumPy, equal to scikit-learn's, so predict needs neither scikit-learn nor scipy)
and the writers of feature rows (features/writers.py)."""

from seqcli.errors import FeatureError
from seqcli.features.vectorizer import HashedNames, SparseRows, Vectorizer, nb_scale
from seqcli.features.writers import write_jsonl, write_npz, write_svmlight, write_to_path

__all__ = ["FeatureError", "HashedNames", "SparseRows", "Vectorizer", "nb_scale", "write_jsonl", "write_npz",
           "write_svmlight", "write_to_path"]
