"""A producer that writes one line and the start of the next, then waits for the first answer: what
an interactive pipe does, and what ``seqcli predict`` must answer at once."""

import subprocess
import sys
import threading

from conftest import _env


def half_written_exchange(args, written, rest, timeout=30):
    """Run ``seqcli ARGS``, write ``written`` (a whole line, then part of the next), read one answer line,
    write ``rest`` and close stdin. Returns (the first answer line, everything printed after it); fails
    when the first answer does not come while the second line is still half-written."""
    p = subprocess.Popen([sys.executable, "-m", "seqcli", *map(str, args)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
    answers = []
    try:
        p.stdin.write(written)
        p.stdin.flush()
        reader = threading.Thread(target=lambda: answers.append(p.stdout.readline()))
        reader.start()
        reader.join(timeout=timeout)
        assert not reader.is_alive(), "the first line was not answered while the second was half-written"
        p.stdin.write(rest)
        p.stdin.close()
        after = p.stdout.read()
        assert p.wait(timeout=timeout) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()
        p.stderr.close()
    return answers[0], after
