"""TaggerNet: float64 gradient checks over cells x directions x depth x char features x CRF, padding
invariance, batch building, persistence checks, and small tagging problems learnt: one where a tag
depends on the NEXT word (only a bidirectional model can), one where unseen words are tagged by suffix."""

import json

import numpy as np
from gradcheck import numeric_grad, rel_error
import pytest

from seqcli.nn.optim import Adam
from seqcli.nn.sparse import ColumnGrad
from seqcli.nn.tagger import TagBatch, TaggerNet, make_batch

V, C, K = 7, 6, 3


def sentences(lengths, seed=0, V=V, C=C):
    """Random word ids and per-token char ids; some words repeat so types are shared."""
    rng = np.random.default_rng(seed)
    spell = {w: list(rng.integers(1, C, rng.integers(1, 4))) for w in range(V)}
    words = [list(rng.integers(1, V, L)) for L in lengths]
    chars = [[spell[w] for w in row] for row in words]
    tags = np.zeros((max(lengths, default=0), len(lengths)), int)
    for i, L in enumerate(lengths):
        tags[:L, i] = rng.integers(0, K, L)
    return words, chars, tags


def dense(grads):
    """The gradients as arrays (the word table's comes as the columns a batch touched)."""
    return {k: g.dense() if isinstance(g, ColumnGrad) else g for k, g in grads.items()}


def tiny(cell="lstm", bi=True, layers=1, chars="cnn", crf=False, dropout=0.0, word_dropout=0.0,
         dtype=np.float64, seed=0):
    net = TaggerNet(V, C, K, cell=cell, embed=3, hidden=2, layers=layers, bidirectional=bi,
                    char_features=chars, char_embed=2, char_hidden=2, char_width=3, crf=crf,
                    dropout=dropout, word_dropout=word_dropout, seed=seed, dtype=dtype)
    rng = np.random.default_rng(seed + 100)
    for k, v in net.params.items():  # random biases and transitions so every gradient is exercised
        if k.rsplit(".", 1)[-1].startswith("b") or k.startswith("crf."):
            v += rng.normal(0, 0.5, v.shape).astype(v.dtype)
    return net


CASES = [  # cell, bidirectional, layers, char features, crf, dropout, word dropout
    ("rnn", False, 1, "none", False, 0.0, 0.0),
    ("rnn", True, 2, "cnn", True, 0.0, 0.0),
    ("gru", True, 1, "cnn", False, 0.0, 0.0),
    ("gru", False, 2, "lstm", False, 0.3, 0.0),
    ("gru", True, 1, "none", True, 0.0, 0.0),
    ("lstm", True, 2, "lstm", True, 0.25, 0.3),
    ("lstm", False, 1, "cnn", True, 0.0, 0.3),
    ("lstm", True, 1, "none", False, 0.0, 0.0),
]


@pytest.mark.parametrize("cell,bi,layers,chars,crf,dropout,wd", CASES)
def test_gradients(cell, bi, layers, chars, crf, dropout, wd):
    net = tiny(cell, bi, layers, chars, crf, dropout, wd)
    words, chs, tags = sentences([4, 2, 0, 3])
    batch = net.batch(words, chs)

    def f():
        return net.loss(batch, tags, rng=np.random.default_rng(3))[0]

    _, grads = net.loss(batch, tags, rng=np.random.default_rng(3))
    assert isinstance(grads["embed.E"], ColumnGrad)
    grads = dense(grads)
    assert grads.keys() == net.params.keys()
    for k, p in net.params.items():
        assert grads[k].shape == p.shape and grads[k].dtype == p.dtype, k
        if k in ("embed.E", "char.E"):
            np.testing.assert_array_equal(grads[k][:, 0], 0.0)  # padding ids never get a gradient
        assert rel_error(numeric_grad(f, p, h=1e-5), grads[k]) < 1e-6, k


@pytest.mark.parametrize("cell,bi,chars,crf", [("lstm", True, "cnn", False), ("gru", True, "lstm", True),
                                               ("rnn", False, "cnn", True)])
def test_padded_rows_match_rows_alone(cell, bi, chars, crf):
    assert_padding_changes_nothing(tiny(cell, bi, 2, chars, crf))


