"""Property tests (issue 7, part 5): random Unicode lines never crash seqcli and keep one output line
per input line; a model saved and loaded again predicts exactly the same.

The lines mix what real pipelines carry and what breaks naive tools: control characters, the
characters ``str.splitlines`` treats as line ends (``\\r``, ``\\x0b``, ``\\x0c``, ``\\x1c``-``\\x1e``,
``\\x85``, ``\\u2028``, ``\\u2029``) -- seqcli ends a line only at ``\\n`` (and drops one ``\\r`` just
before it) --, right-to-left text, emoji, combining marks, very long tokens, and lone surrogates
written as bytes (``surrogateescape`` / ``surrogatepass``), which are not UTF-8: those inputs must
give the one-line error naming the first bad line, never a crash.

Commands run in-process (typer's CliRunner) so a hundred examples cost seconds.
"""

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from conftest import separable_rows

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

SPECIAL = ["\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "\t", "\x7f",
           "\x01", "\x1b[31m", "\u200f", "\u202e", "\ufeff", "\u0301", "שלום עולם", "مرحبا بالعالم",
           "😀", "👩‍👩‍👧", "🇫🇷", "\U0010ffff", "\ufffd", "ﬁ", "İ", "ß", "e\u0301", "good", "film",
           "the quick brown fox", " ", ""]

piece = st.one_of(
    st.sampled_from(SPECIAL),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\x00"), max_size=12),
    st.integers(200, 5000).map(lambda n: "x" * n),  # a very long token
    st.text(st.sampled_from("good bad film\u00e9\u2028"), min_size=500, max_size=3000),
)
line = st.lists(piece, max_size=6).map("".join)
lines = st.lists(line, max_size=8)


def encoded(texts, trailing_newline=True):
    body = "\n".join(texts).encode("utf-8")
    return body + b"\n" if trailing_newline and texts else body


def n_lines(data: bytes) -> int:
    """Lines as seqcli counts them: pieces between \\n, the last one only if not empty."""
    if data.startswith(b"\xef\xbb\xbf"):  # a byte-order mark is dropped, not a line
        data = data[3:]
    if not data:
        return 0
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


def run(args, data: bytes):
    from seqcli.cli import app

    result = CliRunner().invoke(app, [str(a) for a in args], input=data)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from seqcli import api, models
    from seqcli.estimators import BowClassifier, SeqClassifier
    from seqcli.config import VectorizerConfig
    from lmtrain import train_lm

    folder = tmp_path_factory.mktemp("properties")
    rows = separable_rows(60)
    texts, labels = [t for t, _ in rows], [y for _, y in rows]
    out = {}
    for name, est in (("bow", BowClassifier(epochs=3, lr=0.2)),
                      ("bow-char-hash", BowClassifier(epochs=2, analyzer="char", ngram_max=3, hash_bits=10)),
                      ("lstm", SeqClassifier(cell="lstm", hidden=8, embed=8, epochs=1))):
        est.fit(texts, labels)
        out[name] = folder / f"{name}.npz"
        models.save(out[name], est.model_)
    corpus = folder / "corpus.txt"
    corpus.write_text("the quick brown fox jumps over the lazy dog. good film, bad film!\n" * 10, encoding="utf-8")
    out["lm"] = folder / "lm.npz"
    train_lm(corpus, out["lm"], dict(cell="gru", hidden=12, embed=6, seq_len=16, batch_size=4, epochs=1,
                                     val_split=0, seed=2))
    out["vec"] = folder / "vec.npz"
    api.save_vectorizer(out["vec"], api.fit_vectorizer(texts, VectorizerConfig(ngram_max=2, mode="tfidf")))
    return out


COMMANDS = {
    "predict bow": lambda m: ["predict", m["bow"]],
    "predict bow --json": lambda m: ["predict", m["bow"], "--json"],
    "predict char-hash bow": lambda m: ["predict", m["bow-char-hash"], "--proba"],
    "predict lstm": lambda m: ["predict", m["lstm"], "--json"],
    "predict lm (bits per char)": lambda m: ["predict", m["lm"], "--json"],
    "vectorize --load": lambda m: ["vectorize", "--load", m["vec"]],
    "vectorize char hashing": lambda m: ["vectorize", "--analyzer", "char", "--ngrams", "1:3", "--hash-bits", "8"],
}


@pytest.mark.parametrize("command", COMMANDS)
@SETTINGS
@given(texts=lines, trailing=st.booleans())
def test_one_output_line_per_input_line(models, command, texts, trailing):
    data = encoded(texts, trailing)
    rc, out, err = run(COMMANDS[command](models), data)
    assert rc == 0, err
    assert "Traceback" not in err and "error" not in err, err
    # seqcli's output lines end at \n only, like its input: count them the same way
    assert out.count("\n") == n_lines(data), (out[-300:], data[-300:])
    if "--json" in COMMANDS[command](models):
        for row in out.split("\n")[:-1]:
            json.loads(row)  # each line is one JSON object (no bare NaN)


# ------------------------------------------------------------------ bytes that are not UTF-8


