"""Tests for seqcli.metrics.spans: schemes, conlleval's chunks, span / token / unseen-word scores."""

import json
import random

import pytest

from seqcli.metrics.spans import (
    detect_scheme,
    evaluate,
    extract_spans,
    span_scores,
    split_tag,
    token_scores,
    unseen_accuracy,
)

# --- tags and schemes --------------------------------------------------------------------------


def test_split_tag():
    assert split_tag("B-PER") == ("B", "PER")
    assert split_tag("I-ORG-DEPT") == ("I", "ORG-DEPT")  # the type keeps its own dashes
    assert split_tag("U-LOC") == ("S", "LOC") and split_tag("L-LOC") == ("E", "LOC")
    for plain in ("O", "NOUN", "-LRB-", "B", "X-Y"):
        assert split_tag(plain) == ("O", "")


@pytest.mark.parametrize("sentences, scheme", [
    ([["B-PER", "I-PER", "O"], ["B-LOC"]], "BIO"),
    ([["B-PER", "B-PER", "I-PER"]], "BIO"),
    ([["O", "I-PER", "I-PER"]], "IOB1"),  # a chunk opening with I
    ([["B-PER", "I-LOC"]], "IOB1"),  # I after another type opens a chunk too
    ([["I-PER", "B-PER", "O"]], "IOB1"),  # CoNLL-2003 as first released
    ([["S-PER", "O", "B-LOC", "E-LOC"]], "BIOES"),
    ([["B-LOC", "I-LOC", "E-LOC"]], "BIOES"),
    ([["U-PER", "B-LOC", "L-LOC"]], "BILOU"),
    ([["NOUN", "VERB", "PUNCT"]], None),  # UPOS
    ([["-LRB-", "NN", "-RRB-"]], None),  # PTB tags with dashes are not prefixes
    ([["O", "O"]], None),
    ([["B-X", "E-X", "L-X"]], None),  # BIOES and BILOU mixed: no one scheme
    ([["B-X", "NOUN"]], None),
    ([], None),
])
def test_detect_scheme(sentences, scheme):
    assert detect_scheme(sentences) == scheme


# --- chunks as conlleval cuts them -------------------------------------------------------------


@pytest.mark.parametrize("tags, spans", [
    ([], []),
    (["O", "O"], []),
    (["B-PER", "I-PER", "O", "B-LOC"], [("PER", 0, 2), ("LOC", 3, 4)]),
    (["B-PER", "I-PER", "B-PER"], [("PER", 0, 2), ("PER", 2, 3)]),  # B after I: a new chunk
    (["O", "I-PER", "I-PER"], [("PER", 1, 3)]),  # I after O opens a chunk
    (["B-PER", "I-LOC", "I-LOC"], [("PER", 0, 1), ("LOC", 1, 3)]),  # I after another type
    (["B-PER", "B-LOC"], [("PER", 0, 1), ("LOC", 1, 2)]),
    (["I-PER", "I-PER", "B-PER", "O", "I-LOC"],  # IOB1
     [("PER", 0, 2), ("PER", 2, 3), ("LOC", 4, 5)]),
    (["B-PER", "I-PER"], [("PER", 0, 2)]),  # a chunk open at the end of the sentence
    (["B-ORG-X", "I-ORG-X"], [("ORG-X", 0, 2)]),
    # BIOES: E and S close their chunk; anything after E or S starts afresh.
    (["S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC", "O", "E-PER"],
     [("PER", 0, 1), ("LOC", 1, 4), ("LOC", 4, 5), ("PER", 6, 7)]),
    (["S-X", "S-X"], [("X", 0, 1), ("X", 1, 2)]),
    (["B-X", "E-X", "I-X", "E-X"], [("X", 0, 2), ("X", 2, 4)]),
    (["B-X", "S-X"], [("X", 0, 1), ("X", 1, 2)]),
    (["B-X", "E-Y"], [("X", 0, 1), ("Y", 1, 2)]),
    (["U-PER", "B-ORG", "L-ORG"], [("PER", 0, 1), ("ORG", 1, 3)]),  # BILOU
    (["NOUN", "B-X", "-LRB-", "I-X"], [("X", 1, 2), ("X", 3, 4)]),  # unknown tags are O
])
def test_extract_spans(tags, spans):
    assert extract_spans(tags) == spans


# conlleval.pl's endOfChunk / startOfChunk for the B, I, E and O tags, transcribed literally, and
# its per-token counting loop (the inCorrect state machine), as an independent reference.

def _pl_end(prev, tag, prev_type, kind):
    end = ((prev, tag) in {("B", "B"), ("B", "O"), ("I", "B"), ("I", "O"), ("E", "E"),
                           ("E", "I"), ("E", "O")})
    return end or (prev != "O" and prev != "." and prev_type != kind)


def _pl_start(prev, tag, prev_type, kind):
    start = ((prev, tag) in {("B", "B"), ("I", "B"), ("O", "B"), ("O", "I"), ("E", "E"),
                             ("E", "I"), ("O", "E")})
    return start or (tag != "O" and tag != "." and prev_type != kind)


