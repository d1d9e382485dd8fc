"""Checks of a stored network's header and arrays, run BEFORE the network is built.

A model file is untrusted input: its header's sizes decide how much a constructor allocates and how
long it loops (``layers: 10**12``). So ``from_config`` first checks each size is an int within the
CLI's own bounds, then that the stored arrays have exactly the keys, shapes and a float dtype the
config implies (computed without allocating anything); only then is the network built. Every failure
is a ValueError, which models.load turns into "<file>: damaged model file (...)".
"""

import numpy as np

from .limits import MAX_CLASSES, MAX_FEATURES, MAX_LAYERS, MAX_UNITS, MAX_VOCAB  # noqa: F401 (re-exported)


class KeysDiffer(KeyError, ValueError):
    """The stored parameter names are not the network's (a KeyError, as SeqNet always raised)."""

    def __str__(self):  # KeyError's own shows the repr of the message
        return str(self.args[0])


class Rebuildable:
    """Mixin of the networks: ``from_config(config, params)`` rebuilds a network from its ``config()``
    and saved arrays, checking the arrays against ``param_shapes(config)`` BEFORE anything is built
    (a model file is untrusted). The dtype comes from the arrays.

    ``params`` is the network's one flat dict of namespaced parameters, which the layers read at every
    call: the first dict assigned becomes it; a later one must have the same keys and updates it in
    place (so the layers never hold a stale dict)."""

    @property
    def params(self):
        return self._params

    @params.setter
    def params(self, new):
        if "_params" not in self.__dict__:   # the network's first: it becomes the dict
            self._params = new
        elif new is not self._params:
            differ = set(self._params) ^ set(new)
            if differ:
                raise KeyError(f"parameter keys differ: {sorted(differ)}")
            self._params.update(new)

    @classmethod
    def from_config(cls, config, params):
        shapes = cls.param_shapes(config)
        dtype = check_arrays(params, shapes)
        net = cls(**{**config, "dtype": dtype})
        for k in shapes:
            net.params[k] = np.array(params[k], dtype=dtype)
        return net


def config_int(config, key, lo, hi):
    """config[key] as an int in [lo, hi] (bools are not sizes)."""
    value = config[key]
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
        raise ValueError(f"network {key} must be an integer from {lo} to {hi}, not {value!r}")
    return int(value)


def config_choice(config, key, choices):
    value = config[key]
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"network {key} must be one of {', '.join(sorted(choices))}, not {value!r}")
    return value


def config_dropout(config):
    value = config.get("dropout", 0.0)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(f"network dropout must be a number in [0, 1), not {value!r}")


def check_arrays(params, expected):
    """``params`` (name -> array) must have exactly ``expected``'s keys and shapes, all of one float
    dtype (float32 or float64), which is returned."""
    extra, missing = set(params) - set(expected), set(expected) - set(params)
    if extra or missing:
        raise KeysDiffer(f"parameters {sorted(missing)}" if not extra else
                         f"parameter keys (unexpected {sorted(extra)}, missing {sorted(missing)})")
    dtypes = {np.asarray(v).dtype for v in params.values()}
    if len(dtypes) != 1 or not dtypes <= {np.dtype(np.float32), np.dtype(np.float64)}:
        raise ValueError(f"parameters have dtype {', '.join(sorted(map(str, dtypes)))}, "
                         "expected all float32 or all float64")
    for k, shape in expected.items():
        if np.shape(params[k]) != tuple(shape):
            raise ValueError(f"parameter {k!r} has shape {np.shape(params[k])}, expected {tuple(shape)}")
    return dtypes.pop()


def check_resume(params, cur, best, opt):
    """A resume point's arrays against the network's ``params`` (name -> array): the current and
    best weights need the same keys and shapes, each optimizer array ("m.W", "v.W") the shape of
    its parameter. Without this a damaged checkpoint resumes from other weights or fails deep in
    training with an IndexError."""
    shapes = {k: np.shape(v) for k, v in params.items()}
    for what, arrays in (("current weights", cur), ("best weights", best)):
        try:
            check_arrays(arrays, shapes)
        except ValueError as exc:
            raise ValueError(f"{what}: {exc}") from None
    for key, arr in opt.items():
        name = key.split(".", 1)[-1]
        if name not in shapes or np.shape(arr) != shapes[name] or np.asarray(arr).dtype.kind != "f":
            raise ValueError(f"optimizer state {key!r} does not match the parameter {name!r}")


def ids_and_lengths(ids, lengths, what=""):
    """(ids (T, m) intp, lengths (m,) intp clipped to [0, T]) of a batch of padded id sequences; a
    ValueError when the shapes do not fit (``what``: "source", "target", ... for the message)."""
    name = f"{what} " if what else ""
    ids = np.asarray(ids, dtype=np.intp)
    if ids.ndim != 2:
        raise ValueError(f"{name}ids must be (T, m), got shape {ids.shape}")
    lengths = np.asarray(lengths, dtype=np.intp).reshape(-1)
    if lengths.shape[0] != ids.shape[1]:
        raise ValueError(f"{lengths.shape[0]} {name}lengths for {ids.shape[1]} rows")
    return ids, np.clip(lengths, 0, ids.shape[0])
