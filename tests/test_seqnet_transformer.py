"""SeqNet with the encoder the user chose (nn/encoders.py): the Transformer behind the recurrent stack's
interface, gradient-checked whole, padding-invariant, checked from a stored config; the "first" pooling."""

import numpy as np
import pytest
from gradcheck import numeric_grad, rel_error

from seqcli.nn import encoders
from seqcli.nn.layers import Pool
from seqcli.nn.seqnet import SeqNet
from test_seqnet import C, V, assert_gradients, assert_rows_alone, batch


def tiny(pool="mean", layers=2, dropout=0.0, embed=5, positions="sinusoidal", dtype=np.float64):
    net = SeqNet(V, C, cell="transformer", embed=embed, hidden=4, layers=layers, pool=pool, dropout=dropout,
                 dtype=dtype, heads=2, ff=6, positions=positions, max_len=8, activation="gelu")
    rng = np.random.default_rng(5)
    for k, v in net.params.items():   # gains and biases away from 1 and 0, so their gradients are general
        v += rng.normal(0, 0.3, v.shape).astype(v.dtype)
    return net


@pytest.mark.parametrize("pool", ["last", "mean", "max", "first"])
@pytest.mark.parametrize("positions,embed", [("sinusoidal", 5), ("learned", 4)])
def test_gradients_of_every_parameter(pool, positions, embed):
    net = tiny(pool, dropout=0.2 if pool == "mean" else 0.0, embed=embed, positions=positions)
    assert ("enc.in.W" in net.params) == (embed != 4)          # an input projection only when widths differ
    assert_gradients(net)


@pytest.mark.parametrize("pool", ["last", "mean", "max", "first"])
def test_a_padded_batch_gives_the_loss_and_gradients_of_its_rows_alone(pool):
    assert_rows_alone(tiny(pool))


def test_input_gradients_reach_every_real_position_and_no_padded_one():
    net = tiny("first")
    ids, lengths = batch([5, 2], T=5)
    dx = net.input_gradients(ids, lengths, np.array([1, 0]))
    norms = np.linalg.norm(dx, axis=1)                    # (T, m)
    assert (norms[:5, 0] > 0).all() and (norms[:2, 1] > 0).all()
    np.testing.assert_array_equal(norms[2:, 1], 0.0)


def test_the_stored_config_rebuilds_the_same_network_and_is_checked_first():
    net = tiny("max", dtype=np.float32)
    cfg = net.config()
    assert {k: cfg[k] for k in encoders.TRANSFORMER_DEFAULTS} == {
        "heads": 2, "ff": 6, "positions": "sinusoidal", "max_len": 8, "activation": "gelu"}
    assert SeqNet.param_shapes(cfg) == {k: v.shape for k, v in net.params.items()}
    again = SeqNet.from_config(cfg, net.params)
    ids, lengths = batch([3, 1])
    np.testing.assert_array_equal(again.predict_proba(ids, lengths), net.predict_proba(ids, lengths))
    for bad, match in [({"heads": 3}, "multiple of heads"), ({"positions": "rotary"}, "positions must be"),
                       ({"ff": 0}, "ff must be"), ({"bidirectional": True}, "bidirectional"),
                       ({"rope": 1}, "unknown encoder options")]:
        with pytest.raises(ValueError, match=match):
            SeqNet.param_shapes({**cfg, **bad})


def test_a_recurrent_network_keeps_its_config_and_takes_no_transformer_option():
    net = SeqNet(V, C, cell="lstm", embed=3, hidden=3)
    assert set(net.config()) == {"n_vocab", "n_classes", "cell", "embed", "hidden", "layers", "bidirectional",
                                 "pool", "dropout", "seed"}
    with pytest.raises(ValueError, match="transformer's, not a lstm's"):
        SeqNet.param_shapes({**net.config(), "heads": 2})
    with pytest.raises(ValueError, match="transformer's"):
        SeqNet(V, C, cell="gru", embed=3, hidden=3, heads=2)


def test_first_pooling_reads_token_zero_and_routes_its_gradient_there():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 3, 3))
    lengths = np.array([4, 0, 2])
    pool = Pool("first")
    h, cache = pool.forward(a, lengths)
    np.testing.assert_array_equal(h, a[0] * [1, 0, 1])
    dh = rng.standard_normal((3, 3))
    w = rng.standard_normal((3, 3))
    num = numeric_grad(lambda: float(np.sum(pool.forward(a, lengths)[0] * w)), a)
    assert rel_error(num, pool.backward(w, cache)) < 1e-9
    assert np.abs(pool.backward(dh, cache)[1:]).max() == 0
    np.testing.assert_array_equal(pool.prefixes(a, lengths), np.repeat(h[None], 4, axis=0))
