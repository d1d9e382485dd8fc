"""Line input for pipelines: batches of lines that never wait for input that has not come yet.

``seqcli predict`` works in batches for speed, yet an interactive pipe (a user typing, or a
producer that writes one line and waits for the answer) must get each answer at once. So lines are
read from the raw file descriptor, and a batch is handed on as soon as no further input is ready
(``select`` with a zero timeout) or the batch is full. Regular files are always ready, so they go
through in full batches.
"""

import io
import os
import re
import select
import sys

from seqcli.errors import SeqcliError


def open_source(source):
    """Binary file object for ``source`` ('-' = stdin), with one-line errors for bad paths."""
    if source in (None, "-"):
        if sys.stdin is None:
            raise SeqcliError("no standard input to read from")
        if sys.stdin.isatty():
            raise SeqcliError("reading from standard input, but it is a terminal: pipe text in "
                              "(one text per line) or give a file path")
        return sys.stdin.buffer
    if os.path.isdir(source):
        raise SeqcliError(f"{source}: is a directory, not a file")
    try:
        return open(source, "rb")
    except FileNotFoundError:
        raise SeqcliError(f"{source}: no such file") from None
    except OSError as exc:
        raise SeqcliError(f"{source}: cannot open ({exc.strerror})") from None


ERRORS = ("replace", "skip", "strict")
_BAD = re.compile("[\x00\udc80-\udcff]")   # NUL, or a byte that was not UTF-8 (surrogateescape)


class BadLines:
    """What ``line_batches`` did with lines that were not clean text (``errors`` != strict).

    ``errors="replace"``: each bad byte (or NUL) becomes U+FFFD and the line goes on;
    ``errors="skip"``: the line becomes empty (its output line is empty). Either way it is counted here,
    so the command can say once, at the end, which lines they were."""

    def __init__(self, errors):
        self.errors, self.lines = errors, []

    def fix(self, line, number):
        if not _BAD.search(line):
            return line
        self.lines.append(number)
        return "" if self.errors == "skip" else _BAD.sub("\ufffd", line)

    def fix_all(self, lines, first):
        """``lines`` (numbered from ``first``) with each bad line fixed; one search when all are clean."""
        if not _BAD.search("\n".join(lines)):
            return lines
        return [self.fix(line, number) for number, line in enumerate(lines, first)]

    def summary(self, name):
        """One line for stderr, or None when every line was clean."""
        if not self.lines:
            return None
        n, shown = len(self.lines), ", ".join(map(str, self.lines[:5]))
        more = f" and {n - 5} more" if n > 5 else ""
        what = "replaced by U+FFFD" if self.errors == "replace" else "left empty"
        return (f"{name}: {n} line{'s' if n != 1 else ''} held bytes that are not UTF-8 text (or NUL), "
                f"{what}: line{'s' if n != 1 else ''} {shown}{more} (--errors strict stops instead)")


def line_batches(stream, name, max_batch=512, chunk=1 << 16, bad=None):
    """Yield lists of decoded lines (newline and CR stripped; BOM dropped) from binary ``stream``.

    Each input line gives exactly one item, an empty line included; a last line without a newline
    counts. Decoding follows ``seqcli.data`` (the one place for the input rules): UTF-8, or UTF-16
    after a UTF-16 byte-order mark. Invalid bytes and NUL characters (a binary file) raise
    SeqcliError naming ``name`` and the line, unless ``bad`` (a BadLines) says to replace them or
    leave the line empty: one bad line never ends a stream. A line's pieces are joined once, when
    its end arrives, so a single 50 MB line costs linear time, not one copy per chunk.
    """
    from seqcli import data

    try:
        fd = stream.fileno()
        interactive = not _is_regular(fd)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        fd, interactive = None, False
    source = _FdReader(fd, chunk, name) if fd is not None else stream
    batch, number = [], 0
    for lines in data.line_lists(data.decoded_pieces(source, name, chunk, strict=bad is None)):
        if bad is not None and lines:
            lines = bad.fix_all(lines, number + 1)
        number += len(lines)
        batch += lines
        full = len(batch) - len(batch) % max_batch
        for start in range(0, full, max_batch):
            yield batch[start:start + max_batch]
        if full:
            batch = batch[full:]
        # a piece is used up and nothing more has come yet: answer the complete lines now,
        # even while the next line is half-typed
        if batch and interactive and not _ready(fd):
            yield batch
            batch = []
    if batch:
        yield batch


class _FdReader:
    """``read(n)`` straight from a file descriptor: returns what a pipe already holds, never
    waits for a full chunk, and leaves nothing in a Python buffer that ``select`` cannot see."""

    def __init__(self, fd, chunk, name):
        self.fd, self.chunk, self.name = fd, chunk, name

    def read(self, size=-1):
        try:
            return os.read(self.fd, size if size and size > 0 else self.chunk)
        except OSError as exc:  # an input error must not pass for a failure to write the output
            raise SeqcliError(f"{self.name}: cannot read ({exc.strerror or exc})") from None


def _is_regular(fd):
    import stat

    return stat.S_ISREG(os.fstat(fd).st_mode)


def _ready(fd):
    try:
        return bool(select.select([fd], [], [], 0)[0])
    except (OSError, ValueError):
        return True


# ----------------------------------------------------------------------------- several processes

_WORK = None     # the function the forked workers of ordered_map run (they inherit it)
_LIMITS = None   # the workers' BLAS limit, kept alive


def ordered_map(fn, items, jobs=1):
    """``fn(item)`` for each of ``items``, yielded in input order, BLAS on one thread; with ``jobs`` > 1
    computed by that many forked worker processes (they inherit ``fn`` and what it refers to, a loaded
    model: nothing is pickled but the items and results).

    Still streaming: a thread reads ``items`` as they come and hands them out, at most 2 x jobs in
    flight (the input is read as fast as the output is written, not ahead of it), and each result is
    yielded as soon as it and every earlier one are done. An error reading the input is raised after
    the results of the items before it. The workers run BLAS on one thread (several processes on
    small products beat several threads), ignore Ctrl-C (the parent stops them when this generator
    ends, however it ends) and die with the parent (Linux).
    """
    if jobs <= 1:   # one BLAS thread here too: two collapsed under load (LSTM predict 8.5-13.8 s vs 2.7 s)
        from seqcli.threads import blas_threads

        with blas_threads(1):
            yield from map(fn, items)
        return
    import multiprocessing
    import queue
    import threading

    global _WORK
    _WORK = fn
    pool = multiprocessing.get_context("fork").Pool(jobs, initializer=start_worker, initargs=(os.getpid(),))
    window, ready = threading.Semaphore(2 * jobs), queue.Queue()

    def feed():
        try:
            for item in items:
                window.acquire()
                ready.put(pool.apply_async(_work, (item,)))
        except BaseException as exc:   # delivered in order, after the results before it
            ready.put(exc)
        ready.put(None)

    threading.Thread(target=feed, daemon=True).start()
    try:
        while True:
            got = ready.get()
            if got is None:
                return
            if isinstance(got, BaseException):
                raise got
            result = got.get()
            window.release()
            yield result
    finally:
        pool.terminate()
        pool.join()
        _WORK = None


def _work(item):
    return _WORK(item)


def start_worker(parent):
    """In each worker: one BLAS thread, Ctrl-C left to the parent, and an end with the parent."""
    import signal

    global _LIMITS
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass   # not Linux: the pool's own end still stops the workers
    if os.getppid() != parent:   # the parent died before prctl took effect
        os._exit(1)
    from seqcli.threads import blas_threads

    _LIMITS = blas_threads(1)
