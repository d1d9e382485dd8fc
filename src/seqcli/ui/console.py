"""Where the user's eyes are: colour and consoles only where they belong, one-line notes."""

import contextlib
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


_RECORDING = {}   # stream name -> [svg path, the one console drawing on it]


@contextlib.contextmanager
def svg(path, stream="stderr"):
    """While inside, what the ui draws on ``stream`` ("stderr" or "stdout") is also recorded; at the
    end it is saved to ``path`` as an SVG picture (rich's export), written whole or not at all."""
    if not path:
        yield
        return
    _RECORDING[stream] = [path, None]
    try:
        yield
    finally:
        path, console = _RECORDING.pop(stream)
        if console is not None:
            _save_svg(path, console.export_svg(title="seqcli"))


def _save_svg(path, text):
    from seqcli.errors import SeqcliError
    from seqcli.persist import file_mode

    tmp = f"{path}.seqcli-tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise SeqcliError(f"{path}: cannot write the picture ({exc.strerror or exc})") from None


def recorded(stream, make):
    """The console of ``stream``: made by ``make(record)``; while recording, one shared console."""
    if stream not in _RECORDING:
        return make(False)
    if _RECORDING[stream][1] is None:
        _RECORDING[stream][1] = make(True)
    return _RECORDING[stream][1]


def stderr_console(no_color=False):
    """A rich Console on stderr that uses colour only where it should."""
    return recorded("stderr", lambda record: _stderr_console(no_color, record))


def _stderr_console(no_color, record):
    from rich.console import Console

    live = stream_is_live(sys.stderr) and not no_color
    return Console(file=plain_or_live(sys.stderr, live), no_color=not live, highlight=False, record=record,
                   force_terminal=live if live else None, soft_wrap=False)


def note(message):
    """A one-line diagnostic on stderr."""
    print(f"seqcli: {message}", file=sys.stderr, flush=True)
