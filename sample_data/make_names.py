"""Write sample_data/names.conll: sentences tagged with people's names (BIO tags), where a word is a name
or not depending on the words AFTER it -- the lecture's "Teddy bears are on sale" / "Teddy Roosevelt
was a president".

Deterministic (seeded), standard library only: `python sample_data/make_names.py`.

Two columns per line (token, tag), a blank line between sentences, CoNLL style. Tags: B-PER / I-PER
for a person's first and last name, O for the rest. Every first name also occurs as an ordinary noun
("teddy bears", "rose bushes", "bill payments"), written with the same capital at the start of a
sentence, so the word alone -- and the words before it -- cannot decide: only what follows can. A
left-to-right tagger guesses at the first word of such a sentence; a bidirectional one reads ahead.
"""

import random
import sys
from pathlib import Path

# first name -> the noun phrase it also starts ("Teddy" bears)
FIRST = {"Teddy": "bears", "Rose": "bushes", "Bill": "payments", "Mark": "sheets", "Jack": "rabbits",
         "Grace": "notes", "Hope": "chests", "Frank": "letters", "Art": "galleries", "Bob": "sleds"}
LAST = ["Roosevelt", "Parker", "Lindqvist", "Okafor", "Moreau", "Tanaka", "Novak", "Alvarez", "Brennan",
        "Kowalski", "Haddad", "Fischer"]
PERSON_TAILS = [["was", "a", "president"], ["wrote", "the", "report"], ["is", "on", "the", "phone"],
                ["lives", "in", "Leeds"], ["sold", "the", "house"], ["won", "the", "race"],
                ["arrived", "late"], ["called", "yesterday"]]
THING_TAILS = [["are", "on", "sale"], ["were", "delivered", "today"], ["cost", "too", "much"],
               ["are", "in", "the", "garden"], ["need", "cleaning"], ["arrived", "late"],
               ["were", "sold", "out"], ["look", "new"]]
OPENERS = [[], [], ["Yesterday", ","], ["I", "think"], ["Apparently"]]


def sentence(rng):
    """(tokens, tags) of one sentence: a person or a thing, then a tail."""
    first = rng.choice(list(FIRST))
    opener = rng.choice(OPENERS)
    if rng.random() < 0.5:   # a person: First Last ...
        body, tags = [first, rng.choice(LAST)], ["B-PER", "I-PER"]
        tail = rng.choice(PERSON_TAILS)
    else:                    # a thing: First noun ... (the first name as an ordinary word)
        body, tags = [first, FIRST[first]], ["O", "O"]
        tail = rng.choice(THING_TAILS)
    if opener and opener != ["Yesterday", ","]:   # mid-sentence the noun is lower case, the name is not
        body[0] = body[0] if tags[0] == "B-PER" else body[0].lower()
    tokens = opener + body + tail + ["."]
    return tokens, ["O"] * len(opener) + tags + ["O"] * (len(tail) + 1)


def main(path, n=1500, seed=0):
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for _ in range(n):
            tokens, tags = sentence(rng)
            f.writelines(f"{t}\t{g}\n" for t, g in zip(tokens, tags))
            f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).with_name("names.conll"))
