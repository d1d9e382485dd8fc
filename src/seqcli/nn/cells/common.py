"""What the whole-sequence cell functions share: masks, stacked inputs, gradients as one product.

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
"""

import numpy as np


def _mask_info(mask, T, m):
    """From a (T, m) 0/1 mask: ``drop`` (T, 1, m) bool, True at padded steps (None if no mask), and
    ``full`` (T,) bool, True where a step has no padding at all (the fast path skips masking there)."""
    if mask is None:
        return None, np.ones(T, dtype=bool)
    keep = np.asarray(mask).astype(bool).reshape(T, m)
    return ~keep[:, None, :], keep.all(axis=1)


def _active_columns(mask, T, m):
    """(T,) the number of real columns of each step when every step's real columns come first (the
    rows sorted by length, longest first), else None.

    Then a step can compute its first ``active[t]`` columns only and carry the others, instead of
    computing every column and overwriting the padded ones: the character features of a batch's
    words, padded to its longest word, do a third of the work that way."""
    if mask is None:
        return None
    keep = np.asarray(mask).astype(bool).reshape(T, m)
    active = keep.sum(axis=1)
    if not (keep == (np.arange(m)[None, :] < active[:, None])).all():
        return None
    return active


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


