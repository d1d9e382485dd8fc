"""The simple RNN: a<t> = tanh(Waa a<t-1> + Wax x<t> + ba), one step and a whole sequence."""

from typing import NamedTuple

import numpy as np

from .common import _grads_from_stacked, _mask_info, _stacked


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


