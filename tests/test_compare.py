"""seqcli compare: model specs, splits, the fan-out (same results whatever --jobs / backend, Dask
included), saved-model evaluation, probes, input gradients, the JSON document and the CLI."""

import json
import os
import sys

import numpy as np
import pytest

from seqcli import compare as cmp
from seqcli.compare import plan as compare_plan
from seqcli.compare import report, trials
from seqcli.compare import specs as model_specs
from seqcli.errors import SeqcliError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REVIEWS = os.path.join(REPO, "sample_data", "reviews.csv")
PAIR = ["the movie was not long but interesting", "the movie was long but not interesting"]
FAST = {"epochs": 1}


@pytest.fixture(scope="module")
def reviews(tmp_path_factory):
    """The first 300 rows of sample_data/reviews.csv (word order decides many labels)."""
    with open(REVIEWS, encoding="utf-8") as f:
        lines = f.read().splitlines()[:301]
    path = tmp_path_factory.mktemp("compare") / "reviews300.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def run(data, models, **kw):
    kw.setdefault("folds", 3)
    kw.setdefault("params", FAST)
    kw.setdefault("jobs", 1)
    return cmp.compare_classifiers(data, models, **kw)


def one_line_error(call, *args, **kwargs):
    with pytest.raises(SeqcliError) as info:
        call(*args, **kwargs)
    assert "\n" not in info.value.message and info.value.exit_code in (1, 2)  # runtime or usage
    return info.value.message


def cli(args):
    """Run the compare command through a one-command Typer app (as cli.py registers it)."""
    import typer
    from typer.testing import CliRunner

    from seqcli.cli.compare import compare

    app = typer.Typer(add_completion=False)
    app.command()(compare)
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


# ------------------------------------------------------------------------------------ model specs

def test_specs_aliases_and_options():
    specs = model_specs.parse_models(["bow,bigram,bilstm", "lstm:hidden=256,layers=2,gru:bi=yes,dropout=0"])
    assert [s.name for s in specs] == ["bow", "bigram", "bilstm", "lstm:hidden=256,layers=2",
                                       "gru:bi=yes,dropout=0"]
    assert [s.kind for s in specs] == ["bow", "bow", "lstm", "lstm", "gru"]
    assert specs[1].params == {"ngram_min": 1, "ngram_max": 2}
    assert specs[2].params == {"bidirectional": True}
    assert specs[3].params == {"hidden": 256, "layers": 2}
    assert specs[4].params == {"bidirectional": True, "dropout": 0.0}
    bow = model_specs.parse_models("bow:ngrams=1:3,mode=binary,min_df=2")[0]
    assert bow.params == {"ngram_min": 1, "ngram_max": 3, "mode": "binary", "min_df": 2}


def test_spec_options_override_command_line_values():
    lstm, bow = model_specs.parse_models("lstm:hidden=8,bow")
    common = {"hidden": 32, "embed": 16, "epochs": 2, "lr": None, "seed": 5}
    assert model_specs.estimator_params(lstm, common) == {"hidden": 8, "embed": 16, "epochs": 2, "seed": 5}
    assert model_specs.estimator_params(bow, common) == {"epochs": 2, "seed": 5}  # no hidden/embed for bow


def test_spec_model_file(tmp_path):
    path = tmp_path / "m.npz"
    spec = model_specs.parse_models(f"bow,{path}")[1]
    assert (spec.kind, spec.path, spec.trained) == ("file", str(path), False)


