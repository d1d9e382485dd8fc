"""The library facade behind the CLI: train, predict, vectorize. Never prints.

Each function takes plain values, does one job and returns results (or yields output lines);
diagnostics go through the ``notify`` callable it is given. Heavy modules (scikit-learn, the
training code) are imported inside the functions that need them, so ``predict`` starts fast.
"""

import hashlib
import json
import math
import os

import numpy as np

from seqcli.errors import SeqcliError

SEQ_CELLS = ("rnn", "gru", "lstm")


def _quiet(message):
    pass


# ----------------------------------------------------------------------------------------- train

def checkpoint_path(output):
    """Where the resumable training state of ``output`` goes: model.npz -> model.ckpt.npz."""
    root, ext = os.path.splitext(output)
    return f"{root}.ckpt{ext or '.npz'}"


def data_fingerprint(texts, labels):
    """sha256 over the training rows, so --resume can tell it is given the same data."""
    h = hashlib.sha256()
    for t, y in zip(texts, labels):
        h.update(t.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
        h.update(str(y).encode("utf-8", "surrogatepass"))
        h.update(b"\x01")
    return h.hexdigest()


def make_estimator(model, params):
    """A fresh estimator for model kind ``model`` ("bow" or a cell) with hyperparameters ``params``."""
    from seqcli.estimators import BowClassifier, SeqClassifier

    if model == "bow":
        cls = BowClassifier
    elif model in SEQ_CELLS:
        cls = SeqClassifier
    else:
        raise SeqcliError(f"unknown model {model!r} (choose bow, rnn, gru or lstm)")
    known = cls._get_param_names()
    kwargs = {k: v for k, v in params.items() if k in known and v is not None}
    if cls is SeqClassifier:
        kwargs["cell"] = model
    return cls(**kwargs)


def train_classifier(data_path, output, model="bow", params=None, text_col=None, label_col=None,
                     resume=None, report=None, notify=_quiet):
    """Fit a classifier on a CSV/TSV file and write it to ``output``.

    params: estimator hyperparameters (see estimators.BowClassifier / SeqClassifier).
    resume: path of a checkpoint written by an earlier, halted run of the same command.
    Returns a summary dict (also stored, minus timings, in the model file). Raises SeqcliError.
    When training halts early, the summary has "halted": reason and "checkpoint": path.
    """
    import time

    from seqcli import data

    params = dict(params or {})
    point = None
    if resume is not None:
        model, params, point, fingerprint = _read_checkpoint(resume, params)
    table = data.read_table(data_path, text_col, label_col)  # bad data fails before slow imports

    from seqcli import predictors, train
    from seqcli.estimators import split_stratified
    from seqcli.metrics import classification_report

    if table.skipped:
        notify(table.skipped_summary())
    if len(set(table.labels)) < 2:
        raise SeqcliError(f"{table.source}: every usable row has the label {table.labels[0]!r}; "
                          "a classifier needs at least two classes")
    fp = data_fingerprint(table.texts, table.labels)
    if point is not None and fp != fingerprint:
        raise SeqcliError(f"{resume}: this checkpoint was made on other data than {table.source}; "
                          "resume with the same data file")
    est = make_estimator(model, params)
    # the split is made here (not inside fit) so the final report uses the very validation rows
    X_tr, X_va, y_tr, y_va = split_stratified(table.texts, np.array(table.labels), est.val_split, est.seed)
    ckpt = checkpoint_path(output)

    saved = []  # set once this run has written a validated best model to output

    def save_best(m):
        predictors.save(output, m)
        saved.append(True)

    def save_checkpoint(m, resume_point, reason):
        _write_checkpoint(ckpt, m, model, est, resume_point, fp)

    started = time.perf_counter()
    halted = None
    try:
        est.fit(X_tr, y_tr, X_va, y_va, report=report, resume=point, on_best=save_best,
                on_halt=save_checkpoint)
    except train.Halted as halt:
        halted = halt.reason
        if halt.state.best_epoch < 0:
            # stopped before the first validation: there is no model worth writing, and an
            # existing file at output (perhaps a good model) must not be replaced by random weights
            return {"model": model, "halted": halted, "checkpoint": ckpt, "model_written": False,
                    "output": output, "seconds": round(time.perf_counter() - started, 3)}
    except train.Diverged as exc:
        kept = f"; the best weights so far are in {output}" if saved or point is not None else ""
        raise SeqcliError(f"training diverged: {exc}{kept}") from None
    seconds = time.perf_counter() - started
    fitted = est.model_
    eval_texts, eval_labels = (X_va, y_va) if X_va is not None else (X_tr, y_tr)
    proba = fitted.predict_proba(list(eval_texts))
    pred = np.array(fitted.classes)[proba.argmax(axis=1)]
    metrics = classification_report(eval_labels, pred, fitted.classes, proba)
    summary = {
        "model": model, "classes": fitted.classes, "n_train": len(X_tr),
        "n_val": 0 if X_va is None else len(X_va), "evaluated_on": "validation" if X_va is not None else "training",
        "skipped_rows": len(table.skipped), "metrics": metrics,
    }
    if halted:
        summary.update(halted=halted, checkpoint=ckpt)
    else:
        state = est.train_state_
        summary.update(epochs_run=state.epoch, best_epoch=state.best_epoch + 1, stopped=state.stop_reason)
        if os.path.exists(ckpt):
            os.unlink(ckpt)  # the run is complete: its resume point is no longer needed
    predictors.save(output, fitted, training=summary)
    summary.update(output=output, seconds=round(seconds, 3), n_params=int(sum(p.size for p in fitted.net.params.values())))
    return summary


def _write_checkpoint(path, fitted, model, est, point, fingerprint):
    from seqcli import persist

    header, arrays = fitted.to_state()  # the model at its best weights
    ckpt_arrays = {f"model.{k}": v for k, v in arrays.items()}
    ckpt_arrays.update({f"cur.{k}": v for k, v in point.params.items()})
    ckpt_arrays.update({f"best.{k}": v for k, v in point.best_params.items()})
    ckpt_arrays.update({f"opt.{k}": v for k, v in point.opt_arrays.items()})
    params = {k: v for k, v in est.get_params().items()}
    persist.save_model(path, "checkpoint", {
        "model_kind": fitted.kind, "model": model, "model_header": header, "params": params,
        "opt_meta": point.opt_meta, "train_state": point.state.to_json(), "data_sha256": fingerprint,
    }, ckpt_arrays)


def _read_checkpoint(path, overrides):
    """(model name, estimator params, ResumePoint, data fingerprint) from a checkpoint file.

    Only the bounds of the run (--max-steps, --max-time) may change on resume; everything else
    is the halted run's, so the result is the same as an uninterrupted run.
    """
    from seqcli import persist, predictors
    from seqcli.estimators import ResumePoint
    from seqcli.nn import checks
    from seqcli.train import resume_parts

    header, arrays = persist.load_model(path, {"checkpoint"})
    try:
        params, state, pick = resume_parts(header, arrays, overrides)
        point = ResumePoint(pick("cur."), pick("best."), pick("opt."), header["opt_meta"], state)
        # the stored model must load, and the resume arrays must fit its network
        model = predictors.MODEL_CLASSES[header["model_kind"]].from_state(header["model_header"], pick("model."))
        checks.check_resume(model.net.params, point.params, point.best_params, point.opt_arrays)
        return header["model"], params, point, header["data_sha256"]
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise SeqcliError(f"{path}: damaged checkpoint ({exc})") from None


# --------------------------------------------------------------------------------------- predict

def load_model(path, kinds=None):
    """Load a model file for prediction (one-line SeqcliError on any problem)."""
    from seqcli import predictors

    return predictors.load(path, kinds)


def predict_batches(model, batches):
    """For each batch of texts, yield (texts, probabilities (m, n_classes))."""
    for texts in batches:
        yield texts, model.predict_proba(texts)


def format_prediction(classes, probs, as_json=False, with_proba=False):
    """One output line (without newline) for one text's class probabilities ``probs``."""
    best = int(np.argmax(probs))
    if as_json:
        return json.dumps({"label": classes[best],
                           "probs": {c: round(float(p), 6) for c, p in zip(classes, probs)}},
                          ensure_ascii=False)
    line = f"{classes[best]}\t{probs[best]:.4f}"
    if with_proba:
        line += "".join(f"\t{c}={p:.4f}" for c, p in zip(classes, probs))
    return line


# ------------------------------------------------------------------------------------- vectorize

def fit_vectorizer(texts, config):
    from seqcli.features import Vectorizer

    return Vectorizer(config).fit(texts)


def save_vectorizer(path, vectorizer):
    from seqcli import persist

    header, arrays = vectorizer.to_state()
    persist.save_model(path, "vectorizer", {"vectorizer": header}, arrays)


def load_vectorizer(path):
    from seqcli import persist
    from seqcli.features import Vectorizer

    header, arrays = persist.load_model(path, {"vectorizer"})
    try:
        return Vectorizer.from_state(header["vectorizer"], arrays)
    except (KeyError, ValueError, TypeError) as exc:
        raise SeqcliError(f"{path}: damaged vectorizer file ({' '.join(str(exc).split())})") from None


def is_finite_number(x):
    return isinstance(x, (int, float)) and math.isfinite(x)
