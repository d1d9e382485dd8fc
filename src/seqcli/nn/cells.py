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

Speed (the whole-sequence functions): the RNN and the LSTM keep the stacked input
``S[t] = [x<t>; a<t-1>; 1]`` of every step in one buffer and compute every pre-activation of a step
with ONE product ``[Wax | Waa | ba] @ S[t]``; each step writes a<t> straight into the a rows of
S[t+1], so the next step's input is ready without a copy. Their backward passes write the gradients
of the pre-activations straight into a ``(G*n_a, T_x, m)`` buffer, whose reshape to
``(G*n_a, T_x*m)`` is free, so the gradients of all weights (and, through the row of ones, of the
bias) are ONE large product with the stacked inputs, and dx is one more. The LSTM computes the
derivatives of its nonlinearities inside the loop, while that step's gates are in cache (measured
faster than whole-sequence arrays, which cost extra trips through memory). The GRU cannot stack: its
reset gate scales only the recurrent part, so it keeps a batched input projection before the loop plus
one ``Waa a<t-1>`` product per step, and gathers its gradients into ``(rows, T_x*m)`` arrays by one
copy each (``_rows``). Everywhere, the sigmoid rows of the weights are pre-scaled by 1/2 so a single
``tanh`` over all gates serves every gate (σ(z) = ½·tanh(z/2) + ½), and every buffer is allocated
before the loop and written with ``out=``.

The sequence output ``a`` of the RNN and the LSTM is a view into the cache's S (each step contiguous,
the whole not): the backward pass reads it, so callers must not write into it (none does).
The dtype follows the parameters (float32 for training, float64 for gradient checks).