def _pl_split(tag):
    prefix, _, kind = tag.partition("-")
    return prefix, kind


def _conlleval_counts(gold, pred):
    correct = found_gold = found_pred = 0
    in_correct = False
    last_c = last_g = "O"
    last_ct = last_gt = ""
    for g_sent, p_sent in zip(gold, pred):
        # a sentence boundary reaches the loop as a token tagged O in both columns
        for g, p in [*zip(g_sent, p_sent), ("O", "O")]:
            c, ct = _pl_split(g)
            gs, gt = _pl_split(p)
            if in_correct:
                end_c, end_g = _pl_end(last_c, c, last_ct, ct), _pl_end(last_g, gs, last_gt, gt)
                if end_c and end_g and last_gt == last_ct:
                    in_correct = False
                    correct += 1
                elif end_c != end_g or gt != ct:
                    in_correct = False
            start_c, start_g = _pl_start(last_c, c, last_ct, ct), _pl_start(last_g, gs, last_gt, gt)
            if start_c and start_g and gt == ct:
                in_correct = True
            found_gold += start_c
            found_pred += start_g
            last_c, last_ct, last_g, last_gt = c, ct, gs, gt
    if in_correct:
        correct += 1
    return correct, found_gold, found_pred


def test_span_counts_equal_conlleval_on_random_bio_and_iob1():
    rng = random.Random(0)
    tags = ["O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    checked_partial = 0
    for _ in range(300):
        lengths = [rng.randint(0, 8) for _ in range(rng.randint(1, 4))]
        gold = [[rng.choice(tags) for _ in range(n)] for n in lengths]
        # predictions: gold with some tags changed, so that many chunks match and many do not
        pred = [[t if rng.random() < 0.7 else rng.choice(tags) for t in s] for s in gold]
        scores = span_scores(gold, pred)
        counts = (scores["correct"], scores["gold"], scores["predicted"])
        assert counts == _conlleval_counts(gold, pred)
        checked_partial += 0 < scores["correct"] < scores["gold"]
    assert checked_partial > 50  # the cases were not all trivial


# --- span scores -------------------------------------------------------------------------------


def test_span_scores_by_hand():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "I-ORG"]]
    # gold: PER 0-2, LOC 3-4, ORG 0-1; predicted: PER 0-2, ORG 3-4, ORG 0-2; right: PER only
    scores = span_scores(gold, pred)
    assert (scores["gold"], scores["predicted"], scores["correct"]) == (3, 3, 1)
    assert scores["precision"] == pytest.approx(1 / 3)
    assert scores["recall"] == pytest.approx(1 / 3)
    assert scores["f1"] == pytest.approx(1 / 3)
    by_type = {row["type"]: row for row in scores["per_type"]}
    assert list(by_type) == ["LOC", "ORG", "PER"]
    assert by_type["PER"] == {"type": "PER", "precision": 1.0, "recall": 1.0, "f1": 1.0,
                              "gold": 1, "predicted": 1, "correct": 1}
    assert (by_type["ORG"]["gold"], by_type["ORG"]["predicted"], by_type["ORG"]["f1"]) == (1, 2, 0)
    assert (by_type["LOC"]["predicted"], by_type["LOC"]["precision"]) == (0, 0.0)
    json.dumps(scores)


def test_span_scores_unequal_precision_and_recall():
    gold = [["B-X", "I-X", "O", "B-X", "O", "B-Y"]]
    pred = [["B-X", "I-X", "O", "O", "O", "O"]]
    scores = span_scores(gold, pred)
    assert (scores["precision"], scores["recall"]) == (1.0, pytest.approx(1 / 3))
    assert scores["f1"] == pytest.approx(2 * 1 * (1 / 3) / (1 + 1 / 3))


def test_a_span_must_match_start_end_and_type():
    gold = [["B-X", "I-X", "I-X"]]
    for pred in (["B-X", "I-X", "O"], ["O", "I-X", "I-X"], ["B-Y", "I-Y", "I-Y"],
                 ["B-X", "I-X", "B-X"]):
        assert span_scores(gold, [pred])["correct"] == 0, pred
    assert span_scores(gold, [["I-X", "I-X", "I-X"]])["correct"] == 1  # IOB1 spelling, same span


def test_bioes_span_scores():
    gold = [["S-PER", "O", "B-LOC", "E-LOC"], ["B-ORG", "I-ORG", "E-ORG"]]
    pred = [["S-PER", "O", "S-LOC", "S-LOC"], ["B-ORG", "I-ORG", "E-ORG"]]
    scores = span_scores(gold, pred)
    assert (scores["gold"], scores["predicted"], scores["correct"]) == (3, 4, 2)


