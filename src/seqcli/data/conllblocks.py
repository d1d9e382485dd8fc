"""CoNLL-U and CoNLL sentences as blocks of lines: cut as they come, written back with the tags set.

Standard library only (``seqcli predict`` imports it). ``BlockReader`` / ``iter_blocks`` cut CoNLL-U or
CoNLL lines into ``Block``s, one per sentence, each handed on as soon as its blank line arrives;
``format_block`` writes a block back with only the tag column changed: comments, multiword and
empty-node lines, the other columns and the blank lines stay as they were (line ends become LF), so the
text re-reads to the same tokens. The column rules are in ``seqcli.data.conll``'s docstring: training
reads its sentences through the same ``BlockReader``.
"""

import re
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Sequence

from seqcli.errors import SeqcliError

FORMATS = ("conllu", "conll", "csv")
CONLLU_COLUMNS = ("ID", "FORM", "LEMMA", "UPOS", "XPOS", "FEATS", "HEAD", "DEPREL", "DEPS", "MISC")

_MULTIWORD = re.compile(r"[0-9]+-[0-9]+\Z")
_EMPTY_NODE = re.compile(r"[0-9]+\.[0-9]+\Z")
_ASCII_SPACE = re.compile(r"[ \t\n\r\f\v]+")  # only ASCII: U+00A0, U+2028... belong to tokens
_SPACE_FIELD = re.compile(r"[^ ]+")


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


def normalize_format(fmt: str) -> str:
    """``fmt`` as one of ``FORMATS`` (``tsv`` is ``csv``), or a SeqcliError listing them."""
    value = str(fmt).strip().lower()
    value = {"tsv": "csv", "conll-u": "conllu", "conll2003": "conll", "columns": "conll"}.get(
        value, value)
    if value not in FORMATS:
        raise SeqcliError(f"unknown format {fmt!r}: use conllu, conll or csv")
    return value



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


def _s(count) -> str:
    n = count if isinstance(count, int) else len(count)
    return "" if n == 1 else "s"
