"""``seqcli generate``: sample text from a character language model, streamed to stdout.

Imported when the CLI starts, so only typer and seqcli's option / error modules are imported here;
numpy and the model come in when the command runs.

Output: for each of the COUNT samples, the prime (unless --no-echo) and then the generated characters,
each written and flushed as soon as it is drawn (on a pipe or a terminal; into a regular file the
writes are buffered), and a newline after a sample that does not already end with one. A closed stdout
(``| head -c 100``) ends the command quietly with status 0. Afterwards one note on stderr says how many
characters were generated, the seed that reproduces them, and the memorisation check: the share of the
generated 8-character substrings that do not occur in the training text.
"""

import sys
from typing import Annotated, Optional

import typer

from seqcli import options as opt
from seqcli.errors import SeqcliError

_ESCAPES = {"\\n": "\n", "\\t": "\t", "\\r": "\r", "\\\\": "\\"}
_NOVELTY_CHUNK = 1 << 16   # characters per novelty check (keeps memory flat for any --length)


def unescape(text):
    """'\\n', '\\t', '\\r' and '\\\\' in an option value -> newline, tab, CR, backslash."""
    out, i = [], 0
    while i < len(text):
        pair = text[i:i + 2]
        if pair in _ESCAPES:
            out.append(_ESCAPES[pair])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def silence_stdout():
    """After a closed pipe, point stdout at /dev/null so the final flush at exit cannot fail again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # stdout has no descriptor (tests): nothing will be flushed into it


def _flush_each(stream):
    """Flush every character unless the output is a regular file (where nobody watches it grow)."""
    import os
    import stat

    try:
        return not stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):
        return True


def generate(
    model: Annotated[str, typer.Argument(help="Language model file written by seqcli train --task lm.")],
    prime: Annotated[Optional[str], typer.Option("--prime", help="Text to continue (printed first); - reads it from stdin.")] = None,
    length: Annotated[int, typer.Option("--length", min=0, max=10**15, help="Characters to generate per sample (streamed: any length works).")] = 500,
    temperature: Annotated[float, typer.Option("--temperature", min=0, max=1e6, callback=opt._finite, help="Below 1 safer and more repetitive, above 1 wilder; 0 means --argmax.")] = 1.0,
    top_k: Annotated[Optional[int], typer.Option("--top-k", min=1, max=10**9, help="Draw only among the K most likely characters.")] = None,
    argmax: Annotated[bool, typer.Option("--argmax", help="Always take the most likely character (no randomness).")] = False,
    seed: Annotated[Optional[int], typer.Option("--seed", min=0, max=2**32 - 1, help="Random seed: the same seed gives the same text (default: a fresh one, named in the note).")] = None,
    until: Annotated[Optional[str], typer.Option("--until", help="End a sample right after it writes this string (\\n and \\t are understood).")] = None,
    count: Annotated[int, typer.Option("--count", "-n", min=1, max=10**9, help="Number of samples, each starting again from the prime.")] = 1,
    skip_unknown: Annotated[bool, typer.Option("--skip-unknown", help="Drop prime characters the model never saw instead of stopping.")] = False,
    echo: Annotated[bool, typer.Option("--echo/--no-echo", help="Print the prime before each sample.")] = True,
    quiet: opt.Quiet = False,
    explain: Annotated[bool, typer.Option("--explain", help="After sampling, colour each character of the (first) sample by a unit's activation, on stderr, with gate saturation per layer.")] = False,
    units: Annotated[Optional[str], typer.Option("--units", help="--explain: units to show, e.g. 3,17 or top:4.")] = None,
    gate: Annotated[Optional[str], typer.Option("--gate", help="--explain: gate / field to show (u, f, o, r, cc, c, a).")] = None,
    layer: Annotated[Optional[int], typer.Option("--layer", help="--explain: layer, 0-based; negative from the top.")] = None,
    no_color: Annotated[bool, typer.Option("--no-color", help="--explain: shade characters instead of colours.")] = False,
):
    """Write text sampled from a character language model to stdout, one character at a time."""
    import secrets

    import numpy as np

    from seqcli import predictors
    from seqcli.charlm import describe_chars
    from seqcli.lm_train import blas_threads

    if until is not None:
        until = unescape(until)
        if not until:
            raise typer.BadParameter("must not be empty", param_hint="--until")
    lm = predictors.load(model, {"lm"})
    if prime == "-":
        from seqcli import data

        prime = data.read_corpus("-")
    prime = prime or ""
    unknown = lm.unknown_chars(prime)
    if unknown:
        what = f"{len(unknown)} character{'s' if len(unknown) > 1 else ''} the model never saw: {describe_chars(unknown)}"
        if not skip_unknown:
            raise SeqcliError(f"--prime has {what}; remove them or pass --skip-unknown")
        prime = "".join(c for c in prime if c not in set(unknown))
        if not quiet:
            print(f"seqcli: dropped from the prime {what}", file=sys.stderr, flush=True)
    if seed is None:
        seed = secrets.randbits(32)
    rng = np.random.default_rng(seed)
    greedy = argmax or temperature == 0

    sys.stdout.flush()
    out = getattr(sys.stdout, "buffer", None)
    if out is None:  # a text-only stream (some test harnesses)
        out = sys.stdout
        encode = lambda s: s
    else:
        encode = lambda s: s.encode("utf-8", "surrogateescape")

    if not explain and (units is not None or gate is not None or layer is not None or no_color):
        raise typer.BadParameter("--units, --gate, --layer and --no-color go with --explain", param_hint="--explain")
    kept = [] if explain else None
    try:
        with blas_threads(1):   # one small product per character: more threads only add waiting
            generated, checked, novel = _stream(lm, prime, length, temperature, top_k, greedy, rng, until,
                                                count, echo, out, encode, kept)
    except BrokenPipeError:  # the reader has gone (| head): stop quietly
        silence_stdout()
        raise typer.Exit(0)
    if not quiet:
        print(f"seqcli: {_note(lm, generated, count, seed, greedy, checked, novel)}", file=sys.stderr, flush=True)
    if explain:  # on stderr, so stdout stays the generated text
        from seqcli.ui_explain import make_console, run_explain

        text = (prime + "".join(kept))[:_EXPLAIN_CHARS]
        run_explain(lm, [text], units=units, gate=gate, layer=layer, no_color=no_color,
                    console=make_console(no_color, file=sys.stderr))


_EXPLAIN_CHARS = 5000  # one forward pass holds every gate of every step: keep it small


def _stream(lm, prime, length, temperature, top_k, greedy, rng, until, count, echo, out, encode, kept=None):
    """Write COUNT samples to ``out`` as they are drawn; return (generated, checked, novel) counts.

    kept: a list that receives the first sample's text (for --explain), or None."""
    each = _flush_each(out)
    write, flush = out.write, out.flush
    char_bytes = {c: encode(c) for c in lm.chars}
    newline = encode("\n")
    prime_bytes = encode(prime)
    generated = checked = novel = 0
    for _ in range(count):
        if echo and prime:
            write(prime_bytes)
            if each:
                flush()
        last, context, chunk = prime[-1:] if echo else "", prime, []
        for ch in lm.sample(prime, length, temperature, top_k, greedy, rng, until):
            write(char_bytes[ch])
            if each:
                flush()
            chunk.append(ch)
            if kept is not None and generated == 0 and len(kept) < _EXPLAIN_CHARS:
                kept.append(ch)
            last = ch
            if len(chunk) >= _NOVELTY_CHUNK:
                text = "".join(chunk)
                c, n = lm.novelty(text, context)
                checked, novel, generated = checked + c, novel + n, generated + len(text)
                context, chunk = text[-8:], []
        if chunk:
            text = "".join(chunk)
            c, n = lm.novelty(text, context)
            checked, novel, generated = checked + c, novel + n, generated + len(text)
        if last and last != "\n":
            write(newline)
        flush()
    return generated, checked, novel


def _note(lm, generated, count, seed, greedy, checked, novel):
    """'500 characters (seed 7); novel 8-grams: 96.2% (481 of 500 not in the training text)'."""
    samples = f" in {count} samples" if count > 1 else ""
    how = "argmax" if greedy else f"seed {seed}"
    head = f"{generated:,} characters{samples} ({how})"
    if checked == 0:
        return f"{head}; too short for the novelty check (it compares 8-character substrings)"
    sampled = f", estimated from a 1/{2 ** lm.keep_bits} sample" if lm.keep_bits else ""
    return (f"{head}; novel 8-grams: {100.0 * novel / checked:.1f}% "
            f"({novel:,} of {checked:,} not in the training text{sampled})")
