"""The language model's memorisation check keeps a Bloom filter of the training text's 8-gram hashes
instead of the sorted hashes (issue 16, item 13): about 1.2 bytes an 8-gram instead of 8, never a
miss, about 1% false alarms (said in generate's note), the same bytes for the same run, and model
files that hold the sorted hashes still load and check as before."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import run_seqcli
from lmtrain import train_lm

from seqcli import models
from seqcli.models.charlm import ngram_hashes, ngram_set
from seqcli.models.seen import BloomFilter, SortedHashes
from seqcli.persist import HEADER_KEY

FIX = Path(__file__).parent / "fixtures" / "v0.1.0"


def _random_hashes(n, seed):
    return np.random.default_rng(seed).integers(0, 2**63, size=n, dtype=np.int64).astype(np.uint64) * np.uint64(2)


@pytest.mark.parametrize("low_zero_bits", [0, 6])
def test_bloom_filter_never_misses_and_false_alarms_at_about_one_percent(low_zero_bits):
    inside = _random_hashes(20000, 1) << np.uint64(low_zero_bits)   # a subsampled set: low bits all zero
    outside = _random_hashes(50000, 2) << np.uint64(low_zero_bits)
    outside = outside[~np.isin(outside, inside)]
    filt = BloomFilter.build(inside)
    assert filt.contains(inside).all()
    rate = filt.contains(outside).mean()
    assert 0.005 < rate < 0.016, rate
    assert abs(filt.false_alarm_rate() - 0.01) < 0.002
    assert filt.bits.dtype == np.uint8 and filt.bits.nbytes <= 1.25 * inside.size   # ~9.6 bits a hash
    assert filt.k == 7


def test_bloom_filter_is_the_same_for_the_same_hashes_in_any_order():
    h = _random_hashes(5000, 3)
    a, b = BloomFilter.build(h), BloomFilter.build(np.random.default_rng(0).permutation(np.concatenate([h, h])))
    assert (a.m, a.k, a.count) == (b.m, b.k, b.count) and a.bits.tobytes() == b.bits.tobytes()
    empty = BloomFilter.build(np.zeros(0, np.uint64))
    assert not empty.contains(h).any() and empty.false_alarm_rate() == 0.0


def test_filter_and_sorted_hashes_agree_up_to_false_alarms():
    text = "".join(chr(97 + i) for i in np.random.default_rng(5).integers(0, 6, 30000))
    hashes, _ = ngram_set(text)
    other = ngram_hashes(np.random.default_rng(6).integers(97, 103, 20000).astype(np.uint32))
    exact, bloom = SortedHashes(hashes).contains(other), BloomFilter.build(hashes).contains(other)
    assert (bloom | ~exact).all()                       # whatever the exact set holds, the filter holds
    novel_exact, novel_bloom = (~exact).sum(), (~bloom).sum()
    assert novel_exact > 1000 and 0 <= novel_exact - novel_bloom <= 0.02 * novel_exact


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp("bloom")
    corpus = d / "tiny.txt"
    shutil.copy(FIX / "tiny.txt", corpus)
    out = d / "lm.npz"
    train_lm(corpus, out, dict(hidden=8, embed=4, seq_len=20, batch_size=8, epochs=1))
    return corpus, out


def test_a_new_model_file_holds_a_small_filter_and_finds_its_training_text(trained):
    corpus, out = trained
    with np.load(out, allow_pickle=False) as z:
        assert "ngrams" not in z.files and z["ngram_bloom"].dtype == np.uint8
        header = json.loads(str(z[HEADER_KEY]))
        n_bytes = z["ngram_bloom"].nbytes
    bloom = header["ngrams"]["bloom"]
    assert bloom["bits"] == 8 * n_bytes and bloom["probes"] == 7
    assert n_bytes <= 1.25 * bloom["count"] + 8            # against 8 bytes a hash before
    model = models.load(out)
    text = corpus.read_text(encoding="utf-8")[:2000]   # inside the training part (the first 90%)
    assert model.novelty(text) == (len(text) - 7, 0)


def test_generate_says_a_seen_8gram_may_be_a_false_alarm(trained):
    _, out = trained
    rc, _, err = run_seqcli(["generate", out, "--length", "200", "--seed", "1"])
    assert rc == 0, err
    assert "novel 8-grams:" in err and "the check takes about 1.0% of novel ones for seen" in err


def test_old_model_file_keeps_its_sorted_hashes(tmp_path):
    old = models.load(FIX / "lm.npz")
    assert isinstance(old.ngrams, SortedHashes) and old.ngrams.count > 2000
    text = (FIX / "tiny.txt").read_text(encoding="utf-8")[:2000]
    assert old.novelty(text) == (len(text) - 7, 0)
    assert old.novelty("zqzqzqzqzqzqzq") == (7, 7)
    models.save(tmp_path / "again.npz", old)          # re-saved: still the same hashes
    with np.load(tmp_path / "again.npz", allow_pickle=False) as z, np.load(FIX / "lm.npz", allow_pickle=False) as y:
        assert "ngram_bloom" not in z.files and np.array_equal(np.sort(y["ngrams"]), z["ngrams"])
    rc, _, err = run_seqcli(["generate", FIX / "lm.npz", "--length", "100", "--seed", "2"])
    assert rc == 0 and "novel 8-grams" in err and "for seen" not in err


@pytest.mark.parametrize("edit", [lambda h, a: h["ngrams"]["bloom"].update(probes=999),
                                  lambda h, a: h["ngrams"]["bloom"].update(bits=12),
                                  lambda h, a: a.update(ngram_bloom=a["ngram_bloom"][:-8]),
                                  lambda h, a: a.pop("ngram_bloom")])
def test_a_damaged_filter_is_a_damaged_model_file(trained, tmp_path, edit):
    _, out = trained
    with np.load(out, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files if k != HEADER_KEY}
        header = json.loads(str(z[HEADER_KEY]))
    edit(header, arrays)
    bad = tmp_path / "bad.npz"
    np.savez(bad, **{HEADER_KEY: np.array(json.dumps(header))}, **arrays)
    rc, out_text, err = run_seqcli(["generate", bad, "--length", "10"])
    assert rc == 1 and out_text == "" and "damaged model file" in err and err.count("\n") == 1, err
    assert "n-gram filter" in err or "ngram_bloom" in err
