"""``seqcli train``: fit a model of any task on DATA and write it (best validation weights, atomically)."""

import json
import sys
from typing import Annotated, Literal, Optional

import typer

from seqcli.cli import options as opt
from seqcli.cli.guard import guarded
from seqcli.config import BowConfig, Seq2SeqConfig

TASKS = Literal["classify", "lm", "tag", "seq2seq"]
MODELS = Literal["bow", "rnn", "gru", "lstm", "transformer"]

EXAMPLES = ("seqcli train sample_data/reviews.csv --model lstm -o lstm.npz",
            "seqcli train input.txt --task lm --max-time 10m --workers 2 -o lm.npz",
            "seqcli train train.conllu --task tag --val dev.conllu -o tagger.npz")


PANELS = {   # the option groups of --help, by what they are for (every option is in one)
    "Data": ["text_col", "label_col", "source_col", "target_col", "fmt", "tag_col", "val", "val_split"],
    "Model": ["task", "model", "hidden", "embed", "layers", "bidirectional", "pool", "dropout", "min_count",
              "max_len", "split"],
    "Model: bag-of-words": ["ngrams", "analyzer", "mode", "min_df", "max_features", "hash_bits"],
    "Model: tagger": ["char_features", "char_embed", "char_hidden", "char_width", "crf", "word_dropout"],
    "Model: seq2seq": ["attention", "source_split", "target_split"],
    "Model: transformer": ["heads", "ff", "positions", "activation", "block_size"],
    "Model: transfer learning": ["embeddings", "freeze_embeddings", "init_from", "freeze_epochs", "layer_decay",
                                 "pretrain", "pretrain_corpus", "pretrain_epochs"],
    "Training": ["epochs", "batch_size", "lr", "optimizer", "warmup", "clip", "weight_decay", "patience", "seed",
                 "class_weight", "seq_len", "lr_decay", "workers", "max_steps", "max_time", "resume"],
    "Output": ["output", "force", "as_json", "quiet", "svg", "help"],
}


