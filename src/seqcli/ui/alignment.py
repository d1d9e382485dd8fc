"""Drawing a seq2seq model's attention (``seqcli predict MODEL --explain``): one panel per source, rows
the target steps, columns the source tokens, every cell shaded by its attention weight (0 to 1) with
the heatmap primitives of ui/heatmap.py (the gate heatmaps' scale and shades)."""

from seqcli.ui.heatmap import MAX_LABEL, PANEL_PAD, Scale, fit, grid_lines


def render_alignment(console, record, colour):
    """One panel: the source and its target in the title, the attention matrix, a legend."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.text import Text

    width = console.width - PANEL_PAD
    dim = "dim" if colour else None
    ended = "" if record["ended"] else " (cut at --max-len)"
    body = [Text(f"{record['cell'].upper()} · {record['attention_kind']} attention · rows: target steps, "
                 f"columns: source tokens · log P {record['logprob']:.3f}{ended}", style=dim)]
    if record["unknown"]:
        body.append(Text("unknown to the model: " + ", ".join(
            dict.fromkeys(record["tokens"][i] for i in record["unknown"])), style=dim))
    if record["truncated"]:
        body.append(Text(f"only the first {record['max_source']} source tokens are read "
                         f"({record['truncated']} more dropped)"))
    body.append(Text(""))
    if record["attention_kind"] == "none":
        body.append(Text("(this model has no attention: its decoder reads only the encoder's final state)"))
    elif not record["tokens"]:
        body.append(Text("(empty source: nothing to attend to)"))
    else:
        scale = Scale()
        rows = [(fit(tok, MAX_LABEL), "P", weights, scale)
                for tok, weights in zip(record["target_tokens"], record["attention"])]
        body += grid_lines(record["tokens"], rows, width, colour, dim=set(record["unknown"]))
        body.append(Text(""))
        body.append(_legend(scale, colour))
    title = f"“{fit(record['text'], max(width // 2 - 4, 8))}” → {fit(record['target'], max(width // 2 - 4, 8))}"
    console.print(Panel(Group(*body), title=Text(title), title_align="left", expand=False))


def _legend(scale, colour):
    from rich.text import Text

    if not colour:
        return Text("shade  ░ <25%  ▒ <50%  ▓ <75%  █ ≥75%; numbers are the attention weights (0 to 1; "
                    "each row sums to 1)")
    t = Text("scale  0 ")
    for k in range(10):
        t.append("  ", style=scale.style(k / 9))
    t.append(" 1  attention weight (each row sums to 1)")
    return t
