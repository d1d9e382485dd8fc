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

from seqcli.cli import options as opt
from seqcli.cli.guard import guarded, silence_stdout
from seqcli.errors import SeqcliError

_ESCAPES = {"\\n": "\n", "\\t": "\t", "\\r": "\r", "\\\\": "\\"}


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


def _flush_each(stream):
    """Flush every character unless the output is a regular file (where nobody watches it grow)."""
    import os
    import stat

    try:
        return not stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):
        return True


EXAMPLES = ("seqcli generate lm.npz --prime 'ROMEO:' --length 300 --temperature 0.8",
            "seqcli generate lm.npz --seed 1 -n 3 --until '\\n\\n'")


@guarded
def generate(
    model: Annotated[str, typer.Argument(help="Language model file written by seqcli train --task lm.")],
    prime: Annotated[Optional[str], typer.Option("--prime", help="Text to continue (printed first); - reads it from stdin.")] = None,
    length: Annotated[int, typer.Option("--length", min=0, max=10**15, help="Characters to generate per sample (streamed: any length works).")] = 500,
    temperature: Annotated[float, typer.Option("--temperature", min=0, max=1e6, callback=opt.float_range(0, 1e6), help="Below 1 safer and more repetitive, above 1 wilder; 0 means --argmax.")] = 1.0,
    top_k: Annotated[Optional[int], typer.Option("--top-k", min=1, max=10**9, help="Draw only among the K most likely characters.")] = None,
    argmax: Annotated[bool, typer.Option("--argmax", help="Always take the most likely character (no randomness).")] = False,
    seed: Annotated[Optional[int], typer.Option("--seed", min=0, max=2**32 - 1, help="Random seed: the same seed gives the same text (default: a fresh one, named in the note).")] = None,
    until: Annotated[Optional[str], typer.Option("--until", help="End a sample right after it writes this string (\\n and \\t are understood).")] = None,
    count: Annotated[int, typer.Option("--count", "-n", min=1, max=10**9, help="Number of samples, each starting again from the prime.")] = 1,
    skip_unknown: Annotated[bool, typer.Option("--skip-unknown", help="Drop prime characters the model never saw instead of stopping.")] = False,
    echo: Annotated[bool, typer.Option("--echo/--no-echo", help="Print the prime before each sample.")] = True,
    quiet: opt.Quiet = False,
    explain: Annotated[bool, typer.Option("--explain", help="After sampling, colour each character of the (first) sample by a unit's activation, on stderr, with gate saturation per layer (a transformer: its attention per layer and head over the first block).")] = False,
    units: opt.Units = None,
    gate: opt.Gate = None,
    layer: opt.Layer = None,
    head: opt.Head = None,
    no_color: opt.NoColor = False,
):
    """Write text sampled from a character language model to stdout, one character at a time."""
    import secrets

    from seqcli import api

    if until is not None:
        until = unescape(until)
        if not until:
            raise typer.BadParameter("must not be empty", param_hint="--until")
    lm = api.load_model(model, {"lm"})
    if prime == "-":
        prime = api.read_prime("-")
    prime = prime or ""
    unknown, described = api.prime_unknown(lm, prime)
    if unknown:
        what = f"{len(unknown)} character{'s' if len(unknown) > 1 else ''} the model never saw: {described}"
        if not skip_unknown:
            raise SeqcliError(f"--prime has {what}; remove them or pass --skip-unknown")
        prime = "".join(c for c in prime if c not in set(unknown))
        if not quiet:
            print(f"seqcli: dropped from the prime {what}", file=sys.stderr, flush=True)
    if seed is None:
        seed = secrets.randbits(32)
    opt.only_with("--explain", explain, {"--units": units, "--gate": gate, "--layer": layer, "--head": head,
                                         "--no-color": no_color})
    if explain:  # option values that do not fit the model fail before any sampling
        api.explain(lm, [], units, gate, layer, heads=head)
    generation = api.generation(lm, prime, length, temperature, top_k, argmax or temperature == 0, seed, until,
                                count, echo, keep_first=_EXPLAIN_CHARS if explain else 0)
    try:
        _write(generation)
    except BrokenPipeError:  # the reader has gone (| head): stop quietly
        silence_stdout()
        raise typer.Exit(0)
    if not quiet:
        print(f"seqcli: {generation.note()}", file=sys.stderr, flush=True)
    if explain:  # on stderr, so stdout stays the generated text
        from seqcli.ui import explain as show

        text = (prime + generation.first)[:_EXPLAIN_CHARS]
        show.render(api.explain(lm, [text], units, gate, layer, heads=head), no_color=no_color,
                    console=show.make_console(no_color, file=sys.stderr))


_EXPLAIN_CHARS = 5000  # one forward pass holds every gate of every step: keep it small


def _write(pieces):
    """Write each piece as it comes (flushed each time on a pipe or terminal), then flush."""
    sys.stdout.flush()
    out = getattr(sys.stdout, "buffer", None)
    if out is None:  # a text-only stream (some test harnesses)
        out, encode = sys.stdout, (lambda s: s)
    else:
        encode = lambda s: s.encode("utf-8", "surrogateescape")  # noqa: E731
    each = _flush_each(out)
    write, flush, cache = out.write, out.flush, {}
    for piece in pieces:
        data = cache.get(piece)
        if data is None:
            data = encode(piece)
            if len(piece) == 1:
                cache[piece] = data
        write(data)
        if each:
            flush()
    flush()
