"""Seq2SeqNet: the numeric encoder-decoder with attention (the lecture's "many to many, T_x != T_y").

    source ids (T_x, m) -> Embedding -> encoder (Stack of Recurrent / Bidirectional)  -> memory h_j
    encoder final states -> bridge -> the decoder's initial state, every layer
    target ids (T_y, m), one step at a time:
        x<t>  = [E_y y<t-1>; h~<t-1>]                   input feeding (h~<-1> = 0)
        a<t>  = decoder cells (same kind, ``layers`` of them)
        ctx<t> = sum_j alpha<t>_j h_j                   attention of the top a<t> over the source
        h~<t> = tanh(Wc [ctx<t>; a<t>])                 the attentional vector (Luong et al. 2015)
        p(y<t> | y<t-1>, ..., x) = softmax(Wy h~<t> + by)

Ids. Source: 0 padding, 1 unknown. Target: 0 padding, 1 unknown, 2 start, 3 end (``PAD``, ``UNK``,
``START``, ``END``); a target row is fed as ``tgt_in = [2, y_1, ..., y_L]`` and predicted as
``tgt_out = [y_1, ..., y_L, 3]``, so its length is L + 1. The readout never gives probability to
padding or start: their logits are fixed at -inf (their rows of out.Wya / out.by get no gradient).

Attention (``attention=``): ``dot`` e_j = a . h_j / sqrt(n_e) (needs the encoder's output size n_e to
equal ``hidden``); ``general`` e_j = a^T Wa h_j / sqrt(n_e); ``additive`` e_j = va . tanh(W1 a + W2 h_j);
``none``: no attention and no input feeding, the readout reads the top a<t> (the plain encoder-decoder).
Padded source positions are never attended (the key mask), so they change no score and get no gradient.

Bridge: decoder layer i starts from ``tanh(W f_i + b)`` where f_i = [a_fw at the last token; a_bw at the
first token] are encoder layer i's final states (the forward direction's final state alone when
unidirectional); for the LSTM, the same product's second half of rows gives the initial memory cell c.
(From the final a, not c: the cells' whole-sequence backward takes no gradient on the final c.)

Sizes: ``hidden`` is the decoder's n_a (and the size of h~ and of the attention's hidden layer);
``enc_hidden`` each encoder direction's n_a (default hidden // 2 when bidirectional, else hidden, so
the memory size n_e = enc_hidden x directions equals hidden and ``dot`` works).

Teacher forcing: ``loss`` runs the decoder on the true previous tokens and returns the mean cross-entropy
over the real target steps of the batch (sum over tokens / number of real tokens). Target padding (steps
t >= tgt_lengths[i]) comes after every real step of its row, so it cannot reach a real step; those steps
are run but weighted 0, and every gradient from them is exactly 0. Dropout (``rng`` given): on every
encoder layer's input (nn.layers.Stack), on the target embeddings, between decoder layers, and on h~
(both what the readout reads and what is fed to the next step).

Speed. The encoder runs the fast whole-sequence cells through nn.layers. The decoder must run step by
step (input feeding makes x<t> depend on h~<t-1>), so its step is fused here: each layer keeps one
stacked buffer S[t] = [xr<t>; a<t-1>] per step (xr: the fed h~ for layer 0, the layer below's output
above it) and makes ONE product per step for all gates (two for the GRU, whose reset gate scales only
its recurrent part); the target embedding's share of layer 0's pre-activations is ONE product for all
steps before the loop; the sigmoid rows are pre-scaled by 1/2 so one tanh serves all gates; every
buffer is allocated before the loop and written with ``out=``. The backward step writes each step's
pre-activation gradients into a (rows, T_y, m) buffer, so every weight gradient is ONE product after the
loop, as are the readout (all T_y steps at once, before and after the loop) and Wc's gradient. Only the
attention calls allocate inside the loop (small (m, T_x) arrays): they are the zoo's one implementation
(nn.attention), not a copy.

Inference: ``encode`` -> ``DecoderState``, then ``step(state, prev_ids)`` for a batch of k hypotheses
(the very step code training runs), ``select(state, index)`` to reorder / repeat / drop columns
(beam search, nn.search).

Parameter keys (one flat dict, ``net.params``):

    src.E, tgt.E                  (embed, n_src_vocab), (embed, n_tgt_vocab)
    enc.l{i}.fw.*, enc.l{i}.bw.*  encoder layer i (cell params: Wax, Waa, ba [, bc for the GRU])
    bridge.l{i}.W, bridge.l{i}.b  (S hidden, n_f), (S hidden, 1); S = 2 for the LSTM ([a0; c0] rows)
    dec.l{i}.*                    decoder layer i; layer 0's Wax columns are [embedding | fed h~]
    att.Wa                        (hidden, n_e)                    general
    att.W1, att.W2, att.va        (hidden, hidden), (hidden, n_e), (hidden, 1)   additive
    comb.Wc                       (hidden, n_e + hidden)           all but none; columns [ctx | a]
    out.Wya, out.by               (n_tgt_vocab, hidden), (n_tgt_vocab, 1)
"""