@pytest.mark.parametrize("spec, fragment", [
    ("foo", "unknown model 'foo'"),
    ("lstm:hiden=3", "unknown option 'hiden' for lstm"),
    ("lstm:hidden=abc", "hidden must be a whole number"),
    ("lstm:hidden=0", "hidden must be between 1 and 8192"),
    ("lstm:dropout=1", "dropout must be at least 0 and less than 1"),
    ("lstm:lr=-1", "lr must be more than 0"),
    ("bow:mode=xyz", "mode must be one of counts, binary, tfidf, nb"),
    ("bow:ngrams=x", "ngrams is a range"),
    ("bow:ngrams=3:1", "ngram_min is larger than ngram_max"),
    ("bow:bi=1", "unknown option 'bi' for bow"),
    ("hidden=3", "comes before any model kind"),
    ("bow,,lstm", "empty entry"),
    ("lstm:", "has a colon but no options"),
    ("bow,bow", "lists 'bow' twice"),
    ("model.npz:hidden=2", "unknown model"),
])
def test_bad_specs_are_one_line_errors(spec, fragment):
    assert fragment in one_line_error(model_specs.parse_models, spec)


def test_saved_model_takes_no_options(tmp_path):
    assert "takes no options" in one_line_error(model_specs.parse_models, f"{tmp_path}/m.npz,hidden=3")


# ----------------------------------------------------------------------------------------- splits

def test_folds_are_stratified_and_cover_every_row_once(reviews):
    plan = compare_plan.make_plan(reviews, folds=4)
    tested = np.concatenate([te for _, te in plan.splits])
    assert sorted(tested) == list(range(300))
    for tr, te in plan.splits:
        assert not set(tr) & set(te)
        share = np.mean(plan.labels[te] == "pos")
        assert abs(share - np.mean(plan.labels == "pos")) < 0.05


@pytest.mark.parametrize("kw, fragment", [
    ({"folds": 1}, "needs at least 2 folds"),
    ({"folds": 0}, "needs at least 2 folds"),
    ({"folds": 3, "val_split": 0.2}, "choose one of --folds, --test and --val-split"),
    ({"val_split": 1.5}, "--val-split must be between 0 and 1"),
])
def test_bad_splits(reviews, kw, fragment):
    assert fragment in one_line_error(compare_plan.make_plan, reviews, **kw)


def test_too_few_rows_per_class_for_k_folds(tmp_path):
    path = tmp_path / "small.csv"
    path.write_text("text,label\na b,x\nb c,x\nc d,y\nd e,y\ne f,y\n", encoding="utf-8")
    msg = one_line_error(compare_plan.make_plan, str(path), folds=3)
    assert msg == f"{path}: --folds 3 needs at least 3 rows of every class, but 'x' has 2; use --folds 2 or fewer"
    one = tmp_path / "one.csv"
    one.write_text("text,label\na,x\nb,x\n", encoding="utf-8")
    assert "at least two classes" in one_line_error(compare_plan.make_plan, str(one))


def test_val_split_and_test_file(reviews, tmp_path):
    plan = compare_plan.make_plan(reviews, val_split=0.2, seed=1)
    (tr, te), = plan.splits
    assert len(te) == 60 and len(tr) == 240 and plan.method["method"] == "val_split"
    test = tmp_path / "test.csv"
    test.write_text("text,label\nthe plot was dull,neg\nthe cast was lovely,pos\n", encoding="utf-8")
    plan = compare_plan.make_plan(reviews, test=str(test))
    (tr, te), = plan.splits
    assert list(tr) == list(range(300)) and list(te) == [300, 301]
    assert plan.texts[300] == "the plot was dull"


# -------------------------------------------------------------------------------------- fan-out

def test_identical_results_for_jobs_1_and_2(reviews):
    models = ["bow,bigram,gru:hidden=8,embed=8"]
    kw = dict(probes=PAIR, gradients=True, disagreements=5)
    one = run(reviews, models, jobs=1, **kw)
    two = run(reviews, models, jobs=2, **kw)
    assert one["run"]["jobs"] == 1 and two["run"]["jobs"] == 2
    assert report.without_timings(one) == report.without_timings(two)
    assert json.dumps(report.without_timings(one)) == json.dumps(report.without_timings(two))


