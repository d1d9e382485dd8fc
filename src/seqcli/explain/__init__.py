"""Explanations: what a fitted model computed on a text, as plain records. Never prints; numpy only.

A record is a dict built from ONE forward pass of the model on one text (``m = 1``), so its arrays are
the forward pass's own values, not a re-computation:

- recurrent classifiers (kind "seq"): the tokens, every cell array of the chosen layer(s) and
  direction(s) as ``(units, tokens)`` (``SeqNet.states`` transposed and cut to the real steps), and the
  per-prefix class probabilities (the readout applied after every token);
- bag-of-words models (kind "bow"): every feature's contribution to the winning class's score
  (weight times feature value) and each word's (or character's, for a char analyzer) share of them;
- character language models (kind "lm"): every cell array of every layer per character, and the
  probability the model gave each character before reading it;
- taggers (kind "tagger", explain/tagger.py): each token's tag distribution and the cell arrays.
- encoder-decoders (kind "seq2seq"): the generated target and the attention matrix of its steps over
  the source tokens (explain/alignment.py).
- Transformers (either kind): the attention weights of every layer and head, tokens x tokens
  (explain/attention.py; records of kind "attention").

Array keys are ``"l{layer}.{direction}.{field}"`` (direction ``fw`` or ``bw``; fields as in
``nn.cells.STATE_FIELDS``: ``gu gf go cc c a`` for the LSTM, ``gu gr cc a`` for the GRU, ``a`` for the
RNN), the names of ``SeqNet.states`` without its ``enc.`` prefix.

Selections (the ``--units`` / ``--gate`` / ``--layer`` options) are parsed here too:

- units ``None`` keeps every unit (the display then shows the mean over units); ``[3, 17]`` keeps those
  units; ``("top", k)`` keeps, for each array separately, the k units with the largest variance over
  this text's real steps (most varying first);
- gates: a tuple of field names (``"f"``, ``"forget"``, ``"gf"`` ... are understood);
- layer: 0-based, negative counts from the top; ``None`` = every layer in the record, the last one
  displayed.

``saturation(model, texts)`` counts, per layer, direction and gate, the share of values < 0.1 and > 0.9
over the real steps of many texts (tanh fields of a plain RNN by absolute value).
"""

import numpy as np

LOW, HIGH = 0.1, 0.9  # saturation thresholds

SIGMOID_FIELDS = ("gu", "gf", "go", "gr")
FIELDS = {"rnn": ("a",), "gru": ("gu", "gr", "cc", "a"), "lstm": ("gu", "gf", "go", "cc", "c", "a")}
DEFAULT_ROWS = {"rnn": ("a",), "gru": ("gu", "gr", "a"), "lstm": ("gu", "gf", "go", "cc", "c", "a")}
FIELD_LABELS = {"gu": "Γu", "gf": "Γf", "go": "Γo", "gr": "Γr", "cc": "c~", "c": "c", "a": "a"}
FIELD_NAMES = {"gu": "update gate", "gf": "forget gate", "go": "output gate", "gr": "reset gate",
               "cc": "candidate", "c": "memory cell", "a": "hidden state"}
GATE_ALIASES = {
    "u": "gu", "update": "gu", "gu": "gu", "γu": "gu",
    "f": "gf", "forget": "gf", "gf": "gf", "γf": "gf",
    "o": "go", "output": "go", "go": "go", "γo": "go",
    "r": "gr", "reset": "gr", "gr": "gr", "γr": "gr",
    "cc": "cc", "c~": "cc", "candidate": "cc",
    "c": "c", "cell": "c", "memory": "c",
    "a": "a", "h": "a", "hidden": "a", "state": "a",
}
TOP_BOW = 8  # rows of the top positive / negative feature lists kept in a record


def usage(message):
    """An option value the user can fix: one line, exit code 2 (a usage error)."""
    return UsageError(message)


from seqcli.errors import SeqcliError, UsageError

# ------------------------------------------------------------------------------ option parsing

