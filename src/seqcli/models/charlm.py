"""The fitted character language model as the predict / generate path sees it: text in, bits or text out.

``CharLMModel`` holds what a model file of kind "lm" holds:

- the vocabulary: the corpus's Unicode characters, sorted by code point (so encoding a text is one
  ``searchsorted`` over its code points), stored as a uint32 array of code points;
- how often each character occurs in the training text (``counts``): the start distribution when
  there is no newline to start from;
- the network (``nn.lmnet.CharLMNet``);
- a start ``context``: the last few hundred characters of the training text, from a line start to a
  newline. Generation and scoring begin from the state after reading it. Training meets the all-zero
  state only where its streams start (a few dozen times an epoch), so a model started from zeros
  writes nonsense until its state settles; after the context it is where real text puts it: at the
  start of a line;
- the memorisation check: a Bloom filter of the 64-bit hashes of the training text's 8-character
  substrings (``seen.BloomFilter``, about 1.2 bytes an 8-gram; files written before it hold the
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
from seqcli.models.seen import BloomFilter, SortedHashes
from seqcli.nn.lmnet import CharLMNet, Picker, Sampler

NGRAM = 8
MAX_NGRAMS = 1 << 20   # a filter of 1.3 MB at most; tinyshakespeare has 0.56 M distinct 8-grams
_LN2 = math.log(2.0)
_MIX1, _MIX2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_PRIME = np.uint64(0x100000001B3)


def code_points(text):
    """uint32 code points of ``text`` (a lone surrogate, e.g. from a badly encoded argument, is kept
    as its code point, so it shows up as an unknown character instead of an encoding error)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")


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


