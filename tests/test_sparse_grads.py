"""Sparse embedding gradients (nn/sparse.py): the same numbers as the dense ones, clipped the same way,
and Adam's column-wise update exact for the columns a batch touched."""

import numpy as np
import pytest

from seqcli.nn import checks
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


def test_adam_on_columns_touched_every_step_is_dense_adam_bit_for_bit():
    rng = np.random.default_rng(2)
    p0 = rng.normal(size=(N_X, N)).astype(np.float32)
    dense_p, sparse_p = {"E": p0.copy()}, {"E": p0.copy()}
    dense, sparse = Adam(lr=0.01), Adam(lr=0.01)
    for g in column_grads(rng, 6, touched=np.arange(N)):
        dense.step(dense_p, {"E": g.dense()})
        sparse.step(sparse_p, {"E": g})
    np.testing.assert_array_equal(sparse_p["E"], dense_p["E"])
    np.testing.assert_array_equal(sparse.m["E"], dense.m["E"])
    np.testing.assert_array_equal(sparse.v["E"], dense.v["E"])


def test_adam_moments_of_touched_columns_are_dense_adams_and_untouched_columns_stay():
    rng = np.random.default_rng(3)
    p0 = rng.normal(size=(N_X, N))
    dense_p, sparse_p = {"E": p0.copy()}, {"E": p0.copy()}
    dense, sparse = Adam(lr=0.01), Adam(lr=0.01)
    for g in column_grads(rng, 12, dtype=np.float64):
        before = sparse_p["E"].copy()
        dense.step(dense_p, {"E": g.dense()})
        sparse.step(sparse_p, {"E": g})
        j = g.index
        np.testing.assert_allclose(sparse.m["E"][:, j], dense.m["E"][:, j], rtol=1e-12)
        np.testing.assert_allclose(sparse.v["E"][:, j], dense.v["E"][:, j], rtol=1e-12)
        # this step's update of the touched columns is dense Adam's, from the same moments
        step = 0.01 * np.sqrt(1 - 0.999 ** sparse.t) / (1 - 0.9 ** sparse.t)
        want = -step * dense.m["E"][:, j] / (np.sqrt(dense.v["E"][:, j]) + 1e-8)
        np.testing.assert_allclose(sparse_p["E"][:, j] - before[:, j], want, rtol=1e-9)
        others = np.setdiff1d(np.arange(N), j)
        np.testing.assert_array_equal(sparse_p["E"][:, others], before[:, others])
    # a dense gradient after sparse ones first brings every column's moments up to date
    g = rng.normal(size=(N_X, N))
    dense.step(dense_p, {"E": g})
    sparse.step(sparse_p, {"E": g})
    np.testing.assert_allclose(sparse.m["E"], dense.m["E"], rtol=1e-12)
    np.testing.assert_allclose(sparse.v["E"], dense.v["E"], rtol=1e-12)


def test_adam_state_round_trip_continues_exactly():
    rng = np.random.default_rng(4)
    grads = column_grads(rng, 10)
    p0 = rng.normal(size=(N_X, N)).astype(np.float32)
    whole_p, part_p = {"E": p0.copy()}, {"E": p0.copy()}
    whole, part = Adam(lr=0.01), Adam(lr=0.01)
    for g in grads:
        whole.step(whole_p, {"E": ColumnGrad(g.index, g.values.copy(), g.shape)})
    for g in grads[:4]:
        part.step(part_p, {"E": ColumnGrad(g.index, g.values.copy(), g.shape)})
    arrays, meta = part.state_arrays()
    assert arrays["last.E"].shape == (N,)
    checks.check_resume(part_p, part_p, part_p, arrays)          # the checkpoint's checks accept it
    with pytest.raises(ValueError, match="last.E"):
        checks.check_resume(part_p, part_p, part_p, {**arrays, "last.E": np.zeros(N + 1, np.int64)})
    resumed = Adam(lr=0.01)
    resumed.load_state(arrays, meta)
    for g in grads[4:]:
        resumed.step(part_p, {"E": ColumnGrad(g.index, g.values.copy(), g.shape)})
    np.testing.assert_array_equal(part_p["E"], whole_p["E"])


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