def test_threading_backend_gives_the_same_results(reviews):
    a = run(reviews, ["bow,rnn:hidden=8,embed=8"], folds=2, jobs=1)
    b = run(reviews, ["bow,rnn:hidden=8,embed=8"], folds=2, jobs=2, backend="threading")
    assert b["run"]["backend"] == "threading"
    assert report.without_timings(a) == report.without_timings(b)


def test_progress_reports_every_model_and_fold(reviews):
    events, starts = [], []
    run(reviews, ["bow,bigram"], folds=3, on_start=starts.append, on_result=events.append)
    assert starts == [{"models": ["bow", "bigram"], "folds": 3, "tasks": 6}]
    assert sorted((e["model"], e["fold"]) for e in events) == [(m, f) for m in range(2) for f in range(3)]
    assert [e["done"] for e in events] == [1, 2, 3, 4, 5, 6]


def test_unigram_bag_of_words_cannot_tell_the_probe_pair_apart(reviews):
    doc = run(reviews, ["bow,bigram"], probes=PAIR)
    first, second = doc["probes"]
    assert [p["text"] for p in doc["probes"]] == PAIR
    assert first["predictions"]["bow"] == second["predictions"]["bow"]          # identical, not close
    assert first["predictions"]["bigram"]["probs"] != second["predictions"]["bigram"]["probs"]


def test_probe_pair_identical_for_each_single_bow_model(reviews):
    """Not only the fold average: every fitted unigram model scores the pair identically."""
    from seqcli.estimators import make_estimator
    from seqcli.data import read_table

    table = read_table(reviews)
    est = make_estimator("bow", {"epochs": 2}).fit(table.texts, table.labels)
    p = est.predict_proba(PAIR)
    assert np.array_equal(p[0], p[1])


# ------------------------------------------------------------------------------- the JSON schema

MODEL_KEYS = {"name", "kind", "source", "accuracy", "macro_f1", "log_loss", "train_seconds",
              "train_tokens_per_second", "epoch_seconds", "predict_rows_per_second", "n_params", "file_bytes",
              "confusion", "folds"}


def test_json_document_schema(reviews):
    rc, out, err = cli([reviews, "--models", "bow,rnn:hidden=8,embed=8", "--folds", "2", "--epochs", "1",
                        "--jobs", "1", "--probe", PAIR[0], "--probe", PAIR[1], "--gradients",
                        "--top", "3", "--json"])
    assert rc == 0, err
    assert out.count("\n") == 1  # one JSON document, nothing else on stdout
    doc = json.loads(out)
    assert set(doc) == {"data", "n_rows", "classes", "evaluation", "models", "best", "confusion_axes",
                        "disagreements", "probes", "gradients", "run"}
    assert doc["n_rows"] == 300 and doc["classes"] == ["neg", "pos"]
    assert doc["evaluation"] == {"method": "folds", "folds": 2, "seed": 0}
    assert set(doc["run"]) == {"jobs", "backend", "scheduler", "seconds"}
    bow, rnn = doc["models"]
    assert set(bow) == MODEL_KEYS | {"params"}
    assert bow["params"] == {"epochs": 1, "seed": 0}
    assert rnn["params"] == {"hidden": 8, "embed": 8, "epochs": 1, "seed": 0}
    for m in doc["models"]:
        assert set(m["accuracy"]) == {"mean", "std"} and 0 <= m["accuracy"]["mean"] <= 1
        assert set(m["train_seconds"]) == {"mean", "std"} and m["train_seconds"]["mean"] > 0
        assert m["train_tokens_per_second"]["mean"] > 0 and 0 < m["epoch_seconds"]["mean"] <= m["train_seconds"]["mean"]
        assert m["predict_rows_per_second"] > 0 and m["n_params"] > 0 and m["file_bytes"] > 0
        assert np.array(m["confusion"]).sum() == 300
        assert [f["fold"] for f in m["folds"]] == [0, 1]
        assert sum(f["n_test"] for f in m["folds"]) == 300
    assert set(doc["best"]) == {"accuracy", "macro_f1", "log_loss", "train_seconds", "train_tokens_per_second",
                                "epoch_seconds", "predict_rows_per_second", "n_params", "file_bytes"}
    assert doc["best"]["n_params"] == ["bow"] or bow["n_params"] >= rnn["n_params"]
    assert len(doc["disagreements"]) == 3
    d = doc["disagreements"][0]
    assert set(d) == {"text", "label", "gap", "predictions"}
    assert set(d["predictions"]["bow"]) == {"label", "probability"}
    assert [g["gap"] for g in doc["disagreements"]] == sorted((g["gap"] for g in doc["disagreements"]), reverse=True)
    assert set(doc["probes"][0]["predictions"]["rnn:hidden=8,embed=8"]) == {"label", "probability", "probs"}
    assert list(doc["gradients"]) == ["rnn:hidden=8,embed=8"]  # recurrent models only
    g = doc["gradients"]["rnn:hidden=8,embed=8"]
    assert set(g) == {"distance", "mean_norm", "rows", "per_step_factor", "mean_relative", "relative_per_step_factor"}
    assert g["distance"] == list(range(len(g["distance"]))) and len(g["distance"]) >= 5
    assert all(v > 0 for v in g["mean_norm"]) and all(r >= trials.GRADIENT_MIN_ROWS for r in g["rows"])


