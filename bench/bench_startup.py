"""Cold start: wall time of a one-line ``seqcli predict`` against ``python -c "import numpy"``.

    python bench/bench_startup.py MODEL [--n 20] [--text "a fine film"] [--importtime]

MODEL: any model file, e.g. a bag-of-words one:
``seqcli train ../shared/data/rt-polarity.csv -o /tmp/bow.npz --max-time 20s``.
Runs ``python -m seqcli predict MODEL -`` (one line on stdin) and ``python -c "import numpy"`` with this
interpreter, alternating (who goes first alternates), ``--n`` times each, and prints the medians, the
difference and the ratio (the issue's target: a difference of at most 80 ms). seqcli is imported from
wherever this interpreter finds it (set PYTHONPATH=src to time a worktree). ``--importtime`` also prints
the predict path's costliest top-level imports (``python -X importtime``, one run).
"""

import argparse
import os
import statistics
import subprocess
import sys
import time


def wall(cmd, stdin_text):
    tick = time.perf_counter()
    done = subprocess.run(cmd, input=stdin_text, capture_output=True, text=True)
    took = time.perf_counter() - tick
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed: {done.stderr.strip()}")
    return took * 1e3


def importtime(predict, text, top=15):
    done = subprocess.run([predict[0], "-X", "importtime"] + predict[1:], input=text, capture_output=True, text=True)
    rows = []
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[2].startswith(" ") and not parts[2].startswith("  "):
            try:
                rows.append((int(parts[1]), parts[2].strip()))
            except ValueError:
                pass   # the header line
    print(f"costliest top-level imports of predict (cumulative ms, one run, load {os.getloadavg()[0]:.2f}):")
    for us, name in sorted(rows, reverse=True)[:top]:
        print(f"  {us / 1e3:7.1f}  {name}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--n", type=int, default=20, help="runs of each command")
    ap.add_argument("--text", default="a fine film with a good cast")
    ap.add_argument("--importtime", action="store_true")
    args = ap.parse_args()

    text = args.text + "\n"
    numpy_cmd = [sys.executable, "-c", "import numpy"]
    predict_cmd = [sys.executable, "-m", "seqcli", "predict", args.model, "-"]
    wall(numpy_cmd, ""), wall(predict_cmd, text)   # warm the file cache
    numpy_ms, predict_ms, diffs = [], [], []
    for i in range(args.n):
        if i % 2:
            p, n = wall(predict_cmd, text), wall(numpy_cmd, "")
        else:
            n, p = wall(numpy_cmd, ""), wall(predict_cmd, text)
        numpy_ms.append(n)
        predict_ms.append(p)
        diffs.append(p - n)
    print(f"wall ms, median of {args.n} alternating runs; load {os.getloadavg()[0]:.2f}")
    print(f"  python -c 'import numpy'   {statistics.median(numpy_ms):7.1f}")
    print(f"  seqcli predict (one line)  {statistics.median(predict_ms):7.1f}")
    print(f"  difference (median of the pairs') {statistics.median(diffs):7.1f}   "
          f"ratio {statistics.median(predict_ms) / statistics.median(numpy_ms):.2f}")
    if args.importtime:
        importtime(predict_cmd, text)


if __name__ == "__main__":
    main()