def assert_padding_changes_nothing(net):
    """Loss, gradients and predictions of a padded batch are those of its rows alone, each weighted by
    its share of the real tokens (also tests/test_tag_transformer.py)."""
    lengths = [5, 3, 1, 0, 2]
    words, chs, tags = sentences(lengths, seed=1)
    batch = net.batch(words, chs)
    loss, grads = net.loss(batch, tags)
    grads = dense(grads)
    pred, probs = net.predict(batch)
    n = sum(lengths)
    total_loss, total = 0.0, {k: np.zeros_like(v) for k, v in net.params.items()}
    for i, L in enumerate(lengths):
        alone = net.batch([words[i]], [chs[i]])
        li, gi = net.loss(alone, tags[:L, i:i + 1])
        gi = dense(gi)
        total_loss += li * L / n
        for k in total:
            total[k] += gi[k] * L / n
        pi, qi = net.predict(alone)
        np.testing.assert_array_equal(pred[:L, i], pi[:, 0])
        np.testing.assert_allclose(probs[:L, :, i], qi[:, :, 0], atol=1e-13)
        assert np.all(pred[L:, i] == 0) and np.all(probs[L:, :, i] == 0)
    assert abs(loss - total_loss) < 1e-12
    for k in total:
        np.testing.assert_allclose(grads[k], total[k], atol=1e-12, err_msg=k)
    # whatever the padding holds, nothing changes
    noisy = batch._replace(ids=np.where(batch.ids == 0, 3, batch.ids))
    noisy_tags = np.where(np.arange(tags.shape[0])[:, None] < lengths, tags, 2)
    loss2, grads2 = net.loss(noisy, noisy_tags)
    grads2 = dense(grads2)
    assert loss2 == loss
    for k in grads:
        np.testing.assert_array_equal(grads[k], grads2[k], err_msg=k)


def test_predict_shapes_and_probabilities():
    for crf in (False, True):
        net = tiny(crf=crf, dtype=np.float32)
        words, chs, _ = sentences([4, 2, 0])
        tags, probs = net.predict(net.batch(words, chs))
        assert tags.shape == (4, 3) and probs.shape == (4, K, 3) and probs.dtype == np.float32
        real = np.arange(4)[:, None] < np.array([4, 2, 0])
        np.testing.assert_allclose(probs.sum(axis=1), real, atol=1e-5)
        if not crf:
            np.testing.assert_array_equal(tags, probs.argmax(axis=1) * real)


def test_crf_with_zero_transitions_is_the_softmax():
    a, b = tiny(crf=False), tiny(crf=True)
    for k in b.params:
        if k.startswith("crf."):
            b.params[k][:] = 0.0
    words, chs, tags = sentences([4, 2, 3])
    batch = a.batch(words, chs)
    la, ga = a.loss(batch, tags)
    lb, gb = b.loss(batch, tags)
    ga, gb = dense(ga), dense(gb)
    assert abs(la - lb) < 1e-12
    for k in ga:
        np.testing.assert_allclose(ga[k], gb[k], atol=1e-12)
    np.testing.assert_allclose(a.predict(batch)[1], b.predict(batch)[1], atol=1e-12)


def test_states_for_heatmaps():
    net = tiny("gru", True, 2, "cnn")
    words, chs, _ = sentences([4, 2])
    batch = net.batch(words, chs)
    st = net.states(batch)
    for i in range(2):
        for d in ("fw", "bw"):
            for f in ("gu", "gr", "cc", "a"):
                assert st[f"enc.l{i}.{d}.{f}"].shape == (4, 2, 2)
    tags, probs = net.predict(batch)
    np.testing.assert_array_equal(st["tags"], tags)
    np.testing.assert_allclose(st["probs"], probs)
    # the backward direction in token order: its state at token 0 has read the whole row
    row = net.batch([words[1]], [chs[1]])
    np.testing.assert_allclose(st["enc.l0.bw.a"][0, :, 1], net.states(row)["enc.l0.bw.a"][0, :, 0],
                               atol=1e-13)


def test_make_batch():
    words = [[2, 3, 1], [4], []]
    chars = [[[5, 6], [7], [8, 9, 5]], [[5, 6]], []]
    b = make_batch(words, chars)
    assert isinstance(b, TagBatch)
    np.testing.assert_array_equal(b.ids, [[2, 4, 0], [3, 0, 0], [1, 0, 0]])
    np.testing.assert_array_equal(b.lengths, [3, 1, 0])
    assert b.chars.shape == (3, 3) and b.char_lengths.tolist() == [3, 2, 1]   # "56" once, longest first
    for i, row in enumerate(chars):
        for t, w in enumerate(row):
            u = b.word_index[t, i]
            assert b.chars[:b.char_lengths[u], u].tolist() == w
    # a long word keeps its first and last characters
    b = make_batch([[2]], [[list(range(2, 12))]], max_chars=5)
    assert b.chars[:, 0].tolist() == [2, 3, 4, 10, 11]
    # without characters
    b = make_batch(words)
    assert b.chars.shape == (0, 0)
    with pytest.raises(ValueError):
        make_batch([[2, 3]], [[[4]]])