# --------------------------------------------------------------------------- saved-model evaluation

def test_saved_model_is_evaluated_as_it_is(reviews, tmp_path):
    from seqcli import api, models
    from seqcli.data import read_table

    train = tmp_path / "train.csv"
    test = tmp_path / "test.csv"
    with open(reviews, encoding="utf-8") as f:
        lines = f.read().splitlines()
    train.write_text("\n".join(lines[:201]) + "\n", encoding="utf-8")
    test.write_text("\n".join(lines[:1] + lines[201:]) + "\n", encoding="utf-8")
    model_path = tmp_path / "bigram.npz"
    api.train(str(train), str(model_path), 'classify', "bow", {"epochs": 3, "ngram_min": 1, "ngram_max": 2})

    doc = run(str(train), [f"bow,{model_path}"], folds=None, test=str(test))
    saved = doc["models"][1]
    assert saved["name"] == str(model_path) and saved["source"] == "file" and saved["path"] == str(model_path)
    assert saved["train_seconds"] is None and "params" not in saved
    assert saved["file_bytes"] == os.path.getsize(model_path)
    model = models.load(str(model_path), {"bow", "seq"})
    assert saved["n_params"] == sum(p.size for p in model.net.params.values())
    table = read_table(str(test))
    proba = model.predict_proba(table.texts)
    accuracy = np.mean(np.array(model.classes)[proba.argmax(axis=1)] == np.array(table.labels))
    assert saved["accuracy"]["mean"] == pytest.approx(accuracy, abs=1e-12)
    assert doc["best"]["train_seconds"] == ["bow"]  # a saved model has no training time


def test_saved_model_with_other_classes_is_refused(reviews, tmp_path):
    from seqcli import api

    other = tmp_path / "other.csv"
    other.write_text("text,label\n" + "".join(f"word{i} x,{'ab'[i % 2]}\n" for i in range(20)), encoding="utf-8")
    path = tmp_path / "other.npz"
    api.train(str(other), str(path), 'classify', "bow", {"epochs": 1})
    assert "are none of the labels" in one_line_error(run, reviews, [f"bow,{path}"])


def test_missing_model_file(reviews):
    assert "nothere.npz: no such file" in one_line_error(run, reviews, ["bow,nothere.npz"])


# ------------------------------------------------------------------------------ input gradients

