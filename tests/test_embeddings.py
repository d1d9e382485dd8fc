"""Tests for seqcli.data.embeddings: every vector-file format (plain and compressed), the lookup rules,
the coverage report, every user error with its line, and bounded memory on a large file."""

import bz2
import gzip
import lzma
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqcli.data import vecfile
from seqcli.data.embeddings import (FORMAT_BINARY, FORMAT_TEXT, FORMAT_TEXT_HEADER, apply_vectors,
                               load_vectors)
from seqcli.errors import SeqcliError
from seqcli.text import Vocab

DIM = 5
WORDS = ["the", "of", "Paris", "cat", "naïve", "dog", "<unk>", "zebra"]
VOCAB = ["<pad>", "<unk>", "the", "cat", "naïve", "paris", "unicorn", "dog"]


def make_vectors(n, dim=DIM, seed=0):
    """(n, dim) float32, row k the vector of the k-th word written."""
    return np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)


def text_lines(words, V, trailing_space=False):
    """One b"word v1 ... vdim" per word; repr of the float32 value reads back to the same float32."""
    end = b" " if trailing_space else b""
    return [w.encode() + b" " + b" ".join(repr(float(x)).encode() for x in v) + end
            for w, v in zip(words, V)]


def text_file(words, V, header=True, trailing_space=False, eol=b"\n"):
    lines = text_lines(words, V, trailing_space)
    if header:
        lines.insert(0, f"{len(words)} {V.shape[1]}".encode())
    return eol.join(lines) + eol


def binary_file(words, V, newline=True, count=None, dim=None):
    head = f"{len(words) if count is None else count} {V.shape[1] if dim is None else dim}\n"
    sep = b"\n" if newline else b""
    return head.encode() + b"".join(
        (w if isinstance(w, bytes) else w.encode()) + b" " + v.astype("<f4").tobytes() + sep
        for w, v in zip(words, V))


FORMATS = {  # name -> (writer, format detected)
    "word2vec text": (lambda w, V: text_file(w, V), FORMAT_TEXT_HEADER),
    "glove": (lambda w, V: text_file(w, V, header=False), FORMAT_TEXT),
    "fasttext vec": (lambda w, V: text_file(w, V, trailing_space=True), FORMAT_TEXT_HEADER),
    "binary": (lambda w, V: binary_file(w, V), FORMAT_BINARY),
    "binary without newlines": (lambda w, V: binary_file(w, V, newline=False), FORMAT_BINARY),
}
COMPRESSORS = {None: lambda b: b, "gzip": gzip.compress, "bzip2": bz2.compress, "xz": lzma.compress}


