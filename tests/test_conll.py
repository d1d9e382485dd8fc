"""Tests for seqcli.data.conll and conllblocks: every reader's edge cases, format guessing, streaming, writing back."""

import io
import os
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqcli.data.conll import guess_format, read_blocks, read_tagged
from seqcli.data.conllblocks import BlockReader, _conll_fields, _conll_spans, format_block, iter_blocks
from seqcli.errors import SeqcliError

# One CoNLL-U document with everything that is not a word: comments, a multiword token (2-3),
# an empty node (4.1), and a second sentence. Lines 1-9, blank line 10, lines 11-12, blank 13.
CONLLU = (
    "# sent_id = 1\n"
    "# text = I don't know.\n"
    "1\tI\tI\tPRON\tPRP\tCase=Nom\t4\tnsubj\t_\t_\n"
    "2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n"
    "2\tdo\tdo\tAUX\tVBP\t_\t4\taux\t_\t_\n"
    "3\tn't\tnot\tPART\tRB\t_\t4\tadvmod\t_\t_\n"
    "4\tknow\tknow\tVERB\tVB\t_\t0\troot\t_\tSpaceAfter=No\n"
    "4.1\tknows\tknow\tVERB\tVBZ\t_\t_\t_\t4:conj\t_\n"
    "5\t.\t.\tPUNCT\t.\t_\t4\tpunct\t_\t_\n"
    "\n"
    "# sent_id = 2\n"
    "1\tYes\tyes\tINTJ\tUH\t_\t0\troot\t_\t_\n"
    "\n"
)
TOKENS = [["I", "do", "n't", "know", "."], ["Yes"]]
UPOS = [["PRON", "AUX", "PART", "VERB", "PUNCT"], ["INTJ"]]
XPOS = [["PRP", "VBP", "RB", "VB", "."], ["UH"]]

CONLL03 = (
    "-DOCSTART- -X- -X- O\n"
    "\n"
    "EU NNP B-NP B-ORG\n"
    "rejects VBZ B-VP O\n"
    "German JJ B-NP B-MISC\n"
    "\n"
    "Peter NNP B-NP B-PER\n"
    "Blackburn NNP I-NP I-PER\n"
)


def write(tmp_path: Path, name: str, content: str | bytes) -> str:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return str(path)


def error_of(call, *args, **kwargs) -> str:
    with pytest.raises(SeqcliError) as info:
        result = call(*args, **kwargs)
        if hasattr(result, "__next__"):
            list(result)
    assert "\n" not in info.value.message
    return info.value.message


class FakeStdin:
    def __init__(self, content: bytes):
        self.buffer = io.BytesIO(content)

    def isatty(self) -> bool:
        return False


@pytest.fixture
def stdin(monkeypatch):
    def set_stdin(content: str | bytes) -> FakeStdin:
        fake = FakeStdin(content.encode("utf-8") if isinstance(content, str) else content)
        monkeypatch.setattr(sys, "stdin", fake)
        return fake

    return set_stdin


# --- CoNLL-U -----------------------------------------------------------------------------------


def test_conllu_words_are_integer_ids_only(tmp_path):
    result = read_tagged(write(tmp_path, "d.conllu", CONLLU))
    assert result.sentences == TOKENS
    assert result.tags == UPOS
    assert result.line_numbers == [1, 11]
    assert (result.format, result.tag_col, result.skipped) == ("conllu", "UPOS", [])
    assert result.skipped_summary() is None
    assert result.n_tokens == 6


@pytest.mark.parametrize("tag_col, name", [("xpos", "XPOS"), ("XPOS", "XPOS"), (5, "XPOS"),
                                           ("5", "XPOS"), ("upos", "UPOS"), ("deprel", "DEPREL")])
def test_conllu_tag_column(tmp_path, tag_col, name):
    result = read_tagged(write(tmp_path, "d.conllu", CONLLU), tag_col=tag_col)
    assert result.tag_col == name
    if name == "XPOS":
        assert result.tags == XPOS
    elif name == "DEPREL":
        assert result.tags == [["nsubj", "aux", "advmod", "root", "punct"], ["root"]]


@pytest.mark.parametrize("tag_col, message", [
    ("form", "the tag column cannot be FORM"),
    (1, "the tag column cannot be ID"),
    (11, "tag column 11 is out of range: CoNLL-U has columns 1 to 10"),
    ("feat", "no CoNLL-U column 'feat'"),
])
def test_conllu_bad_tag_column(tmp_path, tag_col, message):
    assert message in error_of(read_tagged, write(tmp_path, "d.conllu", CONLLU), tag_col=tag_col)


