"""End to end: training tokens/s of seqcli's default LSTM classifier against a PyTorch script of the same
model on the same batches (issue 17's first figure).

    python bench/bench_classify.py [--data rt-polarity.csv] [--rounds 6] [--threads 1] [--batches 80]
        [--workers N]

``--workers N`` (N > 1) runs our side as ``seqcli train --workers N`` does: N processes of one BLAS
thread share every batch (training/workers.py), against torch with ``--threads``.

Both sides: seqcli's default recurrent classifier (``--model lstm``: embedding 128, one LSTM of 128,
the last state, dropout 0.5 before the output, Adam 0.002, clipping at 5), the same vocabulary, the
same length-bucketed batches of 32 texts. Ours runs through the task's own training step
(``tasks.classify`` job: forward, backward with the sparse embedding gradient, clipping, Adam), the way
``seqcli train`` does; theirs is nn.Embedding + nn.LSTM over packed sequences + nn.Linear with
torch.optim.Adam. A timed run trains on ``--batches`` batches spread over the epoch's lengths.

Needs seqcli and torch importable by one interpreter (``PYTHONPATH=src /work/torchvenv/bin/python
bench/bench_classify.py``); as in bench_rnn.py each side runs in its own worker process, the parent
alternates between them (who goes first alternates), and the ratio is the median of the rounds'
ratios, so a drift of the machine's speed cancels. Figures are training tokens per second.
"""

import argparse
import json
import os
import statistics

from bench_rnn import interleave, rates, spawn   # this folder is on the path of a script run from it

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "shared", "data", "rt-polarity.csv")

WORKER = r'''
import json, sys, time
side, threads, data_path, n_batches, n_workers = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
import numpy as np
from seqcli.data import read_table
from seqcli.tasks import classify

table = read_table(data_path, None, None)
params = {"seed": 0}
job, classes = classify.make_job("lstm", params, table.texts, table.labels)
every = job.make_batches(0)
step = max(1, len(every) // n_batches)
batches = every[::step][:n_batches]          # short to long, as an epoch has them
padded = [job.feed.batch(job.enc, idx) for idx in batches]
labels = [job.y[idx] for idx in batches]
tokens = int(sum(int(np.asarray(b[1]).sum()) for b in padded))

if side == "torch":
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    nn = torch.nn
    from torch.nn.utils.rnn import pack_padded_sequence

    class Net(nn.Module):
        def __init__(self, n_vocab, n_classes):
            super().__init__()
            self.emb = nn.Embedding(n_vocab, 128, padding_idx=0)
            self.lstm = nn.LSTM(128, 128)
            self.drop = nn.Dropout(0.5)
            self.out = nn.Linear(128, n_classes)

        def forward(self, ids, lengths):
            packed = pack_padded_sequence(self.emb(ids), lengths, enforce_sorted=False)
            _, (h, _) = self.lstm(packed)
            return self.out(self.drop(h[-1]))

    model = Net(job.model.net.n_vocab, len(classes))
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    data = [(torch.as_tensor(np.asarray(ids, np.int64)), torch.as_tensor(np.asarray(lengths, np.int64)),
             torch.as_tensor(np.asarray(y, np.int64))) for (ids, lengths), y in zip(padded, labels)]

    def train():
        model.train()
        for ids, lengths, y in data:
            loss = torch.nn.functional.cross_entropy(model(ids, lengths), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
else:
    from seqcli.nn.functional import clip_by_global_norm
    from seqcli.nn.optim import make_optimizer
    from seqcli.threads import blas_threads
    from seqcli.training.loop import reuse_freed_memory
    reuse_freed_memory()      # what seqcli's training loop does (torch has its caching allocator)
    blas_threads(threads).__enter__()
    net, cfg = job.model.net, job.cfg
    opt, rng = make_optimizer(cfg.optimizer, cfg.lr, cfg.weight_decay), np.random.default_rng(0)
    step_loss = job.step_loss
    if n_workers > 1:   # what seqcli train --workers N does: each batch shared by N processes
        from seqcli.training.loop import TrainState
        from seqcli.training.workers import Pool
        job.state = TrainState()
        step_loss = Pool(job, n_workers, 0).__enter__().step_loss

    def train():
        for idx in batches:
            _, grads, _, _ = step_loss(idx, rng)
            clip_by_global_norm(grads, cfg.clip)
            opt.step(net.params, grads)

for line in sys.stdin:
    req = json.loads(line)
    train()                                  # untimed: warm caches and thread pools
    out = []
    for _ in range(req["reps"]):
        t0 = time.perf_counter(); train(); out.append(time.perf_counter() - t0)
    print(json.dumps({"seconds": out, "tokens": tokens}), flush=True)
'''


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=DATA)
    ap.add_argument("--batches", type=int, default=80, help="training batches per timed run")
    ap.add_argument("--rounds", type=int, default=6, help="timed passes, interleaved")
    ap.add_argument("--reps", type=int, default=1, help="timed runs per side in each round")
    ap.add_argument("--threads", type=int, default=1, help="threads for torch and for numpy's BLAS")
    ap.add_argument("--workers", type=int, default=1, help="seqcli's --workers (processes of one BLAS thread each)")
    args = ap.parse_args()
    numpy_threads = 1 if args.workers > 1 else args.threads   # workers run one BLAS thread each
    ours, theirs = (spawn(WORKER, (side, threads, args.data, args.batches, args.workers), threads)
                    for side, threads in (("numpy", numpy_threads), ("torch", args.threads)))
    (ours_s, theirs_s, ratios), = interleave(ours, theirs, ("train",), args.rounds, rates,
                                             lambda what: {"reps": args.reps}).values()
    print(f"LSTM classifier training, torch {args.threads} thread{'s' if args.threads > 1 else ''}, numpy "
          f"{args.workers} worker{'s' if args.workers > 1 else ''} of one thread: numpy "
          f"{statistics.median(ours_s):,.0f} tokens/s, torch {statistics.median(theirs_s):,.0f} tokens/s, "
          f"numpy/torch {statistics.median(ratios):.2f}")
    print(json.dumps({"numpy_tokens_per_s": statistics.median(ours_s),
                      "torch_tokens_per_s": statistics.median(theirs_s), "ratio": statistics.median(ratios)}))


if __name__ == "__main__":
    main()
