"""Tag schemes and the figures a tagger is judged by: conlleval's spans, per-tag scores.

Standard library only (``seqcli predict`` and the training loop both import it). Every function
takes sentences as lists of tag strings and returns plain JSON-ready dicts: floats, ints, strings,
lists. Rates are fractions in [0, 1]; a rate whose denominator is 0 is 0.0 (conlleval's choice),
except the unseen-word accuracy, which is None when no token was unseen.

**Schemes.** A tag is ``O`` or ``PREFIX-TYPE`` (split at the first ``-``; the type may be empty or
hold further dashes). ``detect_scheme`` names the scheme of a tag set:

* ``"BIO"`` (IOB2): prefixes B and I, every chunk opens with B;
* ``"IOB1"``: prefixes B and I, some chunk opens with I (B only splits adjacent chunks of a type);
* ``"BIOES"`` (IOBES): prefixes among B, I, E, S with at least one E or S;
* ``"BILOU"``: prefixes among B, I, L, U with at least one L or U (L is read as E, U as S);
* ``None``: anything else, e.g. part-of-speech tags (``NOUN``, ``-LRB-``): no spans, only tokens.

**Spans** are ``(type, start, end)`` with ``end`` exclusive. They are cut exactly where the CoNLL
evaluation script conlleval cuts chunks, extended to S and to E-then-anything the way its IOBES
ports do: a chunk ends after E or S, before B, S or O, and before any tag of another type; a chunk
starts at B or S, at I or E that follows O, E or S, and at any non-O tag whose type differs from
the previous tag's. So an I- after O, or after a tag of another type, opens a new chunk
(conlleval's treatment of ill-formed BIO), and one function serves BIO, IOB1, BIOES and BILOU.
Tags that fit no scheme count as O. Each sentence starts after an implicit O, so no chunk crosses
a sentence boundary.
A predicted span is correct when a gold span has the same sentence, type, start and end.
"""

from collections import Counter
from typing import Container, Iterable, Sequence

SCHEMES = ("BIO", "IOB1", "BIOES", "BILOU")

_PREFIXES = {"B": "B", "I": "I", "E": "E", "S": "S", "L": "E", "U": "S"}  # BILOU read as BIOES
_OUTSIDE = ("O", "")


def split_tag(tag: str) -> tuple[str, str]:
    """``(prefix, type)`` of ``tag`` as spans read it: ``B-PER`` -> ``("B", "PER")``.

    ``O`` and every tag that fits no scheme give ``("O", "")``; L and U come back as E and S.
    """
    prefix, dash, kind = tag.partition("-")
    if dash and prefix in _PREFIXES:
        return _PREFIXES[prefix], kind
    return _OUTSIDE


def detect_scheme(sentences: Iterable[Sequence[str]]) -> str | None:
    """The scheme the tag sequences follow (one of ``SCHEMES``), or None for plain tags.

    Needs the sequences, not only the tag set, to tell IOB1 from BIO. A tag set of only ``O`` has
    no scheme.
    """
    sentences = [list(s) for s in sentences]
    prefixes: set[str] = set()
    for tag in {t for s in sentences for t in s}:
        if tag == "O":
            continue
        prefix, dash, _ = tag.partition("-")
        if not dash or prefix not in _PREFIXES:
            return None  # one tag outside every scheme: these are plain tags (UPOS, PTB...)
        prefixes.add(prefix)
    if not prefixes:
        return None
    if prefixes <= {"B", "I", "E", "S"} and prefixes & {"E", "S"}:
        return "BIOES"
    if prefixes <= {"B", "I", "L", "U"} and prefixes & {"L", "U"}:
        return "BILOU"
    if not prefixes <= {"B", "I"}:
        return None  # e.g. E and L together: no one scheme
    # B/I only: IOB1 as soon as a chunk opens with I (after O, or after another type).
    for tags in sentences:
        before = "O"
        for tag in tags:
            if tag.startswith("I-") and (before == "O" or before[2:] != tag[2:]):
                return "IOB1"
            before = tag
    return "BIO"


def _ends(prev_prefix: str, prefix: str, prev_type: str, kind: str) -> bool:
    """Does the chunk holding the previous tag end before this one? (conlleval's endOfChunk)"""
    if prev_prefix == "O":
        return False
    if prev_prefix in "ES" or prefix in "BSO":
        return True
    return prev_type != kind


def _starts(prev_prefix: str, prefix: str, prev_type: str, kind: str) -> bool:
    """Does a chunk start at this tag? (conlleval's startOfChunk)"""
    if prefix == "O":
        return False
    if prefix in "BS" or prev_prefix in "OES":
        return True
    return prev_type != kind


