"""Cells: step functions and whole-sequence functions, gradient-checked by central differences (float64)."""

import numpy as np
from gradcheck import numeric_grad, rel_error
import pytest

from seqcli.nn import cells

KINDS = ["rnn", "gru", "lstm"]
N_X, N_A, M, T = 3, 4, 3, 5


def make_params(kind, seed=0, n_x=N_X, n_a=N_A):
    rng = np.random.default_rng(seed)
    p = cells.init_params(kind, n_x, n_a, rng, np.float64)
    # random (not zero) biases so every bias gradient is exercised
    for k in p:
        if k.startswith("b"):
            p[k] += rng.normal(0, 0.5, p[k].shape)
    return p


def prefix_mask(lengths, T):
    return (np.arange(T)[:, None] < np.asarray(lengths)[None, :]).astype(np.float64)


# ----------------------------------------------------------------------------------------------------
# step functions alone


def _step_loss(kind, x_t, a_prev, c_prev, p, w_a, w_c):
    if kind == "lstm":
        a, c, _ = cells.lstm_step_forward(x_t, a_prev, c_prev, p)
        return float((w_a * a).sum() + (w_c * c).sum())
    a, _ = getattr(cells, f"{kind}_step_forward")(x_t, a_prev, p)
    return float((w_a * a).sum())


@pytest.mark.parametrize("kind", KINDS)
def test_step_gradients(kind):
    rng = np.random.default_rng(1)
    p = make_params(kind)
    x_t, a_prev, c_prev = rng.normal(size=(N_X, M)), rng.normal(size=(N_A, M)), rng.normal(size=(N_A, M))
    w_a, w_c = rng.normal(size=(N_A, M)), rng.normal(size=(N_A, M))
    if kind == "lstm":
        _, _, cache = cells.lstm_step_forward(x_t, a_prev, c_prev, p)
        dx, da, dc, dp = cells.lstm_step_backward(w_a, w_c, cache)
        wrt = {"x": (x_t, dx), "a_prev": (a_prev, da), "c_prev": (c_prev, dc)}
    else:
        _, cache = getattr(cells, f"{kind}_step_forward")(x_t, a_prev, p)
        dx, da, dp = getattr(cells, f"{kind}_step_backward")(w_a, cache)
        wrt = {"x": (x_t, dx), "a_prev": (a_prev, da)}
    assert dp.keys() == p.keys()
    wrt.update({k: (p[k], dp[k]) for k in p})
    f = lambda: _step_loss(kind, x_t, a_prev, c_prev, p, w_a, w_c)  # noqa: E731
    for name, (arr, ana) in wrt.items():
        assert ana.shape == arr.shape, name
        assert rel_error(numeric_grad(f, arr), ana) < 1e-6, name


# ----------------------------------------------------------------------------------------------------
# whole sequences


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("lengths", [None, [5, 2, 0], [2, 0, 5]], ids=["full", "padded", "unsorted"])
def test_sequence_gradients(kind, lengths):
    rng = np.random.default_rng(2)
    p = make_params(kind)
    x, a0 = rng.normal(size=(T, N_X, M)), rng.normal(size=(N_A, M))
    mask = None if lengths is None else prefix_mask(lengths, T)
    w = rng.normal(size=(T, N_A, M))  # the loss reads every output, padded ones included

    def f():
        a, _ = cells.forward(kind, x, (a0,), p, mask)
        return float((w * a).sum())

    a, cache = cells.forward(kind, x, (a0,), p, mask)
    dx, (da0, *_), dp = cells.backward(kind, w, cache)
    assert dp.keys() == p.keys()
    assert dx.shape == x.shape and da0.shape == a0.shape
    for name, arr, ana in [("x", x, dx), ("a0", a0, da0)] + [(k, p[k], dp[k]) for k in p]:
        assert rel_error(numeric_grad(f, arr), ana) < 1e-6, name


