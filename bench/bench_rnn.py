"""Time forward+backward of seqcli's NumPy RNN / GRU / LSTM layers against PyTorch CPU.

    python bench/bench_rnn.py [--rounds 10] [--reps 3] [--threads 2] [--cells lstm,gru,rnn] [--configs a,b,c]

Needs seqcli and torch importable by the same interpreter (a throw-away venv:
``pip install -e . torch==2.13.0``); torch is never a dependency of seqcli.

Why two worker processes: torch and NumPy each bring a BLAS thread pool, and in one process they
interfere and distort the timings. So one worker imports only NumPy/seqcli, the other only torch,
and the parent alternates between them, one measurement at a time, so both see the same machine
state (interleaved, never concurrent). The NumPy worker keeps freed memory for reuse as
seqcli's training loop does (train.reuse_freed_memory), the counterpart of torch's caching
allocator. This machine is a shared VM whose speed drifts by tens of percent within minutes, so
the interleaving is fine-grained: ``--rounds`` passes over all cases, each timing ``--reps`` runs
of ours and ``--reps`` of torch's (who goes first alternates; each turn starts with 0.3 s of
untimed calls). The times are medians over all rounds; the ratio is the median of the rounds'
ratios, so that a drift between rounds cancels. Shapes:
E = input size, H = hidden units, B = batch, T = steps; float32; full-length batches (no padding).
"""

import argparse
import json
import statistics
import subprocess
import sys

CONFIGS = {"a": (64, 128, 32, 40), "b": (64, 256, 64, 100), "c": (128, 512, 64, 100)}

WORKER = r'''
import json, os, sys, time
import numpy as np
side, threads = sys.argv[1], int(sys.argv[2])
if side == "torch":
    import torch
    torch.set_num_threads(threads)
else:
    from seqcli.nn import cells
    from seqcli.training.loop import reuse_freed_memory
    from threadpoolctl import threadpool_limits
    threadpool_limits(threads)  # the same number of BLAS threads as torch gets
    reuse_freed_memory()  # what seqcli's training loop does (torch has its caching allocator)


def warm_up(fn, seconds):
    # the first calls of a process grow the heap and fault pages in (measured: the first shape
    # timed in a fresh worker ran 3x slower after only two calls); later, each turn still starts
    # with idle BLAS/OpenMP threads and cold caches, so every turn runs untimed calls first
    start, calls = time.perf_counter(), 0
    while calls < 2 or time.perf_counter() - start < seconds:
        fn(); calls += 1


def times(fn, reps):
    out = []
    for _ in range(reps):
        t0 = time.perf_counter(); fn(); out.append(time.perf_counter() - t0)
    return out


def numpy_case(cell, E, H, B, T, what):
    rng = np.random.default_rng(0)
    p = cells.init_params(cell, E, H, rng, np.float32)
    x = rng.standard_normal((T, E, B)).astype(np.float32)
    a0 = np.zeros((H, B), np.float32)
    da = rng.standard_normal((T, H, B)).astype(np.float32)
    def fwd():
        return cells.forward(cell, x, (a0,), p)
    def fwd_bwd():
        a, cache = cells.forward(cell, x, (a0,), p)
        cells.backward(cell, da, cache)
    return fwd if what == "fwd" else fwd_bwd


def torch_case(cell, E, H, B, T, what):
    torch.manual_seed(0)
    layer = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell](E, H)
    x = torch.randn(T, B, E, requires_grad=True)
    da = torch.randn(T, B, H)
    def fwd():
        with torch.no_grad():
            layer(x)
    def fwd_bwd():
        layer.zero_grad(set_to_none=True)
        x.grad = None
        out, _ = layer(x)
        out.backward(da)
    return fwd if what == "fwd" else fwd_bwd


case = torch_case if side == "torch" else numpy_case
prepared = {}  # each case is built once, then warmed up and timed in every round
for line in sys.stdin:
    req = json.loads(line)
    key = (req["cell"], tuple(req["shape"]), req["what"])
    if key not in prepared:
        prepared[key] = case(req["cell"], *req["shape"], req["what"])
    warm_up(prepared[key], 0.3)
    print(json.dumps({"seconds": times(prepared[key], req["reps"])}), flush=True)
'''


