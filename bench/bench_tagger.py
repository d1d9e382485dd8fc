"""Training and tagging speed (tokens/s) of seqcli's default tagger against a PyTorch tagger of the same size.

    python bench/bench_tagger.py [--train TRAIN.conllu] [--dev DEV.conllu] [--rounds 6] [--threads 1]

Both taggers: word embedding 100 (ids by the lowercased word), a character BiLSTM (embedding 30, 50 units
per direction) over each distinct word of the batch, its final states concatenated to the word vector,
a BiLSTM of 128 units per direction, a linear readout and a softmax per token; dropout 0.5; Adam; batches
of 32 sentences of similar length, the same batches on both sides. "train" times forward, backward and
the Adam step over ``--batches`` training batches; "tag" times tagging the whole dev set (no gradients).
Figures are tokens per second.

Needs seqcli and torch importable by the same interpreter (a throw-away venv:
``pip install -e . torch``, or ``PYTHONPATH=src /work/torchvenv/bin/python bench/bench_tagger.py``);
torch is never a dependency of seqcli. As in bench_rnn.py, each side runs in its own worker process
(two BLAS / OpenMP thread pools in one process distort each other), the parent alternates between
them one measurement at a time (who goes first alternates), each turn starts with untimed calls, and
the figures are medians over the rounds; the ratio is the median of the rounds' ratios, so a drift of
the machine's speed between rounds cancels.
"""

import argparse
import json
import os
import statistics

from bench_rnn import interleave, rates, spawn   # this folder is on the path of a script run from it

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "shared", "data")

