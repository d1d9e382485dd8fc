"""Options shared by several commands, declared once, with their bounds and choices read from config.py.

``knob(Config, "field", "--flag", help)`` is a typer Option whose range (ints: typer's own min/max, a
usage error with exit code 2) or check (floats: finite and within bounds, open ends where config says)
comes from the config field; ``choices(Config, "field")`` is the Literal type of a field's choices.
So a bound is stated once, in config.py, and tests/test_config.py checks that every option agrees.
"""

import math
import re
from typing import Annotated, Literal, Optional

import typer

from seqcli.config import BowConfig, LMConfig, SeqConfig, TrainConfig, VectorizerConfig, base_type, bounds, field_type


def _finite(value):
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter("must be a finite number")
    return value


def float_range(lo=None, hi=None, lo_open=False, hi_open=False):
    """Callback checking a float option: finite, and within [lo, hi] (open ends where asked).

    One place for the check so NaN gets "must be a finite number" rather than a range message.
    """
    def check(value):
        if value is None:
            return value
        _finite(value)
        if lo is not None and (value < lo or (lo_open and value == lo)):
            raise typer.BadParameter(f"must be {'more than' if lo_open else 'at least'} {lo:g}")
        if hi is not None and (value > hi or (hi_open and value == hi)):
            raise typer.BadParameter(f"must be {'less than' if hi_open else 'at most'} {hi:g}")
        return value
    return check


def knob(cls, name, *flags, help, **kwargs):
    """A typer Option for field ``name`` of config ``cls``, bounded as the field is."""
    lo, hi, lo_open, hi_open, _ = bounds(cls, name)
    typ = base_type(field_type(cls, name))[0]
    if typ is int:
        kwargs.update(min=lo, max=hi)
    elif typ is float:
        kwargs["callback"] = float_range(lo, hi, lo_open, hi_open)
    return typer.Option(*flags, help=help, **kwargs)


def choices(cls, name):
    """The Literal type of field ``name``'s choices (typer lists them in --help and checks them)."""
    return Literal[tuple(bounds(cls, name)[4])]


def only_with(flag, given, values):
    """A usage error when options that only go with ``flag`` are given without it.

    given: whether ``flag`` is on; values: {"--option": value or None/False}."""
    used = [name for name, value in values.items() if value not in (None, False)]
    if used and not given:
        raise typer.BadParameter(f"only goes with {flag}", param_hint=used[0])


