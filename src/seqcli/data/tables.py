"""CSV / TSV tables of texts and labels, by the input rules of ``seqcli.data``."""

import csv
import itertools
import os
from dataclasses import dataclass
from typing import BinaryIO, Iterator

from seqcli.data.decode import STDIN, _decode, _open, display_name, split_lines
from seqcli.errors import SeqcliError

TEXT_NAMES = ("text", "sentence", "review", "message", "content")
LABEL_NAMES = ("label", "class", "target", "sentiment", "category")
TSV_SUFFIXES = (".tsv", ".tab")


@dataclass(frozen=True)
class Roles:
    """What the two columns of a table are called, for finding them and for the messages: a text and a
    label (classification), or a source and a target (sequence to sequence)."""

    text_names: tuple
    label_names: tuple
    text_option: str = "--text-col"
    label_option: str = "--label-col"
    text_word: str = "text"
    label_word: str = "label"
    first_two: bool = False  # neither found by name: the first two columns, in order


CLASSIFY = Roles(TEXT_NAMES, LABEL_NAMES)
PAIRS = Roles(("source", "input", "src"), ("target", "output", "tgt"), "--source-col", "--target-col",
              "source", "target", first_two=True)
_FIELD_LIMIT = 2**31 - 1  # csv's default is 128 KiB; a C long holds 2**31 - 1 on every platform


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
        return skipped_summary(self.skipped, len(self.texts) + len(self.skipped), "row", first)


def skipped_summary(skipped: list[tuple[int, str]], total: int, noun: str, first: int = 5) -> str | None:
    """'skipped 3 of 120 rows (empty text: lines 7, 12; missing label: line 9)' for ``skipped`` [(line,
    reason)] out of ``total`` records called ``noun``; None when nothing was skipped."""
    if not skipped:
        return None
    by_reason: dict[str, list[int]] = {}
    for line, reason in skipped:
        by_reason.setdefault(reason, []).append(line)
    parts = []
    for reason, lines in by_reason.items():
        shown = ", ".join(str(n) for n in lines[:first])
        more = f" and {len(lines) - first} more" if len(lines) > first else ""
        parts.append(f"{reason}: line{_s(lines)} {shown}{more}")
    return f"skipped {len(skipped)} of {total} {noun}{_s(total)} ({'; '.join(parts)})"


def read_table(
    source: str,
    text_col: str | None = None,
    label_col: str | None = None,
    need_labels: bool | None = True,
    roles: Roles = CLASSIFY,
) -> Table:
    """Read a CSV / TSV file with a header row into a ``Table`` (rules: the module docstring).

    ``text_col`` / ``label_col`` pick a column by name (case-insensitive) or by 0-based index
    (a string of digits); by default the columns are found by their common names. With
    ``need_labels=False`` no label column is looked for (``label_col`` is ignored), a file with a
    single column uses it as the text, and ``Table.labels`` is None; with ``need_labels=None`` the
    labels are read when a label column is given or found by name (``vectorize`` of a table).
    ``roles=PAIRS`` reads pairs of source and target (``texts`` the sources, ``labels`` the targets)
    by their names.
    """
    name = display_name(source)
    if csv.field_size_limit() < _FIELD_LIMIT:
        csv.field_size_limit(_FIELD_LIMIT)  # one text may be a whole document on one line
    stream = _open(source)
    try:
        return read_table_stream(stream, source, name, text_col, label_col, need_labels, roles)
    finally:
        if source != STDIN:
            stream.close()


# --- tables ----------------------------------------------------------------------------------


def read_table_stream(
    stream: BinaryIO,
    source: str,
    name: str,
    text_col: str | None,
    label_col: str | None,
    need_labels: bool | None,
    roles: Roles = CLASSIFY,
) -> Table:
    """``read_table`` on an open binary stream (stdin, a pipe read once, bytes in memory)."""
    delimiter, records = _records_of(stream, source, name)
    _, fields = next(records)
    header = [h.strip() for h in fields]
    ti, li = _columns(header, text_col, label_col, need_labels, name, delimiter, roles)
    table = Table(texts=[], labels=[] if li is not None else None, line_numbers=[], skipped=[],
                  text_col=header[ti], label_col=header[li] if li is not None else None, source=name)
    _keep_rows(table, records, len(header), ti, li, roles)
    if not table.texts:
        if not table.skipped:
            raise SeqcliError(f"{name}: no data rows (only a header)")
        raise SeqcliError(f"{name}: no usable rows ({table.skipped_summary()})")
    return table


def _records_of(stream: BinaryIO, source: str, name: str) -> tuple[str, Iterator[tuple[int, list[str]]]]:
    """(delimiter, the records of the table: (line where each starts, its fields), header first).

    Lines are read as the records need them (streaming). A quoted field may hold delimiters, quotes
    (doubled) and newlines, in a CSV and in a TSV alike, as Python's csv module reads them."""
    lines = split_lines(_decode(stream, name))
    first = next(lines, None)
    if first is None:
        raise SeqcliError(f"{name}: empty file")
    if not first.strip():
        raise SeqcliError(
            f"{name}: line 1 is blank; the first line must be the header (column names)"
        )
    delimiter = delimiter_of(source, first)
    feed = _LineFeed(itertools.chain([first], lines))
    # strict: a quote that does not close a field is an error, not text csv silently rearranges
    reader = csv.reader(feed, delimiter=delimiter, quotechar='"', doublequote=True, strict=True)
    return delimiter, _records(reader, feed, name, literal=delimiter == "\t")


