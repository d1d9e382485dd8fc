"""Character features: the CNN against a plain loop, the BiLSTM against its Recurrent layers run per
word, float64 gradient checks of each kind alone, and padding invariance (extra padding, any pad ids)."""

import numpy as np
from gradcheck import numeric_grad, rel_error
import pytest

from seqcli.nn import charfeat
from seqcli.nn.charfeat import CharCNN, CharLSTM, sum_columns_by_index

N_CHARS, N_C, HID = 7, 2, 3
LENGTHS = np.array([5, 1, 0, 3, 2])


def words(lengths, L=None, seed=0, pad=0):
    """Random char ids (L, n_u) with ``pad`` at padded positions."""
    rng = np.random.default_rng(seed)
    lengths = np.asarray(lengths)
    L = int(lengths.max(initial=0)) if L is None else L
    ids = rng.integers(1, N_CHARS, (L, len(lengths)))
    ids[np.arange(L)[:, None] >= lengths] = pad
    return ids, lengths


def build(kind, seed=0, width=3, activation="tanh"):
    P, rng = {}, np.random.default_rng(seed)
    if kind == "cnn":
        layer = CharCNN(P, "char", N_CHARS, N_C, HID, width, rng, np.float64, activation)
    else:
        layer = CharLSTM(P, "char", N_CHARS, N_C, HID, rng, np.float64)
    for k, v in P.items():  # random biases so every bias gradient is exercised
        if k.rsplit(".", 1)[-1].startswith("b"):
            v += rng.normal(0, 0.5, v.shape)
    return layer, P


def naive_cnn(P, ids, lengths, width, act):
    """The convolution as written in the docstring, one word and one position at a time."""
    E, W, b, edge = P["char.E"], P["char.Wconv"], P["char.bconv"][:, 0], P["char.edge"][:, 0]
    left = (width - 1) // 2
    out = np.zeros((W.shape[0], ids.shape[1]))
    for u, L in enumerate(lengths):
        if not L:
            continue
        resp = []
        for t in range(L):
            win = [E[:, ids[t + k - left, u]] if 0 <= t + k - left < L else edge
                   for k in range(width)]
            resp.append(W @ np.concatenate(win) + b)
        z = np.max(resp, axis=0)
        out[:, u] = np.tanh(z) if act == "tanh" else np.maximum(z, 0)
    return out


@pytest.mark.parametrize("width", [1, 2, 3, 4])
@pytest.mark.parametrize("act", ["tanh", "relu"])
def test_cnn_matches_naive_loop(width, act):
    layer, P = build("cnn", width=width, activation=act)
    ids, lengths = words(LENGTHS)
    h, _ = layer.forward(ids, lengths)
    assert h.shape == (HID, len(LENGTHS))
    np.testing.assert_allclose(h, naive_cnn(P, ids, lengths, width, act), atol=1e-13)
    assert np.all(h[:, 2] == 0)                        # the empty word


def test_lstm_features_are_final_states_of_both_directions():
    layer, P = build("lstm")
    ids, lengths = words(LENGTHS)
    h, _ = layer.forward(ids, lengths)
    assert h.shape == (2 * HID, len(LENGTHS))
    fw, bw = layer.rnn.fw, layer.rnn.bw
    for u, L in enumerate(lengths):
        if L == 0:
            assert np.all(h[:, u] == 0)
            continue
        x = P["char.E"][:, ids[:L, u]].T[:, :, None]    # (L, n_c, 1)
        np.testing.assert_allclose(h[:HID, u], fw.forward(x, [L])[0][L - 1, :, 0], atol=1e-14)
        np.testing.assert_allclose(h[HID:, u], bw.forward(x[::-1], [L])[0][L - 1, :, 0], atol=1e-14)


@pytest.mark.parametrize("kind,width,act", [("cnn", 3, "tanh"), ("cnn", 2, "relu"), ("cnn", 1, "tanh"),
                                            ("lstm", None, None)])