def write(tmp_path: Path, name: str, content: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


def error_of(path, vocab=VOCAB, **kwargs) -> str:
    with pytest.raises(SeqcliError) as info:
        load_vectors(path, vocab, **kwargs)
    message = info.value.message
    assert "\n" not in message and info.value.exit_code == 1
    assert message.startswith(str(path) + ": ")
    return message


# --- formats -----------------------------------------------------------------------------------


@pytest.mark.parametrize("compression", [None, "gzip"])
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_format_gives_the_file_vectors_exactly(tmp_path, fmt, compression):
    writer, detected = FORMATS[fmt]
    V = make_vectors(len(WORDS))
    path = write(tmp_path, "vectors.dat", COMPRESSORS[compression](writer(WORDS, V)))
    got = load_vectors(path, VOCAB)
    assert (got.format, got.compression, got.dim) == (detected, compression, DIM)
    assert got.matrix.shape == (DIM, len(VOCAB)) and got.matrix.dtype == np.float32
    for i, tok in enumerate(VOCAB):
        if tok in WORDS and i >= 2:
            np.testing.assert_array_equal(got.matrix[:, i], V[WORDS.index(tok)])
    np.testing.assert_array_equal(got.matrix[:, VOCAB.index("paris")], V[WORDS.index("Paris")])
    assert got.found.tolist() == [False, False, True, True, True, True, False, True]
    assert got.folded.tolist() == [False] * 5 + [True, False, False]
    assert (got.n_exact, got.n_folded, got.n_looked_up) == (4, 1, 6)
    assert not got.matrix[:, ~got.found].any()
    assert got.vectors_read == len(WORDS) and got.read_to_end
    header_lines = 0 if fmt == "glove" or detected == FORMAT_BINARY else 1
    assert got.lines_read == len(WORDS) + header_lines


@pytest.mark.parametrize("compression", ["bzip2", "xz"])
def test_bzip2_and_xz_are_read_too(tmp_path, compression):
    V = make_vectors(len(WORDS))
    path = write(tmp_path, "v", COMPRESSORS[compression](binary_file(WORDS, V)))
    got = load_vectors(path, VOCAB)
    assert (got.compression, got.format) == (compression, FORMAT_BINARY)
    np.testing.assert_array_equal(got.matrix[:, 3], V[WORDS.index("cat")])


def test_the_format_comes_from_the_content_not_the_name(tmp_path):
    V = make_vectors(len(WORDS))
    misnamed = {
        "vectors.txt": gzip.compress(binary_file(WORDS, V)),  # gzip'd binary named as text
        "vectors.bin.gz": text_file(WORDS, V, header=False),  # plain GloVe named as gzip'd binary
        "vectors.bin": text_file(WORDS, V),                   # word2vec text named .bin
    }
    seen = set()
    for name, content in misnamed.items():
        got = load_vectors(write(tmp_path, name, content), VOCAB)
        np.testing.assert_array_equal(got.matrix[:, 3], V[WORDS.index("cat")])
        seen.add((got.format, got.compression))
    assert seen == {(FORMAT_BINARY, "gzip"), (FORMAT_TEXT, None), (FORMAT_TEXT_HEADER, None)}


def test_crlf_tabs_a_byte_order_mark_and_blank_lines_are_read(tmp_path):
    V = make_vectors(3)
    lines = text_lines(["the", "cat", "dog"], V)
    lines[1] = lines[1].replace(b" ", b"\t")
    content = b"\xef\xbb\xbf" + b"\r\n".join(lines[:2]) + b"\r\n\r\n" + lines[2] + b"\r\n"
    got = load_vectors(write(tmp_path, "v.txt", content), VOCAB)
    for word, row in (("the", 0), ("cat", 1), ("dog", 2)):
        np.testing.assert_array_equal(got.matrix[:, VOCAB.index(word)], V[row])
    assert got.vectors_read == 3 and got.lines_read == 4


def test_glove_words_with_spaces_are_skipped_not_errors(tmp_path):
    # glove.840B holds ". . ." and "at name@domain.com": more fields than dim + 1, not numbers
    V = make_vectors(3)
    lines = text_lines(["cat", ". . .", "at name@domain.com"], V)
    got = load_vectors(write(tmp_path, "v.txt", b"\n".join(lines) + b"\n"), VOCAB)
    assert got.dim == DIM and got.vectors_read == 3
    np.testing.assert_array_equal(got.matrix[:, VOCAB.index("cat")], V[0])


def test_a_last_line_without_newline_is_read(tmp_path):
    V = make_vectors(2)
    got = load_vectors(write(tmp_path, "v.txt", b"\n".join(text_lines(["the", "cat"], V))), VOCAB)
    np.testing.assert_array_equal(got.matrix[:, VOCAB.index("cat")], V[1])


def test_invalid_utf8_in_a_binary_word_is_counted_not_an_error(tmp_path):
    V = make_vectors(3)
    words = [b"caf\xe9", b"cat", "naïve".encode()]  # a Latin-1 byte, then valid words
    got = load_vectors(write(tmp_path, "v.bin", binary_file(words, V)), VOCAB)
    assert got.invalid_utf8 == 1
    np.testing.assert_array_equal(got.matrix[:, VOCAB.index("cat")], V[1])
    np.testing.assert_array_equal(got.matrix[:, VOCAB.index("naïve")], V[2])


@settings(max_examples=25, deadline=None)
@given(words=st.lists(st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"),
                                            blacklist_characters="\ufeff"),
                              min_size=1, max_size=8), min_size=1, max_size=12, unique=True),
       fmt=st.sampled_from(list(FORMATS)), dim=st.integers(1, 4), seed=st.integers(0, 99))
def test_any_words_come_back_exactly_in_every_format(tmp_path_factory, words, fmt, dim, seed):
    V = make_vectors(len(words), dim, seed)
    path = write(tmp_path_factory.mktemp("p"), "v", FORMATS[fmt][0](words, V))
    got = load_vectors(path, words, reserved=0)
    assert got.found.all() and got.dim == dim
    np.testing.assert_array_equal(got.matrix, V.T)


# --- lookup ------------------------------------------------------------------------------------


def glove(tmp_path, words, seed=0):
    V = make_vectors(len(words), seed=seed)
    return write(tmp_path, "v.txt", text_file(words, V, header=False)), V