@pytest.mark.parametrize("cell, bi", [("rnn", False), ("lstm", False), ("gru", True)])
def test_input_gradients_agree_with_the_embedding_gradient(cell, bi):
    """Scattering ∂loss_i/∂x⟨t⟩ onto the ids gives SeqNet's own (gradient-checked) ∂loss/∂E, times m."""
    from seqcli.nn.seqnet import SeqNet

    net = SeqNet(9, 3, cell=cell, embed=4, hidden=5, bidirectional=bi, dropout=0.0, seed=1, dtype=np.float64)
    rng = np.random.default_rng(0)
    lengths = np.array([5, 3, 1, 4])
    ids = rng.integers(1, 9, (5, 4))
    ids[np.arange(5)[:, None] >= lengths[None, :]] = 0
    y = np.array([0, 2, 1, 2])
    dx = trials.input_gradients(net, ids, lengths, y)
    assert dx.shape == (5, 4, 4)
    _, grads = net.loss(ids, lengths, y)
    dE = np.zeros_like(net.params["embed.E"])
    for t in range(5):
        for i in range(4):
            dE[:, ids[t, i]] += dx[t, :, i]
    assert np.allclose(dE / 4, grads["embed.E"], atol=1e-10)
    assert np.all(dx.transpose(0, 2, 1)[ids == 0] == 0)   # padded steps get no gradient


def test_gradient_profile_counts_rows_by_distance():
    from seqcli.estimators import make_estimator

    texts = ["a b c d", "b c", "d a b", "c"] * 5
    labels = ["x", "y", "x", "y"] * 5
    est = make_estimator("rnn", {"hidden": 4, "embed": 4, "epochs": 1, "val_split": 0}).fit(texts, labels)
    prof = trials.gradient_profile(est.model_, texts, labels)
    assert prof["count"] == [20, 15, 10, 5]   # 20 rows reach distance 0, 15 distance 1, ...
    summary = report.summarize_gradients([prof, prof], min_rows=25)
    assert summary["distance"] == [0, 1] and summary["rows"] == [40, 30]
    assert summary["mean_norm"][0] == pytest.approx(prof["sum"][0] / 20)
    assert summary["mean_relative"][0] == pytest.approx(prof["rel_sum"][0] / 20)
    assert sum(prof["rel_sum"]) == pytest.approx(sum(prof["count"]))   # each row's shares average to 1


def test_gradient_plot_draws_every_model():
    from seqcli.ui.compare import gradient_plot

    lines, legend = gradient_plot({"rnn": {"distance": [0, 1, 2, 3], "mean_norm": [1.0, 0.1, 0.01, 0.001]},
                                   "lstm": {"distance": [0, 1, 2, 3], "mean_norm": [1.0, 0.8, 0.6, 0.5]}},
                                  height=7)
    assert legend == [("o", "rnn"), ("x", "lstm")]
    plot = [line.split("│", 1)[1] for line in lines if "│" in line]
    assert len(plot) == 7
    assert plot[-1][3] == "o"                 # rnn's 1e-3 at the bottom right
    assert plot[0][0] in "ox"                 # both start at 1e0, top left
    assert lines[0].startswith("  1e+0") and lines[6].startswith("  1e-3")


# ------------------------------------------------------------------------------------ backends

def test_unknown_backend_and_scheduler_misuse():
    assert "unknown --backend 'nope'" in one_line_error(trials.check_backend, "nope", None)
    assert "is for --backend dask" in one_line_error(trials.check_backend, "loky", "tcp://127.0.0.1:1")
    assert trials.check_backend(None, None) is None
    assert trials.check_backend("threading", None) == "threading"


def test_dask_without_the_extra_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    msg = one_line_error(trials.check_backend, "dask", "tcp://127.0.0.1:8786")
    assert "pip install 'seqcli[dask]'" in msg


@pytest.mark.parametrize("processes", [False, True], ids=["threads", "processes"])
def test_dask_cluster_gives_the_same_results(reviews, processes):
    distributed = pytest.importorskip("distributed")
    assert trials.check_backend("dask", None) == "dask"      # a local cluster is started for it
    models = ["bow,rnn:hidden=8,embed=8"]
    local = run(reviews, models, folds=2, probes=PAIR)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=processes,
                                  host="127.0.0.1", protocol="tcp", dashboard_address=None) as cluster:
        remote = run(reviews, models, folds=2, probes=PAIR, jobs=-1, backend="dask",
                     scheduler=cluster.scheduler_address)
    assert remote["run"]["backend"] == "dask" and remote["run"]["scheduler"] == cluster.scheduler_address
    assert report.without_timings(remote) == report.without_timings(local)


