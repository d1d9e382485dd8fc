"""The Transformer encoder: each piece against finite differences alone, masks, incremental decoding."""

import math

import numpy as np
import pytest

from gradcheck import numeric_grad, rel_error
from seqcli.nn.selfattention import Block, MultiHeadAttention, attention_mask
from seqcli.nn.sublayers import FeedForward, LayerNorm, gelu_backward, gelu_forward
from seqcli.nn.transformer import IncrementalDecoder, TransformerEncoder, sinusoidal_positions

TOL = 1e-6


def _randomise(P, rng, scale=0.5):
    """Every parameter random (gains and biases too, so their gradients are not checked at a special point)."""
    for k in P:
        P[k] = rng.standard_normal(P[k].shape) * scale


def _check(forward, backward, x, P, w):
    """Central differences of sum(forward(x) * w) against backward, for x and every parameter in P."""
    out, cache = forward(x)
    dx, grads = backward(w, cache)
    assert set(grads) == set(P)

    def f():
        return float(np.sum(forward(x)[0] * w))

    for k in P:
        assert grads[k].shape == P[k].shape
        assert np.abs(grads[k]).max() > 0, k                       # not vacuous
        assert rel_error(numeric_grad(f, P[k]), grads[k]) <= TOL, k
    assert rel_error(numeric_grad(f, x), dx) <= TOL


def _encoder(rng, n_in=5, d=8, heads=2, ff=12, layers=2, dtype=np.float64, randomise=True, **kw):
    P = {}
    enc = TransformerEncoder(P, "enc", n_in, d, heads, ff, layers, rng=rng, dtype=dtype, **kw)
    if randomise:
        _randomise(P, rng, 0.4)
    return P, enc


# ----------------------------------------------------------------------------------------------------
# each piece alone


def test_layer_norm_normalises_and_matches_finite_differences():
    rng = np.random.default_rng(0)
    P = {}
    ln = LayerNorm(P, "ln", 6, np.float64)
    x = rng.standard_normal((2, 3, 6)) * 3 + 1
    y, _ = ln.forward(x)
    np.testing.assert_allclose(y.mean(-1), 0, atol=1e-12)          # gain 1, bias 0 at start
    np.testing.assert_allclose(y.var(-1), 1, rtol=1e-4)             # up to eps
    _randomise(P, rng)
    _check(ln.forward, ln.backward, x, P, rng.standard_normal(x.shape))