from types import SimpleNamespace
from typing import NamedTuple

import numpy as np

from . import cells, checks
from .attention import (additive_backward, additive_forward, additive_keys, additive_keys_backward,
                        attention_backward, attention_forward, general_backward, general_forward,
                        key_padding_mask)
from .functional import log_softmax, softmax_cross_entropy
from .layers import Bidirectional, Embedding, Recurrent, Stack, inverted_dropout, length_mask

PAD, UNK, START, END = 0, 1, 2, 3
"""Reserved target ids (the source side reserves PAD and UNK)."""

ATTENTIONS = ("dot", "general", "additive", "none")
NEVER = (PAD, START)
"""Target ids the readout never predicts (logits fixed at -inf)."""

_N_SIG = {"rnn": 0, "gru": 2, "lstm": 3}   # leading gate blocks that are sigmoids
_CONFIG_KEYS = ("n_src_vocab", "n_tgt_vocab", "cell", "embed", "hidden", "enc_hidden", "layers",
                "bidirectional", "attention", "dropout", "seed")


def _rows(x):
    """(T, k, m) -> (k, T*m), one copy: features as rows, every (step, column) a column."""
    T, k, m = x.shape
    return x.transpose(1, 0, 2).reshape(k, T * m)


def _halve(W, n, n_sig):
    """A copy of W with its first ``n_sig`` gate blocks (n rows each) scaled by 1/2 (σ(z) = ½tanh(z/2)+½)."""
    W = np.array(W)
    W[: n_sig * n] *= 0.5
    return W


def _glorot(rng, shape, dtype):
    bound = np.sqrt(6.0 / (shape[0] + shape[1]))
    return rng.uniform(-bound, bound, shape).astype(dtype)


# ----------------------------------------------------------------------------------------------------
# one decoder layer, step by step


class _Layer:
    """One decoder layer's weights prepared for the step loop, with its fused step forward and backward.

    Of the cell's input columns (Wax), the first ``n_pre`` are applied for all steps before the loop
    (layer 0: the target embedding); the other ``n_r`` (layer 0: the fed h~; above: the layer below's
    output) are read at every step from the stacked buffer ``S[t] = [xr<t>; a<t-1>]``. Built from the
    parameters at each call (training) or encode (inference): it keeps no history.
    """

    def __init__(self, kind, p, n_pre):
        n = p["Waa"].shape[1]
        s = _N_SIG[kind]
        self.kind, self.n, self.G = kind, n, len(cells.GATES[kind])
        self.n_pre, self.n_r = n_pre, p["Wax"].shape[1] - n_pre
        # the backward products use the true weights through transposed views: BLAS reads them as
        # they are (a transposed copy of each would cost more than a step)
        Wr = p["Wax"][:, n_pre:]
        self.We = _halve(p["Wax"][:, :n_pre], n, s)          # (G n, n_pre), applied before the loop
        self.WeT = p["Wax"][:, :n_pre].T
        self.b = _halve(p["ba"], n, s)                        # (G n, 1)
        if kind == "gru":
            self.Wx, self.Wa = _halve(Wr, n, s), _halve(p["Waa"], n, s)
            self.WxT, self.WaT = Wr.T, p["Waa"].T
            self.bc = p["bc"]
        else:
            W = np.concatenate([Wr, p["Waa"]], axis=1)        # (G n, n_r + n) over S[t]
            self.W, self.WT = _halve(W, n, s), W.T

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
            dWr = dzin @ _rows(f.S[:T, :nr]).T
            g = {"Waa": dza @ _rows(f.a[:T]).T, "bc": dza[2 * n:].sum(axis=1, keepdims=True)}
        else:
            T, m = d.dz.shape[1:]
            dzin = d.dz.reshape(G * n, T * m)
            dW = dzin @ _rows(f.S[:T]).T
            dWr, g = dW[:, :nr], {"Waa": np.ascontiguousarray(dW[:, nr:])}
        g["ba"] = dzin.sum(axis=1, keepdims=True)
        g["Wax"] = np.concatenate([dzin @ _rows(emb).T, dWr], axis=1) if self.n_pre else np.ascontiguousarray(dWr)
        return g, dzin


# ----------------------------------------------------------------------------------------------------
# the network