def test_empty_prediction_scores_zero():
    gold = [["B-PER", "O"], ["O", "B-LOC"]]
    scores = span_scores(gold, [["O", "O"], ["O", "O"]])
    assert (scores["precision"], scores["recall"], scores["f1"]) == (0.0, 0.0, 0.0)
    assert (scores["gold"], scores["predicted"], scores["correct"]) == (2, 0, 0)
    nothing = span_scores([], [])
    assert (nothing["f1"], nothing["gold"], nothing["per_type"]) == (0.0, 0, [])


def test_misaligned_inputs_are_a_value_error():
    with pytest.raises(ValueError, match="2 gold sentences but 1 predicted"):
        span_scores([["O"], ["O"]], [["O"]])
    with pytest.raises(ValueError, match="sentence 1: 2 gold tags but 1 predicted"):
        token_scores([["O"], ["O", "O"]], [["O"], ["O"]])


# --- token scores ------------------------------------------------------------------------------


def test_token_scores_by_hand():
    gold = [["A", "B", "A", "A"], ["C"]]
    pred = [["A", "A", "B", "A"], ["C"]]
    scores = token_scores(gold, pred)
    assert (scores["tokens"], scores["correct"], scores["accuracy"]) == (5, 3, 0.6)
    per_tag = {row["tag"]: row for row in scores["per_tag"]}
    assert list(per_tag) == ["A", "B", "C"]
    assert per_tag["A"] == {"tag": "A", "precision": 2 / 3, "recall": 2 / 3,
                            "f1": pytest.approx(2 / 3), "support": 3, "predicted": 3}
    assert (per_tag["B"]["precision"], per_tag["B"]["recall"], per_tag["B"]["f1"]) == (0, 0, 0)
    assert per_tag["C"]["f1"] == 1.0
    assert scores["confusions"] == [{"gold": "A", "predicted": "B", "count": 1},
                                    {"gold": "B", "predicted": "A", "count": 1}]
    json.dumps(scores)


def test_confusions_are_most_frequent_first_and_cut():
    gold = [["N"] * 3 + ["V"] * 2 + ["J"]]
    pred = [["V"] * 3 + ["N"] * 2 + ["N"]]
    scores = token_scores(gold, pred, top_confusions=2)
    assert scores["confusions"] == [{"gold": "N", "predicted": "V", "count": 3},
                                    {"gold": "V", "predicted": "N", "count": 2}]
    assert token_scores(gold, gold)["confusions"] == []
    assert token_scores(gold, pred, top_confusions=0)["confusions"] == []


def test_a_tag_only_predicted_is_listed():
    scores = token_scores([["A"]], [["Z"]])
    assert [row["tag"] for row in scores["per_tag"]] == ["A", "Z"]
    assert scores["per_tag"][1]["support"] == 0 and scores["per_tag"][1]["predicted"] == 1


def test_unseen_accuracy():
    sentences = [["the", "cat"], ["a", "dog", "The"]]
    gold = [["D", "N"], ["D", "N", "D"]]
    pred = [["D", "N"], ["D", "V", "D"]]
    # cat (right), dog (wrong) and The (right: vocabulary compares exactly) are unseen
    result = unseen_accuracy(sentences, gold, pred, {"the", "a"})
    assert result == {"tokens": 3, "correct": 2, "accuracy": 2 / 3}
    assert unseen_accuracy(sentences, gold, pred, {"the", "a", "cat", "dog", "The"}) == {
        "tokens": 0, "correct": 0, "accuracy": None}


# --- everything at once ------------------------------------------------------------------------


def test_evaluate_ner():
    sentences = [["John", "lives", "in", "New", "York"]]
    gold = [["B-PER", "O", "O", "B-LOC", "I-LOC"]]
    pred = [["B-PER", "O", "O", "B-LOC", "O"]]
    report = evaluate(sentences, gold, pred, train_vocabulary={"John", "lives", "in"})
    assert report["scheme"] == "BIO" and report["sentences"] == 1
    assert report["accuracy"] == 0.8
    assert report["unseen"] == {"tokens": 2, "correct": 1, "accuracy": 0.5}
    assert (report["spans"]["correct"], report["spans"]["gold"]) == (1, 2)
    assert report["confusions"] == [{"gold": "I-LOC", "predicted": "O", "count": 1}]
    json.dumps(report)


def test_evaluate_pos_has_no_spans():
    report = evaluate([["a", "b"]], [["DET", "NOUN"]], [["DET", "VERB"]])
    assert report["scheme"] is None and report["spans"] is None and report["unseen"] is None
    assert report["accuracy"] == 0.5


def test_evaluate_scheme_given():
    gold, pred = [["B-X", "I-X"]], [["B-X", "I-X"]]
    assert evaluate([["a", "b"]], gold, pred, scheme=None)["spans"] is None
    assert evaluate([["a", "b"]], gold, pred, scheme="IOB1")["spans"]["f1"] == 1.0
    with pytest.raises(ValueError, match="unknown tag scheme"):
        evaluate([["a", "b"]], gold, pred, scheme="BIOX")
