"""Pipes (issue 7, part 4): every command that writes data ends quietly when its reader goes away.

For each command and each way the reader can go away -- ``| head -1``, ``| head -c 10``, a pipe
whose read end is already closed, and a closed stdout (``>&-``) -- the command must exit 0 with
nothing on stderr (no "Broken pipe", no traceback). SIGPIPE is never the way out: Python ignores
it, so a write raises BrokenPipeError, which seqcli turns into a quiet exit.

All the runs are real processes (``python -m seqcli``) started together by one module fixture, a
few at a time, so the whole matrix costs a few seconds; each case is then checked in its own test.
"""

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import _env, csv_text, separable_rows

LINE = "the quick brown fox jumps over the lazy dog and the good film\n"  # only characters the LM knows

# The commands the issue names get every mode; the other data-writing variants meet a closed pipe.
COMMANDS = {
    "vectorize": ["vectorize", "{mid}"],
    "predict": ["predict", "{bow}", "{big}"],
    "predict --json": ["predict", "{bow}", "{big}", "--json"],
    "predict --explain": ["predict", "{lstm}", "{big}", "--explain", "--no-color"],
    "train --json": ["train", "{csv}", "-o", "{dir}/{case}.npz", "--epochs", "1", "-q", "--json"],
    "generate": ["generate", "{lm}", "--length", "300000", "--seed", "1"],
}
MORE_COMMANDS = {
    "vectorize --format npz": ["vectorize", "--format", "npz", "{mid}"],
    "vectorize --vocab": ["vectorize", "--vocab", "{mid}"],
    "predict lm (bits per char)": ["predict", "{lm}", "{big}"],
    "predict --explain bow": ["predict", "{bow}", "{big}", "--explain"],
    "predict --explain --json": ["predict", "{lstm}", "{big}", "--explain", "--json"],
    "train --task lm --json": ["train", "{corpus}", "--task", "lm", "-o", "{dir}/{case}.npz", "--epochs", "1",
                               "--hidden", "8", "--embed", "4", "-q", "--json"],
    "compare --json": ["compare", "{csv}", "--models", "bow", "--folds", "2", "-q", "--json"],
}
MODES = ["head -1", "head -c 10", "closed pipe", "closed stdout"]
CASES = [(c, m) for c in COMMANDS for m in MODES] + [(c, "closed pipe") for c in MORE_COMMANDS]
ALL_COMMANDS = {**COMMANDS, **MORE_COMMANDS}



@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    from seqcli import models
    from seqcli.estimators import BowClassifier, SeqClassifier
    from lmtrain import train_lm

    folder = tmp_path_factory.mktemp("hostile_pipes")
    rows = separable_rows(60)
    texts, labels = [t for t, _ in rows], [y for _, y in rows]
    out = {"dir": folder, "big": folder / "big.txt", "mid": folder / "mid.txt", "csv": folder / "data.csv",
           "corpus": folder / "fox.txt"}
    out["big"].write_text(LINE * 50_000, encoding="utf-8")
    out["mid"].write_text(LINE * 10_000, encoding="utf-8")  # vectorize reads all before it writes
    out["csv"].write_text(csv_text(rows), encoding="utf-8")
    out["corpus"].write_text("the quick brown fox jumps over the lazy dog.\n" * 12, encoding="utf-8")
    for name, est in (("bow", BowClassifier(epochs=3, lr=0.2)),
                      ("lstm", SeqClassifier(cell="lstm", hidden=8, embed=8, epochs=1))):
        est.fit(texts, labels)
        out[name] = folder / f"{name}.npz"
        models.save(out[name], est.model_)
    out["lm"] = folder / "lm.npz"
    train_lm(out["corpus"], out["lm"], dict(hidden=16, embed=8, seq_len=16, batch_size=4, epochs=1,
                                             val_split=0, seed=1))
    return out


