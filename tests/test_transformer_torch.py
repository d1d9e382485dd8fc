"""Parity of nn/transformer with torch.nn.TransformerEncoderLayer / TransformerEncoder (float64).

The same weights (ours copied into torch) must give the same outputs and the same gradients of the
input and of every parameter, with padding and causal masks. Skipped unless torch is installed (it is
never a dependency of seqcli). To run it:
    python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch numpy pytest hypothesis
    PYTHONPATH=src /tmp/torchvenv/bin/python -m pytest tests/test_transformer_torch.py
"""

import numpy as np
import pytest

from gradcheck import rel_error
from seqcli.nn.selfattention import Block, attention_mask
from seqcli.nn.transformer import TransformerEncoder

torch = pytest.importorskip("torch")
F = torch.nn.functional

D, HEADS, FF = 8, 2, 12


def gelu_tanh(z):
    """torch's GELU with the tanh approximation (ours); built by hand on a torch without the option."""
    try:
        return F.gelu(z, approximate="tanh")
    except TypeError:
        return 0.5 * z * (1 + torch.tanh((2 / np.pi) ** 0.5 * (z + 0.044715 * z ** 3)))


def torch_layer(activation):
    return torch.nn.TransformerEncoderLayer(
        D, HEADS, FF, dropout=0.0, activation=gelu_tanh if activation == "gelu" else "relu",
        batch_first=True, norm_first=True, dtype=torch.float64)


# our key suffix -> the torch parameter inside one TransformerEncoderLayer, and how to lay it out
LAYER_MAP = {
    "attn.Wqkv": "self_attn.in_proj_weight", "attn.bqkv": "self_attn.in_proj_bias",
    "attn.Wo": "self_attn.out_proj.weight", "attn.bo": "self_attn.out_proj.bias",
    "ff.W1": "linear1.weight", "ff.b1": "linear1.bias", "ff.W2": "linear2.weight", "ff.b2": "linear2.bias",
    "ln1.g": "norm1.weight", "ln1.b": "norm1.bias", "ln2.g": "norm2.weight", "ln2.b": "norm2.bias",
}


def copy_in(P, ours, module, theirs):
    """Our parameter ``ours`` into torch's ``theirs`` (columns (n, 1) become torch's vectors (n,))."""
    param = module.get_parameter(theirs)
    with torch.no_grad():
        param.copy_(torch.from_numpy(P[ours].reshape(param.shape)))


def grad_of(module, theirs, shape):
    return module.get_parameter(theirs).grad.numpy().reshape(shape)


def randomise(P, rng):
    for k in P:
        P[k] = rng.standard_normal(P[k].shape) * 0.4


def assert_close(ours, theirs, what):
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5, err_msg=what)
    assert rel_error(theirs, ours) < 1e-9, what        # in float64 it is in fact exact to rounding


def torch_masks(lengths, T, causal):
    pad = torch.from_numpy(np.arange(T)[None, :] >= np.asarray(lengths)[:, None])   # True = padding
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1) if causal else None     # True = hidden
    return pad, mask


@pytest.mark.parametrize("activation", ["gelu", "relu"])
@pytest.mark.parametrize("causal", [False, True], ids=["bidirectional", "causal"])
def test_one_block_equals_transformer_encoder_layer(activation, causal):
    rng = np.random.default_rng(0)
    P = {}
    block = Block(P, "b", D, HEADS, FF, activation, rng=rng, dtype=np.float64)
    randomise(P, rng)
    layer = torch_layer(activation)
    for k, t in LAYER_MAP.items():
        copy_in(P, f"b.{k}", layer, t)
    m, T, lengths = 3, 5, [5, 3, 2]
    x = rng.standard_normal((m, T, D))
    real = (np.arange(T)[None, :] < np.array(lengths)[:, None])[:, :, None]
    w = rng.standard_normal((m, T, D)) * real          # torch's padded outputs are not defined: unread

    y, cache = block.forward(x, attention_mask(lengths, T, causal))
    dx, grads = block.backward(w, cache)

    xt = torch.tensor(x, requires_grad=True)
    pad, mask = torch_masks(lengths, T, causal)
    yt = layer(xt, src_mask=mask, src_key_padding_mask=pad)
    (yt * torch.from_numpy(w)).sum().backward()

    assert_close(y * real, yt.detach().numpy() * real, "output")
    assert_close(dx, xt.grad.numpy(), "dx")
    for k, t in LAYER_MAP.items():
        assert_close(grads[f"b.{k}"], grad_of(layer, t, P[f"b.{k}"].shape), k)


