"""Rich rendering of explanations (``seqcli predict MODEL --explain``): heatmap panels, coloured words and
characters, saturation tables, JSON Lines. The records come from ``seqcli.explain`` (pure logic, through
the api); this module only draws them (primitives: ui/heatmap.py). rich is imported inside the functions.

Heatmap layout (recurrent classifiers): one panel per input; columns are the tokens, wrapped into
blocks that fit the console width; one row per field (the mean over units, or one row per chosen
unit), then the probability of the winning class after each token.
"""

import json
import sys

from seqcli import explain as ex
from seqcli.ui.heatmap import (PANEL_PAD, Scale, char_strip, colour_enabled, fit, fmt, gate_rows, grid_lines,
                               heat_rows, legend_lines, make_console, scale_for)


def _title(record, width):
    text = " ".join(record["text"].split())
    p = record["probs"][record["winner"]] if "probs" in record else None
    tail = f" → {record['label']} {p:.2f}" if p is not None else ""
    return f"“{fit(text, max(width - len(tail) - 8, 10))}”{tail}"


def _info(record):
    mode = record["units_mode"]
    n = record["hidden"]
    what = {"mean": f"mean over {n} units", "list": "units " + ", ".join(
        str(u) for u in next(iter(record["units"].values()), []))}.get(mode)
    if what is None:
        what = f"top {mode[4:]} varying units of each field"
    kind = record["cell"].upper() + (" bidirectional" if len(record["directions"]) == 2 else "")
    layer = f"layer {record['layer']} of 0..{record['n_layers'] - 1}" if record["n_layers"] > 1 else "1 layer"
    return f"{kind} · {layer} · {what}"


