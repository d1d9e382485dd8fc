"""Shared fixtures: a subprocess runner for ``python -m seqcli`` and small CSV builders.

The runner gives back ``(returncode, stdout, stderr)`` as text. Its stdin is /dev/null unless
``input`` is given, so a command never waits on a terminal; SEQCLI_DEBUG is removed so errors look
the way a user sees them.
"""

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE_REVIEWS = REPO / "sample_data" / "reviews.csv"
RT_POLARITY = REPO.parent / "shared" / "data" / "rt-polarity.csv"

POS_WORDS = ["good", "great", "fine", "nice", "lovely", "superb"]
NEG_WORDS = ["bad", "awful", "poor", "ugly", "dull", "boring"]


def _env(extra=None):
    env = {k: v for k, v in os.environ.items() if k != "SEQCLI_DEBUG"}
    env.setdefault("NO_COLOR", "1")
    env.update(extra or {})
    return env


def run_seqcli(args, input=None, cwd=None, env=None, timeout=120):
    """Run ``python -m seqcli ARGS``; returns (rc, stdout, stderr) as str.

    input: str or bytes for stdin (None: /dev/null).
    """
    if isinstance(input, str):
        input = input.encode("utf-8")
    proc = subprocess.run([sys.executable, "-m", "seqcli", *map(str, args)], input=input,
                          stdin=subprocess.DEVNULL if input is None else None,
                          capture_output=True, cwd=cwd, env=_env(env), timeout=timeout)
    return (proc.returncode, proc.stdout.decode("utf-8", "replace"),
            proc.stderr.decode("utf-8", "replace"))


def run_shell(script, cwd=None, env=None, timeout=120):
    """Run a bash script with ``set -o pipefail``; returns (rc, stdout, stderr) as str.

    ``SEQCLI`` in the environment is the command that runs seqcli (``python -m seqcli``).
    """
    full_env = _env(env)
    full_env["SEQCLI"] = f"{sys.executable} -m seqcli"
    proc = subprocess.run(["bash", "-c", "set -o pipefail\n" + script], capture_output=True,
                          cwd=cwd, env=full_env, timeout=timeout, stdin=subprocess.DEVNULL)
    return (proc.returncode, proc.stdout.decode("utf-8", "replace"),
            proc.stderr.decode("utf-8", "replace"))


def csv_text(rows, header=("text", "label")):
    """CSV text (header + rows) written by the csv module (quotes where needed)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def separable_rows(n=60, seed=0, classes=("pos", "neg")):
    """``n`` short (text, label) rows whose label is given away by their words.

    With two classes: pos / neg words. With three or more: each class has its own word list.
    """
    import random

    rng = random.Random(seed)
    vocab = {"pos": POS_WORDS, "neg": NEG_WORDS}
    extra = [["red", "blue", "green", "pink", "teal", "cyan"],
             ["one", "two", "three", "four", "five", "six"]]
    for i, c in enumerate(c for c in classes if c not in vocab):
        vocab[c] = extra[i % len(extra)]
    rows = []
    for i in range(n):
        label = classes[i % len(classes)]
        words = rng.sample(vocab[label], 2)
        rows.append((f"the film was {words[0]} and {words[1]}", label))
    return rows


@pytest.fixture
def seqcli():
    """The subprocess runner: ``seqcli(["vectorize"], input="...") -> (rc, out, err)``."""
    return run_seqcli


def run_inprocess(args, input=None):
    """Run a seqcli command in this process with typer's CliRunner; returns (rc, stdout, stderr).

    Much faster than a subprocess once the heavy modules are imported; use it for error paths.
    stdin is the given ``input`` (default: empty).
    """
    from typer.testing import CliRunner

    from seqcli.cli import app

    result = CliRunner().invoke(app, [str(a) for a in args], input=input if input is not None else "")
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def seqcli_inproc(monkeypatch):
    """``seqcli_inproc(args, input=None) -> (rc, out, err)`` through typer's CliRunner."""
    monkeypatch.delenv("SEQCLI_DEBUG", raising=False)
    return run_inprocess


@pytest.fixture
def shell():
    """Bash with pipefail; ``$SEQCLI`` runs seqcli."""
    return run_shell


@pytest.fixture
def write_csv(tmp_path):
    """``write_csv(rows, name="data.csv", header=("text", "label")) -> Path``; rows: sequences of str.

    Pass ``raw=`` (str) instead of rows to write exact text.
    """

    def write(rows=None, name="data.csv", header=("text", "label"), raw=None):
        path = tmp_path / name
        path.write_text(raw if raw is not None else csv_text(rows, header), encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="session")
def tiny_csv(tmp_path_factory):
    """A 60-row two-class CSV (pos / neg) that a bag-of-words model learns in two epochs."""
    path = tmp_path_factory.mktemp("tiny") / "tiny.csv"
    path.write_text(csv_text(separable_rows(60)), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_model_run(tiny_csv, tmp_path_factory):
    """``seqcli train tiny.csv --quiet`` once per session: (model path, rc, stdout, stderr)."""
    path = tmp_path_factory.mktemp("tinymodel") / "tiny.npz"
    rc, out, err = run_seqcli(["train", tiny_csv, "-o", path, "--epochs", "5", "--lr", "0.2",
                               "--quiet"])
    return path, rc, out, err


@pytest.fixture(scope="session")
def tiny_model(tiny_model_run):
    """A bag-of-words model file trained on ``tiny_csv`` by the CLI (trained once per session)."""
    path, rc, out, err = tiny_model_run
    assert rc == 0, err
    return path
