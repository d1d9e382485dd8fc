"""Data-parallel training (``--workers N``): every batch split among N processes, one BLAS thread each.

Why processes: a training step is many small products (a batch of 32 columns, a few hundred units)
with Python between them, so BLAS threads barely share it and Python threads hold the GIL; N
processes each computing 1/N of the batch do share it.

How one step runs (``Pool.step_loss``):
1. the job splits the batch into N shards (``job.shards``: index arrays, or a language model's
   columns with their part of the carried state);
2. shards 0..N-2 go to the worker processes through pipes, the last (the lightest when batches come
   longest first) is computed here meanwhile, each with its own dropout generator drawn from
   (seed, step, shard) — so a run needs no generator state to resume exactly;
3. the results come back in shard order and are combined in that fixed order: the loss and every
   gradient are the shards' means weighted by their share of the batch's denominator
   (``job.shard_loss``'s weight: rows, tokens, or class weights), which is the whole batch's mean
   up to float rounding; row-sparse embedding gradients are merged without densifying.
The parameters live in one block of shared memory that the workers map: the optimizer's in-place
update here is what they read at the next step, so no weights are sent. Whatever replaces a weight
array in the parameter dict between steps (the best weights put in to be saved) is copied back into
the block before the next step.

The same seed and the same N give the same bytes run after run (fixed shards, fixed order of
summation); a different N gives the same model up to float rounding when nothing random is drawn
(dropout, a word model's sampled softmax). Measured gains and losses: fit.SPLIT_FROM.

Workers are forked (Linux only: see ``available``), so they inherit the job and its data without
pickling; they ignore Ctrl-C (the loop here stops at the next batch boundary), die with this process
(PR_SET_PDEATHSIG), and leave when the pool closes, however training ends. An error in a
worker ends training with a WorkerError naming it; the best model written so far stays.
"""

import mmap
import os

import numpy as np

from seqcli.errors import SeqcliError
from seqcli.nn.sparse import ColumnGrad, columns_of

_ALIGN = 64   # bytes: each shared array starts on a cache line
_PARENT_ENDS = []   # this process's ends of every open pool's pipes (fits may run in threads side by side)


class WorkerError(SeqcliError):
    """A training worker failed or died."""


def available():
    """Whether worker processes can be forked here: Linux. (macOS has fork, but a process forked after
    Accelerate's BLAS has run crashes in its first product; Windows has none.)"""
    import sys

    return sys.platform.startswith("linux") and hasattr(os, "fork")


def default_workers():
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


class Pool:
    """N-1 forked workers and this process, computing each batch's loss and gradients together.

    Use as a context manager around training: ``with Pool(job, n) as pool: ... pool.step_loss(batch)``.
    ``job`` follows training/fit.py's protocol, with ``shards``, ``shard_loss`` and ``join_shards``
    (fit.Job gives them for index-array batches); ``job.state.step`` numbers the step.
    """

    def __init__(self, job, n, seed):
        self.job, self.n, self.seed = job, int(n), int(seed)
        self.params = job.model.net.params
        self.conns, self.pids, self.shared = [], [], {}
        self.slots = []   # per worker 1..N-1: {name: a shared array where it leaves that dense gradient}

    def __enter__(self):
        self._share()
        try:
            for k in range(1, self.n):
                self._fork(k)
        except OSError as exc:   # EAGAIN (process limit), ENOMEM
            self.close()
            raise WorkerError(f"could not start {self.n - 1} training worker{'s' if self.n > 2 else ''} "
                              f"({exc.strerror or exc}); try a smaller --workers") from None
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # -- one step ----------------------------------------------------------------------------------

    def step_loss(self, batch, rng=None):
        """(loss, grads, rows, tokens) of ``batch`` as one process would give them (``rng`` unused:
        each shard draws from its own generator)."""
        self._sync()
        shards = self.job.shards(batch, self.n)
        step, last = self.job.state.step, len(shards) - 1
        for k, shard in enumerate(shards[:last]):   # worker k+1 takes shard k
            self.conns[k].send((shard, self._key(step, k)))
        # this process takes the last shard, the lightest where batches are sorted longest first (a
        # tagger's), as it also sums the parts and steps the optimizer
        own = self.job.shard_loss(shards[last], np.random.default_rng(self._key(step, last)))
        results = [self._receive(k + 1) for k in range(last)] + [own]
        self.job.join_shards([r[5] for r in results])
        return combine(results)

    def _key(self, step, k):
        return [self.seed, 7919, step, k]

    def _receive(self, k):
        try:
            status, value = self.conns[k - 1].recv()
        except (EOFError, OSError):
            raise WorkerError(f"training worker {k} died (killed, or out of memory?)") from None
        if status != "ok":
            raise WorkerError(f"training worker {k} failed: {value}")
        slot = self.slots[k - 1]
        loss, grads, rows, tokens, weight, extra = value
        return loss, {name: slot[name] if isinstance(g, str) else g for name, g in grads.items()}, \
            rows, tokens, weight, extra

    # -- shared weights ----------------------------------------------------------------------------

    def _share(self):
        """Move every weight array into an anonymous shared mapping (inherited by the forks), and make
        each worker a shared slot for its dense gradients, so neither goes through a pipe."""
        self.shared = _shared_like(self.params)
        for name, view in self.shared.items():
            view[...] = self.params[name]
            self.params[name] = view
        self.slots = [_shared_like(self.params) for _ in range(1, self.n)]

    def _sync(self):
        """Put back into the shared block any weight array that was replaced since the last step."""
        for name, view in self.shared.items():
            live = self.params[name]
            if live is not view:
                view[...] = live
                self.params[name] = view

    # -- processes ---------------------------------------------------------------------------------

    def _fork(self, k):
        import multiprocessing
        import warnings

        here, there = multiprocessing.Pipe()
        parent = os.getpid()
        with warnings.catch_warnings():
            # Python 3.12+ warns about forking a process with threads (OpenBLAS's, the progress
            # display's); the worker touches none of their locks: it computes, and talks through its pipe
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:   # the worker: never returns
            code = 1
            try:
                for conn in _PARENT_ENDS + [here]:   # every pool's parent ends: they must see EOF when we go
                    conn.close()
                code = _serve(self.job, there, self.slots[k - 1], parent)
            finally:
                os._exit(code)
        there.close()
        _PARENT_ENDS.append(here)
        self.conns.append(here)
        self.pids.append(pid)

    def close(self):
        """Stop the workers (closing their pipes ends them) and give the weights back their own memory."""
        import signal
        import time

        for conn in self.conns:
            conn.close()
            _PARENT_ENDS.remove(conn)
        deadline = time.monotonic() + 5.0
        for pid in self.pids:
            while True:
                try:
                    done, _ = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    break
                if done:
                    break
                if time.monotonic() > deadline:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    break
                time.sleep(0.005)
        self.conns, self.pids, self.slots = [], [], []
        for name, view in self.shared.items():
            if self.params.get(name) is view:
                self.params[name] = view.copy()
        self.shared = {}


