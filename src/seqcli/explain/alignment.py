"""Explanations of an encoder-decoder: the attention matrix of one generated target (target steps x
source tokens), the very weights the search read while it decoded. Never prints; numpy only."""

import numpy as np

END_SHOWN = "</s>"   # the row of the step that chose the end symbol


def explain_seq2seq(model, text, beam=1, max_len=None):
    """Record of a seq2seq model on one source: its best target and the attention of each step.

    "attention" is (steps, source tokens): row t the weights of step t over the source (a row per
    target token, and one for the end symbol when the target ended)."""
    from seqcli.models.seq2seq import MAX_SOURCE

    tokens, dropped = model.source_tokens(text)
    best = model.decode([text], beam=beam, nbest=1, max_len=max_len, attention=True)[0][0]
    ids = model.src_vocab.encode(tokens)
    rows = best.tokens + ([END_SHOWN] if best.ended else [])
    attention = best.attention if best.attention is not None else np.zeros((len(rows), len(tokens)))
    return {"kind": "seq2seq", "text": text, "tokens": tokens, "unknown": [i for i, j in enumerate(ids) if j == 1],
            "truncated": dropped, "max_source": MAX_SOURCE, "target": best.text, "target_tokens": rows,
            "ended": best.ended, "logprob": best.logprob, "score": best.score,
            "attention": np.asarray(attention, dtype=np.float64), "cell": model.net.cell,
            "attention_kind": model.net.attention, "beam": beam}


def to_json(record):
    """The JSON-ready dict of a record (what ``--explain --json`` writes)."""
    return {"text": record["text"], "model": {"kind": "seq2seq", "cell": record["cell"],
                                              "attention": record["attention_kind"]},
            "source_tokens": record["tokens"], "target": record["target"],
            "target_tokens": record["target_tokens"], "ended": record["ended"],
            "logprob": record["logprob"], "score": record["score"], "unknown": record["unknown"],
            "attention": record["attention"].tolist()}
