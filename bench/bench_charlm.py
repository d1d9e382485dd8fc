"""End to end: a 1x256 character LSTM trained for the same wall time by ``seqcli train`` and by a
PyTorch script of the same model on the same streams; training characters/s and validation nats/char.

    python bench/bench_charlm.py --torch-python /work/torchvenv/bin/python [--data tinyshakespeare.txt]
        [--seconds 300] [--workers 1,2] [--torch-threads 2]

Run it with the interpreter that has seqcli installed; the PyTorch side runs in ``--torch-python``
(a throw-away venv with torch and numpy), reading seqcli from this checkout's src/.

Ours: ``seqcli train DATA --task lm --hidden 256 --max-time S --patience 10000 --workers N --json``
(no early stopping: both sides train the whole time and keep their best weights; every other setting
its default: embedding 64, windows of 100, 32 streams, dropout 0.15 on the LSTM's outputs, Adam 0.003,
clipping at 5, validation about every 500k characters), one process per ``--workers`` value.
Theirs: nn.Embedding(V, 64) + nn.LSTM(64, 256) + dropout 0.15 + nn.Linear(256, V) with
torch.optim.Adam, on seqcli's own training streams (``tasks.lm.prepare``: the same split, the same
windows, the state carried between windows) for the same time, validated as often on the same
validation streams by the same measure (the mean nats of the scored targets, warm-up unscored).
Each side's clock counts its training loop with its validations, as ``--max-time`` does; the figures
are the final validation nats/char of the best weights (the lowest validation seen) and characters
trained per second. The runs are one after the other, never at the same time.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "shared", "data", "tinyshakespeare.txt")

TORCH = r'''
import json, sys, time
data, seconds, threads = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
import numpy as np
import torch
from seqcli.tasks import lm

torch.set_num_threads(threads)
torch.manual_seed(0)
prep = lm.prepare(data, "lstm", {"hidden": 256})
job, val = prep.job, prep.val_full
S, T, V, period = job.streams, job.T, job.model.net.n_vocab, job.period
nn = torch.nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb, self.lstm = nn.Embedding(V, 64), nn.LSTM(64, 256)
        self.drop, self.out = nn.Dropout(0.15), nn.Linear(256, V)

    def forward(self, x, state):
        h, state = self.lstm(self.emb(x), state)
        return self.out(self.drop(h)), state

model = Net()
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
X, Y, M = (torch.as_tensor(S.X.astype(np.int64)), torch.as_tensor(S.Y.astype(np.int64)),
           torch.as_tensor(S.mask.astype(np.float32)))
VX, VY, VS = (torch.as_tensor(val.X.astype(np.int64)), torch.as_tensor(val.Y.astype(np.int64)),
              torch.as_tensor(val.score.astype(np.float32)))

def validate():
    model.eval()
    total, state = 0.0, None
    with torch.no_grad():
        for a in range(0, VX.shape[0], 256):
            logits, state = model(VX[a:a + 256], state)
            nll = torch.nn.functional.cross_entropy(logits.reshape(-1, V), VY[a:a + 256].reshape(-1), reduction="none")
            total += float((nll * VS[a:a + 256].reshape(-1)).sum())
    model.train()
    return total / float(VS.sum())

n_windows = -(-X.shape[0] // T)
best, chars, step, state, start = float("inf"), 0, 0, None, time.perf_counter()
while time.perf_counter() - start < seconds:
    w = step % n_windows
    if w == 0:
        state = None
    x, y, m = X[w * T:(w + 1) * T], Y[w * T:(w + 1) * T], M[w * T:(w + 1) * T]
    logits, state = model(x, state)
    state = tuple(s.detach() for s in state)
    nll = torch.nn.functional.cross_entropy(logits.reshape(-1, V), y.reshape(-1), reduction="none")
    loss = (nll * m.reshape(-1)).sum() / m.sum()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
    opt.step()
    chars += int(m.sum())
    step += 1
    if step % period == 0:
        best = min(best, validate())
spent = time.perf_counter() - start
best = min(best, validate())
print(json.dumps({"val_loss": best, "chars_per_second": chars / spent, "steps": step}))
'''


def ours(data, seconds, workers):
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, "-m", "seqcli", "train", data, "--task", "lm", "--hidden", "256",
                              "--max-time", f"{seconds}s", "--patience", "10000", "--workers", str(workers), "--json", "-q",
                              "-o", os.path.join(tmp, "lm.npz")], capture_output=True, text=True, check=True)
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    return {"val_loss": summary["val_loss"], "chars_per_second": summary["chars_per_second"], "steps": summary["steps"]}


def theirs(python, data, seconds, threads):
    env = {**os.environ, **{k: str(threads) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")},
           "PYTHONPATH": os.path.join(HERE, "..", "src")}
    out = subprocess.run([python, "-c", TORCH, data, str(seconds), str(threads)], capture_output=True,
                         text=True, check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=DATA)
    ap.add_argument("--seconds", type=float, default=300.0, help="training time of each run")
    ap.add_argument("--workers", default="1,2", help="seqcli's --workers values, one run each")
    ap.add_argument("--torch-threads", type=int, default=2)
    ap.add_argument("--torch-python", default=sys.executable, help="an interpreter with torch")
    ap.add_argument("--torch-chars-per-second", type=float,
                    help="skip the PyTorch run and compare with this figure of an earlier one")
    args = ap.parse_args()
    print(f"load before: {os.getloadavg()[0]:.2f}", flush=True)
    ref = None
    if args.torch_chars_per_second is None:
        ref = theirs(args.torch_python, args.data, args.seconds, args.torch_threads)
        print(f"torch ({args.torch_threads} threads): {ref['val_loss']:.4f} nats/char, "
              f"{ref['chars_per_second']:,.0f} chars/s, {ref['steps']} steps", flush=True)
        ref = ref["chars_per_second"]
    for n in (int(w) for w in args.workers.split(",")):
        got = ours(args.data, args.seconds, n)
        print(f"seqcli --workers {n}: {got['val_loss']:.4f} nats/char, {got['chars_per_second']:,.0f} chars/s "
              f"({got['chars_per_second'] / (ref or args.torch_chars_per_second):.2f}x torch), "
              f"{got['steps']} steps", flush=True)
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
