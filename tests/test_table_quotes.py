"""A quoted field with an embedded newline is one field in a TSV as in a CSV (issue 16, item 14), as
Python's csv module reads it; line numbers name the line where a record starts; a TSV whose quotes
are not csv's is read literally as before; reading stays streaming."""

import csv
import io
import json
import os
import tracemalloc

import pytest
from conftest import run_seqcli

from seqcli.data import read_table

ROWS = [("first line\nsecond line", "pos"), ('she said "hi"\tand left', "neg"), ("plain", "pos"),
        ("a\n\nthree lines", "neg")]


def _written(rows, delimiter):
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    writer.writerow(("text", "label"))
    writer.writerows(rows)
    return buf.getvalue()


@pytest.mark.parametrize("name,delimiter", [("d.tsv", "\t"), ("d.csv", ","), ("d.txt", "\t")])
def test_quoted_fields_with_newlines_are_one_field(tmp_path, name, delimiter):
    path = tmp_path / name
    path.write_text(_written(ROWS, delimiter), encoding="utf-8")
    table = read_table(str(path))
    assert list(zip(table.texts, table.labels)) == ROWS
    assert table.line_numbers == [2, 4, 5, 6]   # the line where each record starts


def test_tsv_line_numbers_after_multiline_records_and_skipped_rows(tmp_path):
    content = 'text\tlabel\n"one\ntwo"\tpos\nbad row\n"x\ny"\t\nok\tneg\n"q\t""r"""\tpos\n'
    path = tmp_path / "d.tsv"
    path.write_text(content, encoding="utf-8")
    table = read_table(str(path))
    assert table.texts == ["one\ntwo", "ok", 'q\t"r"']
    assert table.line_numbers == [2, 7, 8]
    assert table.skipped == [(4, "1 field, expected 2"), (5, "missing label")]


def test_tsv_quotes_that_are_not_csv_quoting_stay_literal(tmp_path):
    """Quotes inside a field, text after a closing quote, a quote never closed: as before, literal."""
    content = ('text\tlabel\n"quoted" start\tpos\nsay "hi\tneg\n"never closed\tpos\nnext\tneg\n'
               '"ok\nfine"\tpos\n')
    path = tmp_path / "d.tsv"
    path.write_text(content, encoding="utf-8")
    table = read_table(str(path))
    assert table.texts == ['"quoted" start', 'say "hi', '"never closed', "next", "ok\nfine"]
    assert table.labels == ["pos", "neg", "pos", "neg", "pos"]
    assert table.line_numbers == [2, 3, 4, 5, 6]


def test_tsv_with_multiline_fields_is_read_as_a_stream(tmp_path):
    n = 50_000
    path = tmp_path / "big.tsv"
    with open(path, "w", encoding="utf-8") as f:
        f.write("text\tlabel\n")
        for i in range(n):
            f.write(f'"row {i}\nsecond"\t{"pos" if i % 2 else "neg"}\n')
    size = os.path.getsize(path)
    tracemalloc.start()
    try:
        table = read_table(str(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(table.texts) == n and table.line_numbers[-1] == 2 * n
    assert peak < 6 * size, (peak, size)   # the result is about 5x the file: nothing more is held


@pytest.mark.parametrize("name,delimiter", [("d.tsv", "\t"), ("d.csv", ",")])
def test_train_and_vectorize_read_multiline_fields(tmp_path, name, delimiter):
    rows = [(f"good\nfine {i}", "pos") if i % 2 else (f"bad\tdull {i}", "neg") for i in range(10)]
    path = tmp_path / name
    path.write_text(_written(rows, delimiter), encoding="utf-8")
    rc, out, err = run_seqcli(["train", path, "--model", "bow", "--epochs", "2", "--val-split", "0",
                               "-o", tmp_path / "m.npz", "--json"])
    assert rc == 0, err
    summary = json.loads(out)
    assert summary["n_train"] == 10 and summary["skipped_rows"] == 0 and "skipped" not in err
    rc, out, err = run_seqcli(["vectorize", path, "--text-col", "text"])
    assert rc == 0, err
    assert len(out.splitlines()) == 10
