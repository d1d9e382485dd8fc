"""``seqcli evaluate MODEL TEST``: a saved model's figures on a test file (any model kind), as train
reports them for its validation data. The report is what the command makes: it goes to stdout (or one
JSON document with ``--json``); warnings go to stderr."""

import json
import sys
from typing import Annotated, Optional

import typer

from seqcli.cli import options as opt
from seqcli.cli.guard import guarded

EXAMPLES = ("seqcli evaluate lstm.npz test.csv",
            "seqcli evaluate lm.npz valid.txt --json",
            "seqcli evaluate tagger.npz en_ewt-ud-test.conllu --tag-col upos",
            "seqcli evaluate g2p.npz test-pairs.csv --beam 5")


@guarded
def evaluate(
    model: Annotated[str, typer.Argument(help="Model file written by seqcli train (any kind).")],
    test: Annotated[str, typer.Argument(help="Test data, read as train reads its data: classifiers a CSV/TSV of texts and labels; a language model a text file; a tagger CoNLL-U, CoNLL or CSV; seq2seq a CSV of pairs; - for stdin.")],
    text_col: opt.TextCol = None,
    label_col: opt.LabelCol = None,
    fmt: opt.DataFormat = None,
    tag_col: opt.TagCol = None,
    source_col: Annotated[Optional[str], typer.Option("--source-col", help="seq2seq: source column, name or 0-based index (default: source, input, src, else the first).")] = None,
    target_col: Annotated[Optional[str], typer.Option("--target-col", help="seq2seq: target column, name or 0-based index (default: target, output, tgt, else the second).")] = None,
    beam: Annotated[Optional[int], typer.Option("--beam", min=1, max=1000, help="seq2seq: also score beam search with this many hypotheses (greedy search is always scored).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document on stdout instead of the tables.")] = False,
):
    """Score a saved model on TEST: the report train gives for its validation data (accuracy, macro-F1,
    per-class table and confusion matrix; bits/char or perplexity; tagging and span scores; WER)."""
    from seqcli import api, ui

    columns = {k: v for k, v in (("text_col", text_col), ("label_col", label_col), ("format", fmt),
                                 ("tag_col", tag_col), ("source_col", source_col), ("target_col", target_col))
               if v is not None}
    report = api.evaluate(model, test, columns, beam, notify=ui.note)
    if as_json:
        sys.stdout.write(json.dumps(report, ensure_ascii=False) + "\n")
        sys.stdout.flush()
        return
    ui.print_evaluation(report)
