"""Seq2SeqNet: gradient checks of the whole network for every cell x attention (and depth, direction,
dropout), padding invariance on both sides, the inference step against teacher forcing, state selection,
persistence checks, dtypes."""

import numpy as np
import pytest
from gradcheck import rel_error
from threadpoolctl import threadpool_limits

from seqcli.nn.seq2seq import END, NEVER, PAD, START, Seq2SeqNet

V_SRC, V_TGT = 6, 7
CELLS = ("rnn", "gru", "lstm")
ATTENTIONS = ("dot", "general", "additive", "none")


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    """Tiny products: BLAS threads only add waiting (much of it on a busy machine)."""
    with threadpool_limits(1, "blas"):
        yield


def tiny(cell="lstm", attention="general", layers=1, bi=True, dropout=0.0, dtype=np.float64, seed=0):
    net = Seq2SeqNet(V_SRC, V_TGT, cell=cell, embed=3, hidden=4, layers=layers, bidirectional=bi,
                     attention=attention, dropout=dropout, seed=seed, dtype=dtype)
    rng = np.random.default_rng(seed + 100)
    for k, v in net.params.items():   # random biases so every bias gradient is exercised
        if k.rsplit(".", 1)[-1].startswith("b"):
            v += rng.normal(0, 0.5, v.shape).astype(v.dtype)
    return net


def pairs(src_lengths, tgt_lengths, T_x=None, T_y=None, seed=0):
    """Random source ids (T_x, m) and target rows: tgt_in = [START, y...], tgt_out = [y..., END], both
    (T_y, m) with lengths tgt_lengths (= number of y + 1), zero-padded."""
    rng = np.random.default_rng(seed)
    sl, tl = np.asarray(src_lengths), np.asarray(tgt_lengths)
    T_x = int(sl.max(initial=0)) if T_x is None else T_x
    T_y = int(tl.max(initial=0)) if T_y is None else T_y
    m = len(sl)
    src = rng.integers(1, V_SRC, (T_x, m))
    src[np.arange(T_x)[:, None] >= sl[None, :]] = PAD
    y = rng.integers(END + 1, V_TGT, (T_y, m))
    tin = np.zeros((T_y, m), int)
    tout = np.zeros((T_y, m), int)
    for i, L in enumerate(tl):
        if L:
            tin[0, i] = START
            tin[1:L, i] = y[:L - 1, i]
            tout[:L - 1, i] = y[:L - 1, i]
            tout[L - 1, i] = END
    return src, sl, tin, tout, tl


def check_gradients(net, data, rng=None, per_array=12, seed=0):
    """Central differences (float64) against the backward pass: every entry of small arrays, a random
    sample of ``per_array`` entries of larger ones (the tests must stay fast); rel_error <= 1e-6 each."""
    def f():
        return net.loss(*data, rng=None if rng is None else np.random.default_rng(rng))[0]

    _, grads = net.loss(*data, rng=None if rng is None else np.random.default_rng(rng))
    assert grads.keys() == net.params.keys()
    pick = np.random.default_rng(seed)
    nonzero = checked = 0
    for k, p in net.params.items():
        g = grads[k]
        assert g.shape == p.shape and g.dtype == p.dtype, k
        flat = p.reshape(-1)
        idx = np.arange(flat.size) if flat.size <= per_array else pick.choice(flat.size, per_array, replace=False)
        num = np.empty(idx.size)
        for j, i in enumerate(idx):
            old = flat[i]
            flat[i] = old + 1e-5
            fp = f()
            flat[i] = old - 1e-5
            fm = f()
            flat[i] = old
            num[j] = (fp - fm) / 2e-5
        ana = g.reshape(-1)[idx]
        assert rel_error(num, ana) <= 1e-6, (k, rel_error(num, ana))
        nonzero += np.count_nonzero(ana)
        checked += ana.size
    assert nonzero > checked / 2   # not vacuous: most sampled entries have a gradient
    return grads


@pytest.mark.parametrize("attention", ATTENTIONS)
@pytest.mark.parametrize("cell", CELLS)
def test_gradients(cell, attention):
    """Bidirectional, one layer; a batch with an empty source row and targets of three lengths."""
    net = tiny(cell, attention)
    grads = check_gradients(net, pairs([3, 2, 0], [3, 2, 1]))
    # ids that never occur get no gradient: padding, and the outputs the readout never predicts
    np.testing.assert_array_equal(grads["src.E"][:, PAD], 0.0)
    np.testing.assert_array_equal(grads["tgt.E"][:, PAD], 0.0)
    np.testing.assert_array_equal(grads["out.Wya"][list(NEVER)], 0.0)


@pytest.mark.parametrize("cell,attention,bi", [
    ("lstm", "general", True), ("lstm", "none", False), ("gru", "additive", False), ("gru", "dot", True),
    ("rnn", "dot", False), ("rnn", "additive", True)])
