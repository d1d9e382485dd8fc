"""seqcli compare: several models trained and scored on the same splits, side by side. Never prints.

The work is a list of (model, fold) tasks run through joblib (any backend, Dask included). Each task
trains one estimator on one training split (or takes a saved model file as it is), scores it on the
matching test rows and returns plain numbers; the parent gathers them into one JSON-ready document
(``run_compare``'s result, printed as is by ``--json`` and drawn as tables otherwise).

Results do not depend on ``--jobs`` or the backend: every task is seeded by the model's own settings,
BLAS runs on one thread inside every task (threadpoolctl), and the results are sorted back into
(model, fold) order whatever order they finish in. Only the timing figures vary between runs.

Model specs (``--models``): ``bow``, ``bigram`` (bow with word 1- and 2-grams), ``rnn``, ``gru``,
``lstm``, ``birnn``, ``bigru``, ``bilstm``, or the path of a saved model file. A trained kind can take
options after a colon, comma-separated: ``lstm:hidden=256,layers=2``, ``bow:ngrams=1:3,mode=binary``.
Since options use commas too, a piece of the list that reads ``NAME=VALUE`` continues the model before it.
"""

import math
import os
import time
import types
from dataclasses import dataclass, field, fields

import numpy as np

from seqcli.errors import SeqcliError

# name -> (estimator kind, preset options)
ALIASES = {
    "bow": ("bow", {}),
    "bigram": ("bow", {"ngram_min": 1, "ngram_max": 2}),
    "rnn": ("rnn", {}),
    "gru": ("gru", {}),
    "lstm": ("lstm", {}),
    "birnn": ("rnn", {"bidirectional": True}),
    "bigru": ("gru", {"bidirectional": True}),
    "bilstm": ("lstm", {"bidirectional": True}),
}
DEFAULT_MODELS = "bow,bigram,rnn,lstm"
DEFAULT_FOLDS = 5
RECURRENT = ("rnn", "gru", "lstm")
CHOICES = {
    "analyzer": ("word", "char"),
    "mode": ("counts", "binary", "tfidf", "nb"),
    "pool": ("last", "mean", "max"),
    "optimizer": ("adam", "sgd"),
    "class_weight": ("balanced",),
}
# (lowest, highest) allowed; None = unbounded on that side
RANGES = {
    "embed": (1, 8192), "hidden": (1, 8192), "layers": (1, 16), "epochs": (1, 100000),
    "batch_size": (1, 1_000_000), "min_count": (1, None), "max_vocab": (3, None), "max_len": (1, None),
    "min_df": (1, None), "max_features": (1, None), "hash_bits": (1, 30), "ngram_min": (1, 10),
    "ngram_max": (1, 10), "max_steps": (1, None), "patience": (0, 10000), "seed": (0, 2**32 - 1),
    "clip": (0, None), "weight_decay": (0, 10), "val_split": (0, 0.9), "max_time": (1e-9, None),
}
GRADIENT_ROWS = 256        # test rows per fold whose input gradients are measured
GRADIENT_MIN_ROWS = 8      # a distance is plotted only when at least this many rows reach it
PROBE_LIMIT = 1000
DASK_CONNECT_TIMEOUT = "10s"


def _quiet(message):
    pass


# ------------------------------------------------------------------------------------ model specs

@dataclass
class ModelSpec:
    """One entry of --models: a trained kind with its options, or a saved model file."""
    name: str                 # as shown in the table, e.g. "lstm:hidden=256,layers=2"
    kind: str                 # "bow", "rnn", "gru", "lstm" or "file"
    params: dict = field(default_factory=dict)   # estimator options set by the spec itself
    path: str | None = None   # model file (kind "file")

    @property
    def trained(self):
        return self.kind != "file"


def _option_fields(kind):
    """{name: dataclass field} of the options a trained kind takes (its estimator's parameters)."""
    from seqcli.config import BowConfig, SeqConfig, TrainConfig

    model_cfg = BowConfig if kind == "bow" else SeqConfig
    out = {f.name: f for f in fields(model_cfg) if f.name != "cell"}
    out.update({f.name: f for f in fields(TrainConfig)})
    return out


def _looks_like_file(piece):
    return piece.lower().endswith(".npz") or os.sep in piece or "/" in piece or os.path.isfile(piece)


