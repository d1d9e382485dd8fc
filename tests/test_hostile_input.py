"""Hostile input (issue 7): whatever a shell pipeline feeds seqcli, it fails clearly or copes.

Each case asserts the exit code and the one line ``seqcli: error: ...`` on stderr (or typer's own
usage error, exit 2, for a bad option value), and that no traceback or "internal error" appears.
Most cases run in-process through typer's CliRunner (fast); those that need a real process (a
terminal on stdin, memory limits, peak memory) run ``python -m seqcli``.

Behaviour chosen (and documented here as the contract):

* empty file: ``train`` and ``predict x.csv`` fail ("empty file"); ``predict x.txt`` writes nothing
  and exits 0 (zero lines in, zero lines out); ``vectorize`` fails (nothing to fit a vocabulary on),
  ``vectorize --load`` writes nothing and exits 0.
* header only: "no data rows (only a header)". No header: the first row is taken as the header, so
  the columns are not recognised and the message says to use --text-col / --label-col.
* labels: surrounding whitespace is stripped, case is kept (``Pos`` and ``pos`` are two classes);
  a label column with one class (also after stripping) fails: "needs at least two classes".
* ragged rows (too many or too few fields) are skipped and reported once on stderr with their line
  numbers; the run goes on. An unterminated quote fails naming the line where the quote opened.
* NUL bytes mean a binary file (or UTF-16 without BOM): an error naming the line. Invalid UTF-8
  fails naming the line and column, also far into a file. UTF-16 with a BOM is decoded, and gives
  the very output the UTF-8 file gives.
* a 50 MB line and a million rows are handled (slow-ish tests: see the figures they print).
* a terminal on stdin when data is needed: one line saying to pipe data in or give a path.
"""

import json
import os
import pty
import resource
import subprocess
import sys
import time

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import _env, csv_text, separable_rows

# ------------------------------------------------------------------------------------- helpers


def run(args, input=None):
    """seqcli in-process: (rc, stdout, stderr); stdin is ``input`` (bytes or str) or empty."""
    from seqcli.cli import app

    result = CliRunner().invoke(app, [str(a) for a in args], input=input if input is not None else b"")
    return result.exit_code, result.stdout, result.stderr


def assert_error(rc, out, err, *, rc_expected=1, mentions=(), stdout_empty=True):
    """One ``seqcli: error:`` line (exit 1) or a typer usage error (exit 2); never a traceback."""
    assert rc == rc_expected, (rc, out[-500:], err)
    assert "Traceback" not in err and "internal error" not in err, err
    lines = err.strip("\n").split("\n")
    if rc_expected == 1:
        assert len(lines) == 1 and lines[0].startswith("seqcli: error: "), err
    else:  # a usage error: one line in seqcli's words, then at most a hint (issue 16, point 1)
        assert len(lines) <= 2 and lines[0].startswith("seqcli: error: "), err
        assert len(lines) == 1 or lines[1].startswith("try 'seqcli"), err
        assert not any(ch in err for ch in "╭│╰─"), err
    for word in mentions:
        assert str(word) in err, (word, err)
    if stdout_empty:
        assert out == "", out[:500]


def proc(args, input=None, timeout=120, **kw):
    """``python -m seqcli ARGS`` as a real process: (rc, stdout, stderr) as str."""
    p = subprocess.run([sys.executable, "-m", "seqcli", *map(str, args)], input=input,
                       stdin=None if input is not None else subprocess.DEVNULL, capture_output=True,
                       env=_env(), timeout=timeout, **kw)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