def extract_spans(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """The chunks of one sentence's tags as ``(type, start, end)``, ``end`` exclusive, in order.

    Example: ``["B-PER", "I-PER", "O", "I-LOC"]`` -> ``[("PER", 0, 2), ("LOC", 3, 4)]``.
    """
    spans = []
    prev_prefix, prev_type = "O", ""
    start, open_type = -1, ""
    for i, tag in enumerate(tags):
        prefix, kind = split_tag(tag)
        if start >= 0 and _ends(prev_prefix, prefix, prev_type, kind):
            spans.append((open_type, start, i))
            start = -1
        if _starts(prev_prefix, prefix, prev_type, kind):
            start, open_type = i, kind
        prev_prefix, prev_type = prefix, kind
    if start >= 0:
        spans.append((open_type, start, len(tags)))
    return spans


def _prf(correct: int, predicted: int, gold: int) -> dict:
    precision = correct / predicted if predicted else 0.0
    recall = correct / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def _check_aligned(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> None:
    """A caller's bug, not a user's: gold and predicted sentences must pair up token for token."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold sentences but {len(pred)} predicted")
    for i, (g, p) in enumerate(zip(gold, pred)):
        if len(g) != len(p):
            raise ValueError(f"sentence {i}: {len(g)} gold tags but {len(p)} predicted")


def span_scores(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict:
    """Span precision, recall and F1 overall and per type, as conlleval computes them.

    gold, pred: one list of tags per sentence, aligned token for token.
    Returns ``{"precision", "recall", "f1", "gold", "predicted", "correct", "per_type": [{"type",
    "precision", "recall", "f1", "gold", "predicted", "correct"}, ...]}`` (counts are spans;
    ``per_type`` sorted by type, over the types of gold and predicted spans).
    """
    _check_aligned(gold, pred)
    n_gold: Counter = Counter()
    n_pred: Counter = Counter()
    n_correct: Counter = Counter()
    for g, p in zip(gold, pred):
        gold_spans = extract_spans(g)
        pred_spans = extract_spans(p)
        n_gold.update(s[0] for s in gold_spans)
        n_pred.update(s[0] for s in pred_spans)
        n_correct.update(s[0] for s in set(gold_spans).intersection(pred_spans))
    total = (sum(n_correct.values()), sum(n_pred.values()), sum(n_gold.values()))
    report = _prf(*total)
    report.update(gold=total[2], predicted=total[1], correct=total[0])
    report["per_type"] = [
        {"type": kind, **_prf(n_correct[kind], n_pred[kind], n_gold[kind]),
         "gold": n_gold[kind], "predicted": n_pred[kind], "correct": n_correct[kind]}
        for kind in sorted(set(n_gold) | set(n_pred))
    ]
    return report


def token_scores(
    gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], top_confusions: int = 10
) -> dict:
    """Token accuracy, per-tag precision/recall/F1 and the most frequent confusions.

    Returns ``{"tokens", "correct", "accuracy", "per_tag": [{"tag", "precision", "recall", "f1",
    "support", "predicted"}, ...], "confusions": [{"gold", "predicted", "count"}, ...]}``.
    ``per_tag`` is sorted by tag over the tags of gold and predictions (``support`` = gold count);
    ``confusions`` holds the ``top_confusions`` most frequent (gold, predicted) pairs that differ,
    most frequent first, ties in tag order.
    """
    _check_aligned(gold, pred)
    pairs = Counter(zip((t for s in gold for t in s), (t for s in pred for t in s)))
    n_gold: Counter = Counter()
    n_pred: Counter = Counter()
    hits: Counter = Counter()
    for (g, p), count in pairs.items():
        n_gold[g] += count
        n_pred[p] += count
        if g == p:
            hits[g] += count
    tokens, correct = sum(n_gold.values()), sum(hits.values())
    wrong = sorted(((-c, g, p) for (g, p), c in pairs.items() if g != p))
    return {
        "tokens": tokens,
        "correct": correct,
        "accuracy": correct / tokens if tokens else 0.0,
        "per_tag": [
            {"tag": tag, **_prf(hits[tag], n_pred[tag], n_gold[tag]),
             "support": n_gold[tag], "predicted": n_pred[tag]}
            for tag in sorted(set(n_gold) | set(n_pred))
        ],
        "confusions": [{"gold": g, "predicted": p, "count": -c}
                       for c, g, p in wrong[:max(top_confusions, 0)]],
    }


def unseen_accuracy(
    sentences: Sequence[Sequence[str]],
    gold: Sequence[Sequence[str]],
    pred: Sequence[Sequence[str]],
    vocabulary: Container[str],
) -> dict:
    """Accuracy on the tokens not in ``vocabulary`` (the training tokens, compared exactly).

    Returns ``{"tokens", "correct", "accuracy"}``; accuracy is None when no token is unseen.
    """
    _check_aligned(gold, pred)
    _check_aligned(sentences, gold)
    tokens = correct = 0
    for words, g, p in zip(sentences, gold, pred):
        for word, gt, pt in zip(words, g, p):
            if word not in vocabulary:
                tokens += 1
                correct += gt == pt
    return {"tokens": tokens, "correct": correct,
            "accuracy": correct / tokens if tokens else None}


def evaluate(
    sentences: Sequence[Sequence[str]],
    gold: Sequence[Sequence[str]],
    pred: Sequence[Sequence[str]],
    train_vocabulary: Container[str] | None = None,
    scheme: str | None = "auto",
    top_confusions: int = 10,
) -> dict:
    """Every figure for one evaluation of a tagger, in one JSON-ready dict.

    sentences, gold, pred: tokens, gold tags and predicted tags, one list per sentence, aligned.
    train_vocabulary: the training tokens (a set), for the unseen-token accuracy; None skips it.
    scheme: ``"auto"`` detects it from ``gold`` (better: detect it once on the training tags and
    pass it), one of ``SCHEMES``, or None for no span scores.
    Returns ``token_scores`` plus ``"sentences"``, ``"unseen"`` (``unseen_accuracy`` or None),
    ``"scheme"`` and ``"spans"`` (``span_scores`` or None when there is no scheme).
    """
    report = token_scores(gold, pred, top_confusions)
    report["sentences"] = len(gold)
    report["unseen"] = (unseen_accuracy(sentences, gold, pred, train_vocabulary)
                        if train_vocabulary is not None else None)
    if scheme == "auto":
        scheme = detect_scheme(gold)
    elif scheme is not None and scheme not in SCHEMES:
        raise ValueError(f"unknown tag scheme {scheme!r}; expected one of {', '.join(SCHEMES)}")
    report["scheme"] = scheme
    report["spans"] = span_scores(gold, pred) if scheme else None
    return report