def parse_models(specs):
    """ModelSpecs from the --models values (each a comma-separated list; see the module docstring).

    Raises SeqcliError (one line) on an unknown name, a bad option or a repeated model.
    """
    if isinstance(specs, str):
        specs = [specs]
    pieces = [p.strip() for s in specs for p in s.split(",")]
    if not pieces or pieces == [""]:
        raise SeqcliError("--models is empty; list model kinds or files, e.g. --models bow,lstm")
    out, current, option_texts = [], None, []

    def close():
        if current is not None:
            current.name = current.name if not option_texts else f"{current.name}:{','.join(option_texts)}"
            out.append(current)

    for piece in pieces:
        if not piece:
            raise SeqcliError(f"empty entry in --models {','.join(specs)!r} (two commas in a row?)")
        head = piece.split("=", 1)[0]
        if "=" in piece and head.replace("-", "_").isidentifier() and not _looks_like_file(head):
            if current is None:
                raise SeqcliError(f"--models: option {piece!r} comes before any model kind "
                                  "(write it after a colon: lstm:hidden=64)")
            if not current.trained:
                raise SeqcliError(f"--models: {current.path} is a saved model, evaluated as it is; "
                                  f"it takes no options ({piece!r})")
            _set_option(current, piece, option_texts)
            continue
        close()
        current, option_texts = None, []
        if _looks_like_file(piece):
            current = ModelSpec(name=piece, kind="file", path=piece)
            continue
        base, _, opts = piece.partition(":")
        key = base.strip().lower()
        if key not in ALIASES:
            raise SeqcliError(f"unknown model {base.strip()!r} in --models (choose {', '.join(ALIASES)}, "
                              "or give a saved model file PATH.npz)")
        kind, preset = ALIASES[key]
        current = ModelSpec(name=key, kind=kind, params=dict(preset))
        if opts.strip():
            _set_option(current, opts.strip(), option_texts)
        elif ":" in piece:
            raise SeqcliError(f"--models: {piece!r} has a colon but no options (write {key}:hidden=64)")
    close()
    seen = set()
    for spec in out:
        if spec.name in seen:
            raise SeqcliError(f"--models lists {spec.name!r} twice")
        seen.add(spec.name)
        if spec.kind == "bow" and spec.params.get("ngram_min", 1) > spec.params.get("ngram_max", 1):
            raise SeqcliError(f"--models {spec.name!r}: ngram_min is larger than ngram_max")
    return out


def _set_option(spec, text, option_texts):
    key, sep, raw = text.partition("=")
    key, raw = key.strip().replace("-", "_").lower(), raw.strip()
    where = f"--models {spec.name}:{text}"
    if not sep or not key:
        raise SeqcliError(f"{where}: options are NAME=VALUE (e.g. {spec.name}:hidden=64)")
    known = _option_fields(spec.kind)
    if key == "ngrams" and spec.kind == "bow":
        lo, _, hi = raw.partition(":")
        try:
            lo, hi = int(lo), int(hi or lo)
        except ValueError:
            raise SeqcliError(f"{where}: ngrams is a range MIN:MAX like 1:2") from None
        spec.params["ngram_min"] = _checked("ngram_min", lo, where)
        spec.params["ngram_max"] = _checked("ngram_max", hi, where)
    elif key in ("bi", "bidirectional") and spec.kind in RECURRENT:
        spec.params["bidirectional"] = _coerce(known["bidirectional"], raw, where)
    elif key in known:
        spec.params[key] = _checked(key, _coerce(known[key], raw, where), where)
    else:
        extra = ["ngrams"] if spec.kind == "bow" else ["bi"]
        names = ", ".join(sorted(set(known) | set(extra)))
        raise SeqcliError(f"{where}: unknown option {key!r} for {spec.kind} (options: {names})")
    option_texts.append(f"{key}={raw}")