def test_empty_batch():
    net = tiny()
    batch = net.batch([[], []], [[], []])
    loss, grads = net.loss(batch, np.zeros((0, 2), int))
    assert loss == 0.0 and all(np.all(g == 0) for g in grads.values())
    tags, probs = net.predict(batch)
    assert tags.shape == (0, 2) and probs.shape == (0, K, 2)


def test_word_dropout_only_in_training():
    net = tiny(chars="cnn", word_dropout=0.5)
    words, chs, tags = sentences([6, 5])
    batch = net.batch(words, chs)
    assert net.loss(batch, tags)[0] == net.loss(batch, tags)[0]
    _, cache = net.forward(batch, rng=np.random.default_rng(0))
    seen = cache.emb                                    # the ids the embedding read
    real = batch.ids > 0
    assert np.any(seen[real] == 1) and np.any(seen[real] > 1) and np.all(seen[~real] == 0)
    np.testing.assert_array_equal(net.forward(batch)[1].emb, batch.ids)


def test_config_round_trip_and_checks():
    net = tiny("gru", True, 2, "lstm", True, 0.3, 0.1, dtype=np.float32)
    cfg = json.loads(json.dumps(net.config()))
    arrays = {k: v.copy() for k, v in net.params.items()}
    again = TaggerNet.from_config(cfg, arrays)
    assert again.config() == net.config() and again.n_params() == net.n_params()
    words, chs, _ = sentences([4, 2])
    batch = net.batch(words, chs)
    np.testing.assert_array_equal(net.predict(batch)[1], again.predict(batch)[1])
    assert net.n_params() == sum(v.size for v in net.params.values())
    # anything hostile is a ValueError before allocation
    bad = [{"layers": 10**12}, {"hidden": -1}, {"cell": "lstm2"}, {"char_features": "bigram"},
           {"crf": "yes"}, {"dropout": 1.0}, {"word_dropout": -0.1}, {"char_width": 0},
           {"max_word_chars": 0}, {"seed": "x"}, {"n_vocab": True}, {"extra": 1}]
    for change in bad:
        with pytest.raises(ValueError):
            TaggerNet.from_config({**cfg, **change}, arrays)
    with pytest.raises(ValueError):
        TaggerNet.from_config({k: v for k, v in cfg.items() if k != "n_tags"}, arrays)
    with pytest.raises(ValueError):
        TaggerNet.from_config(cfg, {**arrays, "out.by": np.zeros((K + 1, 1), np.float32)})
    with pytest.raises(ValueError):
        TaggerNet.from_config({**cfg, "crf": False}, arrays)          # keys differ


def test_bad_ids_are_errors():
    with pytest.raises(ValueError):
        TaggerNet(V, 0, K, char_features="lstm")        # no room for padding and <unk>
    net = tiny()
    words, chs, tags = sentences([3])
    batch = net.batch(words, chs)
    with pytest.raises(ValueError):
        net.predict(batch._replace(ids=batch.ids + V))
    with pytest.raises(ValueError):
        net.predict(batch._replace(chars=batch.chars + C))
    with pytest.raises(ValueError):
        net.loss(batch, tags + K)


# -- learning ----------------------------------------------------------------------------------------


def train(net, batch, tags, steps, lr=0.05, seed=0):
    opt, rng = Adam(lr=lr), np.random.default_rng(seed)
    for _ in range(steps):
        _, grads = net.loss(batch, tags, rng=rng)
        opt.step(net.params, grads)
    return net


def accuracy(pred, tags, lengths, where=None):
    real = np.arange(tags.shape[0])[:, None] < np.asarray(lengths)
    if where is not None:
        real &= where
    return float((pred == tags)[real].mean())


def teddy_data():
    """Whether "teddy" starts a name (B) or is a plain word (O) shows only in the NEXT word: "teddy
    bears are on sale" / "teddy roosevelt was a president". Every prefix occurs with both readings, so
    a left-to-right model cannot tag "teddy" better than half the time."""
    vocab = {w: i + 2 for i, w in enumerate(
        "the big see teddy bears roosevelt are on sale was a president".split())}
    O, B, I = 0, 1, 2
    rows = []
    for prefix in ([], ["the"], ["see"], ["the", "big"], ["see", "the"]):
        rows.append((prefix + "teddy bears are on sale".split(), [O] * len(prefix) + [O, O, O, O, O]))
        rows.append((prefix + "teddy roosevelt was a president".split(), [O] * len(prefix) + [B, I, O, O, O]))
    words = [[vocab[w] for w in r] for r, _ in rows]
    lengths = [len(r) for r in words]
    tags = np.zeros((max(lengths), len(rows)), int)
    for i, (_, t) in enumerate(rows):
        tags[:len(t), i] = t
    batch = make_batch(words)
    teddy = batch.ids == vocab["teddy"]
    return batch, tags, lengths, teddy, len(vocab) + 2