def test_gelu_is_the_tanh_approximation_and_its_derivative():
    h = np.array([-3.0, -1.0, -0.1, 0.0, 0.5, 1.0, 2.5])
    a, t = gelu_forward(h.copy())
    expect = 0.5 * h * (1 + np.tanh(math.sqrt(2 / math.pi) * (h + 0.044715 * h ** 3)))
    np.testing.assert_allclose(a, expect, rtol=1e-14)
    assert abs(a[5] - 0.8411919906082768) < 1e-12                   # torch gelu(1.0, approximate="tanh")
    dh = gelu_backward(np.ones_like(h), h, t)
    num = (gelu_forward(h + 1e-6)[0] - gelu_forward(h - 1e-6)[0]) / 2e-6
    np.testing.assert_allclose(dh, num, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("activation", ["gelu", "relu"])
def test_feed_forward_matches_finite_differences(activation):
    rng = np.random.default_rng(1)
    P = {}
    ff = FeedForward(P, "ff", 4, 7, activation, rng, np.float64)
    _randomise(P, rng)
    x = rng.standard_normal((2, 3, 4))
    _check(ff.forward, ff.backward, x, P, rng.standard_normal(x.shape))


@pytest.mark.parametrize("causal", [False, True], ids=["bidirectional", "causal"])
@pytest.mark.parametrize("lengths", [None, [5, 3, 1]], ids=["full", "padded"])
def test_multi_head_attention_matches_finite_differences(causal, lengths):
    rng = np.random.default_rng(2)
    P = {}
    mha = MultiHeadAttention(P, "attn", 6, 3, rng, np.float64)
    _randomise(P, rng)
    x = rng.standard_normal((3, 5, 6))
    mask = attention_mask(lengths, 5, causal)
    if causal or lengths:
        assert mask is not None
    _check(lambda x: mha.forward(x, mask), mha.backward, x, P, rng.standard_normal(x.shape))


def test_multi_head_attention_is_each_head_on_its_own_slice():
    """Against the definition, one head and one row at a time: head h uses rows [h d_k, (h+1) d_k)
    of Wq, Wk, Wv and columns [h d_k, (h+1) d_k) of Wo."""
    rng = np.random.default_rng(3)
    P = {}
    d, H, dk = 6, 3, 2
    mha = MultiHeadAttention(P, "attn", d, H, rng, np.float64)
    _randomise(P, rng)
    x = rng.standard_normal((2, 4, d))
    lengths = [4, 2]
    y, _ = mha.forward(x, attention_mask(lengths, 4, causal=True))
    W, b = P["attn.Wqkv"], P["attn.bqkv"][:, 0]
    for i in range(2):
        L = lengths[i]
        ctx = np.zeros((L, d))
        for h in range(H):
            rows = slice(h * dk, (h + 1) * dk)
            q = x[i, :L] @ W[:d][rows].T + b[:d][rows]
            k = x[i, :L] @ W[d:2 * d][rows].T + b[d:2 * d][rows]
            v = x[i, :L] @ W[2 * d:][rows].T + b[2 * d:][rows]
            for t in range(L):
                e = q[t] @ k[:t + 1].T / math.sqrt(dk)
                a = np.exp(e - e.max())
                ctx[t, rows] = (a / a.sum()) @ v[:t + 1]
        np.testing.assert_allclose(y[i, :L], ctx @ P["attn.Wo"].T + P["attn.bo"][:, 0], atol=1e-12)


def test_block_with_dropout_matches_finite_differences():
    rng = np.random.default_rng(4)
    P = {}
    block = Block(P, "b", 6, 2, 10, "gelu", dropout=0.3, rng=rng, dtype=np.float64)
    _randomise(P, rng)
    x = rng.standard_normal((3, 5, 6))
    mask = attention_mask([5, 3, 2], 5, causal=False)
    # the same seed at every call: the same dropout masks, so the function is deterministic
    fwd = lambda x: block.forward(x, mask, np.random.default_rng(7))  # noqa: E731
    _, cache = fwd(x)
    assert cache.keep1 is not None and (cache.keep1 == 0).any() and cache.keep2 is not None
    _check(fwd, block.backward, x, P, rng.standard_normal(x.shape))


@pytest.mark.parametrize("positions,causal,activation", [
    ("learned", False, "gelu"), ("sinusoidal", True, "relu"), ("learned", True, "gelu")])
def test_whole_encoder_matches_finite_differences(positions, causal, activation):
    """Input projection (n_in != d_model), two blocks, final LayerNorm, padding, dropout on."""
    rng = np.random.default_rng(5)
    P, enc = _encoder(rng, positions=positions, causal=causal, activation=activation, max_len=6,
                      dropout=0.2)
    assert "enc.in.W" in P and ("enc.P" in P) == (positions == "learned")
    x = rng.standard_normal((4, 5, 3))                      # (T_x, n_in, m)
    lengths = [4, 2, 3]
    fwd = lambda x: enc.forward(x, lengths, np.random.default_rng(8))  # noqa: E731
    _check(fwd, enc.backward, x, P, rng.standard_normal((4, 8, 3)))


def test_learned_positions_get_the_gradient_of_their_positions_only():
    rng = np.random.default_rng(6)
    P, enc = _encoder(rng, n_in=8, layers=1, positions="learned", max_len=7)
    assert "enc.in.W" not in P                              # no projection when n_in == d_model
    x = rng.standard_normal((4, 8, 2))
    w = rng.standard_normal((4, 8, 2))
    _check(lambda x: enc.forward(x, [4, 3]), enc.backward, x, P, w)
    _, cache = enc.forward(x, [4, 3])
    dP = enc.backward(w, cache)[1]["enc.P"]
    assert not dP[:, 4:].any() and dP[:, :4].all()
    with pytest.raises(ValueError, match="max_len"):
        enc.forward(rng.standard_normal((8, 8, 1)), [8])


def test_sinusoidal_positions_follow_the_formula():
    pe = sinusoidal_positions(50, 7, np.float64)
    t, i = 37, 2
    assert pe[t, 2 * i] == pytest.approx(math.sin(t / 10000 ** (2 * i / 7)), abs=1e-12)
    assert pe[t, 2 * i + 1] == pytest.approx(math.cos(t / 10000 ** (2 * i / 7)), abs=1e-12)
    assert pe[t, 6] == pytest.approx(math.sin(t / 10000 ** (6 / 7)), abs=1e-12)   # odd d: last is a sine
    # beyond max_len the sinusoidal encoder computes further positions instead of failing
    rng = np.random.default_rng(7)
    P, enc = _encoder(rng, max_len=4)
    np.testing.assert_allclose(enc.position_rows(3, 3), sinusoidal_positions(6, 8, np.float64)[3:])


# ----------------------------------------------------------------------------------------------------
# masks


@pytest.mark.parametrize("causal", [False, True], ids=["bidirectional", "causal"])
def test_a_padded_batch_gives_exactly_what_its_rows_give_alone(causal):
    rng = np.random.default_rng(8)
    P, enc = _encoder(rng, positions="learned", causal=causal, max_len=6)
    T, lengths = 6, [6, 3, 1, 0]
    x = rng.standard_normal((4, T, 5))                      # rows (m, T_x, n_in); padding is noise
    w = rng.standard_normal((4, T, 8))                      # gradient arriving at padding too: ignored
    y, cache = enc.forward_rows(x, lengths)
    dx, grads = enc.backward_rows(w, cache)
    assert np.isfinite(y).all() and np.isfinite(dx).all()
    total = {k: np.zeros_like(v) for k, v in P.items()}
    for i, L in enumerate(lengths):
        assert not y[i, L:].any() and not dx[i, L:].any()   # padding: output 0, no gradient
        if L == 0:
            continue
        y1, c1 = enc.forward_rows(x[i:i + 1, :L])
        np.testing.assert_allclose(y[i, :L], y1[0], atol=1e-12)
        dx1, g1 = enc.backward_rows(w[i:i + 1, :L], c1)
        np.testing.assert_allclose(dx[i, :L], dx1[0], atol=1e-12)
        for k in total:
            total[k] += g1[k]
    for k in P:
        np.testing.assert_allclose(grads[k], total[k], atol=1e-11, err_msg=k)


def test_causal_position_never_depends_on_later_positions():
    rng = np.random.default_rng(9)
    P, enc = _encoder(rng, causal=True)
    P2, free = _encoder(np.random.default_rng(9), causal=False)
    T, p = 6, 2
    x = rng.standard_normal((T, 5, 2))
    x2 = x.copy()
    x2[p + 1:] += 5 * rng.standard_normal(x2[p + 1:].shape)
    y, cache = enc.forward(x, [T, T])
    y2, _ = enc.forward(x2, [T, T])
    np.testing.assert_allclose(y[:p + 1], y2[:p + 1], atol=1e-12)
    assert np.abs(y[p + 1:] - y2[p + 1:]).min() > 1e-6     # later positions do read the change
    # and the gradient of position p's output reaches no later input
    w = np.zeros_like(y)
    w[p] = rng.standard_normal(w[p].shape)
    dx, _ = enc.backward(w, cache)
    assert not dx[p + 1:].any() and np.abs(dx[:p + 1]).min() > 0
    # the same encoder without the causal mask does look ahead (the test above can fail)
    assert np.abs(free.forward(x, [T, T])[0][:p + 1] - free.forward(x2, [T, T])[0][:p + 1]).max() > 1e-3


def test_attention_weights_per_layer_and_head():
    rng = np.random.default_rng(10)
    P, enc = _encoder(rng, heads=4, layers=3, causal=True)
    lengths = [5, 3]
    _, cache = enc.forward(rng.standard_normal((5, 5, 2)), lengths)
    alphas = enc.attention_weights(cache)
    assert len(alphas) == 3
    for a in alphas:
        assert a.shape == (2, 4, 5, 5)
        np.testing.assert_allclose(a[0].sum(-1), 1.0)
        np.testing.assert_allclose(a[1, :, :3].sum(-1), 1.0)
        assert not a[1, :, :, 3:].any()                     # padded keys
        assert not (a * np.triu(np.ones((5, 5)), 1)).any()  # later keys


# ----------------------------------------------------------------------------------------------------
# interface, dtype, dropout, configuration


def test_the_interface_of_stack_in_float32():
    rng = np.random.default_rng(11)
    P = {}
    enc = TransformerEncoder(P, "enc", 6, 8, 2, 16, 2, rng=rng)
    assert enc.n_out == 8 and all(v.dtype == np.float32 for v in P.values())
    x = rng.standard_normal((7, 6, 3)).astype(np.float32)
    out, cache = enc.forward(x, np.array([7, 5, 2]))
    assert out.shape == (7, 8, 3) and out.dtype == np.float32 and out.flags.c_contiguous
    dx, grads = enc.backward(np.ones_like(out), cache)
    assert dx.shape == x.shape and dx.dtype == np.float32
    assert set(grads) == set(P) and all(grads[k].dtype == np.float32 for k in grads)


def test_dropout_only_with_an_rng():
    rng = np.random.default_rng(12)
    P, enc = _encoder(rng, dropout=0.5)
    x = rng.standard_normal((5, 5, 2))
    a, _ = enc.forward(x, [5, 5])
    np.testing.assert_array_equal(a, enc.forward(x, [5, 5])[0])         # evaluation: deterministic
    b, cache = enc.forward(x, [5, 5], np.random.default_rng(0))
    assert cache.keep0 is not None and np.abs(a - b).max() > 1e-3
    np.testing.assert_array_equal(b, enc.forward(x, [5, 5], np.random.default_rng(0))[0])


def test_param_shapes_match_the_built_encoder_and_check_the_config():
    for kw in ({"positions": "learned", "causal": True}, {"n_in": 8}, {"layers": 3, "activation": "relu"}):
        rng = np.random.default_rng(13)
        P, enc = _encoder(rng, randomise=False, **kw)
        assert TransformerEncoder.param_shapes(enc.config(), "enc") == {k: v.shape for k, v in P.items()}
    # computed, not allocated: the largest sizes the bounds allow come back at once
    big = {"n_in": 8192, "d_model": 8192, "heads": 64, "ff": 32768, "layers": 16, "positions": "learned",
           "max_len": 65536, "activation": "gelu", "dropout": 0.1, "causal": True}
    shapes = TransformerEncoder.param_shapes(big, "enc")
    assert shapes["enc.P"] == (8192, 65536) and shapes["enc.l15.ff.W1"] == (32768, 8192)
    for bad in ({"heads": 3}, {"heads": 0}, {"layers": 0}, {"layers": 10 ** 12}, {"d_model": True},
                {"positions": "rotary"}, {"activation": "tanh"}, {"dropout": 1.0}, {"causal": "yes"},
                {"max_len": 0}, {"ff": 2.5}):
        with pytest.raises(ValueError, match="network"):
            TransformerEncoder.param_shapes({**big, "d_model": 8, "heads": 2, **bad}, "enc")
    with pytest.raises(ValueError):
        TransformerEncoder({}, "enc", 5, 8, 3, 12, 1)


# ----------------------------------------------------------------------------------------------------
# incremental decoding


@pytest.mark.parametrize("positions", ["sinusoidal", "learned"])
def test_incremental_decoding_equals_the_full_causal_forward(positions):
    rng = np.random.default_rng(14)
    P, enc = _encoder(rng, positions=positions, causal=True, max_len=12, layers=2)
    T, m = 9, 2
    x = rng.standard_normal((T, 5, m))
    full, _ = enc.forward(x, [T, T])
    dec = IncrementalDecoder(enc, m=m)
    steps = np.stack([dec.step(x[t]) for t in range(T)])
    np.testing.assert_allclose(steps, full, atol=1e-10)
    # a prompt fed in one batched pass, then single steps: the same
    dec.reset()
    head = dec.feed(x[:4])
    tail = np.stack([dec.step(x[t]) for t in range(4, T)])
    np.testing.assert_allclose(np.concatenate([head, tail]), full, atol=1e-10)
    assert dec.position == T


def test_incremental_decoding_slides_its_window_when_full():
    """Past the window, the newest output is the full forward of the inputs still in context."""
    rng = np.random.default_rng(15)
    P, enc = _encoder(rng, positions="learned", causal=True, max_len=4, layers=2)
    x = rng.standard_normal((11, 5, 1))
    dec = IncrementalDecoder(enc, m=1, keep=2)
    starts = set()
    for t in range(11):
        out = dec.step(x[t])
        start = dec.dropped
        assert t + 1 - start == dec.position <= 4
        ctx = x[start:t + 1]
        np.testing.assert_allclose(out, enc.forward(ctx, [len(ctx)])[0][-1], atol=1e-10)
        starts.add(start)
    assert starts == {0, 2, 4, 6, 8}                        # it did slide, several times
    # a long prompt crosses the window in one feed: each output is that of its own context
    dec.reset()
    outs = dec.feed(x[:7])
    np.testing.assert_allclose(outs[:4], enc.forward(x[:4], [4])[0], atol=1e-10)
    np.testing.assert_allclose(outs[4:6], enc.forward(x[2:6], [4])[0][2:], atol=1e-10)
    np.testing.assert_allclose(outs[6], enc.forward(x[4:7], [3])[0][-1], atol=1e-10)


def test_incremental_decoding_needs_a_causal_encoder():
    rng = np.random.default_rng(16)
    _, enc = _encoder(rng)
    with pytest.raises(ValueError, match="causal"):
        IncrementalDecoder(enc)
    _, enc = _encoder(rng, causal=True, positions="learned", max_len=4)
    with pytest.raises(ValueError, match="window"):
        IncrementalDecoder(enc, window=5)


def test_no_nan_for_a_row_with_no_token():
    rng = np.random.default_rng(17)
    _, enc = _encoder(rng, causal=True)
    y, cache = enc.forward(rng.standard_normal((3, 5, 2)), [0, 2])
    assert np.isfinite(y).all() and not y[:, :, 0].any()


def test_a_batch_of_empty_rows():
    """T_x = 0 (every text empty): zeros out, zero gradients, no error from the attention core."""
    rng = np.random.default_rng(18)
    P, enc = _encoder(rng)
    y, cache = enc.forward(np.zeros((0, 5, 2)), [0, 0])
    assert y.shape == (0, 8, 2)
    dx, grads = enc.backward(y, cache)
    assert dx.shape == (0, 5, 2) and set(grads) == set(P) and not any(g.any() for g in grads.values())
    assert [a.shape for a in enc.attention_weights(cache)] == [(2, 2, 0, 0)] * 2