@pytest.mark.parametrize("kind", KINDS)
def test_sequence_matches_steps(kind):
    """The fast whole-sequence functions compute exactly what the readable step functions state."""
    rng = np.random.default_rng(3)
    p = make_params(kind)
    x, a0, w = rng.normal(size=(T, N_X, M)), rng.normal(size=(N_A, M)), rng.normal(size=(T, N_A, M))
    a_seq, cache = cells.forward(kind, x, (a0,), p)
    dx_seq, (da0_seq, *_), dp_seq = cells.backward(kind, w, cache)

    a_prev, c_prev, steps = a0, np.zeros_like(a0), []
    for t in range(T):
        if kind == "lstm":
            a_prev, c_prev, sc = cells.lstm_step_forward(x[t], a_prev, c_prev, p)
            np.testing.assert_allclose(cache.c[t], c_prev, atol=1e-12)
            for g in ("gu", "gf", "go", "cc"):
                np.testing.assert_allclose(getattr(cache, g)[t], getattr(sc, g), atol=1e-12)
        else:
            a_prev, sc = getattr(cells, f"{kind}_step_forward")(x[t], a_prev, p)
        np.testing.assert_allclose(a_seq[t], a_prev, atol=1e-12)
        steps.append(sc)

    da, dc = np.zeros_like(a0), np.zeros_like(a0)
    dp = {k: np.zeros_like(v) for k, v in p.items()}
    for t in range(T - 1, -1, -1):
        if kind == "lstm":
            dx_t, da, dc, dpt = cells.lstm_step_backward(da + w[t], dc, steps[t])
        else:
            dx_t, da, dpt = getattr(cells, f"{kind}_step_backward")(da + w[t], steps[t])
        np.testing.assert_allclose(dx_seq[t], dx_t, atol=1e-12)
        for k in dp:
            dp[k] += dpt[k]
    np.testing.assert_allclose(da0_seq, da, atol=1e-12)
    for k in dp:
        np.testing.assert_allclose(dp_seq[k], dp[k], atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_rows_sorted_by_length_give_the_numbers_of_any_order(kind):
    """Rows sorted longest first let a step compute only its real columns (the LSTM's fast path);
    the outputs and every gradient are those of the same rows in another order."""
    rng = np.random.default_rng(9)
    p = make_params(kind)
    lengths = np.array([5, 4, 2, 2, 0])
    x, w = rng.normal(size=(T, N_X, 5)), rng.normal(size=(T, N_A, 5))
    a0 = rng.normal(size=(N_A, 5))
    perm = np.array([3, 0, 4, 2, 1])                 # an order whose steps are not prefixes
    out = []
    for order in (np.arange(5), perm):
        a, cache = cells.forward(kind, x[:, :, order], (a0[:, order],), p, prefix_mask(lengths[order], T))
        dx, (da0, *_), dp = cells.backward(kind, w[:, :, order], cache)
        back = np.argsort(order)
        out.append((a[:, :, back], dx[:, :, back], da0[:, back], dp))
    if kind == "lstm":
        assert cache.active is None and cells.forward(kind, x, None, p, prefix_mask(lengths, T))[1].active is not None
    for (a1, dx1, d01, dp1), (a2, dx2, d02, dp2) in zip(out[:1], out[1:]):
        np.testing.assert_allclose(a1, a2, atol=1e-12)
        np.testing.assert_allclose(dx1, dx2, atol=1e-12)
        np.testing.assert_allclose(d01, d02, atol=1e-12)
        for k in dp1:
            np.testing.assert_allclose(dp1[k], dp2[k], atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_mask_keeps_state_at_padded_steps(kind):
    rng = np.random.default_rng(4)
    p = make_params(kind)
    x, a0 = rng.normal(size=(T, N_X, M)), rng.normal(size=(N_A, M))
    lengths = [5, 2, 0]
    a, cache = cells.forward(kind, x, (a0,), p, prefix_mask(lengths, T))
    for i, L in enumerate(lengths):
        last = a0[:, i] if L == 0 else a[L - 1, :, i]
        for t in range(L, T):
            np.testing.assert_array_equal(a[t, :, i], last)  # exactly unchanged
            if kind == "lstm":
                np.testing.assert_array_equal(cache.c[t, :, i], cache.c[L - 1, :, i] if L else 0.0)
    # a gap in the middle (general masks) also carries the state
    mask = np.ones((T, M))
    mask[2, 0] = 0
    a, _ = cells.forward(kind, x, (a0,), p, mask)
    np.testing.assert_array_equal(a[2, :, 0], a[1, :, 0])
    assert not np.array_equal(a[3, :, 0], a[2, :, 0])


@pytest.mark.parametrize("kind", KINDS)
def test_padded_steps_get_no_gradient(kind):
    """When the loss reads only real outputs, padded inputs get exactly zero gradient, and the
    parameter gradients equal those of the row alone."""
    rng = np.random.default_rng(5)
    p = make_params(kind)
    lengths = [5, 3, 0]
    x, a0 = rng.normal(size=(T, N_X, M)), np.zeros((N_A, M))
    mask = prefix_mask(lengths, T)
    w = rng.normal(size=(T, N_A, M)) * mask[:, None, :]
    _, cache = cells.forward(kind, x, (a0,), p, mask)
    dx, _, dp = cells.backward(kind, w, cache)
    for i, L in enumerate(lengths):
        assert np.all(dx[L:, :, i] == 0.0)
    # row 1 alone, unpadded
    _, c1 = cells.forward(kind, x[:3, :, 1:2], (a0[:, 1:2],), p)
    dx1, _, dp1 = cells.backward(kind, w[:3, :, 1:2], c1)
    np.testing.assert_allclose(dx[:3, :, 1:2], dx1, atol=1e-12)
    # gradient of the batch = sum of the rows' gradients
    total = {k: np.zeros_like(v) for k, v in p.items()}
    for i, L in enumerate(lengths):
        _, ci = cells.forward(kind, x[:L, :, i:i + 1], (a0[:, i:i + 1],), p)
        for k, g in cells.backward(kind, w[:L, :, i:i + 1], ci)[2].items():
            total[k] += g
    for k in p:
        np.testing.assert_allclose(dp[k], total[k], atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_length_zero_sequence(kind):
    p = make_params(kind)
    x, a0 = np.zeros((0, N_X, 2)), np.ones((N_A, 2))
    a, cache = cells.forward(kind, x, (a0,), p)
    assert a.shape == (0, N_A, 2)
    dx, (da0, *_), dp = cells.backward(kind, np.zeros((0, N_A, 2)), cache)
    assert dx.shape == (0, N_X, 2)
    np.testing.assert_array_equal(da0, 0.0)
    assert all(np.all(g == 0) and g.shape == p[k].shape for k, g in dp.items())


@pytest.mark.parametrize("kind", KINDS)
def test_float32_matches_float64(kind):
    rng = np.random.default_rng(6)
    p64 = make_params(kind)
    p32 = {k: v.astype(np.float32) for k, v in p64.items()}
    x, w = rng.normal(size=(T, N_X, M)), rng.normal(size=(T, N_A, M))
    mask = prefix_mask([5, 2, 1], T)
    a64, c64 = cells.forward(kind, x, (np.zeros((N_A, M)),), p64, mask)
    a32, c32 = cells.forward(kind, x.astype(np.float32), (np.zeros((N_A, M), np.float32),), p32, mask)
    assert a32.dtype == np.float32
    np.testing.assert_allclose(a32, a64, atol=1e-5)
    _, _, dp64 = cells.backward(kind, w, c64)
    _, _, dp32 = cells.backward(kind, w.astype(np.float32), c32)
    for k in dp64:
        assert dp32[k].dtype == np.float32
        np.testing.assert_allclose(dp32[k], dp64[k], atol=1e-4, rtol=1e-4)


def test_init():
    rng = np.random.default_rng(0)
    p = cells.init_params("lstm", 5, 6, rng)
    assert p["Wax"].shape == (24, 5) and p["Waa"].shape == (24, 6) and p["ba"].shape == (24, 1)
    assert p["Waa"].dtype == np.float32
    np.testing.assert_array_equal(p["ba"][6:12], 1.0)   # forget gate bias
    np.testing.assert_array_equal(p["ba"][:6], 0.0)
    for g in range(4):
        block = p["Waa"][6 * g:6 * (g + 1)].astype(np.float64)
        np.testing.assert_allclose(block @ block.T, np.eye(6), atol=1e-5)
    assert np.abs(p["Wax"]).max() <= 1 / np.sqrt(6)
    g = cells.init_params("gru", 5, 6, np.random.default_rng(0))
    assert g["bc"].shape == (6, 1) and g["Wax"].shape == (18, 5)
    # the same seed gives the same parameters
    again = cells.init_params("lstm", 5, 6, np.random.default_rng(0))
    assert all(np.array_equal(p[k], again[k]) for k in p)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("lengths", [None, [5, 2, 0], [2, 0, 5]], ids=["full", "padded", "unsorted"])
def test_initial_state_in_and_final_state_out_are_differentiated(kind, lengths):
    """The state handed in (a0, and c0 for the LSTM) gets its gradient, and a gradient on the final
    state (an encoder handing its state to a decoder) flows back to each row's last real step."""
    rng = np.random.default_rng(7)
    p = make_params(kind)
    x = rng.normal(size=(T, N_X, M))
    state0 = tuple(rng.normal(size=(N_A, M)) for _ in cells.STATE[kind])
    mask = None if lengths is None else prefix_mask(lengths, T)
    w = rng.normal(size=(T, N_A, M))
    w_last = tuple(rng.normal(size=(N_A, M)) for _ in cells.STATE[kind])

    def f():
        a, cache = cells.forward(kind, x, state0, p, mask)
        last = cells.final_state(kind, cache)
        return float((w * a).sum() + sum((wl * s).sum() for wl, s in zip(w_last, last)))

    _, cache = cells.forward(kind, x, state0, p, mask)
    dx, dstate0, dp = cells.backward(kind, w, cache, w_last)
    assert len(dstate0) == len(state0)
    for name, arr, ana in ([("x", x, dx)] + [(f"state0[{i}]", s, d) for i, (s, d) in enumerate(zip(state0, dstate0))]
                           + [(k, p[k], dp[k]) for k in p]):
        assert rel_error(numeric_grad(f, arr), ana) < 1e-6, name


@pytest.mark.parametrize("kind", KINDS)
def test_final_state_of_a_padded_row_is_its_state_at_its_true_end(kind):
    rng = np.random.default_rng(8)
    p = make_params(kind)
    x = rng.normal(size=(T, N_X, M))
    _, cache = cells.forward(kind, x, None, p, prefix_mask([5, 2, 0], T))
    _, alone = cells.forward(kind, x[:2, :, 1:2], None, p)
    for full, one in zip(cells.final_state(kind, cache), cells.final_state(kind, alone)):
        np.testing.assert_allclose(full[:, 1:2], one, atol=1e-12)
        np.testing.assert_array_equal(full[:, 2], 0.0)       # length 0: the (zero) initial state