def test_crlf_bom_and_utf16_read_the_same(tmp_path):
    crlf = CONLLU.replace("\n", "\r\n")
    for name, content in [("crlf.conllu", crlf.encode()),
                          ("bom.conllu", b"\xef\xbb\xbf" + CONLLU.encode()),
                          ("bomcrlf.conllu", b"\xef\xbb\xbf" + crlf.encode()),
                          ("utf16.conllu", CONLLU.encode("utf-16"))]:
        result = read_tagged(write(tmp_path, name, content))
        assert (result.sentences, result.tags, result.line_numbers) == (TOKENS, UPOS, [1, 11])


def test_last_sentence_needs_no_final_blank_line(tmp_path):
    for text in (CONLLU.rstrip("\n"), CONLLU.rstrip("\n") + "\n"):
        assert read_tagged(write(tmp_path, "d.conllu", text)).sentences == TOKENS
    result = read_tagged(write(tmp_path, "d.txt", CONLL03.rstrip("\n")))
    assert result.sentences[-1] == ["Peter", "Blackburn"]


def test_extra_and_whitespace_only_blank_lines_end_sentences(tmp_path):
    text = "\n\n" + CONLLU.replace("\n\n", "\n \t\n\n\n") + "\n\n"
    result = read_tagged(write(tmp_path, "d.conllu", text))
    assert result.sentences == TOKENS and result.skipped == []
    assert result.line_numbers == [3, 15]


def test_conllu_bad_sentences_are_counted_skips(tmp_path):
    good = "1\tok\tok\tADJ\tJJ\t_\t0\troot\t_\t_\n"
    text = (
        good + "\n"                                                   # 1: kept
        + good + "2\tshort\tline\n" + good + "\n"                    # 3: line 4, 3 columns
        + "x\tbad\tid\tX\tX\t_\t0\troot\t_\t_\n\n"                    # 7: line 7, ID
        + "# c\n" + good + "2\tnone\t_\t_\t_\t_\t1\tdep\t_\t_\n\n"    # 9: line 11, empty tag
        + "1\t\t_\tX\t_\t_\t0\troot\t_\t_\n\n"                        # 13: line 13, empty FORM
        + good                                                        # 15: kept, no final blank
    )
    result = read_tagged(write(tmp_path, "d.conllu", text))
    assert result.sentences == [["ok"], ["ok"]]
    assert result.line_numbers == [1, 15]
    assert result.skipped == [(4, "3 columns, expected 10"),
                              (7, "ID is not a number, a range or a decimal"),
                              (11, "empty tag"), (13, "empty token")]
    assert result.skipped_summary() == (
        "skipped 4 of 6 sentences (3 columns, expected 10: line 4; "
        "ID is not a number, a range or a decimal: line 7; empty tag: line 11; "
        "empty token: line 13)")


def test_skipped_summary_shortens_long_lists(tmp_path):
    text = "".join("1\ta\t_\t_\t_\t_\t0\troot\t_\t_\n\n" for _ in range(7))
    text += "1\tb\tb\tX\t_\t_\t0\troot\t_\t_\n"
    result = read_tagged(write(tmp_path, "d.conllu", text))
    assert result.skipped_summary() == (
        "skipped 7 of 8 sentences (empty tag: lines 1, 3, 5, 7, 9 and 2 more)")


def test_no_usable_sentence_is_one_error(tmp_path):
    path = write(tmp_path, "d.conllu", "1\ta\t_\t_\t_\t_\t0\troot\t_\t_\n")
    assert error_of(read_tagged, path) == (
        f"{path}: no usable sentences (skipped 1 of 1 sentence (empty tag: line 1))")
    # CoNLL columns read as CoNLL-U: every sentence is skipped, and the message says why.
    path = write(tmp_path, "e.conllu", CONLL03)
    assert "1 column, expected 10: lines 1, 3, 7" in error_of(read_tagged, path)


