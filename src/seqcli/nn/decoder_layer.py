"""One decoder layer of the encoder-decoder, fused for the step loop: forward and backward of one step.

The decoder must run step by step (input feeding makes x<t> depend on h~<t-1>), so its step is fused
here rather than calling the whole-sequence cells: each layer keeps one stacked buffer
S[t] = [xr<t>; a<t-1>] per step (xr: the fed h~ for layer 0, the layer below's output above it) and
makes ONE product per step for all gates (two for the GRU, whose reset gate scales only its recurrent
part); the sigmoid rows are pre-scaled by 1/2 so one tanh serves all gates (σ(z) = ½tanh(z/2) + ½);
every buffer is allocated before the loop and written with ``out=``. The backward step writes each
step's pre-activation gradients into a (rows, T_y, m) buffer, so every weight gradient is ONE product
after the loop (``DecoderLayer.grads``).

The gate order, the parameter names and the GRU variant are the cells' (nn/cells): the tests check
the decoder's steps against teacher forcing and every gradient against central differences.
"""

from types import SimpleNamespace

import numpy as np

from . import cells

N_SIG = {"rnn": 0, "gru": 2, "lstm": 3}   # leading gate blocks that are sigmoids


def rows(x):
    """(T, k, m) -> (k, T*m), one copy: features as rows, every (step, column) a column."""
    T, k, m = x.shape
    return x.transpose(1, 0, 2).reshape(k, T * m)


def halve(W, n, n_sig):
    """A copy of W with its first ``n_sig`` gate blocks (n rows each) scaled by 1/2 (σ(z) = ½tanh(z/2)+½)."""
    W = np.array(W)
    W[: n_sig * n] *= 0.5
    return W


