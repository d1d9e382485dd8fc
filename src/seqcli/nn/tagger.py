"""TaggerNet: the numeric sequence tagger, one tag per token (the lecture's aligned many-to-many shape).

    word ids (T_x, m) -> Embedding (embed) ----------------------------.
    chars of the batch's distinct words -> CharCNN / CharLSTM (n_f) --> concat per token (embed + n_f)
        -> the encoder (nn/encoders.py): a stack of recurrent layers (Bidirectional or forward only;
           dropout on each layer's input), or a Transformer encoder (``cell`` "transformer")
        -> dropout -> Dense readout at every real token (ONE product over all of them)
        -> softmax cross-entropy per token, or a linear-chain CRF over each row (``crf=True``)

Word id 0 is padding, 1 the unknown word; char id 0 is padding, 1 an unknown character. A
bidirectional layer gives token t a state that has read the whole row, so a tag can depend on the
words after it ("Teddy bears" / "Teddy Roosevelt"). The character features give a word never seen in
training (id 1) a vector from its spelling, each distinct word of a batch computed once.

The network is numbers in, numbers out: ``make_batch`` builds a ``TagBatch`` from lists of ids;
texts, vocabularies and training loops live elsewhere.

Parameter keys (one flat dict, ``net.params``):

    embed.E                         (embed, n_vocab)
    char.E                          (char_embed, n_chars)                  char features on
    char.Wconv, char.bconv          (char_hidden, char_width char_embed), (char_hidden, 1)   "cnn"
    char.{fw,bw}.{Wax,Waa,ba}       character BiLSTM, char_hidden units per direction           "lstm"
    enc.l{i}.fw.{Wax,Waa,ba}        layer i, forward direction (+ .bc for the GRU)
    enc.l{i}.bw.{Wax,Waa,ba}        layer i, backward direction (bidirectional only)
    enc.*                           a Transformer's instead (nn/transformer.py), width n_top = hidden
    out.Wya, out.by                 (n_tags, n_top), (n_tags, 1);  n_top = hidden (x2 if bidirectional)
    crf.trans, crf.start, crf.end   (n_tags, n_tags), (n_tags, 1), (n_tags, 1)               crf only

Loss: the sum over the real tokens of the batch divided by their number (softmax: the mean per-token
cross-entropy; CRF: the sum of the rows' negative log-likelihoods over the number of tokens, see
nn/crf.py), so both outputs have the same scale; padding is in neither the loss nor any gradient.
"""

from typing import NamedTuple

import numpy as np

from . import charfeat, checks, crf, encoders
from .charfeat import sum_columns_by_index
from .crf import CRF  # the constructor's crf= argument shadows the module name there
from .functional import log_softmax, softmax, softmax_cross_entropy
from .layers import Dense, Embedding, inverted_dropout, length_mask, stack_states
from .tagbatch import TagBatch, make_batch

__all__ = ["TaggerNet", "TagBatch", "make_batch", "CHAR_FEATURES", "ENCODERS"]

CHAR_FEATURES = ("none", "cnn", "lstm")
ENCODERS = encoders.KINDS   # the contextual encoders a tagger can have: the recurrent cells, "transformer"
MAX_WIDTH = 64            # --char-width
MAX_WORD_CHARS = 10**4


class TaggerCache(NamedTuple):
    emb: object              # the word embedding's cache (the ids it read, after word dropout)
    char: object             # the char features' cache (None without them)
    n_u: int                 # number of distinct words (columns of the char features)
    enc: tuple               # the encoder's cache (a recurrent stack's: per-layer caches, dropout masks)
    keep: object             # (N, n_top) dropout mask on the top states, or None
    out: np.ndarray          # (n_top, N) the readout's input (its cache)
    a_shape: tuple           # (T_x, n_top, m)
    t_idx: np.ndarray        # (N,) step of each real token
    m_idx: np.ndarray        # (N,) row of each real token
    word_index: object       # (T_x, m) word type of each token (None without char features)
    lengths: np.ndarray      # (m,)
    real: np.ndarray         # (T_x, m) bool


