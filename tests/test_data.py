"""Tests for seqcli.data: every input rule, each with the exact bytes that exercise it."""

import csv
import io
import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqcli.data import decode
from seqcli.data import display_name, iter_lines, read_corpus, read_table
from seqcli.errors import SeqcliError

RT_POLARITY = Path("/work/shared/data/rt-polarity.csv")


def write(tmp_path: Path, name: str, content: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


def error_of(call, *args, **kwargs) -> str:
    with pytest.raises(SeqcliError) as info:
        result = call(*args, **kwargs)
        if hasattr(result, "__next__"):
            list(result)
    assert "\n" not in info.value.message
    assert info.value.exit_code == 1
    return info.value.message


class FakeStdin:
    """sys.stdin stand-in: ``buffer`` holds the bytes; ``isatty`` as asked."""

    def __init__(self, content: bytes = b"", tty: bool = False):
        self.buffer = io.BytesIO(content)
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.fixture
def stdin(monkeypatch):
    def set_stdin(content: bytes = b"", tty: bool = False) -> FakeStdin:
        fake = FakeStdin(content, tty)
        monkeypatch.setattr(sys, "stdin", fake)
        return fake

    return set_stdin


# --- CSV basics --------------------------------------------------------------------------------


def test_reads_csv_columns_and_line_numbers(tmp_path):
    path = write(tmp_path, "d.csv", b"text,label\ngood film,pos\nbad film,neg\n")
    table = read_table(path)
    assert table.texts == ["good film", "bad film"]
    assert table.labels == ["pos", "neg"]
    assert table.line_numbers == [2, 3]
    assert table.skipped == []
    assert (table.text_col, table.label_col, table.source) == ("text", "label", path)
    assert table.skipped_summary() is None


def test_last_line_without_newline_is_read(tmp_path):
    table = read_table(write(tmp_path, "d.csv", b"text,label\na,x\nb,y"))
    assert table.texts == ["a", "b"] and table.labels == ["x", "y"]


def test_quoted_fields_hold_commas_quotes_and_newlines(tmp_path):
    content = (
        b"text,label\n"
        b'"one, two",a\n'  # line 2
        b'"she said ""hi""",b\n'  # line 3
        b'"first\nsecond\nthird",c\n'  # lines 4-6
        b'"""quoted"" start",d\n'  # line 7
        b"plain,e\n"  # line 8
    )
    table = read_table(write(tmp_path, "d.csv", content))
    assert table.texts == [
        "one, two", 'she said "hi"', "first\nsecond\nthird", '"quoted" start', "plain"
    ]
    assert table.labels == ["a", "b", "c", "d", "e"]
    assert table.line_numbers == [2, 3, 4, 7, 8]


def test_line_numbers_of_skipped_rows_count_quoted_newlines(tmp_path):
    content = b'text,label\n"a\nb",x\n"",y\n'  # the empty text starts on line 4
    table = read_table(write(tmp_path, "d.csv", content))
    assert table.skipped == [(4, "empty text")]


def test_text_with_u0085_or_u2028_is_not_split(tmp_path):
    text = "one\u0085two\u2028three"
    table = read_table(write(tmp_path, "d.csv", f"text,label\n{text},x\nz,y\n".encode()))
    assert table.texts == [text, "z"]
    assert table.line_numbers == [2, 3]


def test_texts_are_kept_verbatim_and_labels_stripped_with_case_kept(tmp_path):
    content = b"text,label\n  spaced text  , Pos \nb,pos\n"
    table = read_table(write(tmp_path, "d.csv", content))
    assert table.texts == ["  spaced text  ", "b"]
    assert table.labels == ["Pos", "pos"]  # two different classes


def test_labels_share_one_string_per_class(tmp_path):
    table = read_table(write(tmp_path, "d.csv", b"text,label\na,pos\nb,pos\nc,neg\n"))
    assert table.labels[0] is table.labels[1]


texts = st.text(st.characters(blacklist_characters="\x00\r", blacklist_categories=("Cs",)), min_size=1)
labels = st.text(st.characters(whitelist_categories=("L", "N")), min_size=1, max_size=5)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(texts.filter(str.strip), labels), min_size=1, max_size=8),
       crlf=st.booleans(), bom=st.booleans())
