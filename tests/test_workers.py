"""``--workers N`` (training/workers.py), correctness only: N processes give one process's loss and
gradients up to float rounding for every task, the same bytes run after run, an exact resume, and
no process left behind however training ends."""

import json
import os
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from conftest import SAMPLE_REVIEWS, _env, run_seqcli
from proc_helpers import alive, children, signal_and_wait
from seqcli.nn.sparse import ColumnGrad
from seqcli.training import workers
from seqcli.training.fit import fit, workers_for
from seqcli.training.loop import TrainState

TEXTS = ["good fun film", "bad dull plot", "fun good", "dull bad", "a good one", "a bad one",
         "so very good and fun", "so dull and bad to see"] * 3
LABELS = ["pos", "neg"] * 12
WORDS = [("the", "DET"), ("cats", "NOUN"), ("sat", "VERB"), ("a", "DET"), ("dog", "NOUN"), ("ran", "VERB")]


def _tag_rows(n):
    rng = np.random.default_rng(3)
    return [[WORDS[i] for i in rng.integers(0, len(WORDS), size=rng.integers(2, 7))] for _ in range(n)]


def _job(task):
    """A small job of ``task`` with no dropout drawn (so one process and N give the same numbers)."""
    if task in ("bow", "lstm", "transformer", "lstm-balanced"):
        from seqcli.tasks.classify import make_job

        params = {"batch_size": 9} if task == "bow" else {"hidden": 6, "embed": 5, "dropout": 0.0, "batch_size": 9}
        weights = {"pos": 1.0, "neg": 3.0} if task == "lstm-balanced" else None
        return make_job(task.split("-")[0], params, TEXTS[:-1], LABELS[:-1], class_weight=weights)[0]
    if task == "tag":
        from seqcli.tasks.tag import make_job

        rows = _tag_rows(20)
        return make_job("lstm", {"hidden": 5, "embed": 4, "dropout": 0.0, "word_dropout": 0.0, "batch_size": 7,
                                 "char_hidden": 3, "char_embed": 3, "crf": True},
                        ([[w for w, _ in r] for r in rows], [[t for _, t in r] for r in rows]))
    if task == "seq2seq":
        from seqcli.tasks.seq2seq import make_job

        pairs = [(str(n), " ".join("zero one two three four five six seven eight nine".split()[int(d)]
                                   for d in str(n))) for n in range(3, 40, 2)]
        refs = {s: [t] for s, t in pairs}
        return make_job("lstm", {"hidden": 6, "embed": 4, "dropout": 0.0, "batch_size": 7}, pairs,
                        [s for s, _ in pairs[:4]], refs)[0]
    raise ValueError(task)


def _lm_job(tmp_path, model):
    from seqcli.tasks import lm

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sat on the mat and the dog ran far away from it all.\n" * 12)
    params = {"hidden": 8, "embed": 4, "dropout": 0.0, "batch_size": 5, "seq_len": 7} if model == "lstm" else \
        {"hidden": 8, "heads": 2, "layers": 1, "dropout": 0.0, "batch_size": 5, "block_size": 7}
    return lm.prepare(str(corpus), model, params).job


def _same(a, b):
    a = a.dense() if isinstance(a, ColumnGrad) else a
    b = b.dense() if isinstance(b, ColumnGrad) else b
    np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-6)


def _steps(job, steps, pool=None):
    """[(loss, grads, rows, tokens)] of the first ``steps`` batches, with ``pool`` or in this process."""
    job.state, out = TrainState(), []
    for batch in job.make_batches(0)[:steps]:
        out.append((pool.step_loss if pool else job.step_loss)(batch, np.random.default_rng(0)))
        job.state.step += 1
    return out


@pytest.mark.parametrize("task", ["bow", "lstm", "lstm-balanced", "transformer", "tag", "seq2seq", "lm-lstm",
                                  "lm-transformer"])
@pytest.mark.parametrize("n", [2, 3])
def test_n_workers_give_one_process_loss_gradients_and_counts(task, n, tmp_path):
    job = _lm_job(tmp_path, task[3:]) if task.startswith("lm-") else _job(task)
    alone = _steps(job, 3)   # a language model's second and third windows start from the carried state
    if task.startswith("lm-"):
        job.carry = None
    with workers.Pool(job, n, seed=0) as pool:
        together = _steps(job, 3, pool)
        assert len(pool.pids) == n - 1
    for (loss, grads, rows, tokens), (loss2, grads2, rows2, tokens2) in zip(alone, together):
        assert (rows, tokens) == (rows2, tokens2) and rows > 0
        assert loss == pytest.approx(loss2, rel=1e-5) and loss > 0
        assert set(grads) == set(grads2)
        for name in grads:
            _same(grads[name], grads2[name])
        assert any(np.abs(g.dense() if isinstance(g, ColumnGrad) else g).max() > 1e-4 for g in grads.values())


