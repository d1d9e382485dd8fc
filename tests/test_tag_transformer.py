"""--task tag --model transformer: the tagger with a Transformer encoder gradient-checked in float64,
padding invariance, its config and model file, a sentence longer than learned positions reach, and
the command line end to end (train -> save -> load -> predict, --explain, compare, bad options)."""

import json
from pathlib import Path

import numpy as np
from gradcheck import numeric_grad, rel_error
import pytest

from conftest import run_seqcli
from seqcli import models
from seqcli.config import ConfigError, TransformerTagConfig
from seqcli.nn.tagger import TaggerNet
from test_tagger import C, K, V, assert_padding_changes_nothing, dense, sentences

NAMES = Path(__file__).resolve().parents[1] / "sample_data" / "names.conll"
TINY = ["--hidden", "8", "--heads", "2", "--ff", "8", "--embed", "6", "--char-embed", "3", "--char-hidden", "3",
        "--batch-size", "8", "--lr", "0.01", "--warmup", "5"]


def tiny(chars="cnn", crf=False, positions="sinusoidal", layers=2, dropout=0.0, embed=3, max_len=8, seed=0):
    net = TaggerNet(V, C, K, cell="transformer", embed=embed, hidden=4, layers=layers, bidirectional=False,
                    char_features=chars, char_embed=2, char_hidden=2, char_width=3, crf=crf, dropout=dropout,
                    seed=seed, dtype=np.float64, heads=2, ff=6, positions=positions, max_len=max_len)
    rng = np.random.default_rng(seed + 100)
    for k, v in net.params.items():   # random biases, gains and transitions: every gradient exercised
        if k.rsplit(".", 1)[-1][0] in "bg" or k.startswith("crf."):
            v += rng.normal(0, 0.5, v.shape)
    return net


@pytest.mark.parametrize("chars,crf,positions,layers,dropout,embed", [
    ("cnn", False, "sinusoidal", 2, 0.0, 2),     # embed 2 + 2 char filters = width 4: no input projection
    ("lstm", True, "learned", 1, 0.3, 3),        # an input projection, learned positions, dropout, a CRF
])
def test_gradients(chars, crf, positions, layers, dropout, embed):
    net = tiny(chars, crf, positions, layers, dropout, embed)
    assert ("enc.in.W" in net.params) == (embed == 3) and ("enc.P" in net.params) == (positions == "learned")
    words, chs, tags = sentences([4, 2, 0, 3])
    batch = net.batch(words, chs)

    def f():
        return net.loss(batch, tags, rng=np.random.default_rng(3))[0]

    grads = dense(net.loss(batch, tags, rng=np.random.default_rng(3))[1])
    assert grads.keys() == net.params.keys()
    for k, p in net.params.items():
        assert grads[k].shape == p.shape, k
        if k == "enc.P":   # positions beyond the longest row get nothing
            np.testing.assert_array_equal(grads[k][:, 4:], 0.0)
        assert rel_error(numeric_grad(f, p, h=1e-5), grads[k]) < 1e-6, k


@pytest.mark.parametrize("crf,positions", [(False, "learned"), (True, "sinusoidal")])
def test_padded_batch_is_its_sentences_alone(crf, positions):
    """Padding never changes a real token's output, loss or gradient (test_tagger.py's check)."""
    assert_padding_changes_nothing(tiny("lstm", crf, positions))


def test_config_round_trip_and_checks():
    net = tiny("lstm", True, "learned")
    cfg = net.config()
    assert {cfg[k] for k in ("heads", "ff", "positions", "max_len")} == {2, 6, "learned", 8}
    back = TaggerNet.from_config(json.loads(json.dumps(cfg)), net.params)
    words, chs, _ = sentences([4, 2])
    for a, b in zip(net.predict(net.batch(words, chs)), back.predict(back.batch(words, chs))):
        np.testing.assert_array_equal(a, b)
    assert TaggerNet.param_shapes(cfg) == {k: v.shape for k, v in net.params.items()}
    # a recurrent tagger's config is what it always was: no transformer entries
    assert set(TaggerNet(V, C, K, hidden=2, embed=2).config()) == set(TaggerNet.CONFIG_KEYS)
    for bad in ({**cfg, "bidirectional": True}, {**cfg, "heads": 3}, {**cfg, "cell": "lstm"},
                {**cfg, "max_len": 0}, {**cfg, "depth": 2}):
        with pytest.raises(ValueError):
            TaggerNet.param_shapes(bad) if "depth" not in bad else TaggerNet.from_config(bad, net.params)
    with pytest.raises(ValueError, match="states"):
        net.states(net.batch(words, chs))
    with pytest.raises(ConfigError, match="bidirectional"):
        TransformerTagConfig(bidirectional=True)
    with pytest.raises(ConfigError, match="multiple of heads"):
        TransformerTagConfig(hidden=10, heads=4)


