"""The GRU (the torch.nn.GRU / cuDNN variant; see the package docstring): gates Γu, Γr, candidate."""

from typing import NamedTuple

import numpy as np

from ..functional import sigmoid
from .common import _halve_sigmoid_rows, _mask_info, _rows


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


