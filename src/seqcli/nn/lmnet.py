"""CharLMNet: the numeric character-level language model, and its fast one-step sampler.

    ids (T_x, m) -> Embedding -> L recurrent layers -> per-step Dense -> softmax over the n_vocab characters

The lecture's many-to-many case: at every step t the network reads character id<t> and predicts
id<t+1>. Training uses truncated backpropagation through time: a long text is cut into windows of
T_x steps, each window starts from the final state of the previous one (``state`` in, ``new_state``
out), and no gradient flows into that initial state. The network is numbers in, numbers out;
vocabularies, corpora and training loops live elsewhere.

Parameter keys (one flat dict, ``net.params``):

    embed.E                    (n_x, n_vocab)    column j is the vector of character j
    rnn.l{i}.{Wax,Waa,ba}      layer i, the cell's fused gate weights (+ .bc for the GRU); see cells
    out.Wya, out.by            (n_vocab, n_a), (n_vocab, 1)

A state is a list with one tuple per layer: ``(a, c)`` for the LSTM, ``(a,)`` for the GRU and the RNN,
each array ``(n_a, m)``. Dropout (training only) applies to each layer's output, so between layers and
before the readout.

``Sampler`` runs the same network one character at a time for generation; it is the speed-critical
path (see its docstring) and the tests check it against ``forward``.
"""

from typing import NamedTuple

import numpy as np

from . import cells, checks
from .functional import log_softmax, softmax_cross_entropy
from .layers import Dense, Embedding, recurrent_stack, stack_shapes
from .sampled import sampled_softmax_loss


class LMCache(NamedTuple):
    embed: object     # the Embedding's cache (the ids)
    rnn: object       # the Stack's cache
    readout: object   # the Dense's cache
    T: int
    m: int