TEXTS = ["the film was good and great", "awful and bad", "", "  ", "lovely", "boring dull film"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("hostile_input")


@pytest.fixture(scope="module")
def models(folder):
    """A bag-of-words and a tiny LSTM classifier, fitted in-process (no subprocess: fast)."""
    from seqcli import models
    from seqcli.estimators import BowClassifier, SeqClassifier

    rows = separable_rows(60)
    texts, labels = [t for t, _ in rows], [y for _, y in rows]
    out = {}
    for name, est in (("bow", BowClassifier(epochs=3, lr=0.2)),
                      ("lstm", SeqClassifier(cell="lstm", hidden=8, embed=8, epochs=1))):
        est.fit(texts, labels)
        out[name] = folder / f"{name}.npz"
        models.save(out[name], est.model_)
    return out


@pytest.fixture(scope="module")
def good_csv(folder):
    path = folder / "good.csv"
    path.write_text(csv_text(separable_rows(40)), encoding="utf-8")
    return path


def write(folder, name, content):
    path = folder / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


# ----------------------------------------------------------------------- empty, header, columns


def test_empty_file(folder, models):
    empty_csv, empty_txt = write(folder, "empty.csv", b""), write(folder, "empty.txt", b"")
    assert_error(*run(["train", empty_csv, "-o", folder / "x.npz"]), mentions=["empty.csv", "empty file"])
    assert_error(*run(["train", "-", "-o", folder / "x.npz"], input=b""), mentions=["<stdin>", "empty file"])
    assert_error(*run(["predict", models["bow"], empty_csv]), mentions=["empty.csv", "empty file"])
    assert run(["predict", models["bow"], empty_txt]) == (0, "", "")  # zero lines in, zero out
    assert run(["predict", models["lstm"], "-"], input=b"") == (0, "", "")
    assert_error(*run(["vectorize", empty_txt]), mentions=["empty vocabulary"])
    assert not (folder / "x.npz").exists()


def test_empty_file_with_a_saved_vectorizer_gives_no_output(folder):
    vec = folder / "vec.npz"
    assert run(["vectorize", "--save", vec, "--vocab"], input="good film\n")[0] == 0
    assert run(["vectorize", "--load", vec, write(folder, "e.txt", b"")]) == (0, "", "")


def test_header_only(folder, models):
    path = write(folder, "header.csv", "text,label\n")
    assert_error(*run(["train", path, "-o", folder / "x.npz"]), mentions=["header.csv", "only a header"])
    assert_error(*run(["predict", models["bow"], path]), mentions=["only a header"])


def test_blank_first_line(folder):
    path = write(folder, "blank1.csv", "\ntext,label\ngood,pos\nbad,neg\n")
    assert_error(*run(["train", path, "-o", folder / "x.npz"]), mentions=["line 1 is blank", "header"])


def test_no_header_is_not_guessed(folder):
    path = write(folder, "nohead.csv", "a good film,pos\na bad film,neg\n")
    assert_error(*run(["train", path, "-o", folder / "x.npz"]),
                 mentions=["cannot tell which column", "--text-col", "--label-col"])


@pytest.mark.parametrize("content,options,mentions", [
    ("words,label\ngood,pos\n", [], ["no text column", "--text-col"]),
    ("text,stars\ngood,5\n", [], ["no label column", "--label-col"]),
    ("text,text,label\na,b,pos\n", [], ["ambiguous", "2 columns are named 'text'"]),
    ("Text,TEXT,label\na,b,pos\n", [], ["ambiguous"]),
    ("text,label\ngood,pos\n", ["--text-col", "7"], ["--text-col 7 is out of range"]),
    ("text,label\ngood,pos\n", ["--text-col", "body"], ["no column named 'body'"]),
    ("text,label\ngood,pos\n", ["--label-col", "text"], ["same column"]),
    ("a\tb\tc\nx\ty\tz\n", [], ["TSV columns", "no text column"]),
], ids=["no-text", "no-label", "duplicate", "duplicate-case", "index-range", "missing-name",
        "same-column", "tsv"])
def test_column_problems(folder, content, options, mentions):
    path = write(folder, "cols.csv", content)
    assert_error(*run(["train", path, "-o", folder / "x.npz", *options]), mentions=["cols.csv", *mentions])


def test_predict_csv_without_a_text_column(folder, models):
    path = write(folder, "notext.csv", "id,stars\n1,5\n")
    assert_error(*run(["predict", models["bow"], path]), mentions=["no text column"])


# ----------------------------------------------------------------------------------- labels


def test_labels_keep_case_and_lose_surrounding_whitespace(folder):
    """Documented choice: ' pos ' is 'pos', but 'Pos' is a class of its own."""
    rows = "".join(f"{t},{y}\n" for t, y in [("good film", "pos"), ("great film", " pos "),
                                              ("lovely film", "pos\t"), ("bad film", "Pos"),
                                              ("awful film", "Pos"), ("dull film", " Pos")] * 3)
    path = write(folder, "case.csv", "text,label\n" + rows)
    rc, out, err = run(["train", path, "-o", folder / "case.npz", "--epochs", "1", "--json", "-q",
                        "--val-split", "0"])
    assert rc == 0, err
    summary = json.loads(out)
    assert summary["classes"] == ["Pos", "pos"]
    supports = {c["class"]: c["support"] for c in summary["metrics"]["per_class"]}
    assert supports == {"Pos": 9, "pos": 9}


def test_one_class_after_stripping_whitespace(folder):
    path = write(folder, "one.csv", "text,label\ngood,x\nbad, x\nfine,x \nok,\t x\n")
    assert_error(*run(["train", path, "-o", folder / "x.npz"]), mentions=["one.csv", "'x'", "two classes"])


def test_one_class_left_once_ragged_rows_are_skipped(folder):
    path = write(folder, "one2.csv", "text,label\ngood,pos\nbad,neg,extra\nfine,pos\n")
    rc, out, err = run(["train", path, "-o", folder / "x.npz"])
    assert rc == 1 and "Traceback" not in err
    lines = err.strip().split("\n")  # the skipped-rows note, then the error
    assert lines[0].startswith("seqcli: skipped 1 of 3 rows") and "line 3" in lines[0]
    assert lines[1].startswith("seqcli: error: ") and "two classes" in lines[1] and len(lines) == 2


# ------------------------------------------------------------------------------ malformed CSV


def test_ragged_rows_are_skipped_and_reported(folder, models):
    rows = separable_rows(30)
    body = csv_text(rows[:10]) + "too,many,fields,here\nonly-one-field\n" + csv_text(rows[10:])[11:]
    path = write(folder, "ragged.csv", body)
    rc, out, err = run(["train", path, "-o", folder / "r.npz", "--epochs", "1", "-q", "--json"])
    assert rc == 0, err
    note = err.strip().split("\n")
    assert len(note) == 1, err
    assert note[0].startswith("seqcli: skipped 2 of 32 rows")
    assert "4 fields, expected 2: line 12" in note[0] and "1 field, expected 2: line 13" in note[0]
    assert json.loads(out)["skipped_rows"] == 2
    # predict reads the same file: one answer per kept row, the skipped ones reported the same way
    rc, out, err = run(["predict", models["bow"], path])
    assert rc == 0 and len(out.splitlines()) == 30 and "line 12" in err and "Traceback" not in err


def test_unterminated_quote(folder, models):
    path = write(folder, "quote.csv", 'text,label\ngood,pos\n"bad, so bad,neg\nfine,pos\n')
    for args in (["train", path, "-o", folder / "x.npz"], ["predict", models["bow"], path]):
        assert_error(*run(args), mentions=["quote.csv", "line 3", "closing quote is missing"])


def test_text_after_a_closing_quote(folder):
    path = write(folder, "quote2.csv", 'text,label\n"good" film,pos\n')
    assert_error(*run(["train", path, "-o", folder / "x.npz"]), mentions=["line 2", "malformed CSV"])


# --------------------------------------------------------------------- binary and bad encodings


@pytest.mark.parametrize("command", ["train", "predict-txt", "predict-csv", "vectorize"])
def test_nul_byte_means_binary(folder, models, command):
    csv_body = b"text,label\ngood,pos\nbad,neg\nno\x00pe,pos\n"
    txt_body = b"good\nbad\nno\x00pe\n"
    args = {"train": ["train", write(folder, "nul.csv", csv_body), "-o", folder / "x.npz"],
            "predict-txt": ["predict", models["bow"], write(folder, "nul.txt", txt_body), "--errors", "strict"],
            "predict-csv": ["predict", models["bow"], write(folder, "nul.csv", csv_body)],
            "vectorize": ["vectorize", write(folder, "nul.txt", txt_body), "--errors", "strict"]}[command]
    line = 4 if "csv" in command or command == "train" else 3
    assert_error(*run(args), mentions=["binary file", f"NUL byte on line {line}"])


@pytest.mark.parametrize("command", ["train", "predict", "vectorize"])
def test_binary_file(folder, models, command):
    elf = b"\x7fELF\x02\x01\x01\x00" + np.random.default_rng(0).bytes(20000)
    path = write(folder, "prog.bin", elf)
    args = {"train": ["train", path, "-o", folder / "x.npz"],
            "predict": ["predict", models["bow"], path, "--errors", "strict"],
            "vectorize": ["vectorize", path, "--errors", "strict"]}[command]
    assert_error(*run(args), mentions=["prog.bin", "line 1"])


@pytest.mark.parametrize("command", ["train", "predict-txt", "predict-csv", "vectorize"])
def test_invalid_utf8_far_into_the_file_names_its_line(folder, models, command):
    """The bad byte sits beyond the first read chunks (line 20 001 of 30 000, ~600 KB in)."""
    lines = [f"the film number {i} was good" for i in range(30_000)]
    lines[20_000] = "the film was caf\xe9 and good"
    body = "\n".join(lines).encode("latin-1") + b"\n"
    if command in ("train", "predict-csv"):
        body = b"text,label\n" + b"\n".join(line + (b",pos" if i % 2 else b",neg")
                                           for i, line in enumerate(body.split(b"\n")[:-1])) + b"\n"
        path, line = write(folder, "bad8.csv", body), 20_002
    else:
        path, line = write(folder, "bad8.txt", body), 20_001
    args = {"train": ["train", path, "-o", folder / "x.npz"],
            "predict-txt": ["predict", models["bow"], path, "--errors", "strict"],
            "predict-csv": ["predict", models["bow"], path], "vectorize": ["vectorize", path, "--errors", "strict"]}[command]
    rc, out, err = run(args)
    # predict streams: lines before the bad one may already be answered; none after it is
    assert_error(rc, out, err, mentions=[path.name, f"line {line}", "invalid UTF-8", "byte 0xe9",
                                         "column 17"], stdout_empty=command != "predict-txt")
    assert len(out.splitlines()) < 20_001


@pytest.mark.parametrize("codec,bom", [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")])
def test_utf16_with_bom_is_decoded_like_utf8(folder, models, codec, bom):
    text = "the film was good\r\nawful and bad\r\ncaf\u00e9 \u00fcber \U0001F600\r\n\r\nlast line"
    csv_body = csv_text(separable_rows(30))
    u8_txt, u16_txt = write(folder, "u8.txt", text), write(folder, "u16.txt", bom + text.encode(codec))
    u8_csv, u16_csv = write(folder, "u8.csv", csv_body), write(folder, "u16.csv", bom + csv_body.encode(codec))
    for args in (["predict", models["bow"]], ["predict", models["lstm"], "--json"], ["vectorize"]):
        want, got = run([*args, u8_txt]), run([*args, u16_txt])
        assert want[0] == 0 and got == want and len(got[1].splitlines()) == 5, (args, got)
        assert run([*args, "-"], input=bom + text.encode(codec)) == want  # from a pipe too
    assert run(["predict", models["bow"], u16_csv]) == run(["predict", models["bow"], u8_csv])
    a = run(["train", u8_csv, "-o", folder / "a.npz", "--epochs", "1", "-q", "--json"])
    b = run(["train", u16_csv, "-o", folder / "b.npz", "--epochs", "1", "-q", "--json"])
    assert a[0] == b[0] == 0
    assert (folder / "a.npz").read_bytes() == (folder / "b.npz").read_bytes()


@pytest.mark.parametrize("command", ["train", "predict", "vectorize"])
def test_utf16_without_bom_is_refused_as_binary(folder, models, command):
    body = csv_text(separable_rows(10)).encode("utf-16-le")
    path = write(folder, "nobom.csv" if command == "train" else "nobom.txt", body)
    args = {"train": ["train", path, "-o", folder / "x.npz"],
            "predict": ["predict", models["bow"], path, "--errors", "strict"],
            "vectorize": ["vectorize", path, "--errors", "strict"]}[command]
    assert_error(*run(args), mentions=["binary file", "NUL byte on line 1", "UTF-16"])


# ------------------------------------------------------------------------------ huge inputs
#
# The two big cases run real processes for 10-20 s. They are started once, at the start of this
# module (when selected), and run while the quick cases above and below go on; their tests, at
# the end of the module, collect the results.

BIG_LINE_MB = 50

# A small launcher process runs the command and reports its peak RSS. Measuring from pytest itself
# would be wrong on Linux: a child forked from a big process inherits that process's RSS high-water
# mark (fork copies the mm's hiwater_rss, exec folds it into the rusage maxrss), so wait4 would
# report pytest's own size. The launcher is small, so its child starts from a small mark.
_LAUNCHER = ("import resource, subprocess, sys\n"
             "rc = subprocess.call(sys.argv[1:])\n"
             "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
             "sys.stderr.write(f'\\nPEAK_RSS_KB {peak}\\n')\n"
             "sys.exit(rc)\n")


def _start_measured(args, stdout_path):
    """Start ``python -m seqcli ARGS`` under the launcher, stdout into ``stdout_path``; returns a
    function giving (rc, peak RSS in MB, stderr without the launcher's line, stdout bytes); it
    waits only once, so the module's teardown can call it again to reap every process."""
    out = open(stdout_path, "w+b")
    p = subprocess.Popen([sys.executable, "-c", _LAUNCHER, sys.executable, "-m", "seqcli", *map(str, args)],
                         stdout=out, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=_env())

    result = []

    def finish():
        if not result:
            _, err = p.communicate(timeout=300)
            err = err.decode("utf-8", "replace")
            head, _, peak = err.rpartition("\nPEAK_RSS_KB ")
            out.seek(0)
            data = out.read()
            out.close()
            result.append((p.returncode, int(peak) / 1024, head, data))
        return result[0]

    return finish


def _start_big_line(folder, models):
    size = BIG_LINE_MB * 1_000_000
    line = ("good film and the bad film was great or awful " * (size // 40))[:size]
    txt = write(folder, "bigline.txt", line + "\nshort good line\n")
    rows = separable_rows(40)
    csv_path = write(folder, "bigline.csv", csv_text(rows[:20] + [(line, "pos")] + rows[20:]))
    del line
    runs = {"train": ["train", csv_path, "-o", folder / "big.npz", "--epochs", "1", "-q", "--json"],
            "predict bow": ["predict", models["bow"], txt], "predict lstm": ["predict", models["lstm"], txt]}
    return {k: _start_measured(a, folder / f"bigline.{k.replace(' ', '_')}.out") for k, a in runs.items()}


def _start_million(folder, models, n=1_000_000):
    words = [b"good", b"bad", b"great", b"awful", b"fine", b"dull"]
    rows = b"".join(b"%s %d,%s\n" % (words[i % 6], i % 97, b"neg" if i % 6 in (1, 3, 5) else b"pos")
                    for i in range(n))
    data = write(folder, "million.csv", b"text,label\n" + rows)
    del rows
    lines = write(folder, "million.txt", b"".join(b"%s x\n" % words[i % 6] for i in range(n)))
    return {"train": _start_measured(["train", data, "-o", folder / "million.npz", "--model", "bow",
                                      "--epochs", "1", "-q"], folder / "million.train.out"),
            "predict": _start_measured(["predict", models["bow"], lines], folder / "million.predict.out")}


@pytest.fixture(scope="module", autouse=True)
def big_runs(request, folder, models):
    """Start the big cases selected in this session; {name: {job: finish()}}."""
    started = time.monotonic()
    names = {item.name for item in request.session.items if item.module is request.module}
    jobs = {}
    if "test_a_single_50_mb_line" in names:
        jobs["50 MB line"] = _start_big_line(folder, models)
    if "test_a_million_tiny_rows_in_bounded_memory" in names:
        jobs["1M rows"] = _start_million(folder, models)
    yield jobs, started
    for group in jobs.values():  # tests that did not collect (failed early) still reap theirs
        for finish in group.values():
            finish()


def _collect(big_runs, name):
    jobs, started = big_runs
    if not jobs.get(name):
        pytest.skip("started only with the module")
    results = {k: finish() for k, finish in jobs[name].items()}
    jobs[name] = {}
    return results, time.monotonic() - started


# ------------------------------------------------------------------ missing paths, directories


@pytest.mark.parametrize("args,mentions", [
    (["predict", "{bow}", "{dir}"], ["is a directory"]),
    (["predict", "{bow}", "{dir}/nope.txt"], ["nope.txt", "no such file"]),
    (["predict", "{bow}", "{dir}/nope.csv"], ["nope.csv", "no such file"]),
    (["vectorize", "{dir}"], ["is a directory"]),
    (["vectorize", "--fit", "{dir}"], ["is a directory"]),
    (["vectorize", "--fit", "{dir}/nope.txt"], ["nope.txt", "no such file"]),
    (["vectorize", "--load", "{dir}"], ["is a directory"]),
    (["vectorize", "--load", "{dir}/nope.npz"], ["nope.npz", "no such model file"]),
    (["vectorize", "--save", "{dir}"], ["is a directory"]),
    (["vectorize", "--format", "npz", "-o", "{dir}"], ["is a directory"]),
    (["vectorize", "--format", "npz", "-o", "{dir}/no/x.npz"], ["x.npz", "cannot write"]),
    (["train", "{csv}", "--resume", "{dir}", "-o", "{dir}/m.npz"], ["is a directory"]),
    (["train", "{csv}", "--resume", "{dir}/nope.ckpt.npz", "-o", "{dir}/m.npz"], ["no such model file"]),
    (["train", "{csv}", "-o", "/dev/null", "--epochs", "1"], ["/dev/null", "not a regular file"]),
], ids=lambda v: " ".join(v) if isinstance(v, list) and v and v[0] in ("predict", "vectorize", "train") else None)
def test_missing_path_or_directory(folder, models, good_csv, args, mentions):
    args = [a.format(bow=models["bow"], dir=folder, csv=good_csv) for a in args]
    assert_error(*run(args, input="good film\n"), mentions=mentions)
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")  # never replaced


def test_vectorize_npz_output_is_written_under_the_name_given(folder):
    """scipy's save_npz appends .npz to a name without it; seqcli writes exactly the path given."""
    out = folder / "vectors.bin"
    assert run(["vectorize", "--format", "npz", "-o", out], input="good film\n") == (0, "", "")
    assert out.exists() and not (folder / "vectors.bin.npz").exists()


@pytest.mark.parametrize("target", ["{dir}", "{dir}/no/such/folder.jsonl"])
def test_vectorize_text_output_to_a_directory_or_missing_folder(folder, target):
    assert_error(*run(["vectorize", "-o", target.format(dir=folder)], input="good film\n"),
                 mentions=[os.path.basename(target.format(dir=folder))])


# -------------------------------------------------------------------- a terminal on stdin


def _run_with_tty_stdin(args, timeout=30):
    master, slave = pty.openpty()
    try:
        p = subprocess.Popen([sys.executable, "-m", "seqcli", *map(str, args)], stdin=slave,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
        os.close(slave)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:  # a hang: waiting silently for the user to type
            p.kill()
            p.communicate()
            pytest.fail(f"seqcli {' '.join(map(str, args))} waited on the terminal instead of failing")
    finally:
        os.close(master)
    return p.returncode, out.decode(), err.decode()


def test_terminal_on_stdin_says_what_to_do_instead_of_waiting(folder, models):
    cases = [["vectorize"], ["predict", models["bow"]], ["predict", models["lstm"], "-", "--explain"],
             ["train", "-", "-o", folder / "tty.npz"]]
    for args in cases:
        rc, out, err = _run_with_tty_stdin(args)
        assert_error(rc, out, err, mentions=["standard input", "terminal", "pipe"])
        assert "file path" in err


# ----------------------------------------------------------------- numeric option values


BAD_TRAIN_OPTIONS = [
    ["--hidden", "-1"], ["--hidden", "99999999999999999999"], ["--hidden", "nan"],
    ["--embed", "0"], ["--embed", "-3"], ["--embed", "1e9"],
    ["--layers", "0"], ["--layers", "17"], ["--layers", "nan"],
    ["--epochs", "nan"], ["--epochs", "10000000000000"],
    ["--batch-size", "0"], ["--batch-size", "-1"], ["--batch-size", "10000000000"],
    ["--lr", "-inf"], ["--lr", "1e300"], ["--lr", "1e9"],
    ["--clip", "-1"], ["--clip", "nan"], ["--clip", "1e300"],
    ["--l2", "-1"], ["--l2", "nan"], ["--l2", "1e9"],
    ["--patience", "-1"], ["--patience", "1e99"],
    ["--val-split", "-0.1"], ["--val-split", "nan"], ["--val-split", "1"],
    ["--dropout", "-0.5"], ["--dropout", "nan"], ["--dropout", "1e9"],
    ["--seed", "-1"], ["--seed", "99999999999"],
    ["--max-steps", "0"], ["--max-steps", "-1"], ["--max-steps", "99999999999999999999"],
    ["--max-time", "0"], ["--max-time", "-1"], ["--max-time", "nan"], ["--max-time", "inf"],
    ["--min-df", "0"], ["--min-df", "-1"], ["--max-features", "0"], ["--max-features", "1e99"],
    ["--hash-bits", "0"], ["--hash-bits", "25"], ["--hash-bits", "nan"],
    ["--ngrams", "0:1"], ["--ngrams", "1:99999999999"], ["--ngrams", "nan"],
]


@pytest.mark.parametrize("option", BAD_TRAIN_OPTIONS, ids=" ".join)
def test_train_numeric_options_out_of_range_are_usage_errors(folder, good_csv, option):
    rc, out, err = run(["train", good_csv, "-o", folder / "opt.npz", *option])
    assert_error(rc, out, err, rc_expected=2)
    assert err.startswith(f"seqcli: error: {option[0]}"), err
    assert not (folder / "opt.npz").exists()


def test_train_max_time_message_names_the_option_and_the_real_limit(folder, good_csv):
    rc, out, err = run(["train", good_csv, "-o", folder / "opt.npz", "--max-time", "99999999999"])
    assert rc == 2 and "--max-time" in err and "more than 0" not in err, err


@pytest.mark.parametrize("option", [
    ["--hash-bits", "0"], ["--hash-bits", "-1"], ["--hash-bits", "99999999999999999999"],
    ["--hash-bits", "nan"], ["--min-df", "0"], ["--min-df", "-3"], ["--min-df", "1000000000000"],
    ["--min-df", "nan"], ["--max-features", "0"], ["--max-features", "-1"],
    ["--max-features", "99999999999999999999999"], ["--ngrams", "0:0"], ["--ngrams", "-1:2"],
    ["--ngrams", "1:99999999999999"], ["--ngrams", "nan"],
], ids=" ".join)
def test_vectorize_numeric_options_out_of_range_are_usage_errors(option):
    rc, out, err = run(["vectorize", *option], input="good film\n")
    assert_error(rc, out, err, rc_expected=2)
    assert err.startswith(f"seqcli: error: {option[0]}"), err


@pytest.mark.parametrize("option,mentions", [
    (["--layer", "99999999999"], ["--layer", "1 layer"]), (["--layer", "-99999999999"], ["--layer"]),
    (["--units", "top:0"], ["--units"]), (["--units", "top:-1"], ["--units"]),
    (["--units", "99999999999"], ["does not exist"]), (["--units", "nan"], ["--units"]),
    (["--units", "0,-1"], ["--units"]),
], ids=lambda v: " ".join(v) if isinstance(v, list) and v[0].startswith("--") else None)
def test_predict_explain_numeric_options(models, option, mentions):
    rc, out, err = run(["predict", models["lstm"], "--explain", "--json", *option], input="good film\n")
    assert rc in (1, 2) and "Traceback" not in err and "internal error" not in err, err
    assert out == "" and all(m in err for m in mentions), err


def test_predict_explain_huge_top_k_is_clipped_to_the_units_there_are(models):
    rc, out, err = run(["predict", models["lstm"], "--explain", "--json", "--units", "top:99999999999"],
                       input="good film\n")
    assert rc == 0 and len(out.splitlines()) == 1, err


def test_absurd_but_allowed_sizes_run_out_of_memory_in_one_line(folder, good_csv):
    """--hidden 8192 --embed 8192 --layers 16 --bidirectional is within each option's range but
    needs hundreds of GB: under a 2 GB address-space limit it must say so, not crash."""

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    rc, out, err = proc(["train", good_csv, "-o", folder / "huge.npz", "--model", "lstm", "--hidden",
                         "8192", "--embed", "8192", "--layers", "16", "--bidirectional", "--epochs", "1"],
                        timeout=60, preexec_fn=limit)
    assert_error(rc, out, err, mentions=["out of memory"])
    assert not (folder / "huge.npz").exists()


# ------------------------------------------------------------- generate and train --task lm


@pytest.fixture(scope="module")
def lm(folder):
    from lmtrain import train_lm

    corpus = folder / "fox.txt"
    corpus.write_text("the quick brown fox jumps over the lazy dog.\n" * 12, encoding="utf-8")
    path = folder / "lm.npz"
    train_lm(corpus, path, dict(hidden=16, embed=8, seq_len=16, batch_size=4, epochs=1, val_split=0, seed=1))
    return path


@pytest.mark.parametrize("option", [
    ["--length", "-1"], ["--length", "10000000000000000"], ["--length", "nan"],
    ["--temperature", "-1"], ["--temperature", "nan"], ["--temperature", "inf"], ["--temperature", "1e7"],
    ["--top-k", "0"], ["--top-k", "-1"], ["--top-k", "99999999999"], ["--count", "0"], ["--count", "-1"],
    ["--seed", "-1"], ["--seed", "99999999999"], ["--until", ""],
], ids=" ".join)
def test_generate_numeric_options_out_of_range_are_usage_errors(lm, option):
    rc, out, err = run(["generate", lm, *option])
    assert_error(rc, out, err, rc_expected=2)
    assert err.startswith(f"seqcli: error: {option[0]}"), err


@pytest.mark.parametrize("option,length", [
    (["--temperature", "0"], 40),  # 0 means argmax
    (["--length", "0"], 0),  # only the prime
    (["--top-k", "1000000000"], 40),  # more than the vocabulary: all of it
    (["--temperature", "1000000"], 40),
])
def test_generate_extreme_but_valid_options(lm, option, length):
    # a repeated option takes its last value: --length 0 overrides the --length 40 before it
    rc, out, err = run(["generate", lm, "--length", "40", "--seed", "1", "--prime", "the", *option])
    assert rc == 0 and "Traceback" not in err, err
    assert out.startswith("the") and 3 + length <= len(out) <= 4 + length  # + a final newline
    assert err.startswith("seqcli: ") and err.count("\n") == 1  # the one note, no warnings


def test_generate_tiny_temperature_is_quiet(lm):
    # a real process: in-process, pytest would catch the warning before it reached stderr
    rc, out, err = proc(["generate", lm, "--length", "40", "--seed", "1", "--temperature", "1e-300"])
    assert rc == 0 and err.count("\n") == 1 and "Warning" not in err, err


def test_generate_an_absurd_length_streams_into_head(lm):
    """--length 10**12 is allowed: the text is streamed, and ``| head -c 100`` ends it quietly."""
    script = f'set -o pipefail; "$@" generate {lm} --length 1000000000000 --seed 3 | head -c 100'
    started = time.monotonic()
    p = subprocess.run(["bash", "-c", script, "bash", sys.executable, "-m", "seqcli"], capture_output=True,
                       env=_env(), timeout=60, stdin=subprocess.DEVNULL)
    assert p.returncode == 0 and len(p.stdout) == 100 and p.stderr == b"", p.stderr
    assert time.monotonic() - started < 30


def test_generate_prime_from_a_terminal(lm):
    rc, out, err = _run_with_tty_stdin(["generate", lm, "--prime", "-"])
    assert_error(rc, out, err, mentions=["standard input", "terminal"])


@pytest.mark.parametrize("option,rc_expected,mentions", [
    (["--seq-len", "0"], 2, ["--seq-len"]), (["--seq-len", "-1"], 2, ["--seq-len"]),
    (["--seq-len", "99999999999"], 2, ["--seq-len"]), (["--seq-len", "nan"], 2, ["--seq-len"]),
    (["--model", "bow"], 2, ["--model"]), (["--bidirectional"], 1, ["left to right"]),
], ids=lambda v: " ".join(v) if isinstance(v, list) and v[0].startswith("--") else None)
def test_train_lm_bad_options(folder, lm, option, rc_expected, mentions):
    corpus = folder / "fox.txt"
    rc, out, err = run(["train", corpus, "--task", "lm", "-o", folder / "lm2.npz", *option])
    assert_error(rc, out, err, rc_expected=rc_expected, mentions=mentions)
    assert not (folder / "lm2.npz").exists()


@pytest.mark.parametrize("content,mentions", [
    (b"", ["empty file"]), (b"abc\x00def\n", ["binary file"]), (b"ab\n\xff\n", ["line 2", "invalid UTF-8"]),
], ids=["empty", "nul", "bad-utf8"])
def test_train_lm_on_hostile_corpora(folder, content, mentions):
    corpus = write(folder, "corpus.txt", content)
    rc, out, err = run(["train", corpus, "--task", "lm", "-o", folder / "lm3.npz", "--hidden", "8"])
    assert_error(rc, out, err, mentions=["corpus.txt", *mentions])


# ----------------------------------------------------------------- huge inputs: the results


def test_a_single_50_mb_line(big_runs):
    """train (bow) and predict (bow and LSTM) survive one 50 MB line; peak RSS is printed (about 20x
    the line: its tokens as strings). Reading used to be quadratic in the line length (one copy of
    the line per 64 KB chunk: 40 s for predict alone); now each line is joined once."""
    results, seconds = _collect(big_runs, "50 MB line")
    for k, (rc, peak, err, out) in results.items():
        assert rc == 0 and "Traceback" not in err, (k, err[-500:])
        assert peak < 4096, (k, peak)
    summary = json.loads(results["train"][3])
    assert summary["n_train"] + summary["n_val"] == 41
    for k in ("predict bow", "predict lstm"):
        assert len(results[k][3].splitlines()) == 2, k
    print(f"\n50 MB line (done {seconds:.1f}s after the module started); peak RSS: "
          + ", ".join(f"{k} {r[1]:.0f} MB" for k, r in results.items()))


def test_a_million_tiny_rows_in_bounded_memory(big_runs):
    """train --model bow --epochs 1 on 1M rows and predict on 1M lines: peak RSS of each (rusage of
    a small launcher's child) stays under 2 GB; the figures are printed (run with -s)."""
    results, seconds = _collect(big_runs, "1M rows")
    (train_rc, train_mb, train_err, _), (pred_rc, pred_mb, pred_err, out) = results["train"], results["predict"]
    assert train_rc == 0, train_err[-500:]
    assert pred_rc == 0, pred_err[-500:]
    assert out.count(b"\n") == 1_000_000
    print(f"\n1M rows (done {seconds:.1f}s after the module started): peak RSS train --model bow "
          f"--epochs 1: {train_mb:.0f} MB; predict: {pred_mb:.0f} MB")
    assert train_mb < 2048 and pred_mb < 2048
