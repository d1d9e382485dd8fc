"""Option declarations shared by several commands (declared once, reused), and value checks.

Typer's own range checks (``min=``) turn ``--hidden 0`` into a usage error (exit 2); the callbacks
here add what ranges cannot say: NaN and infinity are refused, durations are parsed.
"""

import math
import re
from typing import Annotated, Optional

import typer


def _finite(value):
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"must be a finite number, not {value}")
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
            raise typer.BadParameter(f"must be {'more than' if lo_open else 'at least'} {lo:g}, not {value:g}")
        if hi is not None and (value > hi or (hi_open and value == hi)):
            raise typer.BadParameter(f"must be {'less than' if hi_open else 'at most'} {hi:g}, not {value:g}")
        return value
    return check


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
    if not seconds > 0:
        raise typer.BadParameter("must be more than 0 seconds", param_hint="--max-time")
    if not seconds < 1e9:
        raise typer.BadParameter(f"{text!r} is too long: the limit is 1000000000 seconds (about 31 years)",
                                 param_hint="--max-time")
    return seconds


def parse_range(text, name="range"):
    """'1:2' -> (1, 2); '2' -> (2, 2). Both ends >= 1 and min <= max."""
    m = re.fullmatch(r"\s*(\d+)\s*(?::\s*(\d+)\s*)?", text or "")
    if not m:
        raise typer.BadParameter(f"{text!r} is not a {name} like 1:2")
    lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
    if lo < 1 or hi < lo or hi > 10:
        raise typer.BadParameter(f"{text!r}: need 1 <= MIN <= MAX <= 10")
    return lo, hi


def _ngrams_cb(value):
    return None if value is None else parse_range(value, "n-gram range")


Seed = Annotated[int, typer.Option("--seed", min=0, max=2**32 - 1, help="Random seed: same seed, same data -> same model file.")]
JsonOut = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or report output (warnings such as skipped rows still show).")]
TextCol = Annotated[Optional[str], typer.Option("--text-col", help="Text column: name or 0-based index (default: found by name).")]
LabelCol = Annotated[Optional[str], typer.Option("--label-col", help="Label column: name or 0-based index (default: found by name).")]
Epochs = Annotated[Optional[int], typer.Option("--epochs", min=1, max=100000, help="Maximum epochs (default: 30 bow, 12 recurrent).")]
BatchSize = Annotated[Optional[int], typer.Option("--batch-size", min=1, max=1_000_000, help="Rows per batch (default: 64 bow, 32 recurrent).")]
Lr = Annotated[Optional[float], typer.Option("--lr", callback=float_range(0, 100, lo_open=True), help="Learning rate (default: 0.02 bow, 0.002 recurrent).")]
Clip = Annotated[float, typer.Option("--clip", callback=float_range(0, 1e6), help="Clip gradients to this global norm (0 = off).")]
Dropout = Annotated[Optional[float], typer.Option("--dropout", callback=float_range(0, 1, hi_open=True), help="Dropout rate between layers and before the output.")]
Hidden = Annotated[Optional[int], typer.Option("--hidden", min=1, max=8192, help="Units per recurrent layer (n_a).")]
Embed = Annotated[Optional[int], typer.Option("--embed", min=1, max=8192, help="Embedding size (n_x).")]
Layers = Annotated[int, typer.Option("--layers", min=1, max=16, help="Stacked recurrent layers.")]
Ngrams = Annotated[Optional[str], typer.Option("--ngrams", callback=_ngrams_cb, help="Word/char n-gram range MIN:MAX, e.g. 1:2.")]
MinDf = Annotated[int, typer.Option("--min-df", min=1, max=10**9, help="Drop terms found in fewer documents.")]
MaxFeatures = Annotated[Optional[int], typer.Option("--max-features", min=1, max=10**9, help="Keep only the most frequent terms.")]
HashBits = Annotated[Optional[int], typer.Option("--hash-bits", min=1, max=24, help="Hash terms into 2**B columns instead of keeping a vocabulary.")]
MaxSteps = Annotated[Optional[int], typer.Option("--max-steps", min=1, max=10**12, help="Stop after this many optimizer steps (resumable).")]
MaxTime = Annotated[Optional[str], typer.Option("--max-time", help="Stop after this long, e.g. 10m (resumable).")]