def _invalid(raw):
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


bad_line = st.one_of(
    st.text(st.characters(min_codepoint=0xDC80, max_codepoint=0xDCFF), min_size=1, max_size=3).map(
        lambda s: s.encode("utf-8", "surrogateescape")).filter(_invalid),  # raw bytes 0x80-0xff
    st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3).map(
        lambda s: s.encode("utf-8", "surrogatepass")),  # CESU-style surrogates: invalid UTF-8
    st.just(b"nul\x00byte"),
)


@pytest.mark.parametrize("command", ["predict bow", "predict lstm", "predict lm (bits per char)",
                                     "vectorize --load"])
@SETTINGS
@given(before=lines, bad=bad_line, prefix=line, after=lines, mode=st.sampled_from(["replace", "skip"]))
def test_one_undecodable_line_never_ends_a_stream(models, command, before, bad, prefix, after, mode):
    """By default (--errors replace) or with --errors skip, every input line gets its output line and
    one warning at the end names the bad line."""
    chunks = [t.encode("utf-8") for t in before] + [prefix.encode("utf-8") + bad] + \
        [t.encode("utf-8") for t in after]
    rc, out, err = run(COMMANDS[command](models) + (["--errors", mode] if mode == "skip" else []),
                       b"\n".join(chunks) + b"\n")
    assert rc == 0, err
    assert out.count("\n") == len(chunks)
    note = [e for e in err.splitlines() if "not UTF-8 text" in e]
    assert len(note) == 1 and f"line {len(before) + 1}" in note[0]
    assert ("left empty" if mode == "skip" else "replaced by U+FFFD") in note[0]


@pytest.mark.parametrize("command", ["predict bow", "predict lstm", "predict lm (bits per char)",
                                     "vectorize --load"])
@SETTINGS
@given(before=lines, bad=bad_line, prefix=line, after=lines)
def test_undecodable_lines_give_one_error_naming_a_bad_line(models, command, before, bad, prefix, after):
    """With --errors strict."""
    good = [t.encode("utf-8") for t in before]
    chunks = good + [prefix.encode("utf-8") + bad] + [t.encode("utf-8") for t in after]
    data = b"\n".join(chunks) + b"\n"
    rc, out, err = run(COMMANDS[command](models) + ["--errors", "strict"], data)
    assert rc == 1, (rc, err)
    lines_err = err.strip("\n").split("\n")
    assert len(lines_err) == 1 and lines_err[0].startswith("seqcli: error: <stdin>: "), err
    assert "Traceback" not in err and "internal error" not in err
    # the line named holds the problem that the message names
    number = int(lines_err[0].split("line ", 1)[1].split(")")[0].split(":")[0])
    named = chunks[number - 1]
    if "NUL" in err:
        assert b"\x00" in named
    else:
        assert "invalid UTF-8" in err
        with pytest.raises(UnicodeDecodeError):
            named.decode("utf-8")
    # nothing is answered for the bad line or after it
    assert out.count("\n") < number


# ------------------------------------------------------------------------ library: any str


lone_surrogates = st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3)
any_text = st.one_of(st.text(max_size=50), line, st.sampled_from(SPECIAL),
                     st.tuples(line, lone_surrogates, line).map("".join))


@SETTINGS
@given(texts=st.lists(any_text, max_size=6))
def test_models_take_any_python_string(models, texts):
    """Library callers may pass any str, lone surrogates too: one row of finite output per text."""
    from seqcli import models as seqcli_models

    for name in ("bow", "bow-char-hash", "lstm"):
        proba = seqcli_models.load(models[name]).predict_proba(texts)
        assert proba.shape == (len(texts), 2) and np.isfinite(proba).all()
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    bits = seqcli_models.load(models["lm"]).score_lines(texts)
    assert len(bits) == len(texts)


# ------------------------------------------------------------------------ save/load round trip


@pytest.fixture(scope="module")
def round_tripped(models, tmp_path_factory):
    """Each model loaded, saved under a new name and loaded again: (original, reloaded) pairs."""
    from seqcli import models as seqcli_models

    folder = tmp_path_factory.mktemp("round_trip")
    pairs = {}
    for name in ("bow", "bow-char-hash", "lstm", "lm"):
        original = seqcli_models.load(models[name])
        seqcli_models.save(folder / f"{name}.npz", original)
        again = seqcli_models.load(folder / f"{name}.npz")
        seqcli_models.save(folder / f"{name}-2.npz", again)  # and a second trip gives the same bytes
        assert (folder / f"{name}.npz").read_bytes() == (folder / f"{name}-2.npz").read_bytes()
        pairs[name] = original, again
    return pairs


@settings(SETTINGS, max_examples=15)
@given(texts=st.lists(any_text, min_size=1, max_size=4))
def test_save_load_round_trip_predicts_identically(round_tripped, texts):
    for name, (original, again) in round_tripped.items():
        if name == "lm":
            a, b = original.score_lines(texts), again.score_lines(texts)
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
        else:
            np.testing.assert_array_equal(original.predict_proba(texts), again.predict_proba(texts))
