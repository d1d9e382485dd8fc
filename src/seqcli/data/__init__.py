"""Readers for seqcli's inputs: CSV / TSV tables, streams of lines, and whole-text corpora.

Standard library only (plus ``seqcli.errors``): this module sits on the cold-start path of
``seqcli predict``. Every expected failure is a ``SeqcliError`` with one line naming the input.

The input rules users can rely on:

* ``-`` means standard input, read as bytes. When data is required it must not be a terminal.
* **Encoding.** UTF-8, with or without a byte-order mark. As a convenience a file that starts with a
  UTF-16 byte-order mark (what Windows tools call "Unicode") is decoded as UTF-16. An undecodable
  byte is an error naming its line and column. A NUL character means a binary file (or UTF-16
  without a BOM) and is an error too.
* **Line ends.** LF or CRLF. CRLF becomes LF everywhere, also inside quoted CSV fields. Only LF
  ends a line: U+0085, U+2028 and the like are ordinary characters of the text.
* **CSV or TSV.** Tab-separated when the file name ends in ``.tsv`` or ``.tab``, or when the first
  line holds a tab and no comma; comma-separated otherwise. (``csv.Sniffer`` guesses wrong on real
  text, so seqcli does not use it.) CSV follows RFC 4180: a quoted field may hold commas, newlines
  and ``""`` for one quote, and text after a closing quote is an error. TSV fields are taken
  literally, as GLUE and most NLP data sets write them: a quote is an ordinary character, and a
  field cannot hold a tab or a newline.
* **Columns.** The first row is the header. The text column is the first of ``text``, ``sentence``,
  ``review``, ``message``, ``content`` present, the label column the first of ``label``, ``class``,
  ``target``, ``sentiment``, ``category`` (names compared case-insensitively). Either can instead be
  given by name or by 0-based index (``"0"``, ``"2"``). seqcli never guesses between two unnamed
  columns.
* **Rows.** Every row after the header is either kept or listed in ``Table.skipped`` with its line
  and a reason: a blank line, the wrong number of fields, empty (or whitespace-only) text, or a
  missing label. Texts are kept verbatim. Labels lose surrounding whitespace but keep their case:
  ``Pos`` and ``pos`` are two different classes.
"""

import codecs
import csv
import os
import sys
from dataclasses import dataclass
from typing import BinaryIO, Iterable, Iterator

from seqcli.errors import SeqcliError

STDIN = "-"
TEXT_NAMES = ("text", "sentence", "review", "message", "content")
LABEL_NAMES = ("label", "class", "target", "sentiment", "category")
TSV_SUFFIXES = (".tsv", ".tab")

