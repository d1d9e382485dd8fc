"""The file side of ``--embeddings``: the bytes of a word-vector file, its format, and its records.

``read_head`` finds the format and the dimension from the first line (and, after a ``count dim`` header,
the bytes that follow it); ``read_text`` and ``read_binary`` stream the records into a lookup (see
``seqcli.data.embeddings``), which says which words are wanted and keeps their vectors. The formats and
the memory bound are described in ``seqcli.data.embeddings``. Every failure the user can cause is a
one-line ``SeqcliError`` naming the file and the line (or, in a binary file, the record).
"""

import bz2
import gzip
import lzma
import os
import zlib
from dataclasses import dataclass

import numpy as np

from seqcli.data.decode import _open
from seqcli.errors import SeqcliError

FORMAT_TEXT_HEADER = "word2vec text"  # also fastText .vec
FORMAT_TEXT = "text without header (GloVe)"
FORMAT_BINARY = "word2vec binary"

_CHUNK = 1 << 20      # bytes per read: large enough that the per-chunk cost vanishes, small for memory
_MAX_LINE = 1 << 24   # a 300-dim text line is ~4 KB; a "line" of 16 MB means this is no vector file
_MAX_WORD = 1 << 16   # binary: bytes searched for the space that ends a word before giving up
_MAGIC = (  # (leading bytes, compression name, opener over a binary file object)
    (b"\x1f\x8b", "gzip", lambda raw: gzip.GzipFile(fileobj=raw, mode="rb")),
    (b"BZh", "bzip2", lambda raw: bz2.BZ2File(raw)),
    (b"\xfd7zXZ\x00", "xz", lambda raw: lzma.LZMAFile(raw)),
)
_BAD_DATA = (EOFError, OSError, zlib.error, lzma.LZMAError)  # gzip.BadGzipFile is an OSError
# Bytes a text line's numbers are made of; the float32 bytes of a binary record practically never all are.
_NUMBER_BYTES = b"0123456789+-.eE \t\r\n" + b"naifNAIFtyTY"  # nan, inf, infinity
_NOT_CONTROL = bytes(b for b in range(256) if not (b < 9 or 14 <= b < 32 or b == 127))


class Source:
    """The file's (decompressed) bytes, chunk by chunk; damaged data becomes a SeqcliError."""

    def __init__(self, name: str, progress):
        self.name, self.progress = name, progress
        self.raw = _open(name)   # the one-line errors of every seqcli input (no such file, a directory, ...)
        try:
            self.size = os.fstat(self.raw.fileno()).st_size
            magic = self.raw.peek(8)[:8]
        except OSError as e:
            self.raw.close()
            raise SeqcliError(f"{name}: cannot read: {e.strerror or e}") from None
        if magic.startswith(b"PK\x03\x04"):
            self.raw.close()
            raise SeqcliError(f"{name}: is a zip archive: unzip it and give one of its files")
        self.compression, self.stream = None, self.raw
        for prefix, compression, opener in _MAGIC:
            if magic.startswith(prefix):
                self.compression, self.stream = compression, opener(self.raw)
                break

    def read(self, where: str) -> bytes:
        """The next chunk, b"" at the end. ``where`` ("after line 12") goes into error messages."""
        try:
            chunk = self.stream.read(_CHUNK)
        except _BAD_DATA as e:
            what = f"damaged {self.compression} data" if self.compression else "read error"
            raise SeqcliError(f"{self.name}: {what} {where}: {_reason(e)}") from None
        if self.progress is not None:
            self.progress(self.raw.tell() if not self.raw.closed else self.size, self.size)
        return chunk

    def close(self) -> None:
        if self.stream is not self.raw:
            self.stream.close()
        self.raw.close()


@dataclass
class Head:
    format: str
    dim: int
    count: int | None  # the header's vector count, None without a header
    lines: int         # lines consumed before ``rest`` (header and leading blank lines)
    rest: bytes        # the bytes read beyond them


