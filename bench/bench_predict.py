"""Throughput of ``seqcli predict MODEL INPUT --jobs N`` (lines per second, whole process), alternating.

    python bench/bench_predict.py MODEL INPUT [--jobs 1,2] [--rounds 4]

Each round runs every ``--jobs`` value once (the order alternates from round to round) with this
interpreter (PYTHONPATH=src to time a worktree), output to a pipe that is read and counted; figures
are medians of lines/s, and every run's output must be the same as the first's (input order kept).
Short phrases of a few words are the issue's case: e.g. the rt-polarity texts cut to 9 words.
"""

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("input")
    ap.add_argument("--jobs", default="1,2")
    ap.add_argument("--rounds", type=int, default=4)
    args = ap.parse_args()

    with open(args.input, encoding="utf-8") as f:
        n_lines = sum(1 for _ in f)
    jobs = [int(j) for j in args.jobs.split(",")]
    got, digest = {j: [] for j in jobs}, None
    for r in range(args.rounds):
        for j in (jobs if r % 2 == 0 else jobs[::-1]):
            tick = time.perf_counter()
            out = subprocess.run([sys.executable, "-m", "seqcli", "predict", args.model, args.input, "--jobs", str(j)],
                                 capture_output=True, check=True).stdout
            got[j].append(n_lines / (time.perf_counter() - tick))
            d = hashlib.sha256(out).hexdigest()
            if digest is None:
                digest = d
            elif d != digest:
                sys.exit(f"--jobs {j}: the output differs from the first run's")
    print(f"{n_lines} lines; lines/s, median of {args.rounds} runs each; load {os.getloadavg()[0]:.2f}")
    for j in jobs:
        print(f"  --jobs {j}: {statistics.median(got[j]):9.0f}")


if __name__ == "__main__":
    main()