def parse_units(spec):
    """``None`` / "" / "mean" -> None; "3,17,42" -> [3, 17, 42]; "top:8" -> ("top", 8)."""
    if spec is None or (isinstance(spec, tuple) and spec and spec[0] == "top"):
        return spec
    if isinstance(spec, (list, range)):
        return _check_unit_list(list(spec), str(spec))
    text = str(spec).strip().lower()
    if text in ("", "mean", "all"):
        return None
    if text.startswith("top"):
        rest = text[3:].lstrip(":= ")
        if not rest.isdigit() or int(rest) < 1:
            raise usage(f"--units {spec!r}: write top:K with K a whole number >= 1 (e.g. top:8)")
        return ("top", int(rest))
    try:
        units = [int(u) for u in text.replace(" ", "").split(",") if u != ""]
    except ValueError:
        raise usage(f"--units {spec!r}: give unit numbers (3,17,42) or top:K") from None
    return _check_unit_list(units, spec)


def _check_unit_list(units, spec):
    if not units:
        raise usage(f"--units {spec!r}: give unit numbers (3,17,42) or top:K")
    if any(u < 0 for u in units):
        raise usage(f"--units {spec!r}: unit numbers start at 0")
    return list(dict.fromkeys(units))  # duplicates dropped, order kept


def parse_gates(spec, cell):
    """Field names of ``cell`` that ``spec`` ("f", "forget,output", "gf", None) asks for."""
    fields = FIELDS[cell]
    if spec is None or (isinstance(spec, str) and not spec.strip()):
        return None
    parts = spec if isinstance(spec, (list, tuple)) else str(spec).split(",")
    out = []
    for part in parts:
        name = GATE_ALIASES.get(str(part).strip().lower())
        if name is None or name not in fields:
            valid = ", ".join(f"{f} ({FIELD_NAMES[f]})" for f in fields)
            article = {"lstm": "an LSTM", "gru": "a GRU", "rnn": "an RNN"}.get(cell, cell)
            raise usage(f"--gate {part!r}: {article} has {valid}")
        if name not in out:
            out.append(name)
    return tuple(out)


def resolve_layer(layer, n_layers):
    """0-based layer index from ``layer`` (negative counts from the top); None -> the last layer."""
    if layer is None:
        return n_layers - 1
    layer = int(layer)
    if not -n_layers <= layer < n_layers:
        raise usage(f"--layer {layer}: this model has {n_layers} layer{'s' if n_layers > 1 else ''} "
                    f"(0{f' to {n_layers - 1}' if n_layers > 1 else ''}; -1 is the last)")
    return layer % n_layers


def select_units(values, units):
    """(unit indices, rows) of a (n_a, T) array for a units selection (see the module docstring)."""
    n_a = values.shape[0]
    if units is None:
        return list(range(n_a)), values
    if isinstance(units, tuple):
        k = min(units[1], n_a)
        var = values.var(axis=1) if values.shape[1] else np.zeros(n_a)
        order = np.argsort(-var, kind="stable")[:k]
        idx = [int(i) for i in order]
    else:
        bad = [u for u in units if u >= n_a]
        if bad:
            raise usage(f"--units: unit {bad[0]} does not exist; this model has {n_a} units (0 to {n_a - 1})")
        idx = list(units)
    return idx, values[idx]


# ------------------------------------------------------------------------------ records

def check_options(model, units=None, gates=None, layer=None, heads=None):
    """(units, gates) parsed, after checking that the options fit ``model`` (usage errors, exit 2):
    called before any input is read. A Transformer's are (layers, heads) (explain/attention.py)."""
    from seqcli.explain import attention

    if attention.is_transformer(model):
        return attention.check_options(model, units, gates, layer, heads)
    if heads is not None:
        raise usage("--head applies to a transformer's attention heads")
    units = parse_units(units)
    kind = getattr(model, "kind", None)
    if kind not in ("bow", "seq", "lm", "tagger", "seq2seq"):
        raise SeqcliError(f"cannot explain a model of kind {kind!r}")
    if kind == "seq2seq":
        if units is not None or gates is not None or layer is not None:
            raise usage("--units, --gate and --layer show gates; a seq2seq model's --explain draws its "
                        "attention over the source")
        return units, None
    if kind == "bow":
        if units is not None or gates is not None or layer is not None:
            raise usage("--units, --gate and --layer apply to recurrent models; a bag-of-words model "
                        "is explained by its words' contributions")
        return units, None
    gates = parse_gates(gates, model.net.cell)
    resolve_layer(layer, model.net.layers)
    return units, gates