def _coerce(f, raw, where):
    """``raw`` (text) as the type of dataclass field ``f``."""
    typ, optional = f.type, False
    if isinstance(typ, types.UnionType):
        args = [a for a in typ.__args__ if a is not type(None)]
        optional, typ = len(args) < len(typ.__args__), args[0]
    if optional and raw.lower() in ("none", "null", ""):
        return None
    try:
        if typ is bool:
            low = raw.lower()
            if low in ("1", "true", "yes", "on", ""):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if typ is int:
            return int(raw)
        if typ is float:
            value = float(raw)
            if not math.isfinite(value):
                raise ValueError
            return value
    except ValueError:
        what = {bool: "true or false", int: "a whole number", float: "a number"}[typ]
        raise SeqcliError(f"{where}: {f.name} must be {what}, not {raw!r}") from None
    if f.name in CHOICES and raw not in CHOICES[f.name]:
        raise SeqcliError(f"{where}: {f.name} must be one of {', '.join(CHOICES[f.name])}, not {raw!r}")
    return raw


def _checked(key, value, where):
    lo, hi = RANGES.get(key, (None, None))
    if key == "lr" and value is not None and value <= 0:
        raise SeqcliError(f"{where}: lr must be more than 0")
    if key == "dropout" and value is not None and not 0 <= value < 1:
        raise SeqcliError(f"{where}: dropout must be at least 0 and less than 1")
    if value is not None and not isinstance(value, (str, bool)):
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            span = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
            raise SeqcliError(f"{where}: {key} must be {span}, not {value}")
    return value


def estimator_params(spec, common):
    """The estimator parameters of a trained spec: ``common`` (command-line values, None = default)
    under the spec's own options. Only the options the spec's kind knows are taken from ``common``."""
    known = _option_fields(spec.kind)
    params = {k: v for k, v in common.items() if k in known and v is not None}
    params.update(spec.params)
    return params


# ----------------------------------------------------------------------------------------- splits

@dataclass
class Plan:
    """The rows every model sees, and how they are split.

    ``texts`` / ``labels`` hold the DATA rows followed by the --test rows (if any); each split is
    (train indexes, test indexes) into them. ``evaluated`` are the rows some split tests on.
    """
    texts: list
    labels: np.ndarray
    splits: list
    method: dict
    classes: list
    source: str
    n_data: int

    @property
    def evaluated(self):
        return np.unique(np.concatenate([te for _, te in self.splits]))


def make_plan(data_path, folds=None, test=None, val_split=None, seed=0, text_col=None,
              label_col=None, extra_classes=(), notify=_quiet):
    """Read DATA (and --test) and make the splits. Raises SeqcliError on any problem."""
    from seqcli import data

    given = [name for name, v in (("--folds", folds), ("--test", test), ("--val-split", val_split))
             if v is not None]
    if len(given) > 1:
        raise SeqcliError(f"choose one of --folds, --test and --val-split (got {' and '.join(given)})")
    table = data.read_table(data_path, text_col, label_col)
    if table.skipped:
        notify(table.skipped_summary())
    texts, labels = list(table.texts), np.array(table.labels, dtype=object)
    names, counts = np.unique(labels.astype(str), return_counts=True)
    if len(names) < 2:
        raise SeqcliError(f"{table.source}: every usable row has the label {labels[0]!r}; "
                          "comparing classifiers needs at least two classes")
    n = len(texts)
    if test is not None:
        other = data.read_table(test, text_col, label_col)
        if other.skipped:
            notify(other.skipped_summary())
        texts += other.texts
        labels = np.concatenate([labels, np.array(other.labels, dtype=object)])
        splits = [(np.arange(n), np.arange(n, len(texts)))]
        method = {"method": "test", "test": other.source, "n_train": n, "n_test": len(other.texts)}
    elif val_split is not None:
        if not (math.isfinite(val_split) and 0 < val_split < 1):
            raise SeqcliError(f"--val-split must be between 0 and 1, not {val_split}")
        n_test = int(math.ceil(val_split * n))
        if counts.min() < 2 or n_test < len(names) or n - n_test < len(names):
            raise SeqcliError(f"{table.source}: cannot hold out {val_split:g} of {n} rows with every "
                              f"class on both sides (smallest class: {str(names[counts.argmin()])!r}, "
                              f"{counts.min()} rows); use a larger --val-split or more data")
        from sklearn.model_selection import train_test_split

        tr, te = train_test_split(np.arange(n), test_size=n_test, random_state=seed, stratify=labels.astype(str))
        splits = [(np.sort(tr), np.sort(te))]
        method = {"method": "val_split", "val_split": val_split, "n_train": len(tr), "n_test": len(te)}
    else:
        k = DEFAULT_FOLDS if folds is None else folds
        if k < 2:
            raise SeqcliError(f"--folds {k}: cross-validation needs at least 2 folds "
                              "(for a single split use --val-split F or --test FILE)")
        if counts.min() < k:
            small = str(names[counts.argmin()])
            hint = f"use --folds {counts.min()} or fewer" if counts.min() >= 2 else "use --test FILE or more data"
            raise SeqcliError(f"{table.source}: --folds {k} needs at least {k} rows of every class, but "
                              f"{small!r} has {counts.min()}; {hint}")
        from sklearn.model_selection import StratifiedKFold

        cv = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
        splits = [(tr, te) for tr, te in cv.split(np.zeros(n), labels.astype(str))]
        method = {"method": "folds", "folds": k}
    method["seed"] = seed
    classes = sorted(set(labels.tolist()) | set(extra_classes))
    return Plan(texts, labels, splits, method, classes, table.source, n)


