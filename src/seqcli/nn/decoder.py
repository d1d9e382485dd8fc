"""The attentional decoder of the encoder-decoder (Luong et al. 2015), over the encoder's memory.

    x<t>   = [E_y y<t-1>; h~<t-1>]                 input feeding (h~<-1> = 0)
    a<t>   = decoder cells (``layers`` DecoderLayers of one kind)
    ctx<t> = sum_j alpha<t>_j h_j                  attention of the top a<t> over the memory h_j
    h~<t>  = tanh(Wc [ctx<t>; a<t>])               the attentional vector
    p(y<t> | y<t-1>, ..., x) = softmax(Wy h~<t> + by)

Attention ``none``: no attention and no input feeding; the readout reads the top a<t>. The readout
never gives probability to padding or start (``NEVER``): their logits are fixed at -inf.

A layer in the zoo's sense: it owns the entries dec.*, att.*, comb.Wc, out.* of the shared parameter
dict (and reads the target embedding it is given), reads them at every call and keeps no history.
``forward`` runs teacher forcing over a whole target batch and ``backward`` returns the gradients on the
memory and on the initial states; ``start`` / ``step`` / ``DecoderState.select`` are the same step code
one token at a time, for greedy and beam search (nn/search.py).

Speed. The target embedding's share of layer 0's pre-activations is ONE product for all steps before the
loop; the readout of all T_y steps is one product after the loop, as are its gradient and Wc's. Only the
attention calls allocate inside the loop (small (m, T_x) arrays): they are the zoo's one implementation
(nn/attention.py), not a copy.
"""

from types import SimpleNamespace
from typing import NamedTuple

import numpy as np

from . import cells
from .attention import (additive_backward, additive_forward, additive_keys, additive_keys_backward,
                        attention_backward, attention_forward, general_backward, general_forward,
                        key_padding_mask)
from .decoder_layer import DecoderLayer, rows
from .functional import log_softmax
from .layers import inverted_dropout

PAD, UNK, START, END = 0, 1, 2, 3
"""Reserved target ids (the source side reserves PAD and UNK)."""

NEVER = (PAD, START)
"""Target ids the readout never predicts (logits fixed at -inf)."""

ATTENTIONS = ("dot", "general", "additive", "none")


def decoder_shapes(cell, embed, hidden, layers, attention, n_e, n_tgt):
    """The decoder's parameter shapes, without allocating anything."""
    shapes, n_in = {}, embed + (hidden if attention != "none" else 0)
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


def glorot(rng, shape, dtype):
    bound = np.sqrt(6.0 / (shape[0] + shape[1]))
    return rng.uniform(-bound, bound, shape).astype(dtype)


def _keep(out, x, keep, t):
    """out = x, times dropout mask keep[t] when there is one."""
    if keep is None:
        np.copyto(out, x)
    else:
        np.multiply(x, keep[t], out=out)


