"""The explanation record of a tagger on one sentence: every token's tag distribution and the gates.

From ONE forward pass (``TaggerNet.states``): the tags and their probabilities (softmax: each token's
distribution; CRF: the marginals, the tags the best sequence), the ``top`` tags of the sentence (every
tag it was given, then the others by their highest probability anywhere in it) with their probability
at each token, and the cell arrays of the chosen layer(s) and direction(s) as ``(units, tokens)``, keyed
``"l{layer}.{direction}.{field}"`` as for the recurrent classifiers (explain/__init__.py).
"""

import numpy as np

TOP_TAGS = 6


def explain_tagger(model, text, units=None, gates=None, layer=None, words=False, top=TOP_TAGS):
    """Record of a tagger on one line of text (tokenized as predict tokenizes it)."""
    from seqcli import explain as ex
    from seqcli.models.tagger import tokenize

    net = model.net
    tokens = tokenize(text, words)
    word_ids, char_ids = model.encode([tokens])
    st = net.states(net.batch(word_ids, char_ids))
    T = len(tokens)
    shown = ex.resolve_layer(layer, net.layers)
    layers = list(range(net.layers)) if layer is None else [shown]
    directions = ["fw", "bw"] if net.bidirectional else ["fw"]
    fields = gates if gates is not None else ex.FIELDS[net.cell]
    full = {f"l{i}.{d}.{f}": st[f"enc.l{i}.{d}.{f}"][:T, :, 0].T for i in layers for d in directions for f in fields}
    arrays, chosen = ex.pick(full, units)
    probs = st["probs"][:T, :, 0].T                        # (n_tags, T)
    tags = st["tags"][:T, 0]
    given = list(dict.fromkeys(int(k) for k in tags))
    by_peak = np.argsort(-(probs.max(axis=1) if T else np.zeros(len(model.tags))), kind="stable")
    top_ids = (given + [int(k) for k in by_peak if int(k) not in given])[:max(top, len(given))]
    return {
        "kind": "tagger", "text": text, "tokens": tokens, "oov": [i for i, j in enumerate(word_ids[0]) if j == 1],
        "cell": net.cell, "n_layers": net.layers, "layer": shown, "layers": layers, "directions": directions,
        "hidden": net.hidden, "crf": net.crf, "tags": [model.tags[k] for k in tags],
        "tag_probs": probs[tags, np.arange(T)],
        "top_tags": [model.tags[k] for k in top_ids], "top_probs": probs[top_ids],
        "units_mode": ex.units_mode(units), "units": chosen, "arrays": arrays,
        "fields": gates if gates is not None else ex.DEFAULT_ROWS[net.cell],
    }


def to_json(record):
    """The JSON-ready form of a tagger's record (what ``--explain --json`` writes per line)."""
    from seqcli.explain import floats

    return {"text": record["text"],
            "model": {"kind": "tagger", "cell": record["cell"], "layers": record["n_layers"],
                      "hidden": record["hidden"], "bidirectional": len(record["directions"]) == 2, "crf": record["crf"]},
            "tokens": record["tokens"], "tags": record["tags"], "probs": floats(record["tag_probs"]),
            "top_probs": {t: floats(row) for t, row in zip(record["top_tags"], record["top_probs"])},
            "oov": record["oov"],
            "gates": {k: {"units": record["units"][k], "values": floats(v)} for k, v in record["arrays"].items()}}