def test_case_folding_takes_the_first_occurrence_in_the_file(tmp_path):
    path, V = glove(tmp_path, ["of", "Paris", "PARIS", "pArIs"])
    got = load_vectors(path, ["<pad>", "<unk>", "paris"])
    np.testing.assert_array_equal(got.matrix[:, 2], V[1])
    assert got.folded[2] and (got.n_exact, got.n_folded) == (0, 1)


def test_an_exact_match_beats_an_earlier_case_folded_one(tmp_path):
    path, V = glove(tmp_path, ["Apple", "of", "apple"])
    got = load_vectors(path, ["<pad>", "<unk>", "apple"])
    np.testing.assert_array_equal(got.matrix[:, 2], V[2])
    assert not got.folded[2] and (got.n_exact, got.n_folded) == (1, 0)


def test_case_folding_beyond_ascii(tmp_path):
    # ß folds to "ss"; the Kelvin sign K folds to an ASCII k; Ï folds to ï
    path, V = glove(tmp_path, ["STRASSE", "\u212aelvin", "NAÏVE"])
    got = load_vectors(path, ["<pad>", "<unk>", "straße", "kelvin", "naïve"])
    np.testing.assert_array_equal(got.matrix[:, 2:], V.T)
    assert got.folded[2:].all()


def test_a_case_sensitive_vocabulary_gets_exact_and_folded_vectors(tmp_path):
    path, V = glove(tmp_path, ["APPLE", "Apple"])
    got = load_vectors(path, ["<pad>", "<unk>", "apple", "Apple", "aPPle"])
    np.testing.assert_array_equal(got.matrix[:, 2], V[0])  # first folded occurrence
    np.testing.assert_array_equal(got.matrix[:, 3], V[1])  # exact, though APPLE came first
    np.testing.assert_array_equal(got.matrix[:, 4], V[0])
    assert got.folded.tolist() == [False, False, True, False, True]


def test_the_first_of_repeated_words_wins(tmp_path):
    path, V = glove(tmp_path, ["cat", "dog", "cat"])
    got = load_vectors(path, VOCAB)
    np.testing.assert_array_equal(got.matrix[:, VOCAB.index("cat")], V[0])


def test_pad_and_unk_are_never_looked_up(tmp_path):
    path, V = glove(tmp_path, ["<pad>", "<unk>", "the"])
    got = load_vectors(path, ["<pad>", "<unk>", "the"])
    assert got.found.tolist() == [False, False, True]
    assert not got.matrix[:, :2].any()
    everything = load_vectors(path, ["<pad>", "<unk>", "the"], reserved=0)
    np.testing.assert_array_equal(everything.matrix, V.T)


def test_a_vocab_object_is_taken_as_is(tmp_path):
    path, V = glove(tmp_path, ["the", "cat"])
    got = load_vectors(path, Vocab(["<pad>", "<unk>", "cat", "the"]))
    np.testing.assert_array_equal(got.matrix[:, 2:], V[::-1].T)


def test_reading_stops_once_every_word_is_found_exactly(tmp_path):
    V = make_vectors(3)
    lines = text_lines(["the", "cat", "dog"], V) + [b"broken 1 2", b"more 1 2 3 4 5"]
    path = write(tmp_path, "v.txt", b"\n".join(lines) + b"\n")
    got = load_vectors(path, ["<pad>", "<unk>", "cat", "the"])
    assert got.found[2:].all() and not got.read_to_end and got.lines_read == 2
    # a word still missing makes it read on, into the broken line
    assert "line 4 has 2 values, expected 5" in error_of(path, ["<pad>", "<unk>", "cat", "zebra"])


def test_values_of_words_not_asked_for_are_not_parsed(tmp_path):
    V = make_vectors(2)
    lines = [b"junk 1 2 oops 4 5"] + text_lines(["the", "cat"], V)
    path = write(tmp_path, "v.txt", b"\n".join(lines) + b"\n")
    got = load_vectors(path, VOCAB)
    np.testing.assert_array_equal(got.matrix[:, VOCAB.index("cat")], V[1])
    assert "line 1: value 3 of 'junk' is not a number: 'oops'" in error_of(
        path, ["<pad>", "<unk>", "junk"])


def test_an_empty_vocabulary_reads_only_the_head(tmp_path):
    path, _ = glove(tmp_path, ["the", "cat"])
    got = load_vectors(path, ["<pad>", "<unk>"])
    assert got.dim == DIM and got.n_looked_up == 0 and not got.read_to_end
    assert got.summary() == "found 0 of 0 words (0.0%), 0 by case folding"