def test_combine_weighs_each_part_by_its_share_and_merges_sparse_columns():
    dense = [np.array([1.0, 2.0]), np.array([3.0, 5.0]), np.array([7.0, 7.0])]
    sparse = [ColumnGrad([1, 4], np.array([[1.0, 2.0]]), (1, 6)), ColumnGrad([0], np.array([[9.0]]), (1, 6)),
              ColumnGrad([4, 5], np.array([[4.0, 8.0]]), (1, 6))]
    results = [(1.0, {"w": dense[0], "E": sparse[0]}, 2, 10, 10, None),
               (4.0, {"w": dense[1], "E": sparse[1]}, 1, 0, 0, None),      # weight 0: adds nothing
               (2.0, {"w": dense[2], "E": sparse[2]}, 3, 30, 30, None)]
    loss, grads, rows, tokens = workers.combine(results)
    assert (rows, tokens) == (6, 40) and loss == pytest.approx(0.25 * 1.0 + 0.75 * 2.0)
    np.testing.assert_allclose(grads["w"], [0.25 + 5.25, 0.5 + 5.25])
    assert isinstance(grads["E"], ColumnGrad) and grads["E"].index.tolist() == [1, 4, 5]
    np.testing.assert_allclose(grads["E"].dense(), [[0, 0.25, 0, 0, 0.5 + 3.0, 6.0]])


def test_auto_is_every_core_for_a_large_network_one_process_for_a_small_one_or_bag_of_words():
    from seqcli.tasks.classify import make_job

    auto = {"workers": 0}
    assert make_job("lstm", {}, TEXTS, LABELS)[0].cfg.workers == 1   # the default: one process
    assert workers_for(make_job("bow", auto, TEXTS, LABELS)[0]) == 1
    assert workers_for(make_job("lstm", {**auto, "hidden": 6}, TEXTS, LABELS)[0]) == 1   # not worth it
    big = make_job("lstm", {**auto, "hidden": 256, "embed": 64}, TEXTS, LABELS)[0]   # 32 rows x 329k weights
    assert workers_for(big) == min(workers.default_workers(), 8)
    big.cfg = replace(big.cfg, batch_size=16)   # 5.3 M
    assert workers_for(big) == 1
    job = _job("lstm")
    job.cfg = replace(job.cfg, workers=3)
    assert workers_for(job) == 3
    job.cfg = replace(job.cfg, workers=50)
    assert workers_for(job) == 9   # no more processes than a batch has rows


def test_auto_is_stored_resolved_so_a_resume_goes_on_with_as_many(tmp_path):
    out = tmp_path / "m.npz"
    rc, _, err = run_seqcli(["train", SAMPLE_REVIEWS, "--model", "lstm", "--hidden", "320", "--embed", "8",
                             "--epochs", "2", "-q", "--workers", "0", "--max-steps", "5", "-o", out])
    assert rc == 0, err
    from seqcli.training import checkpoint

    identity, _ = checkpoint.load(tmp_path / "m.ckpt.npz", {"max_steps": None, "max_time": None})
    assert identity["params"]["workers"] == min(workers.default_workers(), 8)


def test_a_zero_weighted_part_of_a_batch_adds_nothing():
    from seqcli.tasks.classify import make_job

    job = make_job("lstm", {"hidden": 6, "embed": 5, "dropout": 0.0, "batch_size": 4}, TEXTS, LABELS,
                   class_weight={"pos": 0.0, "neg": 1.0})[0]
    job.state = TrainState()
    pos = np.flatnonzero(job.y == list(job.model.classes).index("pos"))[:2]
    neg = np.flatnonzero(job.y != list(job.model.classes).index("pos"))[:2]
    alone = job.step_loss(np.concatenate([neg, pos]), None)
    with workers.Pool(job, 2, seed=0) as pool:   # the second part: two rows of weight 0
        together = pool.step_loss(np.concatenate([neg, pos]))
    assert together[0] == pytest.approx(alone[0], rel=1e-5) and alone[0] > 0
    for name, g in alone[1].items():
        _same(g, together[1][name])


def _train(tmp_path, name, *extra):
    out = tmp_path / f"{name}.npz"
    rc, stdout, err = run_seqcli(["train", SAMPLE_REVIEWS, "--model", "lstm", "--hidden", "8", "--embed", "8",
                                  "--epochs", "2", "-q", "--json", "-o", out, *extra])
    assert rc == 0, err
    if "--max-steps" not in extra:
        workers_given = int(extra[extra.index("--workers") + 1])
        assert json.loads(stdout)["workers"] == workers_given
    return out


