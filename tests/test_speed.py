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