# --- coverage ----------------------------------------------------------------------------------


def test_coverage_of_types_and_tokens(tmp_path):
    path, _ = glove(tmp_path, ["the", "Paris", "cat"])
    vocab = ["<pad>", "<unk>", "the", "paris", "cat", "zebra", "unicorn"]
    counts = [0, 50, 60, 10, 20, 7, 3]  # <pad> and <unk> do not count
    got = load_vectors(path, vocab, counts=counts)
    assert got.type_coverage == pytest.approx(3 / 5)
    assert got.token_coverage == pytest.approx(90 / 100)
    assert got.summary() == "found 3 of 5 words (60.0%; 90.0% of tokens), 1 by case folding"
    unweighted = load_vectors(path, vocab)
    assert unweighted.token_coverage is None
    assert unweighted.summary() == "found 3 of 5 words (60.0%), 1 by case folding"


def test_coverage_figures_use_thousands_separators_and_never_round_to_all(tmp_path):
    words = [f"w{i}" for i in range(2000)]
    path = write(tmp_path, "v.txt", b"".join(w.encode() + b" 0.5\n" for w in words))
    vocab = ["<pad>", "<unk>"] + words[:1999] + ["missing"]
    counts = np.ones(len(vocab))
    got = load_vectors(path, vocab, counts=counts)
    assert got.summary() == "found 1,999 of 2,000 words (99.9%; 99.9% of tokens), 0 by case folding"


def test_counts_of_the_wrong_shape_are_a_programming_error(tmp_path):
    path, _ = glove(tmp_path, ["the"])
    with pytest.raises(ValueError):
        load_vectors(path, VOCAB, counts=[1, 2])


def test_progress_reaches_the_file_size(tmp_path):
    path, _ = glove(tmp_path, ["the", "cat"])
    calls = []
    load_vectors(path, ["<pad>", "<unk>", "zebra"], progress=lambda done, total: calls.append((done, total)))
    size = Path(path).stat().st_size
    assert calls and calls[-1] == (size, size)


# --- errors ------------------------------------------------------------------------------------


def lines_file(tmp_path, lines, header=None, end=b"\n"):
    body = b"\n".join(lines) + end
    return write(tmp_path, "v.txt", (header + b"\n" if header else b"") + body)


def test_a_vector_of_the_wrong_dimension_names_its_line(tmp_path):
    lines = text_lines([f"w{i}" for i in range(7)], make_vectors(7))
    lines[5] = lines[5].rsplit(b" ", 1)[0]  # 4 values on line 7 (the header is line 1)
    path = lines_file(tmp_path, lines, header=b"7 5")
    assert error_of(path) == f"{path}: line 7 has 4 values, expected 5"
    lines[5] += b" 1.0 2.0"
    assert error_of(lines_file(tmp_path, lines, header=b"7 5")).endswith(
        "line 7 has 6 values, expected 5")


def test_a_wanted_line_with_a_double_space_is_counted_by_its_values(tmp_path):
    path = lines_file(tmp_path, [b"the 1 2 3 4 5", b"cat 1 2  3 4"])  # 5 spaces, 4 values
    assert error_of(path).endswith("line 2 has 4 values, expected 5")


def test_a_truncated_last_line_says_so(tmp_path):
    lines = text_lines(["the", "cat", "dog"], make_vectors(3))
    lines[2] = lines[2][:12]
    path = lines_file(tmp_path, lines, end=b"")
    message = error_of(path)
    assert "line 3 has " in message and "expected 5 (the file ends inside it: truncated?)" in message


def test_a_text_file_shorter_than_its_header(tmp_path):
    path = lines_file(tmp_path, text_lines(["the", "cat"], make_vectors(2)), header=b"10 5")
    assert error_of(path).endswith(
        "the header (line 1) announces 10 vectors but the file ends after 2, at line 3: truncated?")


def test_a_text_file_longer_than_its_header(tmp_path):
    path = lines_file(tmp_path, text_lines(["the", "cat", "dog"], make_vectors(3)), header=b"2 5")
    assert error_of(path).endswith("line 4: more vectors than the 2 the header (line 1) announces")


@pytest.mark.parametrize("value, shown", [(b"x", "is not a number: 'x'"),
                                          (b"nan", "is nan (not a finite float32 number)"),
                                          (b"1e39", "is inf (not a finite float32 number)")])