class CharLMNet(checks.Rebuildable):
    """Embedding -> recurrent stack (state carried in and out) -> per-step dense -> softmax."""

    def __init__(self, n_vocab, cell="lstm", embed=64, hidden=256, layers=1, dropout=0.0, seed=0,
                 dtype=np.float32):
        if cell not in cells.GATES:
            raise ValueError(f"unknown cell kind {cell!r}; expected one of {sorted(cells.GATES)}")
        if layers < 1 or n_vocab < 1:
            raise ValueError("need at least one layer and one character")
        self.n_vocab, self.cell, self.embed = int(n_vocab), str(cell), int(embed)
        self.hidden, self.layers, self.dropout = int(hidden), int(layers), float(dropout)
        self.seed, self.dtype = seed, np.dtype(dtype)
        rng = np.random.default_rng(seed)
        P = self.params = {}
        self.embedding = Embedding(P, "embed", self.n_vocab, self.embed, rng, self.dtype)
        # Embedding keeps column 0 at zero for padding; here id 0 is a real character
        P["embed.E"][:, 0] = rng.standard_normal(self.embed)
        self.rnn = recurrent_stack(P, "rnn", self.cell, self.embed, self.hidden, self.layers, rng, self.dtype,
                                   dropout=self.dropout, dropout_at="outputs", direction_names=False)
        self.encoder = self.rnn   # what forward / backward read the sequence with (a subclass swaps it)
        self.readout = Dense(P, "out", self.hidden, self.n_vocab, rng, self.dtype)

    # -- configuration and persistence ------------------------------------------------------------

    def config(self):
        """JSON-serialisable constructor arguments (everything but dtype)."""
        return {"n_vocab": self.n_vocab, "cell": self.cell, "embed": self.embed, "hidden": self.hidden,
                "layers": self.layers, "dropout": self.dropout,
                "seed": None if self.seed is None else int(self.seed)}

    @staticmethod
    def param_shapes(config):
        """The parameter shapes ``config`` implies, computed from checked sizes without allocating."""
        n_vocab = checks.config_int(config, "n_vocab", 1, checks.MAX_VOCAB)
        embed = checks.config_int(config, "embed", 1, checks.MAX_UNITS)
        hidden = checks.config_int(config, "hidden", 1, checks.MAX_UNITS)
        layers = checks.config_int(config, "layers", 1, checks.MAX_LAYERS)
        cell = checks.config_choice(config, "cell", cells.GATES)
        checks.config_dropout(config)
        shapes, _ = stack_shapes("rnn", cell, embed, hidden, layers, direction_names=False)
        shapes.update({"embed.E": (embed, n_vocab), "out.Wya": (n_vocab, hidden), "out.by": (n_vocab, 1)})
        return shapes

    def layer_params(self, i):
        """Layer i's parameters under the cell's own names (Wax, Waa, ba[, bc])."""
        return self.rnn.layers[i].p()

    def zero_state(self, m):
        """The initial state of ``m`` streams: zeros, one tuple per layer."""
        return [cells.zero_state(self.cell, self.hidden, m, self.dtype) for _ in range(self.layers)]

    def sampler(self):
        """The one-step sampler of this network (generation)."""
        return Sampler(self)

    # -- computation ---------------------------------------------------------------------------------

    def forward(self, ids, state=None, mask=None, rng=None):
        """ids (T_x, m) ints -> logits (n_vocab, T_x*m), cache, new_state.

        Column t*m + i of the logits predicts the character after ids[t, i]. ``state``: the initial
        state (None = zeros). ``mask`` (T_x, m) 0/1, each column ones then zeros: after a stream's end
        the state is carried unchanged. ``rng`` given: dropout is active (training).
        """
        H, cache, new_state = self._hidden(ids, state, mask, rng)
        logits, c_out = self.readout.forward(H)
        return logits, cache._replace(readout=c_out), new_state

    def _hidden(self, ids, state, mask, rng):
        """The top layer's outputs H (n_a, T_x*m), column t*m + i; the cache (readout: H); new_state."""
        ids = np.asarray(ids, dtype=np.intp)
        if ids.ndim != 2:
            raise ValueError(f"ids must be (T_x, m), got shape {ids.shape}")
        T, m = ids.shape
        lengths = np.full(m, T) if mask is None else np.count_nonzero(np.asarray(mask), axis=0)
        x, c_emb = self.embedding.forward(ids)
        a, c_rnn, new_state = self._encode(x, lengths, state, rng)
        H = a.transpose(1, 0, 2).reshape(self.hidden, T * m)  # (n_a, T*m), column t*m + i (a copy)
        return H, LMCache(c_emb, c_rnn, H, T, m), new_state

    def _encode(self, x, lengths, state, rng):
        """x (T_x, n_x, m) from ``state`` -> (a (T_x, n_a, m), the stack's cache, the state after each
        stream's last real step)."""
        a, c_rnn = self.rnn.forward(x, lengths, rng, state0=state)
        return a, c_rnn, [tuple(v.copy() for v in s) for s in self.rnn.final_state(c_rnn)]

    def backward(self, dlogits, cache):
        """dlogits (n_vocab, T_x*m) -> grads keyed like params (none into the initial state)."""
        dH, grads = self.readout.backward(dlogits, cache.readout)
        grads.update(self._backward_hidden(dH, cache))
        return grads

    def _backward_hidden(self, dH, cache):
        """dH (n_a, T_x*m) -> the grads of the embedding and the recurrent stack."""
        da = np.ascontiguousarray(dH.reshape(self.hidden, cache.T, cache.m).transpose(1, 0, 2))
        dx, grads = self.encoder.backward(da, cache.rnn)   # the initial state is a constant: truncated BPTT
        grads.update(self.embedding.backward(np.ascontiguousarray(dx), cache.embed)[1])
        return grads

    def loss(self, ids, targets, state=None, mask=None, rng=None, sampled=None):
        """Mean cross-entropy (nats per character) of ``targets`` (T_x, m) given ``ids`` (T_x, m).

        Returns (loss, grads keyed like params, new_state). Steps with mask 0 are left out of the mean.
        The initial ``state`` is a constant: no gradient flows into it (truncated BPTT).
        ``sampled``: (candidates (K,), log expected counts (n_vocab,)) estimates the loss with a sampled
        softmax over the targets and these candidates (see sampled.py) instead of the whole vocabulary.
        """
        y = np.asarray(targets, dtype=np.intp).reshape(-1)
        w = None if mask is None else np.asarray(mask, dtype=self.dtype).reshape(-1)
        if w is not None and not w.any():
            new_state = self._hidden(ids, state, mask, rng)[2]
            return 0.0, {k: np.zeros_like(v) for k, v in self.params.items()}, new_state
        if sampled is not None:
            H, cache, new_state = self._hidden(ids, state, mask, rng)
            P = self.params
            loss, dH, dW, db = sampled_softmax_loss(H, P["out.Wya"], P["out.by"], y, sampled[0], sampled[1], w)
            grads = {"out.Wya": dW, "out.by": db}
            grads.update(self._backward_hidden(dH, cache))
            return loss, grads, new_state
        logits, cache, new_state = self.forward(ids, state, mask, rng)
        loss, dlogits = softmax_cross_entropy(logits, y, w)
        return loss, self.backward(dlogits, cache), new_state

    def nll(self, ids, targets, state=None, mask=None, window=256):
        """Per-step negative log-likelihood (nats, float64) of ``targets`` (T_x, m) given ``ids``.

        Forward only, no dropout; the time axis is cut into windows of ``window`` steps with the state
        carried across, so memory stays bounded on long texts. Steps with mask 0 give 0.
        Returns (nll (T_x, m), final state).
        """
        ids = np.asarray(ids, dtype=np.intp)
        targets = np.asarray(targets, dtype=np.intp)
        T, m = ids.shape
        out = np.zeros((T, m), np.float64)
        for s in range(0, T, window):
            sl = slice(s, min(T, s + window))
            mk = None if mask is None else mask[sl]
            logits, _, state = self.forward(ids[sl], state, mk)
            logp = log_softmax(logits, axis=0)
            y = targets[sl].reshape(-1)
            out[sl] = -logp[y, np.arange(y.size)].reshape(-1, m)
            if mk is not None:
                out[sl] *= mk
        return out, state

    def n_params(self):
        return int(sum(v.size for v in self.params.values()))


