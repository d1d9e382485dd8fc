"""Whole networks with one loss: the bag-of-words logistic regression (BowNet).

Recurrent classifiers live in ``seqnet.py`` and the character language model in ``charlm.py``;
all of them expose the same contract: ``params`` (flat dict), ``loss(...) -> (loss, grads)``
with grads keyed like params, and ``predict_proba(...) -> (n_y, m)``.
"""

import numpy as np

from seqcli.nn import checks
from seqcli.nn.functional import softmax, softmax_cross_entropy


class BowNet(checks.Rebuildable):
    """Multinomial logistic regression on sparse bag-of-words rows.

    logits = W x + b for each example x (a sparse row of n_x features), softmax over n_y classes;
    trained with mean softmax cross-entropy (the L2 penalty is applied by the optimizer's
    weight decay, so every model shares one optimizer code path).

    Parameters: ``W`` (n_y, n_x), ``b`` (n_y, 1). Sparse input is a CSR triple
    ``(indptr (m+1,), indices (nnz,), data (nnz,))`` in plain numpy, so prediction needs no scipy.
    """

    def __init__(self, n_features, n_classes, dtype=np.float32):
        self.params = {"W": np.zeros((n_classes, n_features), dtype=dtype),
                       "b": np.zeros((n_classes, 1), dtype=dtype)}

    def config(self):
        n_y, n_x = self.params["W"].shape
        return {"n_features": int(n_x), "n_classes": int(n_y)}

    @staticmethod
    def param_shapes(config):
        """The parameter shapes ``config`` implies, from checked sizes, without allocating."""
        n_x = checks.config_int(config, "n_features", 1, checks.MAX_FEATURES)
        n_y = checks.config_int(config, "n_classes", 1, checks.MAX_CLASSES)
        return {"W": (n_y, n_x), "b": (n_y, 1)}

    def logits(self, rows):
        """Class scores (n_y, m) for CSR rows ``(indptr, indices, data)``.

        Each row's scores are the sum of its features' weight columns times their values:
        gather W[:, indices] once, scale by data, and sum per row with one reduceat.
        """
        indptr, indices, data = rows[0], rows[1], rows[2]
        W, b = self.params["W"], self.params["b"]
        m = len(indptr) - 1
        out = np.repeat(b, m, axis=1)
        if len(indices):
            contrib = W[:, indices] * data.astype(W.dtype, copy=False)  # (n_y, nnz)
            starts = indptr[:-1]
            nonempty = indptr[1:] > starts  # reduceat misbehaves on empty rows: skip them
            if nonempty.any():
                out[:, nonempty] += np.add.reduceat(contrib, starts[nonempty], axis=1)
        return out

    def loss(self, rows, y, weights=None):
        """Mean cross-entropy on CSR ``rows`` with labels ``y`` (m,); returns (loss, grads)."""
        indptr, indices, data = rows[0], rows[1], rows[2]
        W = self.params["W"]
        logits = self.logits(rows)
        loss, dlogits = softmax_cross_entropy(logits, y, weights)
        # dW = dlogits @ X: each nonzero (row i, column j, value v) adds v * dlogits[:, i] to dW[:, j]
        row_of = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
        vals = dlogits[:, row_of] * data.astype(W.dtype, copy=False)  # (n_y, nnz)
        dW = np.empty_like(W)
        for k in range(W.shape[0]):  # n_y is small; bincount sums duplicates in C
            dW[k] = np.bincount(indices, weights=vals[k], minlength=W.shape[1])
        grads = {"W": dW, "b": dlogits.sum(axis=1, keepdims=True)}
        return loss, grads

    def predict_proba(self, rows):
        """Class probabilities (n_y, m)."""
        return softmax(self.logits(rows), axis=0)
