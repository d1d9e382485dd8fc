"""SeqNet: the numeric sequence classifier network.

    ids (T_x, m) -> Embedding -> encoder -> Pool -> dropout -> Dense -> logits (n_y, m)

The encoder is the one the user chose (encoders.py): a stack of recurrent layers (``cell`` rnn, gru,
lstm) or a Transformer (``cell`` "transformer", with ``hidden`` its width d_model and its own
``heads``, ``ff``, ``positions``, ``max_len``, ``activation``).

Token id 0 is padding, 1 is unknown; ``lengths`` (m,) gives each row's real length. The network is only
numbers in, numbers out; texts, vocabularies and training loops live elsewhere.

Parameter keys (all in ``net.params``, one flat dict):

    embed.E                       (embed, n_vocab)
    enc.l{i}.fw.{Wax,Waa,ba}      layer i, forward direction (+ .bc for the GRU)
    enc.l{i}.bw.{Wax,Waa,ba}      layer i, backward direction (bidirectional only)
    enc.*                         a Transformer's instead (see transformer.py)
    out.Wya, out.by               (n_classes, n_pool), (n_classes, 1)
"""

from typing import NamedTuple

import numpy as np

from . import checks, encoders
from .functional import softmax, softmax_cross_entropy
from .layers import POOLS, Dense, Embedding, Pool, inverted_dropout, stack_states


_OWN_CONFIG = ("n_vocab", "n_classes", "cell", "embed", "hidden", "layers", "bidirectional", "pool", "dropout",
               "seed")   # a config's other entries are the Transformer's (encoders.transformer_config)


class SeqNetCache(NamedTuple):
    embed: object       # the Embedding's cache (the ids)
    encoder: object     # the Stack's cache
    pool: object        # the Pool's cache
    keep: object        # (n_pool, m) dropout keep-mask before the readout, or None
    readout: object     # the Dense's cache
    a: np.ndarray       # (T_x, n_out, m) the top layer's outputs
    lengths: np.ndarray  # (m,)


