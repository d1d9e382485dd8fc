"""Line input for pipelines: batches of lines that never wait for input that has not come yet.

``seqcli predict`` works in batches for speed, yet an interactive pipe (a user typing, or a
producer that writes one line and waits for the answer) must get each answer at once. So lines are
read from the raw file descriptor, and a batch is handed on as soon as no further input is ready
(``select`` with a zero timeout) or the batch is full. Regular files are always ready, so they go
through in full batches.
"""

import os
import select
import sys

from seqcli.errors import SeqcliError

_BOM = b"\xef\xbb\xbf"


def open_source(source):
    """Binary file object for ``source`` ('-' = stdin), with one-line errors for bad paths."""
    if source in (None, "-"):
        if sys.stdin is None:
            raise SeqcliError("no standard input to read from")
        if sys.stdin.isatty():
            raise SeqcliError("reading from standard input, but it is a terminal: pipe text in "
                              "(one text per line) or give a file path")
        return sys.stdin.buffer
    if os.path.isdir(source):
        raise SeqcliError(f"{source}: is a directory, not a file")
    try:
        return open(source, "rb")
    except FileNotFoundError:
        raise SeqcliError(f"{source}: no such file") from None
    except OSError as exc:
        raise SeqcliError(f"{source}: cannot open ({exc.strerror})") from None


def line_batches(stream, name, max_batch=512, chunk=1 << 16):
    """Yield lists of decoded lines (newline and CR stripped; BOM dropped) from binary ``stream``.

    Each input line gives exactly one item, an empty line included; a last line without a newline
    counts. Invalid UTF-8 raises SeqcliError naming ``name`` and the line number.
    """
    try:
        fd = stream.fileno()
        interactive = not _is_regular(fd)
    except (OSError, ValueError, AttributeError):
        fd, interactive = None, False
    pending, batch, line_no, first = b"", [], 0, True
    while True:
        data = os.read(fd, chunk) if fd is not None else stream.read(chunk)
        if first and data:
            if data.startswith(_BOM):
                data = data[3:]
            first = False
        if not data:
            if pending:
                line_no += 1
                batch.append(_decode(pending, name, line_no))
            if batch:
                yield batch
            return
        parts = (pending + data).split(b"\n")
        pending = parts.pop()
        for raw in parts:
            line_no += 1
            batch.append(_decode(raw, name, line_no))
            if len(batch) >= max_batch:
                yield batch
                batch = []
        if batch and interactive and not pending and not _ready(fd):
            yield batch
            batch = []


def _is_regular(fd):
    import stat

    return stat.S_ISREG(os.fstat(fd).st_mode)


def _ready(fd):
    try:
        return bool(select.select([fd], [], [], 0)[0])
    except (OSError, ValueError):
        return True


def _decode(raw, name, line_no):
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SeqcliError(f"{name}: line {line_no}: invalid UTF-8 (byte 0x{raw[exc.start]:02x} at "
                          f"column {exc.start + 1}); save the file as UTF-8") from None
