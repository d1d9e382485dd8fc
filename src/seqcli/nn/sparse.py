"""Sparse gradients of embedding tables: only the columns a batch touched.

A batch of a tagger reads a few hundred of the tens of thousands of columns of its word table
``E`` (n_x, n_vocab); the gradient of every other column is exactly zero. Writing that gradient as a
dense (n_x, n_vocab) array, clipping it and running Adam over all of it cost 15-25% of a training
step. ``ColumnGrad`` holds only the touched columns; the clipping (functional.global_norm /
clip_by_global_norm) and the optimizers (optim.py) take it wherever they take an array, so a layer
that emits one (``Embedding.backward(..., sparse=True)``) needs nothing else.
"""

import numpy as np


class ColumnGrad:
    """The gradient of a (n, N) parameter that is zero outside the columns ``index``.

    index: (k,) distinct column numbers, increasing; values: (n, k), column i is the gradient of
    column index[i]; shape: the parameter's (n, N).
    """

    __slots__ = ("index", "values", "shape")

    def __init__(self, index, values, shape):
        self.index, self.values, self.shape = np.asarray(index, dtype=np.intp), values, tuple(shape)

    @property
    def dtype(self):
        return self.values.dtype

    def dense(self):
        """The (n, N) array this stands for."""
        out = np.zeros(self.shape, self.values.dtype)
        out[:, self.index] = self.values
        return out

    def sum_sq(self):
        """The squared Euclidean norm (the zero columns add nothing)."""
        return float(np.vdot(self.values, self.values))

    def __imul__(self, scale):
        """Scale in place by a number, or by an array that broadcasts to the parameter's shape (a 0/1
        mask of frozen columns): only the touched columns are read from it."""
        if np.ndim(scale) == 0:
            self.values *= scale
        else:
            self.values *= np.broadcast_to(scale, self.shape)[:, self.index]
        return self


def columns_of(ids, rows):
    """Sum the rows of ``rows`` that share an id: ids (N,) ints, rows (N, n) -> ColumnGrad parts
    (unique ids (k,), sums (n, k)). One sort and one reduceat, no Python loop."""
    order = np.argsort(ids, kind="stable")
    ids_sorted = ids[order]
    starts = np.flatnonzero(np.r_[True, ids_sorted[1:] != ids_sorted[:-1]])
    return ids_sorted[starts], np.add.reduceat(rows[order], starts, axis=0).T