# ------------------------------------------------------------------------------------------ tasks

@dataclass
class Task:
    """One (model, fold) unit of work; everything in it pickles (it may cross to a Dask worker)."""
    model: int
    fold: int
    spec: ModelSpec
    params: dict
    train_idx: np.ndarray
    test_idx: np.ndarray
    classes: list
    probes: list
    gradients: bool
    fitted: object = None    # a loaded model (saved files only)


def run_task(task, texts, labels):
    """Train (or take) one model, score it on rows ``task.test_idx`` of ``texts`` / ``labels``.

    Runs inside a joblib worker. ``texts`` and ``labels`` (every row) are arguments of their own,
    not part of the task, so joblib's Dask backend scatters them to the cluster once. BLAS is held
    to one thread, so workers do not oversubscribe the machine and every result is the same
    whether it ran alone or beside others.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _run_task(task, texts, labels)


def _run_task(task, texts, labels):
    from seqcli import train
    from seqcli.metrics import classification_report

    spec = task.spec
    test_texts = [texts[i] for i in task.test_idx]
    test_labels = labels[task.test_idx].astype(str)
    train_seconds = file_bytes = halted = None
    if spec.trained:
        from seqcli.api import make_estimator

        est = make_estimator(spec.kind, task.params)
        train_texts = [texts[i] for i in task.train_idx]
        started = time.perf_counter()
        try:
            # on_halt: when --max-time / --max-steps end the run, fit keeps the best weights so far
            est.fit(train_texts, labels[task.train_idx].astype(str), on_halt=lambda *a: None)
        except train.Diverged as exc:
            raise SeqcliError(f"{spec.name}, fold {task.fold + 1}: training diverged ({exc}); "
                              f"try a smaller lr ({spec.name.split(':')[0]}:lr=...)") from None
        except train.Halted as exc:
            if exc.reason == "interrupted":
                raise KeyboardInterrupt from None
            halted = exc.reason
        train_seconds = time.perf_counter() - started
        model = est.model_
        file_bytes = _saved_size(model)
    else:
        model = task.fitted
    started = time.perf_counter()
    raw = model.predict_proba(test_texts)
    predict_seconds = time.perf_counter() - started
    proba = align_proba(raw, model.classes, task.classes)
    pred = np.array(task.classes, dtype=object)[proba.argmax(axis=1)].astype(str)
    report = classification_report(test_labels, pred, task.classes, proba)
    result = {
        "model": task.model, "fold": task.fold, "name": spec.name,
        "accuracy": report["accuracy"], "macro_f1": report["macro_f1"],
        "log_loss": report.get("log_loss"), "confusion": report["confusion"], "n_test": report["n"],
        "train_seconds": train_seconds, "predict_seconds": predict_seconds,
        "n_params": int(sum(p.size for p in model.net.params.values())), "file_bytes": file_bytes,
        "proba": proba.astype(np.float64),
        "probes": align_proba(model.predict_proba(task.probes), model.classes, task.classes) if task.probes else None,
        "gradients": None, "halted": halted,
    }
    if task.gradients and getattr(model, "kind", None) == "seq":
        result["gradients"] = gradient_profile(model, test_texts, test_labels)
    return result


def _saved_size(model):
    """Bytes of the model file ``model`` would be saved as."""
    import tempfile

    from seqcli import predictors

    with tempfile.TemporaryDirectory(prefix="seqcli-compare-") as folder:
        path = os.path.join(folder, "model.npz")
        predictors.save(path, model)
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
    """Sum and count of ‖∂loss/∂x⟨t⟩‖ by distance from each row's last token (distance 0 = last).

    Measured on the first ``max_rows`` of ``texts`` whose label the model knows.
    Returns {"sum": [...], "count": [...]} indexed by distance.
    """
    from seqcli.text import pad_batch

    index = {c: i for i, c in enumerate(model.classes)}
    rows = [(ids, index[y]) for ids, y in zip(model.encode(texts), labels) if y in index and len(ids)]
    rows = rows[:max_rows]
    max_len = max((len(ids) for ids, _ in rows), default=0)
    sums, counts = np.zeros(max_len), np.zeros(max_len, dtype=np.int64)
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
    return {"sum": sums.tolist(), "count": counts.tolist()}


def summarize_gradients(profiles, min_rows=GRADIENT_MIN_ROWS):
    """Mean norm by distance from several folds' profiles, and the fitted decay per step."""
    size = max((len(p["sum"]) for p in profiles), default=0)
    sums, counts = np.zeros(size), np.zeros(size, dtype=np.int64)
    for p in profiles:
        sums[: len(p["sum"])] += p["sum"]
        counts[: len(p["count"])] += p["count"]
    keep = np.flatnonzero(counts >= min_rows)
    if len(keep):
        keep = keep[: np.argmax(np.diff(np.r_[keep, keep[-1] + 2]) > 1) + 1]  # contiguous from 0
    mean = sums[keep] / counts[keep]
    factor = None
    pos = mean > 0
    if pos.sum() >= 2:
        slope = np.polyfit(keep[pos], np.log(mean[pos]), 1)[0]
        factor = float(np.exp(slope))
    return {"distance": keep.tolist(), "mean_norm": [float(v) for v in mean], "rows": counts[keep].tolist(),
            "per_step_factor": factor}


