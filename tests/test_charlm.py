"""Character language model: gradients of CharLMNet.loss, the one-step sampler against the network,
sampling rules, vocabulary round trips, stateful batching, overfitting a short text, determinism,
resume, scoring and the model file."""

import math

import numpy as np
import pytest
from gradcheck import numeric_grad, rel_error

from seqcli import models
from seqcli.models.charlm import CharLMModel, ngram_hashes, ngram_set
from seqcli.training.streams import make_streams
from lmtrain import train_lm
from seqcli.nn.lmnet import CharLMNet, Picker, Sampler

CELLS = ["rnn", "gru", "lstm"]
REPEAT = "the quick brown fox jumps over the lazy dog.\n"


def tiny_net(cell, layers=1, dropout=0.0, V=6, seed=0):
    net = CharLMNet(V, cell, embed=3, hidden=4, layers=layers, dropout=dropout, seed=seed, dtype=np.float64)
    rng = np.random.default_rng(seed + 1)
    for v in net.params.values():  # move every parameter (biases included) off its initial value
        v += rng.normal(0, 0.3, v.shape)
    return net


# --------------------------------------------------------------------------------- the network

@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("cell", CELLS)
def test_loss_gradients_of_every_parameter(cell, layers):
    """Central differences in float64, with a given initial state, a stream that ends early (mask)
    and, with two layers, dropout (the same masks in every evaluation)."""
    net = tiny_net(cell, layers, dropout=0.3 if layers == 2 else 0.0)
    rng = np.random.default_rng(3)
    T, m = 5, 3
    ids, targets = rng.integers(0, 6, (T, m)), rng.integers(0, 6, (T, m))
    mask = np.ones((T, m))
    mask[4, 1] = 0
    mask[3:, 2] = 0
    state = [tuple(rng.normal(0, 0.5, (4, m)) for _ in layer) for layer in net.zero_state(m)]

    def f():
        return net.loss(ids, targets, state, mask, rng=np.random.default_rng(9))[0]

    _, grads, _ = net.loss(ids, targets, state, mask, rng=np.random.default_rng(9))
    assert set(grads) == set(net.params)
    for name, v in net.params.items():
        assert rel_error(numeric_grad(f, v, h=1e-5), grads[name]) <= 1e-6, name


@pytest.mark.parametrize("cell", CELLS)
def test_carried_state_continues_the_sequence(cell):
    """Two windows with the state carried across give the logits of one long window."""
    net = tiny_net(cell, layers=2)
    ids = np.random.default_rng(0).integers(0, 6, (9, 2))
    whole, _, end = net.forward(ids)
    first, _, mid = net.forward(ids[:4])
    second, _, end2 = net.forward(ids[4:], mid)
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), whole, atol=1e-12)
    for a, b in zip(end, end2):
        for x, y in zip(a, b):
            np.testing.assert_allclose(x, y, atol=1e-12)


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("cell", CELLS)
def test_sampler_steps_match_the_network(cell, layers):
    net = tiny_net(cell, layers)
    seq = [1, 4, 2, 0, 5, 5, 3]
    logits, _, state = net.forward(np.array(seq)[:, None])
    s = Sampler(net)
    s.set_state(None)
    stepped = np.stack([s.step(j).copy() for j in seq], axis=1)
    np.testing.assert_allclose(stepped, logits, atol=1e-12)
    for a, b in zip(s.state(), state):
        for x, y in zip(a, b):
            np.testing.assert_allclose(x, y, atol=1e-12)


def test_nll_matches_the_loss_and_windows_do_not_matter():
    net = tiny_net("lstm", 2)
    rng = np.random.default_rng(1)
    ids, targets = rng.integers(0, 6, (11, 3)), rng.integers(0, 6, (11, 3))
    loss = net.loss(ids, targets)[0]
    for window in (1, 4, 256):
        nll, _ = net.nll(ids, targets, window=window)
        assert nll.mean() == pytest.approx(loss, rel=1e-10)


# ---------------------------------------------------------------------------------- sampling rules

def test_picker_rules():
    logits = np.array([0.1, 2.0, -1.0, 1.5], np.float32)
    assert Picker(4, argmax=True)(logits) == 1
    assert Picker(4, temperature=0)(logits) == 1                       # temperature 0 is argmax
    assert Picker(4, top_k=1, rng=np.random.default_rng(0))(logits) == 1
    draws = [Picker(4, top_k=2, rng=np.random.default_rng(s))(logits) for s in range(200)]
    assert set(draws) == {1, 3}


def test_picker_draws_from_the_softmax_at_its_temperature():
    logits = np.array([0.0, 1.0, 2.0, -0.5, 0.7], np.float32)
    pick = Picker(5, temperature=0.7, rng=np.random.default_rng(0))
    n = 40000
    counts = np.bincount([pick(logits) for _ in range(n)], minlength=5)
    z = logits / 0.7
    p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    assert np.abs(counts / n - p).max() < 0.01


