"""Issue 17 (speed), correctness only: training runs BLAS on one thread for every task, whatever the
caller's setting, and gives the caller's setting back."""

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from seqcli.tasks.classify import make_job
from seqcli.training.fit import fit

TEXTS = ["good fun film", "bad dull plot", "fun good", "dull bad", "a good one", "a bad one"] * 3
LABELS = ["pos", "neg", "pos", "neg", "pos", "neg"] * 3


def _blas_threads():
    return {p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"}


def test_training_steps_and_validation_run_on_one_blas_thread_and_the_setting_comes_back():
    job, _ = make_job("lstm", {"epochs": 1, "hidden": 4, "embed": 3, "batch_size": 4}, TEXTS, LABELS)
    seen = []
    step, evaluate = job.step_loss, job.evaluate
    job.step_loss = lambda batch, rng: (seen.append(("step", _blas_threads())), step(batch, rng))[1]
    job.evaluate = lambda: (seen.append(("eval", _blas_threads())), evaluate())[1]
    with threadpool_limits(limits=2, user_api="blas"):
        outside = _blas_threads()
        fit(job)
        assert _blas_threads() == outside
    assert outside == {2}   # the caller's limit was really different (the test is not vacuous)
    assert {kind for kind, _ in seen} == {"step", "eval"}
    assert all(threads == {1} for _, threads in seen)
    assert np.isfinite(job.state.best_loss)


# ------------------------------------------------------------------ sparse embedding gradient (SeqNet)

def test_the_classifier_sparse_embedding_gradient_is_the_finite_difference_gradient():
    from gradcheck import numeric_grad, rel_error
    from seqcli.nn.seqnet import SeqNet
    from seqcli.nn.sparse import ColumnGrad

    net = SeqNet(9, 3, cell="lstm", embed=3, hidden=4, bidirectional=True, pool="mean", dtype=np.float64)
    ids = np.array([[2, 5, 7], [5, 3, 0], [8, 0, 0]])       # (T_x 3, m 3), id 5 twice, 1/4/6 never
    lengths, y = np.array([3, 2, 1]), np.array([0, 2, 1])
    loss, grads = net.loss(ids, lengths, y, sparse=True)
    g = grads["embed.E"]
    assert isinstance(g, ColumnGrad) and g.index.tolist() == [0, 2, 3, 5, 7, 8]
    num = numeric_grad(lambda: net.loss(ids, lengths, y)[0], net.params["embed.E"], h=1e-5)
    assert not num[:, [1, 4, 6]].any() and np.abs(num).max() > 1e-4
    assert rel_error(num, g.dense()) < 1e-6
    dense = net.loss(ids, lengths, y)[1]
    assert set(dense) == set(grads) and isinstance(dense["embed.E"], np.ndarray)
    np.testing.assert_array_equal(dense["embed.E"], g.dense())


def test_training_with_the_sparse_embedding_gradient_gives_the_dense_runs_model():
    params = {"epochs": 2, "hidden": 5, "embed": 4, "batch_size": 4, "dropout": 0.2, "clip": 0.5}
    runs = []
    for sparse in (True, False):
        job, _ = make_job("gru", params, TEXTS, LABELS)
        job.feed.sparse = sparse
        seen = []
        step = job.step_loss
        job.step_loss = lambda batch, rng: (lambda out: (seen.append(type(out[1]["embed.E"]).__name__), out)[1])(
            step(batch, rng))
        fit(job)
        runs.append((job.model.net.params, set(seen)))
    (p_sparse, kinds_sparse), (p_dense, kinds_dense) = runs
    assert kinds_sparse == {"ColumnGrad"} and kinds_dense == {"ndarray"}
    for k in p_dense:
        np.testing.assert_allclose(p_sparse[k], p_dense[k], rtol=1e-5, atol=1e-6, err_msg=k)
    assert any(not np.array_equal(p_dense[k], make_job("gru", params, TEXTS, LABELS)[0].model.net.params[k])
               for k in p_dense)   # training moved the weights


# ----------------------------------------------------------------------------- cold start (cli/quick.py)

def test_plain_predict_calls_are_parsed_without_typer_and_anything_else_is_left_to_typer():
    from seqcli.cli.quick import parse

    assert parse(["predict", "m.npz"]) == {"model": "m.npz"}
    assert parse(["predict", "--json", "m.npz", "-"]) == {"model": "m.npz", "input": "-", "as_json": True}
    assert parse(["predict", "m.npz", "in.txt", "--proba"]) == {"model": "m.npz", "input": "in.txt", "proba": True}
    for argv in (["predict"], ["predict", "m.npz", "a", "b"], ["predict", "m.npz", "--help"], ["predict", "-h", "m"],
                 ["predict", "m.npz", "--json", "--json"], ["predict", "m.npz", "--text-col", "0"],
                 ["predict", "m.npz", "--", "-x"], ["predict", "m.npz", "--explain"], ["train", "d.csv"], [],
                 ["predict", "m.npz", ""]):
        assert parse(argv) is None, argv


def test_a_plain_predict_imports_no_typer_pydantic_sklearn_joblib_or_rich_and_says_what_typer_says(tiny_model,
                                                                                                 tmp_path):
    import subprocess
    import sys

    from conftest import run_seqcli

    lines = tmp_path / "in.txt"
    lines.write_text("good great film\nawful dull plot\n\nfine\n", encoding="utf-8")
    code = ("import sys\n"
            f"sys.argv = ['seqcli', 'predict', {str(tiny_model)!r}, {str(lines)!r}, '--proba']\n"
            "import seqcli.cli\n"
            "try:\n    seqcli.cli.main()\nexcept SystemExit:\n    pass\n"
            "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'joblib', 'rich', 'pydantic', 'scipy',"
            " 'typer'})\n"
            "print('HEAVY', heavy, 'numpy' in sys.modules, file=sys.stderr)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "HEAVY [] True" in proc.stderr, proc.stderr   # and it did predict (numpy came in)
    # the same lines as typer's path (--errors replace is the default, but not a quick option)
    rc, out, err = run_seqcli(["predict", tiny_model, lines, "--proba", "--errors", "replace"])
    assert rc == 0 and out == proc.stdout and len(out.splitlines()) == 4, (err, proc.stdout)


def test_a_plain_predict_reports_errors_as_typer_would(tiny_model, tmp_path):
    from conftest import run_seqcli

    rc, out, err = run_seqcli(["predict", tmp_path / "missing.npz"])
    assert rc == 1 and out == "" and err.startswith("seqcli: error:") and "missing.npz" in err
    rc, out, err = run_seqcli(["predict", tiny_model, "--json", "--proba"], input="good\n")
    assert rc == 2 and out == "" and "--proba" in err and "Traceback" not in err


# ---------------------------------------------------------------------------------------- LazyAdam

def test_lazy_adam_moves_only_the_touched_columns_by_adams_rule_on_their_own_moments():
    from seqcli.nn.optim import Adam, LazyAdam
    from seqcli.nn.sparse import ColumnGrad

    rng = np.random.default_rng(3)
    E0, W0 = rng.normal(size=(3, 7)), rng.normal(size=(2, 2))
    lazy_p, lr, b1, b2, eps = {"E": E0.copy(), "W": W0.copy()}, 0.01, 0.9, 0.999, 1e-8
    lazy, adam_w = LazyAdam(lr=lr), Adam(lr=lr)
    w_only = {"W": W0.copy()}
    m, v = np.zeros((3, 7)), np.zeros((3, 7))   # the reference: TF Addons' rule, written out
    ref = E0.copy()
    for t, cols in enumerate(([1, 4], [4, 6], [0, 1, 4]), start=1):
        g = rng.normal(size=(3, len(cols)))
        gw = rng.normal(size=(2, 2))
        before = lazy_p["E"].copy()
        lazy.step(lazy_p, {"E": ColumnGrad(cols, g.copy(), (3, 7)), "W": gw.copy()})
        adam_w.step(w_only, {"W": gw.copy()})
        m[:, cols] = b1 * m[:, cols] + (1 - b1) * g
        v[:, cols] = b2 * v[:, cols] + (1 - b2) * g * g
        ref[:, cols] -= lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m[:, cols] / (np.sqrt(v[:, cols]) + eps)
        untouched = [c for c in range(7) if c not in cols]
        np.testing.assert_array_equal(lazy_p["E"][:, untouched], before[:, untouched])
        np.testing.assert_allclose(lazy_p["E"], ref, rtol=1e-12)
        np.testing.assert_array_equal(lazy_p["W"], w_only["W"])   # a dense gradient: Adam's step
    assert lazy.t == 3 and not lazy.behind
    np.testing.assert_allclose(lazy.m["E"], m, rtol=1e-12)
    assert not lazy.m["E"][:, [2, 3, 5]].any() and lazy_p["E"][:, 5].tolist() == E0[:, 5].tolist()


def test_lazy_adam_trains_a_classifier_from_the_command_line_and_resumes_exactly(tmp_path, tiny_csv):
    from conftest import run_seqcli

    base = ["train", tiny_csv, "--model", "gru", "--hidden", "4", "--embed", "3", "--epochs", "2",
            "--optimizer", "lazyadam", "--quiet"]
    rc, _, err = run_seqcli(base + ["-o", tmp_path / "whole.npz"])
    assert rc == 0, err
    rc, _, err = run_seqcli(base + ["-o", tmp_path / "half.npz", "--max-steps", "3"])
    assert rc == 0, err
    rc, _, err = run_seqcli(["train", tiny_csv, "--resume", tmp_path / "half.ckpt.npz", "-o", tmp_path / "half.npz",
                             "--quiet"])
    assert rc == 0, err
    with np.load(tmp_path / "whole.npz") as a, np.load(tmp_path / "half.npz") as b:
        keys = [k for k in a.files if k.startswith("net.")]
        assert keys and all(np.array_equal(a[k], b[k]) for k in keys)


# --------------------------------------------------------------------------- predict batched by length

def test_recurrent_predict_batches_by_length_and_gives_each_line_its_own_answer_in_input_order():
    job, _ = make_job("lstm", {"epochs": 1, "hidden": 6, "embed": 4, "batch_size": 4}, TEXTS, LABELS)
    fitted = job.model
    texts = ["good fun film " * 7, "bad", "", "dull bad plot a one", "fun", "a good one good " * 3, "bad dull"]
    together = fitted.predict_proba(texts, batch_size=3)          # sorted by length inside, 3 batches
    alone = np.vstack([fitted.predict_proba([t]) for t in texts])  # no padding, no sorting
    np.testing.assert_allclose(together, alone, rtol=1e-5, atol=1e-7)
    assert len({round(float(p), 5) for p in alone[:, 0]}) == len(texts)   # a permutation would show


# ------------------------------------------------------------------------------------- predict --jobs

def _slow_square(x):
    import time

    time.sleep(0.002 * ((x * 7) % 5))   # later items often finish first
    return x * x


def test_ordered_map_keeps_the_input_order_and_raises_an_input_error_after_the_results_before_it():
    from seqcli.errors import SeqcliError
    from seqcli.stream import ordered_map

    assert list(ordered_map(_slow_square, iter(range(40)), jobs=3)) == [x * x for x in range(40)]
    assert list(ordered_map(_slow_square, range(5), jobs=1)) == [0, 1, 4, 9, 16]

    def items():
        yield from range(6)
        raise SeqcliError("in.txt, line 7: not UTF-8")

    got = []
    with pytest.raises(SeqcliError, match="line 7"):
        for r in ordered_map(_slow_square, items(), jobs=2):
            got.append(r)
    assert got == [x * x for x in range(6)]


def test_predict_jobs_writes_the_same_lines_in_input_order(tiny_model, tmp_path):
    from conftest import NEG_WORDS, POS_WORDS, run_seqcli

    rng = np.random.default_rng(5)
    words = POS_WORDS + NEG_WORDS + ["film", "the"]
    text = "".join(" ".join(rng.choice(words, int(rng.integers(0, 6)))) + "\n" for _ in range(1300))
    path = tmp_path / "in.txt"
    path.write_text(text, encoding="utf-8")
    rc1, one, err1 = run_seqcli(["predict", tiny_model, path, "--json"])
    rc3, three, err3 = run_seqcli(["predict", tiny_model, path, "--json", "--jobs", "3"])
    assert rc1 == rc3 == 0, err1 + err3
    assert three == one and len(one.splitlines()) == 1300 and len(set(one.splitlines())) > 2


@pytest.mark.parametrize("how", ["SIGINT", "SIGKILL"])
def test_predict_jobs_streams_and_leaves_no_worker_behind(tiny_model, how):
    import os
    import select
    import signal
    import subprocess
    import sys

    from conftest import _env
    from proc_helpers import alive, children, signal_and_wait

    proc = subprocess.Popen([sys.executable, "-m", "seqcli", "predict", str(tiny_model), "-", "--jobs", "2"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
    try:
        for text in ("good great fine", "bad awful dull"):
            proc.stdin.write((text + "\n").encode())
            proc.stdin.flush()   # the input stays open: the answer must come anyway
            assert select.select([proc.stdout], [], [], 60)[0], "no answer while the input is open"
            label = proc.stdout.readline().decode().split("\t")[0]
            assert label == ("pos" if text.startswith("good") else "neg")
        workers = children(proc.pid)
        assert len(workers) >= 2 and all(alive(w) for w in workers)
        assert signal_and_wait(proc, workers, how) == []
        if how == "SIGINT":
            assert proc.returncode == 130 and b"Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def test_predict_runs_blas_on_one_thread_and_gives_the_callers_setting_back(tiny_model, tmp_path, monkeypatch,
                                                                           capsys):
    from seqcli import api
    from seqcli.cli.predict_core import run

    path = tmp_path / "in.txt"
    path.write_text("good\nbad\n", encoding="utf-8")
    seen, real = [], api.predict_lines

    def recording(*args, **kwargs):
        for lines in real(*args, **kwargs):
            seen.append(_blas_threads())
            yield lines

    monkeypatch.setattr(api, "predict_lines", recording)
    with threadpool_limits(limits=2, user_api="blas"):
        run(str(tiny_model), str(path))
        assert _blas_threads() == {2}
    assert seen == [{1}] and len(capsys.readouterr().out.splitlines()) == 2