class DecoderState(NamedTuple):
    """The decoder's state for k columns (hypotheses), as ``encode`` / ``step`` / ``select`` pass it.

    a (layers, hidden, k); c (layers, hidden, k) for the LSTM, else None; feed (hidden, k) the h~<t-1>
    fed to the next step (None without attention); memory (k, T_x, n_e) the encoder outputs of each
    column's source; keys (k, T_x, hidden) their additive projection W2 h_j (None otherwise); mask
    (k, 1, T_x) bool, True at real source positions; src (k,) which encoded source each column reads;
    prep: the decoder's weights prepared for the step loop (read-only, shared).
    """
    a: np.ndarray
    c: object
    feed: object
    memory: np.ndarray
    keys: object
    mask: np.ndarray
    src: np.ndarray
    prep: object


class Seq2SeqNet:
    """Encoder-decoder with attention; see the module docstring."""

    def __init__(self, n_src_vocab, n_tgt_vocab, cell="lstm", embed=64, hidden=256, enc_hidden=None,
                 layers=1, bidirectional=True, attention="dot", dropout=0.0, seed=0, dtype=np.float32):
        if enc_hidden is None:
            enc_hidden = int(hidden) // 2 if bidirectional and int(hidden) > 1 else int(hidden)
        self.n_src_vocab, self.n_tgt_vocab = int(n_src_vocab), int(n_tgt_vocab)
        self.cell, self.embed, self.hidden = str(cell), int(embed), int(hidden)
        self.enc_hidden, self.layers = int(enc_hidden), int(layers)
        self.bidirectional, self.attention = bool(bidirectional), str(attention)
        self.dropout, self.seed, self.dtype = float(dropout), seed, np.dtype(dtype)
        shapes = self._param_shapes(self.config())      # validates every size and choice
        self.n_e = self.enc_hidden * (2 if self.bidirectional else 1)   # the memory's size

        rng = np.random.default_rng(seed)
        self._params = P = {}
        dt = self.dtype
        self.src_embedding = Embedding(P, "src", self.n_src_vocab, self.embed, rng, dt)
        self.tgt_embedding = Embedding(P, "tgt", self.n_tgt_vocab, self.embed, rng, dt)
        stack, n_in = [], self.embed
        for i in range(self.layers):
            fw = Recurrent(P, f"enc.l{i}.fw", self.cell, n_in, self.enc_hidden, rng, dt)
            layer = fw
            if self.bidirectional:
                layer = Bidirectional(fw, Recurrent(P, f"enc.l{i}.bw", self.cell, n_in, self.enc_hidden, rng, dt))
            stack.append(layer)
            n_in = layer.n_out
            S = shapes[f"bridge.l{i}.W"]
            P[f"bridge.l{i}.W"] = _glorot(rng, S, dt)
            P[f"bridge.l{i}.b"] = np.zeros((S[0], 1), dt)
        self.encoder = Stack(stack, self.dropout)
        for i in range(self.layers):
            p = cells.init_params(self.cell, shapes[f"dec.l{i}.Wax"][1], self.hidden, rng, dt)
            P.update({f"dec.l{i}.{k}": v for k, v in p.items()})
        for k in ("att.Wa", "att.W1", "att.W2", "comb.Wc"):
            if k in shapes:
                P[k] = _glorot(rng, shapes[k], dt)
        if "att.va" in shapes:
            P["att.va"] = rng.uniform(-1, 1, shapes["att.va"]).astype(dt) / np.sqrt(self.hidden).astype(dt)
        P["out.Wya"] = _glorot(rng, shapes["out.Wya"], dt)
        P["out.by"] = np.zeros(shapes["out.by"], dt)
        assert {k: v.shape for k, v in P.items()} == shapes

    # -- parameters and persistence --------------------------------------------------------------

    @property
    def params(self):
        """All parameters, one flat dict of namespaced keys. Every call reads it afresh."""
        return self._params

    @params.setter
    def params(self, new):
        if new is not self._params:
            differ = set(self._params) ^ set(new)
            if differ:
                raise KeyError(f"parameter keys differ: {sorted(differ)}")
            self._params.update(new)

    def config(self):
        """JSON-serialisable constructor arguments (everything but dtype), sizes resolved."""
        return {
            "n_src_vocab": self.n_src_vocab, "n_tgt_vocab": self.n_tgt_vocab, "cell": self.cell,
            "embed": self.embed, "hidden": self.hidden, "enc_hidden": self.enc_hidden,
            "layers": self.layers, "bidirectional": self.bidirectional, "attention": self.attention,
            "dropout": self.dropout, "seed": None if self.seed is None else int(self.seed),
        }

    @classmethod
    def from_config(cls, config, params):
        """Rebuild a network from ``config()`` and saved arrays (dtype taken from the arrays).

        Both come from an untrusted file: the config is checked and the arrays' keys and shapes compared
        with the ones it implies BEFORE anything is allocated; every failure is a ValueError."""
        if not isinstance(config, dict):
            raise ValueError("network config must be a mapping")
        unknown = set(config) - set(_CONFIG_KEYS)
        if unknown:
            raise ValueError(f"network config has unknown keys {sorted(unknown)}")
        dtype = checks.check_arrays(params, cls._param_shapes(config))
        net = cls(**{**config, "dtype": dtype})
        for k in net._params:
            net._params[k] = np.array(params[k], dtype=dtype)
        return net

    @staticmethod
    def _param_shapes(config):
        """The parameter shapes ``config`` implies, from checked sizes, without allocating anything."""
        for key in _CONFIG_KEYS:
            if key not in config:
                raise ValueError(f"network config lacks {key!r}")
        n_src = checks.config_int(config, "n_src_vocab", 2, checks.MAX_VOCAB)
        n_tgt = checks.config_int(config, "n_tgt_vocab", END + 1, checks.MAX_VOCAB)
        embed = checks.config_int(config, "embed", 1, checks.MAX_UNITS)
        hidden = checks.config_int(config, "hidden", 1, checks.MAX_UNITS)
        enc_hidden = checks.config_int(config, "enc_hidden", 1, checks.MAX_UNITS)
        layers = checks.config_int(config, "layers", 1, checks.MAX_LAYERS)
        cell = checks.config_choice(config, "cell", cells.GATES)
        attention = checks.config_choice(config, "attention", ATTENTIONS)
        checks.config_dropout(config)
        if not isinstance(config["bidirectional"], bool):
            raise ValueError("network bidirectional must be true or false")
        seed = config["seed"]
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ValueError(f"network seed must be a non-negative integer or null, not {seed!r}")
        dirs = ("fw", "bw") if config["bidirectional"] else ("fw",)
        n_e = enc_hidden * len(dirs)
        if attention == "dot" and n_e != hidden:
            raise ValueError(f"dot attention needs the encoder's output size ({enc_hidden} x {len(dirs)} = "
                             f"{n_e}) to equal hidden ({hidden}); use general or additive attention")
        S = 2 if cell == "lstm" else 1
        shapes = {"src.E": (embed, n_src), "tgt.E": (embed, n_tgt)}
        n_in = embed
        for i in range(layers):
            for d in dirs:
                shapes.update({f"enc.l{i}.{d}.{k}": v for k, v in cells.param_shapes(cell, n_in, enc_hidden).items()})
            n_in = n_e
            shapes.update({f"bridge.l{i}.W": (S * hidden, n_e), f"bridge.l{i}.b": (S * hidden, 1)})
        n_in = embed + (hidden if attention != "none" else 0)
        for i in range(layers):
            shapes.update({f"dec.l{i}.{k}": v for k, v in cells.param_shapes(cell, n_in, hidden).items()})
            n_in = hidden
        if attention == "general":
            shapes["att.Wa"] = (hidden, n_e)
        elif attention == "additive":
            shapes.update({"att.W1": (hidden, hidden), "att.W2": (hidden, n_e), "att.va": (hidden, 1)})
        if attention != "none":
            shapes["comb.Wc"] = (hidden, n_e + hidden)
        shapes.update({"out.Wya": (n_tgt, hidden), "out.by": (n_tgt, 1)})
        return shapes

    def n_params(self):
        return int(sum(v.size for v in self._params.values()))

    # -- inputs ----------------------------------------------------------------------------------------

    @staticmethod
    def _ids(ids, lengths, what):
        ids = np.asarray(ids, dtype=np.intp)
        if ids.ndim != 2:
            raise ValueError(f"{what} ids must be (T, m), got shape {ids.shape}")
        lengths = np.asarray(lengths, dtype=np.intp).reshape(-1)
        if lengths.shape[0] != ids.shape[1]:
            raise ValueError(f"{lengths.shape[0]} {what} lengths for {ids.shape[1]} rows")
        return ids, np.clip(lengths, 0, ids.shape[0])

    def _source(self, src_ids, src_lengths):
        src, lengths = self._ids(src_ids, src_lengths, "source")
        if src.shape[0] == 0:          # no source token at all: one padded step (never attended)
            src = np.zeros((1, src.shape[1]), np.intp)
        return src, lengths

    # -- encoder and bridge ------------------------------------------------------------------------------

    def _encode(self, src, lengths, rng=None):
        """src (T_x, m), lengths (m,) -> memory (m, T_x, n_e), initial a0 (layers, n, m), c0 (or None),
        and the cache for the backward pass."""
        P, n = self._params, self.hidden
        x, c_emb = self.src_embedding.forward(src)
        H, c_enc = self.encoder.forward(x, lengths, rng)
        finals, states = [], []
        for i, (layer, c) in enumerate(zip(self.encoder.layers, c_enc[0])):
            # each direction's final state: padded steps carry it, so the forward direction's is at the
            # last step for every row, and so is the backward direction's in the cell's own order
            f = np.concatenate([c[0].a[-1], c[1].a[-1]]) if isinstance(layer, Bidirectional) else c.a[-1].copy()
            s = np.tanh(P[f"bridge.l{i}.W"] @ f + P[f"bridge.l{i}.b"])
            finals.append(f)
            states.append(s)
        a0 = np.stack([s[:n] for s in states])
        c0 = np.stack([s[n:] for s in states]) if self.cell == "lstm" else None
        memory = np.ascontiguousarray(H.transpose(2, 0, 1))       # (m, T_x, n_e): the attention's rows
        return memory, a0, c0, (c_emb, c_enc, finals, states, src.shape[0])

    def _bridge_backward(self, da0, dc0, cache, grads):
        """Gradients on the decoder's initial state -> bridge grads and the gradient on each finals f_i."""
        P = self._params
        _, _, finals, states, _ = cache
        dfs = []
        for i, (f, s) in enumerate(zip(finals, states)):
            ds = da0[i] if dc0 is None else np.concatenate([da0[i], dc0[i]])
            dz = ds * (1.0 - s * s)
            grads[f"bridge.l{i}.W"] = dz @ f.T
            grads[f"bridge.l{i}.b"] = dz.sum(axis=1, keepdims=True)
            dfs.append(P[f"bridge.l{i}.W"].T @ dz)
        return dfs

    def _encoder_backward(self, dH, dfs, cache, grads):
        """dH (T_x, n_e, m) gradient on the top encoder output; dfs the gradients on each layer's final
        states. The Stack's backward, with each layer's final-state gradient added to its output's."""
        c_emb, (caches, masks), _, _, T = cache
        h = self.enc_hidden
        dout = dH
        for i in range(self.layers - 1, -1, -1):
            # the forward direction's final state is its output at the last step (carried over padding);
            # the backward direction's is its output at token 0, where it ends reading the row: the very
            # value _encode read at the cell's last step, which carries it over the padding after the row
            dout[T - 1, :h] += dfs[i][:h]
            if self.bidirectional:
                dout[0, h:] += dfs[i][h:]
            dout, g = self.encoder.layers[i].backward(dout, caches[i])
            grads.update(g)
            if masks[i] is not None:
                dout = dout * masks[i]
        grads.update(self.src_embedding.backward(dout, c_emb)[1])

    # -- the decoder -------------------------------------------------------------------------------------

    def _prepare(self):
        """The decoder's weights as the step loop reads them (a fresh object for each call)."""
        P, kind = self._params, self.cell
        layers = [_Layer(kind, {k: P[f"dec.l{i}.{k}"] for k in cells.param_shapes(kind, 1, 1)},
                         self.embed if i == 0 else 0) for i in range(self.layers)]
        prep = SimpleNamespace(layers=layers, Wy=P["out.Wya"], by=P["out.by"])
        if self.attention != "none":
            prep.Wc = P["comb.Wc"]
            prep.WcT = P["comb.Wc"].T
        return prep

    def _alloc(self, prep, T, m):
        dt, n = self.dtype, self.hidden
        B = SimpleNamespace(T=T, m=m, layers=[lay.alloc(T, m, dt) for lay in prep.layers])
        B.HT = np.empty((n, T, m), dt)               # h~ after dropout: the readout's input, rows layout
        if self.attention != "none":
            B.Q = np.empty((T, m, n), dt)            # the query of each step, as attention's rows
            B.CQ = np.empty((T, self.n_e + n, m), dt)  # [ctx<t>; a<t>], Wc's input
            B.Ht = np.empty((T, n, m), dt)           # h~<t> before dropout
            B.att = [None] * T                       # attention caches (the weights are cache.alpha)
        return B

    def _attend(self, q, mem):
        """One attention call for query rows q (m, 1, n) over mem = (memory, keys, mask)."""
        memory, keys, mask = mem
        if self.attention == "dot":
            return attention_forward(q, memory, memory, mask)
        if self.attention == "general":
            return general_forward(q, memory, memory, self._params["att.Wa"], mask)
        return additive_forward(q, keys, memory, self._params["att.W1"], self._params["att.va"], mask)

    def _step(self, prep, B, mem, t, pre0, keep):
        """Decoder step t (training and inference alike): layers, attention, h~<t> into B.HT[:, t] and,
        fed, into layer 0's next input. pre0 (T, G n, m): layer 0's embedding share plus bias."""
        n, L = self.hidden, self.layers
        for i, (lay, f) in enumerate(zip(prep.layers, B.layers)):
            lay.forward(f, t, pre0[t] if i == 0 else lay.b)
            a = f.a[t + 1]
            if i + 1 < L:
                x_next = B.layers[i + 1].S[t, :n]
                if keep.layers[i + 1] is None:
                    np.copyto(x_next, a)
                else:
                    np.multiply(a, keep.layers[i + 1][t], out=x_next)
        hd = B.HT[:, t]
        if self.attention == "none":
            if keep.h is None:
                np.copyto(hd, a)
            else:
                np.multiply(a, keep.h[t], out=hd)
            return
        q = B.Q[t]
        np.copyto(q, a.T)
        ctx, B.att[t] = self._attend(q[:, None, :], mem)
        cq = B.CQ[t]
        np.copyto(cq[:self.n_e], ctx[:, 0, :].T)
        np.copyto(cq[self.n_e:], a)
        h = B.Ht[t]
        np.matmul(prep.Wc, cq, out=h)
        np.tanh(h, out=h)
        if keep.h is None:
            np.copyto(hd, h)
        else:
            np.multiply(h, keep.h[t], out=hd)
        np.copyto(B.layers[0].S[t + 1, :n], hd)       # input feeding

    def _keeps(self, T, m, rng):
        """The decoder's dropout masks (None each when off): target embeddings, between layers, h~."""
        dt, n = self.dtype, self.hidden
        return SimpleNamespace(
            emb=inverted_dropout((T, self.embed, m), self.dropout, rng, dt),
            layers=[None] + [inverted_dropout((T, n, m), self.dropout, rng, dt) for _ in range(1, self.layers)],
            h=inverted_dropout((T, n, m), self.dropout, rng, dt))

    def _forward(self, src_ids, src_lengths, tgt_in, tgt_lengths, rng=None):
        """Teacher-forced pass. Returns logits (n_tgt_vocab, T_y*m) (column t*m + i is step t of row i)
        and the cache of the backward pass."""
        src, s_len = self._source(src_ids, src_lengths)
        tgt_in, t_len = self._ids(tgt_in, tgt_lengths, "target")
        if tgt_in.shape[1] != src.shape[1]:
            raise ValueError(f"{tgt_in.shape[1]} target rows for {src.shape[1]} source rows")
        T, m = tgt_in.shape
        memory, a0, c0, enc_cache = self._encode(src, s_len, rng)
        mem = (memory, None, key_padding_mask(s_len, src.shape[0]))
        if self.attention == "additive":
            mem = (memory, additive_keys(memory, self._params["att.W2"]), mem[2])
        keep = self._keeps(T, m, rng)
        emb, c_tgt = self.tgt_embedding.forward(tgt_in)
        if keep.emb is not None:
            emb *= keep.emb
        prep = self._prepare()
        B = self._alloc(prep, T, m)
        for i, f in enumerate(B.layers):
            f.a[0] = a0[i]
            if c0 is not None:
                f.c[0] = c0[i]
        if self.attention != "none":
            B.layers[0].S[0, :self.hidden] = 0.0       # h~<-1> = 0
        lay0 = prep.layers[0]
        pre0 = np.matmul(lay0.We, emb)                 # (T, G n, m): ONE product for every step
        pre0 += lay0.b
        for t in range(T):
            self._step(prep, B, mem, t, pre0, keep)
        logits = prep.Wy @ B.HT.reshape(self.hidden, T * m) + prep.by
        logits[list(NEVER)] = -np.inf
        return logits, (prep, B, mem, keep, emb, c_tgt, enc_cache, T, m)

    def _attend_backward(self, dctx, cache, dmem, dkeys, acc):
        """One step's attention backward: dctx (m, 1, n_e) -> the query's gradient (m, 1, n); the
        memory's, the keys' and the attention weights' are added into dmem, dkeys, acc."""
        if self.attention == "dot":
            dq, dk, dv = attention_backward(dctx, cache)
        elif self.attention == "general":
            dq, dk, dv, dWa = general_backward(dctx, cache)
            acc["att.Wa"] += dWa
        else:
            dq, dkp, dv, dW1, dva = additive_backward(dctx, cache)
            dkeys += dkp
            acc["att.W1"] += dW1
            acc["att.va"] += dva
            dk = None
        if dk is not None:
            dmem += dk                      # dot and general: the memory is both keys and values
        dmem += dv
        return dq

    def _backward(self, dlogits, cache):
        """dlogits (n_tgt_vocab, T_y*m) -> grads keyed like params."""
        prep, B, mem, keep, emb, c_tgt, enc_cache, T, m = cache
        P, n, dt, att = self._params, self.hidden, self.dtype, self.attention
        HT2 = B.HT.reshape(n, T * m)
        grads = {"out.Wya": dlogits @ HT2.T, "out.by": dlogits.sum(axis=1, keepdims=True)}
        dHT = (prep.Wy.T @ dlogits).reshape(n, T, m)       # the readout of all steps: one product
        D = [lay.alloc_backward(T, m, dt) for lay in prep.layers]
        dh = np.empty((n, m), dt)
        dfeed = np.zeros((n, m), dt)        # gradient on h~<t> through its feed into step t+1
        memory, keys, _ = mem
        if att != "none":
            dzc = np.empty((n, T, m), dt)   # d(Wc [ctx; a]) of every step, Wc's gradient after the loop
            dcq = np.empty((self.n_e + n, m), dt)
            dctx = np.empty((m, 1, self.n_e), dt)
            dmem = np.zeros_like(memory)
            dkeys = None if keys is None else np.zeros_like(keys)
            acc = {k: np.zeros_like(P[k]) for k in ("att.Wa", "att.W1", "att.va") if k in P}

        for t in range(T - 1, -1, -1):
            np.add(dHT[:, t], dfeed, out=dh)
            if keep.h is not None:
                dh *= keep.h[t]
            if att == "none":
                ga = dh
            else:
                h, dz = B.Ht[t], dzc[:, t]
                np.multiply(h, h, out=dz)
                np.subtract(1.0, dz, out=dz)
                dz *= dh                                          # through tanh
                np.matmul(prep.WcT, dz, out=dcq)                  # [dctx; da] in one product
                np.copyto(dctx[:, 0, :], dcq[:self.n_e].T)
                dq = self._attend_backward(dctx, B.att[t], dmem, dkeys, acc)
                ga = dcq[self.n_e:]
                ga += dq[:, 0, :].T                               # the query is the top a<t>
            for i in range(self.layers - 1, -1, -1):
                dx = prep.layers[i].backward(B.layers[i], D[i], t, ga)
                if i > 0:
                    if keep.layers[i] is not None:
                        dx *= keep.layers[i][t]
                    ga = dx
                elif att != "none":
                    np.copyto(dfeed, dx)                          # dx = gradient on h~<t-1>

        if att != "none":
            grads["comb.Wc"] = dzc.reshape(n, T * m) @ _rows(B.CQ).T
            grads.update(acc)
            if dkeys is not None:
                dk, grads["att.W2"] = additive_keys_backward(dkeys, memory, P["att.W2"])
                dmem += dk
        for i, (lay, f, d) in enumerate(zip(prep.layers, B.layers, D)):
            g, dzin = lay.grads(f, d, emb if i == 0 else None)
            grads.update({f"dec.l{i}.{k}": v for k, v in g.items()})
            if i == 0:
                demb = (prep.layers[0].WeT @ dzin).reshape(self.embed, T, m).transpose(1, 0, 2)
                if keep.emb is not None:
                    demb = demb * keep.emb
                grads.update(self.tgt_embedding.backward(demb, c_tgt)[1])
        da0 = [d.da for d in D]
        dc0 = [d.dc for d in D] if self.cell == "lstm" else None
        dfs = self._bridge_backward(da0, dc0, enc_cache, grads)
        if att != "none":
            dH = np.ascontiguousarray(dmem.transpose(1, 2, 0))   # (T_x, n_e, m)
        else:
            dH = np.zeros((enc_cache[4], self.n_e, m), dt)
        self._encoder_backward(dH, dfs, enc_cache, grads)
        return grads

    # -- training --------------------------------------------------------------------------------------

    def loss(self, src_ids, src_lengths, tgt_in, tgt_out, tgt_lengths, rng=None):
        """Teacher-forced mean cross-entropy over the real target steps, and its gradients.

        src_ids (T_x, m) ints, src_lengths (m,); tgt_in, tgt_out (T_y, m) ints (tgt_in starts with START,
        tgt_out ends with END; see the module docstring), tgt_lengths (m,): step t of row i is real when
        t < tgt_lengths[i]. ``rng`` given: dropout is active. Returns (loss: float, grads keyed like
        params). The loss is sum over real steps of -log p(tgt_out) / their number (0 if none).
        """
        tgt_out, t_len = self._ids(tgt_out, tgt_lengths, "target")
        tgt_in = np.asarray(tgt_in)
        if tgt_in.shape != tgt_out.shape:
            raise ValueError(f"tgt_in {tgt_in.shape} and tgt_out {tgt_out.shape} differ")
        T, m = tgt_out.shape
        real = length_mask(t_len, T)
        if np.isin(tgt_out[real], NEVER).any():
            raise ValueError("padding (0) and start (2) cannot be target outputs")
        if not real.any():
            return 0.0, {k: np.zeros_like(v) for k, v in self._params.items()}
        logits, cache = self._forward(src_ids, src_lengths, tgt_in, t_len, rng)
        y = np.where(real, tgt_out, END).reshape(-1)        # padded steps: any valid id, weight 0
        loss, dlogits = softmax_cross_entropy(logits, y, real.reshape(-1).astype(logits.dtype))
        return loss, self._backward(dlogits, cache)

    def log_probs(self, src_ids, src_lengths, tgt_in, tgt_lengths):
        """Teacher-forced log-probabilities (n_tgt_vocab, T_y, m) of every step, no dropout."""
        logits, cache = self._forward(src_ids, src_lengths, tgt_in, tgt_lengths)
        T, m = cache[-2:]
        return log_softmax(logits, axis=0).reshape(-1, T, m)

    def alignments(self, src_ids, src_lengths, tgt_in, tgt_lengths):
        """Teacher-forced attention weights (m, T_y, T_x) (zeros with attention none), no dropout:
        what --explain draws for a given target."""
        _, (_, B, mem, *_, T, m) = self._forward(src_ids, src_lengths, tgt_in, tgt_lengths)
        T_x = mem[2].shape[-1]
        if self.attention == "none" or T == 0:
            return np.zeros((m, T, T_x), self.dtype)
        return np.stack([c.alpha[:, 0, :] for c in B.att], axis=1)

    # -- inference -------------------------------------------------------------------------------------

    def encode(self, src_ids, src_lengths):
        """Encode m sources (no dropout): src_ids (T_x, m), src_lengths (m,) -> a DecoderState of m
        columns, ready for the first ``step`` (fed START)."""
        src, lengths = self._source(src_ids, src_lengths)
        memory, a0, c0, _ = self._encode(src, lengths)
        m = src.shape[1]
        keys = additive_keys(memory, self._params["att.W2"]) if self.attention == "additive" else None
        feed = np.zeros((self.hidden, m), self.dtype) if self.attention != "none" else None
        return DecoderState(a0, c0, feed, memory, keys, key_padding_mask(lengths, src.shape[0]),
                            np.arange(m), self._prepare())

    def step(self, state, prev_ids):
        """One decoder step for the k columns of ``state``, fed prev_ids (k,) (START first).

        Returns log-probabilities (n_tgt_vocab, k) of the next token (-inf for PAD and START), the new
        state, and the attention weights (k, T_x) of this step (zeros with attention none).
        """
        prev = np.asarray(prev_ids, dtype=np.intp).reshape(-1)
        k = prev.shape[0]
        if k != state.a.shape[2]:
            raise ValueError(f"{k} previous ids for a state of {state.a.shape[2]} columns")
        prep, n = state.prep, self.hidden
        B = self._alloc(prep, 1, k)
        for i, f in enumerate(B.layers):
            f.a[0] = state.a[i]
            if state.c is not None:
                f.c[0] = state.c[i]
        if state.feed is not None:
            B.layers[0].S[0, :n] = state.feed
        lay0 = prep.layers[0]
        pre0 = (lay0.We @ self._params["tgt.E"][:, prev] + lay0.b)[None]
        keep = SimpleNamespace(emb=None, layers=[None] * self.layers, h=None)
        self._step(prep, B, (state.memory, state.keys, state.mask), 0, pre0, keep)
        h = B.HT[:, 0]
        logits = prep.Wy @ h + prep.by
        logits[list(NEVER)] = -np.inf
        new = DecoderState(
            np.stack([f.a[1] for f in B.layers]),
            np.stack([f.c[1] for f in B.layers]) if state.c is not None else None,
            h.copy() if state.feed is not None else None,
            state.memory, state.keys, state.mask, state.src, prep)
        if self.attention == "none":
            alpha = np.zeros((k, state.mask.shape[-1]), self.dtype)
        else:
            alpha = B.att[0].alpha[:, 0, :]
        return log_softmax(logits, axis=0), new, alpha

    @staticmethod
    def select(state, index):
        """The state of the columns ``index`` (k',) of ``state``, in that order: reorders, repeats
        (np.repeat(np.arange(k), K) gives K copies of each) or drops hypotheses. The encoder memory is
        gathered only when a column changes source (never within one source's beam)."""
        index = np.asarray(index, dtype=np.intp).reshape(-1)
        src = state.src[index]
        same = src.shape == state.src.shape and np.array_equal(src, state.src)

        def take(x, axis):
            return None if x is None else np.take(x, index, axis=axis)

        memory, keys, mask = (state.memory, state.keys, state.mask) if same else \
            (take(state.memory, 0), take(state.keys, 0), take(state.mask, 0))
        return DecoderState(take(state.a, 2), take(state.c, 2), take(state.feed, 1), memory, keys, mask,
                            src, state.prep)

    @staticmethod
    def repeat(state, K):
        """K consecutive copies of every column (column i*K + j is copy j of column i)."""
        return Seq2SeqNet.select(state, np.repeat(np.arange(state.a.shape[2]), K))
