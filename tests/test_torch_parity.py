"""Parity with torch.nn.RNN / GRU / LSTM (float64): same weights -> same outputs and gradients.

Skipped unless torch is installed (it is never a dependency of seqcli). To run it:
    python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch numpy pytest
    PYTHONPATH=src /tmp/torchvenv/bin/python -m pytest tests/test_torch_parity.py
"""

import numpy as np
import pytest

from seqcli.nn import cells

torch = pytest.importorskip("torch")

N_X, N_A, M, T = 3, 4, 3, 5


def torch_to_ours(kind, mod):
    """Our fused parameters from a one-layer torch module (gate order and GRU sign conventions)."""
    n = N_A
    W_ih, W_hh = mod.weight_ih_l0.detach().numpy(), mod.weight_hh_l0.detach().numpy()
    b_ih, b_hh = mod.bias_ih_l0.detach().numpy(), mod.bias_hh_l0.detach().numpy()
    if kind == "rnn":
        return {"Wax": W_ih.copy(), "Waa": W_hh.copy(), "ba": (b_ih + b_hh)[:, None]}
    if kind == "lstm":  # torch blocks [i, f, g, o] = our [gu, gf, cc, go]; ours are [gu, gf, go, cc]
        perm = np.r_[0:2 * n, 3 * n:4 * n, 2 * n:3 * n]
        return {"Wax": W_ih[perm], "Waa": W_hh[perm], "ba": (b_ih + b_hh)[perm][:, None]}
    # gru: torch blocks [r, z, n]; ours [gu, gr, cc] with gu = 1 - z, i.e. gu = sigmoid(-(z pre-activation))
    r, z, c = slice(0, n), slice(n, 2 * n), slice(2 * n, 3 * n)
    return {
        "Wax": np.concatenate([-W_ih[z], W_ih[r], W_ih[c]]),
        "Waa": np.concatenate([-W_hh[z], W_hh[r], W_hh[c]]),
        "ba": np.concatenate([-(b_ih[z] + b_hh[z]), b_ih[r] + b_hh[r], b_ih[c]])[:, None],
        "bc": b_hh[c][:, None].copy(),
    }


def torch_grads_as_ours(kind, mod):
    """The torch module's parameter gradients mapped into our layout (same mapping as the weights)."""
    n = N_A
    gi, gh = mod.weight_ih_l0.grad.numpy(), mod.weight_hh_l0.grad.numpy()
    gbi, gbh = mod.bias_ih_l0.grad.numpy(), mod.bias_hh_l0.grad.numpy()
    if kind == "rnn":
        # b_ih and b_hh both receive the gradient of the summed bias
        np.testing.assert_allclose(gbi, gbh, atol=1e-12)
        return {"Wax": gi, "Waa": gh, "ba": gbi[:, None]}
    if kind == "lstm":
        perm = np.r_[0:2 * n, 3 * n:4 * n, 2 * n:3 * n]
        return {"Wax": gi[perm], "Waa": gh[perm], "ba": gbi[perm][:, None]}
    r, z, c = slice(0, n), slice(n, 2 * n), slice(2 * n, 3 * n)
    return {
        "Wax": np.concatenate([-gi[z], gi[r], gi[c]]),
        "Waa": np.concatenate([-gh[z], gh[r], gh[c]]),
        "ba": np.concatenate([-gbi[z], gbi[r], gbi[c]])[:, None],
        "bc": gbh[c][:, None],
    }


MODULES = {"rnn": lambda: torch.nn.RNN(N_X, N_A), "gru": lambda: torch.nn.GRU(N_X, N_A),
           "lstm": lambda: torch.nn.LSTM(N_X, N_A)}


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("lengths", [None, [5, 3, 1]], ids=["full", "packed"])
def test_parity(kind, lengths):
    torch.manual_seed(0)
    mod = MODULES[kind]().double()
    p = torch_to_ours(kind, mod)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(T, N_X, M))                 # ours: (T, n_x, m)
    a0 = rng.normal(size=(N_A, M))
    w = rng.normal(size=(T, N_A, M))
    mask = None
    if lengths is not None:
        mask = (np.arange(T)[:, None] < np.array(lengths)[None, :]).astype(float)
        w *= mask[:, None, :]

    xt = torch.tensor(x.transpose(0, 2, 1).copy(), requires_grad=True)   # torch: (T, m, n_x)
    h0 = torch.tensor(a0.T[None].copy(), requires_grad=True)              # (1, m, n_a)
    state = (h0, torch.zeros_like(h0)) if kind == "lstm" else h0
    if lengths is None:
        out, _ = mod(xt, state)
    else:
        packed = torch.nn.utils.rnn.pack_padded_sequence(xt, lengths, enforce_sorted=False)
        out, _ = mod(packed, state)
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=T)
    (out * torch.tensor(w.transpose(0, 2, 1).copy())).sum().backward()

    a, cache = cells.forward(kind, x, (a0,), p, mask)
    dx, (da0, *_), dp = cells.backward(kind, w, cache)

    out_np = out.detach().numpy().transpose(0, 2, 1)  # (T, n_a, m)
    if mask is not None:
        out_np = out_np * mask[:, None, :]            # torch pads with zeros, we carry the state
        a = a * mask[:, None, :]
    np.testing.assert_allclose(a, out_np, atol=1e-5)
    np.testing.assert_allclose(dx, xt.grad.numpy().transpose(0, 2, 1), atol=1e-5)
    np.testing.assert_allclose(da0, h0.grad.numpy()[0].T, atol=1e-5)
    for k, g in torch_grads_as_ours(kind, mod).items():
        np.testing.assert_allclose(dp[k], g, atol=1e-5, err_msg=k)
