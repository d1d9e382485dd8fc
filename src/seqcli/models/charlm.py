"""The fitted language model as the predict / generate path sees it: text in, bits or text out.

One class for both units: characters, or (``--split word``) words; what differs between them is in
``lmunits`` (``model.units``). ``CharLMModel`` holds what a model file of kind "lm" holds:

- the vocabulary: the corpus's Unicode characters, sorted by code point (so encoding a text is one
  ``searchsorted`` over its code points), stored as a uint32 array of code points; or its words,
  stored as strings, with "split": "word" in the header;
- how often each unit occurs in the training text (``counts``): the start distribution when
  there is no line end to start from;
- the network: recurrent (``nn.lmnet.CharLMNet``) or a causal Transformer
  (``nn.transformerlm.TransformerLMNet``), which keep one interface (scoring, one-step sampler);
- a start ``context``: the last few hundred characters of the training text, from a line start to a
  newline. Generation and scoring begin from the state after reading it. Training meets the all-zero
  state only where its streams start (a few dozen times an epoch), so a model started from zeros
  writes nonsense until its state settles; after the context it is where real text puts it: at the
  start of a line;
- the memorisation check: a Bloom filter of the 64-bit hashes of the training text's 8-character
  substrings, or a word model's 4-word sequences (``seen.BloomFilter``, about 1.2 bytes an 8-gram; files written before it hold the
  sorted hashes, 8 bytes an 8-gram, and are still read). A generated 8-gram the filter does not hold
  is certainly novel; one it holds is "seen", a false alarm for about 1% of novel 8-grams (the
  filter's ``false_alarm_rate()``), so the novel share it reports is at most about 1% low. A big
  corpus keeps only the hashes whose low ``keep_bits`` bits are zero (at most ``MAX_NGRAMS``); the
  same filter is applied to the generated 8-grams, so the novel share is then an estimate from that
  sample.

Imports only numpy and seqcli's light modules.
"""

import math

import numpy as np

from seqcli.models import prefixed
from seqcli.models.lmunits import CharUnits, code_points, describe_chars, units_from_state
from seqcli.models.seen import BloomFilter, SortedHashes
from seqcli.nn.lmnet import CharLMNet, Picker

__all__ = ["CharLMModel", "code_points", "describe_chars", "ngram_hashes", "ngram_set", "start_context"]

NGRAM = 8
MAX_NGRAMS = 1 << 20   # a filter of 1.3 MB at most; tinyshakespeare has 0.56 M distinct 8-grams
_LN2 = math.log(2.0)
_MIX1, _MIX2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_PRIME = np.uint64(0x100000001B3)


def ngram_hashes(cps, n=NGRAM):
    """64-bit hash of every n-character substring of the code points ``cps``: (len - n + 1,) uint64.

    A polynomial over the code points (mod 2**64), then splitmix64's finalizer so the low bits are
    well mixed (the subsampling filter reads them).
    """
    cps = np.asarray(cps, dtype=np.uint64)
    k = cps.size - n + 1
    if k <= 0:
        return np.zeros(0, np.uint64)
    h = np.zeros(k, np.uint64)
    for j in range(n):
        h *= _PRIME
        h += cps[j:j + k]
    h ^= h >> np.uint64(30)
    h *= _MIX1
    h ^= h >> np.uint64(27)
    h *= _MIX2
    h ^= h >> np.uint64(31)
    return h


def ngram_set(text, limit=MAX_NGRAMS, units=None):
    """(sorted unique uint64 hashes of the n-grams of ``text``, keep_bits) with at most ``limit`` kept;
    character 8-grams, or the n-grams of ``units`` (e.g. 4-word sequences)."""
    seq, n = (code_points(text), NGRAM) if units is None else (units.hash_ids("", text), units.ngram)
    h = np.unique(ngram_hashes(seq, n))
    bits = 0
    while h.size > limit:
        bits += 1
        h = h[(h & np.uint64((1 << bits) - 1)) == 0]
    return h, bits


