"""Time one training step of seqcli's LSTM classifier and Transformer classifier at equal parameter counts.

    python bench/bench_transformer.py [--rounds 10] [--reps 3] [--threads 1] [--lengths 20,50,100,200]

The lecture's claim: an LSTM must walk the sequence one step after another, a Transformer computes
every position at once, in a few large matrix products. Both networks here are SeqNet (the same
embedding, pooling and readout) with the encoder swapped, sized so the encoders have the same number
of parameters: an LSTM of 128 units on 128-wide embeddings (4·128·(128+128) + 4·128 weights) against one
pre-norm Transformer block of width 128 with 4 heads and a 256-wide ReLU feed-forward (4·128² + 2·128·256
weights, plus biases and LayerNorm gains). A step is the forward pass, the loss and the backward pass
of one batch of B = 32 full-length rows of T tokens (no optimizer update: it is the same for both).

Timing as bench_rnn.py does it: ``--rounds`` passes over the lengths; in each, ``--reps`` timed
steps of one model then of the other (who goes first alternates), each turn after 0.2 s of untimed
steps; times are medians over the rounds and the ratio (LSTM time / Transformer time) is the median of
the rounds' ratios, so a drift of the machine's speed between rounds cancels. BLAS is held to
``--threads`` threads (1 is what ``seqcli compare`` gives each trial). float32.
"""

import argparse
import statistics
import time

import numpy as np


def build(kind, vocab, seed=0):
    from seqcli.nn.seqnet import SeqNet

    if kind == "lstm":
        return SeqNet(vocab, 2, cell="lstm", embed=128, hidden=128, pool="mean", dropout=0.1, seed=seed)
    return SeqNet(vocab, 2, cell="transformer", embed=128, hidden=128, pool="mean", dropout=0.1, seed=seed,
                  heads=4, ff=256, positions="sinusoidal", max_len=512, activation="relu")


def encoder_params(net):
    return sum(v.size for k, v in net.params.items() if k.startswith("enc."))


def step_fn(net, B, T, vocab, seed):
    rng = np.random.default_rng(seed)
    ids = rng.integers(2, vocab, (T, B))
    lengths = np.full(B, T)
    y = rng.integers(0, 2, B)
    drop = np.random.default_rng(seed + 1)
    return lambda: net.loss(ids, lengths, y, rng=drop)


def timed(fn, reps, warm=0.2):
    start = time.perf_counter()
    while time.perf_counter() - start < warm:
        fn()
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--vocab", type=int, default=10000)
    ap.add_argument("--lengths", default="20,50,100,200")
    args = ap.parse_args()
    from threadpoolctl import threadpool_limits

    from seqcli.training.loop import reuse_freed_memory

    threadpool_limits(args.threads)
    reuse_freed_memory()
    lengths = [int(t) for t in args.lengths.split(",")]
    nets = {k: build(k, args.vocab) for k in ("lstm", "transformer")}
    print(f"encoder parameters: lstm {encoder_params(nets['lstm']):,}  transformer "
          f"{encoder_params(nets['transformer']):,}  (whole networks {sum(v.size for v in nets['lstm'].params.values()):,}"
          f" / {sum(v.size for v in nets['transformer'].params.values()):,}); B={args.batch}, "
          f"{args.threads} BLAS thread{'s' if args.threads != 1 else ''}")
    steps = {(k, T): step_fn(net, args.batch, T, args.vocab, T) for k, net in nets.items() for T in lengths}
    times = {key: [] for key in steps}
    ratios = {T: [] for T in lengths}
    for r in range(args.rounds):
        for T in lengths:
            order = ("lstm", "transformer") if (r + T) % 2 == 0 else ("transformer", "lstm")
            got = {k: timed(steps[(k, T)], args.reps) for k in order}
            for k, v in got.items():
                times[(k, T)].append(v)
            ratios[T].append(got["lstm"] / got["transformer"])
    print(f"{'T':>5} {'lstm ms':>9} {'transformer ms':>15} {'lstm / transformer':>19}")
    for T in lengths:
        print(f"{T:>5} {statistics.median(times[('lstm', T)]) * 1e3:>9.2f} "
              f"{statistics.median(times[('transformer', T)]) * 1e3:>15.2f} {statistics.median(ratios[T]):>19.2f}")


if __name__ == "__main__":
    main()