WORKER = r'''
import json, sys, time
side, threads, train_path, dev_path, n_batches = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
from collections import Counter
from seqcli.data.conll import read_tagged   # standard library only

tr, dv = read_tagged(train_path), read_tagged(dev_path)
counts = Counter(w.lower() for s in tr.sentences for w in s)
words = ["<pad>", "<unk>"] + sorted(counts, key=lambda w: (-counts[w], w))
w_id = {w: i for i, w in enumerate(words)}
chars = ["<pad>", "<unk>"] + sorted({c for s in tr.sentences for w in s for c in w})
c_id = {c: i for i, c in enumerate(chars)}
tags = sorted({t for s in tr.tags for t in s})
t_id = {t: i for i, t in enumerate(tags)}


def encode(data):
    return [([w_id.get(w.lower(), 1) for w in s], [[c_id.get(c, 1) for c in w[:30]] for w in s],
             [t_id.get(t, 0) for t in g]) for s, g in zip(data.sentences, data.tags)]


def batches(rows, size):
    order = sorted(range(len(rows)), key=lambda i: -len(rows[i][0]))
    return [[rows[i] for i in order[k:k + size]] for k in range(0, len(order), size)]


train_rows, dev_rows = encode(tr), encode(dv)
every = batches(train_rows, 32)
step = max(1, len(every) // n_batches)
train_batches = every[::step][:n_batches]           # lengths from short to long, as an epoch has them
dev_batches = batches(dev_rows, 256)
SIZES = dict(n_words=len(words), n_chars=len(chars), n_tags=len(tags))

if side == "torch":
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    nn = torch.nn
    from torch.nn.utils.rnn import pack_padded_sequence, pad_sequence

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(SIZES["n_words"], 100, padding_idx=0)
            self.cemb = nn.Embedding(SIZES["n_chars"], 30, padding_idx=0)
            self.clstm = nn.LSTM(30, 50, bidirectional=True, batch_first=True)
            self.lstm = nn.LSTM(200, 128, bidirectional=True, batch_first=True)
            self.drop = nn.Dropout(0.5)
            self.out = nn.Linear(256, SIZES["n_tags"])

        def forward(self, batch):
            spell = {}
            index = [[spell.setdefault(tuple(c), len(spell)) for c in cs] for _, cs, _ in batch]
            kinds = list(spell)
            clen = torch.tensor([max(len(k), 1) for k in kinds])
            cpad = pad_sequence([torch.tensor(k or [1]) for k in kinds], batch_first=True)
            packed = pack_padded_sequence(self.cemb(cpad), clen, batch_first=True, enforce_sorted=False)
            _, (h, _) = self.clstm(packed)
            cvec = torch.cat([h[0], h[1]], dim=1)                           # (n_u, 100)
            lengths = torch.tensor([len(w) for w, _, _ in batch])
            wpad = pad_sequence([torch.tensor(w) for w, _, _ in batch], batch_first=True)
            ipad = pad_sequence([torch.tensor(i) for i in index], batch_first=True)
            x = self.drop(torch.cat([self.emb(wpad), cvec[ipad]], dim=2))
            packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=True)
            a, _ = self.lstm(packed)
            a, _ = torch.nn.utils.rnn.pad_packed_sequence(a, batch_first=True)
            return self.out(self.drop(a)), lengths

    model = Tagger()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)

    def train():
        model.train()
        for batch in train_batches:
            logits, lengths = model(batch)
            gold = pad_sequence([torch.tensor(t) for _, _, t in batch], batch_first=True, padding_value=-100)
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), gold.reshape(-1),
                                                     ignore_index=-100)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()

    def tag():
        model.eval()
        with torch.no_grad():
            for batch in dev_batches:
                logits, _ = model(batch)
                logits.argmax(dim=2)
else:
    import numpy as np     # BLAS threads: set by the parent in OPENBLAS_NUM_THREADS / OMP_NUM_THREADS
    from seqcli.nn.functional import clip_by_global_norm
    from seqcli.nn.optim import Adam
    from seqcli.nn.tagger import TaggerNet
    from seqcli.training.loop import reuse_freed_memory
    reuse_freed_memory()      # what seqcli's training loop does (torch has its caching allocator)
    net = TaggerNet(SIZES["n_words"], SIZES["n_chars"], SIZES["n_tags"], embed=100, hidden=128, char_embed=30,
                    char_hidden=50, dropout=0.5)
    opt, rng = Adam(lr=2e-3), np.random.default_rng(0)

    def tag_matrix(batch):
        out = np.zeros((len(batch[0][0]), len(batch)), np.intp)
        for j, (_, _, t) in enumerate(batch):
            out[:len(t), j] = t
        return out

    def train():
        for batch in train_batches:
            b = net.batch([w for w, _, _ in batch], [c for _, c, _ in batch])
            _, grads = net.loss(b, tag_matrix(batch), rng)
            clip_by_global_norm(grads, 5.0)
            opt.step(net.params, grads)

    def tag():
        for batch in dev_batches:
            net.predict(net.batch([w for w, _, _ in batch], [c for _, c, _ in batch]))

tokens = {"train": sum(len(w) for b in train_batches for w, _, _ in b),
          "tag": sum(len(w) for b in dev_batches for w, _, _ in b)}
cases = {"train": train, "tag": tag}
for line in sys.stdin:
    req = json.loads(line)
    fn = cases[req["what"]]
    if req.get("warm", True):
        fn()
    out = []
    for _ in range(req["reps"]):
        t0 = time.perf_counter(); fn(); out.append(time.perf_counter() - t0)
    print(json.dumps({"seconds": out, "tokens": tokens[req["what"]]}), flush=True)
'''


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", default=os.path.join(DATA, "en_ewt-ud-train.conllu"))
    ap.add_argument("--dev", default=os.path.join(DATA, "en_ewt-ud-dev.conllu"))
    ap.add_argument("--batches", type=int, default=40, help="training batches per timed run")
    ap.add_argument("--rounds", type=int, default=6, help="passes over both cases, interleaved")
    ap.add_argument("--reps", type=int, default=1, help="timed runs per case and side in each round")
    ap.add_argument("--threads", type=int, default=1, help="threads for torch and for numpy's BLAS")
    ap.add_argument("--json", action="store_true", help="print the results as JSON too")
    args = ap.parse_args()
    ours, theirs = (spawn(WORKER, (side, args.threads, args.train, args.dev, args.batches), args.threads)
                    for side in ("numpy", "torch"))
    samples = interleave(ours, theirs, ("train", "tag"), args.rounds, rates,
                         lambda what: {"what": what, "reps": args.reps})   # tokens/s: ours, torch's, ratios
    rows = []
    print(f"{'what':6} {'numpy tokens/s':>15} {'torch tokens/s':>15} {'numpy/torch':>12}   ({args.threads} thread"
          f"{'s' if args.threads > 1 else ''})")
    for what, (ours_s, theirs_s, ratios) in samples.items():
        row = {"what": what, "numpy_tokens_per_s": statistics.median(ours_s),
               "torch_tokens_per_s": statistics.median(theirs_s), "ratio": statistics.median(ratios)}
        rows.append(row)
        print(f"{what:6} {row['numpy_tokens_per_s']:15,.0f} {row['torch_tokens_per_s']:15,.0f} {row['ratio']:12.2f}")
    if args.json:
        print(json.dumps(rows))


if __name__ == "__main__":
    main()
