"""``seqcli generate`` through a local Typer app (in-process with CliRunner, and as a real process for
streaming and ``| head``): determinism, --argmax reproducing a memorised text, the prime rules,
--until / -n, the novelty note, and quiet ends of closed pipes."""

import os
import subprocess
import sys
import time

import pytest
import typer
from typer.testing import CliRunner

from seqcli.cli import guarded
from seqcli.cli.generate import generate, unescape
from lmtrain import train_lm

REPEAT = "the quick brown fox jumps over the lazy dog.\n"
APP_SRC = ("import typer\nfrom seqcli.cli import guarded\nfrom seqcli.cli.generate import generate\n"
           "app = typer.Typer(add_completion=False)\napp.command()(guarded(generate))\napp()\n")

app = typer.Typer(add_completion=False)
app.command()(guarded(generate))


def run(args, input=None):
    result = CliRunner().invoke(app, [str(a) for a in args], input=input if input is not None else "")
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def lm(tmp_path_factory):
    d = tmp_path_factory.mktemp("lmcli")
    corpus = d / "fox.txt"
    corpus.write_text(REPEAT * 12, encoding="utf-8")
    out = d / "fox.npz"
    summary = train_lm(corpus, out, dict(hidden=48, embed=16, seq_len=24, batch_size=4, lr=0.02, dropout=0, epochs=60,
                                         val_split=0, patience=100, seed=1))
    assert summary["val_loss"] < 0.03
    return out


def test_argmax_reproduces_the_memorised_text(lm):
    rc, out, err = run([lm, "--prime", "the lazy", "--length", len(REPEAT), "--argmax"])
    assert rc == 0, err
    start = REPEAT.index("the lazy") + len("the lazy")
    assert out == "the lazy" + (REPEAT * 2)[start: start + len(REPEAT)] + "\n"
    assert "novel 8-grams: 0.0%" in err and "argmax" in err


def test_temperature_zero_is_argmax(lm):
    a = run([lm, "--prime", "the", "--length", 80, "--argmax"])
    b = run([lm, "--prime", "the", "--length", 80, "--temperature", "0"])
    assert a[0] == b[0] == 0 and a[1] == b[1]


def test_same_seed_same_text(lm):
    args = [lm, "--length", 300, "--temperature", "3"]
    one, two, other = run(args + ["--seed", 4]), run(args + ["--seed", 4]), run(args + ["--seed", 5])
    assert one[0] == 0 and one[1] == two[1] != other[1]
    assert "(seed 4)" in one[2]
    fresh = run(args)
    assert fresh[0] == 0 and "(seed " in fresh[2]      # no --seed: a fresh one, named for reuse


def test_unknown_prime_characters_are_named_or_skipped(lm):
    rc, out, err = run([lm, "--prime", "the Zoë ☃"])
    assert rc == 1 and out == ""
    assert err.startswith("seqcli: error: --prime has 3 characters the model never saw")
    assert "'Z' (U+005A)" in err and "'ë' (U+00EB)" in err and "'☃' (U+2603)" in err
    assert "--skip-unknown" in err and "Traceback" not in err
    rc, out, err = run([lm, "--prime", "the Zoë lazy", "--skip-unknown", "--argmax", "--length", 5])
    assert rc == 0 and out.startswith("the o lazy")
    assert "dropped from the prime" in err


def test_until_and_count_give_one_sample_per_line(lm):
    rc, out, err = run([lm, "-n", 3, "--until", "\\n", "--length", 1000, "--argmax"])
    assert rc == 0, err
    assert out == REPEAT * 3                        # each sample starts at a line start, ends at "\n"
    assert "in 3 samples" in err
    rc, out, err = run([lm, "-n", 4, "--until", "dog.", "--length", 1000, "--seed", 2, "--temperature", "0.7"])
    assert rc == 0 and out.count("\n") == 4 and all(line.endswith("dog.") for line in out.splitlines())


def test_prime_from_stdin_and_no_echo(lm):
    rc, out, err = run([lm, "--prime", "-", "--length", 11, "--argmax", "--no-echo"], input="the quick")
    assert rc == 0, err
    assert out == " brown fox \n"
    rc, out, err = run([lm, "--prime", "-", "--length", 11, "--argmax"], input="the quick")
    assert out == "the quick brown fox \n"


def test_length_zero_echoes_the_prime_only(lm):
    rc, out, err = run([lm, "--prime", "the fox", "--length", 0])
    assert rc == 0 and out == "the fox\n"
    assert "too short for the novelty check" in err


def test_quiet_drops_the_note(lm):
    rc, out, err = run([lm, "--length", 20, "--seed", 1, "-q"])
    assert rc == 0 and len(out) >= 20 and err == ""


def test_usage_errors(lm):
    assert run([lm, "--temperature", "-1"])[0] == 2
    assert run([lm, "--temperature", "nan"])[0] == 2
    assert run([lm, "--top-k", "0"])[0] == 2
    assert run([lm, "--until", ""])[0] == 2


def test_a_classifier_or_missing_file_is_a_one_line_error(tmp_path, tiny_model):
    rc, out, err = run([tiny_model])
    assert rc == 1 and "bag-of-words classifier" in err and "language model" in err and err.count("\n") == 1
    rc, out, err = run([tmp_path / "nope.npz"])
    assert rc == 1 and "no such model file" in err and err.count("\n") == 1


def test_unescape():
    assert unescape("a\\nb\\t\\\\n") == "a\nb\t\\n"


# ----------------------------------------------------------------------------- real processes

def _env():
    env = {k: v for k, v in os.environ.items() if k != "SEQCLI_DEBUG"}
    env["NO_COLOR"] = "1"
    return env


def test_head_ends_quietly(lm):
    script = (f"set -o pipefail; {sys.executable} -c \"$APP\" {lm} --length 1000000000 --seed 3 "
              f"| head -c 100")
    started = time.monotonic()
    proc = subprocess.run(["bash", "-c", script], capture_output=True, env={**_env(), "APP": APP_SRC},
                          timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout) == 100 and proc.stderr == b""
    assert time.monotonic() - started < 60


def test_output_is_streamed_as_it_is_generated(lm):
    """The first characters arrive while the process is still generating (a billion characters)."""
    proc = subprocess.Popen([sys.executable, "-c", APP_SRC, str(lm), "--length", "1000000000", "--argmax",
                             "--prime", "the"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, env=_env())
    try:
        first = proc.stdout.read(40)
        assert first == (REPEAT * 2)[:40].encode()
        assert proc.poll() is None                   # still running: the text was streamed
        proc.stdout.close()                          # the reader goes away ...
        assert proc.wait(timeout=60) == 0            # ... and the writer ends quietly
        assert proc.stderr.read() == b""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_explain_colours_the_sample_on_stderr_and_keeps_stdout_the_text(lm):
    plain = run([lm, "--prime", "the", "--length", 40, "--argmax"])
    rc, out, err = run([lm, "--prime", "the", "--length", 40, "--argmax", "--explain", "--units", "top:2",
                        "--no-color"])
    assert rc == 0 and out == plain[1]  # the explanation never mixes into the generated text
    assert "unit" in err and "gate saturation" in err and "Γf forget gate" in err
    assert any(ch in err for ch in "░▒▓█")


def test_explain_options_need_explain(lm):
    rc, _, err = run([lm, "--length", 5, "--units", "top:2"])
    assert rc == 2 and "--explain" in err
