"""What ``--workers`` gains per training step: each task's default model, one process against N.

    python bench/bench_workers.py [--tasks classify,lm,tag,seq2seq,transformer] [--workers 2]
        [--steps 40] [--rounds 2] [--hidden H]

For each task the job is built the way ``seqcli train`` builds it from the public data in
../shared/data (rt-polarity, tinyshakespeare, UD EWT, CMUdict); then its first ``--steps`` batches go
through ``training.workers.Pool.step_loss`` with 1 process and with N, alternating ``--rounds`` times,
BLAS on one thread per process. Printed: the median step time of each and their ratio (one / N; above
1 means the workers gain), with the load average, since a busy machine is exactly where they lose
(fit.SPLIT_FROM records the figures behind the default). Forward and backward only: the optimizer's
step, which stays in the parent, is not timed.
"""

import argparse
import csv
import os
import statistics
import time

import numpy as np

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data")


def job_of(task, hidden):
    """The job of ``task``'s default model (``hidden`` overrides the classifier's width)."""
    path = lambda name: os.path.join(DATA, name)   # noqa: E731
    if task == "lm":
        from seqcli.tasks import lm
        return lm.prepare(path("tinyshakespeare.txt"), "lstm", {"hidden": 256}).job
    if task == "tag":
        from seqcli.tasks import tag
        return tag.prepare(path("en_ewt-ud-train.conllu"), "lstm", {}, None, path("en_ewt-ud-dev.conllu")).job
    if task == "seq2seq":
        from seqcli.tasks import seq2seq
        return seq2seq.prepare(path("cmudict-train.csv"), "lstm", {}, None, path("cmudict-dev.csv")).job
    from seqcli.tasks import classify
    with open(path("rt-polarity.csv"), encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    texts, labels = [r[rows[0].index("text")] for r in rows[1:]], np.array([r[rows[0].index("label")] for r in rows[1:]])
    kind, params = ("transformer", {}) if task == "transformer" else ("lstm", {} if hidden is None else {"hidden": hidden})
    return classify.make_job(kind, params, texts, labels, texts[:300], labels[:300])[0]


def step_ms(job, batches, n, task):
    """Median milliseconds of one step over ``batches`` with ``n`` processes."""
    from seqcli.training import workers

    if task == "lm":
        job.carry = None
    with workers.Pool(job, n, 0) as pool:
        times = []
        for batch in batches:
            tick = time.perf_counter()
            pool.step_loss(batch)
            times.append(time.perf_counter() - tick)
    return statistics.median(times) * 1e3


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", default="classify,lm,tag,seq2seq,transformer")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--hidden", type=int, help="the LSTM classifier's width (default 128)")
    args = ap.parse_args()

    from seqcli.threads import blas_threads
    from seqcli.training.loop import TrainState

    print(f"{'task':12} {'1 process ms':>13} {f'{args.workers} workers ms':>14} {'gain':>6}  load")
    for task in args.tasks.split(","):
        job = job_of(task, args.hidden)
        job.state = TrainState()
        batches = list(job.make_batches(0))[:args.steps]
        got = {1: [], args.workers: []}
        with blas_threads(1):
            for _ in range(args.rounds):
                for n in got:
                    got[n].append(step_ms(job, batches, n, task))
        one, many = min(got[1]), min(got[args.workers])
        print(f"{task:12} {one:13.1f} {many:14.1f} {one / many:6.2f}  {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
