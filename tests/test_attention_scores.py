"""Luong's general and Bahdanau's additive attention: against a direct loop, finite differences, masks."""

import numpy as np
import pytest

from gradcheck import numeric_grad, rel_error
from seqcli.nn.attention import (additive_backward, additive_forward, additive_keys, additive_keys_backward,
                                 attention_forward, causal_mask, general_backward, general_forward,
                                 key_padding_mask)

M, NQ, NK, DQ, DK, DV, NH = 3, 4, 5, 6, 7, 3, 4


def _loop(score, k, v, mask):
    """One (row, query) at a time, as the formulas read: weights over the visible keys, weighted sum."""
    m, n_q, n_k = mask.shape
    out = np.zeros((m, n_q, v.shape[-1]))
    alpha = np.zeros((m, n_q, n_k))
    for i in range(m):
        for t in range(n_q):
            seen = [j for j in range(n_k) if mask[i, t, j]]
            if not seen:
                continue
            e = np.array([score(i, t, j) for j in seen])
            a = np.exp(e - e.max())
            a /= a.sum()
            for w, j in zip(a, seen):
                alpha[i, t, j] = w
                out[i, t] += w * v[i, j]
    return out, alpha


def _inputs(seed):
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((M, NQ, DQ))
    k = rng.standard_normal((M, NK, DK))
    v = rng.standard_normal((M, NK, DV))
    # padding (row 1 sees 2 keys, row 2 none) and a causal pattern, so masks of both kinds are exercised
    mask = key_padding_mask([5, 2, 0], NK) & causal_mask(NK)[None, 1:, :]
    return rng, q, k, v, np.broadcast_to(mask, (M, NQ, NK)).copy()


def test_general_matches_a_direct_loop():
    rng, q, k, v, mask = _inputs(0)
    Wa = rng.standard_normal((DQ, DK))
    s = 0.37
    out, cache = general_forward(q, k, v, Wa, mask, scale=s)
    ref, alpha = _loop(lambda i, t, j: s * q[i, t] @ Wa @ k[i, j], k, v, mask)
    np.testing.assert_allclose(out, ref, atol=1e-12)
    np.testing.assert_allclose(cache.alpha, alpha, atol=1e-12)
    assert not out[2].any() and not cache.alpha[1, :, 2:].any()      # no key: zeros; padding: no weight
    # the default scale is 1/sqrt(d_k), the core's, applied to the projected query
    out_default, _ = general_forward(q, k, v, Wa, mask)
    np.testing.assert_allclose(out_default, attention_forward(q @ Wa, k, v, mask)[0], atol=1e-12)


def test_additive_matches_a_direct_loop():
    rng, q, k, v, mask = _inputs(1)
    W1, W2, va = rng.standard_normal((NH, DQ)), rng.standard_normal((NH, DK)), rng.standard_normal((NH, 1))
    out, cache = additive_forward(q, additive_keys(k, W2), v, W1, va, mask)
    ref, alpha = _loop(lambda i, t, j: va[:, 0] @ np.tanh(W1 @ q[i, t] + W2 @ k[i, j]), k, v, mask)
    np.testing.assert_allclose(out, ref, atol=1e-12)
    np.testing.assert_allclose(cache.alpha, alpha, atol=1e-12)
    np.testing.assert_allclose(cache.alpha.sum(-1)[0], 1.0)
    assert not out[2].any() and not cache.alpha[1, :, 2:].any()


@pytest.mark.parametrize("masked", [False, True])
def test_general_gradients_match_finite_differences(masked):
    rng, q, k, v, mask = _inputs(2)
    mask = mask if masked else None
    Wa = rng.standard_normal((DQ, DK))
    dout = rng.standard_normal((M, NQ, DV))

    def f():
        return float((general_forward(q, k, v, Wa, mask)[0] * dout).sum())

    grads = general_backward(dout, general_forward(q, k, v, Wa, mask)[1])
    for x, g in zip((q, k, v, Wa), grads):
        assert g.shape == x.shape
        assert rel_error(numeric_grad(f, x), g) < 1e-7


@pytest.mark.parametrize("masked", [False, True])
def test_additive_gradients_match_finite_differences(masked):
    """Score and keys' projection together: e_j = va . tanh(W1 q + W2 k_j) as a function of all five."""
    rng, q, k, v, mask = _inputs(3)
    mask = mask if masked else None
    W1, W2, va = rng.standard_normal((NH, DQ)), rng.standard_normal((NH, DK)), rng.standard_normal((NH, 1))
    dout = rng.standard_normal((M, NQ, DV))

    def f():
        return float((additive_forward(q, additive_keys(k, W2), v, W1, va, mask)[0] * dout).sum())

    kp = additive_keys(k, W2)
    dq, dkp, dv, dW1, dva = additive_backward(dout, additive_forward(q, kp, v, W1, va, mask)[1])
    dk, dW2 = additive_keys_backward(dkp, k, W2)
    for x, g in ((q, dq), (k, dk), (v, dv), (W1, dW1), (W2, dW2), (va, dva)):
        assert g.shape == x.shape
        assert rel_error(numeric_grad(f, x), g) < 1e-7
    if masked:
        # keys no query may see get no gradient at all
        assert not dk[1, 2:].any() and not dk[2].any()


def test_batched_over_heads_equals_one_call_per_row():
    """Leading axes are independent: (m, heads, n, d) gives each (n, d) slice's own result."""
    rng = np.random.default_rng(4)
    q, k, v = (rng.standard_normal((2, 3, n, d)) for n, d in ((4, DQ), (5, DK), (5, DV)))
    Wa, W1, W2, va = (rng.standard_normal(s) for s in ((DQ, DK), (NH, DQ), (NH, DK), (NH, 1)))
    g_out, _ = general_forward(q, k, v, Wa)
    a_out, _ = additive_forward(q, additive_keys(k, W2), v, W1, va)
    for i in range(2):
        for h in range(3):
            np.testing.assert_allclose(g_out[i, h], general_forward(q[i, h], k[i, h], v[i, h], Wa)[0], atol=1e-12)
            one = additive_forward(q[i, h], additive_keys(k[i, h], W2), v[i, h], W1, va)[0]
            np.testing.assert_allclose(a_out[i, h], one, atol=1e-12)


def test_float32_stays_float32():
    rng, q, k, v, mask = _inputs(5)
    q, k, v = (a.astype(np.float32) for a in (q, k, v))
    Wa, W1, W2, va = (rng.standard_normal(s).astype(np.float32) for s in ((DQ, DK), (NH, DQ), (NH, DK), (NH, 1)))
    out, cache = general_forward(q, k, v, Wa, mask)
    assert out.dtype == np.float32 and cache.alpha.dtype == np.float32
    assert all(g.dtype == np.float32 for g in general_backward(out, cache))
    kp = additive_keys(k, W2)
    out, cache = additive_forward(q, kp, v, W1, va, mask)
    assert out.dtype == np.float32 and cache.alpha.dtype == np.float32
    assert all(g.dtype == np.float32 for g in additive_backward(out, cache))
    assert all(g.dtype == np.float32 for g in additive_keys_backward(kp, k, W2))
