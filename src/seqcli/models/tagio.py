"""A tagger's input and output streams for ``seqcli predict TAGGER``: plain text or CoNLL in, tags out.

The input comes as batches of lines (``seqcli.stream``: a batch is handed on as soon as no more input
is ready, so an interactive pipe gets each answer at once). Its format is

- ``conllu`` / ``conll``: given (``--format``), or from the name (``.conllu``; ``.conll``, ``.bio``, ...),
  or a CoNLL-U token line as the input's first line that is neither blank nor a comment. Each sentence
  is written back as it came with its tag column filled (``--tag-col``; CoNLL: the last column, or a
  new one for lines that have only the token), as soon as its blank line arrives, so the output is a
  file of the same format that any CoNLL tool can score;
- otherwise plain text: one sentence per line, split at whitespace (or into treebank-style tokens with
  ``words``), one output line per input line: ``word/TAG word/TAG ...``, or with ``as_json``
  ``{"tokens": [...], "tags": [...], "probs": [...]}`` (each token's probability of its tag). An empty
  line gives an empty line (``{"tokens": [], ...}``).

One bad sentence never ends a stream: a CoNLL sentence with a bad line is written back unchanged and
counted in one warning at the end.
"""

import json

from seqcli.errors import SeqcliError
from seqcli.models.tagger import tokenize


def input_format(name, head, fmt=None):
    """"conllu", "conll" or "text" for an input named ``name`` whose first lines are ``head``."""
    from seqcli.data.conll import guess_format
    from seqcli.data.conllblocks import normalize_format

    if fmt is not None:
        fmt = normalize_format(fmt)
        if fmt == "csv":
            raise SeqcliError(f"{name}: a tagger reads plain text (one sentence per line), CoNLL-U or "
                              "CoNLL; for a CSV, give its tokens column as text")
        return fmt
    return guess_format(name, head, plain_text=True)


def _significant(line):
    return bool(line.strip(" \t")) and not line.startswith("#")


def tag_stream(model, batches, name, as_json=False, words=False, fmt=None, tag_col=None, notify=None):
    """Lists of output lines (without newlines), one list per input batch (see the module docstring)."""
    notify = notify or (lambda message: None)
    batches = iter(batches)
    head = []
    for batch in batches:   # the lines up to the first one that tells the format
        head.extend(batch)
        if fmt is not None or any(_significant(line) for line in batch):
            break
    cut = next((i + 1 for i, line in enumerate(head) if _significant(line)), len(head))
    kind = input_format(name, head[:cut], fmt)
    rest = _chain([head] if head else [], batches)
    if kind == "text":
        return _text(model, rest, as_json, words)
    return _conll(model, rest, kind, tag_col, name, as_json, notify)


def _chain(first, rest):
    yield from first
    yield from rest


def _text(model, batches, as_json, words):
    for lines in batches:
        sentences = [tokenize(line, words) for line in lines]
        yield [format_line(model, s, tags, probs, as_json) for s, (tags, probs) in zip(sentences, model.tag(sentences))]


def format_line(model, tokens, tags, probs, as_json=False):
    """``word/TAG word/TAG ...`` (or the JSON object) of one tagged sentence; probs (L, n_tags)."""
    names = [model.tags[k] for k in tags]
    if as_json:
        chosen = [round(float(probs[i, k]), 6) for i, k in enumerate(tags)]
        return json.dumps({"tokens": tokens, "tags": names, "probs": chosen}, ensure_ascii=False)
    return " ".join(f"{w}/{t}" for w, t in zip(tokens, names))


def _conll(model, batches, fmt, tag_col, name, as_json, notify):
    """CoNLL-U / CoNLL blocks tagged and written back as each one completes."""
    from seqcli.data.conllblocks import BlockReader, format_block

    reader = BlockReader(fmt, tag_col, name, need_tags=False)
    bad = []

    def answer(blocks):
        words = [b for b in blocks if b.tokens]
        tagged = dict(zip(map(id, words), model.tag([b.tokens for b in words])))
        out = []
        for block in blocks:
            if block.problem is not None:
                bad.append(block.problem[0])
            result = tagged.get(id(block))
            if as_json:
                if block.tokens:
                    out.append(format_line(model, block.tokens, *result, as_json=True))
                continue
            tags = None if result is None else [model.tags[k] for k in result[0]]
            out.append(format_block(block, tags)[:-1])    # the writer ends every line
        return out

    for lines in batches:
        blocks = [b for b in map(reader.feed, lines) if b is not None]
        if blocks:
            yield answer(blocks)
    last = reader.finish()
    if last is not None:
        yield answer([last])
    if bad:
        shown = ", ".join(map(str, bad[:5])) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        notify(f"{name}: {len(bad)} sentence{'s' if len(bad) != 1 else ''} with a bad line written back "
               f"untagged (line{'s' if len(bad) != 1 else ''} {shown})")
