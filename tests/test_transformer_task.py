"""`--model transformer` through the one core: its config and options, AdamW and the warm-up schedule,
train / predict / resume from the command line, the estimator, compare's specs and gradient profile,
and `--explain` (attention per layer and head, the per-prefix probability, --json)."""

import json

import numpy as np
import pytest
from conftest import SAMPLE_REVIEWS, run_seqcli

from seqcli.config import ConfigError, TrainConfig, TransformerLMConfig, TransformerSeqConfig, bounds
from seqcli.nn.optim import make_optimizer
from seqcli.training.schedule import lr_factor

SMALL = ["--model", "transformer", "--hidden", "8", "--heads", "2", "--ff", "16", "--epochs", "2", "-q"]


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("transformer") / "small.csv"
    path.write_text("".join(SAMPLE_REVIEWS.read_text().splitlines(keepends=True)[:301]))
    return path


@pytest.fixture(scope="module")
def fitted(small_csv, tmp_path_factory):
    """A small transformer classifier trained on the sample reviews (and its file)."""
    out = tmp_path_factory.mktemp("fitted") / "t.npz"
    rc, _, err = run_seqcli(["train", small_csv, *SMALL[:-3], "--epochs", "6", "--lr", "0.01", "--warmup", "5",
                             "-o", out, "-q"])
    assert rc == 0, err
    from seqcli import models

    return models.load(str(out)), out


# ------------------------------------------------------------------------------- configuration

def test_the_configs_check_what_a_transformer_cannot_be():
    assert TransformerSeqConfig().cell == "transformer" and TransformerLMConfig().window == 64
    with pytest.raises(ConfigError, match="multiple of heads"):
        TransformerSeqConfig(hidden=10, heads=4)
    with pytest.raises(ConfigError, match="bidirectional does not apply"):
        TransformerSeqConfig(bidirectional=True)
    t = TrainConfig().with_defaults(TransformerSeqConfig())
    assert (t.optimizer, t.warmup) == ("adamw", 100)
    assert TrainConfig().with_defaults(TransformerLMConfig()).optimizer == "adamw"


def test_the_new_options_have_the_bounds_of_their_fields():
    import typer

    from seqcli.cli import app

    params = {p.name: p for p in typer.main.get_command(app).commands["train"].params}
    for name, cls in (("heads", TransformerLMConfig), ("ff", TransformerLMConfig),
                      ("block_size", TransformerLMConfig), ("warmup", TrainConfig)):
        assert (params[name].min, params[name].max) == bounds(cls, name)[:2], name
    from conftest import run_inprocess

    for option, name in (("--positions", "positions"), ("--activation", "activation")):
        for choice in bounds(TransformerLMConfig, name)[4]:
            assert "does not apply" in run_inprocess(["train", "no.csv", option, choice])[2]   # taken, then refused
        assert run_inprocess(["train", "no.csv", option, "bogus"])[0] == 2


# ------------------------------------------------------------------------------- optimisation

def test_warm_up_rises_linearly_then_decays_as_the_inverse_square_root():
    assert [lr_factor(t, 4) for t in (1, 2, 4)] == [0.25, 0.5, 1.0]
    assert lr_factor(16, 4) == pytest.approx(0.5) and lr_factor(64, 4) == pytest.approx(0.25)
    assert lr_factor(1, None) == lr_factor(10**6, 0) == 1.0


def test_adamw_decays_matrices_only_and_apart_from_the_gradient():
    params = {"enc.W": np.ones((3, 2)), "enc.b": np.ones((3, 1)), "enc.ln.g": np.ones((3, 1))}
    zero = {k: np.zeros_like(v) for k, v in params.items()}
    opt = make_optimizer("adamw", 0.1, weight_decay=0.5)
    opt.step(params, zero)                                  # no gradient: only the decay moves anything
    np.testing.assert_allclose(params["enc.W"], 0.95)
    np.testing.assert_array_equal(params["enc.b"], 1.0)
    np.testing.assert_array_equal(params["enc.ln.g"], 1.0)
    plain = {"W": np.ones((3, 2))}
    make_optimizer("adam", 0.1, weight_decay=0.5).step(plain, {"W": np.zeros((3, 2))})
    assert plain["W"][0, 0] < 0.95                          # L2 in the gradient: Adam's full-size step


def test_the_loop_follows_the_schedule(small_csv):
    from seqcli.estimators import make_estimator

    seen = []
    est = make_estimator("transformer", {"hidden": 8, "heads": 2, "ff": 8, "epochs": 2, "warmup": 4, "lr": 0.01,
                                         "patience": 5})
    est.fit(["good film", "bad film"] * 40, ["pos", "neg"] * 40,
            report=lambda e: seen.append(e.get("lr")) if e["event"] == "batch" else None)
    assert seen == pytest.approx([0.01 * lr_factor(t, 4) for t in range(1, 7)])


# ------------------------------------------------------------------------------- command line