def test_empty_files(tmp_path):
    path = write(tmp_path, "d.conllu", b"")
    assert error_of(read_tagged, path) == f"{path}: empty file"
    path = write(tmp_path, "e.conllu", "\n# only a comment\n\n")
    assert error_of(read_tagged, path) == (
        f"{path}: no sentences (only blank lines, comments or -DOCSTART-)")
    path = write(tmp_path, "f.txt", "-DOCSTART- -X- -X- O\n\n")
    assert error_of(read_tagged, path).endswith("no sentences (only blank lines, comments or "
                                                "-DOCSTART-)")


def test_invalid_utf8_names_line_and_column(tmp_path):
    content = CONLLU.encode().replace(b"know\tknow", b"kn\xffw\tknow")
    path = write(tmp_path, "d.conllu", content)
    assert error_of(read_tagged, path) == (
        f"{path}: line 7: invalid UTF-8 (byte 0xff at column 5); save the file as UTF-8")


def test_binary_and_missing_files_are_one_line_errors(tmp_path):
    path = write(tmp_path, "d.conllu", b"1\tx\x00\n")
    assert "looks like a binary file (NUL byte on line 1)" in error_of(read_tagged, path)
    assert error_of(read_tagged, str(tmp_path / "nope.conllu")).endswith("no such file")
    assert error_of(read_tagged, str(tmp_path)).endswith("is a directory")


def test_stdin_conllu(stdin):
    fake = stdin(CONLLU)
    result = read_tagged("-")
    assert (result.sentences, result.format, result.source) == (TOKENS, "conllu", "<stdin>")
    assert not fake.buffer.closed


# --- CoNLL columns -----------------------------------------------------------------------------


def test_conll2003_columns(tmp_path):
    result = read_tagged(write(tmp_path, "train.txt", CONLL03))
    assert result.format == "conll" and result.tag_col == "last column"
    assert result.sentences == [["EU", "rejects", "German"], ["Peter", "Blackburn"]]
    assert result.tags == [["B-ORG", "O", "B-MISC"], ["B-PER", "I-PER"]]
    assert result.line_numbers == [3, 7]  # -DOCSTART- is neither a sentence nor a skip
    assert result.skipped == []
    pos = read_tagged(write(tmp_path, "train.txt", CONLL03), tag_col=2)
    assert pos.tags == [["NNP", "VBZ", "JJ"], ["NNP", "NNP"]] and pos.tag_col == "column 2"


def test_conll_tabs_keep_spaces_inside_tokens(tmp_path):
    text = "New York\tB-LOC\n  is \tO \n\nrain\tO \n"
    result = read_tagged(write(tmp_path, "d.tsv", text))
    assert result.sentences == [["New York", "is"], ["rain"]]
    assert result.tags == [["B-LOC", "O"], ["O"]]


def test_conll_too_few_columns_and_empty_tag(tmp_path):
    text = "a O\nb\nc O\n\nd O\n\ne\t\tO\n\nf\tNN\t\n\ng O\n"
    result = read_tagged(write(tmp_path, "d.txt", text))
    assert result.sentences == [["d"], ["e"], ["g"]]
    # a tab ends a column even at the end of the line: "f\tNN\t" has an empty last column
    assert result.skipped == [(2, "1 column, expected at least 2"), (9, "empty tag")]
    by_col = read_tagged(write(tmp_path, "d.txt", "a B C\n\nd E\n\ne\tF\t\tG\n"), tag_col=3)
    assert by_col.sentences == [["a"]] and by_col.tags == [["C"]]
    assert by_col.skipped == [(3, "2 columns, expected at least 3"), (5, "empty tag")]


def test_conll_comments_and_hash_tokens(tmp_path):
    text = ("# id 7 domain=en\n# text = #blessed O\n#blessed O\n# O\n\n"
            "# O\nyes O\n")
    result = read_tagged(write(tmp_path, "d.txt", text))
    # comments: "# " + "=" before the first word; "#blessed" and "# O" are tokens
    assert result.sentences == [["#blessed", "#"], ["#", "yes"]]
    assert result.tags == [["O", "O"], ["O", "O"]]
    assert result.line_numbers == [1, 6]


@pytest.mark.parametrize("tag_col, message", [
    ("pos", "CoNLL columns have no names"),
    (1, "the tag column cannot be column 1, the token"),
])
def test_conll_bad_tag_column(tmp_path, tag_col, message):
    assert message in error_of(read_tagged, write(tmp_path, "d.txt", CONLL03), tag_col=tag_col)


