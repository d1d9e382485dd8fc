"""TransformerLMNet: a causal Transformer character model (nanoGPT's shape), and its one-step sampler.

    ids (T_x, m) -> Embedding -> causal TransformerEncoder (pre-norm blocks, final LayerNorm)
                 -> per-position Dense -> softmax over the n_vocab characters

The same job as CharLMNet (lmnet.py), whose interface it keeps, so the language-model task, the model
file (models/charlm.py), ``predict`` and ``generate`` take either: ``forward``, ``backward`` and ``loss``
are CharLMNet's (over ``self.encoder``); ``_encode``, ``nll``, ``zero_state``, ``sampler``, ``config``
and ``param_shapes`` are its own. What differs:

- Training windows are blocks. Each window of ``block_size`` characters of a stream is read on its
  own, every position predicting the next character from the ones before it in the window (the
  causal mask), and nothing is carried into the next window: the state is empty (``[]``). That is
  how nanoGPT trains; carrying the previous window as unscored context would double the cost of
  every step for positions that are then not learnt from.
- Scoring (``nll``) gives every character a context: a long text is read in overlapping blocks, each
  scoring only its second half, so every character after the first block is predicted from at least
  block_size / 2 characters before it (the LSTM carries its state over the whole text). A "state"
  here is that context: ``[(ctx,)]`` with ctx ``(k, m)`` the last k < block_size input ids of each
  stream (``np.repeat`` along axis 1 copies it to more streams, as for CharLMNet's states).
- Sampling runs the encoder's IncrementalDecoder: a key/value cache, one position's work per
  character, and the newest half of the window re-encoded when the context reaches block_size.

Parameter keys (one flat dict): ``embed.E`` (embed, n_vocab); ``enc.*`` the encoder's (transformer.py);
``out.Wya`` (n_vocab, hidden), ``out.by`` (n_vocab, 1).
"""

import numpy as np

from . import checks, encoders
from .functional import log_softmax
from .layers import Dense, Embedding
from .lmnet import CharLMNet
from .transformer import MAX_POSITIONS, IncrementalDecoder

ATTENTION_CELLS = 1 << 23     # scoring: streams per pass are capped so (m, heads, block, block) stays ~32 MB


