"""``seqcli predict``: one line of output per input line, from any model file."""

from typing import Annotated, Literal, Optional

import typer

from seqcli.cli import options as opt
from seqcli.cli.guard import guarded
from seqcli.cli.predict_core import OptionError, run

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
    jobs: Annotated[int, typer.Option("--jobs", min=1, max=256, help="Classifiers: score the input in this many processes (output still in input order, still streaming).")] = 1,
):
    """Predict one line of output per input line: LABEL<TAB>PROBABILITY (or JSON); a tagger writes
    word/TAG per token, or CoNLL-U / CoNLL back with the tag column filled."""
    try:
        run(**locals())   # the parameters, by name
    except OptionError as exc:
        raise typer.BadParameter(exc.message, param_hint=exc.hint) from None