def read_head(src: Source) -> Head:
    """Find the format and dimension from the first line (and, after a header, the next bytes)."""
    name = src.name
    buf = src.read("at the start")
    eof = not buf
    if buf.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte-order mark some Windows tools write
        buf = buf[3:]
    pos, skipped = 0, 0
    while True:  # the first non-blank line, with the start of the next one for the checks below
        nl = buf.find(b"\n", pos)
        while not eof and (nl < 0 or buf.find(b"\n", nl + 1) < 0) and len(buf) - pos <= _MAX_LINE:
            more = src.read(f"after line {skipped}")
            eof = not more
            buf += more
            nl = buf.find(b"\n", pos)
        if nl < 0 and len(buf) - pos > _MAX_LINE:
            raise SeqcliError(f"{name}: line {skipped + 1} is longer than {_MAX_LINE:,} bytes: "
                              f"not a word-vector file")
        line = buf[pos:] if nl < 0 else buf[pos:nl]
        if line.strip():
            break
        if nl < 0:
            raise SeqcliError(f"{name}: empty file (no vectors)")
        pos, skipped = nl + 1, skipped + 1
    lineno = skipped + 1
    fields = line.split()
    after = b"" if nl < 0 else buf[nl + 1:]

    if len(fields) == 2 and fields[0].isdigit() and fields[1].isdigit():
        count, dim = int(fields[0]), int(fields[1])
        if dim == 0 or count == 0:
            raise SeqcliError(f"{name}: line {lineno}: the header '{_show(line)}' announces "
                              f"no vectors ({'dimension' if dim == 0 else 'count'} 0)")
        return Head(_text_or_binary(after, dim), dim, count, lineno, after)
    nl2 = after.find(b"\n")
    second = (after if nl2 < 0 else after[:nl2]).split()
    if len(fields) == 1 or (len(fields) == 2 and second and len(second) != 2):
        # one field cannot be a word with a vector; two that the next line does not match were
        # meant as the header
        raise SeqcliError(f"{name}: line {lineno}: '{_show(line)}' is not a 'count dim' header "
                          f"(two whole numbers such as '400000 300') nor a word and its vector")
    return Head(FORMAT_TEXT, len(fields) - 1, None, skipped, buf[pos:])


def _text_or_binary(after: bytes, dim: int) -> str:
    """After a header: text if the first record's bytes after its word are a line of numbers."""
    start = len(after) - len(after.lstrip(b"\r\n"))
    sp = after.find(b" ", start)
    if sp < 0:  # no word ends in what was read: binary only if it holds bytes no text has
        is_text = not after[:_MAX_WORD].translate(None, _NOT_CONTROL)
        return FORMAT_TEXT_HEADER if is_text else FORMAT_BINARY
    nl = after.find(b"\n", sp)
    values = after[sp + 1: nl if nl >= 0 else sp + 1 + 4 * dim]
    is_text = values.strip() and not values.translate(None, _NUMBER_BYTES)
    return FORMAT_TEXT_HEADER if is_text else FORMAT_BINARY


def read_text(src: Source, head: Head, lookup):
    """Stream the text lines after the header into ``lookup``; (lines read, vectors, to the end)."""
    name, dim, count = src.name, head.dim, head.count
    lineno, n_vec = head.lines, 0
    carry, eof = head.rest, False
    while not eof:
        chunk = src.read(f"after line {lineno}")
        lines = (carry + chunk).split(b"\n")
        carry = lines.pop()  # the unfinished last line waits for the next chunk
        unterminated = 0  # line number of a last line without \n, which may be cut short
        if not chunk:
            eof = True
            if carry:
                lines.append(carry)
                unterminated = lineno + len(lines)
        elif len(carry) > _MAX_LINE:
            raise SeqcliError(f"{name}: line {lineno + len(lines) + 1} is longer than "
                              f"{_MAX_LINE:,} bytes: not a word-vector file")
        for line in lines:
            lineno += 1
            # Fast path: the word ends at the first space, and dim spaces (dim + 1 with fastText's
            # trailing one) separate dim values; values are parsed only if the word is wanted.
            sp = line.find(b" ")
            n_spaces = line.count(b" ")
            if sp > 0 and (n_spaces == dim or (n_spaces == dim + 1 and line.endswith(b" "))):
                word, values = line[:sp], None
            else:
                fields = line.split()
                if not fields:
                    continue  # a blank line
                word, values = _odd_line(fields, dim, name, lineno, lineno == unterminated)
            n_vec += 1
            if count is not None and n_vec > count:
                raise SeqcliError(f"{name}: line {lineno}: more vectors than the {count:,} the "
                                  f"header (line 1) announces")
            hit = None if word is None else lookup.want(word)
            if hit is None:
                continue
            if values is None:
                values = line.split()[1:]
                if len(values) != dim:  # double spaces or tabs fooled the count
                    raise SeqcliError(f"{name}: line {lineno} has {_values(len(values))}, "
                                      f"expected {dim}")
            lookup.store(_parse(values, name, lineno, word), hit)
            if lookup.done:
                return lineno, n_vec, False
    if count is not None and n_vec < count:
        raise SeqcliError(f"{name}: the header (line 1) announces {count:,} vectors but the file "
                          f"ends after {n_vec:,}, at line {lineno}: truncated?")
    if n_vec == 0:
        raise SeqcliError(f"{name}: empty file (no vectors)")
    return lineno, n_vec, True