def test_tokens_column_is_for_csv_only(tmp_path):
    message = error_of(read_tagged, write(tmp_path, "d.txt", CONLL03), tokens_col="words")
    assert "the tokens column can only be chosen in a CSV/TSV file" in message


def test_stdin_conll(stdin):
    stdin(CONLL03.replace("\n", "\r\n"))
    result = read_tagged("-")
    assert result.format == "conll" and result.sentences[1] == ["Peter", "Blackburn"]


# --- CSV / TSV ---------------------------------------------------------------------------------


def test_csv_tokens_and_tags(tmp_path):
    text = ('id,Words,Tags\n1,the cat sat,DET NOUN VERB\n'
            '2,"a  ""big""\ndog",DET ADJ NOUN\n3,one two,NUM\n4,,\n5,x,X\n')
    result = read_tagged(write(tmp_path, "d.csv", text))
    assert result.format == "csv" and result.tag_col == "Tags"
    assert result.sentences == [["the", "cat", "sat"], ["a", '"big"', "dog"], ["x"]]
    assert result.tags == [["DET", "NOUN", "VERB"], ["DET", "ADJ", "NOUN"], ["X"]]
    assert result.line_numbers == [2, 3, 7]  # the quoted field spans lines 3-4
    assert result.skipped == [(5, "token and tag counts differ"), (6, "no tokens")]


def test_tsv_found_by_content(tmp_path):
    path = write(tmp_path, "d.txt", "sentence\tner\nJohn ran\tB-PER O\nok\t\n")
    result = read_tagged(path)
    assert result.format == "csv" and result.tag_col == "ner"
    assert result.sentences == [["John", "ran"]] and result.skipped == [(3, "no tags")]


def test_csv_columns_given(tmp_path):
    path = write(tmp_path, "d.csv", "a,b,c\nx y,P Q,1\n")
    result = read_tagged(path, tokens_col="a", tag_col="1")
    assert (result.sentences, result.tags) == ([["x", "y"]], [["P", "Q"]])


def test_csv_column_errors(tmp_path):
    path = write(tmp_path, "d.csv", "tokens,pos_tags,ner_tags\na,B,C\n")
    assert "2 tag columns (pos_tags, ner_tags); choose one with --tag-col" in error_of(
        read_tagged, path)
    assert read_tagged(path, tag_col="ner_tags").tags == [["C"]]
    path = write(tmp_path, "e.csv", "tokens,ner_tags\na,C\n")
    assert read_tagged(path).tags == [["C"]]  # one tag column named after its tag set
    path = write(tmp_path, "f.csv", "tokens,score\na,1\n")
    assert error_of(read_tagged, path).startswith(
        f"{path}: no tags column (CSV columns: tokens, score)")
    path = write(tmp_path, "g.csv", "x,tags\na,1\n")
    assert "no tokens column" in error_of(read_tagged, path)


def test_csv_with_no_usable_row(tmp_path):
    path = write(tmp_path, "d.csv", "tokens,tags\na b,X\n")
    assert error_of(read_tagged, path) == (f"{path}: no usable sentences (skipped 1 of 1 "
                                           "sentence (token and tag counts differ: line 2))")


def test_stdin_csv(stdin):
    stdin(b"\xef\xbb\xbftokens,tags\r\nthe cat,DET NOUN\r\n\"a,b\",X\r\n")
    result = read_tagged("-")
    assert result.format == "csv" and result.source == "<stdin>"
    assert result.sentences == [["the", "cat"], ["a,b"]]
    assert result.tags == [["DET", "NOUN"], ["X"]]


def test_csv_from_a_named_pipe_is_read_once(tmp_path):
    fifo = str(tmp_path / "in.csv")
    os.mkfifo(fifo)
    rows = "".join(f"w{i} x,A B\n" for i in range(5000))  # more than one read's worth

    def produce():
        with open(fifo, "w", encoding="utf-8") as out:
            out.write("tokens,tags\n" + rows)

    writer = threading.Thread(target=produce, daemon=True)
    writer.start()
    result = read_tagged(fifo)
    writer.join(timeout=10)
    assert len(result.sentences) == 5000 and result.sentences[-1] == ["w4999", "x"]
    assert result.line_numbers[-1] == 5001


# --- formats -----------------------------------------------------------------------------------


