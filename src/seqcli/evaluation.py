"""``seqcli evaluate MODEL TEST``: a saved model's figures on a test file, for every model kind -- the
same figures ``train`` reports on its validation data at the end, computed the same way (the task
modules' readers and metrics), so evaluating on the file given to ``train --val`` gives train's figures.

- classifiers (bow, recurrent, transformer): accuracy, macro-F1, log-loss, per-class table, confusion
  matrix on a CSV/TSV of texts and labels. Rows whose label the model does not know are left out of the
  figures (the model can never predict them) and counted, by label.
- language models: nats per unit over the whole text (read in streams as train validates), bits per
  character or a word model's perplexity. Characters the model never saw are left out and counted.
- taggers: token accuracy, accuracy on words unseen in training, per-tag (or per span type) table, the
  most confused pairs, conlleval's span scores for BIO-like tags (the scheme of the training tags).
- encoder-decoders: teacher-forced loss, WER, token error rate, exact match (greedy; ``beam`` too).

Every report says what was evaluated: {"model", "kind", "described", "test", "task", ...}.
"""

import math

import numpy as np

from seqcli.errors import SeqcliError, UsageError

_LN2 = math.log(2.0)
TASK_OF_KIND = {"bow": "classify", "seq": "classify", "lm": "lm", "tagger": "tag", "seq2seq": "seq2seq"}


def _quiet(message):
    pass


def describe(model):
    """'a recurrent classifier', 'a transformer classifier', 'a word language model', ... for a header."""
    kind = model.kind
    if kind == "bow":
        return "a bag-of-words classifier"
    if kind == "seq":
        return "a transformer classifier" if model.config.cell == "transformer" else "a recurrent classifier"
    if kind == "lm":
        unit = "word" if model.units.split == "word" else "character"
        return f"a {'transformer ' if model.net.config().get('cell') == 'transformer' else ''}{unit} language model"
    return {"tagger": "a sequence tagger", "seq2seq": "a sequence-to-sequence model"}.get(kind, f"a {kind} model")


def check_columns(kind, columns, beam):
    """A usage error for options that do not apply to a model of ``kind`` (never silently ignored)."""
    allowed = {"classify": {"text_col", "label_col"}, "lm": {"text_col"}, "tag": {"format", "tag_col", "text_col"},
               "seq2seq": {"source_col", "target_col"}}[TASK_OF_KIND[kind]]
    given = sorted(k for k, v in (columns or {}).items() if v is not None and k not in allowed)
    if beam is not None and kind != "seq2seq":
        given.append("beam")
    if given:
        flags = ", ".join("--" + ("format" if k == "format" else k.replace("_", "-")) for k in given)
        raise UsageError(f"{flags} {'does' if len(given) == 1 else 'do'} not apply to {describe_kind(kind)}")


def describe_kind(kind):
    from seqcli.persist import describe_kind as name

    noun = name(kind)
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def evaluate(model_path, test, columns=None, beam=None, notify=_quiet):
    """Figures of the model in ``model_path`` on ``test`` (a path or ``-``); one JSON-ready dict.

    columns: {"text_col", "label_col"} (classifiers; "text_col" alone for a language model's CSV),
    {"format", "tag_col", "text_col"} (taggers), {"source_col", "target_col"} (encoder-decoders).
    beam: an encoder-decoder's beam width, scored besides greedy search. Raises SeqcliError."""
    from seqcli import data, models

    model = models.load(model_path)
    check_columns(model.kind, columns, beam)
    task = TASK_OF_KIND[model.kind]
    head = {"model": str(model_path), "kind": model.kind, "described": describe(model), "task": task,
            "test": data.display_name(test)}
    run = {"classify": _classify, "lm": _lm, "tag": _tag, "seq2seq": _seq2seq}[task]
    return {**head, **run(model, test, columns or {}, notify, beam)}


def _classify(model, test, columns, notify, beam):
    from seqcli import data
    from seqcli.metrics import classification_report

    table = data.read_table(test, columns.get("text_col"), columns.get("label_col"))
    if table.skipped:
        notify(table.skipped_summary())
    known = set(model.classes)
    unknown = {}
    for label in table.labels:
        if label not in known:
            unknown[label] = unknown.get(label, 0) + 1
    keep = [i for i, label in enumerate(table.labels) if label in known]
    out = {"n": len(table.texts), "skipped_rows": len(table.skipped),
           "unknown_labels": dict(sorted(unknown.items())), "n_unknown_labels": len(table.texts) - len(keep)}
    if not keep:
        raise SeqcliError(f"{table.source}: no row has a label the model knows "
                          f"({', '.join(model.classes)}); the labels found: {', '.join(sorted(unknown))}")
    texts, labels = [table.texts[i] for i in keep], [table.labels[i] for i in keep]
    cut = [] if model.kind == "seq" else None
    proba = model.predict_proba(texts) if cut is None else model.predict_proba(texts, cut=cut)
    pred = np.array(model.classes)[proba.argmax(axis=1)]
    out["metrics"] = classification_report(labels, pred, model.classes, proba)
    if cut is not None:
        out.update(max_len=model.config.max_len, truncated=len(cut))
    return out


