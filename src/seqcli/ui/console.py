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


class TrimmedLines:
    """A text stream that drops the spaces rich pads each line with (in a pipe or a file, trailing
    spaces only make diffs and greps worse). Lines are passed on whole; ``flush`` passes the rest."""

    def __init__(self, stream):
        self.stream, self.pending = stream, ""

    def write(self, text):
        text = self.pending + text
        cut = text.rfind("\n") + 1
        if cut:
            self.stream.write("\n".join(line.rstrip(" ") for line in text[:cut].split("\n")))
        self.pending = text[cut:]
        return len(text)

    def flush(self):
        if self.pending:
            self.stream.write(self.pending)
            self.pending = ""
        self.stream.flush()

    def isatty(self):
        return False

    def __getattr__(self, name):   # fileno, encoding, ... of the stream underneath
        return getattr(self.stream, name)


def plain_or_live(stream, live):
    """``stream`` as it is on a live terminal, else wrapped in TrimmedLines."""
    return stream if live else TrimmedLines(stream)


def stderr_console(no_color=False):
    """A rich Console on stderr that uses colour only where it should."""
    from rich.console import Console

    live = stream_is_live(sys.stderr) and not no_color
    return Console(file=plain_or_live(sys.stderr, live), no_color=not live, highlight=False,
                   force_terminal=live if live else None, soft_wrap=False)


def note(message):
    """A one-line diagnostic on stderr."""
    print(f"seqcli: {message}", file=sys.stderr, flush=True)