def ngram_set(text, limit=MAX_NGRAMS):
    """(sorted unique uint64 hashes of the 8-grams of ``text``, keep_bits) with at most ``limit`` kept."""
    h = np.unique(ngram_hashes(code_points(text)))
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
    """Vocabulary of characters + CharLMNet + the set of the training text's 8-gram hashes.

    ngrams: that set (``seen.BloomFilter`` or ``seen.SortedHashes``), or the sorted uint64 hashes
    themselves (a ``SortedHashes`` is made of them), or None (empty)."""

    kind = "lm"

    def __init__(self, chars, net, counts=None, ngrams=None, keep_bits=0, context=""):
        self.chars = list(chars)
        self.cps = code_points("".join(self.chars)).astype(np.uint32)
        if self.cps.size != len(self.chars) or (self.cps.size > 1 and not (np.diff(self.cps.astype(np.int64)) > 0).all()):
            raise ValueError("the vocabulary must be distinct single characters sorted by code point")
        if net.n_vocab != len(self.chars):
            raise ValueError(f"the network has {net.n_vocab} outputs for {len(self.chars)} characters")
        self.net = net
        self.counts = (np.ones(len(self.chars), np.int64) if counts is None
                       else np.asarray(counts, dtype=np.int64))
        if not hasattr(ngrams, "contains"):   # the sorted hashes themselves (or none)
            ngrams = SortedHashes(np.zeros(0, np.uint64) if ngrams is None else ngrams)
        self.ngrams = ngrams
        self.keep_bits = int(keep_bits)
        self.index = {c: i for i, c in enumerate(self.chars)}
        self.newline = self.index.get("\n")
        self.context = context
        self.context_ids = self.encode(context)   # ValueError if it holds an unknown character
        self._sampler = None
        self._primed = {}
        self._primed_extra = {}

    # -- vocabulary ----------------------------------------------------------------------------------

    @classmethod
    def vocabulary(cls, text):
        """(sorted characters of ``text``, count of each) -- the vocabulary a corpus gives."""
        cps, counts = np.unique(code_points(text), return_counts=True)
        return [chr(c) for c in cps], counts

    def encode(self, text, skip_unknown=False):
        """Character ids (int64) of ``text``; unknown characters raise ValueError or are dropped."""
        cps = code_points(text)
        ids = np.searchsorted(self.cps, cps)
        ok = ids < self.cps.size
        ok[ok] = self.cps[ids[ok]] == cps[ok]
        if not ok.all():
            if not skip_unknown:
                raise ValueError(f"characters the model never saw: {describe_chars(self.unknown_chars(text))}")
            ids = ids[ok]
        return ids.astype(np.int64)

    def decode(self, ids):
        return "".join(self.chars[i] for i in ids)

    def unknown_chars(self, text):
        """The distinct characters of ``text`` outside the vocabulary, in order of first appearance."""
        return [c for c in dict.fromkeys(text) if c not in self.index]

    # -- scoring -------------------------------------------------------------------------------------

    def score_lines(self, texts, max_cells=1 << 15):
        """Bits per character of each text (float64 array, one per text), each read on its own.

        A line is read the way it sits in a text: after the start context (which ends with a newline),
        and its own ending newline is predicted too (when the vocabulary has one; without a context
        the first character is only read, not scored). Characters the model never saw are left out (see ``unknown_chars``). A text with
        nothing to predict gets NaN.
        """
        lead, state1 = self.start_state()
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
        """The one-step sampler (built once: it precomputes tables from the weights)."""
        if self._sampler is None:
            self._sampler = Sampler(self.net)
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
        pick = Picker(len(self.chars), temperature, top_k, argmax, rng)
        ids = np.concatenate([self.context_ids, self.encode(prime, skip_unknown)]).astype(np.int64)
        s = self.sampler()   # shared: draw from one sample() generator at a time
        emitted, tail, k = 0, "", 0 if until is None else len(until)
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
            ch = tail = self.chars[j]
            yield ch
            if until == ch:
                return
            logits = s.step(j)
        chars, step = self.chars, s.step
        for _ in range(emitted, length):
            j = pick(logits)
            ch = chars[j]
            yield ch
            if k:
                tail = (tail + ch)[-k:]
                if tail == until:
                    return
            logits = step(j)

    # -- the memorisation check ------------------------------------------------------------------------

    def novelty(self, text, context=""):
        """(checked, novel): how many 8-character substrings of ``context + text`` that end inside
        ``text`` were checked against the training text, and how many of them it does not contain.

        With a subsampled hash set only the 8-grams that pass the same filter are checked. With a
        Bloom filter (every model trained since it came) a novel 8-gram passes for seen at the
        filter's ``false_alarm_rate()`` (about 1%): ``novel`` may be that much short, never over.
        """
        context = context[-(NGRAM - 1):] if context else ""
        h = ngram_hashes(code_points(context + text))   # every one of them ends inside ``text``
        if self.keep_bits:
            h = h[(h & np.uint64((1 << self.keep_bits) - 1)) == 0]
        if h.size == 0:
            return 0, 0
        return int(h.size), int(h.size - np.count_nonzero(self.ngrams.contains(h)))

    # -- persistence -----------------------------------------------------------------------------------

    def to_state(self):
        header = {"net": self.net.config(), "ngrams": {"n": NGRAM, "keep_bits": self.keep_bits},
                  "context": self.context}
        arrays = {f"net.{k}": v for k, v in self.net.params.items()}
        arrays["vocab"] = self.cps.astype(np.uint32)
        arrays["counts"] = self.counts.astype(np.int64)
        if isinstance(self.ngrams, BloomFilter):
            header["ngrams"]["bloom"], arrays["ngram_bloom"] = self.ngrams.to_state()
        else:   # a model read from an older file keeps its sorted hashes
            arrays["ngrams"] = self.ngrams.hashes
        return header, arrays

    @classmethod
    def from_state(cls, header, arrays):
        cps = np.asarray(arrays["vocab"])
        if cps.ndim != 1 or cps.dtype.kind not in "ui" or cps.size == 0:
            raise ValueError("vocabulary is not a list of code points")
        if cps.min() < 0 or cps.max() > 0x10FFFF:
            raise ValueError("vocabulary holds a value that is not a Unicode code point")
        ng = header["ngrams"]
        if not isinstance(ng, dict) or ng.get("n") != NGRAM or not isinstance(ng.get("keep_bits"), int) \
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
        if counts.shape != cps.shape or counts.dtype.kind not in "ui" or (counts.size and counts.min() < 0):
            raise ValueError("character counts do not match the vocabulary")
        net_cfg = header["net"]
        if not isinstance(net_cfg, dict):
            raise ValueError("network config is not a mapping")
        net = CharLMNet.from_config(net_cfg, prefixed(arrays, "net."))
        chars = [chr(int(c)) for c in cps]
        context = header.get("context", "")
        if not isinstance(context, str):
            raise ValueError("start context is not a string")
        return cls(chars, net, counts, ngrams, ng["keep_bits"], context)


def describe_chars(chars, at_most=10):
    """'é' (U+00E9), '\\t' (U+0009), ... for messages (control characters escaped)."""
    shown = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in chars[:at_most])
    if len(chars) > at_most:
        shown += f" and {len(chars) - at_most} more"
    return shown