def _keep_rows(table: Table, records, n_cols: int, ti: int, li: int | None, roles: Roles = CLASSIFY) -> None:
    """Append the usable records to ``table`` (texts, labels, line numbers); account for the others
    (the reasons name the columns by ``roles.text_word`` and ``roles.label_word``)."""
    texts, labels, skipped = table.texts, table.labels, table.skipped
    classes: dict[str, str] = {}  # one string object per class, not one per row
    for line_no, fields in records:
        if len(fields) != n_cols:
            if len(fields) <= 1 and not "".join(fields).strip():
                skipped.append((line_no, "blank line"))
            else:
                skipped.append((line_no, f"{len(fields)} field{_s(fields)}, expected {n_cols}"))
            continue
        text = fields[ti]
        if not text.strip() and labels is not None:  # for prediction an empty text is valid input
            skipped.append((line_no, f"empty {roles.text_word}"))
            continue
        if labels is not None:
            label = fields[li].strip()
            if not label:
                skipped.append((line_no, f"missing {roles.label_word}"))
                continue
            labels.append(classes.setdefault(label, label))
        texts.append(text)
        table.line_numbers.append(line_no)


class _LineFeed:
    """The physical lines of a table for ``csv.reader``, each with its newline (which csv needs to
    keep one inside a quoted field). Counts the lines handed out, keeps those of the record being
    read (to place a lost quote) and takes lines back (a TSV record read again literally)."""

    def __init__(self, lines: Iterator[str]):
        self.lines, self.back = lines, []
        self.number = 0  # the line last handed out (1-based)
        self.record: list[str] = []  # the physical lines of the record being read

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = self.back.pop() if self.back else next(self.lines)  # StopIteration ends the table
        self.number += 1
        self.record.append(line)
        return line + "\n"

    def give_back(self, lines: list[str]) -> None:
        """Hand ``lines`` out again, first to last, before any new line."""
        self.back.extend(reversed(lines))
        self.number -= len(lines)


def delimiter_of(source: str, header_line: str) -> str:
    """Tab for a ``.tsv`` / ``.tab`` file or a header line with a tab and no comma; else a comma."""
    if source != STDIN and os.path.splitext(str(source))[1].lower() in TSV_SUFFIXES:
        return "\t"
    if "\t" in header_line and "," not in header_line:
        return "\t"
    return ","


def _records(reader, feed: _LineFeed, name: str, literal: bool = False) -> Iterator[tuple[int, list[str]]]:
    """Yield (line where the record starts, its fields); turn csv errors into SeqcliErrors.

    literal (TSV): a record whose quotes are not csv's (``"quoted" start``, a quote never closed) is
    not an error: its first line is split at the tabs, quotes and all, as seqcli read every TSV
    before it honoured quoted fields, and the lines after it are read again. (A quote that opens a
    field and never closes makes csv read on to the next quote, or to the end of the file, before
    those lines are read again: extra work, held in memory as csv holds any open field, but the
    same rows.)"""
    start = 1
    while True:
        feed.record.clear()
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            if literal:
                taken = list(feed.record)
                feed.give_back(taken[1:])
                fields = taken[0].split("\t")
            elif str(e) == "unexpected end of data":  # strict csv: the input ended inside quotes
                opened = _open_quote_line(feed.record, start)
                raise SeqcliError(
                    f"{name}: line {opened}: a quoted field starts here and its closing quote "
                    "is missing"
                ) from None
            else:
                raise SeqcliError(f"{name}: line {feed.number}: malformed CSV: {e}") from None
        yield start, fields
        start = feed.number + 1


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
    need_labels: bool | None,
    name: str,
    delimiter: str,
    roles: Roles = CLASSIFY,
) -> tuple[int, int | None]:
    """Indexes of the text and label columns (label None when not needed), or a clear error."""
    listing = _listing(header, delimiter)
    r = roles
    ti = _pick(header, text_col, r.text_names, r.text_option, name, listing)
    li = None
    if need_labels is None:  # optional: the label column when one is given or found by name
        li = _pick(header, label_col, r.label_names, r.label_option, name, listing)
        need_labels = li is not None
    elif need_labels:
        li = _pick(header, label_col, r.label_names, r.label_option, name, listing)
    if r.first_two and len(header) >= 2 and (ti is None or (need_labels and li is None)):
        rest = [i for i in range(len(header)) if i not in (ti, li)]
        ti = rest.pop(0) if ti is None else ti
        li = rest.pop(0) if need_labels and li is None else li
    if ti is None and not need_labels and len(header) == 1:
        ti = 0  # a one-column file: nothing to choose between
    if ti is None and need_labels and li is None and len(header) == 2:
        raise SeqcliError(
            f"{name}: cannot tell which column is the {r.text_word} and which the {r.label_word} ({listing}); "
            f"choose them with {r.text_option} and {r.label_option} (a name or a 0-based index)"
        )
    for index, names, option, word in ((ti, r.text_names, r.text_option, r.text_word),
                                       (li if need_labels else 0, r.label_names, r.label_option, r.label_word)):
        if index is None:
            raise SeqcliError(
                f"{name}: no {word} column ({listing}); name it {_or(names)}, "
                f"or choose one with {option} (a name or a 0-based index)"
            )
    if ti == li:
        raise SeqcliError(
            f"{name}: the {r.text_word} and the {r.label_word} are the same column ({header[ti]!r}); "
            f"choose another with {r.text_option} or {r.label_option}"
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