def test_a_sentence_longer_than_learned_positions_is_tagged_in_pieces():
    from seqcli.models.tagger import Tagger

    net = tiny("cnn", False, "learned", max_len=3)
    chars = ["<pad>", "<unk>", "a", "b", "c", "d"]
    tagger = Tagger(TransformerTagConfig(positions="learned"), ["<pad>", "<unk>"] + list("uvwxy"), chars,
                    ["A", "B", "C"], net)
    assert tagger.piece_tokens() == 3
    tokens = list("uvwxyuvwxyz")
    (tags, probs), = tagger.tag([tokens])
    assert tags.shape == (11,) and probs.shape == (11, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    # each piece is tagged as the sentence of its tokens alone would be
    (head, _), = tagger.tag([tokens[:3]])
    np.testing.assert_array_equal(tags[:3], head)


# ------------------------------------------------------------------------------------ end to end

@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A transformer tagger trained once through the CLI on the first 120 sentences of names.conll."""
    folder = tmp_path_factory.mktemp("tagtf")
    blocks = NAMES.read_text(encoding="utf-8").split("\n\n")
    data = folder / "names.conll"
    data.write_text("\n\n".join(blocks[:120]) + "\n", encoding="utf-8")
    model = folder / "tagger.npz"
    rc, out, err = run_seqcli(["train", data, "--task", "tag", "--model", "transformer", "-o", model,
                               "--epochs", "3", *TINY, "--json"])
    return folder, data, model, rc, out, err


def test_train_save_load_predict(trained):
    from seqcli.data.conll import read_tagged

    folder, data, model, rc, out, err = trained
    assert rc == 0, err
    summary = json.loads(out)
    assert summary["metrics"]["accuracy"] > 0.5 and "tokens" in err
    fitted = models.load(model)
    assert fitted.net.cell == "transformer" and isinstance(fitted.config, TransformerTagConfig)
    assert fitted.config.heads == 2 and fitted.net.transformer["max_len"] >= 5
    sents = read_tagged(data).sentences[:20]
    path = folder / "again.npz"
    models.save(path, fitted)
    again = models.load(path)
    for (t1, p1), (t2, p2) in zip(fitted.tag(sents), again.tag(sents)):
        np.testing.assert_array_equal(t1, t2)
        np.testing.assert_array_equal(p1, p2)
    lines = "I think Hope Brennan called\n\nYesterday , Hope chests\n"
    rc, out, err = run_seqcli(["predict", model], input=lines)
    got = out.split("\n")
    assert rc == 0 and len(got) == 4 and got[1] == "" and got[3] == "", err
    assert [p.rsplit("/", 1)[0] for p in got[0].split()] == ["I", "think", "Hope", "Brennan", "called"]
    expected = [" ".join(f"{w}/{t}" for w, t in zip(s, tags)) for s, tags in
                zip([["I", "think", "Hope", "Brennan", "called"]], fitted.predict([["I", "think", "Hope", "Brennan",
                                                                                   "called"]]))]
    assert got[0] == expected[0]


def test_explain_draws_the_attention(trained):
    _, _, model, rc, _, _ = trained
    assert rc == 0
    rc, out, err = run_seqcli(["predict", model, "--explain", "--no-color"], input="Hope Brennan called\n")
    assert rc == 0, err
    assert "layer 1 · head 1" in out and "P(tag)" in out and "Hope/" in out and "Traceback" not in err
    rc, out, err = run_seqcli(["predict", model, "--explain", "--json", "--layer", "0", "--head", "1"],
                              input="Hope Brennan called\n\n")
    first, empty = [json.loads(line) for line in out.splitlines()]
    assert first["model"]["kind"] == "tagger" and first["model"]["cell"] == "transformer"
    rows = np.array(first["attention"]["l0"]["h1"])
    assert rows.shape == (3, 3) and np.allclose(rows.sum(axis=1), 1.0, atol=1e-5)
    assert len(first["tags"]) == len(first["probs"]) == 3 and empty["tokens"] == [] and empty["tags"] == []
    for extra in (["--units", "top:2"], ["--stats"], ["--head", "5"]):
        rc, out, err = run_seqcli(["predict", model, "--explain", *extra], input="Hope\n")
        assert rc == 2 and out == "" and err.count("\n") == 1, (extra, err)


@pytest.mark.parametrize("args,message", [
    (["--bidirectional"], "--bidirectional does not apply to --task tag --model transformer"),
    (["--hidden", "10", "--heads", "4"], "multiple of heads"),
    (["--block-size", "8"], "--block-size does not apply"),
])
def test_bad_options_are_one_line(tmp_path, args, message):
    data = tmp_path / "d.conll"
    data.write_text("Hope B-PER\nsat O\n\n", encoding="utf-8")
    rc, out, err = run_seqcli(["train", data, "--task", "tag", "--model", "transformer", *args, "-o",
                               tmp_path / "m.npz"])
    assert rc == 2 and out == "" and err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "m.npz").exists()


def test_compare_takes_a_transformer_tagger(trained):
    from seqcli.compare.tagging import run_tagging

    _, data, model, _, _, _ = trained
    small = {"hidden": 8, "heads": 2, "embed": 6, "char_embed": 3, "char_hidden": 3, "epochs": 1, "warmup": 5}
    options = ",".join(f"{k}={v}" for k, v in small.items())
    out = run_tagging(data, [f"transformer:{options},{model}"], jobs=1)
    kinds = {row["kind"]: row for row in out["models"]}
    assert set(kinds) == {"transformer", "file"} and kinds["transformer"]["params"]["heads"] == 2
    assert all(0 <= row["accuracy"] <= 1 for row in out["models"])
