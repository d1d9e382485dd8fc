"""The causal Transformer character model (nn/transformerlm.py) and `--task lm --model transformer`:
gradients, causality, block scoring with a context, the incremental sampler against the network, the
model file, training, resuming exactly, predict and generate."""

import json

import numpy as np
import pytest
from gradcheck import numeric_grad, rel_error
from lmtrain import train_lm

from seqcli import api, models
from seqcli.models.charlm import CharLMModel
from seqcli.nn.transformerlm import TransformerLMNet

V = 6
REPEAT = "the quick brown fox jumps over the lazy dog.\n"


def tiny_net(block=6, embed=None, positions="learned", dropout=0.0, dtype=np.float64):
    net = TransformerLMNet(V, embed=embed, hidden=4, layers=2, heads=2, ff=6, block_size=block,
                           positions=positions, dropout=dropout, seed=0, dtype=dtype)
    rng = np.random.default_rng(1)
    for v in net.params.values():   # gains and biases off 1 and 0
        v += rng.normal(0, 0.3, v.shape).astype(v.dtype)
    return net


@pytest.mark.parametrize("positions,embed,dropout", [("learned", None, 0.0), ("sinusoidal", 3, 0.3)])
def test_loss_gradients_of_every_parameter(positions, embed, dropout):
    net = tiny_net(embed=embed, positions=positions, dropout=dropout)
    rng = np.random.default_rng(3)
    ids, targets = rng.integers(0, V, (5, 3)), rng.integers(0, V, (5, 3))
    mask = np.ones((5, 3))
    mask[3:, 2] = 0                                        # a stream that ends early

    def f():
        return net.loss(ids, targets, [], mask, rng=np.random.default_rng(9))[0]

    _, grads, state = net.loss(ids, targets, [], mask, rng=np.random.default_rng(9))
    assert state == [] and set(grads) == set(net.params)
    for name, v in net.params.items():
        assert rel_error(numeric_grad(f, v, h=1e-5), grads[name]) <= 1e-6, name


def test_a_position_never_depends_on_later_characters():
    net = tiny_net()
    ids = np.random.default_rng(0).integers(0, V, (6, 2))
    logits = net.forward(ids)[0].reshape(V, 6, 2)
    changed = ids.copy()
    changed[4:] = (changed[4:] + 1) % V
    again = net.forward(changed)[0].reshape(V, 6, 2)
    np.testing.assert_array_equal(logits[:, :4], again[:, :4])
    assert np.abs(logits[:, 4:] - again[:, 4:]).max() > 1e-3


def _direct_nll(net, seq, targets, t, start):
    """-log p(targets[t]) from ONE forward pass over seq[start:t+1] (the block that scores position t)."""
    logits = net.forward(np.asarray(seq[start:t + 1])[:, None])[0]
    z = logits[:, -1]
    return float(np.log(np.exp(z - z.max()).sum()) + z.max() - z[targets[t]])