def explain(model, texts, units=None, gates=None, layer=None, words=False, beam=1, max_len=None, heads=None):
    """One record per text (see the module docstring), made as each text comes. ``units`` / ``gates``
    / ``heads`` may be the raw option strings; they are parsed and checked at once, before any text is
    read. words: a tagger's treebank tokenizer (--tokenize) instead of splitting at whitespace; ``beam``,
    ``max_len``: how a seq2seq model searches for the target it explains."""
    from seqcli.explain import attention
    from seqcli.explain.bow import explain_bow
    from seqcli.explain.tagger import explain_tagger

    if attention.is_transformer(model):
        layers, heads = attention.check_options(model, units, gates, layer, heads)
        return (attention.explain_transformer(model, text, layers, heads, words) for text in texts)
    units, gates = check_options(model, units, gates, layer, heads)
    if model.kind == "seq2seq":
        from seqcli.explain.alignment import explain_seq2seq

        return (explain_seq2seq(model, text, beam, max_len) for text in texts)
    one = {"bow": lambda m, t, *_: explain_bow(m, t), "seq": explain_seq, "lm": _lm_with_saturation,
           "tagger": lambda *args: explain_tagger(*args, words=words)}[model.kind]
    return (one(model, text, units, gates, layer) for text in texts)


def _lm_with_saturation(model, text, units, gates, layer):
    """A language model's record, with the text's gate saturation per layer (drawn below it)."""
    from seqcli.explain.stats import saturation

    record = explain_lm(model, text, units, gates, layer)
    record["saturation"] = saturation(model, [text])
    return record


def _layer_keys(cell, layers, directions, gates):
    fields = gates if gates is not None else FIELDS[cell]
    return [f"l{i}.{d}.{f}" for i in layers for d in directions for f in fields]


def pick(arrays, units):
    """Apply a units selection to every (n_a, T) array: {key: rows}, {key: unit indices}."""
    picked, chosen = {}, {}
    for key, values in arrays.items():
        chosen[key], picked[key] = select_units(values, units)
    return picked, chosen


def explain_seq(model, text, units=None, gates=None, layer=None):
    """Record of a recurrent classifier on one text (one forward pass, ``SeqNet.states``)."""
    from seqcli.text import pad_batch, word_tokens

    net = model.net
    words = model.tokenize(text)  # already cut to max_len
    ids = model.vocab.encode(words)
    X, lengths = pad_batch([ids])
    st = net.states(X, lengths)
    T = len(ids)
    n_layers = net.layers
    shown = resolve_layer(layer, n_layers)
    layers = list(range(n_layers)) if layer is None else [shown]
    directions = ["fw", "bw"] if net.bidirectional else ["fw"]
    full = {k: st[f"enc.{k}"][:T, :, 0].T for k in _layer_keys(net.cell, layers, directions, gates)}
    arrays, chosen = pick(full, units)
    probs = st["final"][:, 0]
    winner = int(np.argmax(probs))
    n_words = len(word_tokens(text, model.config.lowercase))
    return {
        "kind": "seq", "text": text, "tokens": list(words),
        "oov": [i for i, j in enumerate(ids) if j == 1],
        "truncated": max(0, n_words - len(words)),
        "cell": net.cell, "n_layers": n_layers, "layer": shown, "layers": layers,
        "directions": directions, "hidden": net.hidden, "pool": net.pool,
        "classes": list(model.classes), "probs": probs, "winner": winner,
        "label": model.classes[winner], "prefix_proba": st["proba"][:, :T, 0],
        "units_mode": units_mode(units), "units": chosen, "arrays": arrays,
        "fields": gates if gates is not None else DEFAULT_ROWS[net.cell],
    }


def units_mode(units):
    if units is None:
        return "mean"
    if isinstance(units, tuple):
        return f"top:{units[1]}"
    return "list"