def test_gradients_two_layers_with_dropout(cell, attention, bi):
    """Every layer's bridge, dropout on the encoder, the target embeddings, between decoder layers and on
    the attentional vector (the same masks in every evaluation: the rng is re-seeded)."""
    net = tiny(cell, attention, layers=2, bi=bi, dropout=0.3)
    check_gradients(net, pairs([4, 1, 3], [2, 4, 3], seed=1), rng=5, per_array=8)


@pytest.mark.parametrize("attention", ATTENTIONS)
@pytest.mark.parametrize("cell", CELLS)
def test_padded_batch_equals_rows_alone(cell, attention):
    """Padding on both sides changes no state, score, loss or gradient: the batch gives each row's own
    loss and gradients (weighted by the row's number of target tokens, as the loss is per token)."""
    net = tiny(cell, attention, layers=2, seed=1)
    src, sl, tin, tout, tl = pairs([4, 2, 1, 0], [2, 5, 1, 3], T_x=6, T_y=7, seed=2)
    loss, grads = net.loss(src, sl, tin, tout, tl)
    n = tl.sum()
    total_loss, total = 0.0, {k: np.zeros_like(v) for k, v in net.params.items()}
    for i in range(len(sl)):
        li, gi = net.loss(src[:sl[i], i:i + 1], sl[i:i + 1], tin[:tl[i], i:i + 1], tout[:tl[i], i:i + 1],
                          tl[i:i + 1])
        total_loss += li * tl[i] / n
        for k in total:
            total[k] += gi[k] * tl[i] / n
    assert abs(loss - total_loss) < 1e-12
    for k in total:
        np.testing.assert_allclose(grads[k], total[k], atol=1e-12, err_msg=k)


@pytest.mark.parametrize("attention", ["dot", "general", "additive"])
def test_padded_source_positions_are_never_attended(attention):
    net = tiny("gru", attention, layers=2)
    src, sl, tin, tout, tl = pairs([3, 1], [3, 2], T_x=5, seed=3)
    loss, grads = net.loss(src, sl, tin, tout, tl)
    alpha = net.alignments(src, sl, tin, tl)                       # (m, T_y, T_x)
    assert alpha.shape == (2, 3, 5)
    assert not alpha[0, :, 3:].any() and not alpha[1, :, 1:].any()
    np.testing.assert_allclose(alpha[0].sum(-1), 1.0)
    src2 = src.copy()
    src2[3:, 0] = 4                                                # whatever sits in the padding
    src2[1:, 1] = 5
    loss2, grads2 = net.loss(src2, sl, tin, tout, tl)
    assert loss2 == loss
    for k in grads:
        if k != "src.E":
            np.testing.assert_array_equal(grads2[k], grads[k], err_msg=k)


@pytest.mark.parametrize("attention", ATTENTIONS)
@pytest.mark.parametrize("cell", CELLS)
def test_step_by_step_inference_matches_teacher_forcing(cell, attention):
    """encode + step fed the true tokens gives the training pass's log-probabilities and weights."""
    net = tiny(cell, attention, layers=2, seed=2)
    src, sl, tin, tout, tl = pairs([4, 2, 3], [4, 4, 4], seed=4)
    logp = net.log_probs(src, sl, tin, tl)                       # (V, T_y, m)
    alpha = net.alignments(src, sl, tin, tl)
    state = net.encode(src, sl)
    for t in range(tin.shape[0]):
        lp, state, a = net.step(state, tin[t])
        np.testing.assert_allclose(lp, logp[:, t], atol=1e-12)
        np.testing.assert_allclose(a, alpha[:, t], atol=1e-12)
        assert np.isneginf(lp[list(NEVER)]).all()
        np.testing.assert_allclose(np.exp(lp).sum(axis=0), 1.0)


def test_select_reorders_repeats_and_drops_columns():
    net = tiny("lstm", "additive", layers=2, seed=3)
    src, sl, *_ = pairs([4, 2, 3], [1, 1, 1], seed=5)
    state = net.encode(src, sl)
    lp, state, _ = net.step(state, [START] * 3)
    prev = np.array([4, 5, 6])
    want, _, want_a = net.step(state, prev)
    rep = net.repeat(state, 2)                          # columns 0 0 1 1 2 2
    assert np.array_equal(rep.src, [0, 0, 1, 1, 2, 2]) and rep.memory.shape[0] == 6
    got, _, a = net.step(rep, np.repeat(prev, 2))
    np.testing.assert_allclose(got, np.repeat(want, 2, axis=1), atol=1e-12)
    order = np.array([5, 0, 3])                         # a reorder that changes sources: memory follows
    sel = net.select(rep, order)
    got, _, a = net.step(sel, np.repeat(prev, 2)[order])
    np.testing.assert_allclose(got, np.repeat(want, 2, axis=1)[:, order], atol=1e-12)
    np.testing.assert_allclose(a, np.repeat(want_a, 2, axis=0)[order], atol=1e-12)
    same = net.select(rep, [1, 0, 3, 2, 5, 4])          # within each source: the memory is not copied
    assert same.memory is rep.memory