def test_scoring_reads_each_character_in_a_block_with_at_least_half_a_block_of_context():
    net = tiny_net(block=6)
    rng = np.random.default_rng(2)
    ids, targets = rng.integers(0, V, 17), rng.integers(0, V, 17)
    nll, state = net.nll(ids[:, None], targets[:, None])
    # blocks: [0, 6) scores 0..5, then [3, 9) scores 6..8, [6, 12) 9..11, [9, 15) 12..14, [11, 17) 15..16
    for t in range(17):
        start = 0 if t < 6 else max(0, (t // 3 + 1) * 3 - 6)
        start = min(start, 11) if t >= 15 else start
        assert nll[t, 0] == pytest.approx(_direct_nll(net, ids, targets, t, start), abs=1e-10), t
    np.testing.assert_array_equal(state[0][0][:, 0], ids[-5:])            # the context: the last block - 1


def test_scoring_with_a_context_is_scoring_the_whole_text():
    net = tiny_net(block=8)
    rng = np.random.default_rng(4)
    text, targets = rng.integers(0, V, 7), rng.integers(0, V, 7)
    whole, _ = net.nll(text[:, None], targets[:, None])
    _, ctx = net.nll(text[:3, None], targets[:3, None])
    two = np.repeat(text[3:, None], 2, axis=1), np.repeat(targets[3:, None], 2, axis=1)
    tail, _ = net.nll(*two, state=[(np.repeat(ctx[0][0], 2, axis=1),)])
    np.testing.assert_allclose(tail[:, 0], whole[3:, 0], atol=1e-12)
    np.testing.assert_allclose(tail[:, 1], whole[3:, 0], atol=1e-12)
    masked, _ = net.nll(text[:, None], targets[:, None], mask=(np.arange(7) < 5)[:, None])
    np.testing.assert_array_equal(masked[5:], 0.0)
    np.testing.assert_allclose(masked[:5], whole[:5], atol=1e-12)


def test_the_sampler_steps_match_the_network_and_restore_a_primed_state():
    net = tiny_net(block=16)
    seq = [1, 4, 2, 0, 5, 5, 3, 1]
    logits = net.forward(np.array(seq)[:, None])[0]
    s = net.sampler()
    s.set_state(None)
    stepped = np.stack([s.step(j).copy() for j in seq], axis=1)
    np.testing.assert_allclose(stepped, logits, atol=1e-10)
    s.set_state(None)
    for j in seq[:4]:
        s.step(j)
    primed = s.state()
    after = [s.step(j).copy() for j in seq[4:]]
    s.set_state(None)
    s.step(3)
    s.set_state(primed)
    np.testing.assert_allclose([s.step(j).copy() for j in seq[4:]], after, atol=1e-12)


def test_the_sampler_keeps_going_past_the_block():
    net = tiny_net(block=4)
    s = net.sampler()
    s.set_state(None)
    out = [s.step(j % V).copy() for j in range(11)]
    assert all(np.isfinite(o).all() for o in out) and s.decoder.dropped > 0


def test_config_round_trip_and_checks():
    net = tiny_net(dtype=np.float32)
    cfg = net.config()
    assert TransformerLMNet.param_shapes(cfg) == {k: v.shape for k, v in net.params.items()}
    back = TransformerLMNet.from_config(cfg, net.params)
    ids = np.arange(5)[:, None] % V
    np.testing.assert_array_equal(back.forward(ids)[0], net.forward(ids)[0])
    for bad, match in [({"heads": 3}, "multiple of heads"), ({"block_size": 0}, "block_size must be"),
                       ({"cell": "lstm"}, "cell must be transformer")]:
        with pytest.raises(ValueError, match=match):
            TransformerLMNet.param_shapes({**cfg, **bad})


# ------------------------------------------------------------------------------- through the task

SMALL = dict(model="transformer", hidden=16, heads=2, layers=1, block_size=16, batch_size=4, epochs=1)


def test_train_save_load_predict_and_generate(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text(REPEAT * 40, encoding="utf-8")
    out = tmp_path / "m.npz"
    summary = train_lm(corpus, out, {**SMALL, "epochs": 6, "lr": 1e-2, "warmup": 10, "batch_size": 2})
    assert summary["val_loss"] < 1.0                       # learnt the repeated sentence
    model = models.load(str(out))
    assert isinstance(model, CharLMModel) and model.net.config()["cell"] == "transformer"
    scores = model.score_lines(["the quick brown fox", "zzzz"])
    assert scores[0] < scores[1]
    lines = list(api.score_lines(model, [["the lazy dog.", ""]]))[0]
    assert len(lines) == 2
    text = "".join(model.sample("the quick ", 60, argmax=True))
    assert text.startswith("brown fox")
    gen = api.generation(model, prime="the ", length=30, seed=1)
    assert "".join(gen).startswith("the ") and gen.generated == 30
    from conftest import run_seqcli

    out_path = str(out)
    rc, out, err = run_seqcli(["generate", out_path, "--length", "12", "--seed", "3", "--explain", "--head", "1",
                               "--no-color"])
    assert rc == 0 and len(out) >= 12 and "layer 0 · head 1" in err and "head 0" not in err, err
    rc, out, _ = run_seqcli(["predict", out_path, "--explain", "--json", "--head", "0"], input="the lazy\n")
    (doc,) = [json.loads(line) for line in out.splitlines()]
    att = np.array(doc["attention"]["l0"]["h0"])
    assert doc["tokens"][0] == "\n" and att.shape == (9, 9) and np.allclose(np.triu(att, 1), 0)   # causal


def test_options_of_the_other_kind_are_refused(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text(REPEAT * 5, encoding="utf-8")
    from seqcli.errors import SeqcliError

    with pytest.raises(SeqcliError, match="--seq-len does not apply"):
        train_lm(corpus, tmp_path / "m.npz", {**SMALL, "seq_len": 10})
    with pytest.raises(SeqcliError, match="--block-size does not apply"):
        train_lm(corpus, tmp_path / "m.npz", {"model": "lstm", "block_size": 10})


def test_a_halted_run_resumes_to_the_same_model_file(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text(REPEAT * 20, encoding="utf-8")
    params = {**SMALL, "epochs": 2, "warmup": 5, "dropout": 0.1}
    whole = tmp_path / "whole.npz"
    train_lm(corpus, whole, params)
    part = tmp_path / "part.npz"
    halted = train_lm(corpus, part, {**params, "max_steps": 7})
    assert halted["halted"].startswith("reached --max-steps")
    train_lm(corpus, part, resume=halted["checkpoint"])
    a, b = np.load(whole), np.load(part)
    for k in a.files:
        if k.startswith("net."):
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)