@pytest.mark.parametrize("crf", [False, True], ids=["softmax", "crf"])
def test_learns_a_tag_that_depends_on_the_next_word(crf):
    batch, tags, lengths, teddy, n_vocab = teddy_data()
    bi = train(TaggerNet(n_vocab, 0, 3, embed=8, hidden=8, char_features="none", crf=crf, dropout=0.0),
               batch, tags, 60)
    assert accuracy(bi.predict(batch)[0], tags, lengths) == 1.0
    uni = train(TaggerNet(n_vocab, 0, 3, embed=8, hidden=8, bidirectional=False, char_features="none",
                          crf=crf, dropout=0.0), batch, tags, 60)
    pred = uni.predict(batch)[0]
    assert accuracy(pred, tags, lengths, ~teddy) == 1.0      # it learnt the rest ...
    if not crf:
        assert accuracy(pred, tags, lengths, teddy) <= 0.5   # ... but cannot see what follows "teddy"
    else:
        # ... and Viterbi decodes the row as a whole: "roosevelt" is I, I only follows B, so the
        # left-to-right states plus the CRF's transitions get "teddy" right too
        assert accuracy(pred, tags, lengths, teddy) == 1.0


def suffix_data(seed, n_rows, stems):
    """Words are a stem + a suffix that gives the tag away: -ing 0, -ly 1, -s 2 (stems have none of
    the suffix letters). Char ids: letter index + 2."""
    rng = np.random.default_rng(seed)
    suffixes = ["ing", "ly", "s"]
    rows, tag_rows = [], []
    for _ in range(n_rows):
        L = int(rng.integers(2, 6))
        tag_rows.append(list(rng.integers(0, 3, L)))
        rows.append([stems[int(rng.integers(len(stems)))] + suffixes[t] for t in tag_rows[-1]])
    return rows, tag_rows


@pytest.mark.parametrize("chars", ["cnn", "lstm"])
def test_unseen_words_tagged_by_their_suffix(chars):
    letters = "abcdefghijklmnopqrstuvwxyz"
    stem_letters = "abcdefhkmoprtuv"
    rng = np.random.default_rng(0)
    stems = ["".join(rng.choice(list(stem_letters), int(rng.integers(2, 5)))) for _ in range(60)]
    train_stems, test_stems = stems[:40], [s for s in stems[40:] if s not in stems[:40]]
    train_rows, train_tags = suffix_data(1, 40, train_stems)
    test_rows, test_tags = suffix_data(2, 20, test_stems)
    vocab = {w: i + 2 for i, w in enumerate(sorted({w for r in train_rows for w in r}))}

    def encode(rows, tag_rows):
        words = [[vocab.get(w, 1) for w in r] for r in rows]
        chs = [[[letters.index(c) + 2 for c in w] for w in r] for r in rows]
        lengths = [len(r) for r in rows]
        tags = np.zeros((max(lengths), len(rows)), int)
        for i, t in enumerate(tag_rows):
            tags[:len(t), i] = t
        return words, chs, tags, lengths

    words, chs, tags, lengths = encode(train_rows, train_tags)
    t_words, t_chs, t_tags, t_lengths = encode(test_rows, test_tags)
    assert all(w == 1 for r in t_words for w in r)          # every test word is unseen

    def fit(kind):
        net = TaggerNet(len(vocab) + 2, len(letters) + 2, 3, embed=8, hidden=8, char_features=kind,
                        char_embed=8, char_hidden=8, dropout=0.0, word_dropout=0.3, seed=0)
        train(net, net.batch(words, chs), tags, 80)
        return net

    net = fit(chars)
    assert accuracy(net.predict(net.batch(words, chs))[0], tags, lengths) == 1.0
    assert accuracy(net.predict(net.batch(t_words, t_chs))[0], t_tags, t_lengths) == 1.0
    blind = fit("none")                                     # without characters: near chance
    assert accuracy(blind.predict(blind.batch(t_words, t_chs))[0], t_tags, t_lengths) < 0.5
