"""Time seqcli's NumPy encoder-decoder against a PyTorch model of the same size: training target tokens
per second (forward, backward and an Adam step on one batch) and greedy decoding words per second.

    python bench/bench_seq2seq.py [--rounds 10] [--reps 3] [--threads 1] [--hidden 256] [--batch 64]

Needs seqcli and torch in one interpreter (``PYTHONPATH=$PWD/src /work/torchvenv/bin/python ...``); torch
is never a dependency of seqcli. The batches are real grapheme-to-phoneme pairs (../shared/data/
cmudict-train.csv: letters in, phonemes out), bucketed by length as ``seqcli train --task seq2seq`` does;
both sides get the very same batches.

The two models: embeddings 64, a bidirectional LSTM encoder of hidden/2 units per direction (the memory
is ``hidden`` wide), a bridge tanh(W [a_fw; a_bw] + b) giving the decoder's a0 and c0, an LSTM decoder of
``hidden`` units fed [embedding; h~<t-1>] (input feeding), dot attention scaled by 1/sqrt(hidden) over the
real source positions, h~ = tanh(Wc [ctx; a]), a softmax readout, dropout 0.1 on the target embeddings
and on h~ while training. (torch's LSTM keeps two bias vectors per cell where ours keeps one: a few
thousand parameters more.)

As bench_rnn.py: each side runs in its own worker process (two BLAS thread pools in one process
distort the timings), and the parent alternates between them one measurement at a time, who goes first
alternating, each turn starting with 0.3 s of untimed calls; times are medians over the rounds and the
ratio (ours / torch's) is the median of the rounds' ratios. ``--threads``: torch's threads and our BLAS
threads (seqcli trains a seq2seq model on one).
"""

import argparse
import csv
import json
import statistics
import sys
from pathlib import Path

from bench_rnn import ask, spawn   # the same exchange with a worker: one request line, one answer line

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "cmudict-train.csv"

WORKER = r'''
import json, sys, time
import numpy as np
side, threads, spec = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
H, E, V_src, V_tgt = spec["hidden"], 64, spec["n_src"], spec["n_tgt"]
batches = [tuple(np.array(a) for a in b) for b in spec["batches"]]   # src, src_len, tgt_in, tgt_out, tgt_len
MAX_LEN = spec["max_len"]
if side == "torch":
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(0)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.src_e, self.tgt_e = torch.nn.Embedding(V_src, E), torch.nn.Embedding(V_tgt, E)
            self.enc = torch.nn.LSTM(E, H // 2, bidirectional=True)
            self.bridge = torch.nn.Linear(H, 2 * H)
            self.dec = torch.nn.LSTMCell(E + H, H)
            self.wc = torch.nn.Linear(2 * H, H, bias=False)
            self.out = torch.nn.Linear(H, V_tgt)
            self.drop = torch.nn.Dropout(0.1)

        def encode(self, src, s_len):
            x = self.src_e(src)
            packed = torch.nn.utils.rnn.pack_padded_sequence(x, s_len, enforce_sorted=False)
            mem, (h, _) = self.enc(packed)
            mem, _ = torch.nn.utils.rnn.pad_packed_sequence(mem, total_length=src.shape[0])
            a0, c0 = torch.tanh(self.bridge(torch.cat([h[0], h[1]], 1))).chunk(2, 1)
            mask = torch.arange(src.shape[0])[None, :] < s_len[:, None]
            return mem.transpose(0, 1), mask, a0.contiguous(), c0.contiguous()

        def step(self, y, feed, a, c, mem, mask):
            a, c = self.dec(torch.cat([self.drop(self.tgt_e(y)), feed], 1), (a, c))
            e = torch.bmm(mem, a.unsqueeze(2)).squeeze(2) / H ** 0.5
            alpha = torch.softmax(e.masked_fill(~mask, -1e9), 1)
            ctx = torch.bmm(alpha.unsqueeze(1), mem).squeeze(1)
            h = self.drop(torch.tanh(self.wc(torch.cat([ctx, a], 1))))
            return self.out(h), h, a, c

    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    tb = [tuple(torch.as_tensor(a, dtype=torch.long) for a in b) for b in batches]

    def train_step(b):
        src, s_len, tin, tout, t_len = b
        net.train()
        opt.zero_grad(set_to_none=True)
        mem, mask, a, c = net.encode(src, s_len)
        feed, logits = torch.zeros(src.shape[1], H), []
        for t in range(tin.shape[0]):
            lo, feed, a, c = net.step(tin[t], feed, a, c, mem, mask)
            logits.append(lo)
        real = torch.arange(tin.shape[0])[:, None] < t_len[None, :]
        loss = torch.nn.functional.cross_entropy(torch.stack(logits)[real], tout[real])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        opt.step()

    def decode(b):
        src, s_len = b[0], b[1]
        net.eval()
        with torch.no_grad():
            mem, mask, a, c = net.encode(src, s_len)
            y, feed = torch.full((src.shape[1],), 2, dtype=torch.long), torch.zeros(src.shape[1], H)
            live = torch.ones(src.shape[1], dtype=torch.bool)
            for _ in range(MAX_LEN):
                lo, feed, a, c = net.step(y, feed, a, c, mem, mask)
                y = lo.argmax(1)
                live &= y != 3
                if not live.any():
                    break

    n_params = sum(p.numel() for p in net.parameters())
    data = tb
else:
    from seqcli.nn.functional import clip_by_global_norm
    from seqcli.nn.optim import Adam
    from seqcli.nn.search import greedy
    from seqcli.nn.seq2seq import Seq2SeqNet
    from seqcli.training.loop import reuse_freed_memory
    reuse_freed_memory()   # what seqcli's training loop does (torch has its caching allocator)
    net = Seq2SeqNet(V_src, V_tgt, "lstm", E, H, dropout=0.1, seed=0)
    opt = Adam(lr=2e-3)
    rng = np.random.default_rng(0)

    def train_step(b):
        loss, grads = net.loss(*b, rng=rng)
        clip_by_global_norm(grads, 5.0)
        opt.step(net.params, grads)

    def decode(b):
        greedy(net, b[0], b[1], max_len=MAX_LEN)

    n_params = net.n_params()
    data = batches

state = {"i": 0}


def run(what):
    b = data[state["i"] % len(data)]
    state["i"] += 1
    (train_step if what == "train" else decode)(b)


def warm_up(what, seconds):
    start, calls = time.perf_counter(), 0
    while calls < 2 or time.perf_counter() - start < seconds:
        run(what); calls += 1


print(json.dumps({"n_params": int(n_params)}), flush=True)
for line in sys.stdin:
    req = json.loads(line)
    warm_up(req["what"], 0.3)
    out = []
    for _ in range(req["reps"]):
        state["i"] = 0             # both sides time the same batches in the same order
        t0 = time.perf_counter()
        for _ in range(len(data)):
            run(req["what"])
        out.append(time.perf_counter() - t0)
    print(json.dumps({"seconds": out}), flush=True)
'''