class DecoderState(NamedTuple):
    """The decoder's state for k columns (hypotheses), as ``start`` / ``step`` / ``select`` pass it.

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

    def select(self, index):
        """The state of the columns ``index`` (k',), in that order: reorders, repeats or drops
        hypotheses. The memory is gathered only when a column changes source (never within a beam)."""
        index = np.asarray(index, dtype=np.intp).reshape(-1)
        src = self.src[index]
        same = src.shape == self.src.shape and np.array_equal(src, self.src)

        def take(x, axis):
            return None if x is None else np.take(x, index, axis=axis)

        memory, keys, mask = (self.memory, self.keys, self.mask) if same else \
            (take(self.memory, 0), take(self.keys, 0), take(self.mask, 0))
        return DecoderState(take(self.a, 2), take(self.c, 2), take(self.feed, 1), memory, keys, mask,
                            src, self.prep)


class Decoder:
    """Attentional decoder: ``layers`` cells of ``cell`` (n_a = ``hidden``) over a memory of size n_e."""

    def __init__(self, params, embedding, cell, embed, hidden, layers, attention, n_e, n_tgt, dropout, rng,
                 dtype=np.float32):
        self.params, self.embedding = params, embedding
        self.cell, self.embed, self.hidden, self.layers = cell, embed, hidden, layers
        self.attention, self.n_e, self.dropout, self.dtype = attention, n_e, dropout, np.dtype(dtype)
        shapes = decoder_shapes(cell, embed, hidden, layers, attention, n_e, n_tgt)
        for i in range(layers):
            p = cells.init_params(cell, shapes[f"dec.l{i}.Wax"][1], hidden, rng, dtype)
            params.update({f"dec.l{i}.{k}": v for k, v in p.items()})
        for k in ("att.Wa", "att.W1", "att.W2", "comb.Wc"):
            if k in shapes:
                params[k] = glorot(rng, shapes[k], dtype)
        if "att.va" in shapes:
            params["att.va"] = rng.uniform(-1, 1, shapes["att.va"]).astype(dtype) / np.sqrt(hidden).astype(dtype)
        params["out.Wya"] = glorot(rng, shapes["out.Wya"], dtype)
        params["out.by"] = np.zeros(shapes["out.by"], dtype)

    # -- the step loop's pieces --------------------------------------------------------------------

    def prepare(self):
        """The decoder's weights as the step loop reads them (a fresh object for each call)."""
        P, kind = self.params, self.cell
        layers = [DecoderLayer(kind, {k: P[f"dec.l{i}.{k}"] for k in cells.param_shapes(kind, 1, 1)},
                               self.embed if i == 0 else 0) for i in range(self.layers)]
        prep = SimpleNamespace(layers=layers, Wy=P["out.Wya"], by=P["out.by"])
        if self.attention != "none":
            prep.Wc, prep.WcT = P["comb.Wc"], P["comb.Wc"].T
        return prep

    def alloc(self, prep, T, m):
        dt, n = self.dtype, self.hidden
        B = SimpleNamespace(T=T, m=m, layers=[lay.alloc(T, m, dt) for lay in prep.layers])
        B.HT = np.empty((n, T, m), dt)               # h~ after dropout: the readout's input, rows layout
        if self.attention != "none":
            B.Q = np.empty((T, m, n), dt)            # the query of each step, as attention's rows
            B.CQ = np.empty((T, self.n_e + n, m), dt)  # [ctx<t>; a<t>], Wc's input
            B.Ht = np.empty((T, n, m), dt)           # h~<t> before dropout
            B.att = [None] * T                       # attention caches (the weights are cache.alpha)
        return B

    def memory_parts(self, memory, lengths):
        """(memory, keys, mask) the attention reads: keys = W2 h_j for additive attention (else None),
        mask (m, 1, T_x) True at real source positions."""
        keys = additive_keys(memory, self.params["att.W2"]) if self.attention == "additive" else None
        return memory, keys, key_padding_mask(lengths, memory.shape[1])

    def _attend(self, q, mem):
        """One attention call for query rows q (m, 1, n) over mem = (memory, keys, mask)."""
        memory, keys, mask = mem
        if self.attention == "dot":
            return attention_forward(q, memory, memory, mask)
        if self.attention == "general":
            return general_forward(q, memory, memory, self.params["att.Wa"], mask)
        return additive_forward(q, keys, memory, self.params["att.W1"], self.params["att.va"], mask)

    def _step(self, prep, B, mem, t, pre0, keep):
        """Step t (training and inference alike): layers, attention, h~<t> into B.HT[:, t] and, fed, into
        layer 0's next input. pre0 (T, G n, m): layer 0's embedding share plus bias."""
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
            _keep(hd, a, keep.h, t)
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
        _keep(hd, h, keep.h, t)
        np.copyto(B.layers[0].S[t + 1, :n], hd)       # input feeding

    def _keeps(self, T, m, rng):
        """The dropout masks (None each when off): target embeddings, between layers, h~."""
        dt, n = self.dtype, self.hidden
        return SimpleNamespace(
            emb=inverted_dropout((T, self.embed, m), self.dropout, rng, dt),
            layers=[None] + [inverted_dropout((T, n, m), self.dropout, rng, dt) for _ in range(1, self.layers)],
            h=inverted_dropout((T, n, m), self.dropout, rng, dt))

    def _start_buffers(self, B, a0, c0, feed=None):
        for i, f in enumerate(B.layers):
            f.a[0] = a0[i]
            if c0 is not None:
                f.c[0] = c0[i]
        if self.attention != "none":
            B.layers[0].S[0, :self.hidden] = 0.0 if feed is None else feed

    # -- teacher forcing -----------------------------------------------------------------------------

    def forward(self, tgt_in, mem, a0, c0, rng=None):
        """Teacher-forced pass over tgt_in (T_y, m) ids, from initial states a0, c0 (layers, hidden, m)
        (c0 None but for the LSTM), over mem = memory_parts(...). ``rng``: dropout on.

        Returns logits (n_tgt_vocab, T_y*m) (column t*m + i is step t of row i) and the cache."""
        T, m = tgt_in.shape
        keep = self._keeps(T, m, rng)
        emb, c_tgt = self.embedding.forward(tgt_in)
        if keep.emb is not None:
            emb *= keep.emb
        prep = self.prepare()
        B = self.alloc(prep, T, m)
        self._start_buffers(B, a0, c0)
        lay0 = prep.layers[0]
        pre0 = np.matmul(lay0.We, emb)                 # (T, G n, m): ONE product for every step
        pre0 += lay0.b
        for t in range(T):
            self._step(prep, B, mem, t, pre0, keep)
        logits = prep.Wy @ B.HT.reshape(self.hidden, T * m) + prep.by
        logits[list(NEVER)] = -np.inf
        return logits, (prep, B, mem, keep, emb, c_tgt, T, m)

    def alignments(self, cache):
        """The attention weights (m, T_y, T_x) of a forward pass (zeros with attention none)."""
        _, B, mem, *_, T, m = cache
        if self.attention == "none" or T == 0:
            return np.zeros((m, T, mem[2].shape[-1]), self.dtype)
        return np.stack([c.alpha[:, 0, :] for c in B.att], axis=1)

    def _attend_backward(self, dctx, cache, dmem, dkeys, acc):
        """One step's attention backward: dctx (m, 1, n_e) -> the query's gradient (m, 1, n); the
        memory's, the keys' and the weights' gradients are added into dmem, dkeys, acc."""
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

    def backward(self, dlogits, cache):
        """dlogits (n_tgt_vocab, T_y*m) -> (dmemory (m, T_x, n_e) or None without attention,
        da0 [layers x (hidden, m)], dc0 (the same for the LSTM, else None), grads)."""
        prep, B, mem, keep, emb, c_tgt, T, m = cache
        P, n, dt, att = self.params, self.hidden, self.dtype, self.attention
        grads = {"out.Wya": dlogits @ B.HT.reshape(n, T * m).T, "out.by": dlogits.sum(axis=1, keepdims=True)}
        dHT = (prep.Wy.T @ dlogits).reshape(n, T, m)       # the readout of all steps: one product
        D = [lay.alloc_backward(T, m, dt) for lay in prep.layers]
        dh = np.empty((n, m), dt)
        dfeed = np.zeros((n, m), dt)        # gradient on h~<t> through its feed into step t+1
        memory, keys, _ = mem
        dmem = None
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
            grads["comb.Wc"] = dzc.reshape(n, T * m) @ rows(B.CQ).T
            grads.update(acc)
            if dkeys is not None:
                dk, grads["att.W2"] = additive_keys_backward(dkeys, memory, P["att.W2"])
                dmem += dk
        for i, (lay, f, d) in enumerate(zip(prep.layers, B.layers, D)):
            g, dzin = lay.grads(f, d, emb if i == 0 else None)
            grads.update({f"dec.l{i}.{k}": v for k, v in g.items()})
            if i == 0:
                demb = (lay.WeT @ dzin).reshape(self.embed, T, m).transpose(1, 0, 2)
                if keep.emb is not None:
                    demb = demb * keep.emb
                grads.update(self.embedding.backward(demb, c_tgt)[1])
        return dmem, [d.da for d in D], ([d.dc for d in D] if self.cell == "lstm" else None), grads

    # -- one step at a time (inference) ---------------------------------------------------------------

    def start(self, mem, a0, c0):
        """The state of m columns before the first step: mem = memory_parts(...), a0, c0 (layers, hidden, m)."""
        m = a0.shape[2]
        feed = np.zeros((self.hidden, m), self.dtype) if self.attention != "none" else None
        return DecoderState(a0, c0, feed, *mem, np.arange(m), self.prepare())

    def step(self, state, prev_ids):
        """One step for the k columns of ``state``, fed prev_ids (k,) (START first).

        Returns log-probabilities (n_tgt_vocab, k) of the next token (-inf for PAD and START), the new
        state, and the attention weights (k, T_x) of this step (zeros with attention none)."""
        prev = np.asarray(prev_ids, dtype=np.intp).reshape(-1)
        k = prev.shape[0]
        if k != state.a.shape[2]:
            raise ValueError(f"{k} previous ids for a state of {state.a.shape[2]} columns")
        prep = state.prep
        B = self.alloc(prep, 1, k)
        self._start_buffers(B, state.a, state.c, state.feed)
        lay0 = prep.layers[0]
        pre0 = (lay0.We @ self.params["tgt.E"][:, prev] + lay0.b)[None]
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
