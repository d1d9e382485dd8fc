"""Tagged data in and out: CoNLL-U, CoNLL-style columns and CSV / TSV for ``--task tag``.

Standard library only (plus ``seqcli.data`` and ``seqcli.errors``): ``seqcli predict`` imports it.
Opening, decoding and CSV parsing are ``seqcli.data``'s, so every input rule written there holds
here too: ``-`` is standard input; UTF-8 with or without a BOM, or UTF-16 after a BOM; CRLF or LF;
an undecodable byte is an error naming its line and column.

**Formats** (``fmt``):

* ``"conllu"``: CoNLL-U. Ten tab-separated columns (ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS
  MISC). The words are the lines whose ID is a plain integer: multiword-token ranges (``3-4``) and
  empty nodes (``8.1``) are kept for writing back but are not words. The token is FORM, the tag is
  UPOS unless ``tag_col`` names another column (``"xpos"``, any column name, or its 1-based
  number). Lines starting with ``#`` are comments.
* ``"conll"``: CoNLL-2003 and friends. One token per line, columns split at tabs when the line has
  one (tabs are kept as separators, so an empty field counts), else at runs of spaces; the
  token is the first column, the tag the last (or column
  ``tag_col``, 1-based). ``-DOCSTART-`` lines are document marks, not words. A line before a
  sentence's first word that starts with ``"# "`` and holds a ``=`` is a comment (``# sent_id =
  3``, ``# id 7 domain=en``); any other ``#`` line is a token, as conlleval reads it.
* ``"csv"``: a CSV or TSV table (``seqcli.data.read_table``) with a tokens column and a tags
  column, both space-separated, as many tags as tokens. The columns are found by name
  (``TOKEN_NAMES``, ``TAG_NAMES``, case-insensitive) unless given by name or 0-based index, as
  ``--text-col`` / ``--label-col`` are for classification.

In the CoNLL formats a blank (or whitespace-only) line ends a sentence; the last sentence needs
none. When ``fmt`` is not given, ``guess_format`` decides from the extension and the content.

**Skips.** A sentence with a bad line (too few columns, a non-numeric CoNLL-U ID, an empty
token or tag — ``_`` is an empty CoNLL-U tag — or, in CSV, token and tag counts that differ) is
left out whole and listed in ``TaggedData.skipped`` with the bad line's number: never a silent
drop. An empty file, or one without a usable sentence, is a one-line SeqcliError.

**Writing back** (``seqcli predict``): ``BlockReader`` / ``iter_blocks`` cut a CoNLL-U or CoNLL
input into ``Block``s, one per sentence, each handed on as soon as its blank line arrives.
``format_block`` writes a block back with only the tag column changed: comments, multiword and
empty-node lines, the other columns and the blank lines stay as they were (line ends become LF).
"""

import csv
import io
import os
import re
from dataclasses import dataclass, field
from itertools import chain
from typing import Iterable, Iterator, Sequence

from seqcli.data.decode import STDIN, display_name, iter_lines
from seqcli.data.tables import delimiter_of
from seqcli.data.tables import read_table, read_table_stream
from seqcli.errors import SeqcliError

FORMATS = ("conllu", "conll", "csv")
CONLLU_COLUMNS = ("ID", "FORM", "LEMMA", "UPOS", "XPOS", "FEATS", "HEAD", "DEPREL", "DEPS", "MISC")
CONLLU_SUFFIXES = (".conllu",)
CONLL_SUFFIXES = (".conll", ".conll03", ".bio", ".iob", ".iob1", ".iob2", ".bioes", ".iobes",
                  ".bilou")
CSV_SUFFIXES = (".csv",)  # .tsv / .tab may hold CoNLL columns too: decided by their content
TOKEN_NAMES = ("tokens", "words", "token", "word", "text", "sentence")
TAG_NAMES = ("tags", "labels", "tag", "label")  # generic: the first present is the tags column
# Named after one tag set: used when exactly one is present, since choosing between two (say
# pos_tags and ner_tags) would be choosing the task.
TASK_TAG_NAMES = ("ner_tags", "ner", "pos_tags", "pos", "upos", "xpos", "chunk_tags", "chunk")

