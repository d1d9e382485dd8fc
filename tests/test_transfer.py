"""Transfer learning: frozen and scaled parameters in the shared optimizer, --embeddings in every vector
format, word language models (--split word), --init-from a word LM, and --pretrain in one command."""

import gzip
import itertools
import json

import numpy as np
import pytest
from conftest import csv_text, run_inprocess, separable_rows

from seqcli import api, models
from seqcli.errors import SeqcliError
from seqcli.nn.functional import global_norm
from seqcli.nn.optim import SGD, Adam

# ------------------------------------------------------------------------------ optimizer scales


@pytest.mark.parametrize("opt", [Adam, SGD])
def test_frozen_parameters_get_no_update_no_decay_and_no_moments(opt):
    rng = np.random.default_rng(0)
    P = {"W": rng.standard_normal((2, 3)), "E": rng.standard_normal((2, 4)), "b": rng.standard_normal((2, 1))}
    start = {k: v.copy() for k, v in P.items()}
    o = opt(lr=0.1, weight_decay=0.5)
    o.scale = {"W": 0.0, "E": np.array([[1.0, 0.0, 1.0, 0.0]])}
    for _ in range(3):
        grads = o.trainable({k: rng.standard_normal(v.shape) for k, v in P.items()})
        assert "W" not in grads and not grads["E"][:, 1].any() and not grads["E"][:, 3].any()
        o.step(P, grads)
    assert np.array_equal(P["W"], start["W"])                       # frozen: not even decayed
    assert np.array_equal(P["E"][:, [1, 3]], start["E"][:, [1, 3]])  # frozen columns
    assert not np.allclose(P["E"][:, [0, 2]], start["E"][:, [0, 2]])
    assert not np.allclose(P["b"], start["b"])
    moments = o.state_arrays()[0]
    assert not any(k.endswith(".W") for k in moments)


def test_a_learning_rate_factor_scales_the_step_and_a_late_start_is_a_first_step():
    g = {"W": np.full((2, 2), 0.3)}
    full, half = Adam(lr=0.1), Adam(lr=0.1)
    half.scale = {"W": 0.5}
    P1, P2 = {"W": np.zeros((2, 2))}, {"W": np.zeros((2, 2))}
    full.step(P1, dict(g))
    half.step(P2, dict(g))
    assert np.allclose(P2["W"], 0.5 * P1["W"])
    # frozen for 5 steps, then trained: its first step is Adam's first step (bias-corrected), not a
    # step scaled by moments that never saw it
    late = Adam(lr=0.1)
    late.scale = {"W": 0.0}
    P3 = {"W": np.zeros((2, 2)), "b": np.zeros((2, 1))}
    for _ in range(5):
        late.step(P3, late.trainable({"W": g["W"].copy(), "b": np.ones((2, 1))}))
    late.scale = {}
    late.step(P3, {"W": g["W"].copy(), "b": np.ones((2, 1))})
    assert np.allclose(P3["W"], P1["W"])
    # and the count survives a checkpoint
    again = Adam(lr=0.1)
    again.load_state(*late.state_arrays())
    assert again.behind == late.behind == {"W": 5}


def test_frozen_gradients_do_not_count_in_the_clipping_norm():
    o = Adam()
    o.scale = {"big": 0.0}
    grads = o.trainable({"big": np.full(4, 100.0), "small": np.ones(4)})
    assert global_norm(grads) == pytest.approx(2.0)


# ------------------------------------------------------------------------------------ data files

WORDS = ["the", "film", "was", "and", "good", "great", "fine", "nice", "lovely", "superb", "bad", "awful",
         "poor", "ugly", "dull", "boring"]


def vectors_for(words, dim=6, seed=3):
    rng = np.random.default_rng(seed)
    return {w: rng.standard_normal(dim).astype(np.float32) for w in words}


def write_vectors(path, vecs, fmt):
    """A vector file of ``vecs`` in ``fmt``: w2v (text with header), glove, vec (fastText, trailing
    space), bin (word2vec binary), and any of them + ".gz"."""
    dim = len(next(iter(vecs.values())))
    base = fmt.removesuffix(".gz")
    if base == "bin":
        data = f"{len(vecs)} {dim}\n".encode() + b"".join(
            w.encode() + b" " + v.astype("<f4").tobytes() + b"\n" for w, v in vecs.items())
    else:
        lines = [f"{len(vecs)} {dim}"] if base in ("w2v", "vec") else []
        end = " " if base == "vec" else ""
        lines += [w + " " + " ".join(f"{x:.8f}" for x in v) + end for w, v in vecs.items()]
        data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if fmt.endswith(".gz") else data)
    return path