# ------------------------------------------------------------------------------------ fan-out

def _cost(spec, params):
    """A rough relative cost, so the slowest tasks are dispatched first (better packing)."""
    if not spec.trained:
        return 0.0
    if spec.kind == "bow":
        return 1.0 + params.get("ngram_max", 1)
    base = {"rnn": 1.0, "gru": 3.0, "lstm": 4.0}[spec.kind]
    return 10.0 * base * (2 if params.get("bidirectional") else 1) * params.get("layers", 1) * \
        (params.get("hidden", 128) / 128.0 + 0.5)


def check_backend(backend, scheduler):
    """The joblib backend name to use (None = joblib's default); SeqcliError on a bad choice."""
    if scheduler and backend in (None, "dask"):
        backend = "dask"
    elif scheduler:
        raise SeqcliError(f"--scheduler is for --backend dask, not --backend {backend}")
    if backend is None:
        return None
    from joblib import parallel

    known = sorted(set(parallel.BACKENDS) | set(parallel.EXTERNAL_BACKENDS))
    if backend not in known:
        raise SeqcliError(f"unknown --backend {backend!r} (joblib knows: {', '.join(known)})")
    if backend == "dask":
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise SeqcliError("--backend dask needs the optional extra: pip install 'seqcli[dask]'") from None
        if not scheduler:
            raise SeqcliError("--backend dask needs --scheduler ADDRESS (e.g. tcp://127.0.0.1:8786)")
    return backend


def _fan_out(tasks, texts, labels, jobs, backend, scheduler, on_result):
    """Run ``tasks`` through joblib; call ``on_result`` as each finishes; return all results."""
    import contextlib

    from joblib import Parallel, delayed, parallel_config
    from threadpoolctl import threadpool_limits

    n_jobs = -1 if jobs is None else jobs
    with contextlib.ExitStack() as stack:
        config = {}
        if backend == "dask":
            from distributed import Client

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
        calls = (delayed(run_task)(t, texts, labels) for t in tasks)
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


# -------------------------------------------------------------------------------------- compare

def read_probes(path):
    """Probe sentences from a file (or - for stdin), one per line; blank lines are skipped."""
    from seqcli import data

    lines = [line for line in data.iter_lines(path) if line.strip()]
    if not lines:
        raise SeqcliError(f"{data.display_name(path)}: no probe sentences (the file has no text lines)")
    return lines