def test_round_trip_of_csv_written_by_the_csv_module(tmp_path_factory, rows, crlf, bom):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n" if crlf else "\n")
    writer.writerow(["text", "label"])
    writer.writerows(rows)
    content = ("\ufeff" if bom else "") + buffer.getvalue()
    path = write(tmp_path_factory.mktemp("rt"), "d.csv", content.encode())
    table = read_table(path)
    assert table.texts == [text for text, _ in rows]
    assert table.labels == [label for _, label in rows]
    starts = [2]
    for text, _ in rows[:-1]:
        starts.append(starts[-1] + 1 + text.count("\n"))
    assert table.line_numbers == starts


# --- TSV ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["d.tsv", "d.TAB"])
def test_tsv_by_extension_takes_quotes_literally(tmp_path, name):
    content = b'text\tlabel\n"quoted" start, with comma\tpos\nsay "hi\tneg\n'
    table = read_table(write(tmp_path, name, content))
    assert table.texts == ['"quoted" start, with comma', 'say "hi']
    assert table.labels == ["pos", "neg"]


def test_tsv_by_extension_even_if_header_has_commas(tmp_path):
    table = read_table(write(tmp_path, "d.tsv", b"text\tlabel,kind\na,b\tc\n"), label_col="1")
    assert table.label_col == "label,kind" and table.texts == ["a,b"]  # commas are data
    with pytest.raises(SeqcliError, match="no text column"):  # a CSV misnamed .tsv is one column
        read_table(write(tmp_path, "e.tsv", b"text,label\na,b\n"))


def test_tsv_by_header_tabs_without_commas(tmp_path):
    table = read_table(write(tmp_path, "d.txt", b"text\tlabel\na, b\tpos\n"))
    assert table.texts == ["a, b"] and table.labels == ["pos"]


def test_header_with_tab_and_comma_is_csv(tmp_path):
    table = read_table(write(tmp_path, "d.txt", b"text\tnote,label\nx\ty,z\n"), text_col="0")
    assert table.text_col == "text\tnote"
    assert table.texts == ["x\ty"] and table.labels == ["z"]


def test_tsv_error_message_says_tsv(tmp_path):
    message = error_of(read_table, write(tmp_path, "d.tsv", b"text,label\na,b\n"))
    assert "TSV columns: 'text,label'" in message


# --- stdin -------------------------------------------------------------------------------------


def test_read_table_from_stdin(stdin):
    stdin(b"text,label\nhello,pos\n")
    table = read_table("-")
    assert table.texts == ["hello"] and table.source == "<stdin>"


def test_stdin_header_with_tabs_is_tsv(stdin):
    stdin(b"text\tlabel\na,b\tpos\n")
    assert read_table("-").texts == ["a,b"]


def test_stdin_terminal_is_an_error(stdin):
    stdin(b"text,label\nx,y\n", tty=True)
    expected = "reading from standard input, but it is a terminal: pipe data in or give a file path"
    assert error_of(read_table, "-") == expected
    assert error_of(read_corpus, "-") == expected
    assert error_of(iter_lines, "-") == expected


def test_iter_lines_may_read_a_terminal_when_allowed(stdin):
    stdin(b"typed\n", tty=True)
    assert list(iter_lines("-", allow_tty=True)) == ["typed"]


def test_stdin_is_not_closed(stdin):
    fake = stdin(b"text,label\nx,y\n")
    read_table("-")
    assert not fake.buffer.closed


def test_display_name():
    assert display_name("-") == "<stdin>"
    assert display_name("a/b.csv") == "a/b.csv"


# --- columns -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header, text_col, label_col",
    [
        (b"Review,Sentiment", "Review", "Sentiment"),
        (b"id, CONTENT ,Category", "CONTENT", "Category"),
        (b"message,target,x", "message", "target"),
        (b"sentence,text,class,label", "text", "label"),  # order of preference, not of columns
    ],
)
def test_columns_found_by_common_names(tmp_path, header, text_col, label_col):
    n = header.count(b",") + 1
    row = b",".join(b"v%d" % i for i in range(n))
    table = read_table(write(tmp_path, "d.csv", header + b"\n" + row + b"\n"))
    assert (table.text_col, table.label_col) == (text_col, label_col)


