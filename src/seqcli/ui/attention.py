"""Drawing a Transformer's explanation (records of explain/attention.py), with the heatmap primitives of
ui/heatmap.py: one tokens x tokens grid per layer and head (row: the token whose query reads; columns:
the tokens it reads; each row's weights sum to 1), then the probability after every prefix (a
classifier), of each token's tag (a tagger) or of every character before it was read (a language model). rich is imported lazily.
"""

from seqcli.ui.heatmap import PANEL_PAD, Scale, fit, grid_lines, visible

ROW_LABEL = 12      # longest row label (a query token) before it is cut


def _labels(record):
    """Token labels: a language model's characters made visible (newline ↵, space ␣)."""
    if record["task"] == "lm":
        return ["␣" if t == " " else visible(t) for t in record["tokens"]]
    return list(record["tokens"])


def _title(record, width):
    if record["task"] == "lm":
        return f"Transformer language model · {len(record['tokens']) - record['lead']} characters"
    if record["task"] == "tag":
        return fit(" ".join(f"{t}/{g}" for t, g in zip(record["tokens"], record["tags"])), max(width - 8, 10))
    text = " ".join(record["text"].split())
    tail = f" → {record['label']} {record['probs'][record['winner']]:.2f}"
    return f"“{fit(text, max(width - len(tail) - 8, 10))}”{tail}"


def _notes(record):
    notes = []
    if record.get("oov"):
        notes.append("unknown to the model: " + ", ".join(dict.fromkeys(record["tokens"][i] for i in record["oov"])))
    if record.get("skipped"):
        notes.append("left out, the model never saw them: " + " ".join(map(repr, record["skipped"])))
    if record["truncated"]:
        what = "characters (one block)" if record["task"] == "lm" else "tokens"
        notes.append(f"only the first {len(record['tokens']) - record.get('lead', 0)} {what} are read "
                     f"({record['truncated']} more dropped)")
    if record["task"] == "lm" and record["lead"]:
        notes.append("the text is read after a newline (↵), as a line of the corpus")
    return notes


def _probability_rows(record, scale, tokens):
    """The probability row, its label padded as wide as the token labels (so the columns line up)."""
    pad = max(len(fit(tok, ROW_LABEL)) for tok in tokens)
    if record["task"] == "classify":
        label = fit(f"P({record['label']})", ROW_LABEL)
        return [(label.ljust(pad), "P", record["prefix_proba"][record["winner"]], scale)]
    if record["task"] == "tag":
        return [("P(tag)".ljust(pad), "P", record["tag_probs"], scale)]
    return [("P(char)".ljust(pad), "P", record["char_proba"], scale)]


def render_attention(console, record, colour):
    """One panel: what the model is, a grid per layer and head, the probability row, the legend."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.text import Text

    width = console.width - PANEL_PAD
    dim = "dim" if colour else None
    tokens = _labels(record)
    scale = Scale()
    n_l, n_h = record["n_layers"], record["n_heads"]
    body = [Text(f"Transformer · {n_l} layer{'s' if n_l != 1 else ''} × {n_h} head{'s' if n_h != 1 else ''} · "
                 f"width {record['hidden']}" + (f" · {record['pool']} pooling" if "pool" in record else ""),
                 style=dim)]
    body += [Text(note, style=dim) for note in _notes(record)]
    body.append(Text(""))
    if not tokens:
        body.append(Text("(no tokens: the prediction is the model's answer for an empty text)"))
    else:
        oov = set(record.get("oov", ()))
        for i in record["layers"]:
            for k, h in enumerate(record["heads"]):
                body.append(Text(f"layer {i} · head {h}", style="bold" if colour else None))
                rows = [(fit(tok, ROW_LABEL), "P", record["attention"][i][k][t], scale) for t, tok in enumerate(tokens)]
                body += grid_lines(tokens, rows, width, colour, dim=oov)
                body.append(Text(""))
        body += grid_lines(tokens, _probability_rows(record, scale, tokens), width, colour, dim=oov)
        body.append(Text(""))
    body.append(Text("rows: the token that reads; columns: the tokens it reads (its weights sum to 1)"
                     + ("; the model sees nothing to the right of the diagonal" if record["task"] == "lm" else "")))
    if record["task"] == "classify":
        body.append(Text(f"P({record['label']}): the model run on the tokens up to each column alone"))
    if record["task"] == "tag":
        body.append(Text("P(tag): the probability of each token's tag" + (" (CRF marginals)" if record["crf"] else "")))
    if not colour:
        body.append(Text("shade  ░ <25%  ▒ <50%  ▓ <75%  █ ≥75%, of 0 to 1; numbers are the values"))
    console.print(Panel(Group(*body), title=Text(_title(record, width)), title_align="left", expand=False))
