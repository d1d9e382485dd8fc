"""``seqcli train``: fit a model of any task on DATA and write it (best validation weights, atomically)."""

import json
import sys
from typing import Annotated, Literal, Optional

import typer

from seqcli.cli import options as opt
from seqcli.cli.guard import check_output_path, guarded
from seqcli.config import BowConfig

TASKS = Literal["classify", "lm"]
MODELS = Literal["bow", "rnn", "gru", "lstm"]


@guarded
def train(
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
    as_json: opt.JsonOut = False,
    quiet: opt.Quiet = False,
):
    """Fit a model on DATA and write it to --output (best validation checkpoint, written atomically)."""
    from seqcli import api, ui

    check_output_path(output, [data])
    if resume is not None:
        given = {"--model": model, "--epochs": epochs, "--batch-size": batch_size, "--lr": lr,
                 "--hidden": hidden, "--embed": embed, "--dropout": dropout, "--seq-len": seq_len,
                 "--ngrams": ngrams, "--l2": weight_decay, "--class-weight": class_weight}
        ignored = [name for name, value in given.items() if value is not None]
        if ignored:  # a resumed run must end as the halted one would have: its settings win
            ui.note(f"--resume continues with the checkpoint's settings; ignored: {', '.join(ignored)}")
    if task == "lm" and model == "bow":
        raise typer.BadParameter("a language model is recurrent: choose rnn, gru or lstm", param_hint="--model")
    lo, hi = ngrams or (None, None)
    params = dict(epochs=epochs, batch_size=batch_size, lr=lr, optimizer=optimizer, clip=clip,
                  weight_decay=weight_decay, patience=patience, val_split=val_split, seed=seed,
                  class_weight=class_weight, max_steps=max_steps, max_time=opt.parse_duration(max_time),
                  analyzer=analyzer, ngram_min=lo, ngram_max=hi, mode=mode, min_df=min_df,
                  max_features=max_features, hash_bits=hash_bits, hidden=hidden, embed=embed,
                  layers=layers, bidirectional=bidirectional, pool=pool, dropout=dropout,
                  min_count=min_count, seq_len=seq_len)
    if task == "lm":
        params = {k: v for k, v in params.items() if k not in _CLASSIFY_ONLY}
    columns = {"text_col": text_col, "label_col": label_col} if text_col or label_col else None
    with ui.training_display(quiet) as display:
        summary = api.train(data, output, task, model, params, columns, val, resume, report=display,
                            notify=ui.note, info=(lambda message: None) if quiet else ui.note)
    _report(summary, data, output, quiet)
    if as_json:
        print(json.dumps(summary, ensure_ascii=False))
    if summary.get("halted") == "interrupted":
        sys.exit(130)


# options of a classifier that a language model run must not receive (its config would refuse them)
_CLASSIFY_ONLY = ("class_weight", "analyzer", "ngram_min", "ngram_max", "mode", "min_df", "max_features",
                  "hash_bits", "pool", "min_count")


def _report(summary, data, output, quiet):
    """What a finished or halted run prints on stderr."""
    from seqcli import ui

    task = summary["task"]
    if "halted" in summary:  # shown even with --quiet: it says how not to lose the run
        kept = (f"best model so far in {output}" if summary.get("model_written", True)
                else f"no model yet (stopped before the first validation; {output} untouched)")
        lm = " --task lm" if task == "lm" else ""
        ui.note(f"stopped: {summary['halted']}; {kept}; "
                f"continue with: seqcli train {data}{lm} -o {output} --resume {summary['checkpoint']}")
    if quiet or "seconds" not in summary or summary.get("model_written") is False:
        return
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
