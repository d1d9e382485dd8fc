"""One trial = one model trained (or loaded) and scored on one split; fanned out through joblib.

Each trial runs in a joblib worker (any backend, Dask included) with BLAS held to one thread, trains one
estimator on one training split (or takes a saved model file as it is), scores it on the matching test
rows and returns plain numbers. Results do not depend on ``--jobs`` or the backend: every trial is
seeded by the model's own settings.
"""

import os
import time
from dataclasses import dataclass

import numpy as np

from seqcli.errors import SeqcliError, UsageError

GRADIENT_ROWS = 256        # test rows per fold whose input gradients are measured
GRADIENT_MIN_ROWS = 8      # a distance is plotted only when at least this many rows reach it
PROBE_LIMIT = 1000
DASK_CONNECT_TIMEOUT = "10s"


@dataclass
class Trial:
    """One (model, fold) unit of work; everything in it pickles (it may cross to a Dask worker)."""
    model: int
    fold: int
    spec: object             # a specs.ModelSpec
    params: dict
    train_idx: np.ndarray
    test_idx: np.ndarray
    classes: list
    probes: list
    gradients: bool
    fitted: object = None    # a loaded model (saved files only)


def run_trial(trial, texts, labels):
    """Train (or take) one model, score it on rows ``trial.test_idx`` of ``texts`` / ``labels``.

    Runs inside a joblib worker. ``texts`` and ``labels`` (every row) are arguments of their own,
    not part of the trial, so joblib's Dask backend scatters them to the cluster once. BLAS is held
    to one thread, so workers do not oversubscribe the machine and every result is the same
    whether it ran alone or beside others.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _run_trial(trial, texts, labels)


def _run_trial(trial, texts, labels):
    from seqcli.metrics import classification_report

    spec = trial.spec
    test_texts = [texts[i] for i in trial.test_idx]
    test_labels = labels[trial.test_idx].astype(str)
    train_seconds = file_bytes = halted = None
    fit_stats = {}
    if spec.trained:
        from seqcli.estimators import make_estimator
        from seqcli.training.fit import DivergedError

        est = make_estimator(spec.kind, trial.params)
        train_texts = [texts[i] for i in trial.train_idx]
        started = time.perf_counter()
        try:
            # when --max-time / --max-steps end the run, fit keeps the best weights so far
            est.fit(train_texts, labels[trial.train_idx].astype(str))
        except DivergedError as exc:
            raise SeqcliError(f"{spec.name}, fold {trial.fold + 1}: {exc.message}; "
                              f"try a smaller lr ({spec.name.split(':')[0]}:lr=...)") from None
        halted = est.halted_
        train_seconds = time.perf_counter() - started
        fit_stats = est.fit_stats_
        model = est.model_
        file_bytes = saved_size(model)
    else:
        model = trial.fitted
    started = time.perf_counter()
    raw = model.predict_proba(test_texts)
    predict_seconds = time.perf_counter() - started
    proba = align_proba(raw, model.classes, trial.classes)
    pred = np.array(trial.classes, dtype=object)[proba.argmax(axis=1)].astype(str)
    report = classification_report(test_labels, pred, trial.classes, proba)
    result = {
        "model": trial.model, "fold": trial.fold, "name": spec.name,
        "accuracy": report["accuracy"], "macro_f1": report["macro_f1"],
        "log_loss": report.get("log_loss"), "confusion": report["confusion"], "n_test": report["n"],
        "train_seconds": train_seconds, "predict_seconds": predict_seconds,
        "train_tokens_per_second": fit_stats.get("tokens_per_second"), "epoch_seconds": fit_stats.get("epoch_seconds"),
        "n_params": int(sum(p.size for p in model.net.params.values())), "file_bytes": file_bytes,
        "proba": proba.astype(np.float64),
        "probes": align_proba(model.predict_proba(trial.probes), model.classes, trial.classes) if trial.probes else None,
        "gradients": None, "halted": halted,
    }
    if trial.gradients and getattr(model, "kind", None) == "seq":
        result["gradients"] = gradient_profile(model, test_texts, test_labels)
    return result


def saved_size(model):
    """Bytes of the model file ``model`` would be saved as."""
    import tempfile

    from seqcli import models

    with tempfile.TemporaryDirectory(prefix="seqcli-compare-") as folder:
        path = os.path.join(folder, "model.npz")
        models.save(path, model)
        return os.path.getsize(path)


def align_proba(proba, model_classes, classes):
    """Probabilities (m, len(classes)): the model's columns moved to the order of ``classes``
    (a class the model does not know gets 0)."""
    proba = np.asarray(proba, dtype=np.float64)
    out = np.zeros((proba.shape[0], len(classes)))
    where = {c: i for i, c in enumerate(classes)}
    for j, c in enumerate(model_classes):
        if c in where:
            out[:, where[c]] = proba[:, j]
    return out


# -------------------------------------------------------------------------- vanishing gradients

def input_gradients(net, ids, lengths, y):
    """∂loss_i/∂x⟨t⟩ for every row i: (T_x, n_x, m), where loss_i is row i's own cross-entropy
    (not divided by the batch size) and x⟨t⟩ the embedded input at step t. No dropout.

    """
    return net.input_gradients(ids, lengths, y)


def gradient_profile(model, texts, labels, max_rows=GRADIENT_ROWS, batch_size=64):
    """Sum and count of ‖∂loss/∂x⟨t⟩‖ by distance from each row's last token (distance 0 = last), and
    the sum of the same norms relative to their row's mean over its tokens ("rel_sum"): the shape of
    the gradient along each text, which long and short rows share (a mean over rows mixes lengths,
    and how a model spreads its gradient over a longer row scales every position of it).

    Measured on the first ``max_rows`` of ``texts`` whose label the model knows.
    Returns {"sum": [...], "count": [...], "rel_sum": [...]} indexed by distance.
    """
    from seqcli.text import pad_batch

    index = {c: i for i, c in enumerate(model.classes)}
    rows = [(ids, index[y]) for ids, y in zip(model.encode(texts), labels) if y in index and len(ids)]
    rows = rows[:max_rows]
    max_len = max((len(ids) for ids, _ in rows), default=0)
    sums, counts, rel_sums = np.zeros(max_len), np.zeros(max_len, dtype=np.int64), np.zeros(max_len)
    order = sorted(range(len(rows)), key=lambda i: len(rows[i][0]))
    for start in range(0, len(order), batch_size):
        chunk = [rows[i] for i in order[start: start + batch_size]]
        ids, lengths = pad_batch([c[0] for c in chunk])
        dx = input_gradients(model.net, ids, lengths, np.array([c[1] for c in chunk]))
        norms = np.sqrt(np.einsum("tnm,tnm->tm", dx, dx, dtype=np.float64))   # (T, m)
        dist = lengths[None, :] - 1 - np.arange(ids.shape[0])[:, None]
        real = dist >= 0
        np.add.at(sums, dist[real], norms[real])
        np.add.at(counts, dist[real], 1)
        row_mean = (norms * real).sum(axis=0) / lengths
        rel = norms / np.where(row_mean > 0, row_mean, 1.0)
        np.add.at(rel_sums, dist[real], rel[real])
    return {"sum": sums.tolist(), "count": counts.tolist(), "rel_sum": rel_sums.tolist()}


# ------------------------------------------------------------------------------------ fan-out

def cost(spec, params):
    """A rough relative cost, so the slowest trials are dispatched first (better packing)."""
    if not spec.trained:
        return 0.0
    if spec.kind == "bow":
        return 1.0 + params.get("ngram_max", 1)
    base = {"rnn": 1.0, "gru": 3.0, "lstm": 4.0, "transformer": 4.0}[spec.kind] * (4 if params.get("pretrain") else 1)
    return 10.0 * base * (2 if params.get("bidirectional") else 1) * params.get("layers", 1) * \
        (params.get("hidden", 128) / 128.0 + 0.5)


def check_backend(backend, scheduler):
    """The joblib backend name to use (None = joblib's default); SeqcliError on a bad choice."""
    if scheduler and backend in (None, "dask"):
        backend = "dask"
    elif scheduler:
        raise UsageError(f"--scheduler is for --backend dask, not --backend {backend}")
    if backend is None:
        return None
    from joblib import parallel

    known = sorted(set(parallel.BACKENDS) | set(parallel.EXTERNAL_BACKENDS))
    if backend not in known:
        raise UsageError(f"unknown --backend {backend!r} (joblib knows: {', '.join(known)})")
    if backend == "dask":
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise SeqcliError("--backend dask needs the optional extra: pip install 'seqcli[dask]'") from None
    return backend


def local_cluster(stack, jobs, notify):
    """A Dask cluster on this machine (loopback only, one single-threaded worker process per core or
    per --jobs), closed with ``stack``; its scheduler's address."""
    import os

    from distributed import LocalCluster

    workers = os.cpu_count() or 1 if jobs in (None, -1) else jobs
    cluster = stack.enter_context(LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                               host="127.0.0.1", dashboard_address=None))
    notify(f"started a local Dask cluster: {workers} worker{'s' if workers != 1 else ''} on 127.0.0.1 "
           "(give --scheduler ADDRESS to use another)")
    return cluster.scheduler_address