def start_context(text, at_most=256):
    """The last ``at_most`` characters of ``text`` up to its last newline, beginning at a line start
    when that leaves at least a quarter of them (the whole tail when there is no newline)."""
    end = text.rfind("\n") + 1 or len(text)
    tail = text[max(0, end - at_most): end]
    first = tail.find("\n") + 1
    if 0 < first < len(tail) - at_most // 4 and end - at_most > 0:
        tail = tail[first:]
    return tail


class CharLMModel:
    """Vocabulary of units (characters or words) + network (CharLMNet or TransformerLMNet) + the set of
    the training text's n-gram hashes.

    ``chars``: the sorted characters, or a units object of ``lmunits`` (a word vocabulary); ngrams: that
    set (``seen.BloomFilter`` or ``seen.SortedHashes``), or the sorted uint64 hashes themselves (a
    ``SortedHashes`` is made of them), or None (empty)."""

    kind = "lm"

    def __init__(self, chars, net, counts=None, ngrams=None, keep_bits=0, context=""):
        self.units = chars if hasattr(chars, "split") and hasattr(chars, "encode") else CharUnits(chars)
        self.chars = self.units.tokens   # the units, position = id (characters, or words)
        if net.n_vocab != len(self.chars):
            raise ValueError(f"the network has {net.n_vocab} outputs for {len(self.chars)} {self.units.noun}s")
        self.net = net
        self.counts = (np.ones(len(self.chars), np.int64) if counts is None
                       else np.asarray(counts, dtype=np.int64))
        if not hasattr(ngrams, "contains"):   # the sorted hashes themselves (or none)
            ngrams = SortedHashes(np.zeros(0, np.uint64) if ngrams is None else ngrams)
        self.ngrams = ngrams
        self.keep_bits = int(keep_bits)
        self.index = self.units.index
        self.newline = self.units.end   # the id that ends a line ("\n" or <eos>), or None
        self.context = context
        self.context_ids = self.encode(context)   # ValueError if it holds an unknown character
        self._sampler = None
        self._primed = {}
        self._primed_extra = {}

    # -- vocabulary ----------------------------------------------------------------------------------

    @classmethod
    def vocabulary(cls, text):
        """(sorted characters of ``text``, count of each) -- the vocabulary a corpus gives."""
        units, counts = CharUnits.build(text)
        return units.tokens, counts

    def encode(self, text, skip_unknown=False):
        """Unit ids (int64) of ``text``; unknown characters raise ValueError or are dropped (an unknown
        word is <unk>)."""
        return self.units.encode(text, skip_unknown)

    def decode(self, ids):
        """The text of ``ids`` (a character model), or their tokens (a list: a word model)."""
        return self.units.decode(ids)

    def unknown_chars(self, text):
        """The distinct characters of ``text`` outside the vocabulary, in order of first appearance
        (none for a word model: an unknown word is read as <unk>)."""
        return self.units.unknown(text)

    # -- scoring -------------------------------------------------------------------------------------

    def score_lines(self, texts, max_cells=None):
        """Bits per unit (character or word) of each text (float64 array, one per text), each read on its own.

        A line is read the way it sits in a text: after the start context (which ends with a newline),
        and its own ending newline is predicted too (when the vocabulary has one; without a context
        the first character is only read, not scored). Characters the model never saw are left out (see ``unknown_chars``). A text with
        nothing to predict gets NaN.
        """
        lead, state1 = self.start_state()
        if max_cells is None:   # a batch's logits (n_vocab x cells) stay within about 32 MB
            max_cells = min(1 << 15, max(64, (1 << 23) // self.net.n_vocab))
        seqs = []
        for t in texts:
            ids = self.encode(t, skip_unknown=True)
            if self.newline is not None:
                ids = np.concatenate([ids, [self.newline]])
            seqs.append(np.concatenate([lead, ids]).astype(np.int64))
        out = np.full(len(seqs), np.nan)
        lengths = np.array([max(len(q) - 1, 0) for q in seqs], dtype=np.int64)  # predicted characters
        order = np.argsort(lengths, kind="stable")    # similar lengths together: little padding
        i = 0
        while i < len(order):
            j = i + 1   # grow the batch while rows x longest row (the last one) fits in max_cells
            while j < len(order) and j - i < 256 and max(int(lengths[order[j]]), 1) * (j + 1 - i) <= max_cells:
                j += 1
            idx = order[i:j]
            T, m = max(int(lengths[idx[-1]]), 1), len(idx)
            X, Y = np.zeros((T, m), np.int64), np.zeros((T, m), np.int64)
            mask = np.zeros((T, m), np.float64)
            for col, k in enumerate(idx):
                L = lengths[k]
                X[:L, col], Y[:L, col], mask[:L, col] = seqs[k][:-1], seqs[k][1:], 1.0
            state = None if state1 is None else [tuple(np.repeat(v, m, axis=1) for v in layer) for layer in state1]
            nll, _ = self.net.nll(X, Y, state, mask=mask)
            has = lengths[idx] > 0
            out[idx[has]] = nll.sum(axis=0)[has] / lengths[idx[has]] / _LN2
            i = j
        return out

    def start_state(self):
        """(ids read before a line's first character, the state before reading them (None = zeros)).

        With a context: its last character, from the state after the rest of it. Without one: a
        newline from the zero state, when the vocabulary has one; else nothing.
        """
        if len(self.context_ids):
            if "score_start" not in self._primed_extra:
                ids = self.context_ids
                state = None
                if len(ids) > 1:
                    _, state = self.net.nll(ids[:-1, None], ids[1:, None])   # state after ids[:-1]
                self._primed_extra["score_start"] = (ids[-1:], state)
            return self._primed_extra["score_start"]
        if self.newline is not None:
            return np.array([self.newline]), None
        return np.zeros(0, np.int64), None

    # -- sampling ------------------------------------------------------------------------------------

    def weights_changed(self):
        """Forget what was precomputed from the weights (call after changing ``net.params``)."""
        self._sampler = None
        self._primed = {}
        self._primed_extra = {}

    def sampler(self):
        """The network's one-step sampler (built once: it precomputes tables from the weights)."""
        if self._sampler is None:
            self._sampler = self.net.sampler()
        return self._sampler

    def _prime(self, ids):
        """(state, logits) after reading ``ids`` from the zero state; cached per prime."""
        key = ids.tobytes()
        if key not in self._primed:   # keeps the last prime only: -n COUNT reuses it
            s = self.sampler()
            s.set_state(None)
            logits = None
            for j in ids:
                logits = s.step(int(j))
            self._primed = {key: (s.state(), None if logits is None else logits.copy())}
        return self._primed[key]

    def sample(self, prime="", length=500, temperature=1.0, top_k=None, argmax=False, rng=None,
               until=None, skip_unknown=False):
        """Yield up to ``length`` generated characters (str) continuing ``prime``, one at a time.

        The model first reads its start context (then the prime): without a prime it writes as at the
        start of a line. (A model without a context starts after a newline, or, with no newline in its
        vocabulary, draws the first character from the training text's character frequencies.)
        ``temperature`` 0 or ``argmax`` picks the most likely character each time; ``top_k`` samples
        among the k most likely. ``rng``: a numpy Generator (or a seed). ``until``: stop right after
        the generated text ends with this string. Unknown characters in the prime raise ValueError
        unless ``skip_unknown``.
        """
        if temperature < 0 or not math.isfinite(temperature):
            raise ValueError("temperature must be a finite number >= 0")
        rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        pick = Picker(len(self.chars), temperature, top_k, argmax, rng, self.units.never_sampled)
        ids = np.concatenate([self.context_ids, self.encode(prime, skip_unknown)]).astype(np.int64)
        s = self.sampler()   # shared: draw from one sample() generator at a time
        emitted, tail, k = 0, "", 0 if until is None else len(until)
        piece, line_start = self.units.piece, len(ids) == 0 or ids[-1] == self.newline
        if len(ids) == 0 and self.newline is not None:
            ids = np.array([self.newline])
        if len(ids):
            state, logits = self._prime(ids)
            s.set_state(state)
        else:  # no prime and no newline: the first character comes from the unigram frequencies
            s.set_state(None)
            if length <= 0:
                return
            if pick.argmax:
                j = int(self.counts.argmax())
            else:
                j = int(rng.choice(len(self.counts), p=self.counts / self.counts.sum()))
            emitted = 1
            ch = tail = piece(j, True)
            line_start = j == self.newline
            yield ch
            if until == ch:
                return
            logits = s.step(j)
        step, newline = s.step, self.newline
        for _ in range(emitted, length):
            j = pick(logits)
            ch = piece(j, line_start)
            line_start = j == newline
            yield ch
            if k:
                tail = (tail + ch)[-k:]
                if tail == until:
                    return
            logits = step(j)

    # -- the memorisation check ------------------------------------------------------------------------

    def novelty(self, text, context=""):
        """(checked, novel): how many n-grams of ``context + text`` (8 characters, or 4 words) that end
        inside ``text`` were checked against the training text, and how many of them it does not contain.

        With a subsampled hash set only the n-grams that pass the same filter are checked. With a
        Bloom filter (every model trained since it came) a novel n-gram passes for seen at the
        filter's ``false_alarm_rate()`` (about 1%): ``novel`` may be that much short, never over.
        """
        # every one of them ends inside ``text``
        h = ngram_hashes(self.units.hash_ids(context, text), self.units.ngram)
        if self.keep_bits:
            h = h[(h & np.uint64((1 << self.keep_bits) - 1)) == 0]
        if h.size == 0:
            return 0, 0
        return int(h.size), int(h.size - np.count_nonzero(self.ngrams.contains(h)))

    # -- persistence -----------------------------------------------------------------------------------

    def to_state(self):
        unit_header, arrays = self.units.to_arrays()
        header = {"net": self.net.config(), "ngrams": {"n": self.units.ngram, "keep_bits": self.keep_bits},
                  "context": self.context, **unit_header}
        arrays.update({f"net.{k}": v for k, v in self.net.params.items()})
        arrays["counts"] = self.counts.astype(np.int64)
        if isinstance(self.ngrams, BloomFilter):
            header["ngrams"]["bloom"], arrays["ngram_bloom"] = self.ngrams.to_state()
        else:   # a model read from an older file keeps its sorted hashes
            arrays["ngrams"] = self.ngrams.hashes
        return header, arrays

    @classmethod
    def from_state(cls, header, arrays):
        units = units_from_state(header, arrays)
        ng = header["ngrams"]
        if not isinstance(ng, dict) or ng.get("n") != units.ngram or not isinstance(ng.get("keep_bits"), int) \
                or not 0 <= ng["keep_bits"] < 64:
            raise ValueError("unsupported n-gram check settings")
        if "bloom" in ng:
            ngrams = BloomFilter.from_state(ng["bloom"], arrays["ngram_bloom"])
        else:   # files written before the Bloom filter: the sorted hashes
            ngrams = np.asarray(arrays["ngrams"])
            if ngrams.ndim != 1 or ngrams.dtype != np.uint64:
                raise ValueError("n-gram hashes are not a uint64 array")
            ngrams = SortedHashes(ngrams)
        counts = np.asarray(arrays["counts"])
        if counts.shape != (len(units),) or counts.dtype.kind not in "ui" or (counts.size and counts.min() < 0):
            raise ValueError("character counts do not match the vocabulary")
        net_cfg = header["net"]
        if not isinstance(net_cfg, dict):
            raise ValueError("network config is not a mapping")
        net = net_class(net_cfg).from_config(net_cfg, prefixed(arrays, "net."))
        context = header.get("context", "")
        if not isinstance(context, str):
            raise ValueError("start context is not a string")
        return cls(units, net, counts, ngrams, ng["keep_bits"], context)


def net_class(config):
    """The network class of a stored network config: a causal Transformer's says so (its "cell")."""
    if config.get("cell") == "transformer":
        from seqcli.nn.transformerlm import TransformerLMNet

        return TransformerLMNet
    return CharLMNet

