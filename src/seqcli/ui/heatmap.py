"""Drawing primitives of the heatmaps: colour scales, shade characters, token-labelled grids wrapped to
the console width, character strips, legends, and the consoles they are drawn on (rich, imported lazily).

Colour: a continuous scale (viridis 0..1 for gates and probabilities; blue / red around a dark zero
for the signed c~, c and a). Without colour (NO_COLOR, not a terminal, --no-color) every cell is a
shade character (░▒▓█ for the four quarters of the scale, by absolute value for signed fields) filling
the cell, plus the number.
"""

import sys

from seqcli import explain as ex

VIRIDIS = [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)]  # 0 -> 1
NEG, MID, POS = (215, 48, 39), (40, 40, 40), (69, 140, 230)                             # signed
SHADES = "░▒▓█"
CELL_W = 5          # minimum column width: one shade character + a 4-character number
MAX_LABEL = 16      # longer token labels are cut with an ellipsis
PANEL_PAD = 4       # a panel's border and padding, left and right together


# ------------------------------------------------------------------------------ scales

class Scale:
    """Maps a value to a colour (and a shade character): ``unit`` 0..1, or signed -limit..+limit."""

    def __init__(self, signed=False, limit=1.0):
        self.signed, self.limit = signed, max(float(limit), 1e-12)

    def position(self, v):
        """-1..1 (signed) or 0..1 (unit), clipped; NaN -> 0."""
        if v != v:
            return 0.0
        if self.signed:
            return max(-1.0, min(1.0, v / self.limit))
        return max(0.0, min(1.0, v))

    def rgb(self, v):
        t = self.position(v)
        if not self.signed:
            return _lerp(VIRIDIS, t)
        return _lerp([MID, POS], t) if t >= 0 else _lerp([MID, NEG], -t)

    def shade(self, v):
        t = abs(self.position(v))
        return SHADES[min(int(t * len(SHADES)), len(SHADES) - 1)]

    def style(self, v):
        r, g, b = self.rgb(v)
        fg = "#000000" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 140 else "#f0f0f0"
        return f"{fg} on #{r:02x}{g:02x}{b:02x}"


def _lerp(stops, t):
    x = t * (len(stops) - 1)
    i = min(int(x), len(stops) - 2)
    f = x - i
    return tuple(int(round(a + (b - a) * f)) for a, b in zip(stops[i], stops[i + 1]))


def scale_for(field, values=None):
    """Gates and probabilities 0..1; c~ and a -1..+1 (tanh); c symmetric around 0, at least ±1."""
    if field in ex.SIGMOID_FIELDS or field == "P":
        return Scale()
    if field == "c" and values is not None and len(values):
        import numpy as np

        return Scale(True, max(1.0, float(np.nanmax(np.abs(values)))))
    return Scale(True, 1.0)


def fmt(v):
    """A value in at most 4 characters for |v| < 1000: '.93', '-.41', '1.0', '-2.3', '12'."""
    if v != v:
        return "nan"
    a = abs(v)
    if a < 0.995:
        s = f"{v:.2f}".replace("0.", ".", 1)
        return ".00" if s == "-.00" else s
    if a < 9.95:
        return f"{v:.1f}"
    if a < 999.5:
        return f"{v:.0f}"
    return f"{v:.0e}"


# ------------------------------------------------------------------------------ consoles

def make_console(no_color=False, file=None):
    """A rich Console on stdout (or ``file``): colour only on a terminal without NO_COLOR / --no-color."""
    from seqcli.ui.console import recorded, stream_is_live

    file = file or sys.stdout
    live = stream_is_live(file) and not no_color
    stream = "stdout" if file is sys.stdout else "stderr" if file is sys.stderr else None
    make = lambda record: _PipeConsole(file=file, no_color=not live, force_terminal=True if live else None,  # noqa: E731
                                       highlight=False, soft_wrap=False, emoji=False, markup=False, record=record)
    return recorded(stream, make) if stream else make(False)


def _pipe_console_class():
    from rich.console import Console

    class PipeConsole(Console):
        """rich's Console.on_broken_pipe() exits 1; raise BrokenPipeError instead so that
        cli.guarded ends ``--explain | head`` quietly with 0, like every other command."""

        def on_broken_pipe(self):
            raise BrokenPipeError

    return PipeConsole


def _PipeConsole(**kwargs):  # noqa: N802  (a lazy class: rich is imported only when needed)
    return _pipe_console_class()(**kwargs)


def colour_enabled(console, no_color=False):
    return not no_color and console.color_system is not None and not console.no_color


def _cell_len(s):
    from rich.cells import cell_len

    return cell_len(s)


def fit(s, width):
    """``s`` cut to ``width`` terminal cells (ending in '…' when cut)."""
    if _cell_len(s) <= width:
        return s
    out = ""
    for ch in s:
        if _cell_len(out + ch) > width - 1:
            break
        out += ch
    return out + "…"


