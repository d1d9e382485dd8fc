"""What ``seqcli compare`` draws: progress while it runs (stderr) and the report (stdout).

The report is the command's output, so it goes to stdout (``seqcli compare ... > report.txt`` keeps
it); the progress lines are diagnostics and go to stderr. Rich is imported only inside functions.
Colour (and the best value of each column in bold green) only on a terminal with NO_COLOR unset;
elsewhere the best values carry a ``*``.
"""

import sys

from seqcli.ui.console import plain_or_live, recorded, stream_is_live
from seqcli.ui.plot import COLOURS, print_chart, text_chart



def stdout_console():
    """A rich Console on stdout: colour only on a live terminal; wide enough for the table in files."""
    from rich.console import Console

    live = stream_is_live(sys.stdout)
    return recorded("stdout", lambda record: Console(
        file=plain_or_live(sys.stdout, live), no_color=not live, highlight=False, soft_wrap=False, record=record,
        force_terminal=live if live else None, width=None if live else 200))


# --------------------------------------------------------------------------------------- progress

def progress_line(event):
    """'[3/40] lstm  fold 2/10  accuracy 0.7712  log-loss 0.4821  trained in 41.2s'."""
    width = len(str(event["tasks"]))
    parts = [f"[{event['done']:>{width}}/{event['tasks']}] {event['name']}",
             f"fold {event['fold'] + 1}/{event['folds']}", f"accuracy {event['accuracy']:.4f}"]
    if event.get("log_loss") is not None:
        parts.append(f"log-loss {event['log_loss']:.4f}")
    if event.get("train_seconds") is not None:
        parts.append(f"trained in {event['train_seconds']:.1f}s")
    else:
        parts.append("saved model")
    if event.get("halted"):
        parts.append(f"(stopped early: {event['halted']})")
    return "  ".join(parts)


class CompareProgress:
    """One line per finished (model, fold) on stderr; on a terminal also a live models x folds table.

    Use as a context manager; ``start(info)`` and ``__call__(event)`` are compare_classifiers'
    ``on_start`` and ``on_result``.
    """

    def __init__(self, quiet=False):
        self.quiet = quiet
        self.live = None
        self.scores = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.live is not None:
            self.live.__exit__(*exc)
            self.live = None
        return False

    def start(self, info):
        self.models, self.folds = info["models"], info["folds"]
        if self.quiet or not stream_is_live(sys.stderr):
            return
        from rich.live import Live

        from seqcli.ui.console import stderr_console

        self.live = Live(self._table(), console=stderr_console(), transient=True, auto_refresh=False)
        self.live.__enter__()

    def __call__(self, event):
        if self.quiet:
            return
        self.scores[(event["model"], event["fold"])] = event["accuracy"]
        line = "seqcli: " + progress_line(event)
        if self.live is not None:
            self.live.console.print(line, markup=False, highlight=False)
            self.live.update(self._table(), refresh=True)
        else:
            print(line, file=sys.stderr, flush=True)

    def _table(self):
        from rich.table import Table

        table = Table(title="accuracy by fold (running)", show_edge=False)
        table.add_column("model")
        for k in range(self.folds):
            table.add_column(str(k + 1), justify="right", min_width=5)
        table.add_column("mean", justify="right", style="bold")
        for i, name in enumerate(self.models):
            got = [self.scores.get((i, k)) for k in range(self.folds)]
            seen = [v for v in got if v is not None]
            mean = f"{sum(seen) / len(seen):.4f}" if seen else ""
            table.add_row(name, *("…" if v is None else f"{v:.3f}" for v in got), mean)
        return table


# ----------------------------------------------------------------------------------------- report

def _size(n):
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000


def _method(doc):
    ev = doc["evaluation"]
    if doc.get("task") == "tag":
        unit = "sentences"
        how = (f"trained on {ev['n_train']:,} sentences, tested on {ev['test']} ({ev['n_test']:,})"
               if ev["method"] == "test" else
               f"{ev['val_split']:g} held out ({ev['n_train']:,} train / {ev['n_test']:,} test sentences)")
        return f"{doc['data']}: {doc['n_rows']:,} {unit}, {how}, seed {ev['seed']}"
    if ev["method"] == "folds":
        how = f"{ev['folds']}-fold stratified cross-validation"
    elif ev["method"] == "test":
        how = f"trained on {ev['n_train']:,} rows, tested on {ev['test']} ({ev['n_test']:,} rows)"
    else:
        how = f"{ev['val_split']:g} held out ({ev['n_train']:,} train / {ev['n_test']:,} test rows)"
    return f"{doc['data']}: {doc['n_rows']:,} rows, {how}, seed {ev['seed']}"


