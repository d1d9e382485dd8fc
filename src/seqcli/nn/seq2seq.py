"""Seq2SeqNet: the numeric encoder-decoder with attention (the lecture's "many to many, T_x != T_y").

    source ids (T_x, m) -> Embedding -> encoder (Stack of Recurrent / Bidirectional)  -> memory h_j
    encoder final states -> bridge -> the decoder's initial state, every layer
    target ids (T_y, m) -> the attentional decoder (nn/decoder.py), one step at a time, input feeding

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

Sizes: ``hidden`` is the decoder's n_a (and the size of h~ and of the attention's hidden layer);
``enc_hidden`` each encoder direction's n_a (default hidden // 2 when bidirectional, else hidden, so
the memory size n_e = enc_hidden x directions equals hidden and ``dot`` works).

Teacher forcing: ``loss`` runs the decoder on the true previous tokens and returns the mean cross-entropy
over the real target steps of the batch (sum over tokens / number of real tokens). Target padding (steps
t >= tgt_lengths[i]) comes after every real step of its row, so it cannot reach a real step; those steps
are run but weighted 0, and every gradient from them is exactly 0. Dropout (``rng`` given): on every
encoder layer's input (nn.layers.Stack), on the target embeddings, between decoder layers, and on h~
(both what the readout reads and what is fed to the next step).

Speed: the encoder runs the fast whole-sequence cells through nn.layers; the decoder's step is fused
(nn/decoder_layer.py).

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

import numpy as np

from . import cells, checks
from .decoder import ATTENTIONS, END, NEVER, PAD, START, UNK, Decoder, DecoderState, decoder_shapes, glorot
from .functional import log_softmax, softmax_cross_entropy
from .layers import Bidirectional, Embedding, Recurrent, Stack, length_mask

__all__ = ["PAD", "UNK", "START", "END", "NEVER", "ATTENTIONS", "DecoderState", "Seq2SeqNet"]

_CONFIG_KEYS = ("n_src_vocab", "n_tgt_vocab", "cell", "embed", "hidden", "enc_hidden", "layers",
                "bidirectional", "attention", "dropout", "seed")


class Seq2SeqNet(checks.Rebuildable):
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
            P[f"bridge.l{i}.W"] = glorot(rng, S, dt)
            P[f"bridge.l{i}.b"] = np.zeros((S[0], 1), dt)
        self.encoder = Stack(stack, self.dropout)
        self.decoder = Decoder(P, self.tgt_embedding, self.cell, self.embed, self.hidden, self.layers,
                               self.attention, self.n_e, self.n_tgt_vocab, self.dropout, rng, dt)
        assert {k: v.shape for k, v in P.items()} == shapes

    # -- parameters and persistence --------------------------------------------------------------

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
        shapes.update(decoder_shapes(cell, embed, hidden, layers, attention, n_e, n_tgt))
        return shapes

    def n_params(self):
        return int(sum(v.size for v in self._params.values()))

    # -- inputs ----------------------------------------------------------------------------------------

    _ids = staticmethod(checks.ids_and_lengths)

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


    # -- training --------------------------------------------------------------------------------------

    def _forward(self, src_ids, src_lengths, tgt_in, tgt_lengths, rng=None):
        """Teacher-forced pass: logits (n_tgt_vocab, T_y*m) (column t*m + i is step t of row i), cache."""
        src, s_len = self._source(src_ids, src_lengths)
        tgt_in, _ = self._ids(tgt_in, tgt_lengths, "target")
        if tgt_in.shape[1] != src.shape[1]:
            raise ValueError(f"{tgt_in.shape[1]} target rows for {src.shape[1]} source rows")
        memory, a0, c0, enc_cache = self._encode(src, s_len, rng)
        logits, dec_cache = self.decoder.forward(tgt_in, self.decoder.memory_parts(memory, s_len), a0, c0, rng)
        return logits, (enc_cache, dec_cache)

    def _backward(self, dlogits, cache):
        """dlogits (n_tgt_vocab, T_y*m) -> grads keyed like params."""
        enc_cache, dec_cache = cache
        dmem, da0, dc0, grads = self.decoder.backward(dlogits, dec_cache)
        dfs = self._bridge_backward(da0, dc0, enc_cache, grads)
        m = dec_cache[-1]
        if dmem is not None:
            dH = np.ascontiguousarray(dmem.transpose(1, 2, 0))   # (T_x, n_e, m)
        else:
            dH = np.zeros((enc_cache[4], self.n_e, m), self.dtype)
        self._encoder_backward(dH, dfs, enc_cache, grads)
        return grads

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
        logits, (_, dec_cache) = self._forward(src_ids, src_lengths, tgt_in, tgt_lengths)
        T, m = dec_cache[-2:]
        return log_softmax(logits, axis=0).reshape(-1, T, m)

    def alignments(self, src_ids, src_lengths, tgt_in, tgt_lengths):
        """Teacher-forced attention weights (m, T_y, T_x) (zeros with attention none), no dropout:
        what --explain draws for a given target."""
        _, (_, dec_cache) = self._forward(src_ids, src_lengths, tgt_in, tgt_lengths)
        return self.decoder.alignments(dec_cache)

    # -- inference -------------------------------------------------------------------------------------

    def encode(self, src_ids, src_lengths):
        """Encode m sources (no dropout): src_ids (T_x, m), src_lengths (m,) -> a DecoderState of m
        columns, ready for the first ``step`` (fed START)."""
        src, lengths = self._source(src_ids, src_lengths)
        memory, a0, c0, _ = self._encode(src, lengths)
        return self.decoder.start(self.decoder.memory_parts(memory, lengths), a0, c0)

    def step(self, state, prev_ids):
        """One decoder step for the k columns of ``state``, fed prev_ids (k,) (START first).

        Returns log-probabilities (n_tgt_vocab, k) of the next token (-inf for PAD and START), the new
        state, and the attention weights (k, T_x) of this step (zeros with attention none).
        """
        return self.decoder.step(state, prev_ids)

    @staticmethod
    def select(state, index):
        """The state of the columns ``index`` (k',) of ``state``, in that order: reorders, repeats
        (np.repeat(np.arange(k), K) gives K copies of each) or drops hypotheses."""
        return state.select(index)

    @staticmethod
    def repeat(state, K):
        """K consecutive copies of every column (column i*K + j is copy j of column i)."""
        return state.select(np.repeat(np.arange(state.a.shape[2]), K))
