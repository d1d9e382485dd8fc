"""``seqcli predict``: one line of output per input line, from any model file."""

import sys
from typing import Annotated, Optional

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
    units: Annotated[Optional[str], typer.Option("--units", help="--explain: units to show, e.g. 3,17,42 or top:8 (default: the mean over units).")] = None,
    gate: Annotated[Optional[str], typer.Option("--gate", help="--explain: show only this gate / field: u, f, o, r (gates), cc, c, a; a list with commas.")] = None,
    layer: Annotated[Optional[int], typer.Option("--layer", help="--explain: layer to show, 0-based; negative counts from the top (default: the last).")] = None,
    stats: Annotated[bool, typer.Option("--stats", help="--explain: share of saturated gate values (< 0.1 or > 0.9) over all inputs, instead of one panel per input.")] = False,
    no_color: Annotated[bool, typer.Option("--no-color", help="--explain: shade characters and numbers instead of colours.")] = False,
):
    """Predict one line of output per input line: LABEL<TAB>PROBABILITY (or JSON)."""
    from seqcli import api, ui

    if not explain and (units is not None or gate is not None or layer is not None or stats or no_color):
        raise typer.BadParameter("--units, --gate, --layer, --stats and --no-color go with --explain",
                                 param_hint="--explain")
    fitted = api.load_model(model)
    batches = api.input_batches(input, text_col, notify=ui.note)
    if explain:
        from seqcli.ui.explain import run_explain

        run_explain(fitted, (t for batch in batches for t in batch), units=units, gate=gate,
                    layer=layer, as_json=as_json, stats=stats, no_color=no_color)
        return
    if fitted.kind == "lm":
        if proba:
            raise typer.BadParameter("a language model has no classes", param_hint="--proba")
        lines = api.score_lines(fitted, batches, as_json, notify=ui.note)
    else:
        lines = api.predict_lines(fitted, batches, as_json, proba)
    out = sys.stdout
    flush = not out.isatty()
    for batch in lines:
        for line in batch:
            out.write(line)
            out.write("\n")
        if flush:
            out.flush()