def test_columns_given_by_name_case_insensitive(tmp_path):
    path = write(tmp_path, "d.csv", b"id,Body,Y\n1,hello,pos\n")
    table = read_table(path, text_col="body", label_col="y")
    assert (table.text_col, table.label_col) == ("Body", "Y")
    assert (table.texts, table.labels) == (["hello"], ["pos"])


def test_columns_given_by_index(tmp_path):
    path = write(tmp_path, "d.csv", b"a,b,c\n1,hello,pos\n")
    table = read_table(path, text_col="1", label_col="2")
    assert (table.text_col, table.label_col) == ("b", "c")
    assert (table.texts, table.labels) == (["hello"], ["pos"])


def test_column_not_found_lists_the_columns(tmp_path):
    path = write(tmp_path, "d.csv", b"a,b,c\n1,2,3\n")
    assert error_of(read_table, path, text_col="body", label_col="c") == (
        f"{path}: no column named 'body' (CSV columns: a, b, c)"
    )
    message = error_of(read_table, path)
    assert message.startswith(f"{path}: no text column (CSV columns: a, b, c)")
    assert "--text-col" in message


def test_label_column_not_found(tmp_path):
    message = error_of(read_table, write(tmp_path, "d.csv", b"text,score,x\n1,2,3\n"))
    assert "no label column (CSV columns: text, score, x)" in message and "--label-col" in message


def test_column_index_out_of_range(tmp_path):
    path = write(tmp_path, "d.csv", b"a,b\n1,2\n")
    assert error_of(read_table, path, text_col="0", label_col="2") == (
        f"{path}: --label-col 2 is out of range: columns are numbered from 0 to 1 (CSV columns: a, b)"
    )


def test_ambiguous_column_names(tmp_path):
    path = write(tmp_path, "d.csv", b"text,Text,label\na,b,c\n")
    message = error_of(read_table, path)
    assert "ambiguous: 2 columns are named 'text' (indexes 0, 1)" in message
    assert read_table(path, text_col="1").texts == ["b"]


def test_two_unrecognised_columns_are_not_guessed(tmp_path):
    path = write(tmp_path, "d.csv", b"sent,y\nhello,1\n")
    message = error_of(read_table, path)
    assert "cannot tell which column is the text and which the label (CSV columns: sent, y)" in message
    assert "--text-col" in message and "--label-col" in message


def test_text_and_label_cannot_be_the_same_column(tmp_path):
    path = write(tmp_path, "d.csv", b"text,label\na,b\n")
    assert "same column" in error_of(read_table, path, label_col="text")


def test_without_labels(tmp_path):
    path = write(tmp_path, "d.csv", b"text,label\na,\nb,pos\n")
    table = read_table(path, need_labels=False)
    assert table.texts == ["a", "b"] and table.labels is None and table.label_col is None


def test_without_labels_one_unnamed_column_is_the_text(tmp_path):
    table = read_table(write(tmp_path, "d.csv", b"whatever\nhello\n"), need_labels=False)
    assert table.texts == ["hello"] and table.text_col == "whatever"


# --- encodings and line ends ------------------------------------------------------------------


def test_utf8_bom_is_dropped(tmp_path):
    table = read_table(write(tmp_path, "d.csv", b"\xef\xbb\xbftext,label\ncaf\xc3\xa9,pos\n"))
    assert table.text_col == "text" and table.texts == ["café"]


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_with_bom_is_decoded(tmp_path, codec):
    bom = b"\xff\xfe" if codec.endswith("le") else b"\xfe\xff"
    content = bom + "text,label\r\ncafé — ok,pos\r\n\"a\r\nb\",neg\r\n".encode(codec)
    table = read_table(write(tmp_path, "d.csv", content))
    assert table.texts == ["café — ok", "a\nb"] and table.labels == ["pos", "neg"]
    assert table.line_numbers == [2, 3]


