"""Time forward+backward of seqcli's NumPy RNN / GRU / LSTM layers against PyTorch CPU.

    python bench/bench_rnn.py [--reps 20] [--threads 2] [--cells lstm,gru,rnn] [--configs a,b,c]

Needs seqcli and torch importable by the same interpreter (a throw-away venv:
``pip install -e . torch==2.13.0``); torch is never a dependency of seqcli.

Why two worker processes: torch and NumPy each bring a BLAS thread pool, and in one process they
interfere and distort the timings. So one worker imports only NumPy/seqcli, the other only torch,
and the parent alternates between them, one measurement at a time, so both see the same machine
state (interleaved, never concurrent). The NumPy worker keeps freed memory for reuse as
seqcli's training loop does (train.reuse_freed_memory), the counterpart of torch's caching
allocator. Each measurement is the median of ``--reps`` runs after
warm-up. Shapes: E = input size, H = hidden units, B = batch, T = steps; float32; full-length
batches (no padding).
"""

import argparse
import json
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
    from seqcli.train import reuse_freed_memory
    reuse_freed_memory()  # what seqcli's training loop does (torch has its caching allocator)


def median_time(fn, reps):
    # warm-up for at least 0.3 s: the first calls of a process grow the heap and fault pages in
    # (measured: the first shape timed in a fresh worker ran 3x slower after only two calls)
    start, calls = time.perf_counter(), 0
    while calls < 3 or time.perf_counter() - start < 0.3:
        fn(); calls += 1
    times = []
    for _ in range(reps):
        t0 = time.perf_counter(); fn(); times.append(time.perf_counter() - t0)
    return float(np.median(times))


def numpy_case(cell, E, H, B, T, what):
    rng = np.random.default_rng(0)
    p = cells.init_params(cell, E, H, rng, np.float32)
    x = rng.standard_normal((T, E, B)).astype(np.float32)
    a0 = np.zeros((H, B), np.float32)
    da = rng.standard_normal((T, H, B)).astype(np.float32)
    def fwd():
        return cells.forward(cell, x, a0, p)
    def fwd_bwd():
        a, cache = cells.forward(cell, x, a0, p)
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
for line in sys.stdin:
    req = json.loads(line)
    fn = case(req["cell"], *req["shape"], req["what"])
    print(json.dumps({"seconds": median_time(fn, req["reps"])}), flush=True)
'''


def start(side, threads):
    return subprocess.Popen([sys.executable, "-c", WORKER, side, str(threads)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, bufsize=1)


def ask(worker, req):
    worker.stdin.write(json.dumps(req) + "\n")
    worker.stdin.flush()
    line = worker.stdout.readline()
    if not line:
        raise SystemExit("a benchmark worker died (is torch installed in this interpreter?)")
    return json.loads(line)["seconds"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2, help="threads for torch (numpy's BLAS uses its default)")
    ap.add_argument("--cells", default="lstm,gru,rnn")
    ap.add_argument("--configs", default="a,b,c")
    ap.add_argument("--json", action="store_true", help="print the results as JSON too")
    args = ap.parse_args()
    ours, theirs = start("numpy", args.threads), start("torch", args.threads)
    cases = [(cell, name, what) for cell in args.cells.split(",") for name in args.configs.split(",")
             for what in ("fwd", "fwd+bwd")]
    # one untimed round over every case first: the first shape a fresh worker runs was measured
    # 2-3x slower than the same shape run later, whatever its own warm-up
    for cell, name, what in cases:
        req = {"cell": cell, "shape": CONFIGS[name], "what": "fwd" if what == "fwd" else "fwd_bwd", "reps": 1}
        ask(ours, req), ask(theirs, req)
    rows = []
    print(f"{'cell':5} {'cfg':3} {'E,H,B,T':>16} {'what':8} {'numpy ms':>9} {'torch ms':>9} {'ratio':>6}")
    for cell, name, what in cases:
        shape = CONFIGS[name]
        req = {"cell": cell, "shape": shape, "what": "fwd" if what == "fwd" else "fwd_bwd", "reps": args.reps}
        t_np, t_torch = ask(ours, req), ask(theirs, req)
        ratio = t_np / t_torch
        rows.append({"cell": cell, "config": name, "shape": shape, "what": what,
                     "numpy_ms": t_np * 1e3, "torch_ms": t_torch * 1e3, "ratio": ratio})
        print(f"{cell:5} {name:3} {','.join(map(str, shape)):>16} {what:8} {t_np * 1e3:9.2f} "
              f"{t_torch * 1e3:9.2f} {ratio:6.2f}", flush=True)
    for w in (ours, theirs):
        w.stdin.close()
        w.wait()
    if args.json:
        print(json.dumps(rows))


if __name__ == "__main__":
    main()
