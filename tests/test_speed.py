"""Issue 17 (speed), correctness only: training runs BLAS on one thread for every task, whatever the
caller's setting, and gives the caller's setting back."""

import numpy as np
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