def load_batches(batch, n_batches, seed=0):
    """``n_batches`` bucketed batches of real pairs: (src, src_len, tgt_in, tgt_out, tgt_len) as lists,
    the vocabulary sizes, and the number of target tokens (the end symbol included) in all of them."""
    import numpy as np

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from seqcli.tasks.seq2seq import teacher_batch
    from seqcli.text import bucket_batches

    with open(DATA, encoding="utf-8") as f:
        rows = list(csv.reader(f))[1:]
    src_ids = {c: i + 2 for i, c in enumerate(sorted({c for w, _ in rows for c in w}))}
    tgt_ids = {t: i + 4 for i, t in enumerate(sorted({t for _, p in rows for t in p.split()}))}
    src = [[src_ids[c] for c in w] for w, _ in rows]
    tgt = [[tgt_ids[t] for t in p.split()] for _, p in rows]
    keys = [len(s) * 4096 + len(t) for s, t in zip(src, tgt)]
    chosen = bucket_batches(keys, batch, np.random.default_rng(seed))[:n_batches]
    out, tokens = [], 0
    for idx in chosen:
        b = teacher_batch([src[i] for i in idx], [tgt[i] for i in idx])
        tokens += int(b[4].sum())
        out.append([a.tolist() for a in b])
    return out, len(src_ids) + 2, len(tgt_ids) + 4, tokens, sum(len(i) for i in chosen)


def start(side, threads, spec):
    return spawn(WORKER, (side, threads, json.dumps(spec)), threads)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=10, help="passes over both cases, interleaved")
    ap.add_argument("--reps", type=int, default=3, help="timed runs per case and side in each round")
    ap.add_argument("--threads", type=int, default=1, help="torch's threads and numpy's BLAS threads")
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--batch", type=int, default=64, help="pairs per training batch")
    ap.add_argument("--batches", type=int, default=8, help="batches timed per run")
    ap.add_argument("--decode-batch", type=int, default=256, help="sources decoded together")
    args = ap.parse_args()
    train, n_src, n_tgt, tokens, _ = load_batches(args.batch, args.batches)
    dec, _, _, _, words = load_batches(args.decode_batch, max(1, args.batches // 4), seed=1)
    workers, counts = {}, {}
    for side in ("numpy", "torch"):
        for what, batches in (("train", train), ("decode", dec)):
            spec = {"hidden": args.hidden, "n_src": n_src, "n_tgt": n_tgt, "batches": batches, "max_len": 40}
            workers[side, what] = w = start(side, args.threads, spec)
            counts[side] = json.loads(w.stdout.readline())["n_params"]
    samples = {what: ([], [], []) for what in ("train", "decode")}
    for r in range(args.rounds):
        for what in ("train", "decode"):
            req = {"what": what, "reps": args.reps}
            if r % 2:
                t_th, t_np = ask(workers["torch", what], req), ask(workers["numpy", what], req)
            else:
                t_np, t_th = ask(workers["numpy", what], req), ask(workers["torch", what], req)
            samples[what][0].extend(t_np)
            samples[what][1].extend(t_th)
            samples[what][2].append(statistics.median(t_np) / statistics.median(t_th))
    for w in workers.values():
        w.stdin.close()
        w.wait()
    print(f"parameters: numpy {counts['numpy']:,}, torch {counts['torch']:,}; hidden {args.hidden}, "
          f"threads {args.threads}")
    print(f"{'what':8} {'unit':16} {'numpy':>10} {'torch':>10} {'time ratio':>10}")
    for what, per, unit in (("train", tokens, "target tokens/s"), ("decode", words, "words/s")):
        t_np, t_th, ratios = samples[what]
        print(f"{what:8} {unit:16} {per / statistics.median(t_np):10,.0f} {per / statistics.median(t_th):10,.0f} "
              f"{statistics.median(ratios):10.2f}")


if __name__ == "__main__":
    main()