def test_gradients(kind, width, act):
    layer, P = build(kind, seed=1, width=width or 3, activation=act or "tanh")
    ids, lengths = words(LENGTHS, seed=1)
    h, cache = layer.forward(ids, lengths)
    w = np.random.default_rng(9).normal(size=h.shape)
    f = lambda: float((w * layer.forward(ids, lengths)[0]).sum())  # noqa: E731
    dx, grads = layer.backward(w, cache)
    assert dx is None and set(grads) == set(P)
    for k, p in P.items():
        assert grads[k].shape == p.shape and grads[k].dtype == p.dtype, k
        assert rel_error(numeric_grad(f, p), grads[k]) < 1e-6, k
    assert np.all(grads["char.E"][:, 0] == 0)         # the padding char never gets a gradient


@pytest.mark.parametrize("kind", ["cnn", "lstm"])
def test_padding_changes_nothing(kind):
    layer, P = build(kind, seed=2)
    ids, lengths = words(LENGTHS, seed=2)
    w = np.random.default_rng(3).normal(size=(layer.n_out, len(LENGTHS)))

    def run(ids):
        h, cache = layer.forward(ids, lengths)
        return h, layer.backward(w, cache)[1]

    h0, g0 = run(ids)
    # other padding ids at the same positions: exactly the same
    noisy = ids.copy()
    pad = np.arange(ids.shape[0])[:, None] >= lengths
    noisy[pad] = np.random.default_rng(4).integers(1, N_CHARS, pad.sum())
    h1, g1 = run(noisy)
    np.testing.assert_array_equal(h0, h1)
    for k in g0:
        np.testing.assert_array_equal(g0[k], g1[k], err_msg=k)
    # more padding rows, filled with real-looking chars: the same up to rounding
    longer = np.concatenate([noisy, np.random.default_rng(5).integers(1, N_CHARS, (4, len(LENGTHS)))])
    h2, g2 = run(longer)
    np.testing.assert_allclose(h0, h2, atol=1e-13)
    for k in g0:
        np.testing.assert_allclose(g0[k], g2[k], atol=1e-13, err_msg=k)
    # every word alone
    for u, L in enumerate(lengths):
        hu, _ = layer.forward(ids[:L, u:u + 1], [L])
        np.testing.assert_allclose(h0[:, u:u + 1], hu, atol=1e-13)


@pytest.mark.parametrize("kind", ["cnn", "lstm"])
def test_shapes_dtype_and_empty(kind):
    P, rng = {}, np.random.default_rng(0)
    layer = charfeat.make(kind, P, "char", N_CHARS, N_C, HID, 3, rng, np.float32)
    assert {k: v.shape for k, v in P.items()} == charfeat.param_shapes(kind, "char", N_CHARS, N_C, HID, 3)
    assert layer.n_out == charfeat.n_features(kind, HID)
    ids, lengths = words(LENGTHS)
    h, cache = layer.forward(ids, lengths)
    assert h.dtype == np.float32
    assert all(g.dtype == np.float32 for g in layer.backward(np.ones_like(h), cache)[1].values())
    h, cache = layer.forward(np.zeros((0, 2), int), [0, 0])   # no characters at all
    assert h.shape == (layer.n_out, 2) and np.all(h == 0)
    grads = layer.backward(np.ones_like(h), cache)[1]
    assert all(np.all(g == 0) for g in grads.values())


def test_sum_columns_by_index():
    idx = np.array([2, 0, 2, 2, 4])
    vals = np.arange(10.0).reshape(2, 5)
    want = np.zeros((2, 6))
    np.add.at(want.T, idx, vals.T)
    np.testing.assert_array_equal(sum_columns_by_index(idx, vals, 6), want)
    assert sum_columns_by_index(np.zeros(0, int), np.zeros((2, 0)), 3).shape == (2, 3)
