"""Sparse embedding gradients (nn/sparse.py): the same numbers as the dense ones, clipped the same way,
and the optimizers' results the same as with the dense arrays."""

import numpy as np
import pytest

from seqcli.nn.functional import clip_by_global_norm, global_norm
from seqcli.nn.layers import Embedding
from seqcli.nn.optim import SGD, Adam
from seqcli.nn.sparse import ColumnGrad

N_X, N = 3, 9


def column_grads(rng, steps, touched=None, dtype=np.float32):
    """Per step a ColumnGrad of random values on random (or the given) distinct columns."""
    out = []
    for _ in range(steps):
        cols = np.sort(rng.choice(N, int(rng.integers(1, 5)), replace=False)) if touched is None else touched
        out.append(ColumnGrad(cols, rng.normal(size=(N_X, len(cols))).astype(dtype), (N_X, N)))
    return out


def test_embedding_sparse_gradient_is_the_dense_one():
    rng = np.random.default_rng(0)
    params = {}
    emb = Embedding(params, "embed", N, N_X, rng, np.float64)
    ids = np.array([[1, 4, 0], [4, 4, 2]])
    x, cache = emb.forward(ids)
    dx = rng.normal(size=x.shape)
    dense = emb.backward(dx, cache)[1]["embed.E"]
    sparse = emb.backward(dx, cache, sparse=True)[1]["embed.E"]
    assert isinstance(sparse, ColumnGrad) and sparse.index.tolist() == [0, 1, 2, 4]
    np.testing.assert_allclose(sparse.dense(), dense, rtol=1e-14)
    empty = emb.backward(np.zeros((0, N_X, 2)), np.zeros((0, 2), int), sparse=True)[1]["embed.E"]
    assert empty.values.shape == (N_X, 0) and not empty.dense().any()


def test_clipping_reads_and_scales_only_the_touched_columns():
    rng = np.random.default_rng(1)
    g = column_grads(rng, 1)[0]
    dense = {"E": g.dense(), "W": np.ones((2, 2), np.float32)}
    sparse = {"E": g, "W": np.ones((2, 2), np.float32)}
    assert global_norm(sparse) == pytest.approx(global_norm(dense), rel=1e-6)
    clip_by_global_norm(dense, 0.5)
    clip_by_global_norm(sparse, 0.5)
    np.testing.assert_allclose(sparse["E"].dense(), dense["E"], rtol=1e-6)
    np.testing.assert_allclose(sparse["W"], dense["W"], rtol=1e-6)


@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_adam_on_a_sparse_gradient_is_adam_on_its_dense_array_bit_for_bit(weight_decay):
    """Every column moves (the moments of untouched ones decay, their momentum carries them), exactly as
    with the dense gradient; a checkpoint of the state continues the same way."""
    rng = np.random.default_rng(2)
    p0 = rng.normal(size=(N_X, N)).astype(np.float32)
    dense_p, sparse_p = {"E": p0.copy()}, {"E": p0.copy()}
    dense, sparse = Adam(lr=0.01, weight_decay=weight_decay), Adam(lr=0.01, weight_decay=weight_decay)
    grads = column_grads(rng, 8)
    for i, g in enumerate(grads):
        dense.step(dense_p, {"E": g.dense()})
        sparse.step(sparse_p, {"E": ColumnGrad(g.index, g.values.copy(), g.shape)})
        if i == 3:
            before = sparse_p["E"].copy()
        if i == 4:                            # a column not in this step's gradient still moved
            untouched = np.setdiff1d(np.arange(N), g.index)
            assert untouched.size and not np.array_equal(sparse_p["E"][:, untouched], before[:, untouched])
        if i == 5:                            # resume from the state arrays
            arrays, meta = sparse.state_arrays()
            sparse = Adam(lr=0.01, weight_decay=weight_decay)
            sparse.load_state(arrays, meta)
    np.testing.assert_array_equal(sparse_p["E"], dense_p["E"])
    np.testing.assert_array_equal(sparse.m["E"], dense.m["E"])
    np.testing.assert_array_equal(sparse.v["E"], dense.v["E"])


def test_frozen_columns_and_frozen_tables_do_not_move():
    rng = np.random.default_rng(5)
    p = {"E": rng.normal(size=(N_X, N)).astype(np.float32)}
    start = p["E"].copy()
    opt = Adam(lr=0.1)
    mask = np.ones((1, N), np.float32)
    mask[0, :4] = 0.0                      # the first four columns frozen (pretrained vectors)
    opt.scale = {"E": mask}
    for g in column_grads(rng, 5, touched=np.arange(N)):
        opt.step(p, opt.trainable({"E": g}))
    np.testing.assert_array_equal(p["E"][:, :4], start[:, :4])
    assert not np.allclose(p["E"][:, 4:], start[:, 4:])
    opt.scale = {"E": 0.0}
    moved = p["E"].copy()
    opt.step(p, opt.trainable({"E": column_grads(rng, 1)[0]}))
    np.testing.assert_array_equal(p["E"], moved)


def test_sgd_takes_a_sparse_gradient_as_its_dense_one():
    rng = np.random.default_rng(6)
    g = column_grads(rng, 1)[0]
    a, b = {"E": np.ones((N_X, N), np.float32)}, {"E": np.ones((N_X, N), np.float32)}
    SGD(lr=0.1).step(a, {"E": g})
    SGD(lr=0.1).step(b, {"E": g.dense()})
    np.testing.assert_array_equal(a["E"], b["E"])