class DecoderLayer:
    """One decoder layer's weights prepared for the step loop, with its fused step forward and backward.

    Of the cell's input columns (Wax), the first ``n_pre`` are applied for all steps before the loop
    (layer 0: the target embedding); the other ``n_r`` (layer 0: the fed h~; above: the layer below's
    output) are read at every step from the stacked buffer ``S[t] = [xr<t>; a<t-1>]``. Built from the
    parameters at each call (training) or encode (inference): it keeps no history.
    """

    def __init__(self, kind, p, n_pre):
        n = p["Waa"].shape[1]
        s = N_SIG[kind]
        self.kind, self.n, self.G = kind, n, len(cells.GATES[kind])
        self.n_pre, self.n_r = n_pre, p["Wax"].shape[1] - n_pre
        # the backward products use the true weights through transposed views: BLAS reads them as
        # they are (a transposed copy of each would cost more than a step)
        Wr = p["Wax"][:, n_pre:]
        self.We = halve(p["Wax"][:, :n_pre], n, s)          # (G n, n_pre), applied before the loop
        self.WeT = p["Wax"][:, :n_pre].T
        self.b = halve(p["ba"], n, s)                        # (G n, 1)
        if kind == "gru":
            self.Wx, self.Wa = halve(Wr, n, s), halve(p["Waa"], n, s)
            self.WxT, self.WaT = Wr.T, p["Waa"].T
            self.bc = p["bc"]
        else:
            W = np.concatenate([Wr, p["Waa"]], axis=1)        # (G n, n_r + n) over S[t]
            self.W, self.WT = halve(W, n, s), W.T

    def alloc(self, T, m, dtype):
        """Forward buffers for T steps of m columns. ``f.a[t]`` (n, m) is a<t-1> (a view into S)."""
        n, G = self.n, self.G
        f = SimpleNamespace(S=np.empty((T + 1, self.n_r + n, m), dtype))
        f.a = f.S[:, self.n_r:]
        if self.kind == "lstm":
            f.gates = np.empty((T, G * n, m), dtype)          # [gu; gf; go; cc] activations
            f.c = np.empty((T + 1, n, m), dtype)              # c[t] = c<t-1>
            f.tanh_c = np.empty((T, n, m), dtype)
            f.tmp = np.empty((n, m), dtype)
        elif self.kind == "gru":
            f.gates = np.empty((T, G * n, m), dtype)          # [gu; gr; cc]
            f.hc = np.empty((T, n, m), dtype)                 # Waa_c a<t-1> + bc
            f.za = np.empty((G * n, m), dtype)
            f.tmp = np.empty((n, m), dtype)
        return f

    def forward(self, f, t, add):
        """Step t: writes a<t> into f.a[t + 1] (and c<t> into f.c[t + 1]) from S[t] (and c[t]).

        add (G n, m) or (G n, 1): added to the (halved) pre-activations; layer 0 passes its share of the
        embedding product plus the bias, the layers above their bias."""
        n = self.n
        a_prev, a = f.a[t], f.a[t + 1]
        if self.kind == "lstm":
            g = f.gates[t]
            np.matmul(self.W, f.S[t], out=g)     # every gate of the step in one product
            g += add
            np.tanh(g, out=g)                    # one tanh for all four blocks
            sg = g[:3 * n]
            sg *= 0.5
            sg += 0.5                            # σ rows: ½ tanh(z/2) + ½
            c = f.c[t + 1]
            np.multiply(g[:n], g[3 * n:], out=c)            # gu * cc
            np.multiply(g[n:2 * n], f.c[t], out=f.tmp)      # gf * c<t-1>
            c += f.tmp
            np.tanh(c, out=f.tanh_c[t])
            np.multiply(g[2 * n:3 * n], f.tanh_c[t], out=a)  # go * tanh(c<t>)
        elif self.kind == "rnn":
            np.matmul(self.W, f.S[t], out=a)
            a += add
            np.tanh(a, out=a)
        else:
            g, za, hc = f.gates[t], f.za, f.hc[t]
            if self.n_r:
                np.matmul(self.Wx, f.S[t, :self.n_r], out=g)
                g += add
            else:
                g[...] = add
            np.matmul(self.Wa, a_prev, out=za)
            sg = g[:2 * n]
            sg += za[:2 * n]
            np.tanh(sg, out=sg)
            sg *= 0.5
            sg += 0.5                                       # gu, gr
            np.add(za[2 * n:], self.bc, out=hc)
            np.multiply(g[n:2 * n], hc, out=f.tmp)          # gr * (Waa_c a<t-1> + bc)
            cc = g[2 * n:]
            cc += f.tmp
            np.tanh(cc, out=cc)
            np.subtract(cc, a_prev, out=a)                  # a = a<t-1> + gu * (cc - a<t-1>)
            a *= g[:n]
            a += a_prev

    def alloc_backward(self, T, m, dtype):
        """Backward buffers. ``d.da`` (n, m): the gradient reaching a<t> from step t+1 (zero at the
        end); ``d.dc`` likewise for c (LSTM). After the loop they hold the gradients on a<-1>, c<-1>."""
        n, G, nr = self.n, self.G, self.n_r
        d = SimpleNamespace(ga=np.empty((n, m), dtype), dact=np.empty((G * n, m), dtype))
        if self.kind == "gru":
            d.dzx = np.empty((G * n, T, m), dtype)          # d(input-side pre-activations)
            d.dza = np.empty((G * n, T, m), dtype)          # d(recurrent products)
            d.da = np.zeros((n, m), dtype)
            d.dx = np.empty((nr, m), dtype)
            d.gu_ga = np.empty((n, m), dtype)
        else:
            d.dz = np.empty((G * n, T, m), dtype)           # d(pre-activations), the products' layout
            d.dxa = np.zeros((nr + n, m), dtype)            # W^T dz: [dxr<t>; da<t-1>]
            d.dx, d.da = d.dxa[:nr], d.dxa[nr:]
            if self.kind == "lstm":
                d.dc = np.zeros((n, m), dtype)
                d.dg = np.empty((G * n, m), dtype)
                d.dtanh = np.empty((n, m), dtype)
                d.tmp = np.empty((n, m), dtype)
        return d

    def backward(self, f, d, t, ga_in):
        """Step t backward.  ga_in (n, m): the gradient on a<t> from above at this step (added to d.da,
        the one from step t+1; d.da then becomes the gradient on a<t-1>). Returns dxr (n_r, m), the
        gradient on this step's per-step input (a view, valid until the next call)."""
        n = self.n
        ga, dact = d.ga, d.dact
        np.add(ga_in, d.da, out=ga)
        if self.kind == "lstm":
            g, tc = f.gates[t], f.tanh_c[t]
            np.multiply(g, g, out=dact)
            np.subtract(g[:3 * n], dact[:3 * n], out=dact[:3 * n])   # σ' = σ - σ²
            np.subtract(1.0, dact[3 * n:], out=dact[3 * n:])         # tanh' = 1 - cc²
            np.multiply(tc, tc, out=d.dtanh)
            np.subtract(1.0, d.dtanh, out=d.dtanh)
            dg, dc = d.dg, d.dc
            np.multiply(ga, tc, out=dg[2 * n:3 * n])                 # dgo
            np.multiply(ga, g[2 * n:3 * n], out=d.tmp)
            d.tmp *= d.dtanh
            dc += d.tmp                                              # total gradient on c<t>
            np.multiply(dc, g[3 * n:], out=dg[:n])                   # dgu = dc * cc
            np.multiply(dc, f.c[t], out=dg[n:2 * n])                 # dgf = dc * c<t-1>
            np.multiply(dc, g[:n], out=dg[3 * n:])                   # dcc = dc * gu
            dz_t = d.dz[:, t]
            np.multiply(dg, dact, out=dz_t)
            dc *= g[n:2 * n]                                         # -> gradient on c<t-1>
            np.matmul(self.WT, dz_t, out=d.dxa)                      # [dxr; da<t-1>] in one product
        elif self.kind == "rnn":
            a, dz_t = f.a[t + 1], d.dz[:, t]
            np.multiply(a, a, out=dz_t)
            np.subtract(1.0, dz_t, out=dz_t)
            dz_t *= ga
            np.matmul(self.WT, dz_t, out=d.dxa)
        else:
            g = f.gates[t]
            gu, gr, cc = g[:n], g[n:2 * n], g[2 * n:]
            np.multiply(g, g, out=dact)
            np.subtract(g[:2 * n], dact[:2 * n], out=dact[:2 * n])
            np.subtract(1.0, dact[2 * n:], out=dact[2 * n:])
            dzx, dza = d.dzx[:, t], d.dza[:, t]
            np.multiply(ga, gu, out=d.gu_ga)
            np.multiply(d.gu_ga, dact[2 * n:], out=dzx[2 * n:])      # dzc
            np.subtract(cc, f.a[t], out=dzx[:n])
            dzx[:n] *= ga
            dzx[:n] *= dact[:n]                                      # dzu
            np.multiply(dzx[2 * n:], f.hc[t], out=dzx[n:2 * n])
            dzx[n:2 * n] *= dact[n:2 * n]                            # dzr
            np.copyto(dza[:2 * n], dzx[:2 * n])
            np.multiply(dzx[2 * n:], gr, out=dza[2 * n:])            # the reset gate scales the recurrent part
            np.matmul(self.WaT, dza, out=d.da)
            d.da += ga                                               # + (1 - gu) * ga
            d.da -= d.gu_ga
            if self.n_r:
                np.matmul(self.WxT, dzx, out=d.dx)
        return d.dx

    def grads(self, f, d, emb=None):
        """The cell's gradients {Wax, Waa, ba[, bc]} (true weights), each ONE product over every
        (step, column), and dzin (G n, T*m), the gradient of the input-side pre-activations (for the
        embedding). emb (T, n_pre, m): the embeddings the layer read before the loop (layer 0)."""
        G, n, nr = self.G, self.n, self.n_r
        if self.kind == "gru":
            T, m = d.dzx.shape[1:]
            dzin, dza = d.dzx.reshape(G * n, T * m), d.dza.reshape(G * n, T * m)
            dWr = dzin @ rows(f.S[:T, :nr]).T
            g = {"Waa": dza @ rows(f.a[:T]).T, "bc": dza[2 * n:].sum(axis=1, keepdims=True)}
        else:
            T, m = d.dz.shape[1:]
            dzin = d.dz.reshape(G * n, T * m)
            dW = dzin @ rows(f.S[:T]).T
            dWr, g = dW[:, :nr], {"Waa": np.ascontiguousarray(dW[:, nr:])}
        g["ba"] = dzin.sum(axis=1, keepdims=True)
        g["Wax"] = np.concatenate([dzin @ rows(emb).T, dWr], axis=1) if self.n_pre else np.ascontiguousarray(dWr)
        return g, dzin