class Sampler:
    """The network run one character at a time, for one stream: what ``seqcli generate`` calls.

    Sampling is inherently sequential (each character is the next input), so the Python cost per step
    is what users feel. Everything is prepared once:

    - layer 0's input projection of every character, ``Wax E[:, j] + ba``, is precomputed as a
      (n_vocab, G n_a) table, so the embedding lookup and the input product become one row read
      (``InputRows``: a large word vocabulary computes its row at each step instead);
    - layers above read ``[x<t>; a<t-1>]`` from one preallocated buffer with ``[Wax | Waa]`` fused, so
      each layer does ONE matrix-vector product per step (layer 0 does ``Waa a<t-1>`` plus the row);
    - the sigmoid rows are pre-scaled by 1/2 so one ``tanh`` serves all gates (as in cells);
    - every buffer is allocated here and written with ``out=``: a step allocates nothing.

    ``step(j)`` feeds character j and returns the logits over the next character (a view, valid until
    the next call). ``state()`` / ``set_state()`` copy the state out and in ((n_a, 1) arrays, the
    layout of CharLMNet's state) so a sample can restart from a primed state.
    """

    def __init__(self, net):
        P, n, kind = net.params, net.hidden, net.cell
        dtype = net.dtype
        self.kind, self.n, self.n_vocab = kind, n, net.n_vocab
        G = len(cells.GATES[kind])
        n_sig = {"lstm": 3, "gru": 2, "rnn": 0}[kind]
        self.layers = []
        for i in range(net.layers):
            p = net.layer_params(i)
            half = np.ones((G * n, 1), dtype)
            half[: n_sig * n] = 0.5                  # σ(z) = ½ tanh(z/2) + ½: pre-scale the σ rows
            Wax, Waa, ba = p["Wax"] * half, p["Waa"] * half, p["ba"] * half
            if kind == "gru":
                # the candidate's recurrent part is scaled by the reset gate, so it cannot be fused
                # with the input part: keep z_x = Wax x + ba and z_a = Waa a apart
                bc = p["bc"][:, 0].copy()
                L = {"Waa": np.ascontiguousarray(Waa), "bc": bc, "za": np.empty(G * n, dtype)}
            else:
                L = {"Waa": np.ascontiguousarray(Waa)}
            if i == 0:
                L["table"] = InputRows(Wax, P["embed.E"], ba)   # (n_vocab, G n) rows
            else:
                L["Wax"] = np.ascontiguousarray(Wax)
                L["ba"] = ba[:, 0].copy()
                if kind != "gru":
                    L["W"] = np.ascontiguousarray(np.concatenate([Wax, Waa], axis=1))   # [Wax | Waa]
            L["xa"] = np.zeros(n + (n if i > 0 else 0), dtype)  # [x<t>; a<t-1>] (layer 0: a only)
            L["a"] = L["xa"][-n:]                                 # this layer's state (a view)
            L["g"] = np.empty(G * n, dtype)
            L["tmp"] = np.empty(n, dtype)
            if kind == "lstm":
                L["c"] = np.zeros(n, dtype)
            self.layers.append(L)
        self.Wya = np.ascontiguousarray(P["out.Wya"])
        self.by = P["out.by"][:, 0].copy()
        self.logits = np.empty(net.n_vocab, dtype)

    def set_state(self, state):
        """Load a CharLMNet state (list of tuples of (n_a, 1) arrays); None = zeros."""
        for i, L in enumerate(self.layers):
            if state is None:
                L["a"][:] = 0.0
                if "c" in L:
                    L["c"][:] = 0.0
            else:
                L["a"][:] = state[i][0][:, 0]
                if "c" in L:
                    L["c"][:] = state[i][1][:, 0]

    def state(self):
        """A copy of the current state in CharLMNet's layout."""
        return [tuple(v[:, None].copy() for v in ((L["a"], L["c"]) if "c" in L else (L["a"],)))
                for L in self.layers]

    def _fused_preactivation(self, L, i, a, x, j):
        """Write layer i's gate pre-activations into L["g"] (LSTM and simple RNN: one fused product).

        Layer 0 adds a row of its precomputed input table (embedding times Wax, plus ba) for
        character ``j``; higher layers stack [x; a] in L["xa"] and take one product with [Wax Waa].
        """
        g = L["g"]
        if i == 0:
            np.matmul(L["Waa"], a, out=g)
            g += L["table"][j]
        else:
            L["xa"][:self.n] = x
            np.matmul(L["W"], L["xa"], out=g)
            g += L["ba"]

    def step(self, j):
        """Feed character id ``j``; return the logits (n_vocab,) over the next character (a view)."""
        n = self.n
        matmul, multiply, tanh = np.matmul, np.multiply, np.tanh
        x = None
        for i, L in enumerate(self.layers):
            g, a = L["g"], L["a"]
            if self.kind == "lstm":
                self._fused_preactivation(L, i, a, x, j)
                tanh(g, out=g)                       # one tanh for all four gate blocks
                s = g[:3 * n]
                s *= 0.5
                s += 0.5                             # σ rows: ½ tanh(z/2) + ½
                c, tmp = L["c"], L["tmp"]
                c *= g[n:2 * n]                      # gf * c<t-1>
                multiply(g[:n], g[3 * n:], out=tmp)  # gu * cc
                c += tmp
                tanh(c, out=tmp)
                multiply(g[2 * n:3 * n], tmp, out=a)  # go * tanh(c)
            elif self.kind == "gru":
                za = L["za"]
                if i == 0:
                    g[:] = L["table"][j]
                else:
                    matmul(L["Wax"], x, out=g)
                    g += L["ba"]
                matmul(L["Waa"], a, out=za)
                s = g[:2 * n]
                s += za[:2 * n]
                tanh(s, out=s)
                s *= 0.5
                s += 0.5                             # gu, gr
                hc = za[2 * n:]
                hc += L["bc"]
                hc *= g[n:2 * n]                     # gr * (Waa_c a + bc)
                cc = g[2 * n:]
                cc += hc
                tanh(cc, out=cc)
                cc -= a                              # a += gu * (cc - a)
                cc *= g[:n]
                a += cc
            else:
                self._fused_preactivation(L, i, a, x, j)
                tanh(g, out=a)
            x = a
        matmul(self.Wya, x, out=self.logits)
        self.logits += self.by
        return self.logits


