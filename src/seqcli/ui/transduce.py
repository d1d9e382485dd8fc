"""What ``seqcli compare`` draws for seq2seq models: a progress line per model (stderr) and one table
(stdout), the best value of each column in bold green on a terminal or marked ``*`` elsewhere."""

import sys

from seqcli.ui.compare import _size, stdout_console


def progress_line(event):
    """'[1/2] lstm  WER 31.20%  TER 7.41%  trained in 1612.3s'."""
    width = len(str(event["tasks"]))
    parts = [f"[{event['done']:>{width}}/{event['tasks']}] {event['name']}", f"WER {100 * event['wer']:.2f}%",
             f"TER {100 * event['ter']:.2f}%",
             "saved model" if event["train_seconds"] is None else f"trained in {event['train_seconds']:.1f}s"]
    if event.get("halted"):
        parts.append(f"(stopped early: {event['halted']})")
    return "  ".join(parts)


class TransduceProgress:
    """One line per finished model on stderr (``start`` / ``__call__`` are on_start / on_result)."""

    def __init__(self, quiet=False):
        self.quiet = quiet

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def start(self, info):
        pass

    def __call__(self, event):
        if not self.quiet:
            print("seqcli: " + progress_line(event), file=sys.stderr, flush=True)


def _pct(v):
    return f"{100 * v:.2f}%"


def _columns(doc):
    k = doc.get("beam")
    cols = [("wer", "WER", _pct), ("ter", "TER", _pct), ("exact", "exact", _pct)]
    if k:
        cols += [("beam_wer", f"WER beam {k}", _pct), ("beam_ter", f"TER beam {k}", _pct)]
    return cols + [("train_seconds", "train s", lambda v: f"{v:,.1f}"),
                   ("train_tokens_per_second", "train tokens/s", lambda v: f"{v:,.0f}"),
                   ("decode_words_per_second", "decode words/s", lambda v: f"{v:,.0f}"),
                   ("n_params", "parameters", lambda v: f"{v:,}"), ("file_bytes", "model file", _size)]


def print_report(doc):
    """The comparison table on stdout (greedy figures, beam ones with --beam)."""
    from rich.table import Table
    from rich.text import Text

    from seqcli.ui.heatmap import colour_enabled

    console = stdout_console()
    colour = colour_enabled(console)
    ev = doc["evaluation"]
    how = (f"tested on {ev['test']}" if ev["method"] == "test" else f"{ev['val_split']:g} of the sources held out")
    title = (f"{doc['data']}: {doc['n_pairs']:,} pairs; trained on {ev['n_train_pairs']:,}, {how} "
             f"({ev['n_test_sources']:,} sources), seed {ev['seed']}")
    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    table.add_column("model")
    cols = _columns(doc)
    for _, header, _ in cols:
        table.add_column(header, justify="right")
    several, marked = len(doc["models"]) > 1, False
    for row in doc["models"]:
        cells = [Text(row["name"])]
        for key, _, fmt in cols:
            if row.get(key) is None:
                cells.append(Text("—"))
                continue
            text, best = fmt(row[key]), several and row["name"] in doc["best"].get(key, ())
            if best and colour:
                cells.append(Text(text, style="bold green"))
                continue
            if not colour and several:
                text, marked = (text + " *", True) if best else (text + "  ", marked)
            cells.append(Text(text))
        table.add_row(*cells)
    if marked:
        table.caption, table.caption_justify = "* best in its column", "left"
    console.print(table)
