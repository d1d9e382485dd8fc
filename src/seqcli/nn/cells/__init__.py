"""Recurrent cells (simple RNN, GRU, LSTM): step and whole-sequence forward and backward, side by side.

Notation follows the lecture (column vectors, one column per example):

    x<t>  (n_x, m)   input at step t          a<t>  (n_a, m)   hidden state ("activation")
    c<t>  (n_a, m)   LSTM memory cell         m = batch size, T_x = number of steps

A sequence is stored time-first and feature-major: ``x`` is ``(T_x, n_x, m)``, ``a`` is ``(T_x, n_a, m)``,
so every step's slice is one contiguous block. ``mask`` is ``(T_x, m)`` with 1 at real steps and 0 at
padding.

Parameters ``p`` (and gradients ``dp``, same keys) hold the gates *fused*: the rows of ``Wax`` / ``Waa`` /
``ba`` are the gate blocks stacked in the order given by ``GATES[kind]``, ``n_a`` rows each:

    rnn   Wax (n_a, n_x)    Waa (n_a, n_a)    ba (n_a, 1)
          a<t> = tanh(Waa a<t-1> + Wax x<t> + ba)
    lstm  Wax (4n_a, n_x)   Waa (4n_a, n_a)   ba (4n_a, 1)   blocks [gu, gf, go, cc]
          gu, gf, go = sigmoid(...)  (update Γu, forget Γf, output Γo);  cc = tanh(...)  (candidate c~)
          c<t> = gu * cc + gf * c<t-1>,   a<t> = go * tanh(c<t>)
    gru   Wax (3n_a, n_x)   Waa (3n_a, n_a)   ba (3n_a, 1)   blocks [gu, gr, cc];   bc (n_a, 1)
          gu = sigmoid(Wax_u x<t> + Waa_u a<t-1> + ba_u)      update gate Γu
          gr = sigmoid(Wax_r x<t> + Waa_r a<t-1> + ba_r)      reset gate Γr
          cc = tanh(Wax_c x<t> + ba_c + gr * (Waa_c a<t-1> + bc))
          a<t> = gu * cc + (1 - gu) * a<t-1>
      This is the GRU variant of torch.nn.GRU / cuDNN: the reset gate multiplies the *projected*
      previous state (W_hn h + b_hn), not h itself, which is why the candidate keeps its own recurrent
      bias ``bc``. torch's z gate is our 1 - gu (so W_z = -W_u); torch's r is our gr.

Masking: at a padded step (mask 0) a and c are carried over unchanged. The backward pass is the exact
gradient of that recurrence: a gradient arriving on a padded output flows back to the step it was carried
from. The layers never read padded outputs (pooling uses real steps only, and a cell ignores its input at
padded steps), so padded steps get no gradient from the loss: ``dx`` is exactly 0 there.

The step functions are the plain, readable statement of each cell (they allocate freely); the tests
check the fast whole-sequence functions against them.
"""

import numpy as np

from .gru import GRUCache, GRUStepCache, gru_backward, gru_forward, gru_step_backward, gru_step_forward
from .lstm import (LSTMCache, LSTMStepCache, lstm_backward, lstm_forward, lstm_step_backward,
                   lstm_step_forward)
from .rnn import RNNCache, RNNStepCache, rnn_backward, rnn_forward, rnn_step_backward, rnn_step_forward

__all__ = ["GATES", "STATE", "STATE_FIELDS", "param_shapes", "init_params", "zero_state", "forward", "backward",
           "final_state", "states", "FORWARD", "BACKWARD",
           "RNNCache", "RNNStepCache", "rnn_forward", "rnn_backward", "rnn_step_forward", "rnn_step_backward",
           "LSTMCache", "LSTMStepCache", "lstm_forward", "lstm_backward", "lstm_step_forward", "lstm_step_backward",
           "GRUCache", "GRUStepCache", "gru_forward", "gru_backward", "gru_step_forward", "gru_step_backward"]

GATES = {"rnn": ("a",), "gru": ("gu", "gr", "cc"), "lstm": ("gu", "gf", "go", "cc")}
"""Order of the fused gate blocks (rows of Wax, Waa, ba) for each cell kind."""

STATE = {"rnn": ("a",), "gru": ("a",), "lstm": ("a", "c")}
"""What a cell carries from one step to the next (and hands from one window or encoder to the next)."""

STATE_FIELDS = {
    "rnn": ("a",),
    "gru": ("gu", "gr", "cc", "a"),
    "lstm": ("gu", "gf", "go", "cc", "c", "a"),
}
"""Cache fields, each ``(T_x, n_a, m)``, that hold the forward activations of every step (heatmaps)."""