class InputRows:
    """Layer 0's input projection of every unit, ``Wax E[:, j] + ba``, read as ``rows[j]`` (G n,).

    A table of all of them is one row read per step; it holds n_vocab x G n values, which for a word
    vocabulary (50,000 words, an LSTM of 256 units: 200 MB) is too much, so beyond ``TABLE_VALUES`` a
    row is computed when it is read (one (G n, n_x) product, into a buffer reused by every step).
    """

    TABLE_VALUES = 1 << 22   # 16 MB of float32

    def __init__(self, Wax, E, ba):
        self.table = None
        if E.shape[1] * Wax.shape[0] <= self.TABLE_VALUES:
            self.table = np.ascontiguousarray((Wax @ E + ba).T)
        else:
            self.Wax, self.ET, self.ba = np.ascontiguousarray(Wax), np.ascontiguousarray(E.T), ba[:, 0].copy()
            self.row = np.empty(Wax.shape[0], Wax.dtype)

    def __getitem__(self, j):
        if self.table is not None:
            return self.table[j]
        np.matmul(self.Wax, self.ET[j], out=self.row)
        self.row += self.ba
        return self.row


class Picker:
    """Chooses the next character from logits: argmax, or a draw at a temperature among the top k.

    A draw uses the Gumbel-max trick: argmax_j (z_j / T + G_j) with G_j = -log(-log U_j), U_j uniform,
    is distributed exactly as softmax(z / T). That is three small operations per character (scale, add
    a precomputed noise row, argmax) instead of max / exp / cumsum / search. The noise comes from
    ``rng`` in blocks of rows, one row per character, so the same seed always gives the same text.
    ``temperature`` 0 means argmax.
    """

    def __init__(self, n_vocab, temperature=1.0, top_k=None, argmax=False, rng=None, banned=()):
        self.banned = np.asarray(banned, dtype=np.intp)   # ids never picked (a word model's <pad>)
        self.argmax = bool(argmax) or temperature == 0
        # clamped into float32's range: 1 / 1e-300 would overflow (with a RuntimeWarning) when cast
        # for the float32 product; at 1e30 the noise is negligible anyway, so it is still argmax
        self.inv_t = 0.0 if self.argmax else min(1.0 / float(temperature), 1e30)
        self.top_k = None if top_k is None or top_k >= n_vocab else int(top_k)
        self.rng = rng if rng is not None else np.random.default_rng()
        self.rows = max(16, min(4096, (1 << 18) // n_vocab))   # noise rows per block (<= 1 MB)
        self.noise = None
        self.pos = self.rows                        # the first draw fills the first block
        self.z = np.empty(n_vocab, np.float32)
        self.n_vocab = n_vocab

    def _refill(self):
        u = self.rng.random((self.rows, self.n_vocab), dtype=np.float32)
        with np.errstate(divide="ignore"):  # u == 0 gives noise -inf: never picked, as it should be
            self.noise = -np.log(-np.log(u))
        self.pos = 0

    def __call__(self, logits):
        if self.banned.size:
            logits[self.banned] = -np.inf   # the sampler's own buffer, rewritten at the next step
        if self.argmax:
            return int(logits.argmax())
        z = self.z
        np.multiply(logits, self.inv_t, out=z)
        if self.top_k is not None:
            z[np.argpartition(z, self.n_vocab - self.top_k)[: self.n_vocab - self.top_k]] = -np.inf
        if self.pos >= self.rows:
            self._refill()
        z += self.noise[self.pos]
        self.pos += 1
        return int(z.argmax())
