"""Child processes of a running seqcli, read from /proc (Linux): who its workers are, and whether any
outlives a signal to the parent."""

import signal
import time


def children(pid):
    """The pids of ``pid``'s children ([] when it has none or is gone)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(c) for c in f.read().split()]
    except OSError:
        return []


def alive(pid):
    """Whether ``pid`` runs (a zombie does not)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return "\nState:\tZ" not in f.read()
    except OSError:
        return False


def signal_and_wait(proc, workers, how, timeout=10):
    """Send signal ``how`` ("SIGINT", "SIGKILL") to ``proc``, wait for it, then up to ``timeout`` seconds
    for ``workers`` to end; returns the pids of those still alive (none, if nothing is left behind)."""
    proc.send_signal(getattr(signal, how))
    proc.wait(timeout=60)
    deadline = time.monotonic() + timeout
    while any(alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [w for w in workers if alive(w)]
