"""The rows every compared model sees, and how they are split (folds, --test FILE or --val-split)."""

import math
from dataclasses import dataclass

import numpy as np

from seqcli.errors import SeqcliError, UsageError

DEFAULT_FOLDS = 5


def _quiet(message):
    pass


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
        raise UsageError(f"choose one of --folds, --test and --val-split (got {' and '.join(given)})")
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
            raise UsageError(f"--val-split must be between 0 and 1, not {val_split}")
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
            raise UsageError(f"--folds {k}: cross-validation needs at least 2 folds "
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