@guarded
def train(
    ctx: typer.Context,
    data: Annotated[str, typer.Argument(help="CSV/TSV with a header (text and label columns; source and target for --task seq2seq), a text corpus for --task lm, tagged sentences for --task tag (CoNLL-U, CoNLL, CSV); - for stdin.")],
    output: Annotated[str, typer.Option("--output", "-o", help="Model file to write.")] = "model.npz",
    task: Annotated[Optional[TASKS], typer.Option("--task", help="classify: a CSV of texts and labels (default); lm: a language model of a text (characters, or words with --split word); tag: one tag per token; seq2seq: an encoder-decoder on a CSV of source, target pairs.")] = None,
    model: Annotated[Optional[MODELS], typer.Option("--model", "-m", help="Model kind (default: bow; lstm for --task lm, tag and seq2seq); transformer: a self-attention encoder (classify, lm, tag).")] = None,
    text_col: opt.TextCol = None,
    label_col: opt.LabelCol = None,
    source_col: Annotated[Optional[str], typer.Option("--source-col", help="seq2seq: source column, name or 0-based index (default: source, input, src, else the first).")] = None,
    target_col: Annotated[Optional[str], typer.Option("--target-col", help="seq2seq: target column, name or 0-based index (default: target, output, tgt, else the second).")] = None,
    val: opt.Val = None,
    epochs: opt.Epochs = None,
    batch_size: opt.BatchSize = None,
    lr: opt.Lr = None,
    optimizer: opt.Optimizer = None,
    warmup: opt.Warmup = None,
    clip: opt.Clip = 5.0,
    weight_decay: opt.L2 = None,
    patience: opt.Patience = 3,
    val_split: opt.ValSplit = 0.1,
    seed: opt.Seed = 0,
    class_weight: opt.ClassWeight = None,
    workers: opt.Workers = 1,
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
    layers: opt.Layers = None,
    bidirectional: Annotated[bool, typer.Option("--bidirectional/--no-bidirectional", "--bi/--no-bi", help="Read each text in both directions (default: off for a classifier; on for a tagger and a seq2seq encoder).", show_default=False)] = False,
    pool: opt.Pool = None,
    dropout: opt.Dropout = None,
    seq_len: opt.SeqLen = None,
    min_count: opt.MinCount = 2,
    # tagging
    fmt: opt.DataFormat = None,
    tag_col: opt.TagCol = None,
    char_features: opt.CharFeatures = None,
    char_embed: opt.CharEmbed = None,
    char_hidden: opt.CharHidden = None,
    char_width: opt.CharWidth = None,
    crf: opt.Crf = False,
    word_dropout: opt.WordDropout = None,
    # sequence to sequence
    attention: Annotated[opt.choices(Seq2SeqConfig, "attention"), typer.Option("--attention", help="seq2seq: dot (Luong), general, additive (Bahdanau) or none.")] = "dot",
    source_split: Annotated[Optional[opt.choices(Seq2SeqConfig, "source_split")], typer.Option("--source-split", help="seq2seq: split sources into characters or at spaces (default: found from the data).")] = None,
    target_split: Annotated[Optional[opt.choices(Seq2SeqConfig, "target_split")], typer.Option("--target-split", help="seq2seq: split targets into characters or at spaces (default: found from the data).")] = None,
    lr_decay: opt.LrDecay = None,
    # transformer
    heads: opt.Heads = None,
    ff: opt.Ff = None,
    positions: opt.Positions = None,
    activation: opt.Activation = None,
    block_size: opt.BlockSize = None,
    split: opt.Split = "char",
    # transfer learning
    embeddings: opt.Embeddings = None,
    freeze_embeddings: opt.FreezeEmbeddings = False,
    init_from: opt.InitFrom = None,
    freeze_epochs: opt.FreezeEpochs = 0,
    layer_decay: opt.LayerDecay = 1.0,
    pretrain: opt.Pretrain = False,
    pretrain_corpus: opt.PretrainCorpus = None,
    pretrain_epochs: opt.PretrainEpochs = None,
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
                 "--ngrams": ngrams, "--l2": weight_decay, "--class-weight": class_weight, "--heads": heads,
                 "--ff": ff, "--block-size": block_size, "--warmup": warmup,
                 "--workers": workers if workers != 1 else None}
        ignored = [name for name, value in given.items() if value is not None]
        if ignored:  # a resumed run must end as the halted one would have: its settings win
            ui.note(f"--resume continues with the checkpoint's settings; ignored: {', '.join(ignored)}")
    if task in ("lm", "tag", "seq2seq") and model == "bow":
        raise typer.BadParameter(f"--task {task} needs a sequence model: choose rnn, gru, lstm"
                                 + (" or transformer" if task == "lm" else ""), param_hint="--model")
    if task != "tag":
        opt.only_with("--task tag", False, {"--format": fmt, "--tag-col": tag_col})
    elif label_col is not None:
        raise typer.BadParameter("a tagger's tags come from --tag-col", param_hint="--label-col")
    if (source_col or target_col) and task != "seq2seq":
        raise typer.BadParameter("--source-col and --target-col are for --task seq2seq (a classifier's "
                                 "columns are --text-col and --label-col)", param_hint="--source-col")
    params = _given(ctx, locals())
    columns = {k: v for k, v in (("text_col", text_col), ("label_col", label_col), ("format", fmt),
                                 ("tag_col", tag_col), ("source_col", source_col), ("target_col", target_col))
               if v is not None} or None
    with ui.svg(svg):
        with ui.training_display(quiet) as display:
            summary = api.train(data, output, task, model, params, columns, val, resume, report=display,
                                notify=ui.note, info=(lambda message: None) if quiet else ui.note)
        _report(summary, data, output, quiet, chart=svg is not None or ui.stream_is_live(sys.stderr))
    if as_json:
        print(json.dumps(summary, ensure_ascii=False))
    if summary.get("halted") == "interrupted":
        sys.exit(130)


NOT_PARAMS = ("data", "output", "task", "model", "text_col", "label_col", "source_col", "target_col", "val", "resume",
              "as_json", "quiet", "ctx", "force", "svg", "fmt", "tag_col")


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
        again = f" --task {task}" if task != "classify" else ""
        ui.note(f"stopped: {summary['halted']}; {kept}; "
                f"continue with: seqcli train {data}{again} -o {output} --resume {summary['checkpoint']}")
    if quiet or "seconds" not in summary or summary.get("model_written") is False:
        return
    if chart:
        ui.print_training_chart(summary.get("history", []))
    if task == "lm":
        figures = (f"{summary['val_loss']:.4f} nats/word = perplexity {summary['val_ppl']:,.2f}" if "val_ppl" in summary
                   else f"{summary['val_loss']:.4f} nats/char = {summary['val_bpc']:.4f} bits/char")
        ui.note(f"{summary['evaluated_on']}: {figures}; "
                + (f"{summary['stopped']}; " if "stopped" in summary else "")
                + f"{summary['n_params']:,} parameters; {ui.took(summary)}; saved {output}")
        return
    if task == "seq2seq":
        ui.print_seq2seq_report(summary, output)
        return
    title = summary["evaluated_on"] + (f" ({summary['val_source']})" if "val_source" in summary else "")
    if task == "tag":
        ui.print_tagging_report(summary["metrics"], title)
    else:
        ui.print_classification_report(summary["metrics"], title)
    if "halted" not in summary:
        ui.note(f"{summary['stopped']}; best epoch {summary['best_epoch']}; "
                f"{summary['n_params']:,} parameters; {ui.took(summary)}; saved {output}")
