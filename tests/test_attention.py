"""The one attention layer: against a direct loop, against finite differences, masks."""

import numpy as np
import pytest

from gradcheck import numeric_grad, rel_error
from seqcli.nn.attention import attention_backward, attention_forward, causal_mask, key_padding_mask


def _loop(q, k, v, mask, scale):
    """One query at a time, as the formula reads."""
    m, n_q, _ = q.shape
    out = np.zeros((m, n_q, v.shape[-1]))
    for i in range(m):
        for t in range(n_q):
            seen = [j for j in range(k.shape[1]) if mask is None or mask[i, t, j]]
            if not seen:
                continue
            e = np.array([scale * q[i, t] @ k[i, j] for j in seen])
            a = np.exp(e - e.max())
            a /= a.sum()
            out[i, t] = sum(w * v[i, j] for w, j in zip(a, seen))
    return out


def _inputs(rng, m=3, n_q=4, n_k=5, d=6, d_v=3):
    return (rng.standard_normal((m, n_q, d)), rng.standard_normal((m, n_k, d)),
            rng.standard_normal((m, n_k, d_v)))


def test_matches_a_direct_loop_with_padding_and_an_empty_row():
    rng = np.random.default_rng(0)
    q, k, v = _inputs(rng)
    mask = np.broadcast_to(key_padding_mask([5, 2, 0], 5), (3, 4, 5)).copy()
    out, cache = attention_forward(q, k, v, mask)
    np.testing.assert_allclose(out, _loop(q, k, v, mask, 1 / np.sqrt(6)), atol=1e-12)
    np.testing.assert_allclose(cache.alpha.sum(-1)[:2], 1.0)
    assert not cache.alpha[2].any() and not out[2].any()          # a row with no key: zeros, no NaN
    assert not cache.alpha[1, :, 2:].any()                         # padded keys get no weight


@pytest.mark.parametrize("masked", [False, True])
def test_gradients_match_finite_differences(masked):
    rng = np.random.default_rng(1)
    q, k, v = _inputs(rng)
    mask = None
    if masked:
        mask = key_padding_mask([5, 3, 1], 5) & causal_mask(5)[None, 1:, :]   # (3, 4, 5)
    dout = rng.standard_normal((3, 4, 3))

    def f():
        return float((attention_forward(q, k, v, mask)[0] * dout).sum())

    _, cache = attention_forward(q, k, v, mask)
    dq, dk, dv = attention_backward(dout, cache)
    for x, g in ((q, dq), (k, dk), (v, dv)):
        assert rel_error(numeric_grad(f, x), g) < 1e-7


def test_batched_heads_equal_one_call_per_head():
    rng = np.random.default_rng(2)
    q, k, v = (rng.standard_normal((2, 3, 4, 5)) for _ in range(3))   # (m, heads, n, d)
    out, _ = attention_forward(q, k, v, causal_mask(4))
    for i in range(2):
        for h in range(3):
            one, _ = attention_forward(q[i, h], k[i, h], v[i, h], causal_mask(4))
            np.testing.assert_allclose(out[i, h], one, atol=1e-12)


def test_causal_mask_lets_no_position_see_a_later_one():
    rng = np.random.default_rng(3)
    q, k, v = (rng.standard_normal((1, 6, 4)) for _ in range(3))
    out, _ = attention_forward(q, k, v, causal_mask(6))
    k2, v2 = k.copy(), v.copy()
    k2[0, 4:] += 10.0
    v2[0, 4:] -= 10.0
    out2, _ = attention_forward(q, k2, v2, causal_mask(6))
    np.testing.assert_allclose(out[0, :4], out2[0, :4], atol=1e-12)


def test_float32_stays_float32():
    rng = np.random.default_rng(4)
    q, k, v = (a.astype(np.float32) for a in _inputs(rng))
    out, cache = attention_forward(q, k, v)
    assert out.dtype == np.float32 and cache.alpha.dtype == np.float32
    assert all(g.dtype == np.float32 for g in attention_backward(out, cache))