def test_utf16_without_bom_is_binary(tmp_path):
    message = error_of(read_table, write(tmp_path, "d.csv", "text,label\nx,y\n".encode("utf-16-le")))
    assert "looks like a binary file" in message


def test_crlf_is_removed_everywhere(tmp_path):
    content = b'text,label\r\nplain,pos\r\n"two\r\nlines",neg\r\n'
    table = read_table(write(tmp_path, "d.csv", content))
    assert table.texts == ["plain", "two\nlines"] and table.labels == ["pos", "neg"]
    assert table.line_numbers == [2, 3]


@pytest.mark.parametrize("chunk", [1, 2, 3, 5])
def test_tiny_read_chunks_give_the_same_table(tmp_path, monkeypatch, chunk):
    """Chunk boundaries inside the BOM, a multi-byte character and a CRLF change nothing."""
    content = '\ufefftext,label\r\n"ça, \U0001f600\r\nnext",pos\r\nnaïve,neg'.encode()
    path = write(tmp_path, "d.csv", content)
    expected = read_table(path)
    monkeypatch.setattr(decode, "_CHUNK", chunk)
    assert read_table(path) == expected
    assert expected.texts == ["ça, \U0001f600\nnext", "naïve"]
    assert list(iter_lines(path)) == ["text,label", '"ça, \U0001f600', 'next",pos', "naïve,neg"]


# --- bad bytes ---------------------------------------------------------------------------------


def test_invalid_utf8_names_line_and_column(tmp_path):
    path = write(tmp_path, "data.csv", b"text,label\nfine,pos\nbad\xff row,neg\n")
    assert error_of(read_table, path) == (
        f"{path}: line 3: invalid UTF-8 (byte 0xff at column 4); save the file as UTF-8"
    )


def test_invalid_utf8_column_counts_characters(tmp_path):
    path = write(tmp_path, "data.csv", b"text,label\nfine,pos\n\xc3\xa9t\xc3\xa9\xff,neg\n")
    # line 3 is "été" then the bad byte: character 4 of the line (byte 6)
    assert "line 3: invalid UTF-8 (byte 0xff at column 4)" in error_of(read_table, path)


def test_invalid_utf8_after_many_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(decode, "_CHUNK", 7)
    lines = [b"text,label"] + [b'"r%d\nx",y' % i for i in range(300)] + [b"abcdefghijklmnopqrst\xc3(,z"]
    path = write(tmp_path, "data.csv", b"\n".join(lines) + b"\n")
    assert "line 602: invalid UTF-8 (byte 0xc3 at column 21)" in error_of(read_table, path)
    assert "line 602: invalid UTF-8" in error_of(read_corpus, path)
    assert "line 602: invalid UTF-8" in error_of(iter_lines, path)


def test_invalid_utf16_is_reported(tmp_path):
    content = b"\xff\xfe" + "text,label\nx,y\n".encode("utf-16-le") + b"\x00"  # odd byte count
    assert "line 3: invalid UTF-16" in error_of(read_table, write(tmp_path, "d.csv", content))


def test_nul_byte_means_binary(tmp_path):
    path = write(tmp_path, "d.csv", b"text,label\nok,pos\nb\x00d,neg\n")
    message = error_of(read_table, path)
    assert message.startswith(f"{path}: looks like a binary file (NUL byte on line 3)")
    assert "looks like a binary file" in error_of(iter_lines, path)
    assert "looks like a binary file" in error_of(read_corpus, path)


# --- skipped rows ------------------------------------------------------------------------------


