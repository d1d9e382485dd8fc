"""Opening and decoding inputs: files and stdin as text, by the input rules of ``seqcli.data``."""

import codecs
import os
import sys
from typing import BinaryIO, Iterable, Iterator

from seqcli.errors import SeqcliError

STDIN = "-"
_CHUNK = 1 << 16  # bytes per read; small enough that a pipe's first line is handled at once
_BOMS = (  # (byte-order mark, codec that decodes what follows it, name for messages)
    (codecs.BOM_UTF8, "utf-8", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"),
)


def display_name(source: str) -> str:
    """The name to show for ``source`` in messages: ``<stdin>`` for ``-``, else the path."""
    return "<stdin>" if source == STDIN else str(source)


def iter_lines(source: str, *, allow_tty: bool = False) -> Iterator[str]:
    """Yield the lines of ``source`` one by one, as they arrive, without their LF / CRLF.

    An empty line gives ``""``; a last line without a newline is still yielded; a BOM is dropped.
    The input is opened (and checked) at once, so a missing file fails here, not at the first
    ``next``. ``allow_tty=True`` lets ``-`` read from a terminal (lines typed interactively).
    """
    stream = _open(source, allow_tty)
    return _close_after(split_lines(_decode(stream, display_name(source))), stream, source)


def read_corpus(source: str) -> str:
    """The whole text of ``source`` for a language model: BOM dropped, CRLF turned into LF."""
    name = display_name(source)
    stream = _open(source)
    try:
        text = "".join(_decode(stream, name))
    finally:
        if source != STDIN:
            stream.close()
    if not text:
        raise SeqcliError(f"{name}: empty file")
    return text.replace("\r\n", "\n")


# --- opening and decoding --------------------------------------------------------------------


def _open(source: str, allow_tty: bool = False) -> BinaryIO:
    """Open ``source`` for reading bytes; ``-`` is standard input (which callers must not close)."""
    if source == STDIN:
        if sys.stdin is None:
            raise SeqcliError("reading from standard input, but there is none: give a file path")
        if not allow_tty and sys.stdin.isatty():
            raise SeqcliError(
                "reading from standard input, but it is a terminal: "
                "pipe data in or give a file path"
            )
        return sys.stdin.buffer
    try:
        return open(source, "rb")
    except FileNotFoundError:
        raise SeqcliError(f"{source}: no such file") from None
    except IsADirectoryError:
        raise SeqcliError(f"{source}: is a directory") from None
    except PermissionError:
        if os.path.isdir(source):  # Windows reports a directory this way
            raise SeqcliError(f"{source}: is a directory") from None
        raise SeqcliError(f"{source}: permission denied (cannot read the file)") from None
    except OSError as e:
        raise SeqcliError(f"{source}: cannot open: {e.strerror or e}") from None


def _close_after(items: Iterator[str], stream: BinaryIO, source: str) -> Iterator[str]:
    """Yield ``items``, then close ``stream`` (unless it is standard input)."""
    try:
        yield from items
    finally:
        if source != STDIN:
            stream.close()


def decoded_pieces(stream: BinaryIO, name: str, chunk: int | None = None, strict: bool = True) -> Iterator[str]:
    """Yield the text of ``stream`` piece by piece (one piece per read), by the input rules above.

    For readers that cut lines themselves (``seqcli.stream``); ``stream`` needs ``read`` (or
    ``read1``). Errors are SeqcliErrors naming ``name`` and the line; with ``strict=False`` nothing is
    refused: an undecodable byte becomes a lone surrogate (U+DC80..U+DCFF, Python's surrogateescape,
    which valid text never holds) and a NUL stays, for the caller to deal with line by line.
    """
    return _decode(stream, name, chunk, strict)


def _decode(stream: BinaryIO, name: str, chunk_size: int | None = None, strict: bool = True) -> Iterator[str]:
    """Yield the text of ``stream`` piece by piece, each piece as soon as its bytes arrive.

    The encoding is UTF-8 unless a UTF-16 byte-order mark says otherwise; the BOM is dropped.
    Undecodable bytes and NUL characters raise a SeqcliError naming the line.
    """
    chunk_size = chunk_size or _CHUNK
    # read1 returns what a pipe already has instead of waiting for a full chunk.
    read = stream.read1 if hasattr(stream, "read1") else stream.read
    head = read(chunk_size)
    # A pipe may deliver a BOM in pieces: wait for more only while ``head`` could still become one.
    while head and any(len(bom) > len(head) and bom.startswith(head) for bom, _, _ in _BOMS):
        more = read(chunk_size)
        if not more:
            break
        head += more
    encoding, label = "utf-8", "UTF-8"
    for bom, codec, codec_label in _BOMS:
        if head.startswith(bom):
            encoding, label, head = codec, codec_label, head[len(bom) :]
            break
    decoder = codecs.getincrementaldecoder(encoding)("strict" if strict else "surrogateescape")
    line, col = 1, 0  # where the next decoded character goes: its line, characters before it on it
    chunk, final = head, False
    while True:
        held = decoder.getstate()[0]  # bytes of an incomplete character kept from the last chunk
        try:
            text = decoder.decode(chunk, final)
        except UnicodeDecodeError as e:
            raise _decode_error(name, label, encoding, held + chunk, e, line, col) from None
        if strict and "\x00" in text:
            nul_line = line + text.count("\n", 0, text.index("\x00"))
            raise SeqcliError(
                f"{name}: looks like a binary file (NUL byte on line {nul_line}); "
                "seqcli reads UTF-8 text (save UTF-16 text with a byte-order mark, or as UTF-8)"
            )
        if text:
            yield text
            newlines = text.count("\n")
            line += newlines
            col = len(text) - text.rfind("\n") - 1 if newlines else col + len(text)
        if final:
            return
        chunk = read(chunk_size)
        final = not chunk


def _decode_error(
    name: str, label: str, encoding: str, data: bytes, err: UnicodeDecodeError, line: int, col: int
) -> SeqcliError:
    """The error for the undecodable byte ``data[err.start]``; ``data`` starts at ``line``, ``col``."""
    good = data[: err.start].decode(encoding)  # everything before the bad byte decoded fine
    newlines = good.count("\n")
    line += newlines
    col = (len(good) - good.rfind("\n") - 1 if newlines else col + len(good)) + 1
    return SeqcliError(
        f"{name}: line {line}: invalid {label} (byte 0x{data[err.start]:02x} at column {col}); "
        "save the file as UTF-8"
    )


def split_lines(pieces: Iterable[str]) -> Iterator[str]:
    """Cut decoded text into lines at LF, dropping the LF and a CR just before it."""
    for lines in line_lists(pieces):
        yield from lines


def line_lists(pieces: Iterable[str]) -> Iterator[list[str]]:
    """For each piece of decoded text, the list of the lines it completes (LF and a CR before it
    dropped; an empty list when the piece ends no line), then a last line without LF, if any.

    One list per piece, not one item per line: a reader of a pipe answers the lines it has before
    it waits for more (see stream.line_batches), and a large piece is cut with one ``split`` instead
    of a Python step per line.
    """
    partial: list[str] = []  # pieces of a line whose end has not arrived yet
    for text in pieces:
        if "\n" not in text:
            partial.append(text)
            yield []
            continue
        lines = text.split("\n")
        if partial:
            partial.append(lines[0])
            lines[0] = "".join(partial)
        last = lines.pop()
        partial = [last] if last else []
        # a CR can end a line only where this piece holds one, or the line joined from earlier pieces
        if "\r" in text or lines[0].endswith("\r"):
            lines = [line[:-1] if line.endswith("\r") else line for line in lines]
        yield lines
    if partial:
        line = "".join(partial)
        yield [line[:-1] if line.endswith("\r") else line]