class TaggerNet(checks.Rebuildable):
    """Word embedding [+ char features] -> recurrent stack -> per-token dense -> softmax or CRF.

    n_vocab, n_chars, n_tags: sizes of the word vocabulary, the character vocabulary (ids 0 and 1
        reserved in both) and the tag set.
    cell: "lstm" (default), "gru" or "rnn"; hidden: units per direction (128); layers: 1;
        bidirectional: True (a tag may depend on the words after it). Or cell "transformer": ``hidden``
        is its width d_model, ``bidirectional`` must be False (it reads the whole sentence anyway), and
        ``transformer`` its own sizes (heads, ff, positions, max_len, activation: encoders.py).
    embed: word embedding size (100).
    char_features: "lstm" (default), "cnn" or "none"; char_embed: character embedding size (30);
        char_hidden: character-LSTM units per direction or CNN filters (50); char_width: CNN window
        (3 characters). On UD English EWT the character BiLSTM tagged unseen words 2-4 points better
        than the CNN at every epoch; the CNN is the faster choice.
    crf: a CRF output layer instead of independent per-token softmaxes (False).
    dropout: inverted dropout on every recurrent layer's input (the embeddings included) and on the
        top states before the readout (0.5, the usual rate for BiLSTM taggers).
    word_dropout: in training, each real token's word id is replaced by <unk> (1) with this
        probability while its characters are kept, so the network learns to tag from spelling the
        words it will meet unseen (0.0: off unless asked).
    max_word_chars: words longer than this keep their first and last characters only (30; None for
        no limit); see ``make_batch``.
    seed: initialisation seed; dtype: float32 (float64 for gradient checks).
    """

    def __init__(self, n_vocab, n_chars, n_tags, cell="lstm", embed=100, hidden=128, layers=1,
                 bidirectional=True, char_features="lstm", char_embed=30, char_hidden=50, char_width=3,
                 crf=False, dropout=0.5, word_dropout=0.0, max_word_chars=30, seed=0, dtype=np.float32,
                 **transformer):
        self.n_vocab, self.n_chars, self.n_tags = int(n_vocab), int(n_chars), int(n_tags)
        self.cell, self.embed, self.hidden, self.layers = str(cell), int(embed), int(hidden), int(layers)
        self.bidirectional = bool(bidirectional)
        self.char_features = "none" if char_features in (None, False) else str(char_features)
        self.char_embed, self.char_hidden = int(char_embed), int(char_hidden)
        self.char_width = int(char_width)
        self.crf, self.dropout, self.word_dropout = bool(crf), float(dropout), float(word_dropout)
        self.max_word_chars = None if max_word_chars is None else int(max_word_chars)
        self.seed, self.dtype = seed, np.dtype(dtype)
        if self.layers < 1:
            raise ValueError("layers must be >= 1")
        if self.char_features not in CHAR_FEATURES:
            raise ValueError(f"unknown char features {char_features!r}; expected one of {CHAR_FEATURES}")
        if self.n_vocab < 2 or (self.char_features != "none" and self.n_chars < 2):
            raise ValueError("the word and character vocabularies hold at least padding and <unk> (2 ids)")

        rng = np.random.default_rng(seed)
        self._params = {}
        P = self._params
        self.embedding = Embedding(P, "embed", self.n_vocab, self.embed, rng, self.dtype)
        # N(0, 1/embed) instead of N(0, 1): word vectors of unit expected norm. On UD English EWT the
        # N(0, 1) table needed 8 epochs for the dev accuracy this reaches in 3: large random vectors
        # drown the character features and the context while they are still being learnt.
        P["embed.E"] *= self.dtype.type(1.0 / np.sqrt(self.embed))
        n_in = self.embed
        self.chars = None
        if self.char_features != "none":
            self.chars = charfeat.make(self.char_features, P, "char", self.n_chars, self.char_embed,
                                       self.char_hidden, self.char_width, rng, self.dtype)
            n_in += self.chars.n_out
        self.transformer = encoders.transformer_config(self.cell, self.hidden, transformer)
        self.encoder = encoders.make_encoder(P, "enc", self.cell, n_in, self.hidden, self.layers, rng, self.dtype,
                                             bidirectional=self.bidirectional, dropout=self.dropout, **self.transformer)
        n_in = self.encoder.n_out
        self.readout = Dense(P, "out", n_in, self.n_tags, rng, self.dtype)
        self.crf_layer = CRF(P, "crf", self.n_tags, self.dtype) if self.crf else None

    # -- parameters and persistence --------------------------------------------------------------

    def n_params(self):
        """The number of scalar parameters."""
        return int(sum(v.size for v in self._params.values()))

    def config(self):
        """JSON-serialisable constructor arguments (everything but dtype)."""
        out = {k: getattr(self, k) for k in self.CONFIG_KEYS}
        out["seed"] = None if self.seed is None else int(self.seed)
        return {**out, **self.transformer}     # nothing more for a recurrent encoder: old files unchanged

    @classmethod
    def from_config(cls, config, params):
        """Rebuild a network from ``config()`` and saved arrays (dtype taken from the arrays). Both come
        from an untrusted file: the config and the arrays' shapes are checked before anything is
        allocated (ValueError on any mismatch)."""
        if not isinstance(config, dict):
            raise ValueError("network config must be a mapping")
        unknown = set(config) - set(cls.CONFIG_KEYS) - set(encoders.TRANSFORMER_DEFAULTS)
        if unknown:
            raise ValueError(f"unknown network settings {sorted(unknown)}")
        return super().from_config(config, params)

    CONFIG_KEYS = ("n_vocab", "n_chars", "n_tags", "cell", "embed", "hidden", "layers", "bidirectional",
                   "char_features", "char_embed", "char_hidden", "char_width", "crf", "dropout",
                   "word_dropout", "max_word_chars", "seed")

    @staticmethod
    def param_shapes(config):
        """The parameter shapes ``config`` implies, computed from checked sizes without allocating."""
        missing = [k for k in TaggerNet.CONFIG_KEYS if k not in config]
        if missing:
            raise ValueError(f"network config lacks {missing}")
        chars = checks.config_choice(config, "char_features", CHAR_FEATURES)
        n_vocab = checks.config_int(config, "n_vocab", 2, checks.MAX_VOCAB)
        n_chars = checks.config_int(config, "n_chars", 0 if chars == "none" else 2, checks.MAX_VOCAB)
        n_tags = checks.config_int(config, "n_tags", 1, checks.MAX_CLASSES)
        embed = checks.config_int(config, "embed", 1, checks.MAX_UNITS)
        hidden = checks.config_int(config, "hidden", 1, checks.MAX_UNITS)
        layers = checks.config_int(config, "layers", 1, checks.MAX_LAYERS)
        cell = checks.config_choice(config, "cell", ENCODERS)
        c_embed = checks.config_int(config, "char_embed", 1, checks.MAX_UNITS)
        c_hidden = checks.config_int(config, "char_hidden", 1, checks.MAX_UNITS)
        width = checks.config_int(config, "char_width", 1, MAX_WIDTH)
        checks.config_dropout(config)
        wd = config["word_dropout"]
        if isinstance(wd, bool) or not isinstance(wd, (int, float)) or not 0.0 <= wd < 1.0:
            raise ValueError(f"network word_dropout must be a number in [0, 1), not {wd!r}")
        for key in ("bidirectional", "crf"):
            if not isinstance(config[key], bool):
                raise ValueError(f"network {key} must be true or false")
        if config["max_word_chars"] is not None:
            checks.config_int(config, "max_word_chars", 1, MAX_WORD_CHARS)
        seed = config["seed"]
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
                                 or seed < 0):
            raise ValueError(f"network seed must be a non-negative integer, not {seed!r}")

        shapes, n_in = {"embed.E": (embed, n_vocab)}, embed
        if chars != "none":
            shapes.update(charfeat.param_shapes(chars, "char", n_chars, c_embed, c_hidden, width))
            n_in += charfeat.n_features(chars, c_hidden)
        transformer = {k: v for k, v in config.items() if k not in TaggerNet.CONFIG_KEYS}
        enc, n_in = encoders.encoder_shapes("enc", cell, n_in, hidden, layers, bidirectional=config["bidirectional"],
                                            **encoders.transformer_config(cell, hidden, transformer))
        shapes.update(enc)
        shapes.update({"out.Wya": (n_tags, n_in), "out.by": (n_tags, 1)})
        if config["crf"]:
            shapes.update({f"crf.{k}": v for k, v in crf.param_shapes(n_tags).items()})
        return shapes

    # -- batches -------------------------------------------------------------------------------------

    def batch(self, word_ids, char_ids=None):
        """``make_batch`` with this network's settings (characters dropped when it has no char features)."""
        return make_batch(word_ids, char_ids if self.chars is not None else None, self.max_word_chars)

    def _inputs(self, batch):
        """Checked arrays of a TagBatch: (ids, lengths, real (T_x, m) bool, word_index)."""
        ids = np.asarray(batch.ids, dtype=np.intp)
        if ids.ndim != 2:
            raise ValueError(f"ids must be (T_x, m), got shape {ids.shape}")
        lengths = np.asarray(batch.lengths, dtype=np.intp).reshape(-1)
        if lengths.shape[0] != ids.shape[1]:
            raise ValueError(f"{lengths.shape[0]} lengths for {ids.shape[1]} rows")
        lengths = np.clip(lengths, 0, ids.shape[0])
        real = length_mask(lengths, ids.shape[0])
        ids = np.where(real, ids, 0)                      # whatever the padding holds, it reads id 0
        if ids.size and (ids.min() < 0 or ids.max() >= self.n_vocab):
            raise ValueError(f"word ids must be in [0, {self.n_vocab})")
        word_index = None
        if self.chars is not None:
            chars = np.asarray(batch.chars, dtype=np.intp)
            n_u = chars.shape[1] if chars.ndim == 2 else -1
            word_index = np.where(real, np.asarray(batch.word_index, dtype=np.intp), 0)
            if chars.ndim != 2 or np.shape(batch.char_lengths) != (n_u,) or word_index.shape != ids.shape:
                raise ValueError("char ids must be (L, n_u) with n_u char lengths and a (T_x, m) word index")
            if chars.size and (chars.min() < 0 or chars.max() >= self.n_chars):
                raise ValueError(f"char ids must be in [0, {self.n_chars})")
            if real.any() and (word_index.min() < 0 or word_index.max() >= n_u):
                raise ValueError(f"word index must be in [0, {n_u})")
        return ids, lengths, real, word_index

    # -- computation -------------------------------------------------------------------------------

    def forward(self, batch, rng=None):
        """TagBatch -> logits (n_tags, N) of the N real tokens in (t, row) order, cache.

        ``rng`` (a np.random.Generator) given: dropout and word dropout are active (training)."""
        ids, lengths, real, word_index = self._inputs(batch)
        T, m = ids.shape
        if rng is not None and self.word_dropout:
            unk = (rng.random((T, m)) < self.word_dropout) & real & (ids > 1)
            ids = np.where(unk, 1, ids)
        xw, c_emb = self.embedding.forward(ids)                            # (T, embed, m)
        c_char, n_u = None, 0
        if self.chars is None:
            x = xw
        else:
            # each distinct word's features once, then gathered to its tokens
            hc, c_char = self.chars.forward(batch.chars, batch.char_lengths)   # (n_f, n_u)
            n_u = hc.shape[1]
            x = np.empty((T, self.embed + hc.shape[0], m), xw.dtype)
            x[:, :self.embed] = xw
            x[:, self.embed:] = hc[:, word_index].transpose(1, 0, 2) if hc.shape[1] else 0.0
        a, c_enc = self.encoder.forward(x, lengths, rng)                   # (T, n_top, m)
        t_idx, m_idx = np.nonzero(real)                                    # the N real tokens
        h = a[t_idx, :, m_idx]                                             # (N, n_top), one gather
        keep = inverted_dropout(h.shape, self.dropout, rng, h.dtype)
        if keep is not None:
            h *= keep
        logits, c_out = self.readout.forward(h.T)                          # (n_tags, N), one product
        return logits, TaggerCache(c_emb, c_char, n_u, c_enc, keep, c_out, a.shape, t_idx, m_idx,
                                   word_index, lengths, real)

    def backward(self, dlogits, cache):
        """dlogits (n_tags, N) -> grads keyed like params, all but the CRF's (``loss`` adds those)."""
        dh, grads = self.readout.backward(dlogits, cache.out)             # (n_top, N)
        if cache.keep is not None:
            dh *= cache.keep.T
        da = np.zeros(cache.a_shape, dh.dtype)                             # padding gets nothing
        da[cache.t_idx, :, cache.m_idx] = dh.T
        dx, g = self.encoder.backward(da, cache.enc)
        grads.update(g)
        grads.update(self.embedding.backward(dx[:, :self.embed], cache.emb, sparse=True)[1])
        if self.chars is not None:
            dxc = dx[cache.t_idx, self.embed:, cache.m_idx]                # (N, n_f) real tokens only
            words = cache.word_index[cache.t_idx, cache.m_idx]
            dhc = sum_columns_by_index(words, dxc.T, cache.n_u)            # summed per word type
            grads.update(self.chars.backward(dhc, cache.char)[1])
        return grads

    def loss(self, batch, tags, rng=None):
        """Mean loss per real token of the gold tags (T_x, m) ints (any value at padding), and its
        gradients keyed like params. ``rng`` given: dropout (and word dropout) on."""
        logits, cache = self.forward(batch, rng)
        lengths, real, t_idx, m_idx = cache.lengths, cache.real, cache.t_idx, cache.m_idx
        tags = np.asarray(tags, dtype=np.intp)
        if tags.shape != real.shape:
            raise ValueError(f"tags must be (T_x, m) = {real.shape}, got {tags.shape}")
        y = tags[t_idx, m_idx]
        if y.size and (y.min() < 0 or y.max() >= self.n_tags):
            raise ValueError(f"tags must be in [0, {self.n_tags})")
        if y.size == 0:
            return 0.0, {k: np.zeros_like(v) for k, v in self._params.items()}
        if self.crf_layer is None:
            loss, dlogits = softmax_cross_entropy(logits, y)
            return loss, self.backward(dlogits, cache)
        e = self._emissions(logits, cache)
        loss, de, g_crf = self.crf_layer.loss(e, tags, lengths)
        grads = self.backward(de[t_idx, :, m_idx].T, cache)
        grads.update(g_crf)
        return loss, grads

    def _emissions(self, logits, cache):
        """logits (n_tags, N) -> (T_x, n_tags, m) with zeros at padding."""
        T, m = cache.real.shape
        e = np.zeros((T, self.n_tags, m), logits.dtype)
        e[cache.t_idx, :, cache.m_idx] = logits.T
        return e

    def outputs(self, logits, cache):
        """(tags (T_x, m), probs (T_x, n_tags, m)), zeros at padding."""
        lengths, real, t_idx, m_idx = cache.lengths, cache.real, cache.t_idx, cache.m_idx
        if self.crf_layer is not None:
            e = self._emissions(logits, cache)
            return self.crf_layer.decode(e, lengths)[0], self.crf_layer.marginals(e, lengths)
        T, m = real.shape
        probs = np.zeros((T, self.n_tags, m), logits.dtype)
        tags = np.zeros((T, m), np.intp)
        if t_idx.size:
            p = softmax(logits, axis=0)
            probs[t_idx, :, m_idx] = p.T
            tags[t_idx, m_idx] = p.argmax(axis=0)
        return tags, probs

    def score(self, batch, tags):
        """(summed loss of the real tokens, predicted tags (T_x, m)) from ONE forward pass without
        dropout and without gradients: what a validation needs. The loss is ``loss``'s times the
        number of real tokens, so sums over batches divide into the mean."""
        logits, cache = self.forward(batch)
        t_idx, m_idx, lengths = cache.t_idx, cache.m_idx, cache.lengths
        y = np.asarray(tags, dtype=np.intp)[t_idx, m_idx]
        pred = np.zeros(cache.real.shape, np.intp)
        if y.size == 0:
            return 0.0, pred
        if self.crf_layer is None:
            logp = log_softmax(logits, axis=0)
            pred[t_idx, m_idx] = logits.argmax(axis=0)
            return -float(logp[y, np.arange(y.size)].sum()), pred
        e = self._emissions(logits, cache)
        p = self.crf_layer.p()
        total = crf.log_partition(e, lengths, p) - crf.sequence_score(e, tags, lengths, p)
        return float(total.sum()), self.crf_layer.decode(e, lengths)[0]

    def predict(self, batch):
        """(tags (T_x, m) ints, probs (T_x, n_tags, m)), no dropout; 0 at padding.

        Softmax: each token's distribution and its argmax. CRF: the marginals P(y_t = k | row) and
        the Viterbi sequence (the best sequence as a whole, which may differ from the per-token argmax
        of the marginals)."""
        logits, cache = self.forward(batch)
        return self.outputs(logits, cache)

    def states(self, batch):
        """Everything a heatmap needs from ONE forward pass (no dropout).

        Returns a dict with
          "enc.l{i}.fw.{field}" / "enc.l{i}.bw.{field}": (T_x, n_a, m), the cell activations of that layer
              and direction, fields gu, gf, go, cc, c, a (lstm) / gu, gr, cc, a (gru) / a (rnn); the
              backward direction's arrays put back in token order (position t = token t), as SeqNet.states.
          "probs": (T_x, n_tags, m) each token's tag distribution, "tags": (T_x, m) (see ``predict``),
          "lengths": (m,).
        """
        if self.cell == encoders.TRANSFORMER:
            raise ValueError("a transformer has no cell states: read its attention weights (encoder.attention_weights)")
        logits, cache = self.forward(batch)
        out = stack_states(self.encoder.layers, cache.enc[0])
        out["tags"], out["probs"] = self.outputs(logits, cache)
        out["lengths"] = cache.lengths
        return out
