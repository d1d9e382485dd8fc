"""Accuracy, macro-F1, log-loss, per-class precision/recall and the confusion matrix.

A thin layer over sklearn.metrics that returns plain JSON-ready dicts.
"""

import numpy as np


def classification_report(y_true, y_pred, classes, proba=None):
    """Figures for predictions ``y_pred`` against ``y_true`` (label strings), classes in order.

    proba: optional (m, n_classes) probabilities for log-loss.
    Returns {"accuracy", "macro_f1", "log_loss"?, "per_class": [...], "confusion": [[...]], "n"}.
    The confusion matrix has true classes as rows and predicted classes as columns.
    """
    from sklearn.metrics import confusion_matrix, log_loss, precision_recall_fscore_support

    classes = list(classes)
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=classes, zero_division=0)
    report = {
        "n": int(len(y_true)),
        "accuracy": float((y_true == y_pred).mean()) if len(y_true) else 0.0,
        "macro_f1": float(np.mean(f1)),
        "per_class": [{"class": c, "precision": float(p), "recall": float(r), "f1": float(f),
                       "support": int(s)} for c, p, r, f, s in zip(classes, precision, recall, f1, support)],
        "confusion": confusion_matrix(y_true, y_pred, labels=classes).tolist(),
    }
    if proba is not None and len(y_true):
        proba = np.clip(np.asarray(proba, dtype=np.float64), 1e-15, 1)
        proba /= proba.sum(axis=1, keepdims=True)  # float32 rows may miss 1 by an ulp
        report["log_loss"] = float(log_loss(y_true, proba, labels=classes))
    return report