class TorchEncoder(torch.nn.Module):
    """Input projection + positions + a stack of TransformerEncoderLayer + final LayerNorm: ours in torch."""

    def __init__(self, n_in, layers, activation, positions):
        super().__init__()
        self.proj = torch.nn.Linear(n_in, D, dtype=torch.float64) if n_in != D else None
        self.positions = positions                          # (max_len, D) constant, or "learned"
        if isinstance(positions, str):
            self.P = torch.nn.Parameter(torch.zeros(D, 16, dtype=torch.float64))
        self.stack = torch.nn.TransformerEncoder(torch_layer(activation), layers,
                                                 norm=torch.nn.LayerNorm(D, dtype=torch.float64),
                                                 enable_nested_tensor=False)

    def forward(self, x, pad, mask):
        T = x.shape[1]
        h = self.proj(x) if self.proj is not None else x
        h = h + (self.P[:, :T].T if isinstance(self.positions, str) else self.positions[:T])
        return self.stack(h, mask=mask, src_key_padding_mask=pad)


@pytest.mark.parametrize("n_in,positions,activation,causal", [
    (5, "learned", "gelu", False), (D, "sinusoidal", "relu", True), (3, "sinusoidal", "gelu", True)])
def test_whole_encoder_equals_torch_transformer_encoder(n_in, positions, activation, causal):
    rng = np.random.default_rng(1)
    P, layers = {}, 2
    enc = TransformerEncoder(P, "enc", n_in, D, HEADS, FF, layers, positions=positions, max_len=16,
                             activation=activation, dropout=0.0, causal=causal, rng=rng, dtype=np.float64)
    randomise(P, rng)
    table = None if positions == "learned" else torch.from_numpy(enc.position_rows(0, 16).copy())
    model = TorchEncoder(n_in, layers, activation, "learned" if table is None else table)
    names = {f"enc.l{i}.{k}": f"stack.layers.{i}.{t}" for i in range(layers) for k, t in LAYER_MAP.items()}
    names.update({"enc.ln.g": "stack.norm.weight", "enc.ln.b": "stack.norm.bias"})
    if n_in != D:
        names.update({"enc.in.W": "proj.weight", "enc.in.b": "proj.bias"})
    if positions == "learned":
        names["enc.P"] = "P"
    assert set(names) == set(P)                        # every parameter of ours has its torch twin
    for k, t in names.items():
        copy_in(P, k, model, t)

    m, T, lengths = 3, 6, [6, 4, 1]
    x = rng.standard_normal((T, n_in, m))              # ours: (T_x, n_in, m)
    real = (np.arange(T)[:, None] < np.array(lengths)[None, :])[:, None, :]
    w = rng.standard_normal((T, D, m)) * real

    y, cache = enc.forward(x, lengths)
    dx, grads = enc.backward(w, cache)

    xt = torch.tensor(x.transpose(2, 0, 1).copy(), requires_grad=True)     # torch: (m, T_x, n_in)
    pad, mask = torch_masks(lengths, T, causal)
    yt = model(xt, pad, mask)
    (yt * torch.from_numpy(w.transpose(2, 0, 1).copy())).sum().backward()

    assert_close(y, yt.detach().numpy().transpose(1, 2, 0) * real, "output")
    assert_close(dx, xt.grad.numpy().transpose(1, 2, 0), "dx")
    for k, t in names.items():
        assert_close(grads[k], grad_of(model, t, P[k].shape), k)
