"""Writers of feature rows: JSON Lines, svmlight / libsvm, scipy's .npz, and files written whole."""

import json
import math
import os
import tempfile
from numbers import Integral

import numpy as np

from seqcli.errors import FeatureError


def _integral(rows, integers):
    """Whether to print values as integers: forced by ``integers``, else when all of them are."""
    if integers is not None:
        return integers
    return bool(np.all(rows.data == np.round(rows.data)))


def write_jsonl(rows, names, out, *, integers=None):
    """One JSON object per row on ``out``: ``{"term": value, ...}``; an empty row gives ``{}``.

    Keys come in the order the terms first occur in the text when ``rows.first_seen`` is set,
    else in column order. Values are ints when all values are whole numbers (counts, binary; force
    with ``integers=True/False``), else floats rounded to 6 decimals. ``names`` maps column -> term
    (``Vectorizer.feature_names()``). Lines are written one at a time so pipes see each promptly.
    """
    as_int = _integral(rows, integers)
    values = rows.data.astype(np.int64).tolist() if as_int else \
        [round(v, 6) for v in rows.data.astype(np.float64).tolist()]
    indices = rows.indices.tolist()
    first_seen = rows.first_seen.tolist() if rows.first_seen is not None else None
    bounds = rows.indptr.tolist()
    for a, b in zip(bounds[:-1], bounds[1:]):
        span = range(a, b) if first_seen is None else sorted(range(a, b), key=first_seen.__getitem__)
        obj = {names[indices[k]]: values[k] for k in span}
        out.write(json.dumps(obj, ensure_ascii=False) + "\n")


def write_svmlight(rows, out, labels=None):
    """svmlight / libsvm lines ``label col:value ...`` with 1-based columns (libsvm convention).

    Read back with ``sklearn.datasets.load_svmlight_file(f, zero_based=False)``. The label is 0
    when ``labels`` is None; labels must not contain whitespace. Values are ints when all are
    whole numbers, else ``%.9g`` (enough digits to give back the same float32).
    """
    m = rows.shape[0]
    if labels is not None and len(labels) != m:
        raise FeatureError(f"got {len(labels)} labels for {m} rows")
    as_int = _integral(rows, None)
    values = ([str(v) for v in rows.data.astype(np.int64).tolist()] if as_int else
              ["%.9g" % v for v in rows.data.astype(np.float64).tolist()])
    cols = (rows.indices.astype(np.int64) + 1).tolist()
    bounds = rows.indptr.tolist()
    for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
        label = "0" if labels is None else _svm_label(labels[i])
        out.write(" ".join([label] + [f"{cols[k]}:{values[k]}" for k in range(a, b)]) + "\n")


def _svm_label(label):
    if isinstance(label, (Integral, np.integer)):
        return str(int(label))
    if isinstance(label, (float, np.floating)):
        if not math.isfinite(label):
            raise FeatureError(f"svmlight label must be finite, not {label!r}")
        return "%.17g" % label
    text = str(label)
    if not text or any(ch.isspace() for ch in text):
        raise FeatureError(f"svmlight label must be non-empty without whitespace: {text!r}")
    return text


def write_npz(rows, path_or_file):
    """Save rows with ``scipy.sparse.save_npz`` (read back with ``scipy.sparse.load_npz``).

    A path is written exactly as given (``save_npz`` alone would append ``.npz`` to a name without
    it), through :func:`write_to_path`. A failed write is a one-line FeatureError naming the path.
    """
    from scipy.sparse import save_npz  # lazy: scipy is slow to import

    matrix = rows.to_scipy()
    if hasattr(path_or_file, "write"):
        save_npz(path_or_file, matrix)
        return
    write_to_path(path_or_file, lambda out: save_npz(out, matrix), binary=True)


def write_to_path(path, write, binary=False):
    """Call ``write(file)`` on a file opened for ``path``, safely.

    A regular file is written to a temporary file in the same folder and renamed into place, so a
    full disk or a crash leaves any previous file whole; a device or a pipe (``/dev/stdout``) is
    written directly. A failed write is a one-line FeatureError naming the path.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise FeatureError(f"{path}: is a directory; give a file name for the vectors")
    mode = "wb" if binary else "w"
    encoding = None if binary else "utf-8"
    tmp = None
    direct = os.path.exists(path) and not os.path.isfile(path)
    try:
        if direct:
            with open(path, mode, encoding=encoding) as out:
                write(out)
            return
        fd, tmp = tempfile.mkstemp(prefix=".seqcli-", suffix=".tmp",
                                   dir=os.path.dirname(os.path.abspath(path)))
        with os.fdopen(fd, mode, encoding=encoding) as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        from seqcli.persist import file_mode

        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        kept = "" if direct else "; any previous file there is untouched"
        raise FeatureError(f"{path}: cannot write the vectors ({exc.strerror or exc}){kept}") from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass  # already gone