# ----------------------------------------------------------------------------------------------------
# initialisation


def _orthogonal(n, rng, dtype):
    """A random (n, n) orthogonal matrix (QR of a Gaussian, signs fixed so it is uniformly distributed)."""
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return (q * np.sign(np.diag(r))).astype(dtype)


def param_shapes(kind, n_x, n_a):
    """The shapes ``init_params`` gives, without allocating anything (to check stored arrays)."""
    G = len(GATES[kind])
    shapes = {"Wax": (G * n_a, n_x), "Waa": (G * n_a, n_a), "ba": (G * n_a, 1)}
    if kind == "gru":
        shapes["bc"] = (n_a, 1)
    return shapes


def init_params(kind, n_x, n_a, rng, dtype=np.float32):
    """Fresh parameters for a cell of ``kind`` ("rnn", "gru", "lstm").

    Input weights ~ U(-1/sqrt(n_a), 1/sqrt(n_a)) (torch's default scale); recurrent weights orthogonal per
    gate block (keeps a<t> from exploding or vanishing early in training); biases 0 except the LSTM forget
    gate bias, 1, so the cell starts by remembering.
    Returns {"Wax": (G n_a, n_x), "Waa": (G n_a, n_a), "ba": (G n_a, 1)} (+ "bc": (n_a, 1) for the GRU).
    """
    G = len(GATES[kind])
    bound = 1.0 / np.sqrt(n_a)
    p = {
        "Wax": rng.uniform(-bound, bound, (G * n_a, n_x)).astype(dtype),
        "Waa": np.concatenate([_orthogonal(n_a, rng, dtype) for _ in range(G)], axis=0),
        "ba": np.zeros((G * n_a, 1), dtype),
    }
    if kind == "lstm":
        p["ba"][n_a:2 * n_a] = 1.0
    if kind == "gru":
        p["bc"] = np.zeros((n_a, 1), dtype)
    return p


# ----------------------------------------------------------------------------------------------------
# one interface for every kind: a state is a tuple, (a,) or (a, c) for the LSTM


def zero_state(kind, n_a, m, dtype=np.float32):
    """The initial state of ``m`` rows: zeros, (a0,) or (a0, c0) for the LSTM, each (n_a, m)."""
    return tuple(np.zeros((n_a, m), dtype) for _ in STATE[kind])


def forward(kind, x, state0, p, mask=None):
    """Whole-sequence forward of a cell of ``kind`` from ``state0`` (a tuple like ``zero_state``'s, or
    None for zeros).  x (T_x, n_x, m), mask (T_x, m) or None.  Returns a (T_x, n_a, m) and the cache."""
    n_a, m = p["Waa"].shape[1], x.shape[2]
    a0, *c0 = state0 if state0 is not None else zero_state(kind, n_a, m, p["Waa"].dtype)
    if kind == "lstm":
        return lstm_forward(x, a0, p, mask, c0[0] if c0 else None)
    return FORWARD[kind](x, a0, p, mask)


def backward(kind, da, cache, dlast=None):
    """Whole-sequence backward of a cell of ``kind``.  da (T_x, n_a, m) gradient on every output;
    dlast: gradient on the final state (a tuple like the state; None: zero).

    Returns dx (T_x, n_x, m), dstate0 (a tuple like the state: the gradient of the initial state), dp.
    """
    if dlast is not None and da.shape[0]:
        da = da.copy()
        da[-1] += dlast[0]   # the final a is the last output (padded rows carry theirs there)
    if kind == "lstm":
        dx, da0, dc0, dp = lstm_backward(da, cache, None if dlast is None else dlast[1])
        dstate0 = (da0, dc0)
    else:
        dx, da0, dp = BACKWARD[kind](da, cache)
        dstate0 = (da0,)
    if dlast is not None and not da.shape[0]:   # no step: the final state is the initial one
        dstate0 = tuple(d0 + d for d0, d in zip(dstate0, dlast))
    return dx, dstate0, dp


def final_state(kind, cache):
    """The state after each row's last real step (padded steps carry it to the end): a tuple of (n_a, m)."""
    if kind == "lstm":
        return (cache.a_hist[-1], cache.c_hist[-1])
    return (cache.a_hist[-1],)


def states(kind, cache):
    """The per-step activations of a forward pass as {field: (T_x, n_a, m)} (the cache's own arrays)."""
    return {name: getattr(cache, name) for name in STATE_FIELDS[kind]}


FORWARD = {"rnn": rnn_forward, "gru": gru_forward, "lstm": lstm_forward}
BACKWARD = {"rnn": rnn_backward, "gru": gru_backward, "lstm": lstm_backward}