def test_empty_targets_and_sources():
    net = tiny("lstm", "dot")
    src, sl, tin, tout, tl = pairs([2, 3], [0, 0], T_y=2)
    loss, grads = net.loss(src, sl, tin, tout, tl)
    assert loss == 0.0 and all(not g.any() for g in grads.values())
    # no source token at all: the decoder still runs, from the bridge of empty rows, attending nothing
    src, sl, tin, tout, tl = pairs([0, 0], [2, 3], T_x=0)
    loss, grads = net.loss(src, sl, tin, tout, tl)
    assert np.isfinite(loss) and grads.keys() == net.params.keys()
    state = net.encode(np.zeros((0, 2), int), [0, 0])
    lp, state, a = net.step(state, [START, START])
    assert np.isfinite(lp[END]).all() and not a.any()


def test_bad_targets_are_refused():
    net = tiny()
    src, sl, tin, tout, tl = pairs([2], [2])
    tout[0, 0] = START
    with pytest.raises(ValueError, match="cannot be target"):
        net.loss(src, sl, tin, tout, tl)
    with pytest.raises(ValueError):
        net.loss(src, sl, tin[:1], tout, tl)


@pytest.mark.parametrize("cell", CELLS)
def test_float32_matches_float64(cell):
    net64 = tiny(cell, "additive", layers=2)
    net32 = Seq2SeqNet.from_config(net64.config(), {k: v.astype(np.float32) for k, v in net64.params.items()})
    data = pairs([4, 2, 3], [3, 4, 2], seed=6)
    l64, g64 = net64.loss(*data)
    l32, g32 = net32.loss(*data)
    assert abs(l32 - l64) < 1e-5
    for k in g64:
        assert g32[k].dtype == np.float32, k
        np.testing.assert_allclose(g32[k], g64[k], atol=1e-4, rtol=1e-3, err_msg=k)
    lp, state, a = net32.step(net32.encode(data[0], data[1]), [START] * 3)
    assert lp.dtype == np.float32 and a.dtype == np.float32 and state.a.dtype == np.float32


def test_defaults_seed_and_config_round_trip():
    a, b = Seq2SeqNet(30, 40, hidden=32, seed=3), Seq2SeqNet(30, 40, hidden=32, seed=3)
    assert all(v.dtype == np.float32 for v in a.params.values())
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    cfg = a.config()
    assert cfg["bidirectional"] and cfg["enc_hidden"] * 2 == cfg["hidden"]       # dot works by default
    c = Seq2SeqNet.from_config(cfg, a.params)
    assert c.config() == cfg and all(np.array_equal(a.params[k], c.params[k]) for k in a.params)
    shapes = Seq2SeqNet._param_shapes(cfg)
    assert {k: v.shape for k, v in a.params.items()} == shapes


@pytest.mark.parametrize("change,match", [
    ({"hidden": 10**9}, "hidden"), ({"layers": 10**12}, "layers"), ({"n_tgt_vocab": 3}, "n_tgt_vocab"),
    ({"attention": "luong"}, "attention"), ({"cell": "transformer"}, "cell"), ({"dropout": 1.5}, "dropout"),
    ({"bidirectional": "yes"}, "bidirectional"), ({"seed": "x"}, "seed"), ({"enc_hidden": 2}, "dot attention"),
    ({"embed": True}, "embed"), ({"extra": 1}, "unknown"),
])
def test_untrusted_configs_fail_before_allocating(change, match):
    net = Seq2SeqNet(8, 9, embed=4, hidden=6)
    with pytest.raises(ValueError, match=match):
        Seq2SeqNet.from_config({**net.config(), **change}, net.params)


def test_untrusted_arrays_fail_cleanly():
    net = Seq2SeqNet(8, 9, embed=4, hidden=6, attention="general")
    cfg = net.config()
    bad = dict(net.params)
    bad["att.Wa"] = np.zeros((6, 5), np.float32)
    with pytest.raises(ValueError, match="shape"):
        Seq2SeqNet.from_config(cfg, bad)
    missing = {k: v for k, v in net.params.items() if k != "comb.Wc"}
    with pytest.raises(ValueError, match="comb.Wc"):
        Seq2SeqNet.from_config(cfg, missing)
    with pytest.raises(ValueError, match="lacks"):
        Seq2SeqNet.from_config({k: v for k, v in cfg.items() if k != "attention"}, net.params)