def test_a_value_that_is_not_a_finite_number(tmp_path, value, shown):
    path = lines_file(tmp_path, [b"the 1 2 3 4 5", b"of 1 2 3 4 5", b"cat 1 " + value + b" 3 4 5"])
    assert error_of(path) == f"{path}: line 3: value 2 of 'cat' {shown}"


@pytest.mark.parametrize("content", [b"", b"\n\n  \r\n", gzip.compress(b""), b"\xef\xbb\xbf"])
def test_an_empty_file(tmp_path, content):
    path = write(tmp_path, "v.txt", content)
    assert error_of(path) == f"{path}: empty file (no vectors)"


@pytest.mark.parametrize("first", [b"400000 300x", b"400000", b"-3 5", b"vectors: 3"])
def test_a_header_that_is_not_count_dim(tmp_path, first):
    path = lines_file(tmp_path, [first] + text_lines(["the", "cat"], make_vectors(2)))
    assert error_of(path) == (f"{path}: line 1: '{first.decode()}' is not a 'count dim' header "
                              f"(two whole numbers such as '400000 300') nor a word and its vector")


@pytest.mark.parametrize("header, what", [(b"0 5", "count"), (b"3 0", "dimension")])
def test_a_header_announcing_no_vectors(tmp_path, header, what):
    path = lines_file(tmp_path, text_lines(["the"], make_vectors(1)), header=header)
    assert error_of(path).endswith(f"line 1: the header '{header.decode()}' announces no "
                                   f"vectors ({what} 0)")


def test_a_truncated_binary_record_names_it(tmp_path):
    V = make_vectors(4)
    full = binary_file(["the", "of", "cat", "dog"], V)
    record = len("cat") + 1 + 4 * DIM + 1
    cut = full.index(b"cat ") + 4 + 7  # 7 bytes into cat's 20-byte vector
    path = write(tmp_path, "v.bin", full[:cut])
    assert error_of(path) == (f"{path}: record 3 ('cat') is truncated: the file ends 7 bytes "
                              f"into its 20-byte vector")
    path = write(tmp_path, "v.bin", full[:full.index(b"cat ") + 2])
    assert error_of(path).endswith("record 3 is truncated: the file ends inside its word")
    path = write(tmp_path, "v.bin", full[:full.index(b"cat ") + record])
    assert error_of(path).endswith(
        "the header (line 1) announces 4 vectors but the file ends after 3 records: truncated?")


def test_a_binary_file_with_a_wrong_header_dimension(tmp_path):
    V = make_vectors(4, dim=6)
    path = write(tmp_path, "v.bin", binary_file(["the", "of", "cat", "dog"], V, dim=5))
    message = error_of(path, ["<pad>", "<unk>", "zebra"])
    assert "is its count or dimension wrong?" in message or "truncated" in message


def test_a_binary_file_with_more_records_than_its_header(tmp_path):
    V = make_vectors(4)
    path = write(tmp_path, "v.bin", binary_file(["the", "of", "cat", "dog"], V, count=3))
    assert error_of(path, ["<pad>", "<unk>", "zebra"]).endswith(
        "more data after the 3 records the header (line 1) announces: is its count or "
        "dimension wrong?")


def test_a_binary_nan_in_a_wanted_word(tmp_path):
    V = make_vectors(3)
    V[1, 2] = np.nan
    path = write(tmp_path, "v.bin", binary_file(["the", "cat", "dog"], V))
    assert error_of(path) == f"{path}: record 2: value 3 of 'cat' is nan (not a finite float32 number)"


def test_missing_file_and_directory(tmp_path):
    missing = tmp_path / "nope.vec"
    assert error_of(missing) == f"{missing}: no such file"
    assert error_of(tmp_path) == f"{tmp_path}: is a directory"


