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

from seqcli.data.decode import (
           STDIN,
           decoded_pieces,
           display_name,
           iter_lines,
           line_lists,
           read_corpus,
           split_lines,
)
from seqcli.data.tables import LABEL_NAMES, TEXT_NAMES, Table, read_table

__all__ = ["STDIN", "decoded_pieces", "display_name", "iter_lines", "line_lists", "read_corpus", "split_lines",
           "LABEL_NAMES", "TEXT_NAMES", "Table", "read_table"]