def _shared_like(arrays):
    """{name: a zeroed array of the same shape and dtype} in one anonymous shared mapping."""
    sizes = [-(-v.nbytes // _ALIGN) * _ALIGN for v in arrays.values()]
    block = mmap.mmap(-1, max(sum(sizes), 1))
    out, offset = {}, 0
    for (name, value), size in zip(arrays.items(), sizes):
        out[name] = np.frombuffer(block, dtype=value.dtype, count=value.size, offset=offset).reshape(value.shape)
        offset += size
    return out


def _serve(job, conn, slot, parent):
    """A worker's life: compute shards until the pipe closes; dense gradients are left in ``slot``
    (the parent reads them before it sends the next shard). Returns the exit code."""
    import sys
    import warnings

    from seqcli.stream import start_worker

    start_worker(parent)
    # the parent's stderr may be the live display's proxy, its lock held by a thread that is not here
    sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    warnings.simplefilter("ignore")   # a step's numeric warnings are the parent's to give (it sees the loss)
    while True:
        try:
            shard, key = conn.recv()
        except (EOFError, OSError):
            return 0
        try:
            loss, grads, rows, tokens, weight, extra = job.shard_loss(shard, np.random.default_rng(key))
            reply = ("ok", (loss, _into(slot, grads), rows, tokens, weight, extra))
        except Exception as exc:   # reported by the parent, which ends training cleanly
            reply = ("error", f"{type(exc).__name__}: {exc}")
        try:
            conn.send(reply)
        except (BrokenPipeError, OSError):
            return 0


_IN_SLOT = "in slot"   # what a worker sends for a gradient it left in its shared slot


def _into(slot, grads):
    """Copy the dense gradients that fit into ``slot``; returns grads with those replaced by _IN_SLOT."""
    out = {}
    for name, g in grads.items():
        room = slot.get(name)
        if isinstance(g, np.ndarray) and room is not None and g.shape == room.shape and g.dtype == room.dtype:
            room[...] = g
            g = _IN_SLOT
        out[name] = g
    return out


def combine(results):
    """One batch's (loss, grads, rows, tokens) from its shards' results.

    results: [(loss, grads, rows, tokens, weight, extra)] in shard order; each loss and gradient is a
    mean over its shard, ``weight`` that mean's denominator. Summed in the given order (so the same
    shards always give the same bytes); shards of weight 0 add nothing.
    """
    total = float(sum(r[4] for r in results))
    rows, tokens = sum(r[2] for r in results), sum(r[3] for r in results)
    used = [(r[4] / total, r[0], r[1]) for r in results if r[4] > 0] if total > 0 else []
    if not used:
        return results[0][0], results[0][1], rows, tokens
    loss = float(sum(share * loss for share, loss, _ in used))
    names = list(dict.fromkeys(name for _, _, grads in used for name in grads))
    return loss, {name: _weighted_sum([(share, grads[name]) for share, _, grads in used if name in grads])
                  for name in names}, rows, tokens


def _weighted_sum(parts):
    """sum(share * grad) over [(share, grad)] in a new array, scaling the parts in place (this step's
    results, read once); row-sparse gradients stay sparse when all parts are."""
    for share, g in parts:
        g *= (g.dtype.type(share))
    if all(isinstance(g, ColumnGrad) for _, g in parts):
        if len(parts) == 1:
            return parts[0][1]
        index = np.concatenate([g.index for _, g in parts])
        values = np.concatenate([g.values.T for _, g in parts])
        return ColumnGrad(*columns_of(index, values), parts[0][1].shape)
    out = None
    for _, g in parts:
        g = g.dense() if isinstance(g, ColumnGrad) else g
        # a fresh sum: a part may be a worker's slot, which its next step overwrites
        out = g.copy() if out is None else out.__iadd__(g)
    return out
