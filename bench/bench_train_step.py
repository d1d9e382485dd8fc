"""Training step time, two ways in one process, alternating: one BLAS thread against ``--threads``
(``--vs threads``), or the classifier's sparse embedding gradient against the dense one (``--vs dense``),
or Adam against LazyAdam (``--vs lazy``; both on one thread).

    python bench/bench_train_step.py [--vs threads|dense|lazy] [--task classify] [--model lstm] [--data FILE]
                                     [--rounds 6] [--steps 40] [--threads 2] [--param hidden=256 ...]

Builds the job ``seqcli train`` would build (the task's own ``prepare``) and times whole training
steps (forward, backward, clipping, the optimizer's step) on the job's own batches, ``--steps`` at a
time, alternating between the two ways (who goes first alternates
from round to round, each turn starts with two untimed steps), so both see the same machine state. The
figures are medians of ms per step; the ratio is the median of the rounds' ratios. Run it with
``uptime`` beside it: under load the many-thread figure is the one that suffers.
"""

import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "shared", "data")


def _value(text):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vs", choices=("threads", "dense", "lazy"), default="threads")
    ap.add_argument("--task", default="classify")
    ap.add_argument("--model", default="lstm")
    ap.add_argument("--data", default=None, help="default: rt-polarity.csv (classify), tinyshakespeare.txt (lm)")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--steps", type=int, default=40, help="timed steps per turn")
    ap.add_argument("--threads", type=int, default=2, help="the many-thread side (numpy's default here: 2)")
    ap.add_argument("--param", action="append", default=[], help="a hyperparameter, NAME=VALUE")
    args = ap.parse_args()

    import numpy as np
    from threadpoolctl import threadpool_limits

    from seqcli import tasks
    from seqcli.nn.functional import clip_by_global_norm
    from seqcli.nn.optim import make_optimizer
    from seqcli.training.loop import reuse_freed_memory

    data = args.data or os.path.join(DATA, "tinyshakespeare.txt" if args.task == "lm" else "rt-polarity.csv")
    params = {k: _value(v) for k, v in (p.split("=", 1) for p in args.param)}
    job = tasks.module(args.task).prepare(data, args.model, params).job
    reuse_freed_memory()
    cfg = job.cfg
    opts = {"base": make_optimizer(cfg.optimizer, cfg.lr, cfg.weight_decay),
            "other": make_optimizer("lazyadam" if args.vs == "lazy" else cfg.optimizer, cfg.lr, cfg.weight_decay)}
    batches = job.make_batches(0)
    rng = np.random.default_rng(0)
    at = [0]

    def step(way):
        batch = batches[at[0] % len(batches)]
        at[0] += 1
        _, grads, _, _ = job.step_loss(batch, rng)
        clip_by_global_norm(grads, cfg.clip)
        opts[way].step(job.model.net.params, grads)

    other = {"dense": "dense", "lazy": "lazyadam"}.get(args.vs, f"{args.threads} threads")

    def turn(way):
        if args.vs == "dense":
            job.feed.sparse = way == "base"
        with threadpool_limits(limits=1 if way == "base" or args.vs != "threads" else args.threads, user_api="blas"):
            step(way)
            step(way)
            tick = time.perf_counter()
            for _ in range(args.steps):
                step(way)
            return (time.perf_counter() - tick) / args.steps * 1e3

    base = {"dense": "sparse", "lazy": "adam"}.get(args.vs, "1 thread")
    one, many, ratios = [], [], []
    for r in range(args.rounds):
        order = ("base", "other") if r % 2 == 0 else ("other", "base")
        got = {w: turn(w) for w in order}
        one.append(got["base"])
        many.append(got["other"])
        ratios.append(got["other"] / got["base"])
        print(f"round {r}: {base} {got['base']:.2f} ms/step, {other} {got['other']:.2f} ms/step", file=sys.stderr)
    print(f"{args.task} {args.model} {params or ''}: ms per step, median of {args.rounds} rounds x {args.steps} steps; "
          f"load {os.getloadavg()[0]:.2f}")
    print(f"  {base}: {statistics.median(one):.2f}")
    print(f"  {other}: {statistics.median(many):.2f}")
    print(f"  {other} / {base}: {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