def explain_lm(model, text, units=None, gates=None, layer=None):
    """Record of a character language model on one text: one forward pass over its characters.

    The text is read as it sits in a corpus, after a newline (when the vocabulary has one); that
    newline is context only and is not part of the record. Characters the model never saw are left
    out (listed in "skipped")."""
    from seqcli.nn import cells
    from seqcli.nn.functional import softmax

    net = model.net
    ids = model.encode(text, skip_unknown=True)
    start = 0 if model.newline is None else 1
    fed = np.concatenate([[model.newline], ids]) if start else ids
    T = len(ids)
    n_layers = net.layers
    shown = resolve_layer(layer, n_layers)
    layers = list(range(n_layers)) if layer is None else [shown]
    full = {}
    char_proba = np.full(T, np.nan)
    if len(fed):
        logits, cache, _ = net.forward(fed.reshape(-1, 1))
        for i in layers:
            st = cells.states(net.cell, cache.rnn.caches[i])
            for f in (gates if gates is not None else FIELDS[net.cell]):
                full[f"l{i}.fw.{f}"] = st[f][start:, :, 0].T
        P = softmax(logits, axis=0)                          # (n_vocab, len(fed)): column t predicts t+1
        nxt = np.arange(len(fed) - 1)
        p_next = P[fed[1:], nxt]                              # probability of each fed character but the first
        char_proba[1 - start:] = p_next                       # without a newline, char 0 has none
    else:
        for i in layers:
            for f in (gates if gates is not None else FIELDS[net.cell]):
                full[f"l{i}.fw.{f}"] = np.zeros((net.hidden, 0), net.dtype)
    arrays, chosen = pick(full, units)
    return {
        "kind": "lm", "split": model.units.split, "text": text, "tokens": list(model.decode(ids)),
        "skipped": model.unknown_chars(text), "cell": net.cell, "n_layers": n_layers, "layer": shown,
        "layers": layers, "directions": ["fw"], "hidden": net.hidden,
        "units_mode": units_mode(units), "units": chosen,
        "arrays": arrays, "char_proba": char_proba,
        "fields": gates if gates is not None else ("a",),
    }


# ------------------------------------------------------------------------------ JSON

JSON_DIGITS = 6   # as predict --json rounds probabilities


def _rounded(value):
    """A JSON-ready value with every float rounded to JSON_DIGITS decimals."""
    if isinstance(value, float):
        return round(value, JSON_DIGITS)
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def floats(a):
    """Nested lists of Python floats equal to the array's values (``to_json`` rounds them after)."""
    return np.asarray(a, dtype=np.float64).tolist()


def _nan_to_none(values):
    return [None if v != v else v for v in values]


def to_json(record):
    """A JSON-ready dict of a record (what ``--explain --json`` writes, one per input line); floats are
    rounded to JSON_DIGITS decimals, as ``predict --json`` rounds them."""
    return _rounded(_json(record))


def _json(record):
    kind = record["kind"]
    if kind == "tagger":
        from seqcli.explain.tagger import to_json as tagger_json

        return tagger_json(record)
    if kind == "seq2seq":
        from seqcli.explain.alignment import to_json as alignment_json

        return alignment_json(record)
    if kind == "attention":
        from seqcli.explain.attention import to_json as attention_json

        return attention_json(record)
    if kind == "bow":
        return {
            "text": record["text"], "model": {"kind": "bow", "analyzer": record["analyzer"]},
            "label": record["label"],
            "probs": {c: float(p) for c, p in zip(record["classes"], record["probs"])},
            "tokens": record["tokens"], "token_scores": floats(record["token_scores"]),
            "bias": record["bias"], "score": record["score"], "features": record["features"],
        }
    out = {"text": record["text"],
           "model": {"kind": kind, "cell": record["cell"], "layers": record["n_layers"],
                     "hidden": record["hidden"]},
           "tokens": record["tokens"]}
    if kind == "seq":
        out["model"].update(bidirectional=len(record["directions"]) == 2, pool=record["pool"])
        classes = record["classes"]
        out.update(label=record["label"], probs={c: float(p) for c, p in zip(classes, record["probs"])},
                   prefix_proba={c: floats(row) for c, row in zip(classes, record["prefix_proba"])},
                   oov=record["oov"])
        if record["truncated"]:
            out["truncated"] = record["truncated"]
    else:
        out.update(skipped=record["skipped"], char_proba=_nan_to_none(floats(record["char_proba"])))
    out["gates"] = {k: {"units": record["units"][k], "values": floats(v)} for k, v in record["arrays"].items()}
    return out
