"""How a hyperparameter is declared and checked: ``knob`` (a dataclass field with its bounds or
choices), ``_Checked`` (a config that checks every field when it is made), and reading / writing the
stored form of a config. The configs themselves are in config.py.
"""

import math
import types
import typing
from dataclasses import asdict, field, fields

from seqcli.errors import UsageError


class ConfigError(UsageError, ValueError):
    """A hyperparameter out of its bounds: a usage error (exit code 2)."""


def knob(default, *, lo=None, hi=None, lo_open=False, hi_open=False, choices=None):
    """A config field with its bounds ([lo, hi], an end open where asked) or its choices."""
    return field(default=default, metadata={"lo": lo, "hi": hi, "lo_open": lo_open, "hi_open": hi_open,
                                            "choices": choices})


def bounds(cls, name):
    """(lo, hi, lo_open, hi_open, choices) of field ``name`` of config class ``cls``."""
    meta = {f.name: f.metadata for f in fields(cls)}[name]
    return meta.get("lo"), meta.get("hi"), meta.get("lo_open", False), meta.get("hi_open", False), meta.get("choices")


def field_type(cls, name):
    """The annotation of field ``name`` of config class ``cls`` (inherited fields included)."""
    return {f.name: f.type for f in fields(cls)}[name]


def base_type(annotation):
    """(type, None allowed) of a field annotation such as ``int | None``."""
    args = typing.get_args(annotation)
    if isinstance(annotation, types.UnionType) or args:
        kinds = [a for a in args if a is not type(None)]
        return kinds[0], len(kinds) < len(args)
    return annotation, False


def check_value(cls, name, value):
    """``value`` if field ``name`` of ``cls`` accepts it, else a ConfigError saying why (one line)."""
    f = {f.name: f for f in fields(cls)}[name]
    typ, optional = base_type(f.type)
    if value is None:
        if optional:
            return value
        raise ConfigError(f"{name} must be set (not None)")
    if not _has_type(value, typ):
        raise ConfigError(f"{name} must be {_TYPE_NAMES[typ]}, not {value!r}")
    lo, hi, lo_open, hi_open, choices = bounds(cls, name)
    if choices is not None and value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(map(str, choices))}, not {value!r}")
    if typ is float and not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, not {value!r}")
    if (lo is not None and (value < lo or (lo_open and value == lo))) or (
            hi is not None and (value > hi or (hi_open and value == hi))):
        raise ConfigError(f"{name} must be {span(lo, hi, lo_open, hi_open)}, not {value:g}")
    return value


def span(lo, hi, lo_open=False, hi_open=False):
    """'between 1 and 8192', 'at least 0 and less than 1', 'more than 0': a range in words."""
    lower = None if lo is None else f"{'more than' if lo_open else 'at least'} {lo:g}"
    upper = None if hi is None else f"{'less than' if hi_open else 'at most'} {hi:g}"
    if lower and upper and not (lo_open or hi_open):
        return f"between {lo:g} and {hi:g}"
    return " and ".join(p for p in (lower, upper) if p)


_TYPE_NAMES = {int: "a whole number", float: "a number", bool: "true or false", str: "a string"}


def _has_type(value, typ):
    if typ is bool:
        return isinstance(value, bool)
    if typ is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if typ is float:  # JSON writes 1.0 as 1.0, but accept an integer too
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, typ)


class _Checked:
    """Mixin: every field is checked against its bounds when the config is made."""

    def __post_init__(self):
        for f in fields(self):
            check_value(type(self), f.name, getattr(self, f.name))
        self._check_together()

    def _check_together(self):
        """Checks that involve several fields (none by default)."""


# ----------------------------------------------------------------------------- stored configs

def to_dict(cfg):
    """JSON-ready dict of a config dataclass."""
    return asdict(cfg)


def split_params(params, *classes):
    """``params`` (one flat dict) cut into one dict per config class (keys it knows; None = default)."""
    out = []
    for cls in classes:
        names = {f.name for f in fields(cls)}
        out.append({k: v for k, v in params.items() if k in names and v is not None})
    return out


def from_dict(cls, data, what="config"):
    """Rebuild a config from a stored dict; unknown keys, wrong types and values out of bounds are
    errors. TypeError / ValueError (not a usage error): the loader adds the file's name."""
    if not isinstance(data, dict):
        raise TypeError(f"{what} is not a mapping")
    names = {f.name for f in fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"unknown {what} keys: {', '.join(sorted(unknown))}")
    try:
        return cls(**data)
    except ConfigError as exc:
        raise ValueError(f"{what}: {exc.message}") from None