def parse_duration(text):
    """Seconds in '90', '90s', '10m', '1h30m', '2.5h'; None stays None."""
    if text is None:
        return None
    text = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        seconds = float(text)
    else:
        parts = re.findall(r"(\d+(?:\.\d+)?)([hms])", text)
        if not parts or "".join(n + u for n, u in parts) != text:
            raise typer.BadParameter(f"{text!r} is not a duration (examples: 90s, 10m, 1h30m)",
                                     param_hint="--max-time")
        seconds = sum(float(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts)
    # called from the command's body, not as a callback: name the option ourselves
    lo, hi = bounds(TrainConfig, "max_time")[:2]
    if not seconds > lo:
        raise typer.BadParameter("must be more than 0 seconds", param_hint="--max-time")
    if not seconds < hi:
        raise typer.BadParameter(f"{text!r} is too long: the limit is {hi:.0f} seconds (about 31 years)",
                                 param_hint="--max-time")
    return seconds


def parse_range(text, name="range"):
    """'1:2' -> (1, 2); '2' -> (2, 2). Both ends within the n-gram bounds and min <= max."""
    lo_bound, hi_bound = bounds(VectorizerConfig, "ngram_min")[:2]
    m = re.fullmatch(r"\s*(\d+)\s*(?::\s*(\d+)\s*)?", text or "")
    if not m:
        raise typer.BadParameter(f"{text!r} is not a {name} like 1:2")
    lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
    if lo < lo_bound or hi < lo or hi > hi_bound:
        raise typer.BadParameter(f"{text!r}: need {lo_bound} <= MIN <= MAX <= {hi_bound}")
    return lo, hi


def _ngrams_cb(value):
    return None if value is None else parse_range(value, "n-gram range")


T, S, B, L, V = TrainConfig, SeqConfig, BowConfig, LMConfig, VectorizerConfig

Seed = Annotated[int, knob(T, "seed", "--seed", help="Random seed: same seed, same data -> same model file.")]
JsonOut = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or report output (warnings such as skipped rows still show).")]
TextCol = Annotated[Optional[str], typer.Option("--text-col", help="Text column: name or 0-based index (default: found by name).")]
LabelCol = Annotated[Optional[str], typer.Option("--label-col", help="Label column: name or 0-based index (default: found by name).")]
Epochs = Annotated[Optional[int], knob(T, "epochs", "--epochs", help="Maximum epochs (default: 30 bow, 12 recurrent, 20 lm).")]
BatchSize = Annotated[Optional[int], knob(T, "batch_size", "--batch-size", help="Rows per batch (default: 64 bow, 32 recurrent; lm: streams).")]
Lr = Annotated[Optional[float], knob(T, "lr", "--lr", help="Learning rate (default: 0.02 bow, 0.002 recurrent, 0.003 lm).")]
Clip = Annotated[float, knob(T, "clip", "--clip", help="Clip gradients to this global norm (0 = off).")]
L2 = Annotated[Optional[float], knob(T, "weight_decay", "--l2", help="L2 penalty on weights (default: 1e-5 bow, 0 recurrent).")]
Patience = Annotated[int, knob(T, "patience", "--patience", help="Stop after this many evaluations without a better validation loss.")]
ValSplit = Annotated[float, knob(T, "val_split", "--val-split", help="Share of rows held out (stratified) for validation.")]
Val = Annotated[Optional[str], typer.Option("--val", help="Validate on this file (e.g. a corpus's dev part) instead of a --val-split of DATA.")]
Optimizer = Annotated[choices(T, "optimizer"), typer.Option("--optimizer", help="Adam, or SGD with momentum 0.9.")]
ClassWeight = Annotated[Optional[choices(T, "class_weight")], typer.Option("--class-weight", help="'balanced' weighs classes inversely to their frequency.")]
Dropout = Annotated[Optional[float], knob(S, "dropout", "--dropout", help="Dropout rate between layers and before the output (default: 0.5 classify, 0.15 lm).")]
Hidden = Annotated[Optional[int], knob(S, "hidden", "--hidden", help="Units per recurrent layer, n_a (default: 128; lm 256).")]
Embed = Annotated[Optional[int], knob(S, "embed", "--embed", help="Embedding size, n_x (default: 128; lm 64).")]
Layers = Annotated[int, knob(S, "layers", "--layers", help="Stacked recurrent layers.")]
Pool = Annotated[choices(S, "pool"), typer.Option("--pool", help="How the sequence output becomes one vector.")]
MinCount = Annotated[int, knob(S, "min_count", "--min-count", help="Recurrent: words seen fewer times become <unk>.")]
MaxLen = Annotated[int, knob(S, "max_len", "--max-len", help="Recurrent: word tokens read of each text (its first ones); longer texts are cut, and counted in a warning.")]
SeqLen = Annotated[Optional[int], knob(L, "seq_len", "--seq-len", help="lm: characters per truncated-BPTT window (default 100).")]
Ngrams = Annotated[Optional[str], typer.Option("--ngrams", callback=_ngrams_cb, help="Word/char n-gram range MIN:MAX, e.g. 1:2.")]
Analyzer = Annotated[choices(V, "analyzer"), typer.Option("--analyzer", help="Word or character n-grams.")]
MinDf = Annotated[int, knob(V, "min_df", "--min-df", help="Drop terms found in fewer documents.")]
MaxFeatures = Annotated[Optional[int], knob(V, "max_features", "--max-features", help="Keep only the most frequent terms.")]
HashBits = Annotated[Optional[int], knob(V, "hash_bits", "--hash-bits", help="Hash terms into 2**B columns instead of keeping a vocabulary.")]
MaxSteps = Annotated[Optional[int], knob(T, "max_steps", "--max-steps", help="Stop after this many optimizer steps (resumable).")]
MaxTime = Annotated[Optional[str], typer.Option("--max-time", help="Stop after this long, e.g. 10m (resumable).")]
Units = Annotated[Optional[str], typer.Option("--units", help="--explain: units to show, e.g. 3,17,42 or top:8 (default: the mean over units).")]
Gate = Annotated[Optional[str], typer.Option("--gate", help="--explain: show only this gate / field: u, f, o, r (gates), cc, c, a; a list with commas.")]
Layer = Annotated[Optional[int], typer.Option("--layer", help="--explain: layer to show, 0-based; negative counts from the top (default: the last).")]
NoColor = Annotated[bool, typer.Option("--no-color", help="--explain: shade characters and numbers instead of colours.")]
Errors = Annotated[Literal["replace", "skip", "strict"], typer.Option("--errors", help="An input line that is not UTF-8 text (or holds NUL): replace the bad bytes with U+FFFD, skip it (an empty output line), or stop (strict). Counted in one warning at the end.")]
Force = Annotated[bool, typer.Option("--force", help="Replace an existing output file even when it is not a seqcli file.")]
Svg = Annotated[Optional[str], typer.Option("--svg", help="Also save what is drawn (tables, charts, heatmaps) as an SVG picture in this file.")]
