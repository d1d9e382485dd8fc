"""SeqNet: gradient checks of every parameter for every cell x direction x depth x pooling, padding
invariance, empty rows, dtypes, persistence and the heatmap states."""

import json

import numpy as np
from gradcheck import numeric_grad, rel_error
import pytest

from seqcli.nn.seqnet import SeqNet


V, C = 7, 3


def batch(lengths, T=None, seed=0):
    """Random ids (T, m) padded with 0 after each row's length."""
    rng = np.random.default_rng(seed)
    lengths = np.asarray(lengths)
    T = int(lengths.max(initial=0)) if T is None else T
    ids = rng.integers(1, V, (T, len(lengths)))
    ids[np.arange(T)[:, None] >= lengths[None, :]] = 0
    return ids, lengths


def tiny(cell, bi=False, layers=1, pool="last", dropout=0.0, dtype=np.float64, seed=0):
    net = SeqNet(V, C, cell=cell, embed=3, hidden=3, layers=layers, bidirectional=bi, pool=pool,
                 dropout=dropout, seed=seed, dtype=dtype)
    rng = np.random.default_rng(seed + 100)
    for k, v in net.params.items():  # random biases so every bias gradient is exercised
        if k.rsplit(".", 1)[-1].startswith("b"):
            v += rng.normal(0, 0.5, v.shape).astype(v.dtype)
    return net