def _odd_line(fields, dim, name, lineno, last):
    """(word, values) of a line the fast path did not take: tabs, extra spaces, CRLF, a word with
    spaces (word None: it cannot be a vocabulary word), or a wrong number of values (an error)."""
    n_values = len(fields) - 1
    if n_values == dim:
        return fields[0], fields[1:]
    if n_values > dim and not _is_number(fields[-dim - 1]):
        return None, None  # GloVe's ". . ." and the like: a word with spaces
    truncated = " (the file ends inside it: truncated?)" if last else ""
    raise SeqcliError(f"{name}: line {lineno} has {_values(n_values)}, expected {dim}{truncated}")


def _parse(values, name, lineno, word) -> np.ndarray:
    """The float32 vector (dim,) of a wanted word's value fields; a non-number is an error."""
    try:
        with np.errstate(over="ignore"):  # out of float32 range becomes inf, caught below
            vec = np.array(values, dtype=np.float32)
    except ValueError:
        for j, v in enumerate(values):
            if not _is_number(v):
                raise SeqcliError(f"{name}: line {lineno}: value {j + 1} of '{_show(word)}' is "
                                  f"not a number: '{_show(v)}'") from None
        raise SeqcliError(f"{name}: line {lineno}: the values of '{_show(word)}' are not "
                          f"numbers") from None
    _check_finite(vec, f"{name}: line {lineno}", word)
    return vec


def read_binary(src: Source, head: Head, lookup):
    """Stream the binary records into ``lookup``; (records read, vectors, read to the end)."""
    name, dim, count = src.name, head.dim, head.count
    nbytes = 4 * dim
    buf, pos, rec, eof = head.rest, 0, 0, False
    while rec < count:
        sp = buf.find(b" ", pos)
        if sp < 0 or sp + 1 + nbytes > len(buf):
            if sp < 0 and len(buf) - pos > _MAX_WORD:
                raise SeqcliError(f"{name}: record {rec + 1}: no space ends its word within "
                                  f"{_MAX_WORD:,} bytes: the file is damaged or the header's "
                                  f"dimension is wrong")
            more = b"" if eof else src.read(f"after record {rec}")
            if not more:
                _binary_truncated(name, buf[pos:], sp - pos, rec, count, nbytes)
            eof = not more
            buf, pos = buf[pos:] + more, 0
            continue
        word = buf[pos:sp]
        if word[:1] in (b"\n", b"\r"):
            word = word.lstrip(b"\r\n")  # the newline many writers put after each vector
        rec += 1
        hit = lookup.want(word)
        if hit is not None:
            vec = np.frombuffer(buf, dtype="<f4", count=dim, offset=sp + 1)
            _check_finite(vec, f"{name}: record {rec}", word)
            lookup.store(vec, hit)
            if lookup.done:
                return rec, rec, False
        pos = sp + 1 + nbytes
    # What follows the last record must be nothing but whitespace, else the header is wrong.
    while True:
        tail = buf[pos:]
        if tail.strip():
            raise SeqcliError(f"{name}: more data after the {count:,} records the header (line 1) "
                              f"announces: is its count or dimension wrong?")
        if eof:
            break
        buf, pos = src.read(f"after record {rec}"), 0
        eof = not buf
    return rec, rec, True


def _binary_truncated(name, tail, sp, rec, count, nbytes):
    """Raise the error for a binary file that ends before record ``rec + 1`` is complete."""
    if not tail.strip():
        raise SeqcliError(f"{name}: the header (line 1) announces {count:,} vectors but the file "
                          f"ends after {rec:,} records: truncated?")
    if sp < 0:
        raise SeqcliError(f"{name}: record {rec + 1} is truncated: the file ends inside its word")
    word = tail[:sp].lstrip(b"\r\n")
    raise SeqcliError(f"{name}: record {rec + 1} ('{_show(word)}') is truncated: the file ends "
                      f"{len(tail) - sp - 1} bytes into its {nbytes}-byte vector")


def _check_finite(vec, where, word) -> None:
    if not np.isfinite(vec).all():
        j = int(np.flatnonzero(~np.isfinite(vec))[0])
        raise SeqcliError(f"{where}: value {j + 1} of '{_show(word)}' is {vec[j]} "
                          f"(not a finite float32 number)")


def _is_number(field: bytes) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def _show(raw: bytes, at_most: int = 40) -> str:
    """Bytes from the file for a one-line message: decoded, control characters escaped, cut short."""
    text = raw.decode("utf-8", "replace")
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[:at_most])
    return text + ("..." if len(raw) > at_most else "")


def _values(n: int) -> str:
    return "1 value" if n == 1 else f"{n} values"


def _reason(e: BaseException) -> str:
    return str(e).splitlines()[0] if str(e) else type(e).__name__