COLUMNS = (  # (key, header, formatter)
    ("accuracy", "accuracy", None),
    ("macro_f1", "macro-F1", lambda s: f"{s['mean']:.4f}"),
    ("log_loss", "log-loss", lambda s: f"{s['mean']:.4f}"),
    ("train_seconds", "train s", lambda s: f"{s['mean']:.1f}" if s["mean"] >= 1 else f"{s['mean']:.2f}"),
    ("epoch_seconds", "s/epoch", lambda s: f"{s['mean']:.1f}" if s["mean"] >= 1 else f"{s['mean']:.2f}"),
    ("train_tokens_per_second", "train tokens/s", lambda s: f"{s['mean']:,.0f}"),
    ("predict_rows_per_second", "predict rows/s", lambda v: f"{v:,.0f}"),
    ("n_params", "parameters", lambda v: f"{v:,}"),
    ("file_bytes", "model file", _size),
)


TAG_COLUMNS = (
    ("accuracy", "accuracy", lambda v: f"{100 * v:.2f}%"),
    ("unseen_accuracy", "unseen words", lambda v: f"{100 * v:.2f}%"),
    ("span_f1", "span F1", lambda v: f"{100 * v:.2f}%"),
    ("train_seconds", "train s", lambda v: f"{v:.1f}" if v >= 1 else f"{v:.2f}"),
    ("tokens_per_second", "tag tokens/s", lambda v: f"{v:,.0f}"),
    ("n_params", "parameters", lambda v: f"{v:,}"),
    ("file_bytes", "model file", _size),
)


def results_table(doc, colour):
    """The main table: one row per model, the best value of each column marked."""
    from rich.table import Table

    tagging = doc.get("task") == "tag"
    columns = [c for c in TAG_COLUMNS if c[0] != "span_f1" or doc.get("scheme")] if tagging else COLUMNS
    n_splits = 1 if tagging else len(doc["models"][0]["folds"]) if doc["models"] else 0
    table = Table(title=_method(doc), title_justify="left", show_edge=False, pad_edge=False)
    table.add_column("model")
    for _, header, _ in columns:
        table.add_column(header, justify="right")

    def fmt_acc(s):
        return f"{s['mean']:.4f} ± {s['std']:.4f}" if n_splits > 1 else f"{s['mean']:.4f}"

    from rich.text import Text

    marked = False
    for row in doc["models"]:
        cells = [Text(row["name"])]
        for key, _, fmt in columns:
            value = row[key]
            if value is None:
                cells.append(Text("—"))
                continue
            text = (fmt or fmt_acc)(value)
            if row["name"] in doc["best"].get(key, ()) and len(doc["models"]) > 1:
                if colour:
                    cells.append(Text(text, style="bold green"))
                    continue
                text, marked = text + " *", True
            elif not colour and len(doc["models"]) > 1:
                text += "  "  # keep the numbers aligned with the starred ones
            cells.append(Text(text))
        table.add_row(*cells)
    if marked:
        table.caption, table.caption_justify = "* best in its column", "left"
    return table


def _plain(text):
    from rich.text import Text

    return Text(text)


def confusion_tables(doc):
    """One confusion matrix per model (rows true, columns predicted), to be shown side by side."""
    from rich.table import Table

    classes = doc["classes"]
    out = []
    for row in doc["models"]:
        table = Table(title=row["name"], show_edge=False, pad_edge=False)
        table.add_column("true \\ pred")
        for c in classes:
            table.add_column(_plain(c), justify="right")
        for c, counts in zip(classes, row["confusion"]):
            table.add_row(_plain(c), *(f"{n:,}" for n in counts))
        out.append(table)
    return out