def fan_out(trials, texts, labels, jobs, backend, scheduler, on_result, notify=lambda message: None, work=None):
    """Run ``trials`` through joblib (``work(trial, texts, labels)``, by default ``run_trial``); call
    ``on_result`` as each finishes; return all results.
    ``--backend dask`` without a scheduler starts a local cluster (and says so through ``notify``)."""
    import contextlib

    from joblib import Parallel, delayed, parallel_config
    from threadpoolctl import threadpool_limits

    n_jobs = -1 if jobs is None else jobs
    with contextlib.ExitStack() as stack:
        config = {}
        if backend == "dask":
            from distributed import Client

            if not scheduler:
                scheduler = local_cluster(stack, jobs, notify)
            try:
                client = stack.enter_context(Client(scheduler, timeout=DASK_CONNECT_TIMEOUT,
                                                       set_as_default=False))
            except (OSError, TimeoutError, ValueError) as exc:
                raise SeqcliError(f"cannot reach the Dask scheduler at {scheduler}: "
                                  f"{' '.join(str(exc).split())[:200]}") from None
            config = {"client": client, "scatter": [texts, labels]}
        if backend is not None:
            stack.enter_context(parallel_config(backend=backend, **config))
        # backends that run tasks in this very process (threading, sequential, an in-process Dask
        # cluster) share its BLAS: hold it to one thread for the whole run, not task by task
        stack.enter_context(threadpool_limits(limits=1))
        calls = (delayed(work or run_trial)(t, texts, labels) for t in trials)
        try:
            runner = Parallel(n_jobs=n_jobs, batch_size=1, return_as="generator_unordered")
        except ValueError:  # this backend (multiprocessing) cannot hand results over one by one
            runner = None
        results = []
        if runner is None:
            for res in Parallel(n_jobs=n_jobs, batch_size=1)(calls):
                results.append(res)
                on_result(res)
        else:
            for res in runner(calls):
                results.append(res)
                on_result(res)
    return results