@pytest.mark.parametrize("source, head, fmt", [
    ("a.conllu", ["anything"], "conllu"),
    ("a.csv", ["x y"], "csv"),
    ("a.txt", ["# sent_id = 1", "1\tI\tI\tPRON\tPRP\t_\t0\troot\t_\t_"], "conllu"),
    ("-", ["", "1-2\tdon't\t_\t_\t_\t_\t_\t_\t_\t_"], "conllu"),
    ("a.tsv", ["Tokens\tLabels"], "csv"),
    ("a.tsv", ["EU\tB-ORG"], "conll"),
    ("a.txt", ["words,tags"], "csv"),
    ("a.txt", ["Tokens,pos_tags,ner_tags"], "csv"),
    ("a.txt", ["tokens,score"], "conll"),
    ("a.txt", ["EU NNP B-NP B-ORG"], "conll"),
    ("a.txt", ["1\tI\tI"], "conll"),
])
def test_guess_format(source, head, fmt):
    assert guess_format(source, head) == fmt


def test_guess_format_for_prediction():
    assert guess_format("in.txt", ["The cat sat ."], plain_text=True) == "text"
    assert guess_format("in.conll", ["The cat"], plain_text=True) == "conll"
    assert guess_format("-", ["1\tI\tI\tPRON\tPRP\t_\t0\troot\t_\t_"], plain_text=True) == "conllu"
    assert guess_format("in.csv", ["tokens,tags"], plain_text=True) == "text"


def test_format_given_overrides_the_guess(tmp_path):
    path = write(tmp_path, "d.conllu", CONLL03)
    assert read_tagged(path, fmt="conll").sentences[0] == ["EU", "rejects", "German"]
    path = write(tmp_path, "d.dat", "w,t\na,B\n")
    assert read_tagged(path, fmt="TSV", tokens_col="w", tag_col="t").tags == [["B"]]
    assert error_of(read_tagged, path, fmt="json") == (
        "unknown format 'json': use conllu, conll or csv")


# --- streaming and writing back ----------------------------------------------------------------


def _fill(blocks, make_tag):
    return "".join(format_block(b, [make_tag(t) for t in b.tags] if b.tokens else None)
                   for b in blocks)


def test_conllu_round_trip(tmp_path):
    # extra blank lines and a -DOCSTART-free document; the file ends with a blank line
    source = CONLLU + "\n" + CONLLU
    path = write(tmp_path, "in.conllu", source)
    written = _fill(read_blocks(path), lambda tag: tag.lower())
    again = read_tagged(write(tmp_path, "out.conllu", written))
    assert again.sentences == TOKENS * 2
    assert again.tags == [[t.lower() for t in s] for s in UPOS] * 2
    in_lines, out_lines = source.split("\n"), written.split("\n")
    assert len(in_lines) == len(out_lines)
    changed = 0
    for before, after in zip(in_lines, out_lines):
        a, b = before.split("\t"), after.split("\t")
        if len(a) == 10 and a[0].isdigit():  # a word: only UPOS may differ
            assert a[:3] + a[4:] == b[:3] + b[4:] and b[3] == a[3].lower()
            changed += 1
        else:
            assert before == after  # comments, 2-3, 4.1, blank lines: byte for byte
    assert changed == 12
    assert _fill(read_blocks(path), lambda tag: tag) == source  # same tags: the same bytes


def test_round_trip_xpos_crlf_and_no_final_blank_line(tmp_path):
    path = write(tmp_path, "in.conllu", CONLLU.rstrip("\n").replace("\n", "\r\n"))
    blocks = list(read_blocks(path, tag_col="xpos"))
    assert [b.end for b in blocks] == ["", None]
    written = _fill(blocks, lambda tag: "X" + tag)
    assert written == CONLLU.replace("\tPRP\t", "\tXPRP\t").replace("\tVBP\t", "\tXVBP\t") \
        .replace("\tRB\t", "\tXRB\t").replace("\tVB\t", "\tXVB\t").replace("\t.\t_", "\tX.\t_") \
        .replace("\tUH\t", "\tXUH\t").rstrip("\n") + "\n"  # LF line ends; the last line ends