def test_the_same_seed_and_workers_give_the_same_bytes_and_an_exact_resume(tmp_path):
    first = _train(tmp_path, "a", "--workers", "2").read_bytes()
    assert _train(tmp_path, "b", "--workers", "2").read_bytes() == first   # dropout on: 0.5
    assert _train(tmp_path, "c", "--workers", "1").read_bytes() != first   # other dropout draws
    halted = _train(tmp_path, "h", "--workers", "2", "--max-steps", "150")
    assert halted.read_bytes() != first
    rc, _, err = run_seqcli(["train", SAMPLE_REVIEWS, "-o", halted, "--resume", tmp_path / "h.ckpt.npz", "-q"])
    assert rc == 0, err
    assert halted.read_bytes() == first


def test_a_language_model_resumes_exactly_with_workers(tmp_path):
    from lmtrain import train_lm

    corpus = tmp_path / "c.txt"
    corpus.write_text("".join(f"line {i} of the tiny corpus, said the cat.\n" for i in range(60)))
    params = {"hidden": 8, "embed": 4, "seq_len": 9, "batch_size": 6, "epochs": 2, "workers": 2, "eval_every": 5}
    train_lm(corpus, tmp_path / "whole.npz", params)
    train_lm(corpus, tmp_path / "part.npz", {**params, "max_steps": 7})
    assert (tmp_path / "part.npz").read_bytes() != (tmp_path / "whole.npz").read_bytes()
    train_lm(corpus, tmp_path / "part.npz", {"max_steps": None}, resume=tmp_path / "part.ckpt.npz")
    assert (tmp_path / "part.npz").read_bytes() == (tmp_path / "whole.npz").read_bytes()


def test_an_error_in_a_worker_ends_training_with_a_clear_error_and_no_process_left(tmp_path):
    job = _job("lstm")
    parent, real = os.getpid(), job.shard_loss

    def failing(shard, rng):
        if os.getpid() != parent:
            raise ValueError("boom in a worker")
        return real(shard, rng)

    job.shard_loss = failing
    job.cfg = replace(job.cfg, workers=2)
    before = set(children(os.getpid()))
    with pytest.raises(workers.WorkerError, match="training worker 1 failed: ValueError: boom in a worker"):
        fit(job)
    assert set(children(os.getpid())) == before


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="reads children from /proc (Linux)")
@pytest.mark.parametrize("how", ["SIGINT", "SIGKILL"])
def test_no_worker_outlives_an_interrupted_or_killed_training(tmp_path, how):
    out = tmp_path / "m.npz"
    proc = subprocess.Popen([sys.executable, "-m", "seqcli", "train", str(SAMPLE_REVIEWS), "--model", "lstm",
                             "--hidden", "16", "--embed", "16", "--epochs", "50", "--patience", "50",
                             "--workers", "3", "-o", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, env=_env(), text=True)
    try:
        first = proc.stderr.readline()   # an epoch done: a best model exists
        assert first.startswith("epoch 1/50"), first
        found = children(proc.pid)
        assert len(found) == 2 and all(alive(w) for w in found)
        assert signal_and_wait(proc, found, how) == []
        if how == "SIGINT":
            err = proc.stderr.read()
            assert proc.returncode == 130 and "Traceback" not in err and "--resume" in err
            assert out.exists() and (tmp_path / "m.ckpt.npz").exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_several_workers_where_processes_cannot_be_forked_is_a_usage_error(monkeypatch):
    from seqcli.errors import SeqcliError
    from seqcli.tasks.classify import make_job

    monkeypatch.setattr(workers, "available", lambda: False)
    job = _job("lstm")
    job.cfg = replace(job.cfg, workers=2)
    with pytest.raises(SeqcliError, match="--workers needs Linux") as caught:
        workers_for(job)
    assert caught.value.exit_code == 2
    big = make_job("lstm", {"workers": 0, "hidden": 256}, TEXTS, LABELS)[0]   # auto: one process, no error
    assert workers_for(big) == 1


def test_a_failed_fork_is_one_clear_error_and_the_weights_get_their_own_memory_back(monkeypatch):
    job = _job("lstm")
    before = {k: v.copy() for k, v in job.model.net.params.items()}

    def no_fork():
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    with pytest.raises(workers.WorkerError, match=r"could not start 2 training workers \(Resource temporarily "
                                                  r"unavailable\); try a smaller --workers"):
        workers.Pool(job, 3, seed=0).__enter__()
    for name, value in job.model.net.params.items():
        assert value.base is None   # a copy, not a view into the shared mapping
        np.testing.assert_array_equal(value, before[name])


def test_the_final_line_says_how_many_workers_trained():
    from seqcli.ui import took

    assert took({"seconds": 12.34, "workers": 2}) == "12.3s on 2 workers"
    assert took({"seconds": 12.34, "workers": 1}) == took({"seconds": 12.34}) == "12.3s"
