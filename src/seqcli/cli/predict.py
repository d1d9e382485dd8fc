"""``seqcli predict``: one line of output per input line, from any model file."""

import sys
from typing import Annotated, Literal, Optional

import typer

from seqcli.cli import options as opt
from seqcli.cli.guard import guarded

EXAMPLES = ("printf 'a fine film\\nso dull\\n' | seqcli predict lstm.npz",
            "seqcli predict lstm.npz test.csv --json > predictions.jsonl",
            "echo 'the plot was boring' | seqcli predict lstm.npz --explain")


@guarded
def predict(
    model: Annotated[str, typer.Argument(help="Model file written by seqcli train.")],
    input: Annotated[str, typer.Argument(help="Text file (one text per line) or CSV/TSV; - for stdin.")] = "-",
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line: label and every class's probability.")] = False,
    proba: Annotated[bool, typer.Option("--proba", help="Add every class's probability to each TSV line.")] = False,
    text_col: opt.TextCol = None,
    explain: Annotated[bool, typer.Option("--explain", help="Show what the model computed on each text: gate heatmaps per word (recurrent), attention per head and layer, tokens x tokens (transformer), word contributions (bag-of-words), characters coloured by a unit (language model).")] = False,
    units: opt.Units = None,
    gate: opt.Gate = None,
    layer: opt.Layer = None,
    head: opt.Head = None,
    stats: Annotated[bool, typer.Option("--stats", help="--explain: share of saturated gate values (< 0.1 or > 0.9) over all inputs, instead of one panel per input.")] = False,
    no_color: opt.NoColor = False,
    errors: opt.Errors = "replace",
    svg: opt.Svg = None,
    tokenize: Annotated[bool, typer.Option("--tokenize", help="Tagger: split each line into words and punctuation as treebanks do (default: at whitespace).")] = False,
    fmt: Annotated[Optional[Literal["conllu", "conll"]], typer.Option("--format", help="Tagger: the input is CoNLL-U or CoNLL (default: from the name and the first line; else plain text).")] = None,
    tag_col: opt.TagCol = None,
    beam: Annotated[Optional[int], typer.Option("--beam", min=1, max=1000, help="seq2seq: beam search with this many hypotheses (default 1: greedy).")] = None,
    nbest: Annotated[Optional[int], typer.Option("--nbest", min=1, max=1000, help="seq2seq: the N best targets (tab-separated; with --json, their log-probabilities and scores).")] = None,
    decode_len: Annotated[Optional[int], typer.Option("--max-len", min=1, max=100000, help="seq2seq: most target tokens generated (default: twice the longest training target, plus 10).")] = None,
):
    """Predict one line of output per input line: LABEL<TAB>PROBABILITY (or JSON); a tagger writes
    word/TAG per token, or CoNLL-U / CoNLL back with the tag column filled."""
    from seqcli import api, ui

    opt.only_with("--explain", explain, {"--units": units, "--gate": gate, "--layer": layer, "--head": head,
                                         "--stats": stats, "--no-color": no_color, "--svg": svg})
    if svg and as_json:
        raise typer.BadParameter("does not go with --json (nothing is drawn)", param_hint="--svg")
    if proba and as_json:
        raise typer.BadParameter("does not go with --json, which already carries every class's probability",
                                 param_hint="--proba")
    fitted = api.load_model(model)
    search = {"--beam": beam, "--nbest": nbest, "--max-len": decode_len}
    if fitted.kind != "seq2seq" and any(v is not None for v in search.values()):
        given = ", ".join(k for k, v in search.items() if v is not None)
        raise typer.BadParameter(f"{given}: only a seq2seq model searches for its output", param_hint=given)
    beam, nbest = beam or 1, nbest or 1
    if fitted.kind != "tagger":
        opt.only_with("a tagger", False, {"--tokenize": tokenize, "--format": fmt, "--tag-col": tag_col})
    else:
        opt.only_with("a classifier", False, {"--proba": proba, "--text-col": text_col})
        if not explain:
            _write(api.tag_lines(fitted, input, as_json, tokenize, fmt, tag_col, notify=ui.note, errors=errors))
            return
    if explain:  # option values that do not fit the model fail before any input is read
        api.explain(fitted, [], units, gate, layer, words=tokenize, heads=head)
    batches = api.input_batches(input, text_col, notify=ui.note, errors=errors, model=fitted)
    if explain:
        from seqcli.ui import explain as show

        texts = (t for batch in batches for t in batch)
        with ui.svg(svg, "stdout"):
            if stats:
                show.render_stats(api.saturation(fitted, texts, units, gate, layer), as_json=as_json,
                                  no_color=no_color)
            else:
                show.render(api.explain(fitted, texts, units, gate, layer, words=tokenize, beam=beam,
                                        max_len=decode_len, heads=head), as_json=as_json, no_color=no_color)
        return
    if fitted.kind == "lm":
        if proba:
            raise typer.BadParameter("a language model has no classes", param_hint="--proba")
        lines = api.score_lines(fitted, batches, as_json, notify=ui.note)
    elif fitted.kind == "seq2seq":
        if proba:
            raise typer.BadParameter("a seq2seq model has no classes (--json shows its scores)", param_hint="--proba")
        lines = api.transduce_lines(fitted, batches, beam, nbest, decode_len, as_json, notify=ui.note)
    else:
        lines = api.predict_lines(fitted, batches, as_json, proba, notify=ui.note, source=input)
    _write(lines)


def _write(lines):
    """Write batches of output lines to stdout, flushed per batch on a pipe."""
    out = sys.stdout
    flush = not out.isatty()
    for batch in lines:
        for line in batch:
            out.write(line)
            out.write("\n")
        if flush:
            out.flush()
