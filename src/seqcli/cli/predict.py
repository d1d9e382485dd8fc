"""``seqcli predict``: one line of output per input line, from any model file."""

import sys
from typing import Annotated

import typer

from seqcli.cli import options as opt
from seqcli.cli.guard import guarded


@guarded
def predict(
    model: Annotated[str, typer.Argument(help="Model file written by seqcli train.")],
    input: Annotated[str, typer.Argument(help="Text file (one text per line) or CSV/TSV; - for stdin.")] = "-",
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line: label and every class's probability.")] = False,
    proba: Annotated[bool, typer.Option("--proba", help="Add every class's probability to each TSV line.")] = False,
    text_col: opt.TextCol = None,
    explain: Annotated[bool, typer.Option("--explain", help="Show what the model computed on each text: gate heatmaps per word (recurrent), word contributions (bag-of-words), characters coloured by a unit (language model).")] = False,
    units: opt.Units = None,
    gate: opt.Gate = None,
    layer: opt.Layer = None,
    stats: Annotated[bool, typer.Option("--stats", help="--explain: share of saturated gate values (< 0.1 or > 0.9) over all inputs, instead of one panel per input.")] = False,
    no_color: opt.NoColor = False,
    errors: opt.Errors = "replace",
    svg: opt.Svg = None,
):
    """Predict one line of output per input line: LABEL<TAB>PROBABILITY (or JSON)."""
    from seqcli import api, ui

    opt.only_with("--explain", explain, {"--units": units, "--gate": gate, "--layer": layer, "--stats": stats,
                                         "--no-color": no_color, "--svg": svg})
    if svg and as_json:
        raise typer.BadParameter("does not go with --json (nothing is drawn)", param_hint="--svg")
    if proba and as_json:
        raise typer.BadParameter("does not go with --json, which already carries every class's probability",
                                 param_hint="--proba")
    fitted = api.load_model(model)
    if explain:  # option values that do not fit the model fail before any input is read
        api.explain(fitted, [], units, gate, layer)
    batches = api.input_batches(input, text_col, notify=ui.note, errors=errors)
    if explain:
        from seqcli.ui import explain as show

        texts = (t for batch in batches for t in batch)
        with ui.svg(svg, "stdout"):
            if stats:
                show.render_stats(api.saturation(fitted, texts, units, gate, layer), as_json=as_json,
                                  no_color=no_color)
            else:
                show.render(api.explain(fitted, texts, units, gate, layer), as_json=as_json, no_color=no_color)
        return
    if fitted.kind == "lm":
        if proba:
            raise typer.BadParameter("a language model has no classes", param_hint="--proba")
        lines = api.score_lines(fitted, batches, as_json, notify=ui.note)
    else:
        lines = api.predict_lines(fitted, batches, as_json, proba, notify=ui.note, source=input)
    out = sys.stdout
    flush = not out.isatty()
    for batch in lines:
        for line in batch:
            out.write(line)
            out.write("\n")
        if flush:
            out.flush()