def _run_case(command, mode, paths):
    case = f"{command}-{mode}".replace(" ", "_").replace("/", "_")
    args = [a.format(case=case, **paths) for a in ALL_COMMANDS[command]]
    cmd = [sys.executable, "-m", "seqcli", *args]
    env = _env()
    if mode.startswith("head"):
        script = 'set -o pipefail; "$@" | ' + mode + " > /dev/null"
        p = subprocess.run(["bash", "-c", script, "bash", *cmd], stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, env=env, timeout=120)
    elif mode == "closed pipe":  # the reader is gone before the first write
        r, w = os.pipe()
        os.close(r)
        try:
            p = subprocess.run(cmd, stdout=w, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env,
                               timeout=120)
        finally:
            os.close(w)
    else:  # no stdout at all: >&-
        p = subprocess.run(["bash", "-c", 'exec "$@" >&-', "bash", *cmd], stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, env=env, timeout=120)
    return p.returncode, p.stderr.decode("utf-8", "replace")


def _bytes_written_before_kill(command, paths, want=(1 << 16) + 1):
    """How much of ``want`` bytes the command writes when its reader keeps reading (the control)."""
    args = [a.format(case="control", **paths) for a in ALL_COMMANDS[command]]
    p = subprocess.Popen([sys.executable, "-m", "seqcli", *args], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=_env())
    try:
        return len(p.stdout.read(want))
    finally:
        p.kill()
        p.wait()
        p.stdout.close()


CONTROLS = ("vectorize", "predict", "predict lm (bits per char)", "generate", "predict --explain --json")


@pytest.fixture(scope="module")
def results(paths):
    """Every (command, mode) run and the controls, four processes at a time."""
    started = time.monotonic()
    jobs = [("case", c, m) for c, m in CASES] + [("control", c, None) for c in CONTROLS]

    def work(job):
        kind, command, mode = job
        return _run_case(command, mode, paths) if kind == "case" else _bytes_written_before_kill(command, paths)

    with ThreadPoolExecutor(max_workers=4) as pool:
        done = dict(zip(jobs, pool.map(work, jobs)))
    print(f"\n{len(jobs)} pipe runs in {time.monotonic() - started:.1f}s")
    return {(c, m): r for (kind, c, m), r in done.items() if kind == "case"}, \
        {c: r for (kind, c, m), r in done.items() if kind == "control"}


def _params():
    for command, mode in CASES:
        yield pytest.param(command, mode, id=f"{command} | {mode}")


@pytest.mark.parametrize("command,mode", list(_params()))
def test_reader_going_away_ends_quietly(results, command, mode):
    rc, err = results[0][(command, mode)]
    assert "Traceback" not in err and "Broken pipe" not in err and "BrokenPipeError" not in err, err
    assert (rc, err) == (0, ""), (rc, err)


def test_the_commands_do_write_more_than_a_pipe_buffer(results):
    """The control: read in full, these commands write more than a pipe buffer (64 KiB), so
    ``head`` really closes the pipe while they still write. The one-document outputs (vocabulary,
    train and compare summaries) are small: the 'closed pipe' mode is what meets them."""
    assert results[1] == {c: (1 << 16) + 1 for c in CONTROLS}


def test_no_stdin_at_all(paths):
    """stdin closed (<&-) where data is read from stdin: one line, not a crash."""
    for args in (["predict", paths["bow"]], ["vectorize"], ["train", "-", "-o", paths["dir"] / "x.npz"]):
        p = subprocess.run(["bash", "-c", 'exec "$@" <&-', "bash", sys.executable, "-m", "seqcli",
                            *map(str, args)], capture_output=True, env=_env(), timeout=60)
        err = p.stderr.decode()
        assert p.returncode == 1 and p.stdout == b"", err
        assert err.startswith("seqcli: error: ") and err.count("\n") == 1 and "input" in err, err


def test_a_half_written_line_does_not_hold_back_the_answers_before_it(paths):
    """A producer writes one line and the start of the next, then waits for the first answer."""
    from pipe_helpers import half_written_exchange

    first, rest = half_written_exchange(["predict", paths["bow"]], b"the film was good and great\nthe film was aw",
                                        b"ful and bad\n")
    assert first.startswith(b"pos\t") and rest.startswith(b"neg\t") and rest.count(b"\n") == 1