def load_model_files(specs):
    """{model index: loaded predictor} for the saved-model specs (classifiers only)."""
    from seqcli import predictors

    loaded = {}
    for i, spec in enumerate(specs):
        if not spec.trained:
            if not os.path.exists(spec.path):
                raise SeqcliError(f"{spec.path}: no such file (and not a model kind: "
                                  f"choose {', '.join(ALIASES)})")
            loaded[i] = predictors.load(spec.path, {"bow", "seq"})
    return loaded


def run_compare(data_path, models=None, *, folds=None, test=None, val_split=None, seed=0,
                params=None, text_col=None, label_col=None, jobs=None, backend=None, scheduler=None,
                probes=(), gradients=False, disagreements=10, on_start=None, on_result=None,
                notify=_quiet):
    """Compare models on DATA; returns one JSON-ready dict (see ``describe`` in the tests).

    models: --models values (list of comma-separated spec lists); params: command-line estimator
    values ({"epochs": 2, "hidden": 32, ...}, None = the estimator's default); seed: splits and every
    model. on_start(plan info) and on_result(progress dict) report progress; nothing is printed.
    """
    started = time.perf_counter()
    specs = parse_models(models or [DEFAULT_MODELS])
    backend = check_backend(backend, scheduler)
    if jobs is not None and (jobs == 0 or jobs < -1):
        raise SeqcliError(f"--jobs must be at least 1 (or -1 for all cores), not {jobs}")
    if disagreements < 0:
        raise SeqcliError("--disagreements must be 0 or more")
    probes = [p for p in probes if p.strip()]
    if len(probes) > PROBE_LIMIT:
        raise SeqcliError(f"{len(probes)} probes; at most {PROBE_LIMIT}")
    loaded = load_model_files(specs)
    extra = [c for m in loaded.values() for c in m.classes]
    plan = make_plan(data_path, folds, test, val_split, seed, text_col, label_col, extra, notify)
    data_classes = set(plan.labels.tolist())
    for i, m in loaded.items():
        if not data_classes & set(m.classes):
            raise SeqcliError(f"{specs[i].path}: its classes ({', '.join(m.classes)}) are none of the "
                              f"labels in {plan.source} ({', '.join(sorted(data_classes))})")
    common = dict(params or {})
    common["seed"] = seed
    model_params = [estimator_params(s, common) if s.trained else {} for s in specs]
    tasks = [Task(i, k, spec, model_params[i], tr, te, plan.classes,
                  probes, gradients, loaded.get(i))
             for i, spec in enumerate(specs) for k, (tr, te) in enumerate(plan.splits)]
    tasks.sort(key=lambda t: (-_cost(t.spec, t.params), t.model, t.fold))
    n_folds = len(plan.splits)
    if on_start is not None:
        on_start({"models": [s.name for s in specs], "folds": n_folds, "tasks": len(tasks)})
    done = []

    def finished(res):
        done.append(res)
        if on_result is not None:
            on_result({"name": res["name"], "model": res["model"], "fold": res["fold"], "folds": n_folds,
                       "accuracy": res["accuracy"], "log_loss": res["log_loss"],
                       "train_seconds": res["train_seconds"], "halted": res["halted"],
                       "done": len(done), "tasks": len(tasks)})

    results = _fan_out(tasks, plan.texts, plan.labels, jobs, backend, scheduler, finished)
    results.sort(key=lambda r: (r["model"], r["fold"]))
    doc = _assemble(plan, specs, model_params, results, probes, gradients, disagreements)
    doc["run"] = {"jobs": -1 if jobs is None else jobs, "backend": backend or "loky",
                  "scheduler": scheduler, "seconds": round(time.perf_counter() - started, 3)}
    return doc


# what may differ between two runs of the same comparison: the clock, and how the work was spread
TIMING_KEYS = ("train_seconds", "predict_rows_per_second", "predict_seconds", "run")


def _stat(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"mean": float(np.mean(values)), "std": float(np.std(values))}


