"""Sampling text from a language model (characters or words) for ``seqcli generate``, with the
memorisation check."""

import numpy as np


class Generation:
    """Samples from a language model, unit by unit (``for piece in gen``): characters, or words.

    Iterating yields strings: each sample's prime (when ``echo``), then its units one at a time,
    then a newline when the sample does not end with one. Afterwards ``generated``, ``checked`` and
    ``novel`` hold the counts of the memorisation check (8-character substrings not in the training
    text) and ``first`` the first sample's text (for --explain).
    """

    NOVELTY_CHUNK = 1 << 16   # characters per novelty check (keeps memory flat for any length)

    def __init__(self, lm, prime="", length=500, temperature=1.0, top_k=None, greedy=False, seed=0,
                 until=None, count=1, echo=True, keep_first=0):
        self.lm, self.prime, self.length, self.temperature = lm, prime, length, temperature
        self.top_k, self.greedy, self.seed, self.until = top_k, greedy, seed, until
        self.count, self.echo, self.keep_first = count, echo, keep_first
        self.generated = self.checked = self.novel = 0
        self.first = ""

    def __iter__(self):
        from seqcli.threads import blas_threads

        rng = np.random.default_rng(self.seed)
        with blas_threads(1):   # one small product per character: more threads only add waiting
            for i in range(self.count):
                yield from self._one(rng, keep=i == 0)

    def _one(self, rng, keep):
        lm = self.lm
        if self.echo and self.prime:
            yield self.prime
        last, context, chunk, kept = self.prime[-1:] if self.echo else "", self.prime, [], []
        for ch in lm.sample(self.prime, self.length, self.temperature, self.top_k, self.greedy, rng, self.until):
            yield ch
            chunk.append(ch)
            if keep and len(kept) < self.keep_first:
                kept.append(ch)
            last = ch
            if len(chunk) >= self.NOVELTY_CHUNK:
                context = self._check("".join(chunk), context, len(chunk))
                chunk = []
        if chunk:
            self._check("".join(chunk), context, len(chunk))
        if keep:
            self.first = "".join(kept)
        if last and last != "\n":
            yield "\n"

    def _check(self, text, context, pieces):
        """Check ``text`` (``pieces`` sampled units) after ``context``; returns the next context."""
        c, n = self.lm.novelty(text, context)
        self.checked, self.novel, self.generated = self.checked + c, self.novel + n, self.generated + pieces
        return (context + text)[-256:]   # enough to hold the last n-1 units of either kind

    def note(self):
        """'500 characters (seed 7); novel 8-grams: 96.2% (481 of 500 not in the training text; the check
        takes about 1.0% of novel ones for seen)': the last part for a Bloom filter (see models/seen.py)."""
        samples = f" in {self.count} samples" if self.count > 1 else ""
        how = "argmax" if self.greedy else f"seed {self.seed}"
        units = self.lm.units
        head = f"{self.generated:,} {units.noun}s{samples} ({how})"
        if self.checked == 0:
            return f"{head}; too short for the novelty check (it compares {units.ngram}-{units.noun} sequences)"
        sampled = f", estimated from a 1/{2 ** self.lm.keep_bits} sample" if self.lm.keep_bits else ""
        rate = self.lm.ngrams.false_alarm_rate()   # a Bloom filter's: a novel n-gram may pass for seen
        alarms = f"; the check takes about {100 * rate:.1f}% of novel ones for seen" if rate >= 5e-4 else ""
        return (f"{head}; novel {units.ngram}-grams: {100.0 * self.novel / self.checked:.1f}% "
                f"({self.novel:,} of {self.checked:,} not in the training text{sampled}{alarms})")