_MULTIWORD = re.compile(r"[0-9]+-[0-9]+\Z")
_EMPTY_NODE = re.compile(r"[0-9]+\.[0-9]+\Z")
_ASCII_SPACE = re.compile(r"[ \t\n\r\f\v]+")  # only ASCII: U+00A0, U+2028... belong to tokens
_SPACE_FIELD = re.compile(r"[^ ]+")


# --- results ---------------------------------------------------------------------------------


@dataclass
class TaggedData:
    """The sentences kept from a tagged file, and an account of those that were not."""

    sentences: list[list[str]]  # tokens of each kept sentence
    tags: list[list[str]]  # one tag per token
    line_numbers: list[int]  # 1-based line where each kept sentence starts (its first comment)
    skipped: list[tuple[int, str]]  # (line number, reason) per skipped sentence, in file order
    format: str  # "conllu", "conll" or "csv"
    tag_col: str  # which column gave the tags: "UPOS", "column 4", "last column", a CSV header
    source: str  # display name: the path as given, or "<stdin>"

    @property
    def n_tokens(self) -> int:
        return sum(len(s) for s in self.sentences)

    def skipped_summary(self, first: int = 5) -> str | None:
        """One line about the skipped sentences, at most ``first`` line numbers per reason.

        Example: ``skipped 2 of 120 sentences (empty tag: line 7; 1 column, expected at least 2:
        line 40)``. None when nothing was skipped.
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
        total = len(self.sentences) + len(self.skipped)
        return (f"skipped {len(self.skipped)} of {total} sentence{_s(total)} "
                f"({'; '.join(parts)})")


@dataclass
class Block:
    """One sentence of a CoNLL-U / CoNLL input, with everything needed to write it back.

    ``lines`` are the block's lines (comments, -DOCSTART-, multiword and empty-node lines, words)
    without line ends; ``end`` is the blank line that closed it, None at the end of the input. A
    block may hold no word (a -DOCSTART- block, an extra blank line): it is written back as it
    came. A block with a bad line has ``problem`` = (line number, reason) and no tokens: write it
    back unchanged (``format_block(block, None)``) and report it.
    """

    lines: list[str]
    tokens: list[str]
    tags: list[str | None]  # the input's tags (None where the tag column is missing or empty)
    line_number: int  # 1-based line of lines[0] (of ``end`` when there are no lines)
    end: str | None
    problem: tuple[int, str] | None = None
    fmt: str = "conllu"
    word_lines: list[int] = field(default_factory=list)  # index in ``lines`` of each token's line
    tag_index: int = 3  # 0-based column of the tag; -1 = the last column (CoNLL)


# --- format --------------------------------------------------------------------------------------


def looks_like_conllu(line: str) -> bool:
    """Is ``line`` a CoNLL-U token line: 10 tab-separated fields, the first an integer ID?

    Ranges (``1-2``) and empty nodes (``8.1``) count: a sentence may start with either.
    """
    fields = line.split("\t")
    if len(fields) != 10:
        return False
    first = fields[0]
    return (first.isascii() and first.isdigit()) or bool(
        _MULTIWORD.match(first) or _EMPTY_NODE.match(first))


def guess_format(source: str, head: Sequence[str], plain_text: bool = False) -> str:
    """The format of a tagged input from its name and its first lines.

    head: the input's lines up to and including its first line that is neither blank nor a
    ``#`` comment (all of it if there is none). A ``.conllu`` name gives ``"conllu"``, ``.csv``
    gives ``"csv"``; otherwise the content decides: a CoNLL-U token line -> ``"conllu"``; a first
    line that is a header with a tokens and a tags column -> ``"csv"``; anything else
    ``"conll"``. With ``plain_text=True`` (prediction input) that last case is ``"text"`` (one
    sentence per line) unless the name ends in a CoNLL suffix (``CONLL_SUFFIXES``).
    """
    suffix = "" if source == STDIN else os.path.splitext(str(source))[1].lower()
    if suffix in CONLLU_SUFFIXES:
        return "conllu"
    if suffix in CSV_SUFFIXES and not plain_text:
        return "csv"
    significant = next((line for line in head if _significant(line)), None)
    if significant is not None and looks_like_conllu(significant):
        return "conllu"
    if plain_text:
        return "conll" if suffix in CONLL_SUFFIXES else "text"
    if head and head[0].strip():
        names = {h.casefold() for h in _header_fields(source, head[0])}
        if names.intersection(TOKEN_NAMES) and names.intersection(TAG_NAMES + TASK_TAG_NAMES):
            return "csv"  # even with two tag columns: reading it then says to choose one
    return "conll"


def _significant(line: str) -> bool:
    return bool(line.strip(" \t")) and not line.startswith("#")


def _peek(lines: Iterator[str]) -> list[str]:
    """Take from ``lines`` the lines up to and including the first significant one."""
    head = []
    for line in lines:
        head.append(line)
        if _significant(line):
            break
    return head


# --- reading for training --------------------------------------------------------------------


def read_tagged(
    source: str,
    fmt: str | None = None,
    tag_col: str | int | None = None,
    tokens_col: str | None = None,
) -> TaggedData:
    """Read a tagged file (``-`` = stdin) into ``TaggedData`` (formats and rules: module docstring).

    fmt: ``"conllu"``, ``"conll"`` or ``"csv"`` (``"tsv"`` too); None guesses (``guess_format``).
    tag_col: CoNLL-U: a column name (``"upos"``, ``"xpos"``, ...) or 1-based number; CoNLL: a
    1-based column number (default: the last); CSV: the tags column by name or 0-based index.
    tokens_col: CSV only: the tokens column by name or 0-based index.
    """
    name = display_name(source)
    if fmt is not None:
        fmt = normalize_format(fmt)
    raw = iter_lines(source)
    head = _peek(raw)
    if not head:
        raise SeqcliError(f"{name}: empty file")
    fmt = fmt or guess_format(source, head)
    if fmt == "csv":
        return _read_csv(source, name, head, raw, tag_col, tokens_col)
    if tokens_col is not None:
        tokens_are = "FORM" if fmt == "conllu" else "its first column"
        raise SeqcliError(
            f"{name}: the tokens column can only be chosen in a CSV/TSV file "
            f"(a {_FORMAT_NAMES[fmt]} file's tokens are {tokens_are})")
    reader = BlockReader(fmt, tag_col, name, need_tags=True)
    sentences: list[list[str]] = []
    tags: list[list[str]] = []
    starts: list[int] = []
    skipped: list[tuple[int, str]] = []
    tag_pool: dict[str, str] = {}  # one string object per tag, not one per token

    def keep(block: Block | None) -> None:
        if block is None:
            return
        if block.problem is not None:
            skipped.append(block.problem)
        elif block.tokens:
            sentences.append(block.tokens)
            tags.append([tag_pool.setdefault(t, t) for t in block.tags])
            starts.append(block.line_number)

    for line in chain(head, raw):
        keep(reader.feed(line))
    keep(reader.finish())
    result = TaggedData(sentences, tags, starts, skipped, fmt, reader.tag_col_name, name)
    _check_usable(result, name)
    return result


def normalize_format(fmt: str) -> str:
    """``fmt`` as one of ``FORMATS`` (``tsv`` is ``csv``), or a SeqcliError listing them."""
    value = str(fmt).strip().lower()
    value = {"tsv": "csv", "conll-u": "conllu", "conll2003": "conll", "columns": "conll"}.get(
        value, value)
    if value not in FORMATS:
        raise SeqcliError(f"unknown format {fmt!r}: use conllu, conll or csv")
    return value


_FORMAT_NAMES = {"conllu": "CoNLL-U", "conll": "CoNLL", "csv": "CSV/TSV"}


def _check_usable(result: TaggedData, name: str) -> None:
    if result.sentences:
        return
    if not result.skipped:
        raise SeqcliError(f"{name}: no sentences (only blank lines, comments or -DOCSTART-)")
    raise SeqcliError(f"{name}: no usable sentences ({result.skipped_summary()})")


def _read_csv(
    source: str,
    name: str,
    head: list[str],
    rest: Iterator[str],
    tag_col: str | int | None,
    tokens_col: str | None,
) -> TaggedData:
    """A CSV / TSV table with a tokens and a tags column: parsed by ``seqcli.data``.

    head, rest: the lines peeked at and the generator that gives the others.
    """
    first = head[0]
    if not first.strip():
        raise SeqcliError(
            f"{name}: line 1 is blank; the first line must be the header (column names)")
    header = _header_fields(source, first)
    text_col, label_col = _find_csv_columns(
        header, tokens_col, None if tag_col is None else str(tag_col), name,
        "TSV" if delimiter_of(source, first) == "\t" else "CSV")
    if source == STDIN or not os.path.isfile(source):
        # Standard input, a pipe or <(process substitution) cannot be read twice: hand the lines
        # read so far, and the rest, to the table parser as one UTF-8 stream (CRLF and the BOM
        # are already gone, which it allows).
        text = "\n".join(chain(head, rest)) + "\n"
        table = read_table_stream(io.BytesIO(text.encode("utf-8")), source, name,
                                 text_col, label_col, True)
    else:
        rest.close()  # closes the file; read_table opens it again from the start
        table = read_table(source, text_col=text_col, label_col=label_col)
    renamed = {"empty text": "no tokens", "missing label": "no tags"}
    skipped = [(line, renamed.get(reason, reason)) for line, reason in table.skipped]
    sentences, tags, starts = [], [], []
    tag_pool: dict[str, str] = {}
    for text, label, line in zip(table.texts, table.labels, table.line_numbers):
        tokens = [t for t in _ASCII_SPACE.split(text) if t]
        row_tags = [t for t in _ASCII_SPACE.split(label) if t]
        if len(tokens) != len(row_tags):
            skipped.append((line, "token and tag counts differ"))
            continue
        sentences.append(tokens)
        tags.append([tag_pool.setdefault(t, t) for t in row_tags])
        starts.append(line)
    skipped.sort(key=lambda item: item[0])
    result = TaggedData(sentences, tags, starts, skipped, "csv", table.label_col, name)
    _check_usable(result, name)
    return result


def _header_fields(source: str, first: str) -> list[str]:
    """The column names of a CSV / TSV header line, split as ``seqcli.data`` will split it."""
    if delimiter_of(source, first) == "\t":
        fields = first.split("\t")
    else:
        try:
            fields = next(csv.reader([first], delimiter=",", quotechar='"'))
        except (csv.Error, StopIteration):
            fields = [first]
    return [f.strip() for f in fields]


def _find_csv_columns(
    header: list[str], tokens_col: str | None, tag_col: str | None, name: str, kind: str
) -> tuple[str, str]:
    """The tokens and tags columns to hand to ``read_table`` (0-based indexes as strings).

    A column given is passed on unchanged (``read_table`` checks it); otherwise the first of
    ``TOKEN_NAMES`` and the first of ``TAG_NAMES`` present are used, or the one column of
    ``TASK_TAG_NAMES`` present.
    """
    folded = [h.casefold() for h in header]
    listing = f"{kind} columns: {', '.join(header[:20])}{', ...' if len(header) > 20 else ''}"

    def first_of(names: tuple[str, ...]) -> str | None:
        for wanted in names:
            if wanted in folded:
                return str(folded.index(wanted))
        return None

    text_col = tokens_col if tokens_col is not None else first_of(TOKEN_NAMES)
    if text_col is None:
        raise SeqcliError(
            f"{name}: no tokens column ({listing}); name it {_or(TOKEN_NAMES)}, "
            "or choose one with --text-col (a name or a 0-based index)")
    label_col = tag_col if tag_col is not None else first_of(TAG_NAMES)
    if label_col is None:
        present = [i for i, h in enumerate(folded) if h in TASK_TAG_NAMES]
        if len(present) == 1:
            label_col = str(present[0])
        elif present:
            raise SeqcliError(
                f"{name}: {len(present)} tag columns ({', '.join(header[i] for i in present)}); "
                "choose one with --tag-col (a name or a 0-based index)")
        else:
            raise SeqcliError(
                f"{name}: no tags column ({listing}); name it {_or(TAG_NAMES)}, "
                "or choose one with --tag-col (a name or a 0-based index)")
    return text_col, label_col


# --- sentences, line by line -----------------------------------------------------------------


class BlockReader:
    """Cuts CoNLL-U / CoNLL lines into ``Block``s: ``feed`` each line, then ``finish``.

    ``feed`` returns the block a blank line completes (else None), so a caller reading a pipe can
    tag each sentence as soon as it is whole. need_tags=True (training): a word without a tag is a
    problem; False (prediction): a CoNLL line with no tag column is fine, the tag is appended.
    """

    def __init__(self, fmt: str, tag_col: str | int | None = None, name: str = "<input>",
                 need_tags: bool = True):
        fmt = normalize_format(fmt)
        if fmt == "csv":
            raise ValueError("BlockReader reads CoNLL-U and CoNLL, not CSV")
        self.fmt = fmt
        self.name = name
        self.need_tags = need_tags
        self.tag_index, self.tag_col_name = _tag_column(fmt, tag_col, name)
        self._lines: list[str] = []
        self._start = 1  # line number of the block's first line
        self._line_no = 0

    def feed(self, line: str) -> Block | None:
        """Take the next line (no line end); returns the block it completes, if it is blank."""
        self._line_no += 1
        # A line whose first character is not a space or tab is not blank: checked first, as
        # nearly every line is a word line.
        if line and (line[0] not in " \t" or line.strip(" \t")):
            self._lines.append(line)
            return None
        block = self._block(line)
        self._lines = []
        self._start = self._line_no + 1
        return block

    def finish(self) -> Block | None:
        """The last block if the input did not end with a blank line, else None."""
        if not self._lines:
            return None
        block = self._block(None)
        self._lines = []
        return block

    def _block(self, end: str | None) -> Block:
        lines, start = self._lines, self._start
        parse = _parse_conllu if self.fmt == "conllu" else _parse_conll
        tokens, tags, word_lines, problem = parse(lines, start, self.tag_index, self.need_tags)
        if problem is not None:
            tokens, tags, word_lines = [], [], []
        return Block(lines, tokens, tags, start, end, problem, self.fmt, word_lines,
                     self.tag_index)


def iter_blocks(lines: Iterable[str], fmt: str, tag_col: str | int | None = None,
                name: str = "<input>", need_tags: bool = False) -> Iterator[Block]:
    """Yield the ``Block``s of ``lines`` (without line ends), each as soon as it is complete."""
    reader = BlockReader(fmt, tag_col, name, need_tags)
    for line in lines:
        block = reader.feed(line)
        if block is not None:
            yield block
    block = reader.finish()
    if block is not None:
        yield block


def read_blocks(source: str, fmt: str | None = None, tag_col: str | int | None = None,
                allow_tty: bool = False) -> Iterator[Block]:
    """The ``Block``s of a CoNLL-U / CoNLL file (``-`` = stdin) for prediction, streamed.

    fmt None: ``guess_format`` decides between CoNLL-U and CoNLL (plain text is an error here:
    the caller handles it before).
    """
    name = display_name(source)
    raw = iter_lines(source, allow_tty=allow_tty)
    head = _peek(raw)
    if fmt is None:
        fmt = guess_format(source, head, plain_text=True) if head else "conllu"
        if fmt == "text":
            raise SeqcliError(f"{name}: not CoNLL-U; give the format (conll) for CoNLL columns")
    elif normalize_format(fmt) == "csv":
        raise SeqcliError(f"{name}: tagged output is written for CoNLL-U or CoNLL input, not CSV")
    return iter_blocks(chain(head, raw), fmt, tag_col, name, need_tags=False)


def _tag_column(fmt: str, tag_col: str | int | None, name: str) -> tuple[int, str]:
    """The 0-based index of the tag column (-1: last) and its name for reports."""
    if fmt == "conllu":
        if tag_col is None:
            return 3, "UPOS"
        value = str(tag_col).strip()
        if value.isascii() and value.isdigit():
            index = int(value) - 1
            if not 0 <= index < 10:
                raise SeqcliError(
                    f"tag column {value} is out of range: CoNLL-U has columns 1 to 10")
        elif value.upper() in CONLLU_COLUMNS:
            index = CONLLU_COLUMNS.index(value.upper())
        else:
            raise SeqcliError(
                f"no CoNLL-U column {value!r}: use a name ({', '.join(CONLLU_COLUMNS)}) "
                "or a number from 1 to 10")
        if index < 2:
            raise SeqcliError(
                f"the tag column cannot be {CONLLU_COLUMNS[index]}: "
                "choose UPOS, XPOS or another column from 3 (LEMMA) to 10")
        return index, CONLLU_COLUMNS[index]
    if tag_col is None:
        return -1, "last column"
    value = str(tag_col).strip()
    if not (value.isascii() and value.isdigit()):
        raise SeqcliError(
            f"CoNLL columns have no names: give the tag column as a number "
            f"(1 is the token), not {value!r}")
    if int(value) < 2:
        raise SeqcliError("the tag column cannot be column 1, the token: choose 2 or more")
    return int(value) - 1, f"column {int(value)}"


_Parsed = tuple[list[str], list, list[int], tuple[int, str] | None]


def _parse_conllu(lines: list[str], start: int, k: int, need_tags: bool) -> _Parsed:
    """Tokens, tags, word line indexes and the first problem of one CoNLL-U block."""
    tokens: list[str] = []
    tags: list = []
    word_lines: list[int] = []
    for i, line in enumerate(lines):
        if line[0] == "#":
            continue
        fields = line.split("\t")
        if len(fields) != 10:
            n = len(fields)
            return tokens, tags, word_lines, (start + i, f"{n} column{_s(n)}, expected 10")
        ident = fields[0]
        if not (ident.isascii() and ident.isdigit()):
            if _MULTIWORD.match(ident) or _EMPTY_NODE.match(ident):
                continue
            return tokens, tags, word_lines, (start + i, "ID is not a number, a range or a decimal")
        token, tag = fields[1], fields[k]
        if not token:
            return tokens, tags, word_lines, (start + i, "empty token")
        if tag in ("_", ""):
            if need_tags:
                return tokens, tags, word_lines, (start + i, "empty tag")
            tag = None
        tokens.append(token)
        tags.append(tag)
        word_lines.append(i)
    return tokens, tags, word_lines, None


def _conll_fields(line: str) -> list[str]:
    """The columns of a CoNLL line: split at tabs if it has one, else at runs of spaces.

    Tabs are explicit separators, so ``word\tNN\t`` has an empty third column (not stripped away,
    which would make NN its last column).
    """
    body = line.strip(" ")
    if "\t" in body:
        return [f.strip(" ") for f in body.split("\t")]
    return [f for f in body.split(" ") if f]


def _parse_conll(lines: list[str], start: int, k: int, need_tags: bool) -> _Parsed:
    """Tokens, tags, word line indexes and the first problem of one CoNLL block."""
    tokens: list[str] = []
    tags: list = []
    word_lines: list[int] = []
    needed = 2 if k < 0 else k + 1  # columns a word line must have
    for i, line in enumerate(lines):
        if line.startswith("-DOCSTART-") and _conll_fields(line)[0] == "-DOCSTART-":
            continue
        if not word_lines and line.startswith("# ") and "=" in line:
            continue  # a comment before the sentence's first word
        fields = _conll_fields(line)
        n = len(fields)
        tag = None
        if n >= needed:
            tag = fields[k]
        elif need_tags or n < needed - 1:
            return tokens, tags, word_lines, (
                start + i, f"{n} column{_s(n)}, expected at least {needed}")
        if not fields[0]:
            return tokens, tags, word_lines, (start + i, "empty token")
        if not tag:
            if need_tags:
                return tokens, tags, word_lines, (start + i, "empty tag")
            tag = None
        tokens.append(fields[0])
        tags.append(tag)
        word_lines.append(i)
    return tokens, tags, word_lines, None


# --- writing -----------------------------------------------------------------------------------


def format_block(block: Block, tags: Sequence[str] | None, append: bool = False) -> str:
    """The text of ``block`` with its tag column set to ``tags`` (one per token), LF line ends.

    tags None: the block exactly as read (a problem block, or one not tagged). append (CoNLL
    only): add the tags as a new last column instead, as conlleval wants (token, gold, predicted).
    Lines without the tag column get it appended either way. Only the tag field of each word
    line changes, so the text re-reads to the same tokens.
    """
    out = list(block.lines)
    if tags is not None:
        if len(tags) != len(block.tokens):
            raise ValueError(f"{len(tags)} tags for a sentence of {len(block.tokens)} tokens")
        for tag in tags:
            if not tag or _ASCII_SPACE.search(tag) or (block.fmt == "conllu" and tag == "_"):
                raise ValueError(f"tag {tag!r} cannot be written in a column")
        if block.fmt == "conllu":
            if append:
                raise ValueError("CoNLL-U has ten columns: tags replace a column, never append")
            for i, tag in zip(block.word_lines, tags):
                fields = out[i].split("\t")
                fields[block.tag_index] = tag
                out[i] = "\t".join(fields)
        else:
            for i, tag in zip(block.word_lines, tags):
                out[i] = _set_conll_tag(out[i], tag, block.tag_index, append)
    text = "".join(line + "\n" for line in out)
    if block.end is not None:
        text += block.end + "\n"
    return text


def write_blocks(out, blocks: Iterable[tuple[Block, Sequence[str] | None]],
                 append: bool = False) -> None:
    """Write (block, tags) pairs to the text stream ``out`` with ``format_block``."""
    for block, tags in blocks:
        out.write(format_block(block, tags, append))


def _set_conll_tag(line: str, tag: str, k: int, append: bool) -> str:
    """``line`` with column ``k`` (-1: last) replaced by ``tag``, or ``tag`` appended."""
    spans = _conll_spans(line)
    last_start, last_end = spans[-1]
    if append or len(spans) < 2 or (k >= 0 and len(spans) == k):
        # No tag column yet (a token-only line), or a new column asked for: add one.
        sep = "\t" if "\t" in line else " "
        return line[:last_end] + sep + tag + line[last_end:]
    begin, end = spans[k]
    return line[:begin] + tag + line[end:]


def _conll_spans(line: str) -> list[tuple[int, int]]:
    """(start, end) of each column of a CoNLL line, as ``_conll_fields`` reads them."""
    lead = len(line) - len(line.lstrip(" "))
    body = line.strip(" ")
    if "\t" not in body:
        return [(m.start() + lead, m.end() + lead) for m in _SPACE_FIELD.finditer(body)]
    spans = []
    pos = lead
    for piece in body.split("\t"):
        inner = piece.strip(" ")
        begin = pos + len(piece) - len(piece.lstrip(" ")) if inner else pos
        spans.append((begin, begin + len(inner)))
        pos += len(piece) + 1
    return spans


def _or(names: tuple[str, ...]) -> str:
    return ", ".join(names[:-1]) + " or " + names[-1]


def _s(count) -> str:
    n = count if isinstance(count, int) else len(count)
    return "" if n == 1 else "s"