def test_dask_scheduler_out_of_reach(reviews, monkeypatch):
    pytest.importorskip("distributed")
    import socket

    monkeypatch.setattr(trials, "DASK_CONNECT_TIMEOUT", "1s")
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    msg = one_line_error(run, reviews, ["bow"], folds=2, backend="dask", scheduler=f"tcp://127.0.0.1:{port}")
    assert msg.startswith(f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}")


# -------------------------------------------------------------------------------------------- CLI

def test_cli_report_on_stdout_progress_on_stderr(reviews, tmp_path, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    probes = tmp_path / "probes.txt"
    probes.write_text(PAIR[0] + "\n\n" + PAIR[1] + "\n", encoding="utf-8")
    rc, out, err = cli([reviews, "-m", "bow", "-m", "bigram", "--folds", "3", "--epochs", "1", "--jobs", "1",
                        "--probes", probes, "--confusion", "--top", "2"])
    assert rc == 0, err
    assert "3-fold stratified cross-validation" in out
    for header in ("accuracy", "macro-F1", "log-loss", "train s", "predict rows/s", "parameters", "model file"):
        assert header in out
    assert "* best in its column" in out
    assert "confusion matrices" in out and "where the models disagree most" in out
    assert "bow: exactly the same probabilities for every probe" in out
    progress = [line for line in err.splitlines() if " fold " in line]
    assert len(progress) == 6 and all(line.startswith("seqcli: [") for line in progress)
    assert "seqcli:" not in out


@pytest.mark.parametrize("args, fragment, code", [
    (["--models", "lstm:hiden=3"], "unknown option 'hiden' for lstm", 2),
    (["--models", "foo"], "unknown model 'foo'", 2),
    (["--folds", "1"], "needs at least 2 folds", 2),
    (["--folds", "500"], "--folds 500 needs at least 500 rows of every class", 1),
    (["--jobs", "0"], "--jobs must be at least 1", 2),
    (["--backend", "nope"], "unknown --backend", 2),
    (["--probes", "/nonexistent/probes.txt"], "no such file", 1),
    (["--test", "/nonexistent/test.csv"], "no such file", 1),
])
def test_cli_errors_are_one_line(reviews, args, fragment, code):
    """Option values the user got wrong are usage errors (2); what the data cannot give, runtime (1)."""
    rc, out, err = cli([reviews, *args, "--epochs", "1"])
    assert rc == code and out == ""
    assert err.count("\n") == 1 and err.startswith("seqcli: error: ") and fragment in err


def test_cli_module_imports_nothing_heavy():
    import subprocess

    code = ("import sys, seqcli.cli.compare; "
            "print(sorted(m for m in ('sklearn', 'joblib', 'rich', 'numpy', 'seqcli.compare') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_run_cut_short_is_scored_with_its_best_weights(reviews):
    doc = run(reviews, ["bow:max_steps=1"], folds=2)
    assert [f["halted"] for f in doc["models"][0]["folds"]] == ["reached --max-steps 1"] * 2
    assert 0 <= doc["models"][0]["accuracy"]["mean"] <= 1


def test_dask_backend_without_a_scheduler_starts_a_local_cluster_and_says_so(reviews):
    pytest.importorskip("distributed")
    notes = []
    doc = run(reviews, ["bow"], folds=2, backend="dask", jobs=1, notify=notes.append)
    assert doc["run"]["backend"] == "dask"
    assert any("started a local Dask cluster: 1 worker on 127.0.0.1" in n for n in notes), notes
    assert report.without_timings(doc) == report.without_timings(run(reviews, ["bow"], folds=2))
