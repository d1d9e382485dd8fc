"""The comparison document: per-model figures over the folds, the best of each column, where the
models disagree, the probes, and the gradient profiles (JSON-ready; drawn by ui/compare.py)."""

import os

import numpy as np

from seqcli.compare.trials import GRADIENT_MIN_ROWS

# what may differ between two runs of the same comparison: the clock, and how the work was spread
TIMING_KEYS = ("train_seconds", "predict_rows_per_second", "predict_seconds", "run", "train_tokens_per_second",
               "epoch_seconds")


def _stat(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"mean": float(np.mean(values)), "std": float(np.std(values))}


def assemble(plan, specs, model_params, results, probes, gradients, n_disagree):
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
            "train_tokens_per_second": _stat([r["train_tokens_per_second"] for r in res]),
            "epoch_seconds": _stat([r["epoch_seconds"] for r in res]),
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
        "models": rows, "best": best_of(rows),
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


BEST = {"accuracy": max, "macro_f1": max, "log_loss": min, "train_seconds": min, "train_tokens_per_second": max,
        "epoch_seconds": min,
        "predict_rows_per_second": max, "n_params": min, "file_bytes": min}


def best_of(rows, columns=BEST):
    """{column: [names of the best models]} (ties share the honour); ``columns``: {column: max or min}."""
    out = {}
    for col, pick in columns.items():
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


def summarize_gradients(profiles, min_rows=GRADIENT_MIN_ROWS):
    """Mean norm by distance from several folds' profiles, the mean relative to each row's own mean,
    and the fitted decay per step of each."""
    size = max((len(p["sum"]) for p in profiles), default=0)
    sums, counts, rel = np.zeros(size), np.zeros(size, dtype=np.int64), np.zeros(size)
    for p in profiles:
        sums[: len(p["sum"])] += p["sum"]
        counts[: len(p["count"])] += p["count"]
        rel[: len(p["rel_sum"])] += p["rel_sum"]
    keep = np.flatnonzero(counts >= min_rows)
    if len(keep):
        keep = keep[: np.argmax(np.diff(np.r_[keep, keep[-1] + 2]) > 1) + 1]  # contiguous from 0
    mean, mean_rel = sums[keep] / counts[keep], rel[keep] / counts[keep]
    return {"distance": keep.tolist(), "mean_norm": [float(v) for v in mean], "rows": counts[keep].tolist(),
            "per_step_factor": _decay(keep, mean), "mean_relative": [float(v) for v in mean_rel],
            "relative_per_step_factor": _decay(keep, mean_rel)}


def _decay(distance, values):
    """The factor per step back of an exponential fitted to ``values`` (None with fewer than 2 positive)."""
    pos = values > 0
    if pos.sum() < 2:
        return None
    return float(np.exp(np.polyfit(distance[pos], np.log(values[pos]), 1)[0]))