def start(side, threads):
    return subprocess.Popen([sys.executable, "-c", WORKER, side, str(threads)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, bufsize=1)


def exchange(worker, req):
    """Send one request line to a worker; its answer line as a dict."""
    worker.stdin.write(json.dumps(req) + "\n")
    worker.stdin.flush()
    line = worker.stdout.readline()
    if not line:
        raise SystemExit("a benchmark worker died (is torch installed in this interpreter?)")
    return json.loads(line)


def ask(worker, req):
    return exchange(worker, req)["seconds"]


def spawn(code, args, threads):
    """A worker process running ``code`` (``python -c``) with ``args``, its BLAS and OpenMP pools set to
    ``threads`` before numpy loads (threadpoolctl may be missing in a throw-away torch venv)."""
    import os

    env = {**os.environ, **{k: str(threads) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}}
    return subprocess.Popen([sys.executable, "-c", code, *map(str, args)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, bufsize=1, env=env)


def rates(worker, req):
    """Tokens per second of each timed run a worker reports ({"seconds": [...], "tokens": n})."""
    reply = exchange(worker, req)
    return [reply["tokens"] / s for s in reply["seconds"]]


def interleave(ours, theirs, cases, rounds, ask, request):
    """{case: (our figures, theirs, the rounds' ratios)} of ``rounds`` passes over ``cases``: each case asks
    ``ask(worker, request(case))`` of both workers, who goes first alternating from round to round (so
    neither side always follows the other); a ratio is the median of ours over the median of theirs.
    The workers' stdin is closed at the end and they are waited for."""
    samples = {case: ([], [], []) for case in cases}
    for r in range(rounds):
        for case in cases:
            req = request(case)
            if r % 2:
                t_th, t_np = ask(theirs, req), ask(ours, req)
            else:
                t_np, t_th = ask(ours, req), ask(theirs, req)
            samples[case][0].extend(t_np)
            samples[case][1].extend(t_th)
            samples[case][2].append(statistics.median(t_np) / statistics.median(t_th))
    for w in (ours, theirs):
        w.stdin.close()
        w.wait()
    return samples


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=10, help="passes over all cases, interleaved")
    ap.add_argument("--reps", type=int, default=3, help="timed runs per case and side in each round")
    ap.add_argument("--threads", type=int, default=2, help="threads for torch and for numpy's BLAS")
    ap.add_argument("--cells", default="lstm,gru,rnn")
    ap.add_argument("--configs", default="a,b,c")
    ap.add_argument("--json", action="store_true", help="print the results as JSON too")
    args = ap.parse_args()
    ours, theirs = start("numpy", args.threads), start("torch", args.threads)
    cases = [(cell, name, "fwd" if what == "fwd" else "fwd_bwd") for cell in args.cells.split(",")
             for name in args.configs.split(",") for what in ("fwd", "fwd+bwd")]
    # one untimed round over every case first (builds and warms each up): the first shape a fresh
    # worker runs was measured 2-3x slower than the same shape run later, whatever its own warm-up
    for cell, name, what in cases:
        req = {"cell": cell, "shape": CONFIGS[name], "what": what, "reps": 1}
        ask(ours, req), ask(theirs, req)
    samples = interleave(ours, theirs, cases, args.rounds, ask,
                         lambda case: {"cell": case[0], "shape": CONFIGS[case[1]], "what": case[2], "reps": args.reps})
    rows = []
    print(f"{'cell':5} {'cfg':3} {'E,H,B,T':>16} {'what':8} {'numpy ms':>9} {'torch ms':>9} {'ratio':>6}")
    for (cell, name, what), (t_ours, t_torch, ratios) in samples.items():
        t_np, t_th, ratio = statistics.median(t_ours), statistics.median(t_torch), statistics.median(ratios)
        what = what.replace("_", "+")
        rows.append({"cell": cell, "config": name, "shape": CONFIGS[name], "what": what,
                     "numpy_ms": t_np * 1e3, "torch_ms": t_th * 1e3, "ratio": ratio})
        print(f"{cell:5} {name:3} {','.join(map(str, CONFIGS[name])):>16} {what:8} {t_np * 1e3:9.2f} "
              f"{t_th * 1e3:9.2f} {ratio:6.2f}", flush=True)
    if args.json:
        print(json.dumps(rows))


if __name__ == "__main__":
    main()
