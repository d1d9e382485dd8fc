"""The LSTM: candidate c~, gates Γu, Γf, Γo; c<t> = Γu*c~<t> + Γf*c<t-1>, a<t> = Γo*tanh(c<t>)."""

from typing import NamedTuple

import numpy as np

from ..functional import sigmoid
from .common import _active_columns, _grads_from_stacked, _mask_info, _stacked


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
    active: object      # (T_x,) real columns of each step when they come first, else None


def lstm_forward(x, a0, p, mask=None, c0=None):
    """LSTM over a whole sequence.

    x (T_x, n_x, m), a0 (n_a, m), mask (T_x, m) or None, c0 (n_a, m) or None (zeros).
    Returns a (T_x, n_a, m) and an LSTMCache (cache.gu, .gf, .go, .cc, .c, .a are all (T_x, n_a, m)).
    """
    T, _, m = x.shape
    dtype = p["Waa"].dtype
    n = p["Waa"].shape[1]
    drop, full = _mask_info(mask, T, m)
    active = _active_columns(mask, T, m)   # real columns first at every step: compute only those
    W, S, a_hist = _stacked(x, a0, p, 3)
    new = np.empty if active is None else np.zeros   # columns never computed must hold numbers
    gates = new((T, 4 * n, m), dtype)
    c_hist = np.empty((T + 1, n, m), dtype)
    c_hist[0] = 0.0 if c0 is None else c0
    tanh_c = new((T, n, m), dtype)
    fc = np.empty((n, m), dtype)  # scratch for gf * c<t-1>

    for t in range(T):
        k = m if active is None else active[t]       # columns computed at this step
        g = gates[t, :, :k]
        np.matmul(W, S[t, :, :k], out=g)  # every pre-activation of the step in one product
        np.tanh(g, out=g)                # one tanh for all four gate blocks
        sg = g[:3 * n]
        sg *= 0.5
        sg += 0.5                        # σ rows: ½ tanh(z/2) + ½
        c, c_prev = c_hist[t + 1], c_hist[t]
        np.multiply(g[:n], g[3 * n:], out=c[:, :k])          # gu * cc
        np.multiply(g[n:2 * n], c_prev[:, :k], out=fc[:, :k])  # gf * c<t-1>
        c[:, :k] += fc[:, :k]
        if k < m:
            c[:, k:] = c_prev[:, k:]                 # finished rows carry their state
        elif not full[t]:
            np.copyto(c, c_prev, where=drop[t])
        np.tanh(c[:, :k], out=tanh_c[t, :, :k])
        a = a_hist[t + 1]                            # = the a rows of the next step's input
        np.multiply(g[2 * n:3 * n], tanh_c[t, :, :k], out=a[:, :k])  # go * tanh(c)
        if k < m:
            a[:, k:] = a_hist[t][:, k:]
        elif not full[t]:
            np.copyto(a, a_hist[t], where=drop[t])

    cache = LSTMCache(
        gates[:, :n], gates[:, n:2 * n], gates[:, 2 * n:3 * n], gates[:, 3 * n:],
        c_hist[1:], a_hist[1:], gates, tanh_c, c_hist, a_hist, S, drop, full, p, active,
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
    (T, n, m), dtype, active = da.shape, gates.dtype, cache.active
    dz_rows = np.empty((4 * n, T, m), dtype)  # d(pre-activation) of every gate and step
    dg = np.empty((4 * n, m), dtype)          # gradient on the gate activations of one step
    dact = np.empty((4 * n, m), dtype)        # derivative of each gate's nonlinearity, one step
    dtanh = np.empty((n, m), dtype)           # derivative of tanh(c<t>)
    WaaT = np.ascontiguousarray(p["Waa"].T)
    da_next = np.zeros((n, m), dtype)         # gradient reaching a<t> from step t+1
    dc = np.zeros((n, m), dtype) if dc_last is None else np.array(dc_last, dtype)  # reaching c<t>
    ga = np.empty((n, m), dtype)              # total gradient on a<t>
    tmp = np.empty((n, m), dtype)
    if active is None and not full.all():
        ga_keep, dc_keep = np.empty((n, m), dtype), np.empty((n, m), dtype)
        keep = ~drop

    for t in range(T - 1, -1, -1):
        np.add(da_next, da[t], out=ga)
        k = m if active is None else active[t]   # the columns this step computed
        if active is None and not full[t]:   # padded columns skip the cell: keep, then zero, their gradients
            np.copyto(ga_keep, ga)
            np.copyto(dc_keep, dc)
            ga *= keep[t]
            dc *= keep[t]
        # the derivatives are computed per step while gates[t] is in cache (faster than whole-sequence arrays)
        g, tc = gates[t, :, :k], tanh_c[t, :, :k]
        gk, dck, dgk, dactk = ga[:, :k], dc[:, :k], dg[:, :k], dact[:, :k]
        np.multiply(g, g, out=dactk)
        np.subtract(g[:3 * n], dactk[:3 * n], out=dactk[:3 * n])  # σ' = σ - σ² (gu, gf, go)
        np.subtract(1.0, dactk[3 * n:], out=dactk[3 * n:])        # tanh' = 1 - cc²
        np.multiply(tc, tc, out=dtanh[:, :k])
        np.subtract(1.0, dtanh[:, :k], out=dtanh[:, :k])
        np.multiply(gk, tc, out=dgk[2 * n:3 * n])           # dgo
        np.multiply(gk, g[2 * n:3 * n], out=tmp[:, :k])
        tmp[:, :k] *= dtanh[:, :k]
        dck += tmp[:, :k]                                   # total gradient on c<t>
        np.multiply(dck, g[3 * n:], out=dgk[:n])            # dgu = dc * cc
        np.multiply(dck, c_hist[t][:, :k], out=dgk[n:2 * n])  # dgf = dc * c<t-1>
        np.multiply(dck, g[:n], out=dgk[3 * n:])            # dcc = dc * gu
        dz_t = dz_rows[:, t]
        np.multiply(dgk, dactk, out=dz_t[:, :k])
        dck *= g[n:2 * n]                                   # -> gradient on c<t-1>
        np.matmul(WaaT, dz_t[:, :k], out=da_next[:, :k])
        if k < m:   # finished rows: no cell, their gradients pass on to the step they were carried from
            dz_t[:, k:] = 0.0
            da_next[:, k:] = ga[:, k:]
        elif not full[t]:
            np.copyto(da_next, ga_keep, where=drop[t])  # carried states pass their gradients back
            np.copyto(dc, dc_keep, where=drop[t])

    dWax, dWaa, dba, dx = _grads_from_stacked(dz_rows, S, p["Wax"])
    return dx, da_next, dc, {"Wax": dWax, "Waa": dWaa, "ba": dba}


