"""Character-level word features: a vector per word computed from its spelling.

A word embedding knows nothing of a word never seen in training (it is <unk>), but its letters often
give its tag away: "-ly" adverbs, "-ing" verbs, capitals for names, digits for numbers. These layers
read the characters of each word and return one feature vector per word, which the tagger
concatenates to the word's embedding.

Input: the DISTINCT words of a batch (each word type is computed once however often it occurs),
as character ids ``ids`` (L, n_u) ints, column u holding word u's characters at rows
``t < lengths[u]`` and padding after; ``lengths`` (n_u,). Char id 0 is padding, 1 unknown.
Output: ``h`` (n_feat, n_u), one column per word. A word of length 0 gets zeros.

Two kinds, same interface (``forward(ids, lengths) -> (h, cache)``, ``backward(dh, cache) ->
(None, grads)``, ``n_out``):

``CharCNN`` ("cnn", parameters ``{name}.E`` (n_c, n_chars), ``{name}.edge`` (n_c, 1),
``{name}.Wconv`` (F, w n_c), ``{name}.bconv`` (F, 1)): each character becomes an embedding x<t> (n_c,);
filter f looks at a window of w characters around t, [x<t-l>; ...; x<t+r>] with l = (w-1)//2,
r = w-1-l, where a position outside the word reads the learnt ``edge`` vector (a boundary character:
a filter can then match a suffix "-ly" followed by the word's end, or a capital at its start), and
the feature is the largest response over the word's real characters:

    h[f] = act(max_{t < len} Wconv[f] . window<t> + bconv[f]),    act = tanh or relu

Column k*n_c + c of Wconv weighs component c of the character at window offset k. The windows of all
positions of all words are laid out once as columns of one (w n_c, L n_u) matrix (im2col), so the
whole convolution is ONE product. As act is monotone, act(max z) = max act(z): the max is taken first
and act runs on (F, n_u) only.

``CharLSTM`` ("lstm", parameters ``{name}.E``, ``{name}.fw.*``, ``{name}.bw.*`` as nn.layers.Recurrent):
a bidirectional recurrent layer over each word's characters (nn.layers.Bidirectional, so the
backward direction starts at each word's true end); the feature is [final forward state; final
backward state] (2 n_a,), the forward state after the last character and the backward one after
reading back to the first (nn.layers.Pool "last" with the split).

Padding characters (any id, any number of them) change no output and no gradient: the CNN reads the
edge vector at every padded position, whatever its id, and takes its max over real positions only;
the recurrent cells carry their state over padded steps and return no gradient there.
"""

from typing import NamedTuple

import numpy as np

from . import cells, checks
from .layers import Bidirectional, Embedding, Pool, Recurrent, length_mask

KINDS = ("cnn", "lstm")
ACTIVATIONS = ("tanh", "relu")


def sum_columns_by_index(index, values, n_out):
    """out[:, j] = sum of the columns values[:, k] with index[k] == j.

    index (N,) ints in [0, n_out), values (n, N) -> out (n, n_out). One sort and one reduceat: the
    scatter-add of many columns into few, without a Python loop or np.add.at's per-element cost.
    """
    out = np.zeros((values.shape[0], n_out), values.dtype)
    if index.size:
        order = np.argsort(index, kind="stable")
        sorted_idx = index[order]
        starts = np.flatnonzero(np.r_[True, sorted_idx[1:] != sorted_idx[:-1]])
        out[:, sorted_idx[starts]] = np.add.reduceat(values[:, order], starts, axis=1)
    return out


class CNNCache(NamedTuple):
    ids: np.ndarray      # (L, n_u) char ids
    mask: np.ndarray     # (L, n_u) bool, True at real characters
    cols: np.ndarray     # (w n_c, L n_u) the im2col window matrix
    arg: np.ndarray      # (F, n_u) position of each filter's max in each word
    u: np.ndarray        # (F, n_u) max response + bias (before the activation)
    h: np.ndarray        # (F, n_u) output
    has: np.ndarray      # (n_u,) bool, word has at least one character