# ------------------------------------------------------------------------------------ vocabulary

def test_non_ascii_vocabulary_round_trip(tmp_path):
    text = "Zoë's café — naïve 日本語, émigré 😀 e\u0301\t«ok»\n" * 3
    chars, counts = CharLMModel.vocabulary(text)
    assert sorted(chars) == chars and set(chars) == set(text) and counts.sum() == len(text)
    model = CharLMModel(chars, CharLMNet(len(chars), "gru", 4, 5, seed=0), counts, *ngram_set(text))
    ids = model.encode(text)
    assert model.decode(ids) == text
    path = tmp_path / "lm.npz"
    models.save(path, model)
    back = models.load(path)
    assert back.kind == "lm" and back.chars == chars
    assert back.decode(back.encode(text)) == text
    np.testing.assert_array_equal(back.counts, counts)
    assert back.novelty(text[5:40]) == (28, 0)   # every 8-gram of the training text is known
    assert model.unknown_chars("café ☃ Ω☃") == ["☃", "Ω"]
    with pytest.raises(ValueError, match="U\\+2603"):
        model.encode("☃")
    assert model.decode(model.encode("a☃c", skip_unknown=True)) == "ac"


def test_corpus_bom_dropped_and_crlf_read_as_lf(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_bytes(b"\xef\xbb\xbf" + "ab\r\nçd\r\n".encode("utf-8") * 20)
    out = tmp_path / "m.npz"
    train_lm(corpus, out, dict(hidden=8, embed=4, seq_len=8, batch_size=2, epochs=1))
    model = models.load(out)
    assert model.chars == ["\n", "a", "b", "d", "ç"]


def test_ngram_hashes_and_subsampled_set():
    cps = np.array([ord(c) for c in "abcdefghij"], np.uint32)
    h = ngram_hashes(cps)
    assert h.dtype == np.uint64 and h.size == 3 and len(set(h.tolist())) == 3
    assert ngram_hashes(cps[:7]).size == 0
    text = "".join(chr(0x4E00 + i % 3000) for i in range(20000))
    full, bits = ngram_set(text)
    assert bits == 0 and full.size == 3000 and (np.diff(full) > 0).all()
    part, bits = ngram_set(text, limit=1000)
    assert bits >= 2 and 0 < part.size <= 1000
    assert set(part.tolist()) <= set(full.tolist())


# ------------------------------------------------------------------------------ stateful batching

@pytest.mark.parametrize("n,m,T", [(101, 4, 7), (100, 4, 25), (10, 32, 3), (2, 3, 5), (1000, 7, 64)])
def test_streams_cover_every_training_character_once_per_epoch(n, m, T):
    """Walking the windows of one epoch as training does, every character after the first is a
    target exactly once, read right after the character before it, and each column is one
    contiguous stretch of the text carried from window to window."""
    ids = np.arange(n)
    s = make_streams(ids, m)
    seen = []
    pos = {}
    for w in range(s.windows(T)):
        X, Y, mask, score = s.window(w, T)
        real = np.ones(X.shape, bool) if mask is None else mask
        for t, i in zip(*np.nonzero(real)):
            assert Y[t, i] == X[t, i] + 1
            if i in pos:
                assert X[t, i] == pos[i] + 1      # the stream continues where it left off
            pos[i] = X[t, i]
            seen.append(int(Y[t, i]))
    assert sorted(seen) == list(range(1, n))
    lengths = s.lengths
    assert lengths.max() - lengths.min() <= 1


def test_validation_streams_warm_up_without_scoring():
    ids = np.arange(500)
    s = make_streams(ids, 5, warmup=30)
    scored = sorted(int(y) for y in s.Y[s.score])
    assert scored == list(range(1, 500))
    assert (s.mask.sum(axis=0) - s.score.sum(axis=0)).tolist() == [0, 30, 30, 30, 30]


# --------------------------------------------------------------------------- training end to end

@pytest.fixture(scope="module")
def overfit(tmp_path_factory):
    """A tiny LSTM trained on a short repetitive text (no held-out part) until it knows it by heart."""
    d = tmp_path_factory.mktemp("lm")
    corpus = d / "fox.txt"
    corpus.write_text(REPEAT * 12, encoding="utf-8")
    out = d / "fox.npz"
    events = []
    summary = train_lm(corpus, out, dict(hidden=48, embed=16, seq_len=24, batch_size=4, lr=0.02, dropout=0,
                                         epochs=60, val_split=0, patience=100, seed=1),
                       report=events.append)
    return corpus, out, summary, events


def test_tiny_model_overfits_and_reproduces_the_text_with_argmax(overfit):
    corpus, out, summary, events = overfit
    assert summary["evaluated_on"] == "training"
    assert summary["val_loss"] < 0.03, summary
    model = models.load(out)
    text = "".join(model.sample("the quick", len(REPEAT) * 2, argmax=True))
    assert text == (REPEAT * 3)[len("the quick"):][: len(REPEAT) * 2]
    assert model.novelty(text, "the quick") == (len(text), 0)
    assert any(e["event"] == "sample" for e in events)
    assert {"loss", "bpc"} <= set(next(e for e in events if e["event"] == "eval"))


def test_scoring_one_value_per_line(overfit):
    _, out, _, _ = overfit
    model = models.load(out)
    lines = ["the quick brown fox jumps over the lazy dog.", "zyx wvu tsr qpo", "", "the lazy dog ☃"]
    bpc = model.score_lines(lines)
    assert bpc.shape == (4,)
    assert bpc[0] < 0.2 < bpc[1]
    assert np.isfinite(bpc).all()      # "" still predicts its newline; ☃ is left out
    assert model.score_lines([]).shape == (0,)
    assert model.score_lines(lines[:1])[0] == pytest.approx(bpc[0], rel=1e-4)   # batching-invariant


def test_same_seed_same_model_file_and_same_samples(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("To be, or not to be, that is the question.\n" * 8, encoding="utf-8")
    params = dict(cell="gru", hidden=16, embed=8, seq_len=16, batch_size=3, epochs=3, seed=5, dropout=0.1)
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    train_lm(corpus, a, params)
    train_lm(corpus, b, params)
    assert a.read_bytes() == b.read_bytes()
    model = models.load(a)
    one = "".join(model.sample("To ", 200, temperature=1.3, rng=7))
    two = "".join(model.sample("To ", 200, temperature=1.3, rng=7))
    other = "".join(model.sample("To ", 200, temperature=1.3, rng=8))
    assert one == two != other
    assert "".join(model.sample("", 50, temperature=0)) == "".join(model.sample("", 50, argmax=True))


def test_until_stops_after_the_string(overfit):
    _, out, _, _ = overfit
    model = models.load(out)
    text = "".join(model.sample("the", 1000, argmax=True, until="dog."))
    assert text == " quick brown fox jumps over the lazy dog."


def test_halted_run_resumes_to_the_same_model(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text(REPEAT * 6, encoding="utf-8")
    params = dict(hidden=16, embed=8, seq_len=10, batch_size=2, epochs=4, lr=0.01, seed=2, patience=50,
                  eval_every=3)
    whole = tmp_path / "whole.npz"
    train_lm(corpus, whole, params)
    part = tmp_path / "part.npz"
    first = train_lm(corpus, part, {**params, "max_steps": 7})
    assert first["halted"].startswith("reached --max-steps") and (tmp_path / "part.ckpt.npz").exists()
    assert models.load(part).kind == "lm"          # the best model so far is usable at once
    done = train_lm(corpus, part, {}, resume=first["checkpoint"])
    assert "halted" not in done and not (tmp_path / "part.ckpt.npz").exists()
    a, b = models.load(whole), models.load(part)
    for k in a.net.params:
        np.testing.assert_array_equal(a.net.params[k], b.net.params[k])


def test_resume_refuses_another_corpus(tmp_path):
    from seqcli.errors import SeqcliError

    corpus = tmp_path / "c.txt"
    corpus.write_text(REPEAT * 4, encoding="utf-8")
    first = train_lm(corpus, tmp_path / "m.npz", dict(hidden=8, embed=4, seq_len=10, batch_size=2,
                                                      max_steps=2))
    corpus.write_text(REPEAT * 5, encoding="utf-8")
    with pytest.raises(SeqcliError, match="another corpus"):
        train_lm(corpus, tmp_path / "m.npz", {}, resume=first["checkpoint"])


def test_bad_inputs_are_one_line_errors(tmp_path):
    from seqcli.errors import SeqcliError

    one = tmp_path / "one.txt"
    one.write_text("a", encoding="utf-8")
    with pytest.raises(SeqcliError, match="at least two"):
        train_lm(one, tmp_path / "m.npz", {})
    with pytest.raises(SeqcliError, match="recurrent model"):
        train_lm(one, tmp_path / "m.npz", {"model": "bow"})


def test_language_model_file_is_refused_where_a_classifier_is_needed(overfit):
    from seqcli.errors import SeqcliError

    _, out, _, _ = overfit
    with pytest.raises(SeqcliError, match="character language model"):
        models.load(out, {"bow", "seq"})


def test_damaged_vocabulary_is_a_one_line_error(overfit, tmp_path):
    from seqcli import persist
    from seqcli.errors import SeqcliError

    _, out, _, _ = overfit
    header, arrays = persist.load_model(out)
    arrays["vocab"] = arrays["vocab"][::-1].copy()
    bad = tmp_path / "bad.npz"
    persist.save_model(bad, "lm", {k: v for k, v in header.items() if k not in ("format", "format_version", "seqcli_version", "kind")}, arrays)
    with pytest.raises(SeqcliError, match="damaged model file"):
        models.load(bad)


def test_bits_are_nats_over_ln2(overfit):
    _, _, summary, _ = overfit
    assert summary["val_bpc"] == pytest.approx(summary["val_loss"] / math.log(2), abs=1e-5)
