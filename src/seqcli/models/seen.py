"""Sets of 64-bit n-gram hashes for the language model's memorisation check: "was this n-gram in the
training text?", asked of many hashes at once (numpy only).

- ``BloomFilter``: what seqcli writes. ``m`` bits and ``k`` probes per hash, ``m`` chosen for a false
  alarm rate (``RATE``, 1%) at the number of hashes it holds: about 9.6 bits a hash instead of the 64
  of a sorted list (tinyshakespeare's 0.56 M distinct 8-grams: 0.67 MB instead of 4.5 MB). An absent
  answer is certain; a present one is a false alarm for about 1% of the hashes that are not in it.
- ``SortedHashes``: the sorted hashes themselves (no false alarm worth the name), as model files
  written before the filter (seqcli 0.1) hold them; still read.

Both answer ``contains(h)`` for a (N,) uint64 array with a (N,) bool array, and say their
``false_alarm_rate()``.
"""

import math

import numpy as np

RATE = 0.01                 # the false alarm rate a new filter is sized for
MAX_PROBES = 32             # bound on k read from a file (the optimum for 1% is 7)
_MIX1, _MIX2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_SALT1, _SALT2 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xD6E8FEB86659FD93)


def _mix(h):
    """splitmix64's finalizer of a (N,) uint64 array (a new array)."""
    h = h ^ (h >> np.uint64(30))
    h *= _MIX1
    h ^= h >> np.uint64(27)
    h *= _MIX2
    h ^= h >> np.uint64(31)
    return h


class BloomFilter:
    """A Bloom filter over 64-bit hashes.

    bits   (m // 8,) uint8: bit j of the filter is bit j % 8 (least significant first) of byte j // 8
    m      number of bits, a multiple of 64
    k      probes per hash: positions (a + i b) mod m, i < k, with a and b two remixes of the hash
           (double hashing; remixed because a subsampled set holds only hashes with low bits zero)
    count  how many distinct hashes were put in
    """

    def __init__(self, bits, m, k, count):
        self.bits, self.m, self.k, self.count = bits, int(m), int(k), int(count)

    @classmethod
    def build(cls, hashes, rate=RATE):
        """The filter of the distinct uint64 ``hashes`` (N,), sized for false alarm rate ``rate``:
        m = n ln(1/rate) / ln(2)^2 bits, k = (m / n) ln 2 probes (the optimum)."""
        hashes = np.unique(np.asarray(hashes, dtype=np.uint64))
        n = hashes.size
        m = max(64, -(-math.ceil(n * math.log(1.0 / rate) / math.log(2.0) ** 2) // 64) * 64)
        k = max(1, min(MAX_PROBES, round(m / max(n, 1) * math.log(2.0))))
        flags = np.zeros(m, bool)
        filt = cls(None, m, k, n)
        for pos in filt._probes(hashes):
            flags[pos] = True
        filt.bits = np.packbits(flags, bitorder="little")
        return filt

    def _probes(self, h):
        """The k positions (each (N,) uint64) of the hashes ``h``, one probe at a time."""
        m = np.uint64(self.m)
        a, b = _mix(h ^ _SALT1) % m, _mix(h ^ _SALT2) % m
        for _ in range(self.k):
            yield a
            a = a + b
            a[a >= m] -= m

    def contains(self, h):
        """(N,) bool: whether each hash of ``h`` (N,) uint64 may have been put in (False: surely not)."""
        h = np.asarray(h, dtype=np.uint64)
        found = np.ones(h.size, bool)
        for pos in self._probes(h):
            found &= ((self.bits[pos >> np.uint64(3)] >> (pos & np.uint64(7)).astype(np.uint8)) & 1).astype(bool)
        return found

    def false_alarm_rate(self):
        """The share of absent hashes this filter takes for present: (share of bits set) ** k."""
        ones = int(np.unpackbits(self.bits).sum())
        return (ones / self.m) ** self.k

    def to_state(self):
        """(header dict, the bits array) for a model file."""
        return {"bits": self.m, "probes": self.k, "count": self.count}, self.bits

    @classmethod
    def from_state(cls, header, bits):
        """The filter stored by ``to_state``; ValueError when the stored values do not fit together."""
        if not isinstance(header, dict):
            raise ValueError("n-gram filter settings are not a mapping")
        m, k, count = header.get("bits"), header.get("probes"), header.get("count")
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (m, k, count)) \
                or m < 64 or m % 64 or not 1 <= k <= MAX_PROBES or count < 0:
            raise ValueError("unsupported n-gram filter settings")
        bits = np.asarray(bits)
        if bits.dtype != np.uint8 or bits.shape != (m // 8,):
            raise ValueError(f"n-gram filter is not {m // 8} bytes of uint8")
        return cls(bits, m, k, count)


class SortedHashes:
    """The sorted distinct uint64 hashes themselves (model files written before the filter)."""

    def __init__(self, hashes):
        self.hashes = np.sort(np.asarray(hashes, dtype=np.uint64))
        self.count = self.hashes.size

    def contains(self, h):
        """(N,) bool: whether each hash of ``h`` (N,) uint64 is in the list."""
        h = np.asarray(h, dtype=np.uint64)
        if self.hashes.size == 0:
            return np.zeros(h.size, bool)
        pos = np.searchsorted(self.hashes, h)
        pos[pos >= self.hashes.size] = 0
        return self.hashes[pos] == h

    def false_alarm_rate(self):
        """Two different 8-grams with one 64-bit hash: count / 2**64, nil in practice."""
        return self.count / 2.0 ** 64