def _centre(s, width):
    pad = width - _cell_len(s)
    return " " * (pad // 2) + s + " " * (pad - pad // 2)


# ------------------------------------------------------------------------------ heatmap grid

def heat_rows(record):
    """[(row label, field, values (T,), scale)] of a recurrent classifier's record, in display order:
    each direction's fields (mean over units, or one row per kept unit), then P(winning class)."""
    rows = gate_rows(record)
    w = record["winner"]
    rows.append((fit(f"P({record['label']})", 12), "P", record["prefix_proba"][w], scale_for("P")))
    return rows


def gate_rows(record):
    """[(row label, field, values (T,), scale)] of the cell arrays of a record's shown layer: each
    direction's fields, the mean over units or one row per kept unit."""
    import numpy as np

    picked = []
    bi = len(record["directions"]) == 2
    layer = record["layer"]
    for d in record["directions"]:
        for f in record["fields"]:
            key = f"l{layer}.{d}.{f}"
            if key not in record["arrays"]:
                continue
            values, units = record["arrays"][key], record["units"][key]
            name = (f"{d} " if bi else "") + ex.FIELD_LABELS[f]
            if record["units_mode"] == "mean":
                picked.append((name, f, values.mean(axis=0) if values.shape[0] else np.zeros(values.shape[1])))
            else:
                picked += [(f"{name} {u}", f, values[i]) for i, u in enumerate(units)]
    # one scale per field for the whole panel (both directions), so equal colours mean equal values
    scales = {f: scale_for(f, np.concatenate([v for _, g, v in picked if g == f]))
              for f in dict.fromkeys(g for _, g, _ in picked)}
    return [(label, f, v, scales[f]) for label, f, v in picked]


def grid_lines(tokens, rows, width, colour, dim=()):
    """The heatmap as rich Text lines no wider than ``width``: blocks of token columns, each block a
    header of token labels and one line per row. ``dim``: token positions shown dimmed (unknown)."""
    from rich.text import Text

    label_w = max([_cell_len(r[0]) for r in rows] + [1]) + 1
    room = max(width - label_w, CELL_W + 1)
    cols = []
    for tok in tokens:
        lab = fit(tok, min(MAX_LABEL, room - 1))
        cols.append((lab, max(CELL_W, _cell_len(lab))))
    blocks, cur, used = [], [], 0
    for j, (_, w) in enumerate(cols):
        if cur and used + w + 1 > room:
            blocks.append(cur)
            cur, used = [], 0
        cur.append(j)
        used += w + 1
    if cur:
        blocks.append(cur)
    lines = []
    for bi, block in enumerate(blocks):
        if bi:
            lines.append(Text(""))
        head = Text(" " * label_w)
        for j in block:
            lab, w = cols[j]
            style = ("dim italic" if j in dim else "bold") if colour else None
            head.append(_centre(lab, w), style=style)
            head.append(" ")
        lines.append(_rstrip(head))
        for label, _, values, scale in rows:
            line = Text(label + " " * (label_w - _cell_len(label)))
            for j in block:
                w = cols[j][1]
                v = float(values[j])
                num = fmt(v)
                if colour:
                    line.append(" " * (w - len(num)) + num, style=scale.style(v))
                else:
                    line.append(scale.shade(v) * max(w - len(num), 0) + num)
                line.append(" ")
            lines.append(_rstrip(line))
    return lines


def _rstrip(text):
    text.rstrip()
    return text


def legend_lines(fields, colour, c_limit=None):
    """The colour (or shade) scale and what it means for the fields shown."""
    from rich.text import Text

    gate_names = [ex.FIELD_LABELS[f] for f in fields if f in ex.SIGMOID_FIELDS] + ["P"]
    signed = [ex.FIELD_LABELS[f] for f in fields if f in ("cc", "a")]
    has_c = "c" in fields
    lines = []
    if colour:
        unit, sig = Scale(), Scale(True, 1.0)
        t = Text("scale  ")
        t.append("0 ")
        for k in range(10):
            t.append("  ", style=unit.style(k / 9))
        t.append(f" 1  {', '.join(gate_names)}")
        lines.append(t)
        if signed or has_c:
            t = Text("       ")
            t.append("-1 ")
            for k in range(11):
                t.append("  ", style=sig.style(-1 + k / 5))
            names = signed + (["c"] if has_c and not (c_limit and c_limit > 1) else [])
            t.append(f" +1  {', '.join(names)}")
            if has_c and c_limit and c_limit > 1:
                t.append(f"{'; ' if names else ''}c: -{fmt(c_limit)} to +{fmt(c_limit)}")
            lines.append(t)
    else:
        lines.append(Text("shade  ░ <25%  ▒ <50%  ▓ <75%  █ ≥75% of the range; numbers are the values"))
        parts = [f"{', '.join(gate_names)}: 0 to 1"]
        if signed:
            parts.append(f"{', '.join(signed)}: |value| 0 to 1")
        if has_c:
            parts.append(f"c: |value| 0 to {fmt(c_limit or 1.0)}")
        lines.append(Text("       " + "; ".join(parts)))
    return lines


# ------------------------------------------------------------------------------ characters (LM)

def visible(ch):
    """How a character shows in a one-cell label: newline ↵, tab →, other control characters ·."""
    if ch == "\n":
        return "↵"
    if ch == "\t":
        return "→"
    if ch == " ":
        return " "
    return ch if ch.isprintable() else "·"


def char_strip(chars, values, scale, width, colour):
    """Characters coloured by ``values``. Without colour: each line of text followed by a line of
    shade characters under it. Lines break at newlines and at ``width``."""
    from rich.text import Text

    lines, cur, cur_w = [], [], 0
    for ch, v in zip(chars, values):
        vis = visible(ch)
        w = max(_cell_len(vis), 1)
        if cur and cur_w + w > width:
            lines.append(cur)
            cur, cur_w = [], 0
        cur.append((vis, None if v is None else float(v), w))
        cur_w += w
        if ch == "\n":
            lines.append(cur)
            cur, cur_w = [], 0
    if cur:
        lines.append(cur)
    out = []
    for line in lines:
        if colour:
            t = Text()
            for vis, v, _ in line:
                t.append(vis, style=None if v is None else scale.style(v))
            out.append(t)
        else:
            out.append(Text("".join(vis for vis, _, _ in line)))
            out.append(Text("".join((" " if v is None else scale.shade(v)) * w for _, v, w in line)))
    return out