def _assemble(plan, specs, model_params, results, probes, gradients, n_disagree):
    classes = plan.classes
    n_classes = len(classes)
    evaluated = plan.evaluated
    by_model = [[r for r in results if r["model"] == i] for i in range(len(specs))]
    rows = []
    oof = np.zeros((len(specs), len(plan.texts), n_classes))
    for i, (spec, res) in enumerate(zip(specs, by_model)):
        for r in res:
            oof[i, plan.splits[r["fold"]][1]] = r["proba"]
        n_test = sum(r["n_test"] for r in res)
        predict_s = sum(r["predict_seconds"] for r in res)
        row = {
            "name": spec.name, "kind": spec.kind if spec.trained else "file",
            "source": "trained" if spec.trained else "file",
            "accuracy": _stat([r["accuracy"] for r in res]),
            "macro_f1": _stat([r["macro_f1"] for r in res]),
            "log_loss": _stat([r["log_loss"] for r in res]),
            "train_seconds": _stat([r["train_seconds"] for r in res]),
            "predict_rows_per_second": n_test / predict_s if predict_s > 0 else None,
            "n_params": int(round(np.mean([r["n_params"] for r in res]))),
            "file_bytes": int(round(np.mean([r["file_bytes"] for r in res]))) if spec.trained else
            os.path.getsize(spec.path),
            "confusion": np.sum([r["confusion"] for r in res], axis=0).astype(int).tolist(),
            "folds": [{k: r[k] for k in ("fold", "accuracy", "macro_f1", "log_loss", "train_seconds",
                                         "predict_seconds", "n_test", "n_params", "halted")} for r in res],
        }
        if spec.trained:
            row["params"] = model_params[i]
        else:
            row["path"] = spec.path
        rows.append(row)
    doc = {
        "data": plan.source, "n_rows": plan.n_data, "classes": classes, "evaluation": plan.method,
        "models": rows, "best": _best(rows),
        "confusion_axes": "rows: true class, columns: predicted class (summed over folds)",
    }
    if len(specs) >= 2 and n_disagree:
        doc["disagreements"] = _disagreements(plan, specs, oof, evaluated, n_disagree)
    if probes:
        doc["probes"] = []
        for j, text in enumerate(probes):
            preds = {}
            for spec, res in zip(specs, by_model):
                p = np.mean([r["probes"][j] for r in res], axis=0)
                best = int(p.argmax())
                preds[spec.name] = {"label": classes[best], "probability": float(p[best]),
                                    "probs": {c: float(v) for c, v in zip(classes, p)}}
            doc["probes"].append({"text": text, "predictions": preds})
    if gradients:
        doc["gradients"] = {spec.name: summarize_gradients([r["gradients"] for r in res])
                            for spec, res in zip(specs, by_model) if res and res[0]["gradients"] is not None}
    return doc


BEST = {"accuracy": max, "macro_f1": max, "log_loss": min, "train_seconds": min,
        "predict_rows_per_second": max, "n_params": min, "file_bytes": min}


def _best(rows):
    """{column: [names of the best models]} (ties share the honour)."""
    out = {}
    for col, pick in BEST.items():
        vals = {r["name"]: (r[col]["mean"] if isinstance(r[col], dict) else r[col]) for r in rows}
        vals = {k: v for k, v in vals.items() if v is not None}
        if vals:
            top = pick(vals.values())
            out[col] = [k for k, v in vals.items() if v == top]
    return out


def _disagreements(plan, specs, oof, evaluated, n):
    """The ``n`` evaluated texts on which the models' probabilities differ most.

    Score: the largest gap between two models' probabilities for one class (0 = full agreement,
    1 = one model certain of a class another rules out). Ties keep file order.
    """
    p = oof[:, evaluated]                                      # (models, rows, classes)
    gap = (p.max(axis=0) - p.min(axis=0)).max(axis=1)          # (rows,)
    order = np.argsort(-gap, kind="stable")[:n]
    out = []
    for j in order:
        row = evaluated[j]
        preds = {}
        for i, spec in enumerate(specs):
            best = int(p[i, j].argmax())
            preds[spec.name] = {"label": plan.classes[best], "probability": float(p[i, j, best])}
        out.append({"text": plan.texts[row], "label": str(plan.labels[row]), "gap": float(gap[j]),
                    "predictions": preds})
    return out


def without_timings(doc):
    """``doc`` minus every figure that depends on the clock (for comparing runs)."""
    if isinstance(doc, dict):
        return {k: without_timings(v) for k, v in doc.items() if k not in TIMING_KEYS}
    if isinstance(doc, list):
        return [without_timings(v) for v in doc]
    return doc