def test_a_damaged_gzip_file(tmp_path, monkeypatch):
    monkeypatch.setattr(vecfile, "_CHUNK", 1024)  # so the damage is met after some lines
    V = make_vectors(200)
    packed = gzip.compress(text_file([f"w{i}" for i in range(200)], V))
    half = write(tmp_path, "half.gz", packed[: len(packed) // 2])
    message = error_of(half)
    assert "damaged gzip data after line " in message and "ended before" in message
    flipped = bytearray(packed)
    for k in range(len(packed) // 3, len(packed) // 3 + 40):
        flipped[k] ^= 0x5A
    path = write(tmp_path, "flipped.gz", bytes(flipped))
    assert "damaged gzip data" in error_of(path)
    header_only = write(tmp_path, "h.gz", packed[:12])
    assert "damaged gzip data" in error_of(header_only)


def test_a_zip_archive_says_to_unzip_it(tmp_path):
    import zipfile
    path = tmp_path / "glove.6B.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("glove.6B.50d.txt", "the 0.1 0.2\n")
    assert error_of(path) == f"{path}: is a zip archive: unzip it and give one of its files"


def test_an_expected_dimension_fails_before_the_file_is_read(tmp_path):
    path, _ = glove(tmp_path, ["the", "cat"])
    assert error_of(path, expect_dim=300) == f"{path}: the vectors have 5 dimensions, expected 300"


def test_a_line_without_end_is_not_buffered_forever(tmp_path, monkeypatch):
    monkeypatch.setattr(vecfile, "_MAX_LINE", 4096)
    monkeypatch.setattr(vecfile, "_CHUNK", 1024)
    path = lines_file(tmp_path, [b"the 1 2 3 4 5", b"x" * 10000])
    assert error_of(path).endswith("line 2 is longer than 4,096 bytes: not a word-vector file")
    path = write(tmp_path, "w.txt", b"x" * 10000)
    assert error_of(path).endswith("line 1 is longer than 4,096 bytes: not a word-vector file")


def test_a_binary_word_without_end_is_not_buffered_forever(tmp_path, monkeypatch):
    monkeypatch.setattr(vecfile, "_MAX_WORD", 1000)
    path = write(tmp_path, "v.bin", b"2 5\n" + b"\x01" * 5000)
    assert error_of(path).endswith("record 1: no space ends its word within 1,000 bytes: the file "
                                   "is damaged or the header's dimension is wrong")


# --- applying to an embedding matrix ------------------------------------------------------------


def test_apply_replaces_found_columns_and_keeps_the_others(tmp_path):
    path, V = glove(tmp_path, ["the", "Paris", "cat"])
    got = load_vectors(path, VOCAB)
    E = np.random.default_rng(1).standard_normal((DIM, len(VOCAB))).astype(np.float32)
    before = E.copy()
    out = apply_vectors(E, got)
    assert out is E
    np.testing.assert_array_equal(E[:, got.found], got.matrix[:, got.found])
    np.testing.assert_array_equal(E[:, ~got.found], before[:, ~got.found])
    assert got.found.sum() == 3 and not np.array_equal(E, before)


def test_apply_with_another_dimension_is_an_error_unless_resizing(tmp_path):
    path, V = glove(tmp_path, ["the", "cat"])
    got = load_vectors(path, VOCAB)
    E = np.zeros((8, len(VOCAB)), dtype=np.float64)
    with pytest.raises(SeqcliError) as info:
        apply_vectors(E, got)
    assert info.value.message == (f"{path}: the vectors have 5 dimensions but the word embedding "
                                  f"has 8: make the embedding size 5 to use this file")
    new = apply_vectors(E, got, resize=True, rng=np.random.default_rng(0))
    assert new.shape == (DIM, len(VOCAB)) and new.dtype == np.float64
    np.testing.assert_array_equal(new[:, got.found], got.matrix[:, got.found])
    assert not new[:, 0].any() and new[:, 1].any()  # padding zero, <unk> drawn like the others
    with pytest.raises(ValueError):
        apply_vectors(np.zeros((DIM, 3)), got)


# --- bounded memory ----------------------------------------------------------------------------


def test_memory_stays_bounded_on_a_large_file(tmp_path):
    n, dim = 40_000, 100
    values = b" " + b" ".join(b"%.6f" % x for x in np.linspace(-1, 1, dim)) + b"\n"
    path = tmp_path / "big.txt"
    with open(path, "wb") as f:
        for start in range(0, n, 5000):
            f.write(b"".join(b"w%d%s" % (i, values) for i in range(start, start + 5000)))
    size = path.stat().st_size
    vocab = ["<pad>", "<unk>"] + [f"w{i}" for i in range(0, n, 20)] + ["w39999", "absent"]
    tracemalloc.start()
    try:
        got = load_vectors(path, vocab)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert size > 35e6
    assert peak < 10e6 < size / 3, f"peak {peak / 1e6:.1f} MB reading a {size / 1e6:.0f} MB file"
    assert got.read_to_end and got.vectors_read == n
    assert got.n_found == len(vocab) - 3  # all but "absent"
    np.testing.assert_allclose(got.matrix[:, -2], np.linspace(-1, 1, dim), atol=1e-6)
