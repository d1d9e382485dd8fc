"""Explanations of Transformer models: where every head of every layer looked. Never prints; numpy only.

A record is built from ONE forward pass on one text (m = 1): the attention weights are the encoder
cache's own arrays (``TransformerEncoder.attention_weights``), the very matrices the prediction used.

- a classifier (kind "seq", cell "transformer"): the tokens, ``attention`` {layer: (heads, T, T)}
  where row t is how token t's query spread its weight over the tokens (each row sums to 1), and
  the probability of every class after every prefix: the model run on tokens 0..t alone, for every
  t, as one padded batch of T rows (a Transformer has no running state to read a prefix from);
- a tagger (kind "tagger"): the tokens (as predict splits them, cut to the most its network reads at
  once), the same attention rows, and each token's tag with its probability;
- a language model (kind "lm"): the characters as the model reads them, after a newline (when its
  vocabulary has one, shown as the first token), cut to one block; the same attention rows (causal:
  nothing right of the diagonal) and the probability the model gave each character before reading it.

Selections: ``layer`` (0-based, negative from the top; None = every layer) and ``heads`` ("0,2", a
list, or None = every head), checked against the model before any text is read.
"""

import numpy as np

from seqcli.errors import SeqcliError


def usage(message):
    return SeqcliError(message, exit_code=2)


def is_transformer(model):
    return getattr(getattr(model, "net", None), "cell", None) == "transformer"


def parse_heads(spec, n_heads):
    """None / "" -> every head; "0,2" or [0, 2] -> [0, 2] (each within the model's heads)."""
    if spec is None or (isinstance(spec, str) and not spec.strip()):
        return list(range(n_heads))
    parts = spec if isinstance(spec, (list, tuple)) else str(spec).replace(" ", "").split(",")
    try:
        heads = [int(h) for h in parts if h != ""]
    except ValueError:
        raise usage(f"--head {spec!r}: give head numbers, e.g. 0,2") from None
    bad = [h for h in heads if not 0 <= h < n_heads]
    if not heads or bad:
        raise usage(f"--head {spec!r}: this model has {n_heads} head{'s' if n_heads != 1 else ''} per layer "
                    f"(0{f' to {n_heads - 1}' if n_heads > 1 else ''})")
    return list(dict.fromkeys(heads))


def check_options(model, units=None, gates=None, layer=None, heads=None):
    """(layers, heads) to show, after checking the options fit a Transformer (usage errors, exit 2)."""
    from seqcli.explain import resolve_layer

    if units is not None or gates is not None:
        raise usage("--units and --gate show a recurrent model's cells; a transformer has attention heads "
                    "(--head, --layer)")
    n_layers = model.net.layers
    layers = list(range(n_layers)) if layer is None else [resolve_layer(layer, n_layers)]
    return layers, parse_heads(heads, model.net.encoder.heads)


def explain_transformer(model, text, layers, heads, words=False):
    """The record of a Transformer classifier, tagger or language model on one text (see the module
    docstring); ``words``: a tagger's treebank tokenizer (--tokenize)."""
    if model.kind == "tagger":
        return _tagger(model, text, layers, heads, words)
    return (_classifier if model.kind == "seq" else _language_model)(model, text, layers, heads)


def _attention(net, cache, layers, heads):
    alpha = net.encoder.attention_weights(cache)
    return {i: alpha[i][0, heads] for i in layers}


def _classifier(model, text, layers, heads):
    from seqcli.nn.functional import softmax
    from seqcli.text import pad_batch, word_tokens

    net = model.net
    words = model.tokenize(text)
    ids = model.vocab.encode(words)
    X, lengths = pad_batch([ids])
    logits, cache = net.forward(X, lengths)
    probs = softmax(logits, axis=0)[:, 0]
    T = len(ids)
    if T:
        prefixes = np.where(np.arange(T)[:, None] <= np.arange(T)[None, :], X, 0)    # column t: tokens 0..t
        prefix_proba = net.predict_proba(prefixes, np.arange(1, T + 1))
    else:
        prefix_proba = np.zeros((len(model.classes), 0))
    winner = int(np.argmax(probs))
    return {"kind": "attention", "task": "classify", "text": text, "tokens": list(words),
            "oov": [i for i, j in enumerate(ids) if j == 1],
            "truncated": max(0, len(word_tokens(text, model.config.lowercase)) - len(words)),
            "n_layers": net.layers, "n_heads": net.encoder.heads, "hidden": net.hidden, "pool": net.pool,
            "layers": layers, "heads": heads, "attention": _attention(net, cache.encoder, layers, heads),
            "classes": list(model.classes), "probs": probs, "winner": winner, "label": model.classes[winner],
            "prefix_proba": prefix_proba}


