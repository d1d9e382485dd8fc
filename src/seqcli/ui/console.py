"""Where the user's eyes are: colour and consoles only where they belong, one-line notes."""

import os
import sys


def stream_is_live(stream):
    """True when ``stream`` is a terminal and colour is not switched off (NO_COLOR, TERM=dumb)."""
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    return tty and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def stderr_console(no_color=False):
    """A rich Console on stderr that uses colour only where it should."""
    from rich.console import Console

    live = stream_is_live(sys.stderr) and not no_color
    return Console(file=sys.stderr, no_color=not live, highlight=False,
                   force_terminal=live if live else None, soft_wrap=False)


def note(message):
    """A one-line diagnostic on stderr."""
    print(f"seqcli: {message}", file=sys.stderr, flush=True)
