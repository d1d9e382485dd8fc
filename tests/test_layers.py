"""Layers: gradient checks (float64) of every parameter and input, reversal, pooling, dropout."""

import numpy as np
from gradcheck import numeric_grad, rel_error
import pytest

from seqcli.nn import cells
from seqcli.nn.layers import (
    Bidirectional, Dense, Embedding, Pool, Recurrent, Stack, length_mask,
)


F64 = np.float64
N_X, N_A, M, T = 3, 3, 3, 4
LENGTHS = np.array([4, 2, 0])


def randomize_biases(params, rng):
    for k in params:
        if k.rsplit(".", 1)[-1].startswith("b"):
            params[k] += rng.normal(0, 0.5, params[k].shape)


def check_layer(layer, params, x, lengths=None, rng_seed=None, tol=1e-6):
    """Gradient-check a layer's forward/backward against a random linear loss on its output."""
    def run():
        rng = None if rng_seed is None else np.random.default_rng(rng_seed)
        if isinstance(layer, Stack):
            return layer.forward(x, lengths, rng)
        if lengths is None:
            return layer.forward(x)
        return layer.forward(x, lengths)

    out, cache = run()
    w = np.random.default_rng(99).normal(size=out.shape)
    if lengths is not None and out.ndim == 3:
        w *= length_mask(lengths, out.shape[0])[:, None, :]  # losses never read padded outputs
    f = lambda: float((w * run()[0]).sum())  # noqa: E731
    dx, grads = layer.backward(w, cache)
    assert set(grads) <= set(params) and grads
    for k, g in grads.items():
        assert g.shape == params[k].shape, k
        assert rel_error(numeric_grad(f, params[k]), g) < tol, k
    assert dx.shape == x.shape
    assert rel_error(numeric_grad(f, x), dx) < tol, "input"
    return out, dx


def test_dense_gradients():
    P = {}
    rng = np.random.default_rng(0)
    layer = Dense(P, "out", 4, 3, rng, F64)
    randomize_biases(P, rng)
    check_layer(layer, P, rng.normal(size=(4, M)))


def test_embedding_lookup_and_gradient():
    P = {}
    rng = np.random.default_rng(0)
    emb = Embedding(P, "embed", 6, N_X, rng, F64)
    ids = np.array([[1, 2, 2], [5, 1, 0], [2, 0, 0]])
    x, cache = emb.forward(ids)
    assert x.shape == (3, N_X, 3) and x.flags.c_contiguous
    # one-hot times E picks a column
    onehot = np.eye(6)[:, ids[1, 0]]
    np.testing.assert_allclose(x[1, :, 0], P["embed.E"] @ onehot)
    np.testing.assert_array_equal(P["embed.E"][:, 0], 0.0)
    w = rng.normal(size=x.shape)
    _, g = emb.backward(w, cache)
    num = numeric_grad(lambda: float((w * emb.forward(ids)[0]).sum()), P["embed.E"])
    assert rel_error(num, g["embed.E"]) < 1e-9
    # empty input
    _, g0 = emb.backward(np.zeros((0, N_X, 2)), np.zeros((0, 2), int))
    assert np.all(g0["embed.E"] == 0)


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_recurrent_gradients(kind):
    P = {}
    rng = np.random.default_rng(1)
    layer = Recurrent(P, "enc.l0.fw", kind, N_X, N_A, rng, F64)
    randomize_biases(P, rng)
    assert set(P) == {f"enc.l0.fw.{k}" for k in cells.init_params(kind, 1, 1, rng)}
    _, dx = check_layer(layer, P, rng.normal(size=(T, N_X, M)), LENGTHS)
    for i, L in enumerate(LENGTHS):
        assert np.all(dx[L:, :, i] == 0)


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_bidirectional_gradients(kind):
    P = {}
    rng = np.random.default_rng(2)
    layer = Bidirectional(Recurrent(P, "l.fw", kind, N_X, N_A, rng, F64),
                          Recurrent(P, "l.bw", kind, N_X, N_A, rng, F64))
    randomize_biases(P, rng)
    out, dx = check_layer(layer, P, rng.normal(size=(T, N_X, M)), LENGTHS)
    assert out.shape == (T, 2 * N_A, M)
    for i, L in enumerate(LENGTHS):
        assert np.all(dx[L:, :, i] == 0)