@pytest.fixture
def reviews(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text(csv_text(separable_rows(80)), encoding="utf-8")
    return path


_RUNS = itertools.count()


def train(data, tmp_path, params, model="lstm", task=None, notes=None, **kw):
    """(the fitted model, the summary) of api.train; the model file is summary["output"]."""
    out = tmp_path / f"m{next(_RUNS)}.npz"
    small = {"hidden": 8, "epochs": 2, "seed": 0} if task != "lm" else {"hidden": 8, "epochs": 1, "seed": 0}
    summary = api.train(str(data), str(out), task, model, {**small, **params},
                        info=(notes.append if notes is not None else None), **kw)
    return models.load(out), summary


# ----------------------------------------------------------------------------------- --embeddings

@pytest.mark.parametrize("fmt", ["w2v", "glove", "vec", "bin", "glove.gz", "bin.gz"])
def test_embeddings_in_every_format_start_the_classifier_and_freeze_keeps_them(fmt, reviews, tmp_path):
    vecs = vectors_for(WORDS[:-2] + ["Unicorn"])   # "boring", "dull" missing: initialised as today
    path = write_vectors(tmp_path / f"v.{fmt}", vecs, fmt)
    notes = []
    model, summary = train(reviews, tmp_path, {"embeddings": str(path), "freeze_embeddings": True}, notes=notes)
    E = model.net.params["embed.E"]
    assert E.shape[0] == 6   # the file's dimension, as --embed was not given
    for w, v in vecs.items():
        if w in model.vocab.index:
            assert np.allclose(E[:, model.vocab.index[w]], v, atol=1e-6), w   # still the file's: frozen
    cov = summary["transfer"]["embeddings"]
    assert cov["found"] == len(model.vocab) - 2 - 2 and cov["frozen"] and cov["dim"] == 6
    assert 0 < cov["word_coverage"] < 1 and 0 < cov["token_coverage"] < 1
    assert any(f"found {cov['found']:,} of {cov['words']:,} words" in n for n in notes)
    # the words the file lacks learnt
    fresh = train(reviews, tmp_path, {"embeddings": str(path), "epochs": 0 + 1, "lr": 1e-9})[0]
    dull = model.vocab.index["dull"]
    assert not np.allclose(E[:, dull], fresh.net.params["embed.E"][:, dull])


def test_embeddings_not_frozen_learn_and_case_folding_is_reported(reviews, tmp_path):
    vecs = vectors_for([w.upper() if w == "good" else w for w in WORDS])
    path = write_vectors(tmp_path / "v.txt", vecs, "glove")
    model, summary = train(reviews, tmp_path, {"embeddings": str(path), "lr": 0.05})
    E = model.net.params["embed.E"]
    assert not np.allclose(E[:, model.vocab.index["bad"]], vecs["bad"])
    assert summary["transfer"]["embeddings"]["by_case_folding"] == 1


def test_embeddings_errors_are_one_line(reviews, tmp_path):
    path = write_vectors(tmp_path / "v.txt", vectors_for(WORDS), "w2v")
    with pytest.raises(SeqcliError, match=r"v.txt: the vectors have 6 dimensions but the word embedding has 4"):
        train(reviews, tmp_path, {"embeddings": str(path), "embed": 4})
    bad = tmp_path / "bad.txt"
    bad.write_text("the 0.1 0.2 0.3\nfilm 0.1 0.2\n")
    with pytest.raises(SeqcliError, match=r"bad.txt: line 2 has 2 values, expected 3"):
        train(reviews, tmp_path, {"embeddings": str(bad)})
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(SeqcliError, match=r"empty.txt: empty file"):
        train(reviews, tmp_path, {"embeddings": str(empty)})
    rc, out, err = run_inprocess(["train", reviews, "--model", "lstm", "--freeze-embeddings", "-o",
                                  tmp_path / "x.npz"])
    assert rc == 2 and "--freeze-embeddings keeps pretrained word vectors fixed" in err
    rc, out, err = run_inprocess(["train", reviews, "--model", "lstm", "--layer-decay", "2", "-o", tmp_path / "x.npz"])
    assert rc == 2 and "--layer-decay applies to a model started from a language model" in err
    rc, out, err = run_inprocess(["train", reviews, "--embeddings", path, "-o", tmp_path / "x.npz"])
    assert rc == 2 and "--embeddings does not apply to --task classify --model bow" in err


# -------------------------------------------------------------------------------- word language models

CORPUS = "".join(f"the film was {a} and {b}\n" for a in ("good", "bad", "dull", "fine") for b in
                 ("great", "awful", "nice", "poor")) * 6


def test_a_word_language_model_trains_generates_and_scores(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text(CORPUS)
    lm, summary = train(corpus, tmp_path, {"split": "word", "epochs": 3, "seq_len": 8, "batch_size": 4,
                                           "embed": 8, "min_count": 2}, task="lm")
    assert lm.units.split == "word" and lm.chars[:3] == ["<pad>", "<unk>", "<eos>"]
    assert summary["split"] == "word" and summary["val_ppl"] > 1 and "val_bpc" not in summary
    gen = api.generation(lm, "the film", length=12, seed=1)
    text = "".join(gen)
    assert text.startswith("the film ") and "<pad>" not in text and gen.generated == 12
    assert "12 words" in gen.note() and "4-grams" in gen.note()
    good, odd = lm.score_lines(["the film was good and great", "great and good was film the"])
    assert good < odd   # bits per word: the corpus's order is likelier
    record = next(iter(api.explain(lm, ["the film was good"])))
    assert record["split"] == "word" and record["tokens"] == ["the", "film", "was", "good"]
    assert record["arrays"]["l0.fw.a"].shape == (8, 4)   # one column per word
    again = models.load(summary["output"])
    assert again.units.tokens == lm.units.tokens and again.score_lines(["the film"])[0] == pytest.approx(
        lm.score_lines(["the film"])[0])


def test_a_csv_text_column_is_a_corpus_and_char_models_refuse_word_options(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text(csv_text([(line, "x") for line in CORPUS.splitlines()], header=("review", "label")))
    lm, _ = train(data, tmp_path, {"split": "word", "seq_len": 8}, task="lm", columns={"text_col": "review"})
    assert "film" in lm.index and "x" not in lm.index
    with pytest.raises(SeqcliError, match="--min-count: for word models"):
        train(data, tmp_path, {"min_count": 3}, task="lm")


# --------------------------------------------------------------------------------- --init-from

@pytest.fixture
def word_lm(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text(CORPUS + "".join(r[0] + "\n" for r in separable_rows(80)))
    out = tmp_path / "lm.npz"
    api.train(str(corpus), str(out), "lm", "lstm", {"split": "word", "hidden": 8, "embed": 5, "epochs": 1,
                                                    "seq_len": 8, "min_count": 1})
    return out


def test_init_from_copies_the_embedding_and_stack_and_freeze_epochs_keeps_them(word_lm, reviews, tmp_path):
    lm = models.load(word_lm)
    model, summary = train(reviews, tmp_path, {"init_from": str(word_lm), "freeze_epochs": 2})
    P, L = model.net.params, lm.net.params
    assert P["embed.E"].shape[0] == 5   # the LM's sizes, as none were given
    for w in ("film", "good", "boring"):
        assert np.array_equal(P["embed.E"][:, model.vocab.index[w]], L["embed.E"][:, lm.index[w]])
    for k in ("Wax", "Waa", "ba"):
        assert np.array_equal(P[f"enc.l0.fw.{k}"], L[f"rnn.l0.{k}"])   # fixed for both epochs
    assert summary["transfer"]["init"]["words_found"] == len(model.vocab) - 2
    trained = train(reviews, tmp_path, {"init_from": str(word_lm), "freeze_epochs": 1, "lr": 0.05,
                                        "freeze_embeddings": True})[0]
    assert not np.array_equal(trained.net.params["enc.l0.fw.Waa"], L["rnn.l0.Waa"])   # then trained
    film = trained.vocab.index["film"]
    assert np.array_equal(trained.net.params["embed.E"][:, film], L["embed.E"][:, lm.index["film"]])   # for good


def test_init_from_a_model_of_another_shape_or_kind_is_one_line(word_lm, reviews, tmp_path):
    classifier = train(reviews, tmp_path, {"epochs": 1})[1]["output"]
    with pytest.raises(SeqcliError, match=r"lm.npz: a language model of another shape: hidden 8 \(here 16\); "
                                          r"train with --hidden 8"):
        train(reviews, tmp_path, {"init_from": str(word_lm), "hidden": 16})
    with pytest.raises(SeqcliError, match=r"cell lstm \(here gru\)"):
        train(reviews, tmp_path, {"init_from": str(word_lm)}, model="gru")
    with pytest.raises(SeqcliError, match="reads left to right"):
        train(reviews, tmp_path, {"init_from": str(word_lm), "bidirectional": True})
    chars = tmp_path / "chars.npz"
    (tmp_path / "c.txt").write_text(CORPUS)
    api.train(str(tmp_path / "c.txt"), str(chars), "lm", "lstm", {"hidden": 8, "epochs": 1, "seq_len": 8})
    with pytest.raises(SeqcliError, match="chars.npz: is a character language model; --init-from needs a word one"):
        train(reviews, tmp_path, {"init_from": str(chars)})
    with pytest.raises(SeqcliError, match="is a recurrent classifier, but a character language model"):
        train(reviews, tmp_path, {"init_from": classifier})


# ----------------------------------------------------------------------------------- --pretrain

def test_pretrain_in_one_command_reports_both_phases(reviews, tmp_path):
    corpus = tmp_path / "more.txt"
    corpus.write_text("the lovely film\nan awful film\n" * 20)
    events = []
    model, summary = train(reviews, tmp_path, {"pretrain": True, "pretrain_corpus": str(corpus),
                                               "pretrain_epochs": 1, "layer_decay": 2.6},
                           report=events.append)
    starts = [e for e in events if e["event"] == "start"]
    assert starts[0]["task"] == "lm" and starts[0]["phase"] == "pretrain"
    phases = summary["transfer"]
    assert phases["pretrain"]["split"] == "word" and phases["pretrain"]["n_texts"] == 72
    assert phases["init"]["words_found"] == len(model.vocab) - 2
    assert "lovely" in model.vocab.index   # a word only the corpus had joins the vocabulary
    assert json.dumps(summary) and summary["pretrain_seconds"] > 0
    # the same seed gives the same file: no timing is stored in it
    again = train(reviews, tmp_path, {"pretrain": True, "pretrain_corpus": str(corpus), "pretrain_epochs": 1,
                                      "layer_decay": 2.6})[1]
    with open(summary["output"], "rb") as a, open(again["output"], "rb") as b:
        assert a.read() == b.read()


def test_compare_knows_the_pretrained_model():
    from seqcli.compare.specs import estimator_params, parse_models

    spec = parse_models(["pretrained:hidden=16,pretrain_epochs=2"])[0]
    assert (spec.kind, spec.params) == ("lstm", {"pretrain": True, "hidden": 16, "pretrain_epochs": 2})
    assert estimator_params(spec, {"epochs": 3})["pretrain"] is True


# --------------------------------------------------------------------------------- sampled softmax

def test_sampled_softmax_gradients_match_central_differences():
    from gradcheck import numeric_grad, rel_error

    from seqcli.nn.sampled import proposal, sampled_softmax_loss

    rng = np.random.default_rng(0)
    n_y, n_a, N, K = 7, 4, 5, 6
    H, W, b = rng.standard_normal((n_a, N)), rng.standard_normal((n_y, n_a)), rng.standard_normal((n_y, 1))
    y = np.array([1, 3, 3, 6, 2])
    neg = np.array([3, 5, 0, 5, 2, 4])          # repeats and accidental hits included
    logq = np.log(K * proposal(np.arange(1, n_y + 1)))
    w = np.array([1.0, 0.0, 1.0, 1.0, 0.5])
    loss, dH, dW, db = sampled_softmax_loss(H, W, b, y, neg, logq, w)
    for arr, grad in ((H, dH), (W, dW), (b, db)):
        num = numeric_grad(lambda: sampled_softmax_loss(H, W, b, y, neg, logq, w)[0], arr)
        assert rel_error(grad, num) <= 1e-6
    # every candidate a hit leaves only the target: loss 0
    assert sampled_softmax_loss(H[:, :1], W, b, y[:1], np.array([1, 1]), logq)[0] == pytest.approx(0.0)


def test_a_large_vocabulary_trains_sampled_and_masked_steps_stay_finite(tmp_path, monkeypatch):
    from seqcli.tasks import lm as lm_task

    monkeypatch.setattr(lm_task, "SAMPLED_ABOVE", 5)
    monkeypatch.setattr(lm_task, "SAMPLED", 4)
    corpus = tmp_path / "c.txt"
    corpus.write_text(CORPUS[:-7])   # a length the streams do not divide: masked steps in the last window
    _, summary = train(corpus, tmp_path, {"split": "word", "seq_len": 7, "batch_size": 5, "epochs": 2}, task="lm")
    assert np.isfinite(summary["val_loss"]) and summary["steps"] > 0


# ------------------------------------------------------------------------------ taggers' word vectors

TAGGED = "".join(f"{w}\t{t}\n" + ("\n" if w == "." else "")
                 for w, t in [("the", "DET"), ("film", "NOUN"), ("was", "AUX"), ("good", "ADJ"), (".", "PUNCT")] * 12)


def test_a_tagger_starts_from_word_vectors_and_frozen_ones_stay(tmp_path):
    data = tmp_path / "t.conll"
    data.write_text(TAGGED, encoding="utf-8")
    vecs = vectors_for(["the", "film", "good", "unicorn"])   # "was" and "." missing: initialised as today
    path = write_vectors(tmp_path / "v.txt", vecs, "glove")
    notes = []
    model, summary = train(data, tmp_path, {"embeddings": str(path), "freeze_embeddings": True, "hidden": 4,
                                            "char_hidden": 3, "char_embed": 3}, task="tag", notes=notes)
    E = model.net.params["embed.E"]
    assert E.shape[0] == 6   # the file's dimension, as --embed was not given
    for w in ("the", "film", "good"):
        assert np.allclose(E[:, model.words.index(w)], vecs[w], atol=1e-6), w   # frozen: still the file's
    cov = summary["transfer"]["embeddings"]
    assert cov["found"] == 3 and cov["frozen"] and any("found 3 of" in n for n in notes)
    fresh = train(data, tmp_path, {"embeddings": str(path), "hidden": 4, "epochs": 1, "lr": 1e-9}, task="tag")[0]
    was = model.words.index("was")   # a word the file lacks learnt
    assert not np.allclose(E[:, was], fresh.net.params["embed.E"][:, was])


def test_a_tagger_refuses_a_language_model_start(tmp_path):
    data = tmp_path / "t.conll"
    data.write_text(TAGGED, encoding="utf-8")
    rc, out, err = run_inprocess(["train", str(data), "--task", "tag", "--pretrain", "-o", str(tmp_path / "x.npz")])
    assert rc == 2 and "--pretrain" in err and "Traceback" not in err and len(err.strip().splitlines()) <= 2


def test_a_seq2seq_word_side_starts_from_word_vectors_and_a_char_side_is_refused(tmp_path):
    pairs = tmp_path / "p.csv"
    rows = [("the film", "le film"), ("the song", "la chanson"), ("a film", "un film"), ("a song", "une chanson")] * 6
    pairs.write_text("source,target\n" + "".join(f"{s},{t}\n" for s, t in rows), encoding="utf-8")
    vecs = vectors_for(["the", "film", "song", "le", "chanson"])
    path = write_vectors(tmp_path / "v.txt", vecs, "w2v")
    params = {"embeddings": str(path), "freeze_embeddings": True, "hidden": 8, "epochs": 1}
    model, summary = train(pairs, tmp_path, params, task="seq2seq")
    P = model.net.params
    for w in ("the", "film", "song"):
        assert np.allclose(P["src.E"][:, model.src_vocab.index[w]], vecs[w], atol=1e-6), w
    for w in ("le", "chanson", "film"):   # "film" is a target word too
        assert np.allclose(P["tgt.E"][:, model.tgt_vocab.index[w]], vecs[w], atol=1e-6), w
    cov = summary["transfer"]["embeddings"]
    assert cov["source"]["found"] == 3 and cov["target"]["found"] == 3 and cov["source"]["frozen"]
    with pytest.raises(SeqcliError, match="word vectors need a side split into words"):
        train(pairs, tmp_path, {**params, "source_split": "char", "target_split": "char"}, task="seq2seq")