def test_bad_rows_are_skipped_with_line_and_reason(tmp_path):
    content = (
        b"text,label\n"
        b"good,pos\n"  # 2
        b",neg\n"  # 3 empty text
        b"   ,neg\n"  # 4 whitespace-only text
        b"no label,\n"  # 5 empty label
        b"blank label,  \n"  # 6 whitespace label
        b"ragged\n"  # 7 one field
        b"a,b,c\n"  # 8 too many fields
        b"\n"  # 9 blank line
        b"also good,neg\n"  # 10
    )
    table = read_table(write(tmp_path, "d.csv", content))
    assert table.texts == ["good", "also good"]
    assert table.line_numbers == [2, 10]
    assert table.skipped == [
        (3, "empty text"),
        (4, "empty text"),
        (5, "missing label"),
        (6, "missing label"),
        (7, "1 field, expected 2"),
        (8, "3 fields, expected 2"),
        (9, "blank line"),
    ]
    assert table.skipped_summary() == (
        "skipped 7 of 9 rows (empty text: lines 3, 4; missing label: lines 5, 6; "
        "1 field, expected 2: line 7; 3 fields, expected 2: line 8; blank line: line 9)"
    )


def test_rows_with_too_many_fields_are_not_merged(tmp_path):
    table = read_table(write(tmp_path, "d.csv", b"text,label\nhello, world,pos\nok,neg\n"))
    assert table.texts == ["ok"] and table.skipped == [(2, "3 fields, expected 2")]


def test_summary_shortens_long_lists(tmp_path):
    rows = b"".join(b",x\n" for _ in range(8))
    table = read_table(write(tmp_path, "d.csv", b"text,label\nok,y\n" + rows))
    assert table.skipped_summary() == "skipped 8 of 9 rows (empty text: lines 3, 4, 5, 6, 7 and 3 more)"
    assert table.skipped_summary(first=2) == "skipped 8 of 9 rows (empty text: lines 3, 4 and 6 more)"


def test_no_usable_rows(tmp_path):
    path = write(tmp_path, "d.csv", b"text,label\n,pos\nx,\n")
    assert error_of(read_table, path) == (
        f"{path}: no usable rows (skipped 2 of 2 rows (empty text: line 2; missing label: line 3))"
    )


def test_empty_file_and_header_only(tmp_path):
    for content in (b"", b"\xef\xbb\xbf"):
        path = write(tmp_path, "empty.csv", content)
        assert error_of(read_table, path) == f"{path}: empty file"
    path = write(tmp_path, "head.csv", b"text,label\n")
    assert error_of(read_table, path) == f"{path}: no data rows (only a header)"
    path = write(tmp_path, "blank.csv", b"\ntext,label\nx,y\n")
    assert "line 1 is blank" in error_of(read_table, path)


# --- malformed CSV -----------------------------------------------------------------------------


def test_unterminated_quote_names_the_line_where_it_opened(tmp_path):
    content = b'text,label\nok,pos\n"never closed,neg\nmore,pos\nrest,neg\n'
    path = write(tmp_path, "d.csv", content)
    assert error_of(read_table, path) == (
        f"{path}: line 3: a quoted field starts here and its closing quote is missing"
    )


def test_unterminated_quote_in_a_later_field_of_a_multiline_row(tmp_path):
    content = b'text,label\nok,pos\n"two\nlines","open\nmore\n'  # row starts on 3, quote opens on 4
    message = error_of(read_table, write(tmp_path, "d.csv", content))
    assert "line 4: a quoted field starts here" in message


def test_text_after_closing_quote_is_an_error(tmp_path):
    path = write(tmp_path, "d.csv", b'text,label\nok,pos\n"a" b,neg\n')
    assert error_of(read_table, path).startswith(f"{path}: line 3: malformed CSV")


@pytest.fixture
def default_field_limit():
    old = csv.field_size_limit(131072)
    yield
    csv.field_size_limit(old)


def test_field_larger_than_csv_default_limit(tmp_path, default_field_limit):
    big = "word, " * 100_000  # 600 kB, well over csv's 128 kB default
    table = read_table(write(tmp_path, "d.csv", f'text,label\n"{big}",pos\nb,neg\n'.encode()))
    assert table.texts == [big, "b"] and table.line_numbers == [2, 3]


# --- opening files ----------------------------------------------------------------------------


def test_missing_file(tmp_path):
    path = str(tmp_path / "nope.csv")
    for reader in (read_table, read_corpus, iter_lines):
        assert error_of(reader, path) == f"{path}: no such file"


def test_iter_lines_fails_before_iteration_on_a_missing_file(tmp_path):
    with pytest.raises(SeqcliError):
        iter_lines(str(tmp_path / "nope.txt"))  # not even one next()