class SeqNet(checks.Rebuildable):
    """Embedding -> encoder -> pooling -> dropout -> dense classifier; see the module docstring.

    ``transformer``: the Transformer's own sizes (encoders.TRANSFORMER_DEFAULTS), for cell "transformer"."""

    def __init__(self, n_vocab, n_classes, cell="lstm", embed=64, hidden=128, layers=1,
                 bidirectional=False, pool="last", dropout=0.0, seed=0, dtype=np.float32, **transformer):
        self.n_vocab, self.n_classes, self.cell = int(n_vocab), int(n_classes), str(cell)
        self.embed, self.hidden, self.layers = int(embed), int(hidden), int(layers)
        self.bidirectional, self.pool, self.dropout = bool(bidirectional), str(pool), float(dropout)
        self.seed, self.dtype = seed, np.dtype(dtype)
        if self.layers < 1:
            raise ValueError("layers must be >= 1")

        rng = np.random.default_rng(seed)
        self._params = {}
        P = self._params
        self.embedding = Embedding(P, "embed", self.n_vocab, self.embed, rng, self.dtype)
        self.transformer = encoders.transformer_config(self.cell, self.hidden, transformer)
        self.encoder = encoders.make_encoder(P, "enc", self.cell, self.embed, self.hidden, self.layers, rng,
                                             self.dtype, bidirectional=self.bidirectional, dropout=self.dropout,
                                             **self.transformer)
        n_in = self.encoder.n_out
        self.pooling = Pool(self.pool, split=self.hidden if self.bidirectional else None)
        self.readout = Dense(P, "out", n_in, self.n_classes, rng, self.dtype)

    # -- parameters and persistence --------------------------------------------------------------

    def config(self):
        """JSON-serialisable constructor arguments (everything but dtype)."""
        return {
            "n_vocab": self.n_vocab, "n_classes": self.n_classes, "cell": self.cell,
            "embed": self.embed, "hidden": self.hidden, "layers": self.layers,
            "bidirectional": self.bidirectional, "pool": self.pool, "dropout": self.dropout,
            "seed": None if self.seed is None else int(self.seed), **self.transformer,
        }

    @staticmethod
    def param_shapes(config):
        """The parameter shapes ``config`` implies, computed from checked sizes without allocating."""
        n_vocab = checks.config_int(config, "n_vocab", 1, checks.MAX_VOCAB)
        n_classes = checks.config_int(config, "n_classes", 1, checks.MAX_CLASSES)
        embed = checks.config_int(config, "embed", 1, checks.MAX_UNITS)
        hidden = checks.config_int(config, "hidden", 1, checks.MAX_UNITS)
        layers = checks.config_int(config, "layers", 1, checks.MAX_LAYERS)
        cell = checks.config_choice(config, "cell", encoders.KINDS)
        checks.config_choice(config, "pool", POOLS)
        checks.config_dropout(config)
        if not isinstance(config.get("bidirectional", False), bool):
            raise ValueError("network bidirectional must be true or false")
        transformer = {k: v for k, v in config.items() if k not in _OWN_CONFIG}
        shapes, n_in = encoders.encoder_shapes("enc", cell, embed, hidden, layers,
                                               bidirectional=config.get("bidirectional", False),
                                               dropout=config.get("dropout", 0.0),
                                               **encoders.transformer_config(cell, hidden, transformer))
        shapes.update({"embed.E": (embed, n_vocab), "out.Wya": (n_classes, n_in), "out.by": (n_classes, 1)})
        return shapes

    # -- computation -------------------------------------------------------------------------------

    def forward(self, ids, lengths, rng=None):
        """ids (T_x, m) ints (0 = padding), lengths (m,) -> logits (n_classes, m), cache.

        ``rng`` (a np.random.Generator) given: dropout is active (training)."""
        ids, lengths = checks.ids_and_lengths(ids, lengths)
        x, c_emb = self.embedding.forward(ids)
        a, c_enc = self.encoder.forward(x, lengths, rng)
        h, c_pool = self.pooling.forward(a, lengths)
        keep = inverted_dropout(h.shape, self.dropout, rng, h.dtype)
        if keep is not None:
            h = h * keep
        logits, c_out = self.readout.forward(h)
        return logits, SeqNetCache(c_emb, c_enc, c_pool, keep, c_out, a, lengths)

    def backward(self, dlogits, cache, sparse=False):
        """dlogits (n_classes, m) -> grads keyed like params.

        sparse: "embed.E"'s gradient as a ``sparse.ColumnGrad`` of the columns the batch read (what
        training asks for: a batch of 32 short texts reads a few hundred of a 14k-word table's columns,
        and the clipping and Adam then skip the zero columns' terms), else a dense (embed, n_vocab) array."""
        dx, grads = self._backward_to_inputs(dlogits, cache)
        grads.update(self.embedding.backward(dx, cache.embed, sparse=sparse)[1])
        return grads

    def _backward_to_inputs(self, dlogits, cache):
        """dlogits (n_classes, m) -> (dx (T_x, embed, m) for the embedded inputs, grads above them)."""
        dh, grads = self.readout.backward(dlogits, cache.readout)
        if cache.keep is not None:
            dh = dh * cache.keep
        dx, g = self.encoder.backward(self.pooling.backward(dh, cache.pool), cache.encoder)
        grads.update(g)
        return dx, grads

    def input_gradients(self, ids, lengths, y):
        """∂loss_i/∂x<t> (T_x, embed, m): each row's own cross-entropy (not averaged over the batch)
        with respect to its embedded input at every step; no dropout. This is what shows vanishing
        gradients: its norm against the distance from the last step."""
        logits, cache = self.forward(ids, lengths)
        dlogits = softmax(logits, axis=0)
        dlogits[np.asarray(y, dtype=np.intp), np.arange(logits.shape[1])] -= 1.0
        return self._backward_to_inputs(dlogits, cache)[0]

    def loss(self, ids, lengths, y, weights=None, rng=None, sparse=False):
        """Mean (weighted) softmax cross-entropy of the labels y (m,) and its gradients (keyed like params;
        ``sparse``: the embedding's as a ColumnGrad, see ``backward``)."""
        logits, cache = self.forward(ids, lengths, rng)
        y = np.asarray(y, dtype=np.intp)
        if weights is not None:
            weights = np.asarray(weights, dtype=logits.dtype)
        loss, dlogits = softmax_cross_entropy(logits, y, weights)
        return loss, self.backward(dlogits, cache, sparse)

    def predict_proba(self, ids, lengths):
        """(n_classes, m) class probabilities, no dropout."""
        logits, _ = self.forward(ids, lengths)
        return softmax(logits, axis=0)

    def states(self, ids, lengths):
        """Everything a heatmap needs from ONE forward pass (no dropout).

        Returns a dict with
          "enc.l{i}.fw.{field}" / "enc.l{i}.bw.{field}": (T_x, n_a, m), the cell activations of that layer
              and direction, fields gu, gf, go, cc, c, a (lstm) / gu, gr, cc, a (gru) / a (rnn). The forward
              direction's arrays are the cache arrays themselves; the backward direction's are those arrays
              put back in token order (position t = token t).
          "proba": (n_classes, T_x, m), the readout applied to every prefix: the pooled vector of steps
              0..t (the backward half of a bidirectional ``last`` pooling is its final state); steps after
              a row's end repeat its final prediction, so proba[:, lengths[i]-1, i] = predict_proba[:, i].
          "final": (n_classes, m), the prediction of the whole rows; "lengths": (m,).
        """
        if self.cell == encoders.TRANSFORMER:
            raise ValueError("a transformer has no cell states: read its attention weights (encoder.attention_weights)")
        logits, cache = self.forward(ids, lengths)
        a, lengths = cache.a, cache.lengths
        out = stack_states(self.encoder.layers, cache.encoder.caches)
        pooled = self.pooling.prefixes(a, lengths)                            # (T, n_pool, m)
        W, b = self._params["out.Wya"], self._params["out.by"]
        prefix_logits = np.matmul(W, pooled) + b                              # (T, n_y, m)
        out["proba"] = softmax(prefix_logits, axis=1).transpose(1, 0, 2)
        out["final"] = softmax(logits, axis=0)
        out["lengths"] = lengths
        return out