def _tagger(model, text, layers, heads, words):
    from seqcli.models.tagger import tokenize

    net = model.net
    tokens = tokenize(text, words)
    shown = tokens[:model.piece_tokens()]
    word_ids, char_ids = model.encode([shown])
    T = len(shown)
    tags, probs = np.zeros(0, np.intp), np.zeros((len(model.tags), 0))
    attention = {i: np.zeros((len(heads), 0, 0)) for i in layers}
    if T:
        logits, cache = net.forward(net.batch(word_ids, char_ids))
        tag_ids, all_probs = net.outputs(logits, cache)
        tags, probs = tag_ids[:, 0], all_probs[:, :, 0].T                 # (T,), (n_tags, T)
        attention = _attention(net, cache.enc, layers, heads)
    return {"kind": "attention", "task": "tag", "text": text, "tokens": shown,
            "oov": [i for i, j in enumerate(word_ids[0]) if j == 1], "truncated": len(tokens) - T,
            "n_layers": net.layers, "n_heads": net.encoder.heads, "hidden": net.hidden, "crf": net.crf,
            "layers": layers, "heads": heads, "attention": attention, "tags": [model.tags[k] for k in tags],
            "tag_probs": probs[tags, np.arange(T)]}


def _language_model(model, text, layers, heads):
    from seqcli.nn.functional import softmax

    net = model.net
    ids = model.encode(text, skip_unknown=True)
    lead = [] if model.newline is None else [model.newline]
    fed = np.concatenate([lead, ids]).astype(np.int64)[:net.block_size]
    shown = len(fed) - len(lead)
    char_proba = np.full(len(fed), np.nan)
    if len(fed):
        logits, cache, _ = net.forward(fed[:, None])
        P = softmax(logits, axis=0)                      # column t predicts fed[t + 1]
        char_proba[1:] = P[fed[1:], np.arange(len(fed) - 1)]
        attention = _attention(net, cache.rnn, layers, heads)
    else:
        attention = {i: np.zeros((len(heads), 0, 0)) for i in layers}
    tokens = (["\n"] if lead else []) + list(model.decode(ids[:shown]))
    return {"kind": "attention", "task": "lm", "text": text, "tokens": tokens, "lead": len(lead),
            "skipped": model.unknown_chars(text), "truncated": max(0, len(ids) - shown),
            "n_layers": net.layers, "n_heads": net.encoder.heads, "hidden": net.hidden,
            "layers": layers, "heads": heads, "attention": attention, "char_proba": char_proba}


def _floats(a):
    return np.asarray(a, dtype=np.float64).tolist()


def to_json(record):
    """A JSON-ready dict of a record (what ``--explain --json`` writes, one per input line)."""
    kind = {"classify": "seq", "tag": "tagger"}.get(record["task"], "lm")
    out = {"text": record["text"],
           "model": {"kind": kind, "cell": "transformer",
                     "layers": record["n_layers"], "heads": record["n_heads"], "hidden": record["hidden"]},
           "tokens": record["tokens"],
           "attention": {f"l{i}": {f"h{h}": _floats(a[k]) for k, h in enumerate(record["heads"])}
                         for i, a in record["attention"].items()}}
    if record["task"] == "classify":
        classes = record["classes"]
        out["model"]["pool"] = record["pool"]
        out.update(label=record["label"], probs={c: float(p) for c, p in zip(classes, record["probs"])},
                   prefix_proba={c: _floats(row) for c, row in zip(classes, record["prefix_proba"])},
                   oov=record["oov"])
    elif record["task"] == "tag":
        out["model"]["crf"] = record["crf"]
        out.update(tags=record["tags"], probs=_floats(record["tag_probs"]), oov=record["oov"])
    else:
        out.update(skipped=record["skipped"],
                   char_proba=[None if v != v else v for v in _floats(record["char_proba"])])
    if record["truncated"]:
        out["truncated"] = record["truncated"]
    return out