def test_conll_round_trip_replace_and_append(tmp_path):
    path = write(tmp_path, "in.conll", CONLL03)
    blocks = list(read_blocks(path))
    assert [len(b.tokens) for b in blocks] == [0, 3, 2]  # the -DOCSTART- block is kept
    replaced = _fill(blocks, lambda tag: "P")
    assert replaced.split("\n")[:4] == ["-DOCSTART- -X- -X- O", "", "EU NNP B-NP P",
                                        "rejects VBZ B-VP P"]
    assert read_tagged(write(tmp_path, "r.txt", replaced)).tags == [["P"] * 3, ["P"] * 2]
    appended = "".join(format_block(b, ["P"] * len(b.tokens) if b.tokens else None, append=True)
                       for b in blocks)
    assert appended.split("\n")[2] == "EU NNP B-NP B-ORG P"  # conlleval: token ... gold predicted
    again = read_tagged(write(tmp_path, "a.txt", appended), tag_col=4)
    assert again.tags == [["B-ORG", "O", "B-MISC"], ["B-PER", "I-PER"]]


def test_conll_tokens_only_get_a_tag_column(tmp_path):
    path = write(tmp_path, "in.conll", "John\tx\nran\n\nhi\n")
    blocks = list(read_blocks(path))
    assert [b.tokens for b in blocks] == [["John", "ran"], ["hi"]]
    assert [b.tags for b in blocks] == [["x", None], [None]]
    assert _fill(blocks, lambda tag: "T") == "John\tT\nran T\n\nhi T\n"


def test_conll_tab_columns_keep_their_spacing(tmp_path):
    line = "New York \t NNP\tB-LOC  "
    block = next(iter_blocks([line], "conll"))
    assert block.tokens == ["New York"] and block.tags == ["B-LOC"]
    assert format_block(block, ["I-LOC"]) == "New York \t NNP\tI-LOC  \n"
    block = next(iter_blocks([line], "conll", tag_col=2))
    assert format_block(block, ["NN"]) == "New York \t NN\tB-LOC  \n"


def test_blocks_are_handed_on_at_their_blank_line():
    reader = BlockReader("conllu", name="<stdin>", need_tags=False)
    lines = CONLLU.split("\n")
    got = [reader.feed(line) for line in lines[:-1]]  # [-1] is what split leaves after the last LF
    complete = [i for i, block in enumerate(got) if block is not None]
    assert complete == [9, 12]  # the two blank lines, not later
    assert got[9].tokens == TOKENS[0] and got[12].tokens == TOKENS[1]
    assert reader.finish() is None

    def pipe():  # a producer that must not be read past the sentence's blank line
        yield from lines[:10]
        raise AssertionError("read past the blank line")

    assert next(iter_blocks(pipe(), "conllu")).tokens == TOKENS[0]


def test_prediction_blocks_with_a_problem_are_written_back_unchanged(tmp_path):
    text = "1\ta\t_\t_\t_\t_\t0\troot\t_\t_\n\n1\tb\tb\n\n"
    blocks = list(read_blocks(write(tmp_path, "in.conllu", text)))
    assert blocks[0].problem is None and blocks[0].tags == [None]  # no tag is fine here
    assert blocks[1].problem == (3, "3 columns, expected 10") and blocks[1].tokens == []
    assert format_block(blocks[1], None) == "1\tb\tb\n\n"
    with pytest.raises(ValueError, match="1 tags for a sentence of 0 tokens"):
        format_block(blocks[1], ["X"])
    for bad in ("", "A B", "_"):
        with pytest.raises(ValueError, match="cannot be written"):
            format_block(blocks[0], [bad])
    with pytest.raises(ValueError, match="never append"):
        format_block(blocks[0], ["X"], append=True)


def test_read_blocks_guesses_and_reads_stdin(stdin, tmp_path):
    stdin(CONLLU)
    assert [b.tokens for b in read_blocks("-") if b.tokens] == TOKENS
    path = write(tmp_path, "in.txt", "The cat sat .\n")
    assert "not CoNLL-U" in error_of(read_blocks, path)
    assert [b.tokens for b in read_blocks(path, fmt="conll")] == [["The"]]
    assert "not CSV" in error_of(read_blocks, path, fmt="csv")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab \t", min_size=1, max_size=12).filter(lambda s: s.strip(" \t")))
def test_writer_finds_the_columns_the_reader_reads(line):
    fields = _conll_fields(line)
    assert [line[a:b] for a, b in _conll_spans(line)] == fields
    block = next(iter_blocks([line], "conll"))
    if block.tokens and len(fields) >= 2:  # a re-read of the written line gives the new tag
        again = next(iter_blocks([format_block(block, ["T"]).rstrip("\n")], "conll"))
        assert again.tokens == block.tokens and again.tags == ["T"]