class TransformerLMNet(CharLMNet):
    """Embedding -> causal Transformer -> per-position dense -> softmax (see the module docstring).

    ``hidden`` is the width d_model; ``embed`` None = hidden (no input projection); ``ff`` None = 4 hidden.
    """

    cell = encoders.TRANSFORMER

    def __init__(self, n_vocab, cell=encoders.TRANSFORMER, embed=None, hidden=128, layers=4, heads=4, ff=None,
                 block_size=128, positions="learned", activation="gelu", dropout=0.0, seed=0, dtype=np.float32):
        if cell != encoders.TRANSFORMER:
            raise ValueError(f"a TransformerLMNet's cell is 'transformer', not {cell!r}")
        self.n_vocab, self.hidden, self.layers = int(n_vocab), int(hidden), int(layers)
        self.embed = self.hidden if embed is None else int(embed)
        self.block_size, self.dropout, self.seed, self.dtype = int(block_size), float(dropout), seed, np.dtype(dtype)
        self.transformer = encoders.transformer_config(self.cell, self.hidden, {
            "heads": heads, "ff": ff, "positions": positions, "activation": activation, "max_len": self.block_size})
        rng = np.random.default_rng(seed)
        P = self.params = {}
        self.embedding = Embedding(P, "embed", self.n_vocab, self.embed, rng, self.dtype)
        P["embed.E"][:, 0] = rng.standard_normal(self.embed)     # id 0 is a character here, not padding
        self.encoder = encoders.make_encoder(P, "enc", self.cell, self.embed, self.hidden, self.layers, rng,
                                             self.dtype, dropout=self.dropout, causal=True, **self.transformer)
        self.readout = Dense(P, "out", self.hidden, self.n_vocab, rng, self.dtype)

    # -- configuration -------------------------------------------------------------------------------

    def config(self):
        """JSON-serialisable constructor arguments (everything but dtype)."""
        t = self.transformer
        return {"cell": self.cell, "n_vocab": self.n_vocab, "embed": self.embed, "hidden": self.hidden,
                "layers": self.layers, "heads": t["heads"], "ff": t["ff"], "block_size": self.block_size,
                "positions": t["positions"], "activation": t["activation"], "dropout": self.dropout,
                "seed": None if self.seed is None else int(self.seed)}

    @staticmethod
    def param_shapes(config):
        """The parameter shapes ``config`` implies, computed from checked sizes without allocating."""
        if config.get("cell") != encoders.TRANSFORMER:
            raise ValueError("network cell must be transformer")
        n_vocab = checks.config_int(config, "n_vocab", 1, checks.MAX_VOCAB)
        embed = checks.config_int(config, "embed", 1, checks.MAX_UNITS)
        hidden = checks.config_int(config, "hidden", 1, checks.MAX_UNITS)
        layers = checks.config_int(config, "layers", 1, checks.MAX_LAYERS)
        block = checks.config_int(config, "block_size", 1, MAX_POSITIONS)
        checks.config_dropout(config)
        options = {k: config[k] for k in ("heads", "ff", "positions", "activation")}
        shapes, _ = encoders.encoder_shapes("enc", encoders.TRANSFORMER, embed, hidden, layers,
                                            dropout=config.get("dropout", 0.0), causal=True, max_len=block,
                                            **options)
        shapes.update({"embed.E": (embed, n_vocab), "out.Wya": (n_vocab, hidden), "out.by": (n_vocab, 1)})
        return shapes

    def zero_state(self, m):
        """No context: a block starts from nothing (the state of a training window, always)."""
        return []

    def sampler(self):
        return TransformerSampler(self)

    # -- computation ---------------------------------------------------------------------------------

    def _encode(self, x, lengths, state, rng):
        """x (T_x, embed, m) -> (a (T_x, hidden, m), the encoder's cache, []): ``forward`` (inherited) reads
        a window as one block, so logits column t*m + i predicts from ids[:t+1, i] only, T_x <= block_size.
        ``state`` must be empty: contexts are ``nll``'s and the sampler's."""
        if state:
            raise ValueError("a transformer's training window is one block: it takes no state")
        a, cache = self.encoder.forward(x, lengths, rng)
        return a, cache, []

    def nll(self, ids, targets, state=None, mask=None, window=None):
        """Per-step negative log-likelihood (nats, float64) of ``targets`` (T_x, m) given ``ids`` (T_x, m)
        and the context ``state`` (see the module docstring; None: none). No dropout. Every step is
        read in a block that gives it at least block_size // 2 characters of context where the text
        has them. Steps with mask 0 give 0. Returns (nll (T_x, m), the context after the last step).
        ``window`` is CharLMNet's memory bound; blocks already bound the memory here.
        """
        ids = np.asarray(ids, dtype=np.intp)
        targets = np.asarray(targets, dtype=np.intp)
        T, m = ids.shape
        ctx = np.zeros((0, m), np.intp) if not state else np.asarray(state[0][0], dtype=np.intp)
        seq = np.concatenate([ctx[-(self.block_size - 1):] if self.block_size > 1 else ctx[:0], ids])
        k, N, B = len(seq) - T, len(seq), self.block_size
        out = np.zeros((T, m), np.float64)
        cols = max(1, ATTENTION_CELLS // (self.transformer["heads"] * B * B))
        p = k
        while p < N:       # score inputs [p, q) in the block [q - B, q): at least B - stride of context
            q = min(N, max(p + max(B // 2, 1), B))
            start = max(0, q - B)
            for c in range(0, m, cols):
                logits, _, _ = self.forward(seq[start:q, c:c + cols])
                n_c = min(cols, m - c)
                logp = log_softmax(logits.reshape(self.n_vocab, q - start, n_c)[:, p - start:], axis=0)
                y = targets[p - k:q - k, c:c + cols]
                out[p - k:q - k, c:c + cols] = -np.take_along_axis(logp, y[None], axis=0)[0]
            p = q
        if mask is not None:
            out *= mask
        return out, [(seq[-(B - 1):] if B > 1 else seq[:0],)]


class TransformerSampler:
    """The causal Transformer one character at a time, for one stream: what ``seqcli generate`` calls.

    ``step(j)`` feeds character j and returns the logits (n_vocab,) over the next one (a view, valid
    until the next call); ``state()`` / ``set_state()`` copy the decoder's context out and in (an
    opaque snapshot; None = empty), so a sample can restart from a primed prompt. The key/value cache
    is the encoder's IncrementalDecoder's; parameters are read at every step.
    """

    def __init__(self, net):
        self.net = net
        self.decoder = IncrementalDecoder(net.encoder, m=1, window=net.block_size)
        self.logits = np.empty(net.n_vocab, net.dtype)

    def step(self, j):
        P = self.net.params
        h = self.decoder.step(P["embed.E"][:, j:j + 1])                # (d, 1)
        np.matmul(P["out.Wya"], h[:, 0], out=self.logits)
        self.logits += P["out.by"][:, 0]
        return self.logits

    def state(self):
        d = self.decoder
        n = d.position
        return (n, d.dropped, d.X[:, :n].copy(), [K[:, :, :n].copy() for K in d.K], [V[:, :, :n].copy() for V in d.V])

    def set_state(self, state):
        d = self.decoder
        if state is None:
            d.reset()
            return
        n, d.dropped, X, Ks, Vs = state
        d.position = n
        d.X[:, :n] = X
        for K, k, V, v in zip(d.K, Ks, d.V, Vs):
            K[:, :, :n] = k
            V[:, :, :n] = v