def test_train_predict_and_the_model_file(fitted, small_csv):
    model, path = fitted
    assert model.kind == "seq" and model.net.cell == "transformer" and model.config.pool == "mean"
    rc, out, err = run_seqcli(["predict", path], input="the movie was not long but interesting\n\nboring\n")
    assert rc == 0, err
    lines = out.splitlines()
    assert len(lines) == 3 and all(line.split("\t")[0] in ("pos", "neg") for line in lines)


@pytest.mark.parametrize("args,flag", [(["--model", "transformer", "--bidirectional"], "--bidirectional"),
                                       (["--model", "lstm", "--heads", "2"], "--heads"),
                                       (["--model", "transformer", "--block-size", "16"], "--block-size"),
                                       (["--task", "lm", "--model", "transformer", "--seq-len", "9"], "--seq-len")])
def test_an_option_of_the_other_kind_is_refused(small_csv, tmp_path, args, flag):
    rc, out, err = run_seqcli(["train", small_csv, *args, "-o", tmp_path / "m.npz"])
    assert rc == 2 and err.startswith(f"seqcli: error: {flag} does not apply to --task") and err.count("\n") == 1


def test_max_steps_then_resume_gives_the_same_model_file_byte_for_byte(small_csv, tmp_path):
    whole, halted = tmp_path / "whole.npz", tmp_path / "halted.npz"
    args = [*SMALL, "--warmup", "8", "--dropout", "0.2"]
    assert run_seqcli(["train", small_csv, *args, "-o", whole])[0] == 0
    rc, _, err = run_seqcli(["train", small_csv, *args, "-o", halted, "--max-steps", "11"])
    assert rc == 0 and "reached --max-steps 11" in err
    rc, _, err = run_seqcli(["train", small_csv, "-o", halted, "--resume", tmp_path / "halted.ckpt.npz", "-q"])
    assert rc == 0, err
    assert halted.read_bytes() == whole.read_bytes()


# ------------------------------------------------------------------------------- compare

def test_compare_specs_and_the_gradient_profile(fitted):
    from seqcli.compare.specs import parse_models
    from seqcli.compare.trials import gradient_profile
    from seqcli.errors import SeqcliError

    spec = parse_models(["lstm,transformer:heads=2,hidden=8,pool=first"])[1]
    assert (spec.kind, spec.params) == ("transformer", {"heads": 2, "hidden": 8, "pool": "first"})
    with pytest.raises(SeqcliError, match="unknown option 'bi'"):
        parse_models(["transformer:bi=1"])
    model, _ = fitted
    texts = ["the movie was not long but interesting and the plot was never boring at all"] * 10
    prof = gradient_profile(model, texts, ["pos"] * 10)
    norms = np.array(prof["sum"]) / np.maximum(prof["count"], 1)
    assert len(norms) == len(model.tokenize(texts[0])) and (norms > 0).all()


# ------------------------------------------------------------------------------- explain

def test_explain_record_attention_and_prefix_probabilities(fitted):
    from seqcli import api

    model, _ = fitted
    text = "the movie was not long but interesting"
    (rec,) = api.explain(model, [text])
    T = len(rec["tokens"])
    assert rec["kind"] == "attention" and rec["layers"] == [0] and rec["heads"] == [0, 1]
    assert rec["attention"][0].shape == (2, T, T)
    np.testing.assert_allclose(rec["attention"][0].sum(axis=-1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(rec["prefix_proba"][:, -1], rec["probs"], rtol=1e-5)   # the last prefix: the text
    alone = model.predict_proba([" ".join(rec["tokens"][:3])])[0]
    np.testing.assert_allclose(rec["prefix_proba"][:, 2], alone, rtol=1e-5)
    (one,) = api.explain(model, [text], layer=-1, heads="1")
    np.testing.assert_array_equal(one["attention"][0][0], rec["attention"][0][1])


def test_explain_on_the_command_line_and_as_json(fitted):
    _, path = fitted
    rc, out, err = run_seqcli(["predict", path, "--explain", "--no-color", "--head", "1"], input="not long\n")
    assert rc == 0, err
    assert "layer 0 · head 1" in out and "head 0" not in out and "P(" in out
    rc, out, _ = run_seqcli(["predict", path, "--explain", "--json"], input="not long\nboring\n")
    docs = [json.loads(line) for line in out.splitlines()]
    assert len(docs) == 2 and docs[0]["model"]["cell"] == "transformer"
    assert set(docs[0]["attention"]["l0"]) == {"h0", "h1"} and len(docs[0]["attention"]["l0"]["h0"]) == 2
    assert set(docs[0]["prefix_proba"]) == {"neg", "pos"}
    for args, match in [(["--units", "3"], "a transformer has attention heads"), (["--head", "5"], "2 heads"),
                        (["--stats"], "no gates")]:
        rc, _, err = run_seqcli(["predict", path, "--explain", *args], input="x\n")
        assert rc == 2 and match in err, (args, err)
