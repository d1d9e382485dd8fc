"""Small charts drawn with characters, for the terminal and for logs: one marker per series on a grid,
a labelled axis, the legend beside. Used for the training curve (``train``) and the gradient profile
(``compare --gradients``)."""

import math

MARKERS = "ox+*#@%&"
COLOURS = ("cyan", "magenta", "yellow", "green", "blue", "red", "bright_white", "bright_cyan")


def text_chart(series, width=64, height=12, log=False, y_label=None, x_label="", marks=None, cols=None):
    """Lines of a chart of ``series`` ({name: (xs, ys)}), and its legend [(marker, name)].

    xs are binned into ``width`` columns (a column shows the mean of its points, geometric on a log
    scale); the y range spans every point (rounded to whole decades on a log scale). ``marks``: {x:
    character} drawn on the bottom axis (e.g. the best epoch). ``y_label(value) -> str`` labels rows.
    """
    series = {n: (xs, ys) for n, (xs, ys) in series.items() if any(_ok(y, log) for y in ys)}
    if not series:
        return [], []
    x_lo = min(min(xs) for xs, _ in series.values())
    x_hi = max(max(xs) for xs, _ in series.values())
    cols = cols or max(1, min(width, int(round(x_hi - x_lo)) + 1))
    span = max(x_hi - x_lo, 1e-12)

    def column(x):
        return min(cols - 1, int((x - x_lo) / span * (cols - 1) + 0.5))

    binned = {}
    for name, (xs, ys) in series.items():
        acc = {}
        for x, y in zip(xs, ys):
            if _ok(y, log):
                acc.setdefault(column(x), []).append(math.log10(y) if log else y)
        binned[name] = {c: sum(vs) / len(vs) for c, vs in acc.items()}
    values = [v for b in binned.values() for v in b.values()]
    lo, hi = min(values), max(values)
    if log:
        lo, hi = math.floor(lo), math.ceil(hi)
    if hi - lo < 1e-12:
        hi = lo + (1 if log else max(abs(lo), 1.0) * 0.1)
    grid = [[" "] * cols for _ in range(height)]
    legend = []
    for k, (name, b) in enumerate(binned.items()):
        mark = MARKERS[k % len(MARKERS)]
        legend.append((mark, name))
        for c, v in b.items():
            grid[round((hi - v) / (hi - lo) * (height - 1))][c] = mark
    label = y_label or (lambda v: f"1e{v:+.0f}" if log else f"{v:.3g}")
    lines = []
    for r, cells in enumerate(grid):
        level = hi - r * (hi - lo) / (height - 1)
        show = r in (0, height - 1) or (log and abs(level - round(level)) < 1e-9)
        lines.append(f"{label(level) if show else '':>6} │{''.join(cells)}")
    axis = ["─"] * cols
    for x, ch in (marks or {}).items():
        axis[column(x)] = ch
    lines.append(f"{'':>6} └{''.join(axis)}")
    left, right = f"{x_lo:g}", f"{x_hi:g}"
    lines.append(f"{'':>6}  {left}{right:>{max(cols - len(left), len(right))}}")
    if x_label:
        lines.append(f"{'':>8}{x_label}")
    return lines, legend


def _ok(y, log):
    return y is not None and math.isfinite(y) and (y > 0 or not log)


def training_chart(history, width=60, height=10):
    """(lines, legend) of the loss curves of a training run: the training loss and the validation
    loss at each evaluation, the best evaluation marked '▲' on the axis."""
    points = [h for h in history if "loss" in h]
    if len(points) < 2:
        return [], []
    xs = [h.get("epoch", i + 1) for i, h in enumerate(points)]
    series = {"validation loss": (xs, [h["loss"] for h in points])}
    if any("train_loss" in h for h in points):
        series = {"training loss": (xs, [h.get("train_loss") for h in points]), **series}
    best = min(range(len(points)), key=lambda i: points[i]["loss"])
    cols = min(width, max(24, 4 * len(points)))
    return text_chart(series, width, height, x_label="epoch (▲ best)", marks={xs[best]: "▲"}, cols=cols)


def print_chart(console, lines, legend, colour, left=8):
    """Print a chart's ``lines`` (from text_chart) to a rich ``console``, each series' marker in its
    colour (``colour``: the console draws colour) right of the axis labels (``left`` columns)."""
    from rich.text import Text

    style = {mark: COLOURS[i % len(COLOURS)] for i, (mark, _) in enumerate(legend)}
    for line in lines:
        text = Text(line)
        if colour:
            for j, ch in enumerate(line):
                if ch in style and j >= left:
                    text.stylize(style[ch], j, j + 1)
        console.print(text)