@pytest.mark.parametrize("pool", ["last", "mean", "max"])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("bi", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_gradients(cell, bi, layers, pool):
    dropout = 0.25 if layers == 2 else 0.0  # dropout between layers and before the readout
    assert_gradients(tiny(cell, bi, layers, pool, dropout))


def assert_gradients(net):
    """Every parameter's gradient of a weighted loss over a padded batch (a row of length 0 too),
    against central differences, with the same dropout masks in every evaluation."""
    ids, lengths = batch([4, 2, 0, 1], T=4)
    y, w = np.array([0, 2, 1, 1]), np.array([1.0, 2.0, 0.5, 1.0])

    def f():
        return net.loss(ids, lengths, y, w, rng=np.random.default_rng(3))[0]

    _, grads = net.loss(ids, lengths, y, w, rng=np.random.default_rng(3))
    assert grads.keys() == net.params.keys()
    for k, p in net.params.items():
        assert grads[k].shape == p.shape and grads[k].dtype == p.dtype, k
        if k == "embed.E":
            np.testing.assert_array_equal(grads[k][:, 0], 0.0)  # padding id never gets a gradient
        assert rel_error(numeric_grad(f, p, h=1e-5), grads[k]) < 1e-6, k


@pytest.mark.parametrize("pool", ["last", "mean", "max"])
@pytest.mark.parametrize("bi", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_padded_rows_match_rows_alone(cell, bi, pool):
    """A batch with variable lengths gives the loss and gradients of each row alone (averaged)."""
    assert_rows_alone(tiny(cell, bi, 2, pool))


def assert_rows_alone(net):
    """A padded batch of rows of lengths 5, 3, 1, 0 gives the mean of the rows' losses and gradients."""
    lengths = [5, 3, 1, 0]
    ids, lengths = batch(lengths, T=6)
    y = np.array([0, 1, 2, 1])
    loss, grads = net.loss(ids, lengths, y)
    total_loss, total = 0.0, {k: np.zeros_like(v) for k, v in net.params.items()}
    for i, L in enumerate(lengths):
        li, gi = net.loss(ids[:L, i:i + 1], [L], y[i:i + 1])
        total_loss += li / len(lengths)
        for k in total:
            total[k] += gi[k] / len(lengths)
    assert abs(loss - total_loss) < 1e-12
    for k in total:
        np.testing.assert_allclose(grads[k], total[k], atol=1e-12, err_msg=k)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("bi", [False, True], ids=["uni", "bi"])
def test_empty_inputs_do_not_crash(cell, bi):
    net = SeqNet(V, C, cell=cell, embed=4, hidden=5, bidirectional=bi)
    bias = net.params["out.by"][:, 0]
    bias[:] = [0.1, -0.2, 0.3]
    expect = np.exp(bias) / np.exp(bias).sum()
    for ids, lengths in [(np.zeros((0, 1), int), [0]), (np.zeros((0, 3), int), [0, 0, 0]),
                         (np.zeros((2, 2), int), [0, 0])]:
        proba = net.predict_proba(ids, lengths)
        assert proba.shape == (C, len(lengths))
        np.testing.assert_allclose(proba, expect[:, None] + 0 * proba, atol=1e-6)  # zero initial state
        loss, grads = net.loss(ids, lengths, np.zeros(len(lengths), int))
        assert np.isfinite(loss) and grads.keys() == net.params.keys()
        states = net.states(ids, lengths)
        assert states["proba"].shape == (C, ids.shape[0], len(lengths))
    # m = 1, a real row
    assert net.predict_proba([[2], [3]], [2]).shape == (C, 1)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_float32_matches_float64(cell):
    net64 = tiny(cell, True, 2, "mean")
    net32 = SeqNet.from_config(net64.config(), {k: v.astype(np.float32) for k, v in net64.params.items()})
    ids, lengths = batch([6, 4, 1], seed=2)
    p64, p32 = net64.predict_proba(ids, lengths), net32.predict_proba(ids, lengths)
    assert p32.dtype == np.float32
    np.testing.assert_allclose(p32, p64, atol=1e-5)
    _, g64 = net64.loss(ids, lengths, [0, 1, 2])
    _, g32 = net32.loss(ids, lengths, [0, 1, 2])
    for k in g64:
        assert g32[k].dtype == np.float32
        np.testing.assert_allclose(g32[k], g64[k], atol=1e-4, rtol=1e-3, err_msg=k)


def test_default_dtype_is_float32_and_seed_is_deterministic():
    a, b = SeqNet(50, 2, seed=3), SeqNet(50, 2, seed=3)
    assert all(v.dtype == np.float32 for v in a.params.values())
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    assert not np.array_equal(a.params["out.Wya"], SeqNet(50, 2, seed=4).params["out.Wya"])


def test_param_keys():
    net = SeqNet(10, 2, cell="gru", embed=4, hidden=5, layers=2, bidirectional=True)
    keys = {"embed.E", "out.Wya", "out.by"}
    for i in range(2):
        for d in ("fw", "bw"):
            keys |= {f"enc.l{i}.{d}.{k}" for k in ("Wax", "Waa", "ba", "bc")}
    assert set(net.params) == keys
    assert net.params["embed.E"].shape == (4, 10)
    assert net.params["enc.l1.fw.Wax"].shape == (15, 10)
    assert net.params["out.Wya"].shape == (2, 10)


def test_config_roundtrip():
    net = SeqNet(30, 4, cell="gru", embed=5, hidden=6, layers=2, bidirectional=True, pool="max",
                 dropout=0.1, seed=7)
    cfg = json.loads(json.dumps(net.config()))
    saved = {k: v.copy() for k, v in net.params.items()}
    again = SeqNet.from_config(cfg, saved)
    ids, lengths = batch([3, 2], seed=1)
    np.testing.assert_array_equal(net.predict_proba(ids, lengths), again.predict_proba(ids, lengths))
    with pytest.raises(KeyError):
        SeqNet.from_config(cfg, {k: v for k, v in saved.items() if k != "out.by"})


def test_params_are_read_at_every_call():
    """An optimizer may update params in place or by key; the network sees it."""
    net = SeqNet(10, 2, embed=3, hidden=4)
    ids, lengths = batch([3, 2], seed=1)
    before = net.predict_proba(ids, lengths)
    net.params["out.by"] = np.array([[5.0], [-5.0]], np.float32)
    assert not np.allclose(before, net.predict_proba(ids, lengths))
    net.params["out.Wya"] *= 0
    np.testing.assert_allclose(net.predict_proba(ids, lengths)[0], 1 / (1 + np.exp(-10.0)), rtol=1e-5)


def test_dropout_only_with_rng():
    net = SeqNet(10, 2, embed=3, hidden=4, layers=2, dropout=0.5)
    ids, lengths = batch([3, 2], seed=1)
    l1, _ = net.loss(ids, lengths, [0, 1])
    l2, _ = net.loss(ids, lengths, [0, 1])
    l3, _ = net.loss(ids, lengths, [0, 1], rng=np.random.default_rng(0))
    assert l1 == l2 and l1 != l3


@pytest.mark.parametrize("pool", ["last", "mean", "max"])
@pytest.mark.parametrize("cell,fields", [("rnn", ["a"]), ("gru", ["gu", "gr", "cc", "a"]),
                                         ("lstm", ["gu", "gf", "go", "cc", "c", "a"])])
def test_states(cell, fields, pool):
    net = SeqNet(V, C, cell=cell, embed=3, hidden=4, layers=2, bidirectional=True, pool=pool)
    ids, lengths = batch([5, 2, 0], seed=4)
    s = net.states(ids, lengths)
    T, m = ids.shape
    for i in range(2):
        for d in ("fw", "bw"):
            for f in fields:
                assert s[f"enc.l{i}.{d}.{f}"].shape == (T, 4, m)
    assert s["proba"].shape == (C, T, m)
    np.testing.assert_allclose(s["proba"].sum(axis=0), 1.0, rtol=1e-5)
    final = net.predict_proba(ids, lengths)
    np.testing.assert_allclose(s["final"], final)
    for i, L in enumerate(lengths):
        np.testing.assert_allclose(s["proba"][:, max(L - 1, 0), i], final[:, i], atol=1e-6)
    # the states are the forward pass's own arrays: the top layer's hidden states are what was pooled
    top = np.concatenate([s["enc.l1.fw.a"], s["enc.l1.bw.a"]], axis=1)
    if pool == "mean":
        np.testing.assert_allclose(top[:5, :, 0].mean(axis=0),
                                   net.pooling.forward(top, lengths)[0][:, 0], atol=1e-6)
    if cell == "lstm":  # and they obey the cell's equations
        c, a, go = s["enc.l0.fw.c"], s["enc.l0.fw.a"], s["enc.l0.fw.go"]
        np.testing.assert_allclose(a[:5, :, 0], go[:5, :, 0] * np.tanh(c[:5, :, 0]), atol=1e-6)
