"""predict's output lines: one line (without newline) per input text, plain or JSON, for each kind of
model (classifiers, language models, encoder-decoders; a tagger's are in models/tagio.py). Each
function takes batches of texts and yields the batch's lines, so a pipe gets them as they come."""

import json

import numpy as np

from seqcli.errors import UsageError


def _quiet(message):
    pass


def predict_lines(model, batches, as_json=False, with_proba=False, notify=_quiet, source=None, jobs=1):
    """For each batch of texts, the list of output lines (without newlines) of a classifier.

    A recurrent classifier reads at most its max_len tokens of a text: the texts it cut are said
    once through ``notify`` at the end (naming ``source``), as undecodable lines are.
    jobs > 1: the batches are scored in that many processes, the output still in input order and
    streaming (stream.ordered_map)."""
    from seqcli.stream import ordered_map

    counts_cut = getattr(model, "kind", None) == "seq"

    def lines(texts):   # -> (output lines, indices of the texts cut)
        where = []
        probs = model.predict_proba(texts, cut=where) if counts_cut else model.predict_proba(texts)
        return format_predictions(model.classes, probs, as_json, with_proba), where

    cut, done = [], 0   # numbers (1-based) of the texts cut
    for out, where in ordered_map(lines, batches, jobs):
        cut.extend(done + i + 1 for i in where)
        done += len(out)
        yield out
    if cut:
        limit, n = model.config.max_len, len(cut)
        shown = ", ".join(map(str, cut[:5])) + (f" and {n - 5} more" if n > 5 else "")
        name = "<stdin>" if source in (None, "-") else str(source)
        notify(f"{name}: {n} text{'s' if n != 1 else ''} longer than the model's {limit:,} tokens, "
               f"read only up to there (--max-len when training): output line{'s' if n != 1 else ''} {shown}")


def format_prediction(classes, probs, as_json=False, with_proba=False):
    """One output line (without newline) for one text's class probabilities ``probs``."""
    best = int(np.argmax(probs))
    if as_json:
        return json.dumps({"label": classes[best],
                           "probs": {c: round(float(p), 6) for c, p in zip(classes, probs)}},
                          ensure_ascii=False)
    line = f"{classes[best]}\t{probs[best]:.4f}"
    if with_proba:
        line += "".join(f"\t{c}={p:.4f}" for c, p in zip(classes, probs))
    return line


def format_predictions(classes, probs, as_json=False, with_proba=False):
    """The output lines of a batch: ``format_prediction`` of each row of ``probs`` (m, n_classes), made
    in one go (argmax over the batch, one %-template mapped over the columns) for the same characters."""
    best = probs.argmax(axis=1)   # (m,) the first largest, as np.argmax of a row
    labels = np.array(classes, dtype=object)[best].tolist()
    if as_json:
        encode = json.JSONEncoder(ensure_ascii=False).encode   # json.dumps(..., ensure_ascii=False), built once
        return [encode({"label": label, "probs": {c: round(p, 6) for c, p in zip(classes, row)}})
                for label, row in zip(labels, probs.tolist())]
    # Python floats (tolist) are what float() of each float32 gives, so "%.4f" writes the same digits
    columns = [probs[np.arange(len(best)), best].tolist()]
    template = "%s\t%.4f"
    if with_proba:
        template += "".join(f"\t{c.replace('%', '%%')}=%.4f" for c in classes)
        columns += probs.T.tolist()
    return list(map(template.__mod__, zip(labels, *columns)))


def transduce_lines(model, batches, beam=1, nbest=1, max_len=None, as_json=False, notify=_quiet):
    """For each batch of sources, the output lines of a seq2seq model: the best target (with ``nbest``
    N > 1, the N best separated by tabs), or one JSON object per source with every hypothesis's
    log-probability and length-normalised score. Source tokens the model never saw are said once."""
    if nbest > beam:
        raise UsageError(f"--nbest {nbest} needs a beam at least as wide (--beam {nbest})")
    unknown, cut = {}, 0
    for texts in batches:
        for text in texts:
            tokens, dropped = model.source_tokens(text)
            unknown.update(dict.fromkeys(t for t in tokens if t not in model.src_vocab.index))
            cut += dropped > 0
        found = model.decode(texts, beam=beam, nbest=nbest, max_len=max_len)
        yield [_transduced(text, hyps, as_json) for text, hyps in zip(texts, found)]
    if unknown:
        shown = ", ".join(repr(t) for t in list(unknown)[:20]) + (" ..." if len(unknown) > 20 else "")
        notify(f"source tokens the model never saw (read as unknown): {shown}")
    if cut:
        from seqcli.models.seq2seq import MAX_SOURCE

        notify(f"{cut} source{'s' if cut != 1 else ''} longer than {MAX_SOURCE} tokens: only the first "
               f"{MAX_SOURCE} were read")


def _transduced(text, hyps, as_json):
    """One output line (without newline) for the hypotheses of one source, best first."""
    if not as_json:
        return "\t".join(h.text for h in hyps)
    best = hyps[0]
    return json.dumps({"source": text, "target": best.text, "logprob": round(best.logprob, 6),
                       "score": round(best.score, 6), "ended": best.ended,
                       "nbest": [{"target": h.text, "logprob": round(h.logprob, 6), "score": round(h.score, 6),
                                  "ended": h.ended} for h in hyps]}, ensure_ascii=False)


def score_lines(lm, batches, as_json=False, notify=_quiet):
    """For each batch of texts, the list of output lines of a language model: each text's bits per
    character (nan when nothing could be scored). Characters it never saw are left out, said once."""
    from seqcli.models.charlm import describe_chars

    unknown = {}
    for texts in batches:
        unknown.update(dict.fromkeys(lm.unknown_chars("".join(texts))))
        lines = []
        for text, bits in zip(texts, lm.score_lines(texts)):
            ok = bits == bits  # NaN when nothing on the line could be scored
            lines.append(json.dumps({"bits_per_char": round(float(bits), 4) if ok else None, "chars": len(text)})
                         if as_json else (f"{bits:.4f}" if ok else "nan"))
        yield lines
    if unknown:
        notify(f"left out of the scores, never seen by the model: {describe_chars(list(unknown))}")
