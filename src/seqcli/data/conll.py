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

**Writing back** (``seqcli predict``; ``seqcli.data.conllblocks``): ``BlockReader`` / ``iter_blocks``
cut a CoNLL-U or CoNLL input into ``Block``s, one per sentence, each handed on as soon as its blank line arrives.
``format_block`` writes a block back with only the tag column changed: comments, multiword and
empty-node lines, the other columns and the blank lines stay as they were (line ends become LF).
"""

import csv
import io
import os
from dataclasses import dataclass
from itertools import chain
from typing import Iterator, Sequence

from seqcli.data.conllblocks import (_ASCII_SPACE, Block, BlockReader, iter_blocks, looks_like_conllu,
                                     normalize_format)
from seqcli.data.decode import STDIN, display_name, iter_lines
from seqcli.data.tables import delimiter_of
from seqcli.data.tables import read_table, read_table_stream, skipped_summary
from seqcli.errors import SeqcliError

CONLLU_SUFFIXES = (".conllu",)
CONLL_SUFFIXES = (".conll", ".conll03", ".bio", ".iob", ".iob1", ".iob2", ".bioes", ".iobes",
                  ".bilou")
CSV_SUFFIXES = (".csv",)  # .tsv / .tab may hold CoNLL columns too: decided by their content
TOKEN_NAMES = ("tokens", "words", "token", "word", "text", "sentence")
TAG_NAMES = ("tags", "labels", "tag", "label")  # generic: the first present is the tags column
# Named after one tag set: used when exactly one is present, since choosing between two (say
# pos_tags and ner_tags) would be choosing the task.
TASK_TAG_NAMES = ("ner_tags", "ner", "pos_tags", "pos", "upos", "xpos", "chunk_tags", "chunk")


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
        return skipped_summary(self.skipped, len(self.sentences) + len(self.skipped), "sentence", first)


# --- format --------------------------------------------------------------------------------------


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


def _or(names: tuple[str, ...]) -> str:
    return ", ".join(names[:-1]) + " or " + names[-1]