The step functions are the plain, readable statement of each cell (they allocate freely); the tests
check the fast whole-sequence functions against them.
"""

from typing import NamedTuple

import numpy as np

from .functional import sigmoid

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
# helpers shared by the whole-sequence functions


def _mask_info(mask, T, m):
    """From a (T, m) 0/1 mask: ``drop`` (T, 1, m) bool, True at padded steps (None if no mask), and
    ``full`` (T,) bool, True where a step has no padding at all (the fast path skips masking there)."""
    if mask is None:
        return None, np.ones(T, dtype=bool)
    keep = np.asarray(mask).astype(bool).reshape(T, m)
    return ~keep[:, None, :], keep.all(axis=1)


def _halve_sigmoid_rows(p, n_a, n_sig):
    """Copies of Wax, Waa, ba with the first ``n_sig`` gate blocks scaled by 1/2 (for σ(z) = ½tanh(z/2)+½)."""
    s = np.ones((p["Waa"].shape[0], 1), p["Waa"].dtype)
    s[: n_sig * n_a] = 0.5
    return p["Wax"] * s, p["Waa"] * s, p["ba"] * s


def _rows(*seqs):
    """Time-major sequences (T, n_i, m) -> one (sum n_i, T*m) array: features as rows, every
    (step, example) a column. One copy, so that a sum over steps becomes one matrix product."""
    T, _, m = seqs[0].shape
    rows = sum(s.shape[1] for s in seqs)
    out = np.empty((rows, T, m), seqs[0].dtype)
    i = 0
    for s in seqs:
        out[i:i + s.shape[1]] = s.transpose(1, 0, 2)
        i += s.shape[1]
    return out.reshape(rows, T * m)


def _stacked(x, a0, p, n_sig):
    """The buffers of the one-product-per-step form (RNN, LSTM).

    x (T_x, n_x, m), a0 (n_a, m); the first ``n_sig`` gate blocks of the weights are scaled by 1/2
    (for σ(z) = ½tanh(z/2)+½). Returns
      W (G n_a, n_x + n_a + 1) = [Wax | Waa | ba]: ``W @ S[t]`` is every pre-activation of step t;
      S (T_x + 1, n_x + n_a + 1, m) with S[t] = [x<t>; a<t-1>; 1] (x copied in: the backward pass
        needs it, the caller's array may change); a0 is in place, the forward pass
        writes a<t> straight into S[t + 1] (the next step's input); S[T_x] holds only the last state;
      a_hist (T_x + 1, n_a, m), the a rows of S (a view: each step one contiguous block).
    """
    T, n_x, m = x.shape
    n_a, dtype = p["Waa"].shape[1], p["Waa"].dtype
    W = np.concatenate(_halve_sigmoid_rows(p, n_a, n_sig), axis=1)
    S = np.empty((T + 1, n_x + n_a + 1, m), dtype)
    S[:T, :n_x] = x
    S[T, :n_x] = 0.0
    S[0, n_x:n_x + n_a] = a0
    S[:, n_x + n_a] = 1.0
    return W, S, S[:, n_x:n_x + n_a]


def _grads_from_stacked(dz_rows, S, Wax):
    """All gradients that follow from the pre-activation gradients, each ONE large product.

    dz_rows: (G n_a, T_x, m) gradient of the pre-activations of every step, written by the backward
    loop straight in this layout so that ``dz_rows.reshape(G n_a, T_x*m)`` needs no copy;
    S: (T_x + 1, n_x + n_a + 1, m) the stacked inputs of the forward pass; Wax: (G n_a, n_x).
    Returns dWax (G n_a, n_x), dWaa (G n_a, n_a), dba (G n_a, 1), dx (T_x, n_x, m).
    """
    rows, T, m = dz_rows.shape
    n_x = Wax.shape[1]
    K = S.shape[1]
    dz2 = dz_rows.reshape(rows, T * m)
    dW = dz2 @ _rows(S[:T]).T                    # the ones row of S gives dba
    dx = (Wax.T @ dz2).reshape(n_x, T, m).transpose(1, 0, 2)
    return (np.ascontiguousarray(dW[:, :n_x]), np.ascontiguousarray(dW[:, n_x:K - 1]),
            np.ascontiguousarray(dW[:, K - 1:]), np.ascontiguousarray(dx))


# ----------------------------------------------------------------------------------------------------
# simple RNN


class RNNStepCache(NamedTuple):
    x_t: np.ndarray     # (n_x, m)
    a_prev: np.ndarray  # (n_a, m)
    a_next: np.ndarray  # (n_a, m)
    p: dict


def rnn_step_forward(x_t, a_prev, p):
    """One step a<t> = tanh(Waa a<t-1> + Wax x<t> + ba).  x_t (n_x, m), a_prev (n_a, m) -> a_next (n_a, m)."""
    a_next = np.tanh(p["Waa"] @ a_prev + p["Wax"] @ x_t + p["ba"])
    return a_next, RNNStepCache(x_t, a_prev, a_next, p)


def rnn_step_backward(da_next, cache):
    """Gradients of one step given da_next (n_a, m): returns dx_t (n_x, m), da_prev (n_a, m), dp."""
    x_t, a_prev, a_next, p = cache
    dz = da_next * (1.0 - a_next**2)  # tanh' = 1 - tanh²
    dp = {"Wax": dz @ x_t.T, "Waa": dz @ a_prev.T, "ba": dz.sum(axis=1, keepdims=True)}
    return p["Wax"].T @ dz, p["Waa"].T @ dz, dp


class RNNCache(NamedTuple):
    a: np.ndarray       # (T_x, n_a, m) hidden state after every step (a view of a_hist[1:])
    a_hist: np.ndarray  # (T_x + 1, n_a, m) with a_hist[0] = a0 (a view into S)
    S: np.ndarray       # (T_x + 1, n_x + n_a + 1, m) stacked inputs [x<t>; a<t-1>; 1]
    drop: object        # (T_x, 1, m) bool, True at padded steps; None without a mask
    full: np.ndarray    # (T_x,) bool, True at steps without padding
    p: dict


def rnn_forward(x, a0, p, mask=None):
    """Simple RNN over a whole sequence.

    x (T_x, n_x, m), a0 (n_a, m), mask (T_x, m) or None.
    Returns a (T_x, n_a, m) and an RNNCache.
    """
    T, _, m = x.shape
    drop, full = _mask_info(mask, T, m)
    W, S, a_hist = _stacked(x, a0, p, 0)
    for t in range(T):
        a = a_hist[t + 1]
        np.matmul(W, S[t], out=a)  # Waa a<t-1> + Wax x<t> + ba, straight into the next step's input
        np.tanh(a, out=a)
        if not full[t]:
            np.copyto(a, a_hist[t], where=drop[t])  # padded: carry the state
    return a_hist[1:], RNNCache(a_hist[1:], a_hist, S, drop, full, p)


def rnn_backward(da, cache):
    """Backward of rnn_forward.  da (T_x, n_a, m) gradient on every output a<t>.

    Returns dx (T_x, n_x, m), da0 (n_a, m), dp (keys of p).
    """
    a_hist, S, drop, full, p = cache.a_hist, cache.S, cache.drop, cache.full, cache.p
    T, n_a, m = da.shape
    dtype = S.dtype
    dtanh = 1.0 - a_hist[1:] ** 2           # (T, n_a, m), all steps at once
    dz_rows = np.empty((n_a, T, m), dtype)  # d(pre-activation), written in the layout the products want
    WaaT = np.ascontiguousarray(p["Waa"].T)
    da_next = np.zeros((n_a, m), dtype)     # gradient reaching a<t> from step t+1
    ga = np.empty((n_a, m), dtype)          # total gradient on a<t>
    keep = None if drop is None else ~drop
    for t in range(T - 1, -1, -1):
        np.add(da_next, da[t], out=ga)
        dz_t = dz_rows[:, t]
        np.multiply(ga, dtanh[t], out=dz_t)
        if not full[t]:
            dz_t *= keep[t]  # padded columns: the cell did not run there
        np.matmul(WaaT, dz_t, out=da_next)
        if not full[t]:
            np.copyto(da_next, ga, where=drop[t])  # the carried state passes its gradient straight back
    dWax, dWaa, dba, dx = _grads_from_stacked(dz_rows, S, p["Wax"])
    return dx, da_next, {"Wax": dWax, "Waa": dWaa, "ba": dba}


# ----------------------------------------------------------------------------------------------------
# LSTM


class LSTMStepCache(NamedTuple):
    x_t: np.ndarray     # (n_x, m)
    a_prev: np.ndarray  # (n_a, m)
    c_prev: np.ndarray  # (n_a, m)
    gu: np.ndarray      # (n_a, m) update gate Γu
    gf: np.ndarray      # (n_a, m) forget gate Γf
    go: np.ndarray      # (n_a, m) output gate Γo
    cc: np.ndarray      # (n_a, m) candidate c~
    c_next: np.ndarray  # (n_a, m)
    p: dict


def lstm_step_forward(x_t, a_prev, c_prev, p):
    """One LSTM step.  x_t (n_x, m), a_prev (n_a, m), c_prev (n_a, m) -> a_next, c_next (n_a, m), cache."""
    n = a_prev.shape[0]
    z = p["Wax"] @ x_t + p["Waa"] @ a_prev + p["ba"]
    gu, gf, go = sigmoid(z[:n]), sigmoid(z[n:2 * n]), sigmoid(z[2 * n:3 * n])
    cc = np.tanh(z[3 * n:])
    c_next = gu * cc + gf * c_prev
    a_next = go * np.tanh(c_next)
    return a_next, c_next, LSTMStepCache(x_t, a_prev, c_prev, gu, gf, go, cc, c_next, p)


def lstm_step_backward(da_next, dc_next, cache):
    """Gradients of one LSTM step.  da_next, dc_next (n_a, m).

    Returns dx_t (n_x, m), da_prev (n_a, m), dc_prev (n_a, m), dp (keys of p).
    """
    x_t, a_prev, c_prev, gu, gf, go, cc, c_next, p = cache
    tc = np.tanh(c_next)
    dgo = da_next * tc
    dc = dc_next + da_next * go * (1.0 - tc**2)
    dgu, dgf, dcc = dc * cc, dc * c_prev, dc * gu
    # through the nonlinearities: σ' = σ(1-σ), tanh' = 1 - tanh²
    dz = np.concatenate([dgu * gu * (1 - gu), dgf * gf * (1 - gf), dgo * go * (1 - go), dcc * (1 - cc**2)])
    dp = {"Wax": dz @ x_t.T, "Waa": dz @ a_prev.T, "ba": dz.sum(axis=1, keepdims=True)}
    return p["Wax"].T @ dz, p["Waa"].T @ dz, dc * gf, dp


class LSTMCache(NamedTuple):
    gu: np.ndarray      # (T_x, n_a, m) update gate Γu of every step   (views into ``gates``)
    gf: np.ndarray      # (T_x, n_a, m) forget gate Γf
    go: np.ndarray      # (T_x, n_a, m) output gate Γo
    cc: np.ndarray      # (T_x, n_a, m) candidate c~
    c: np.ndarray       # (T_x, n_a, m) memory cell after every step    (view of c_hist[1:])
    a: np.ndarray       # (T_x, n_a, m) hidden state after every step   (view of a_hist[1:])
    gates: np.ndarray   # (T_x, 4 n_a, m) the fused gate activations [gu; gf; go; cc]
    tanh_c: np.ndarray  # (T_x, n_a, m) tanh(c<t>)
    c_hist: np.ndarray  # (T_x + 1, n_a, m) with c_hist[0] = c0
    a_hist: np.ndarray  # (T_x + 1, n_a, m) with a_hist[0] = a0 (a view into S)
    S: np.ndarray       # (T_x + 1, n_x + n_a + 1, m) stacked inputs [x<t>; a<t-1>; 1]
    drop: object        # (T_x, 1, m) bool, True at padded steps; None without a mask
    full: np.ndarray    # (T_x,) bool
    p: dict


def lstm_forward(x, a0, p, mask=None, c0=None):
    """LSTM over a whole sequence.

    x (T_x, n_x, m), a0 (n_a, m), mask (T_x, m) or None, c0 (n_a, m) or None (zeros).
    Returns a (T_x, n_a, m) and an LSTMCache (cache.gu, .gf, .go, .cc, .c, .a are all (T_x, n_a, m)).
    """
    T, _, m = x.shape
    dtype = p["Waa"].dtype
    n = p["Waa"].shape[1]
    drop, full = _mask_info(mask, T, m)
    W, S, a_hist = _stacked(x, a0, p, 3)
    gates = np.empty((T, 4 * n, m), dtype)
    c_hist = np.empty((T + 1, n, m), dtype)
    c_hist[0] = 0.0 if c0 is None else c0
    tanh_c = np.empty((T, n, m), dtype)
    fc = np.empty((n, m), dtype)  # scratch for gf * c<t-1>

    for t in range(T):
        g = gates[t]
        np.matmul(W, S[t], out=g)        # every pre-activation of the step in one product
        np.tanh(g, out=g)                # one tanh for all four gate blocks
        sg = g[:3 * n]
        sg *= 0.5
        sg += 0.5                        # σ rows: ½ tanh(z/2) + ½
        c, c_prev = c_hist[t + 1], c_hist[t]
        np.multiply(g[:n], g[3 * n:], out=c)        # gu * cc
        np.multiply(g[n:2 * n], c_prev, out=fc)     # gf * c<t-1>
        c += fc
        if not full[t]:
            np.copyto(c, c_prev, where=drop[t])
        np.tanh(c, out=tanh_c[t])
        a = a_hist[t + 1]                            # = the a rows of the next step's input
        np.multiply(g[2 * n:3 * n], tanh_c[t], out=a)  # go * tanh(c)
        if not full[t]:
            np.copyto(a, a_hist[t], where=drop[t])

    cache = LSTMCache(
        gates[:, :n], gates[:, n:2 * n], gates[:, 2 * n:3 * n], gates[:, 3 * n:],
        c_hist[1:], a_hist[1:], gates, tanh_c, c_hist, a_hist, S, drop, full, p,
    )
    return a_hist[1:], cache


def lstm_backward(da, cache, dc_last=None):
    """Backward of lstm_forward.  da (T_x, n_a, m) gradient on every output a<t>; dc_last (n_a, m)
    gradient on the final memory cell c<T_x> (None: zero; an encoder whose final state starts a decoder
    passes one).

    Returns dx (T_x, n_x, m), da0 (n_a, m), dc0 (n_a, m), dp (keys of p).
    """
    gates, tanh_c, c_hist, S, drop, full, p = (cache.gates, cache.tanh_c, cache.c_hist, cache.S,
                                               cache.drop, cache.full, cache.p)
    T, n, m = da.shape
    dtype = gates.dtype
    dz_rows = np.empty((4 * n, T, m), dtype)  # d(pre-activation) of every gate and step
    dg = np.empty((4 * n, m), dtype)          # gradient on the gate activations of one step
    dact = np.empty((4 * n, m), dtype)        # derivative of each gate's nonlinearity, one step
    dtanh = np.empty((n, m), dtype)           # derivative of tanh(c<t>)
    WaaT = np.ascontiguousarray(p["Waa"].T)
    da_next = np.zeros((n, m), dtype)         # gradient reaching a<t> from step t+1
    dc = np.zeros((n, m), dtype) if dc_last is None else np.array(dc_last, dtype)  # reaching c<t>
    ga = np.empty((n, m), dtype)              # total gradient on a<t>
    tmp = np.empty((n, m), dtype)
    if not full.all():
        ga_keep, dc_keep = np.empty((n, m), dtype), np.empty((n, m), dtype)
        keep = ~drop

    for t in range(T - 1, -1, -1):
        np.add(da_next, da[t], out=ga)
        if not full[t]:
            # padded columns skip the cell: remember their gradients and zero them for the cell math
            np.copyto(ga_keep, ga)
            np.copyto(dc_keep, dc)
            ga *= keep[t]
            dc *= keep[t]
        # the derivatives are computed here, per step, while gates[t] is in cache: measured faster
        # than whole-sequence arrays made before the loop, which cost extra trips through memory
        g, tc = gates[t], tanh_c[t]
        np.multiply(g, g, out=dact)
        np.subtract(g[:3 * n], dact[:3 * n], out=dact[:3 * n])  # σ' = σ - σ² (gu, gf, go)
        np.subtract(1.0, dact[3 * n:], out=dact[3 * n:])        # tanh' = 1 - cc²
        np.multiply(tc, tc, out=dtanh)
        np.subtract(1.0, dtanh, out=dtanh)
        np.multiply(ga, tc, out=dg[2 * n:3 * n])            # dgo
        np.multiply(ga, g[2 * n:3 * n], out=tmp)
        tmp *= dtanh
        dc += tmp                                           # total gradient on c<t>
        np.multiply(dc, g[3 * n:], out=dg[:n])              # dgu = dc * cc
        np.multiply(dc, c_hist[t], out=dg[n:2 * n])         # dgf = dc * c<t-1>
        np.multiply(dc, g[:n], out=dg[3 * n:])              # dcc = dc * gu
        dz_t = dz_rows[:, t]
        np.multiply(dg, dact, out=dz_t)
        dc *= g[n:2 * n]                                    # -> gradient on c<t-1>
        np.matmul(WaaT, dz_t, out=da_next)
        if not full[t]:
            np.copyto(da_next, ga_keep, where=drop[t])  # carried states pass their gradients back
            np.copyto(dc, dc_keep, where=drop[t])

    dWax, dWaa, dba, dx = _grads_from_stacked(dz_rows, S, p["Wax"])
    return dx, da_next, dc, {"Wax": dWax, "Waa": dWaa, "ba": dba}


# ----------------------------------------------------------------------------------------------------
# GRU (torch.nn.GRU variant, see the module docstring)


class GRUStepCache(NamedTuple):
    x_t: np.ndarray     # (n_x, m)
    a_prev: np.ndarray  # (n_a, m)
    gu: np.ndarray      # (n_a, m) update gate Γu
    gr: np.ndarray      # (n_a, m) reset gate Γr
    cc: np.ndarray      # (n_a, m) candidate
    hc: np.ndarray      # (n_a, m) Waa_c a<t-1> + bc, the recurrent part the reset gate scales
    p: dict


def gru_step_forward(x_t, a_prev, p):
    """One GRU step.  x_t (n_x, m), a_prev (n_a, m) -> a_next (n_a, m), cache."""
    n = a_prev.shape[0]
    zx = p["Wax"] @ x_t + p["ba"]
    za = p["Waa"] @ a_prev
    gu = sigmoid(zx[:n] + za[:n])
    gr = sigmoid(zx[n:2 * n] + za[n:2 * n])
    hc = za[2 * n:] + p["bc"]
    cc = np.tanh(zx[2 * n:] + gr * hc)
    a_next = gu * cc + (1.0 - gu) * a_prev
    return a_next, GRUStepCache(x_t, a_prev, gu, gr, cc, hc, p)


def gru_step_backward(da_next, cache):
    """Gradients of one GRU step given da_next (n_a, m): returns dx_t, da_prev, dp."""
    x_t, a_prev, gu, gr, cc, hc, p = cache
    dzc = da_next * gu * (1.0 - cc**2)          # d(candidate pre-activation)
    dzu = da_next * (cc - a_prev) * gu * (1.0 - gu)
    dzr = dzc * hc * gr * (1.0 - gr)
    dzx = np.concatenate([dzu, dzr, dzc])        # input side:     Wax x + ba
    dza = np.concatenate([dzu, dzr, dzc * gr])   # recurrent side: Waa a_prev (+ bc for the candidate)
    dp = {
        "Wax": dzx @ x_t.T, "Waa": dza @ a_prev.T,
        "ba": dzx.sum(axis=1, keepdims=True), "bc": (dzc * gr).sum(axis=1, keepdims=True),
    }
    da_prev = p["Waa"].T @ dza + da_next * (1.0 - gu)
    return p["Wax"].T @ dzx, da_prev, dp


class GRUCache(NamedTuple):
    gu: np.ndarray      # (T_x, n_a, m) update gate Γu of every step (views into ``gates``)
    gr: np.ndarray      # (T_x, n_a, m) reset gate Γr
    cc: np.ndarray      # (T_x, n_a, m) candidate
    a: np.ndarray       # (T_x, n_a, m) hidden state after every step (view of a_hist[1:])
    gates: np.ndarray   # (T_x, 3 n_a, m) [gu; gr; cc]
    hc: np.ndarray      # (T_x, n_a, m) Waa_c a<t-1> + bc
    a_hist: np.ndarray  # (T_x + 1, n_a, m) with a_hist[0] = a0
    x: np.ndarray       # (T_x, n_x, m)
    drop: object        # (T_x, 1, m) bool or None
    full: np.ndarray    # (T_x,) bool
    p: dict


def gru_forward(x, a0, p, mask=None):
    """GRU over a whole sequence.

    x (T_x, n_x, m), a0 (n_a, m), mask (T_x, m) or None.
    Returns a (T_x, n_a, m) and a GRUCache (cache.gu, .gr, .cc, .a are (T_x, n_a, m)).
    """
    T, _, m = x.shape
    dtype = p["Waa"].dtype
    x = np.asarray(x, dtype)
    n = p["Waa"].shape[1]
    drop, full = _mask_info(mask, T, m)
    Wax, Waa, ba = _halve_sigmoid_rows(p, n, 2)
    bc = p["bc"]

    gates = np.empty((T, 3 * n, m), dtype)
    np.matmul(Wax, x, out=gates)
    gates += ba
    hc_all = np.empty((T, n, m), dtype)
    a_hist = np.empty((T + 1, n, m), dtype)
    a_hist[0] = a0
    tmp = np.empty((3 * n, m), dtype)

    for t in range(T):
        g, a_prev, a, hc = gates[t], a_hist[t], a_hist[t + 1], hc_all[t]
        np.matmul(Waa, a_prev, out=tmp)
        sg = g[:2 * n]
        sg += tmp[:2 * n]
        np.tanh(sg, out=sg)
        sg *= 0.5
        sg += 0.5                                   # gu, gr
        np.add(tmp[2 * n:], bc, out=hc)
        cc = g[2 * n:]
        np.multiply(g[n:2 * n], hc, out=tmp[:n])    # gr * (Waa_c a_prev + bc)
        cc += tmp[:n]
        np.tanh(cc, out=cc)
        np.subtract(cc, a_prev, out=a)              # a = a_prev + gu * (cc - a_prev)
        a *= g[:n]
        a += a_prev
        if not full[t]:
            np.copyto(a, a_prev, where=drop[t])

    cache = GRUCache(gates[:, :n], gates[:, n:2 * n], gates[:, 2 * n:], a_hist[1:],
                     gates, hc_all, a_hist, x, drop, full, p)
    return a_hist[1:], cache


def gru_backward(da, cache):
    """Backward of gru_forward.  da (T_x, n_a, m).  Returns dx (T_x, n_x, m), da0 (n_a, m), dp."""
    gates, hc_all, a_hist, x, drop, full, p = (cache.gates, cache.hc, cache.a_hist, cache.x, cache.drop,
                                               cache.full, cache.p)
    T, n, m = da.shape
    dtype = gates.dtype
    dact = gates * gates                     # σ' = σ - σ² (gu, gr), tanh' = 1 - cc² (cc), all steps
    np.subtract(gates[:, :2 * n], dact[:, :2 * n], out=dact[:, :2 * n])
    np.subtract(1.0, dact[:, 2 * n:], out=dact[:, 2 * n:])

    dzx = np.empty((T, 3 * n, m), dtype)     # d(input-side pre-activations)  Wax x + ba
    dza = np.empty((T, 3 * n, m), dtype)     # d(recurrent products)          Waa a_prev (+ bc)
    WaaT = np.ascontiguousarray(p["Waa"].T)
    da_next = np.zeros((n, m), dtype)
    ga = np.empty((n, m), dtype)
    gu_ga = np.empty((n, m), dtype)
    if not full.all():
        ga_keep = np.empty((n, m), dtype)
        keep = ~drop

    for t in range(T - 1, -1, -1):
        np.add(da_next, da[t], out=ga)
        if not full[t]:
            np.copyto(ga_keep, ga)
            ga *= keep[t]
        g, dx_t, da_t = gates[t], dzx[t], dza[t]
        gu, gr, cc = g[:n], g[n:2 * n], g[2 * n:]
        np.multiply(ga, gu, out=gu_ga)
        np.multiply(gu_ga, dact[t, 2 * n:], out=dx_t[2 * n:])     # dzc
        np.subtract(cc, a_hist[t], out=dx_t[:n])
        dx_t[:n] *= ga
        dx_t[:n] *= dact[t, :n]                                    # dzu
        np.multiply(dx_t[2 * n:], hc_all[t], out=dx_t[n:2 * n])
        dx_t[n:2 * n] *= dact[t, n:2 * n]                          # dzr
        np.copyto(da_t[:2 * n], dx_t[:2 * n])
        np.multiply(dx_t[2 * n:], gr, out=da_t[2 * n:])            # reset gate scales the recurrent part
        np.matmul(WaaT, da_t, out=da_next)
        da_next += ga                                              # + (1 - gu) * ga
        da_next -= gu_ga
        if not full[t]:
            np.copyto(da_next, ga_keep, where=drop[t])

    # every weight gradient is ONE large product over all (step, example) columns
    dzx2 = _rows(dzx)
    dWax, dba = dzx2 @ _rows(x).T, dzx2.sum(axis=1, keepdims=True)
    dWaa = _rows(dza) @ _rows(a_hist[:-1]).T
    dbc = dza[:, 2 * n:].sum(axis=(0, 2))[:, None]
    dx = np.matmul(p["Wax"].T, dzx)
    return dx, da_next, {"Wax": dWax, "Waa": dWaa, "ba": dba, "bc": dbc}


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
