"""The optimizer's share of a step for a large embedding: dense gradient against ``ColumnGrad``.

    python bench/bench_sparse_adam.py [--vocab 14000] [--embed 128] [--touched 300] [--rounds 8] [--reps 20]

One process, one BLAS thread (as training runs), alternating between the two forms round by round (who
goes first alternates). Each form times what a training step does with the embedding's gradient once
the backward pass has the per-token rows: build it (scatter-add of the (tokens, embed) rows into a
dense (embed, vocab) array, or the sorted sums of the touched columns), clip by the global norm, and
Adam's step; "lazy" is the sparse gradient with LazyAdam's step (touched columns only). "adam" is
the step alone. Figures: medians in ms; the ratio is the median of the rounds'.
"""

import argparse
import os
import statistics
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vocab", type=int, default=14000)
    ap.add_argument("--embed", type=int, default=128)
    ap.add_argument("--touched", type=int, default=300, help="distinct columns a batch reads")
    ap.add_argument("--tokens", type=int, default=32 * 12, help="tokens in a batch")
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--reps", type=int, default=20)
    args = ap.parse_args()

    import numpy as np
    from threadpoolctl import threadpool_limits

    from seqcli.nn.functional import clip_by_global_norm
    from seqcli.nn.optim import Adam, LazyAdam
    from seqcli.nn.sparse import ColumnGrad, columns_of

    rng = np.random.default_rng(0)
    shape = (args.embed, args.vocab)
    vocab_ids = rng.choice(args.vocab, args.touched, replace=False)
    ids = rng.choice(vocab_ids, args.tokens)
    rows = rng.normal(size=(args.tokens, args.embed)).astype(np.float32)
    forms = ("dense", "sparse", "lazy")
    E = {k: rng.normal(size=shape).astype(np.float32) for k in forms}
    opts = {k: (LazyAdam if k == "lazy" else Adam)(lr=1e-3) for k in E}

    def grad(form):
        index, sums = columns_of(ids, rows)
        if form != "dense":
            return ColumnGrad(index, sums, shape)
        dense = np.zeros(shape, np.float32)
        dense[:, index] = sums
        return dense

    def whole(form):
        g = {"embed.E": grad(form)}
        clip_by_global_norm(g, 5.0)
        opts[form].step({"embed.E": E[form]}, g)

    def adam_only(form, g):
        opts[form].step({"embed.E": E[form]}, g)

    def timed(fn):
        fn()
        tick = time.perf_counter()
        for _ in range(args.reps):
            fn()
        return (time.perf_counter() - tick) / args.reps * 1e3

    got = {(what, form): [] for what in ("whole", "adam") for form in forms}
    with threadpool_limits(limits=1, user_api="blas"):
        for r in range(args.rounds):
            for form in (forms if r % 2 == 0 else forms[::-1]):
                got["whole", form].append(timed(lambda: whole(form)))
                g = {"embed.E": grad(form)}
                got["adam", form].append(timed(lambda: adam_only(form, g)))
    print(f"embedding {args.embed} x {args.vocab}, {args.touched} columns touched by {args.tokens} tokens; "
          f"ms, median of {args.rounds} rounds x {args.reps}; load {os.getloadavg()[0]:.2f}")
    for what, label in (("whole", "gradient + clip + Adam"), ("adam", "Adam step alone")):
        d, s, z = got[what, "dense"], got[what, "sparse"], got[what, "lazy"]
        ratio = statistics.median(a / b for a, b in zip(d, s))
        print(f"  {label:24s} dense {statistics.median(d):7.2f}  sparse {statistics.median(s):7.2f}  "
              f"lazy {statistics.median(z):7.3f}  dense/sparse {ratio:.2f}")


if __name__ == "__main__":
    main()
