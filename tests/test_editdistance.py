"""Edit distance against hand-computed cases and the textbook recursion; the task's figures against
several references."""

import random
from functools import lru_cache

import numpy as np
import pytest

from seqcli.metrics.editdistance import distances, levenshtein, score


def brute(a, b):
    """The definition, recursively: drop a's first token, b's first token, or both (cost 0 if equal)."""
    @lru_cache(maxsize=None)
    def d(i, j):
        if i == len(a):
            return len(b) - j
        if j == len(b):
            return len(a) - i
        return min(d(i + 1, j) + 1, d(i, j + 1) + 1, d(i + 1, j + 1) + (a[i] != b[j]))
    return d(0, 0)


@pytest.mark.parametrize("a,b,d", [
    ("kitten", "sitting", 3), ("flaw", "lawn", 2), ("", "", 0), ("abc", "", 3), ("", "ab", 2),
    ("abc", "abc", 0), ("abc", "cba", 2), ("intention", "execution", 5),
    (["K", "AE", "T"], ["K", "AH", "T", "S"], 2),            # phonemes: one substitution, one insertion
    (["AH"], ["A", "H"], 2),                                 # tokens, not characters
    ([1, 2, 3], [1, 3], 1),
])
def test_hand_computed(a, b, d):
    assert levenshtein(a, b) == d == levenshtein(b, a)


def test_batched_against_the_recursion():
    rng = random.Random(0)
    A = ["".join(rng.choice("abc") for _ in range(rng.randint(0, 7))) for _ in range(400)]
    B = ["".join(rng.choice("abcd") for _ in range(rng.randint(0, 7))) for _ in range(400)]
    got = distances(A, B)
    assert got.dtype.kind == "i" and got.shape == (400,)
    assert got.tolist() == [brute(a, b) for a, b in zip(A, B)]
    assert distances(B, A).tolist() == got.tolist()
    assert distances([], []).shape == (0,)
    with pytest.raises(ValueError):
        distances(["a"], [])


def test_scores_against_several_references():
    preds = [["K", "AE", "T"], ["T", "AH"], ["R", "IY", "D"], []]
    refs = [
        [["K", "AE", "T"]],                                    # exact
        [["T", "AH", "M", "EY", "T", "OW"], ["T", "AH", "M", "AA", "T", "OW"]],   # both 4 away: tie
        [["R", "EH", "D"], ["R", "IY", "D"]],                  # the second reference matches
        [["AY"]],                                              # nothing predicted: one deletion
    ]
    s = score(preds, refs)
    assert s.n == 4 and s.exact == 0.5 and s.wer == 0.5
    assert s.distance.tolist() == [0, 4, 0, 1] and s.closest.tolist() == [0, 0, 1, 0]
    assert s.edits == 5 and s.ref_tokens == 3 + 6 + 3 + 1
    assert s.error_rate == pytest.approx(5 / 13)


def test_the_closest_reference_is_the_least_distant_then_the_longest():
    s = score(["abcd"], [["abxd", "abcdef"]])          # 1 edit against 4 tokens beats 2 against 6
    assert (s.distance[0], s.closest[0], s.ref_tokens) == (1, 0, 4)
    s = score(["x"], [["yy", "xyz"]])                   # both 2 away: the longer one, 3 tokens
    assert (s.distance[0], s.closest[0], s.ref_tokens) == (2, 1, 3)


def test_edge_cases():
    s = score([], [])
    assert (s.n, s.exact, s.error_rate, s.edits) == (0, 0.0, 0.0, 0)
    s = score([""], [[""]])                             # empty against empty: right, no tokens, no NaN
    assert s.exact == 1.0 and s.error_rate == 0.0
    s = score(["ab"], [[""]])
    assert s.exact == 0.0 and s.edits == 2 and np.isfinite(s.error_rate)
    with pytest.raises(ValueError, match="reference"):
        score(["a"], [[]])
    with pytest.raises(ValueError):
        score(["a", "b"], [["a"]])


def test_thousands_of_pairs_are_quick():
    """A validation set's worth (6,000 words, two references for a third of them) in well under a second
    of numpy work: the programme runs over positions, not pairs."""
    import time
    rng = np.random.default_rng(1)
    phones = [f"P{i}" for i in range(40)]
    preds = [list(rng.choice(phones, rng.integers(3, 12))) for _ in range(6000)]
    refs = [[list(rng.choice(phones, rng.integers(3, 12))) for _ in range(1 + (i % 3 == 0))] for i in range(6000)]
    t0 = time.process_time()
    s = score(preds, refs)
    assert time.process_time() - t0 < 2.0
    assert s.n == 6000 and 0 < s.error_rate
    check = [min(brute(p, r) for r in rs) for p, rs in zip(preds[:50], refs[:50])]
    assert s.distance[:50].tolist() == check