_CHUNK = 1 << 16  # bytes per read; small enough that a pipe's first line is handled at once
_FIELD_LIMIT = 2**31 - 1  # csv's default is 128 KiB; a C long holds 2**31 - 1 on every platform
_BOMS = (  # (byte-order mark, codec that decodes what follows it, name for messages)
    (codecs.BOM_UTF8, "utf-8", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"),
)


@dataclass
class Table:
    """The rows kept from a CSV / TSV file, and an account of the rows that were not."""

    texts: list[str]
    labels: list[str] | None  # None when read with need_labels=False
    line_numbers: list[int]  # 1-based physical line where each kept row starts (header is line 1)
    skipped: list[tuple[int, str]]  # (line number, reason) for every skipped row, in file order
    text_col: str  # name of the text column (as written in the header)
    label_col: str | None
    source: str  # display name: the path as given, or "<stdin>"

    def skipped_summary(self, first: int = 5) -> str | None:
        """One line about the skipped rows, at most ``first`` line numbers per reason; None if none.

        Example: ``skipped 3 of 120 rows (empty text: lines 7, 12; missing label: line 9)``.
        """
        if not self.skipped:
            return None
        by_reason: dict[str, list[int]] = {}
        for line, reason in self.skipped:
            by_reason.setdefault(reason, []).append(line)
        parts = []
        for reason, lines in by_reason.items():
            shown = ", ".join(str(n) for n in lines[:first])
            more = f" and {len(lines) - first} more" if len(lines) > first else ""
            parts.append(f"{reason}: line{_s(lines)} {shown}{more}")
        total = len(self.texts) + len(self.skipped)
        return f"skipped {len(self.skipped)} of {total} row{_s(total)} ({'; '.join(parts)})"


def display_name(source: str) -> str:
    """The name to show for ``source`` in messages: ``<stdin>`` for ``-``, else the path."""
    return "<stdin>" if source == STDIN else str(source)


def read_table(
    source: str,
    text_col: str | None = None,
    label_col: str | None = None,
    need_labels: bool = True,
) -> Table:
    """Read a CSV / TSV file with a header row into a ``Table`` (rules: the module docstring).

    ``text_col`` / ``label_col`` pick a column by name (case-insensitive) or by 0-based index
    (a string of digits); by default the columns are found by their common names. With
    ``need_labels=False`` no label column is looked for (``label_col`` is ignored), a file with a
    single column uses it as the text, and ``Table.labels`` is None.
    """
    name = display_name(source)
    if csv.field_size_limit() < _FIELD_LIMIT:
        csv.field_size_limit(_FIELD_LIMIT)  # one text may be a whole document on one line
    stream = _open(source)
    try:
        return _read_table(stream, source, name, text_col, label_col, need_labels)
    finally:
        if source != STDIN:
            stream.close()


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


def decoded_pieces(stream: BinaryIO, name: str, chunk: int | None = None) -> Iterator[str]:
    """Yield the text of ``stream`` piece by piece (one piece per read), by the input rules above.

    For readers that cut lines themselves (``seqcli.stream``); ``stream`` needs ``read`` (or
    ``read1``). Errors are SeqcliErrors naming ``name`` and the line.
    """
    return _decode(stream, name, chunk)


def _decode(stream: BinaryIO, name: str, chunk_size: int | None = None) -> Iterator[str]:
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
    decoder = codecs.getincrementaldecoder(encoding)()
    line, col = 1, 0  # where the next decoded character goes: its line, characters before it on it
    chunk, final = head, False
    while True:
        held = decoder.getstate()[0]  # bytes of an incomplete character kept from the last chunk
        try:
            text = decoder.decode(chunk, final)
        except UnicodeDecodeError as e:
            raise _decode_error(name, label, encoding, held + chunk, e, line, col) from None
        if "\x00" in text:
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


def split_lines(pieces: Iterable[str], piece_ends: bool = False) -> Iterator[str | None]:
    """Cut decoded text into lines at LF, dropping the LF and a CR just before it.

    piece_ends: also yield None each time a piece is used up, so a caller reading a pipe can
    answer the lines it has before it waits for more (see stream.line_batches).
    """
    partial: list[str] = []  # pieces of a line whose end has not arrived yet
    for text in pieces:
        if "\n" not in text:
            partial.append(text)
            if piece_ends:
                yield None
            continue
        lines = text.split("\n")
        if partial:
            partial.append(lines[0])
            lines[0] = "".join(partial)
        last = lines.pop()
        partial = [last] if last else []
        for line in lines:
            yield line[:-1] if line.endswith("\r") else line
        if piece_ends:
            yield None
    if partial:
        line = "".join(partial)
        yield line[:-1] if line.endswith("\r") else line


# --- tables ----------------------------------------------------------------------------------


def _read_table(
    stream: BinaryIO,
    source: str,
    name: str,
    text_col: str | None,
    label_col: str | None,
    need_labels: bool,
) -> Table:
    """``read_table`` on an open stream."""
    lines = split_lines(_decode(stream, name))
    first = next(lines, None)
    if first is None:
        raise SeqcliError(f"{name}: empty file")
    if not first.strip():
        raise SeqcliError(
            f"{name}: line 1 is blank; the first line must be the header (column names)"
        )
    delimiter = _delimiter(source, first)

    record_lines: list[str] = []  # physical lines of the record being parsed, to place a lost quote

    def feed() -> Iterator[str]:
        record_lines.append(first)
        yield first + "\n"  # csv needs the newline to keep it inside a quoted field
        for line in lines:
            record_lines.append(line)
            yield line + "\n"

    if delimiter == "\t":
        reader = csv.reader(feed(), delimiter="\t", quoting=csv.QUOTE_NONE)
    else:
        reader = csv.reader(feed(), delimiter=",", quotechar='"', doublequote=True, strict=True)
    records = _records(reader, record_lines, name)

    _, fields = next(records)
    header = [h.strip() for h in fields]
    ti, li = _columns(header, text_col, label_col, need_labels, name, delimiter)

    texts: list[str] = []
    labels: list[str] | None = [] if need_labels else None
    line_numbers: list[int] = []
    skipped: list[tuple[int, str]] = []
    classes: dict[str, str] = {}  # one string object per class, not one per row
    n_cols = len(header)
    for line_no, fields in records:
        if len(fields) != n_cols:
            if len(fields) <= 1 and not "".join(fields).strip():
                skipped.append((line_no, "blank line"))
            else:
                skipped.append((line_no, f"{len(fields)} field{_s(fields)}, expected {n_cols}"))
            continue
        text = fields[ti]
        if not text.strip() and labels is not None:  # for prediction an empty text is valid input
            skipped.append((line_no, "empty text"))
            continue
        if labels is not None:
            label = fields[li].strip()
            if not label:
                skipped.append((line_no, "missing label"))
                continue
            labels.append(classes.setdefault(label, label))
        texts.append(text)
        line_numbers.append(line_no)

    table = Table(
        texts=texts,
        labels=labels,
        line_numbers=line_numbers,
        skipped=skipped,
        text_col=header[ti],
        label_col=header[li] if li is not None else None,
        source=name,
    )
    if not texts:
        if not skipped:
            raise SeqcliError(f"{name}: no data rows (only a header)")
        raise SeqcliError(f"{name}: no usable rows ({table.skipped_summary()})")
    return table


def _delimiter(source: str, header_line: str) -> str:
    """Tab for a ``.tsv`` / ``.tab`` file or a header line with a tab and no comma; else a comma."""
    if source != STDIN and os.path.splitext(str(source))[1].lower() in TSV_SUFFIXES:
        return "\t"
    if "\t" in header_line and "," not in header_line:
        return "\t"
    return ","


def _records(reader, record_lines: list[str], name: str) -> Iterator[tuple[int, list[str]]]:
    """Yield (line where the record starts, its fields); turn csv errors into SeqcliErrors."""
    start = 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            if str(e) == "unexpected end of data":  # strict csv: the input ended inside quotes
                opened = _open_quote_line(record_lines, start)
                raise SeqcliError(
                    f"{name}: line {opened}: a quoted field starts here and its closing quote "
                    "is missing"
                ) from None
            raise SeqcliError(f"{name}: line {reader.line_num}: malformed CSV: {e}") from None
        yield start, fields
        start = reader.line_num + 1
        record_lines.clear()


def _open_quote_line(lines: list[str], first_line: int) -> int:
    """The line where the still-open quoted field of a CSV record starts.

    ``lines`` are the record's physical lines, beginning on ``first_line``. Scans with the states
    of RFC 4180: at a field start, in an unquoted field, in quotes, just after a quote in quotes.
    """
    state, opened = "start", first_line
    for offset, line in enumerate(lines):
        for ch in line + "\n":
            if state == "quoted":
                if ch == '"':
                    state = "after_quote"
            elif state == "after_quote" and ch == '"':
                state = "quoted"  # "" is an escaped quote
            elif ch in ",\n":
                state = "start"
            elif state == "start" and ch == '"':
                state, opened = "quoted", first_line + offset
            else:
                state = "unquoted"
    return opened


def _columns(
    header: list[str],
    text_col: str | None,
    label_col: str | None,
    need_labels: bool,
    name: str,
    delimiter: str,
) -> tuple[int, int | None]:
    """Indexes of the text and label columns (label None when not needed), or a clear error."""
    listing = _listing(header, delimiter)
    ti = _pick(header, text_col, TEXT_NAMES, "--text-col", name, listing)
    li = None
    if need_labels:
        li = _pick(header, label_col, LABEL_NAMES, "--label-col", name, listing)
    if ti is None and not need_labels and len(header) == 1:
        ti = 0  # a one-column file: nothing to choose between
    if ti is None and need_labels and li is None and len(header) == 2:
        raise SeqcliError(
            f"{name}: cannot tell which column is the text and which the label ({listing}); "
            "choose them with --text-col and --label-col (a name or a 0-based index)"
        )
    if ti is None:
        raise SeqcliError(
            f"{name}: no text column ({listing}); name it {_or(TEXT_NAMES)}, "
            "or choose one with --text-col (a name or a 0-based index)"
        )
    if need_labels and li is None:
        raise SeqcliError(
            f"{name}: no label column ({listing}); name it {_or(LABEL_NAMES)}, "
            "or choose one with --label-col (a name or a 0-based index)"
        )
    if ti == li:
        raise SeqcliError(
            f"{name}: the text and the label are the same column ({header[ti]!r}); "
            "choose another with --text-col or --label-col"
        )
    return ti, li


def _pick(
    header: list[str],
    given: str | None,
    names: tuple[str, ...],
    option: str,
    name: str,
    listing: str,
) -> int | None:
    """The column ``given`` by name or 0-based index, else the first of ``names`` present, or None."""
    if given is not None:
        given = str(given).strip()
        if given.isdigit():
            index = int(given)
            if index >= len(header):
                raise SeqcliError(
                    f"{name}: {option} {index} is out of range: columns are numbered from 0 to "
                    f"{len(header) - 1} ({listing})"
                )
            return index
    for wanted in [given] if given is not None else names:
        hits = [i for i, h in enumerate(header) if h.casefold() == wanted.casefold()]
        if len(hits) > 1:
            where = ", ".join(str(i) for i in hits)
            raise SeqcliError(
                f"{name}: ambiguous: {len(hits)} columns are named {wanted!r} (indexes {where}); "
                f"choose one with {option} INDEX"
            )
        if hits:
            return hits[0]
    if given is not None:
        raise SeqcliError(f"{name}: no column named {given!r} ({listing})")
    return None


def _listing(header: list[str], delimiter: str, at_most: int = 20) -> str:
    """``CSV columns: text, label`` (shortened for wide files): what was found, and read how."""
    shown = ", ".join(repr(h) if not h or "," in h else h for h in header[:at_most])
    if len(header) > at_most:
        shown += f", ... ({len(header)} in all)"
    kind = "TSV" if delimiter == "\t" else "CSV"
    return f"{kind} columns: {shown}"


def _or(names: tuple[str, ...]) -> str:
    return ", ".join(names[:-1]) + " or " + names[-1]


def _s(count) -> str:
    """Plural ending for a count (or a sized collection)."""
    n = count if isinstance(count, int) else len(count)
    return "" if n == 1 else "s"
