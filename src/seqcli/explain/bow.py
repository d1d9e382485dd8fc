"""Explanations of bag-of-words models: each word's share of the winning class's score."""

import numpy as np

from seqcli.explain import TOP_BOW


def _bow_pieces(vectorizer, text):
    """[(gram, column or -1, first piece, last piece)] and the pieces (words or characters) of
    ``text``, analysed exactly as the vectorizer does (same tokens, n-gram orders and columns)."""
    from seqcli.features.vectorizer import hashed_column
    from seqcli.features.vectorizer import pieces as analyse

    cfg = vectorizer.config
    pieces, sep = analyse(text, cfg)
    if cfg.hash_bits is not None:
        column = lambda g: hashed_column(g, cfg.hash_bits)  # noqa: E731
    else:
        vocab = vectorizer.vocabulary_
        column = lambda g: vocab.get(g, -1)  # noqa: E731
    grams = []
    for n in range(cfg.ngram_min, min(cfg.ngram_max, len(pieces)) + 1):
        for i in range(len(pieces) - n + 1):
            g = sep.join(pieces[i:i + n])
            grams.append((g, column(g), i, i + n))
    return grams, pieces


def explain_bow(model, text, top=TOP_BOW):
    """Record of a bag-of-words model on one text: contributions to the winning class's score.

    Feature j contributes C_j = W[win, j] * x_j. A word's (a character's) score is its share of the
    contributions of the n-grams that contain it: each occurrence of an n-gram gives C_j / (count of
    its occurrences) / n to each of its n pieces, so the pieces' scores add up to score - bias.
    """
    indptr, indices, data = model.features([text])
    cols, vals = indices[indptr[0]:indptr[1]], data[indptr[0]:indptr[1]]
    W, b = model.net.params["W"], model.net.params["b"]
    logits = model.net.logits((indptr, indices, data))[:, 0]
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    winner = int(np.argmax(probs))
    contrib = W[winner, cols] * vals.astype(W.dtype, copy=False)

    grams, pieces = _bow_pieces(model.vectorizer, text)
    occurrences, names = {}, {}
    for g, col, _, _ in grams:
        if col >= 0:
            occurrences[col] = occurrences.get(col, 0) + 1
            names.setdefault(col, [])
            if g not in names[col]:
                names[col].append(g)
    where = {int(c): k for k, c in enumerate(cols)}
    scores = np.zeros(len(pieces), np.float64)
    for g, col, lo, hi in grams:
        k = where.get(col)
        if k is not None:
            scores[lo:hi] += float(contrib[k]) / occurrences[col] / (hi - lo)
    feats = [{"feature": " | ".join(names.get(int(c), [f"#{int(c)}"])), "column": int(c),
              "value": float(v), "weight": float(W[winner, c]), "contribution": float(x)}
             for c, v, x in zip(cols, vals, contrib)]
    feats.sort(key=lambda f: -f["contribution"])
    cfg = model.vectorizer.config
    return {
        "kind": "bow", "text": text, "classes": list(model.classes), "probs": probs, "winner": winner,
        "label": model.classes[winner], "analyzer": cfg.analyzer, "tokens": list(pieces),
        "token_scores": scores, "bias": float(b[winner, 0]), "score": float(logits[winner]),
        "features": feats,
        "top_positive": [f for f in feats if f["contribution"] > 0][:top],
        "top_negative": [f for f in reversed(feats) if f["contribution"] < 0][:top],
    }