def _lm(model, test, columns, notify, beam):
    from seqcli.models.lmunits import describe_chars
    from seqcli.tasks.lm import VAL_STREAMS, WARMUP, read_text
    from seqcli.training.streams import make_streams, mean_nll

    text = read_text(test, {"text_col": columns.get("text_col")}, notify)
    word = model.units.split == "word"
    all_ids = model.encode(text, skip_unknown=True)
    unknown = (int((all_ids == 1).sum()) if word else len(text) - len(all_ids))   # <unk> words / dropped chars
    noun = "word" if word else "character"
    if len(all_ids) < 2:
        raise SeqcliError(f"{_name(test)}: too short to evaluate a language model on (needs two {noun}s "
                          "the model knows)")
    nats = mean_nll(model.net, make_streams(all_ids, VAL_STREAMS, WARMUP))
    out = {"split": model.units.split, "n_chars": len(text), "n_units": len(all_ids), "loss": round(nats, 6)}
    out.update({"ppl": round(math.exp(min(nats, 700.0)), 4)} if word else {"bpc": round(nats / _LN2, 6)})
    out[f"unknown_{noun}s"] = unknown
    if unknown and not word:
        notify(f"{_name(test)}: {unknown:,} character{'s' if unknown != 1 else ''} the model never saw, left out "
               f"of the figures: {describe_chars(model.unknown_chars(text))}")
    return out


def _tag(model, test, columns, notify, beam):
    from seqcli.metrics.spans import evaluate
    from seqcli.tasks.tag import read

    tagged = read(test, columns, notify)
    if not tagged.sentences:
        raise SeqcliError(f"{tagged.source}: no tagged sentence to evaluate on")
    known = set(model.tags)
    unknown = {}
    for t in (t for row in tagged.tags for t in row if t not in known):
        unknown[t] = unknown.get(t, 0) + 1
    if unknown:
        notify(f"{tagged.source}: {sum(unknown.values()):,} tokens have tags the model does not know "
               f"({', '.join(sorted(unknown)[:10])}): they count as errors")
    # the scheme of the training tags, as train's report used it (stored with its figures); else the test's
    stored = ((getattr(model, "header", None) or {}).get("training") or {}).get("metrics") or {}
    scheme = stored["scheme"] if "scheme" in stored else "auto"
    pred = model.predict(tagged.sentences)
    return {"n": len(tagged.sentences), "skipped_sentences": len(tagged.skipped),
            "data": {"format": tagged.format, "tag_col": tagged.tag_col},
            "unknown_tags": dict(sorted(unknown.items())),
            "metrics": evaluate(tagged.sentences, tagged.tags, pred, model.seen, scheme)}


def _seq2seq(model, test, columns, notify, beam):
    from seqcli.metrics.editdistance import score
    from seqcli.tasks.seq2seq import figures, group, make_valset, read_pairs

    sources, targets, name = read_pairs(test, columns, notify)
    if not sources:
        raise SeqcliError(f"{name}: no pair to evaluate on")
    distinct, refs = group(sources, targets)
    valset = make_valset(model, distinct, refs)
    fig, sc = figures(model, valset)
    out = {"n_pairs": len(sources), "n_sources": len(distinct), "source_split": model.config.source_split,
           "target_split": model.config.target_split, "loss": round(fig["loss"], 6), "exact": round(sc.exact, 6),
           "wer": round(sc.wer, 6), "ter": round(sc.error_rate, 6), "edits": sc.edits, "ref_tokens": sc.ref_tokens}
    if beam is not None:
        bs = score([o[0].tokens for o in model.decode(distinct, beam=beam)], valset.refs)
        out.update(beam=beam, beam_exact=round(bs.exact, 6), beam_wer=round(bs.wer, 6), beam_ter=round(bs.error_rate, 6))
    return out


def _name(source):
    return "<stdin>" if source in (None, "-") else str(source)
