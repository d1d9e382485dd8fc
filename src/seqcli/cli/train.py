"""``seqcli train``: fit a model of any task on DATA and write it (best validation weights, atomically)."""

import json
import sys
from typing import Annotated, Literal, Optional

import typer

from seqcli.cli import options as opt
from seqcli.cli.guard import guarded
from seqcli.config import BowConfig

TASKS = Literal["classify", "lm"]
MODELS = Literal["bow", "rnn", "gru", "lstm"]


@guarded
def train(
    ctx: typer.Context,
    data: Annotated[str, typer.Argument(help="CSV/TSV with a header (text and label columns), or a text corpus for --task lm; - for stdin.")],
    output: Annotated[str, typer.Option("--output", "-o", help="Model file to write.")] = "model.npz",
    task: Annotated[Optional[TASKS], typer.Option("--task", help="classify: a CSV of texts and labels (default); lm: a character language model of a text.")] = None,
    model: Annotated[Optional[MODELS], typer.Option("--model", "-m", help="Model kind (default: bow; lstm for --task lm).")] = None,
    text_col: opt.TextCol = None,
    label_col: opt.LabelCol = None,
    val: opt.Val = None,
    epochs: opt.Epochs = None,
    batch_size: opt.BatchSize = None,
    lr: opt.Lr = None,
    optimizer: opt.Optimizer = "adam",
    clip: opt.Clip = 5.0,
    weight_decay: opt.L2 = None,
    patience: opt.Patience = 3,
    val_split: opt.ValSplit = 0.1,
    seed: opt.Seed = 0,
    class_weight: opt.ClassWeight = None,
    max_steps: opt.MaxSteps = None,
    max_time: opt.MaxTime = None,
    resume: Annotated[Optional[str], typer.Option("--resume", help="Continue a halted run from its .ckpt.npz file.")] = None,
    force: opt.Force = False,
    # bag-of-words
    ngrams: opt.Ngrams = None,
    analyzer: opt.Analyzer = "word",
    mode: Annotated[opt.choices(BowConfig, "mode"), typer.Option("--mode", help="bow: feature values (nb: binary scaled by naive-Bayes ratios, NB-LR).")] = "tfidf",
    min_df: opt.MinDf = 1,
    max_features: opt.MaxFeatures = None,
    hash_bits: opt.HashBits = None,
    # recurrent
    hidden: opt.Hidden = None,
    embed: opt.Embed = None,
    layers: opt.Layers = 1,
    bidirectional: Annotated[bool, typer.Option("--bidirectional", "--bi", help="Read each text in both directions.")] = False,
    pool: opt.Pool = "last",
    dropout: opt.Dropout = None,
    seq_len: opt.SeqLen = None,
    min_count: opt.MinCount = 2,
    max_len: opt.MaxLen = 256,
    as_json: opt.JsonOut = False,
    quiet: opt.Quiet = False,
    svg: opt.Svg = None,
):
    """Fit a model on DATA and write it to --output (best validation checkpoint, written atomically)."""
    from seqcli import api, ui

    api.check_output(output, [data], force)
    if resume is not None:
        given = {"--model": model, "--epochs": epochs, "--batch-size": batch_size, "--lr": lr,
                 "--hidden": hidden, "--embed": embed, "--dropout": dropout, "--seq-len": seq_len,
                 "--ngrams": ngrams, "--l2": weight_decay, "--class-weight": class_weight}
        ignored = [name for name, value in given.items() if value is not None]
        if ignored:  # a resumed run must end as the halted one would have: its settings win
            ui.note(f"--resume continues with the checkpoint's settings; ignored: {', '.join(ignored)}")
    if task == "lm" and model == "bow":
        raise typer.BadParameter("a language model is recurrent: choose rnn, gru or lstm", param_hint="--model")
    params = _given(ctx, locals())
    columns = {"text_col": text_col, "label_col": label_col} if text_col or label_col else None
    with ui.svg(svg):
        with ui.training_display(quiet) as display:
            summary = api.train(data, output, task, model, params, columns, val, resume, report=display,
                                notify=ui.note, info=(lambda message: None) if quiet else ui.note)
        _report(summary, data, output, quiet, chart=svg is not None or ui.stream_is_live(sys.stderr))
    if as_json:
        print(json.dumps(summary, ensure_ascii=False))
    if summary.get("halted") == "interrupted":
        sys.exit(130)


NOT_PARAMS = ("data", "output", "task", "model", "text_col", "label_col", "val", "resume", "as_json", "quiet", "ctx",
              "force", "svg")


def _given(ctx, values):
    """The hyperparameters the user gave on the command line, as api.train takes them (the others
    keep their config defaults, which are the options' defaults: tests/test_config.py)."""
    params = {}
    for name, value in values.items():
        source = ctx.get_parameter_source(name)
        if name in NOT_PARAMS or getattr(source, "name", None) != "COMMANDLINE":
            continue
        if name == "ngrams":
            params["ngram_min"], params["ngram_max"] = value
        elif name == "max_time":
            params["max_time"] = opt.parse_duration(value)
        else:
            params[name] = value
    return params


def _report(summary, data, output, quiet, chart=False):
    """What a finished or halted run prints on stderr (with ``chart``: the loss curves too)."""
    from seqcli import ui

    task = summary["task"]
    if "halted" in summary:  # shown even with --quiet: it says how not to lose the run
        kept = (f"best model so far in {output}" if summary.get("model_written", True)
                else f"no model yet (stopped before the first validation; {output} untouched)")
        ui.note(f"stopped: {summary['halted']}; {kept}; continue with: seqcli train {data} -o {output} "
                f"--resume {summary['checkpoint']}")
    if quiet or "seconds" not in summary or summary.get("model_written") is False:
        return
    if chart:
        ui.print_training_chart(summary.get("history", []))
    if task == "lm":
        ui.note(f"{summary['evaluated_on']}: {summary['val_loss']:.4f} nats/char = {summary['val_bpc']:.4f} bits/char; "
                + (f"{summary['stopped']}; " if "stopped" in summary else "")
                + f"{summary['n_params']:,} parameters; {summary['seconds']:.1f}s; saved {output}")
        return
    title = summary["evaluated_on"] + (f" ({summary['val_source']})" if "val_source" in summary else "")
    ui.print_classification_report(summary["metrics"], title)
    if "halted" not in summary:
        ui.note(f"{summary['stopped']}; best epoch {summary['best_epoch']}; "
                f"{summary['n_params']:,} parameters; {summary['seconds']:.1f}s; saved {output}")
