"""The sample data in sample_data/ is what its generators write (seeded, standard library only), and
the two new samples show what they are for: the tagging sample needs the words after a name, and the
numbers sample reads as pairs of a character source and a word target."""

import runpy
import subprocess
import sys
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[1] / "sample_data"


@pytest.mark.parametrize("script,data", [("make_reviews.py", "reviews.csv"), ("make_names.py", "names.conll"),
                                         ("make_numbers.py", "numbers.csv")])
def test_each_sample_is_what_its_generator_writes(script, data, tmp_path):
    out = tmp_path / data
    subprocess.run([sys.executable, str(SAMPLES / script), str(out)], check=True)
    assert out.read_bytes() == (SAMPLES / data).read_bytes()


def test_every_first_name_is_also_an_ordinary_word_at_the_start_of_a_sentence():
    """The same capitalised word starts a name and a noun phrase: only the next word tells them apart."""
    sentences = (SAMPLES / "names.conll").read_text(encoding="utf-8").strip().split("\n\n")
    first = {}
    for block in sentences:
        token, tag = block.split("\n")[0].split("\t")
        first.setdefault(token, set()).add(tag)
    names = runpy.run_path(str(SAMPLES / "make_names.py"))["FIRST"]
    assert all(first.get(name) == {"B-PER", "O"} for name in names)


def test_numbers_sample_pairs_digits_with_words():
    from seqcli.data import tables

    table = tables.read_table(str(SAMPLES / "numbers.csv"), "source", "target")
    assert len(table.texts) == 3000 and len(set(table.texts)) == 3000
    words = runpy.run_path(str(SAMPLES / "make_numbers.py"))["words"]
    assert all(" ".join(words(int(s))) == t for s, t in zip(table.texts, table.labels))
