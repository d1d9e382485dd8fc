"""Gate saturation: the share of gate values near 0 or 1 over many texts."""

import numpy as np

from seqcli.explain import FIELDS, HIGH, LOW, SIGMOID_FIELDS, explain_lm, resolve_layer, usage


def saturation(model, texts, layer=None, batch_size=128):
    """Share of saturated gate values over the real steps of ``texts``.

    Returns {"n_texts", "n_steps", "rows": [{"layer", "direction", "gate", "n", "low", "high",
    "saturated", "mean"}]}: per layer (all, or the one asked for), direction and sigmoid gate, the
    shares of values < 0.1 ("low") and > 0.9 ("high"); a plain RNN's tanh state is counted by
    absolute value. Recurrent classifiers are run in batches of similar length (padded steps masked
    out); language models and taggers one text at a time, as they read.
    """
    kind = getattr(model, "kind", None)
    if kind not in ("seq", "lm", "tagger"):
        raise usage("--stats needs a recurrent model: a bag-of-words model has no gates")
    net = model.net
    n_layers = net.layers
    layers = list(range(n_layers)) if layer is None else [resolve_layer(layer, n_layers)]
    fields = [f for f in FIELDS[net.cell] if f in SIGMOID_FIELDS] or ["a"]
    directions = ["fw", "bw"] if getattr(net, "bidirectional", False) else ["fw"]
    keys = [(i, d, f) for i in layers for d in directions for f in fields]
    acc = {k: np.zeros(4) for k in keys}   # n, low, high, sum
    n_texts = n_steps = 0

    def add(key, values):  # values: real steps only, any shape
        v = np.abs(values) if key[2] == "a" else values
        acc[key] += (v.size, np.count_nonzero(v < LOW), np.count_nonzero(v > HIGH), float(values.sum()))

    if kind == "seq":
        from seqcli.text import pad_batch

        id_lists = model.encode(list(texts))
        n_texts = len(id_lists)
        order = np.argsort([len(x) for x in id_lists], kind="stable")
        for s in range(0, len(order), batch_size):
            idx = order[s:s + batch_size]
            X, lengths = pad_batch([id_lists[i] for i in idx])
            if X.shape[0] == 0:
                continue
            n_steps += int(lengths.sum())
            st = net.states(X, lengths)
            real = np.arange(X.shape[0])[:, None] < lengths[None, :]           # (T, m)
            for key in keys:
                arr = st[f"enc.l{key[0]}.{key[1]}.{key[2]}"]                   # (T, n_a, m)
                add(key, arr.transpose(0, 2, 1)[real])
    else:
        from seqcli.explain.tagger import explain_tagger

        one = explain_lm if kind == "lm" else explain_tagger
        for text in texts:
            n_texts += 1
            rec = one(model, text, units=None, gates=tuple(fields), layer=layer)
            n_steps += len(rec["tokens"])
            for (i, d, f) in keys:
                add((i, d, f), rec["arrays"][f"l{i}.{d}.{f}"])
    rows = []
    for (i, d, f), (n, low, high, total) in acc.items():
        rows.append({"layer": i, "direction": d, "gate": f, "n": int(n),
                     "low": low / n if n else float("nan"), "high": high / n if n else float("nan"),
                     "saturated": (low + high) / n if n else float("nan"),
                     "mean": total / n if n else float("nan")})
    return {"kind": kind, "cell": net.cell, "n_texts": n_texts, "n_steps": n_steps, "rows": rows}


def stats_to_json(stats):
    return {"saturation": {**{k: v for k, v in stats.items() if k != "rows"},
                           "thresholds": [LOW, HIGH],
                           "rows": [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
                                    for r in stats["rows"]]}}