def render_seq(console, record, colour):
    """One panel: title, info line, heatmap blocks, legend."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.text import Text

    width = console.width - PANEL_PAD
    body = [Text(_info(record), style="dim" if colour else None)]
    if record["oov"]:
        body.append(Text("unknown to the model: " + ", ".join(dict.fromkeys(record["tokens"][i] for i in record["oov"])),
                         style="dim" if colour else None))
    if record["truncated"]:
        body.append(Text(f"only the first {len(record['tokens'])} tokens are read ({record['truncated']} more dropped)"))
    body.append(Text(""))
    rows = heat_rows(record)
    if record["tokens"]:
        body += grid_lines(record["tokens"], rows, width, colour, dim=set(record["oov"]))
    else:
        body.append(Text("(no tokens: the prediction is the model's answer for an empty text)"))
    c_rows = [r for r in rows if r[1] == "c"]
    body.append(Text(""))
    body += legend_lines(tuple(dict.fromkeys(r[1] for r in rows if r[1] != "P")), colour,
                         c_rows[0][3].limit if c_rows else None)
    console.print(Panel(Group(*body), title=Text(_title(record, width)), title_align="left", expand=False))


# ------------------------------------------------------------------------------ tagger

def render_tagger(console, record, colour):
    """One panel: the tagged sentence, then a heatmap of tokens x rows: the probability of each top tag
    at each token (the tag given is that column's brightest P row), then the gates as for classifiers."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.text import Text

    width = console.width - PANEL_PAD
    output = " ".join(f"{w}/{t}" for w, t in zip(record["tokens"], record["tags"]))
    body = [Text(_info(record) + (" · CRF (marginals; tags: the best sequence)" if record["crf"] else ""),
                 style="dim" if colour else None)]
    if record["oov"]:
        body.append(Text("unknown to the model (tagged from their letters): " + ", ".join(
            dict.fromkeys(record["tokens"][i] for i in record["oov"])), style="dim" if colour else None))
    body.append(Text(""))
    if not record["tokens"]:
        body.append(Text("(no tokens)"))
    else:
        rows = [(fit(f"P({t})", 12), "P", v, scale_for("P")) for t, v in zip(record["top_tags"], record["top_probs"])]
        rows += gate_rows(record)
        body += grid_lines(record["tokens"], rows, width, colour, dim=set(record["oov"]))
        body.append(Text(""))
        body += legend_lines(tuple(dict.fromkeys(r[1] for r in rows if r[1] != "P")), colour,
                             next((r[3].limit for r in rows if r[1] == "c"), None))
    console.print(Panel(Group(*body), title=Text(fit(output, max(width - 8, 10))), title_align="left", expand=False))


# ------------------------------------------------------------------------------ bag of words

def render_bow(console, record, colour, top=ex.TOP_BOW):
    """Words coloured by their share of the winning class's score, and the top features table."""
    import numpy as np
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    width = console.width - PANEL_PAD
    label = record["label"]
    scores = record["token_scores"]
    limit = float(np.abs(scores).max()) if len(scores) else 1.0
    scale = Scale(True, limit or 1.0)
    body = []
    if not record["tokens"]:
        body.append(Text("(no words the model knows)"))
    elif record["analyzer"] == "word":
        line = Text()
        for k, (tok, s) in enumerate(zip(record["tokens"], scores)):
            if k:
                line.append(" ")
            if colour:
                line.append(f" {tok} ", style=scale.style(s))
            else:
                line.append(f"{tok}({s:+.2f})")
        body.append(line)
    else:
        body += char_strip(record["tokens"], scores, scale, width, colour)
    body.append(Text(""))
    if colour:
        t = Text("scale  ")
        t.append(f"against {label} ")
        for k in range(11):
            t.append("  ", style=scale.style(limit * (-1 + k / 5)))
        t.append(f" for {label}   (±{limit:.2f})")
        body.append(t)
    else:
        body.append(Text(f"each word's share of the score of {label!r}: + pushes towards it, - away"))
    body.append(Text(f"score({label}) = bias {record['bias']:+.3f} + Σ w·x "
                     f"{record['score'] - record['bias']:+.3f} = {record['score']:+.3f}"))
    table = Table(show_edge=False, pad_edge=False, title=None, expand=False,
                  header_style="bold" if colour else "")
    table.add_column("", justify="center")
    table.add_column("feature", overflow="fold", max_width=max(width - 40, 12))
    for col in ("x", "w", "w·x"):
        table.add_column(col, justify="right")
    for sign, feats in (("+", record["top_positive"][:top]), ("-", record["top_negative"][:top])):
        for k, f in enumerate(feats):
            style = (scale.style(f["contribution"]) if colour else None)
            table.add_row(sign, f["feature"], f"{f['value']:.3f}", f"{f['weight']:+.3f}",
                          Text(f"{f['contribution']:+.3f}", style=style),
                          end_section=(sign == "+" and k == len(feats) - 1))
    if record["top_positive"] or record["top_negative"]:
        body.append(Text(""))
        body.append(Text(f"top features for and against {label!r}"))
        body.append(table)
    console.print(Panel(Group(*body), title=Text(_title(record, width)), title_align="left", expand=False))


def _with_skipped(record, values):
    """(every character of the text, its value or None for characters the model never saw); a word
    model's record: (its words, each followed by a space, and their values)."""
    if record.get("split") == "word":
        return [w + " " for w in record["tokens"]], list(values)
    skipped = set(record["skipped"])
    chars, out, k = list(record["text"]), [], 0
    for ch in chars:
        if ch in skipped:
            out.append(None)
        else:
            out.append(values[k])
            k += 1
    return chars, out


def render_lm(console, record, colour, stats=None):
    """Each kept unit of the shown layer colours the characters; then the text's gate saturation."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.text import Text

    width = console.width - PANEL_PAD
    body = []
    if record["skipped"]:
        body.append(Text("not coloured, the model never saw them: " + " ".join(map(repr, record["skipped"]))))
    layer = record["layer"]
    for f in record["fields"]:
        key = f"l{layer}.fw.{f}"
        if key not in record["arrays"]:
            continue
        values, units = record["arrays"][key], record["units"][key]
        if record["units_mode"] == "mean":  # one unit colours the text: the one that varies most
            units, values = ex.select_units(values, ("top", 1))
        scale = scale_for(f, values)
        for i, u in enumerate(units):
            lo, hi = (0, 1) if not scale.signed else (-scale.limit, scale.limit)
            body.append(Text(f"layer {layer} · {ex.FIELD_LABELS[f]} ({ex.FIELD_NAMES[f]}) · unit {u}"
                             f" · scale {fmt(lo)} to {fmt(hi)}", style="bold" if colour else None))
            body += char_strip(*_with_skipped(record, values[i]), scale, width, colour)
            body.append(Text(""))
    if not colour:
        body.append(Text("shade  ░ <25%  ▒ <50%  ▓ <75%  █ ≥75% of the scale (by |value| when signed)"))
    if stats is not None:
        body.append(Text(""))
        body.append(stats_table(stats, colour))
    noun = "words" if record.get("split") == "word" else "characters"
    title = f"{record['cell'].upper()} language model · {len(record['tokens'])} {noun}"
    console.print(Panel(Group(*body), title=Text(title), title_align="left", expand=False))


# ------------------------------------------------------------------------------ saturation

def stats_table(stats, colour=False):
    """Gate saturation per layer / direction / gate: a title line and a rich Table."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    bi = any(r["direction"] == "bw" for r in stats["rows"])
    n = stats["n_texts"]
    title = Text(f"gate saturation over {n} text{'s' if n != 1 else ''}, {stats['n_steps']} steps: "
                 f"share of values < {ex.LOW} and > {ex.HIGH}", style="italic" if colour else None)
    table = Table(show_edge=False, header_style="bold" if colour else "")
    table.add_column("layer", justify="right")
    if bi:
        table.add_column("dir")
    table.add_column("gate")
    for col in (f"< {ex.LOW}", f"> {ex.HIGH}", "saturated", "mean"):
        table.add_column(col, justify="right")
    pct = lambda v: "-" if v != v else f"{100 * v:.1f}%"  # noqa: E731
    for r in stats["rows"]:
        name = ex.FIELD_LABELS[r["gate"]] + " " + ex.FIELD_NAMES[r["gate"]]
        if r["gate"] == "a":
            name += " (|a|)"
        cells = [str(r["layer"])] + ([r["direction"]] if bi else []) + [name, pct(r["low"]), pct(r["high"]),
                                                                      pct(r["saturated"]),
                                                                      "-" if r["mean"] != r["mean"] else f"{r['mean']:.3f}"]
        table.add_row(*cells)
    return Group(title, table)


# ------------------------------------------------------------------------------ entry points

def render_record(console, record, colour):
    if record["kind"] == "attention":
        from seqcli.ui.attention import render_attention

        render_attention(console, record, colour)
    elif record["kind"] == "seq2seq":
        from seqcli.ui.alignment import render_alignment

        render_alignment(console, record, colour)
    elif record["kind"] == "seq":
        render_seq(console, record, colour)
    elif record["kind"] == "tagger":
        render_tagger(console, record, colour)
    elif record["kind"] == "bow":
        render_bow(console, record, colour)
    else:
        render_lm(console, record, colour, record.get("saturation"))


def render(records, *, as_json=False, no_color=False, console=None, file=None):
    """``seqcli predict MODEL --explain``: draw (or write as JSON Lines) each record as it comes.

    records: explanation records (api.explain). Output goes to ``console`` (made on ``file`` / stdout
    when None); JSON to ``file`` (default stdout), flushed per line when it is not a terminal.
    Returns the number of records.
    """
    n = 0
    if as_json:
        out = file if file is not None else sys.stdout
        flush = not _isatty(out)
        for record in records:
            out.write(json.dumps(ex.to_json(record), ensure_ascii=False) + "\n")
            if flush:
                out.flush()
            n += 1
        return n
    console = console or make_console(no_color, file)
    colour = colour_enabled(console, no_color)
    for record in records:
        render_record(console, record, colour)
        n += 1
        try:
            console.file.flush()
        except (AttributeError, ValueError):
            pass
    return n


def render_stats(stats, *, as_json=False, no_color=False, console=None, file=None):
    """``--explain --stats``: the gate saturation over all inputs, one table or one JSON document."""
    from seqcli.explain.stats import stats_to_json

    if as_json:
        out = file if file is not None else sys.stdout
        out.write(json.dumps(stats_to_json(stats), ensure_ascii=False) + "\n")
        out.flush()
    else:
        console = console or make_console(no_color, file)
        console.print(stats_table(stats, colour_enabled(console, no_color)))
    return stats["n_texts"]


def _isatty(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