class CharCNN:
    """Char embedding -> convolution of width w with F filters -> max over each word's characters -> act.

    See the module docstring. ``n_out`` = F.
    """

    kind = "cnn"

    def __init__(self, params, name, n_chars, n_c, n_filters, width, rng, dtype=np.float32,
                 activation="tanh"):
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; expected one of {ACTIVATIONS}")
        if width < 1:
            raise ValueError("width must be >= 1")
        self.params, self.name = params, name
        self.n_c, self.width, self.activation = int(n_c), int(width), activation
        self.kE, self.kW, self.kb = f"{name}.E", f"{name}.Wconv", f"{name}.bconv"
        self.kedge = f"{name}.edge"
        E = rng.standard_normal((self.n_c, n_chars)).astype(dtype)
        E[:, 0] = 0.0                                  # as nn.layers.Embedding (never read here)
        params[self.kE] = E
        params[self.kedge] = rng.standard_normal((self.n_c, 1)).astype(dtype)  # a character-like vector
        fan_in = self.width * self.n_c
        bound = 1.0 / np.sqrt(fan_in)                  # unit-variance inputs give responses of variance 1/3
        params[self.kW] = rng.uniform(-bound, bound, (n_filters, fan_in)).astype(dtype)
        params[self.kb] = np.zeros((n_filters, 1), dtype)
        self.n_out = int(n_filters)

    def _shifts(self, L):
        """(k, dst slice, src slice) per window offset k: cols block k at position t reads char t+k-l."""
        left = (self.width - 1) // 2
        for k in range(self.width):
            s = k - left
            lo, hi = max(0, -s), min(L, L - s)
            if lo < hi:
                yield k, slice(lo, hi), slice(lo + s, hi + s)

    def forward(self, ids, lengths):
        """ids (L, n_u) char ids, lengths (n_u,) -> h (F, n_u), CNNCache."""
        ids, lengths = checks.ids_and_lengths(ids, lengths, "char")
        L, n = ids.shape
        E, W, b, edge = (self.params[k] for k in (self.kE, self.kW, self.kb, self.kedge))
        F, n_c, dtype = W.shape[0], self.n_c, W.dtype
        mask = length_mask(lengths, L)
        x = E[:, ids]                                  # (n_c, L, n_u) one gather
        np.copyto(x, edge[:, :, None], where=~mask)    # past the end: the edge vector, whatever the id
        cols = np.empty((self.width, n_c, L, n), dtype)
        cols[:] = edge[None, :, :, None]               # before the start (and past the array): the edge
        for k, dst, src in self._shifts(L):
            cols[k, :, dst] = x[:, src]
        cols = cols.reshape(self.width * n_c, L * n)
        z = (W @ cols).reshape(F, L, n)                # every filter at every position: one product
        has = lengths > 0
        if L:
            z[:, ~mask] = -np.inf                      # the max runs over real characters only
            arg = z.argmax(axis=1)                     # (F, n_u)
            u = np.take_along_axis(z, arg[:, None, :], axis=1)[:, 0, :]
        else:
            arg = np.zeros((F, n), np.intp)
            u = np.zeros((F, n), dtype)
        u = np.where(has, u, 0.0).astype(dtype)       # empty words: no -inf, and zeros out below
        u += b
        h = np.tanh(u) if self.activation == "tanh" else np.maximum(u, 0.0)
        h *= has
        return h, CNNCache(ids, mask, cols, arg, u, h, has)

    def backward(self, dh, cache):
        """dh (F, n_u) -> (None, grads of E, edge, Wconv, bconv)."""
        ids, mask, cols, arg, u, h, has = cache
        E, W = self.params[self.kE], self.params[self.kW]
        F, n_c = W.shape[0], self.n_c
        L, n = ids.shape
        if self.activation == "tanh":
            du = dh * (1.0 - h * h)
        else:
            du = dh * (u > 0)
        du *= has
        dz = np.zeros((F, L, n), W.dtype)
        if L:
            np.put_along_axis(dz, arg[:, None, :], du[:, None, :], axis=1)  # to each max's position
        dz = dz.reshape(F, L * n)
        grads = {self.kW: dz @ cols.T, self.kb: du.sum(axis=1, keepdims=True)}
        dcols = (W.T @ dz).reshape(self.width, n_c, L, n)
        dx = np.zeros((n_c, L, n), W.dtype)
        for k, dst, src in self._shifts(L):
            dx[:, src] += dcols[k, :, dst]
        dx *= mask                                     # padded positions read the edge, not E
        grads[self.kE] = sum_columns_by_index(ids.ravel(), dx.reshape(n_c, L * n), E.shape[1])
        # every window slot that did not read a real character read the edge vector
        grads[self.kedge] = (dcols.sum(axis=(0, 2, 3)) - dx.sum(axis=(1, 2)))[:, None]
        return None, grads