@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_stack_gradients_with_dropout(kind):
    P = {}
    rng = np.random.default_rng(3)
    l0 = Bidirectional(Recurrent(P, "l0.fw", kind, N_X, N_A, rng, F64),
                       Recurrent(P, "l0.bw", kind, N_X, N_A, rng, F64))
    l1 = Recurrent(P, "l1.fw", kind, 2 * N_A, N_A, rng, F64)
    stack = Stack([l0, l1], dropout=0.3)
    randomize_biases(P, rng)
    x = rng.normal(size=(T, N_X, M))
    check_layer(stack, P, x, LENGTHS, rng_seed=5)
    # no rng: dropout off, deterministic
    a1, _ = stack.forward(x, LENGTHS)
    a2, _ = stack.forward(x, LENGTHS)
    np.testing.assert_array_equal(a1, a2)
    a3, _ = stack.forward(x, LENGTHS, np.random.default_rng(5))
    assert not np.allclose(a1, a3)


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_backward_direction_starts_at_true_end(kind):
    """The backward direction of a padded row equals a plain cell run over its reversed real tokens."""
    P = {}
    rng = np.random.default_rng(4)
    layer = Bidirectional(Recurrent(P, "fw", kind, N_X, N_A, rng, F64),
                          Recurrent(P, "bw", kind, N_X, N_A, rng, F64))
    x = rng.normal(size=(T, N_X, M))
    out, _ = layer.forward(x, LENGTHS)
    p_bw = {k.split(".", 1)[1]: v for k, v in P.items() if k.startswith("bw.")}
    L = 2
    a, _ = cells.forward(kind, x[:L, :, 1:2][::-1].copy(), (np.zeros((N_A, 1)),), p_bw)
    np.testing.assert_allclose(out[:L, N_A:, 1], a[::-1, :, 0], atol=1e-12)
    np.testing.assert_array_equal(out[:, :, 2], 0.0)  # length 0: the zero initial state everywhere


@pytest.mark.parametrize("mode", ["last", "mean", "max"])
@pytest.mark.parametrize("split", [None, 2])
def test_pool(mode, split):
    rng = np.random.default_rng(5)
    pool = Pool(mode, split=split)
    a = rng.normal(size=(T, 4, M))
    h, cache = pool.forward(a, LENGTHS)
    assert h.shape == (4, M)
    np.testing.assert_array_equal(h[:, 2], 0.0)  # length 0
    real = a[:2, :, 1]
    expect = {"last": real[-1], "mean": real.mean(0), "max": real.max(0)}[mode].copy()
    if mode == "last" and split:
        expect[split:] = a[0, split:, 1]
    np.testing.assert_allclose(h[:, 1], expect)
    # gradient (input only; pooling has no parameters)
    w = rng.normal(size=h.shape)
    da = pool.backward(w, cache)
    num = numeric_grad(lambda: float((w * pool.forward(a, LENGTHS)[0]).sum()), a)
    assert rel_error(num, da) < 1e-8
    for i, L in enumerate(LENGTHS):
        assert np.all(da[L:, :, i] == 0)
    # prefix pooling ends at the full pooling
    pre = pool.prefixes(a, LENGTHS)
    for i, L in enumerate(LENGTHS):
        np.testing.assert_allclose(pre[max(L - 1, 0), :, i], h[:, i])
    # empty sequences
    h0, c0 = pool.forward(np.zeros((0, 4, 2)), [0, 0])
    assert h0.shape == (4, 2) and np.all(h0 == 0)
    assert pool.backward(np.ones((4, 2)), c0).shape == (0, 4, 2)
