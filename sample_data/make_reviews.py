"""Write sample_data/reviews.csv: short movie-review sentences whose label depends on word order.

Deterministic (seeded), standard library only: `python sample_data/make_reviews.py`.

The grammar follows the lecture's example. A clause is an adjective, optionally negated
("long", "not long"); its polarity is the adjective's, flipped by "not". Sentences are one clause,
two clauses joined by "and" (same polarity), or two clauses joined by "but" — where the clause
after "but" decides the label. Many "but" sentences come in swapped pairs with the same words:

    the movie was not long but interesting   -> pos
    the movie was long but not interesting   -> neg

so a bag-of-words model cannot tell the pair apart, while a model that reads in order can.
"""

import csv
import random
import sys
from pathlib import Path

SUBJECTS = ["the movie", "the film", "this picture", "the plot", "the acting", "the story",
            "the cast", "the ending", "the script", "the soundtrack", "the sequel", "the director's cut"]
VERBS = ["was", "is", "felt", "seemed", "looked", "turned out"]
POSITIVE = ["interesting", "funny", "moving", "clever", "beautiful", "gripping", "charming",
            "brilliant", "fresh", "smart", "touching", "thrilling"]
NEGATIVE = ["long", "boring", "dull", "predictable", "silly", "clumsy", "tedious", "bland",
            "messy", "slow", "shallow", "forgettable"]
INTENSIFIERS = ["", "", "", "very ", "really ", "quite ", "rather "]


def clause(rng, negate):
    """(words, polarity +1/-1) of an optionally negated adjective."""
    positive = rng.random() < 0.5
    adjective = rng.choice(POSITIVE if positive else NEGATIVE)
    polarity = 1 if positive else -1
    if negate:
        return f"not {adjective}", -polarity
    return rng.choice(INTENSIFIERS) + adjective, polarity


def label(polarity):
    return "pos" if polarity > 0 else "neg"


def make_rows(n_rows=4000, seed=0):
    rng = random.Random(seed)
    rows = []
    while len(rows) < n_rows:
        subject, verb = rng.choice(SUBJECTS), rng.choice(VERBS)
        kind = rng.random()
        if kind < 0.4:  # one clause
            words, pol = clause(rng, rng.random() < 0.25)
            rows.append((f"{subject} {verb} {words}", label(pol)))
        elif kind < 0.65:  # two clauses of the same polarity joined by "and"
            first, pol = clause(rng, rng.random() < 0.3)
            while True:
                second, pol2 = clause(rng, rng.random() < 0.3)
                if pol2 == pol and second != first:
                    break
            rows.append((f"{subject} {verb} {first} and {second}", label(pol)))
        else:  # the swapped "but" pair: the same words, opposite labels
            a = rng.choice(POSITIVE + NEGATIVE)
            b = rng.choice([w for w in (POSITIVE + NEGATIVE) if w != a])
            pol_b = 1 if b in POSITIVE else -1
            # "not a but b" -> decided by b; "a but not b" -> decided by "not b"
            rows.append((f"{subject} {verb} not {a} but {b}", label(pol_b)))
            rows.append((f"{subject} {verb} {a} but not {b}", label(-pol_b)))
    return rows[:n_rows]


def main(path=None):
    path = Path(path or Path(__file__).with_name("reviews.csv"))
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["text", "label"])
        writer.writerows(make_rows())
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main(*sys.argv[1:])