def test_directory(tmp_path):
    assert error_of(read_table, str(tmp_path)) == f"{tmp_path}: is a directory"


def test_permission_denied(tmp_path, monkeypatch):
    path = write(tmp_path, "d.csv", b"text,label\nx,y\n")

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(decode, "open", denied, raising=False)  # works even when tests run as root
    assert error_of(read_table, path) == f"{path}: permission denied (cannot read the file)"


# --- iter_lines and read_corpus ---------------------------------------------------------------


def test_iter_lines(tmp_path):
    path = write(tmp_path, "in.txt", "\ufefffirst\r\n\nthird\u2028\nlast".encode())
    assert list(iter_lines(path)) == ["first", "", "third\u2028", "last"]
    path = write(tmp_path, "nl.txt", b"one\ntwo\n")
    assert list(iter_lines(path)) == ["one", "two"]  # no extra "" after the final newline
    assert list(iter_lines(write(tmp_path, "e.txt", b""))) == []


def test_iter_lines_from_stdin(stdin):
    stdin("a\r\nb\u0085c\n".encode())
    assert list(iter_lines("-")) == ["a", "b\u0085c"]


def test_iter_lines_streams(stdin):
    """The first line is yielded as soon as it arrives, before the rest is read."""

    class Pipe:
        def __init__(self):
            self.reads = 0

        def read1(self, size):
            self.reads += 1
            if self.reads == 1:
                return b"first\nsec"
            raise AssertionError("read more than needed for the first line")

    fake = stdin()
    fake.buffer = Pipe()
    lines = iter_lines("-")
    assert next(lines) == "first"
    assert fake.buffer.reads == 1


def test_read_corpus(tmp_path, stdin):
    path = write(tmp_path, "c.txt", b"\xef\xbb\xbfTo be,\r\nor not\r\n\rto be\n")
    assert read_corpus(path) == "To be,\nor not\n\rto be\n"
    stdin(b"abc\r\n")
    assert read_corpus("-") == "abc\n"
    assert read_corpus(write(tmp_path, "u.txt", b"\xff\xfe" + "hé\r\n".encode("utf-16-le"))) == "hé\n"
    empty = write(tmp_path, "e.txt", b"")
    assert error_of(read_corpus, empty) == f"{empty}: empty file"


# --- real data, size, imports -----------------------------------------------------------------


@pytest.mark.skipif(not RT_POLARITY.exists(), reason="shared data set not present")
def test_rt_polarity():
    table = read_table(str(RT_POLARITY))
    assert len(table.texts) == 10_662
    assert table.labels.count("pos") == 5_331 and set(table.labels) == {"pos", "neg"}
    assert table.skipped == [] and table.skipped_summary() is None
    assert table.line_numbers == list(range(2, 10_664))
    # line 266 is: """ i blame all men for war , "" [the warden's daughter] tells ... .",neg
    assert table.line_numbers[264] == 266
    assert table.texts[264].startswith('" i blame all men for war , " [the warden\'s daughter]')
    assert table.labels[264] == "neg"


def test_many_rows_fast_and_small(tmp_path):
    n = 200_000
    rows = b"".join(b"row %d is short,%s\n" % (i, b"pos" if i % 2 else b"neg") for i in range(n))
    path = write(tmp_path, "big.csv", b"text,label\n" + rows)
    size = os.path.getsize(path)
    start = time.perf_counter()
    table = read_table(path)
    elapsed = time.perf_counter() - start
    assert len(table.texts) == n and table.line_numbers[-1] == n + 1
    assert elapsed < 5, elapsed
    del table
    tracemalloc.start()
    try:
        read_table(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # The result itself (texts, labels, line numbers) is about 5x the file here; a reader that also
    # held the whole file, its decoded text or a list of all its lines would need much more.
    assert peak < 6 * size, (peak, size)


def test_import_is_light():
    code = "import sys, seqcli.data; print(sorted({'numpy', 'pandas', 'sklearn'} & set(sys.modules)))"
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": src}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == "[]"