def disagreements_table(doc):
    from rich.table import Table

    rows = doc.get("disagreements") or []
    names = [m["name"] for m in doc["models"]]
    table = Table(title=f"where the models disagree most (top {len(rows)}; gap = largest difference "
                        "between two models' probabilities for one class)", title_justify="left",
                  show_edge=False, pad_edge=False)
    table.add_column("gap", justify="right")
    table.add_column("text", max_width=60, overflow="fold")
    table.add_column("true")
    for name in names:
        table.add_column(_plain(name), justify="right")
    for d in rows:
        table.add_row(f"{d['gap']:.2f}", _plain(d["text"]), _plain(d["label"]),
                      *(_plain(f"{d['predictions'][n]['label']} {d['predictions'][n]['probability']:.2f}")
                        for n in names))
    return table


def probes_table(doc):
    from rich.table import Table

    names = [m["name"] for m in doc["models"]]
    probes = doc.get("probes") or []
    table = Table(title="probes (probabilities averaged over the models of every fold)",
                  title_justify="left", show_edge=False, pad_edge=False)
    table.add_column("probe", max_width=60, overflow="fold")
    for name in names:
        table.add_column(_plain(name), justify="right")
    for p in probes:
        table.add_row(_plain(p["text"]), *(_plain(f"{p['predictions'][n]['label']} "
                                                  f"{p['predictions'][n]['probability']:.4f}")
                                           for n in names))
    same = [n for n in names if len(probes) > 1 and
            all(p["predictions"][n]["probs"] == probes[0]["predictions"][n]["probs"] for p in probes)]
    if same:
        table.caption = f"{', '.join(same)}: exactly the same probabilities for every probe"
        table.caption_justify = "left"
    return table


def gradient_plot(gradients, width=64, height=12, key="mean_norm"):
    """Lines of a text plot: mean ‖∂loss/∂x⟨t⟩‖ (log scale; ``key`` "mean_relative": relative to each
    text's mean) against distance from the last step.

    gradients: {model name: {"distance": [...], key: [...]}}. Returns (lines, legend), where
    legend is [(marker, name)]. Distances beyond ``width`` columns are binned (geometric mean).
    """
    series = {name: (g["distance"], g[key]) for name, g in gradients.items() if g["distance"]}
    return text_chart(series, width, height, log=True, x_label="distance from the last token (steps back)")


def print_gradients(console, doc, colour):
    from rich.text import Text

    gradients = doc.get("gradients") or {}
    console.print("how the gradient reaches each token: ‖∂loss/∂x⟨t⟩‖ of the embedded input t steps before "
                  "the last token, relative to its text's mean over tokens (log scale), test rows of every fold",
                  markup=False)
    if not gradients:
        console.print("  (no sequence model in --models: nothing to measure)", markup=False)
        return
    lines, legend = gradient_plot(gradients, key="mean_relative")
    print_chart(console, lines, legend, colour, left=9)
    for k, (mark, name) in enumerate(legend):
        g = gradients[name]
        factor, raw = g.get("relative_per_step_factor"), g.get("per_step_factor")
        far = g["distance"][-1]
        rel = g["mean_relative"]
        ratio = rel[-1] / rel[0] if rel[0] > 0 else float("nan")
        desc = f"  {mark} {name}: ×{factor:.3f} per step back (fitted); " if factor else f"  {mark} {name}: "
        desc += f"at {far} steps back {ratio:.2g} of the last step's share"
        if raw:
            desc += f" (unscaled norms: ×{raw:.3f} per step)"
        console.print(Text(desc, style=COLOURS[k % len(COLOURS)] if colour else ""))


def print_report(doc, console=None, confusion=False, gradients=False):
    """Draw the whole report of a comparison document."""
    from rich.columns import Columns

    console = console or stdout_console()
    colour = not console.no_color and console.is_terminal
    console.print(results_table(doc, colour))
    if confusion:
        console.print()
        console.print(f"confusion matrices ({doc['confusion_axes']})", markup=False)
        console.print(Columns(confusion_tables(doc), padding=(0, 4)))
    if doc.get("disagreements"):
        console.print()
        console.print(disagreements_table(doc))
    if doc.get("probes"):
        console.print()
        console.print(probes_table(doc))
    if gradients:
        console.print()
        print_gradients(console, doc, colour)
