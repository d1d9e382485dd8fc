"""Write sample_data/numbers.csv: numbers written in digits and the same numbers in English words, a
small sequence-to-sequence task (read a sequence, write another of a different length).

Deterministic (seeded), standard library only: `python sample_data/make_numbers.py`.

    source,target
    342,three hundred forty two
    7015,seven thousand fifteen

The source is split into characters (digits) and the target at spaces (words), which seqcli finds from
the data. The output is longer than the input and its words depend on digits further on ("thousand"
only when four digits came), so attention has something to line up.
"""

import csv
import random
import sys
from pathlib import Path

ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
        "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def words(n):
    """English words of 0 <= n < 1,000,000 (no "and", no hyphens)."""
    if n < 20:
        return [ONES[n]]
    if n < 100:
        return [TENS[n // 10]] + ([ONES[n % 10]] if n % 10 else [])
    if n < 1000:
        return [ONES[n // 100], "hundred"] + (words(n % 100) if n % 100 else [])
    return words(n // 1000) + ["thousand"] + (words(n % 1000) if n % 1000 else [])


def main(path, n=3000, seed=0):
    rng = random.Random(seed)
    seen = set()
    while len(seen) < n:   # distinct numbers, more of them short
        seen.add(rng.randrange(10 ** rng.choice([1, 2, 3, 3, 4, 4, 5])))
    with open(path, "w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(["source", "target"])
        for k in sorted(seen, key=lambda _: rng.random()):
            out.writerow([str(k), " ".join(words(k))])


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).with_name("numbers.csv"))
