"""``seqcli compare``: several models trained and scored on the same splits of DATA, side by side.

Imported when the CLI starts, so only typer and seqcli's light modules are imported here; the
work (seqcli.compare: scikit-learn, joblib) and the drawing (seqcli.ui.compare: rich) are imported
when the command runs.

Streams: the comparison report (tables, probes, gradient plot) is what the command produces, so it
is written to stdout, as ``--json`` writes its one JSON document there instead; progress lines and
warnings go to stderr.
"""

import json
import sys
from typing import Annotated, Literal, Optional

import typer

from seqcli.cli import options as opt
from seqcli.cli.guard import guarded
from seqcli.config import SeqConfig

MODELS_HELP = ("Models to compare, comma-separated (repeatable): bow, bigram (bow on word 1-2-grams), "
               "rnn, gru, lstm, birnn, bigru, bilstm, transformer, or a saved model file PATH.npz (evaluated as it is). "
               "A model's options after a colon, comma-separated: lstm:layers=2 gru:layers=2,embed=64 "
               "bow:ngrams=1:3 bow:mode=binary. "
               "Taggers: lstm, gru, rnn, crf, cnn (char CNN), words (no char features), transformer. "
               "\\[default: bow,bigram,rnn,lstm; taggers lstm,cnn]")

EXAMPLES = ("seqcli compare sample_data/reviews.csv --models bow,lstm --folds 3",
            "seqcli compare train.csv --test test.csv -m bow -m lstm:layers=2 -m lstm.npz",
            "seqcli compare train.conllu --test dev.conllu --models lstm,crf")


@guarded
def compare(
    data: Annotated[str, typer.Argument(help="CSV/TSV with a header (text and label columns; source and target for --task seq2seq), or tagged sentences (CoNLL-U, CoNLL; CSV with --task tag).")],
    models: Annotated[Optional[list[str]], typer.Option("--models", "-m", metavar="MODELS", help=MODELS_HELP, show_default=False)] = None,
    folds: Annotated[Optional[int], typer.Option("--folds", "-k", help="Stratified K-fold cross-validation (the default, K=5).", show_default=False)] = None,
    test: Annotated[Optional[str], typer.Option("--test", help="Train on all of DATA, evaluate on this CSV/TSV file.")] = None,
    val_split: Annotated[Optional[float], typer.Option("--val-split", help="Hold out this share of DATA once (stratified) and evaluate on it.")] = None,
    jobs: Annotated[Optional[int], typer.Option("--jobs", "-j", help="Tasks run at once (default: all cores; -1 = all). Results do not depend on it.", show_default=False)] = None,
    backend: Annotated[Optional[str], typer.Option("--backend", help="joblib backend: loky (default), threading, multiprocessing, sequential, dask.")] = None,
    scheduler: Annotated[Optional[str], typer.Option("--scheduler", help="Dask scheduler address (tcp://HOST:8786) for --backend dask; needs seqcli\\[dask].")] = None,
    seed: opt.Seed = 0,
    epochs: opt.Epochs = None,
    batch_size: opt.BatchSize = None,
    lr: opt.Lr = None,
    hidden: Annotated[Optional[int], opt.knob(SeqConfig, "hidden", "--hidden", help="Units per recurrent layer for every recurrent model (default 128).")] = None,
    embed: Annotated[Optional[int], opt.knob(SeqConfig, "embed", "--embed", help="Embedding size for every recurrent model (default 128).")] = None,
    max_time: Annotated[Optional[str], typer.Option("--max-time", help="Stop training each (model, fold) after this long, e.g. 5m; the best weights so far are scored.")] = None,
    text_col: opt.TextCol = None,
    label_col: opt.LabelCol = None,
    confusion: Annotated[bool, typer.Option("--confusion", help="Show every model's confusion matrix, side by side.")] = False,
    disagreements: Annotated[int, typer.Option("--disagreements", "--top", min=0, max=100000, help="Show the N texts the models disagree on most (0: none).")] = 10,
    probe: Annotated[Optional[list[str]], typer.Option("--probe", help="A sentence every model classifies (repeatable).", show_default=False)] = None,
    probes: Annotated[Optional[str], typer.Option("--probes", help="File of probe sentences, one per line.")] = None,
    gradients: Annotated[bool, typer.Option("--gradients", help="Plot ∂loss/∂x<t> against distance from the last step (recurrent and transformer models; log scale).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document instead of the tables.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines (the report, and warnings such as skipped rows, still show).")] = False,
    svg: opt.Svg = None,
    task: Annotated[Optional[Literal["classify", "tag", "seq2seq"]], typer.Option("--task", help="classify (the default), tag: taggers on tagged sentences (the default for CoNLL-U / CoNLL data), seq2seq: encoder-decoders on held-out pairs (the default when every model is a saved seq2seq file).")] = None,
    fmt: opt.DataFormat = None,
    tag_col: opt.TagCol = None,
    beam: Annotated[Optional[int], typer.Option("--beam", min=1, max=1000, help="seq2seq: also score beam search with this many hypotheses.")] = None,
    source_col: Annotated[Optional[str], typer.Option("--source-col", help="seq2seq: source column, name or 0-based index.")] = None,
    target_col: Annotated[Optional[str], typer.Option("--target-col", help="seq2seq: target column, name or 0-based index.")] = None,
):
    """Train and score several models on the same splits of DATA, side by side."""
    from seqcli import api, ui
    from seqcli.ui import compare as ui_compare
    from seqcli.ui import transduce as ui_transduce

    if svg and as_json:
        raise typer.BadParameter("does not go with --json (nothing is drawn)", param_hint="--svg")
    params = {"epochs": epochs, "batch_size": batch_size, "lr": lr, "hidden": hidden, "embed": embed,
              "max_time": opt.parse_duration(max_time)}
    texts = list(probe or [])
    if probes:
        texts += api.read_probes(probes)
    columns = {"source_col": source_col, "target_col": target_col} if source_col or target_col else None
    task = api.compare_task(data, models, task)
    display = ui_transduce.TransduceProgress(quiet) if task == "seq2seq" else ui_compare.CompareProgress(quiet)
    with display as progress:
        doc = api.compare(data, models, folds=folds, test=test, val_split=val_split, seed=seed,
                          params=params, text_col=text_col, label_col=label_col, jobs=jobs,
                          backend=backend, scheduler=scheduler, probes=texts, gradients=gradients,
                          disagreements=disagreements, on_start=progress.start, on_result=progress,
                          notify=ui.note, task=task, fmt=fmt, tag_col=tag_col, beam=beam, columns=columns)
    if as_json:
        sys.stdout.write(json.dumps(doc, ensure_ascii=False) + "\n")
        sys.stdout.flush()
        return
    with ui.svg(svg, "stdout"):
        if task == "seq2seq":
            ui_transduce.print_report(doc)
        else:
            ui_compare.print_report(doc, confusion=confusion, gradients=gradients)
    if not quiet:
        ui.note(f"compared {len(doc['models'])} models in {doc['run']['seconds']:.1f}s")