class CharLSTM:
    """Char embedding -> bidirectional recurrent layer over each word -> [final fw; final bw] (2 n_a,).

    See the module docstring. ``cell`` is any nn.cells kind; ``n_out`` = 2 n_a.
    """

    kind = "lstm"

    def __init__(self, params, name, n_chars, n_c, n_a, rng, dtype=np.float32, cell="lstm"):
        self.embedding = Embedding(params, name, n_chars, n_c, rng, dtype)   # key {name}.E
        self.rnn = Bidirectional(Recurrent(params, f"{name}.fw", cell, n_c, n_a, rng, dtype),
                                 Recurrent(params, f"{name}.bw", cell, n_c, n_a, rng, dtype))
        self.pool = Pool("last", split=n_a)
        self.n_out = 2 * int(n_a)

    def forward(self, ids, lengths):
        """ids (L, n_u) char ids, lengths (n_u,) -> h (2 n_a, n_u), cache."""
        ids, lengths = checks.ids_and_lengths(ids, lengths, "char")
        x, c_emb = self.embedding.forward(ids)          # (L, n_c, n_u)
        a, c_rnn = self.rnn.forward(x, lengths)         # (L, 2 n_a, n_u)
        h, c_pool = self.pool.forward(a, lengths)
        return h, (c_emb, c_rnn, c_pool)

    def backward(self, dh, cache):
        """dh (2 n_a, n_u) -> (None, grads of the embedding and both directions)."""
        c_emb, c_rnn, c_pool = cache
        dx, grads = self.rnn.backward(self.pool.backward(dh, c_pool), c_rnn)
        grads.update(self.embedding.backward(dx, c_emb)[1])
        return None, grads


def n_features(kind, hidden):
    """Output size: F = hidden filters for "cnn", 2 hidden for "lstm"."""
    return int(hidden) if kind == "cnn" else 2 * int(hidden)


def param_shapes(kind, name, n_chars, embed, hidden, width):
    """The parameter shapes of ``make(...)`` with these sizes, computed without allocating."""
    shapes = {f"{name}.E": (embed, n_chars)}
    if kind == "cnn":
        shapes.update({f"{name}.edge": (embed, 1), f"{name}.Wconv": (hidden, width * embed),
                       f"{name}.bconv": (hidden, 1)})
    else:
        for d in ("fw", "bw"):
            cell = cells.param_shapes("lstm", embed, hidden)
            shapes.update({f"{name}.{d}.{k}": s for k, s in cell.items()})
    return shapes


def make(kind, params, name, n_chars, embed, hidden, width, rng, dtype=np.float32):
    """A CharCNN (tanh, ``hidden`` filters of ``width``) or a CharLSTM (``hidden`` units per direction)."""
    if kind == "cnn":
        return CharCNN(params, name, n_chars, embed, hidden, width, rng, dtype)
    if kind == "lstm":
        return CharLSTM(params, name, n_chars, embed, hidden, rng, dtype)
    raise ValueError(f"unknown char features {kind!r}; expected one of {KINDS}")
