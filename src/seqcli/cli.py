"""The Typer app: each command checks its options, calls the api, and renders the result.

Data goes to stdout, everything else to stderr. Expected failures (SeqcliError) become one line
``seqcli: error: ...`` and their exit code; a closed stdout (``| head``) ends quietly with 0.
"""

import errno
import functools
import io
import json
import os
import sys
from enum import Enum
from typing import Annotated, Optional

import typer

from seqcli import options as opt
from seqcli.errors import SeqcliError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  context_settings={"help_option_names": ["-h", "--help"]},
                  help="Sequence tasks on text: vectorize, train, predict — NumPy RNN/GRU/LSTM and bag-of-words models.")


class Task(str, Enum):
    classify = "classify"
    lm = "lm"


class ModelKind(str, Enum):
    bow = "bow"
    rnn = "rnn"
    gru = "gru"
    lstm = "lstm"


class Optimizer(str, Enum):
    adam = "adam"
    sgd = "sgd"


class ClassWeight(str, Enum):
    balanced = "balanced"


class Pool(str, Enum):
    last = "last"
    mean = "mean"
    max = "max"


class Mode(str, Enum):
    counts = "counts"
    binary = "binary"
    tfidf = "tfidf"


class BowMode(str, Enum):
    counts = "counts"
    binary = "binary"
    tfidf = "tfidf"
    nb = "nb"


class Analyzer(str, Enum):
    word = "word"
    char = "char"


class OutFormat(str, Enum):
    jsonl = "jsonl"
    svmlight = "svmlight"
    npz = "npz"


def _err(message):
    print(f"seqcli: error: {message}", file=sys.stderr, flush=True)


def _silence_stdout():
    """After a closed pipe, point stdout at /dev/null so the final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass  # stdout has no descriptor (tests); nothing left to flush into it


def guarded(func):
    """Turn the ways a command can fail into one line on stderr and the right exit code."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            result = func(*args, **kwargs)
            # flush here, not at exit: a full disk must be reported like any other failure
            if sys.stdout is not None:
                sys.stdout.flush()
            return result
        except SeqcliError as exc:
            _err(exc.message)
            sys.exit(exc.exit_code)
        except BrokenPipeError:
            _silence_stdout()
            sys.exit(0)
        except KeyboardInterrupt:
            _err("interrupted")
            sys.exit(130)
        except MemoryError:
            _err("out of memory; try a smaller --batch-size, model or input")
            sys.exit(1)
        except (typer.Exit, SystemExit):
            raise
        except Exception as exc:  # a bug: still one line, with the way to see more
            if isinstance(exc, OSError) and _is_stdout_error(exc):
                _silence_stdout()  # the final flush would fail the same way
                _err(f"cannot write the output ({exc.strerror or exc})")
                sys.exit(1)
            if os.environ.get("SEQCLI_DEBUG") or _is_usage_error(exc):
                raise
            _err(f"internal error: {type(exc).__name__}: {' '.join(str(exc).split())[:300]} "
                 "(run with SEQCLI_DEBUG=1 for the traceback, and please report it)")
            sys.exit(1)

    return wrapper


class _ClosedWrites:
    def writable(self):
        return True

    def write(self, data):
        raise BrokenPipeError(errno.EPIPE, "stdout is closed")


class _ClosedStdoutBuffer(_ClosedWrites, io.RawIOBase):
    pass


class _ClosedStdout(_ClosedWrites, io.TextIOBase):
    """sys.stdout when the process was started without one: every write raises BrokenPipeError,
    which ``guarded`` turns into a quiet exit 0; flush (also at exit) does nothing."""

    encoding = "utf-8"
    buffer = _ClosedStdoutBuffer()


def _is_stdout_error(exc):
    """Whether ``exc`` came from writing stdout (ENOSPC, EIO on ``> /dev/full``): OSErrors about
    named files are turned into SeqcliErrors naming them where they happen, so an OSError without a
    file name that reaches ``guarded`` is taken to be the output's."""
    return exc.filename is None and exc.errno is not None


def _is_usage_error(exc):
    """typer/click's own exceptions (bad option values): typer prints them and exits 2."""
    return hasattr(exc, "exit_code") and hasattr(exc, "show")


def check_output_path(path, inputs=()):
    """Fail before any work when the model could not be written to ``path`` or would replace
    one of the ``inputs`` (the training data)."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise SeqcliError(f"{path}: is a directory; give a file name for the model (-o)")
    if os.path.exists(path) and not os.path.isfile(path):
        raise SeqcliError(f"{path}: not a regular file; give a file name for the model (-o)")
    for source in inputs:
        if source not in (None, "-") and os.path.exists(path) and os.path.exists(source) \
                and os.path.samefile(path, source):
            raise SeqcliError(f"{path}: is the training data; give another file name for the model (-o)")
    if not os.path.isdir(folder):
        raise SeqcliError(f"{path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise SeqcliError(f"{path}: folder {folder} is not writable")


# -------------------------------------------------------------------------------------- vectorize

@app.command()
@guarded
def vectorize(
    input: Annotated[str, typer.Argument(help="Text file, one document per line; - for stdin.")] = "-",
    fit: Annotated[Optional[str], typer.Option("--fit", help="Fit the vocabulary on this corpus instead of INPUT.")] = None,
    save: Annotated[Optional[str], typer.Option("--save", help="Save the fitted vectorizer to this file.")] = None,
    load: Annotated[Optional[str], typer.Option("--load", help="Use a vectorizer saved with --save.")] = None,
    mode: Annotated[Mode, typer.Option("--mode", help="Feature values.")] = Mode.counts,
    ngrams: opt.Ngrams = None,
    analyzer: Annotated[Analyzer, typer.Option("--analyzer", help="Word or character n-grams.")] = Analyzer.word,
    hash_bits: opt.HashBits = None,
    min_df: opt.MinDf = 1,
    max_features: opt.MaxFeatures = None,
    fmt: Annotated[OutFormat, typer.Option("--format", help="Output format.")] = OutFormat.jsonl,
    output: Annotated[Optional[str], typer.Option("--output", "-o", help="Write vectors here instead of stdout (needed for npz on a terminal).")] = None,
    vocab: Annotated[bool, typer.Option("--vocab", help="Print the vocabulary with document frequencies instead of vectors.")] = False,
    stats: Annotated[bool, typer.Option("--stats", help="Print the number of distinct n-grams per order instead of vectors.")] = False,
    as_json: opt.JsonOut = False,
):
    """Turn text into bag-of-words / n-gram / tf-idf / hashed vectors, one per input line."""
    from seqcli import api, features, stream

    batches = stream.line_batches(stream.open_source(input), _name(input), max_batch=1 << 30)
    texts = [t for batch in batches for t in batch]
    if load:
        if fit or ngrams or hash_bits or min_df != 1 or max_features or mode != Mode.counts or analyzer != Analyzer.word:
            raise typer.BadParameter("--load uses the saved vectorizer's settings; drop --fit/--mode/--ngrams/...",
                                     param_hint="--load")
        vec = api.load_vectorizer(load)
    else:
        lo, hi = ngrams or (1, 1)
        if hash_bits and (min_df != 1 or max_features):
            raise typer.BadParameter("keeps no vocabulary, so --min-df/--max-features cannot apply",
                                     param_hint="--hash-bits")
        cfg = features.VectorizerConfig(analyzer=analyzer.value, ngram_min=lo, ngram_max=hi, mode=mode.value,
                                        min_df=min_df, max_features=max_features, hash_bits=hash_bits)
        corpus = texts
        if fit:
            corpus = [t for b in stream.line_batches(stream.open_source(fit), _name(fit), 1 << 30) for t in b]
        try:
            vec = api.fit_vectorizer(corpus, cfg)
        except features.FeatureError as exc:  # e.g. an empty input: say which file it was
            raise SeqcliError(f"{_name(fit or input)}: {exc.message}") from None
    if save:
        api.save_vectorizer(save, vec)
        print(f"seqcli: saved vectorizer to {save} ({vec.n_features_} features)", file=sys.stderr)
    def emit(write):  # to --output through a temporary file (a full disk leaves it whole), or stdout
        if output:
            features.write_to_path(output, write)
        else:
            write(sys.stdout)

    if stats:
        counts = vec.ngram_stats(texts)
        emit(lambda out: out.write(json.dumps({"ngram_vocabulary": {str(n): k for n, k in counts}}) + "\n"
                                   if as_json else "".join(f"{n}-grams\t{k}\n" for n, k in counts)))
        return
    if vocab:
        if vec.config.hash_bits:
            raise typer.BadParameter("a hashing vectorizer keeps no vocabulary", param_hint="--vocab")

        def write_vocab(out):
            for name, df in zip(vec.feature_names(), vec.df_.tolist()):
                out.write(json.dumps({"token": name, "df": df}, ensure_ascii=False) + "\n" if as_json
                          else f"{name}\t{df}\n")

        emit(write_vocab)
        return
    rows = vec.transform(texts)
    if fmt == OutFormat.npz:
        if output is None and sys.stdout.isatty():
            raise SeqcliError("--format npz is binary: give --output FILE or redirect stdout")
        features.write_npz(rows, output if output else sys.stdout.buffer)
        return

    def write(target):
        if fmt == OutFormat.svmlight:
            features.write_svmlight(rows, target)
        else:
            features.write_jsonl(rows, vec.feature_names(), target, integers=vec.config.mode != "tfidf")

    emit(write)


def _name(source):
    return "<stdin>" if source in (None, "-") else source


# ------------------------------------------------------------------------------------------ train

@app.command()
@guarded
def train(
    data: Annotated[str, typer.Argument(help="CSV/TSV with a header (text and label columns); - for stdin.")],
    output: Annotated[str, typer.Option("--output", "-o", help="Model file to write.")] = "model.npz",
    task: Annotated[Task, typer.Option("--task", help="classify a CSV of texts and labels.")] = Task.classify,
    model: Annotated[Optional[ModelKind], typer.Option("--model", "-m", help="Model kind (default: bow; lstm for --task lm).")] = None,
    text_col: opt.TextCol = None,
    label_col: opt.LabelCol = None,
    epochs: opt.Epochs = None,
    batch_size: opt.BatchSize = None,
    lr: opt.Lr = None,
    optimizer: Annotated[Optimizer, typer.Option("--optimizer", help="Adam, or SGD with momentum 0.9.")] = Optimizer.adam,
    clip: opt.Clip = 5.0,
    weight_decay: Annotated[Optional[float], typer.Option("--l2", callback=opt.float_range(0, 10), help="L2 penalty on weights (default: 1e-5 bow, 0 recurrent).")] = None,
    patience: Annotated[int, typer.Option("--patience", min=0, max=10000, help="Stop after this many evaluations without a better validation loss.")] = 3,
    val_split: Annotated[float, typer.Option("--val-split", callback=opt.float_range(0, 0.9), help="Share of rows held out (stratified) for validation.")] = 0.1,
    seed: opt.Seed = 0,
    class_weight: Annotated[Optional[ClassWeight], typer.Option("--class-weight", help="'balanced' weighs classes inversely to their frequency.")] = None,
    max_steps: opt.MaxSteps = None,
    max_time: opt.MaxTime = None,
    resume: Annotated[Optional[str], typer.Option("--resume", help="Continue a halted run from its .ckpt.npz file.")] = None,
    # bag-of-words
    ngrams: opt.Ngrams = None,
    analyzer: Annotated[Analyzer, typer.Option("--analyzer", help="bow: word or char n-grams.")] = Analyzer.word,
    mode: Annotated[BowMode, typer.Option("--mode", help="bow: feature values (nb: binary scaled by naive-Bayes ratios, NB-LR).")] = BowMode.tfidf,
    min_df: opt.MinDf = 1,
    max_features: opt.MaxFeatures = None,
    hash_bits: opt.HashBits = None,
    # recurrent
    hidden: opt.Hidden = None,
    embed: opt.Embed = None,
    layers: opt.Layers = 1,
    bidirectional: Annotated[bool, typer.Option("--bidirectional", "--bi", help="Read each text in both directions.")] = False,
    pool: Annotated[Pool, typer.Option("--pool", help="How the sequence output becomes one vector.")] = Pool.last,
    dropout: opt.Dropout = None,
    seq_len: Annotated[Optional[int], typer.Option("--seq-len", min=1, max=100000, help="lm: characters per truncated-BPTT window (default 100).")] = None,
    min_count: Annotated[int, typer.Option("--min-count", min=1, max=10**9, help="Recurrent: words seen fewer times become <unk>.")] = 2,
    as_json: opt.JsonOut = False,
    quiet: opt.Quiet = False,
):
    """Fit a model on DATA and write it to --output (best validation checkpoint, written atomically)."""
    from seqcli import api, ui

    check_output_path(output, [data])
    if resume is not None:
        from seqcli import ui

        given = {"--model": model, "--epochs": epochs, "--batch-size": batch_size, "--lr": lr,
                 "--hidden": hidden, "--embed": embed, "--dropout": dropout, "--seq-len": seq_len,
                 "--ngrams": ngrams, "--l2": weight_decay, "--class-weight": class_weight}
        ignored = [name for name, value in given.items() if value is not None]
        if ignored:  # a resumed run must end as the halted one would have: its settings win
            ui.note(f"--resume continues with the checkpoint's settings; ignored: {', '.join(ignored)}")
    if task == Task.lm:
        if model == ModelKind.bow:
            raise typer.BadParameter("a language model is recurrent: choose rnn, gru or lstm", param_hint="--model")
        params = dict(cell=model.value if model else None, hidden=hidden, embed=embed, layers=layers,
                      dropout=dropout, seq_len=seq_len, batch_size=batch_size, lr=lr, optimizer=optimizer.value,
                      clip=clip, weight_decay=weight_decay, epochs=epochs, patience=patience,
                      val_split=val_split, seed=seed, max_steps=max_steps,
                      max_time=opt.parse_duration(max_time), bidirectional=bidirectional)
        return _train_lm(data, output, params, resume, as_json, quiet)
    model = model or ModelKind.bow
    hidden, embed = hidden or 128, embed or 128
    dropout = 0.5 if dropout is None else dropout
    lo, hi = ngrams or (1, 1)
    params = dict(epochs=epochs, batch_size=batch_size, lr=lr, optimizer=optimizer.value, clip=clip,
                  weight_decay=weight_decay, patience=patience, val_split=val_split, seed=seed,
                  class_weight=class_weight.value if class_weight else None, max_steps=max_steps, max_time=opt.parse_duration(max_time),
                  analyzer=analyzer.value, ngram_min=lo, ngram_max=hi, mode=mode.value, min_df=min_df,
                  max_features=max_features, hash_bits=hash_bits, hidden=hidden, embed=embed,
                  layers=layers, bidirectional=bidirectional, pool=pool.value, dropout=dropout,
                  min_count=min_count)
    unit = "rows" if model == ModelKind.bow else "tokens"
    with ui.training_display(quiet, unit) as display:
        summary = api.train_classifier(data, output, model.value, params, text_col, label_col,
                                       resume=resume, report=display, notify=ui.note)
    if "halted" in summary:  # shown even with --quiet: it says how not to lose the run
        kept = (f"best model so far in {output}" if summary.get("model_written", True)
                else f"no model yet (stopped before the first validation; {output} untouched)")
        ui.note(f"stopped: {summary['halted']}; {kept}; "
                f"continue with: seqcli train {data} -o {output} --resume {summary['checkpoint']}")
    if not quiet and "metrics" in summary:
        ui.print_classification_report(summary["metrics"], summary["evaluated_on"])
        if "halted" not in summary:
            ui.note(f"{summary['stopped']}; best epoch {summary['best_epoch']}; "
                    f"{summary['n_params']:,} parameters; {summary['seconds']:.1f}s; saved {output}")
    if as_json:
        print(json.dumps(summary, ensure_ascii=False))
    if summary.get("halted") == "interrupted":
        sys.exit(130)


def _train_lm(data, output, params, resume, as_json, quiet):
    """`train --task lm`: a character language model; progress and notes as for classifiers."""
    from seqcli import ui
    from seqcli.lm_train import train_lm

    with ui.training_display(quiet, "chars") as display:
        summary = train_lm(data, output, params, resume=resume, report=display, notify=ui.note,
                           info=(lambda message: None) if quiet else ui.note)
    if "halted" in summary:
        ui.note(f"stopped: {summary['halted']}; best model so far in {output}; continue with: "
                f"seqcli train {data} --task lm -o {output} --resume {summary['checkpoint']}")
    if not quiet:
        ui.note(f"{summary['evaluated_on']}: {summary['val_loss']:.4f} nats/char = {summary['val_bpc']:.4f} bits/char; "
                + (f"{summary['stopped']}; " if "stopped" in summary else "")
                + f"{summary['n_params']:,} parameters; {summary['seconds']:.1f}s; saved {output}")
    if as_json:
        print(json.dumps(summary, ensure_ascii=False))
    if summary.get("halted") == "interrupted":
        sys.exit(130)


# ---------------------------------------------------------------------------------------- predict

@app.command()
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
    from seqcli import api, stream

    if not explain and (units is not None or gate is not None or layer is not None or stats or no_color):
        raise typer.BadParameter("--units, --gate, --layer, --stats and --no-color go with --explain",
                                 param_hint="--explain")
    fitted = api.load_model(model, {"bow", "seq", "lm"})
    out = sys.stdout
    flush = not out.isatty()
    is_table = input.lower().endswith((".csv", ".tsv", ".tab"))
    if text_col is not None and not is_table:
        raise typer.BadParameter("only applies to a .csv/.tsv INPUT (plain text is one text per line)",
                                 param_hint="--text-col")
    if is_table:
        from seqcli import data, ui

        table = data.read_table(input, text_col, None, need_labels=False)
        if table.skipped:
            ui.note(table.skipped_summary())
        batches = (table.texts[i: i + 512] for i in range(0, len(table.texts), 512))
    else:
        batches = stream.line_batches(stream.open_source(input), _name(input))
    if explain:
        from seqcli.ui_explain import run_explain

        run_explain(fitted, (t for batch in batches for t in batch), units=units, gate=gate,
                    layer=layer, as_json=as_json, stats=stats, no_color=no_color)
        return
    if fitted.kind == "lm":
        if proba:
            raise typer.BadParameter("a language model has no classes", param_hint="--proba")
        return _score_lines(fitted, batches, out, as_json, flush)
    for texts, probs in api.predict_batches(fitted, batches):
        for p in probs:
            out.write(api.format_prediction(fitted.classes, p, as_json, proba))
            out.write("\n")
        if flush:
            out.flush()


from seqcli.cli_compare import compare  # noqa: E402  (light: typer + seqcli.options only)

app.command()(compare)


def _version(value: bool):
    if value:
        from seqcli import __version__

        print(f"seqcli {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="Print the version and exit.")] = False):
    """Sequence tasks on text: vectorize, train, predict — NumPy RNN/GRU/LSTM and bag-of-words models."""


def _score_lines(lm, batches, out, as_json, flush):
    """Bits per character of each input line under a language model (nan for an empty line)."""
    from seqcli import ui
    from seqcli.charlm import describe_chars

    unknown = {}
    for texts in batches:
        unknown.update(dict.fromkeys(lm.unknown_chars("".join(texts))))
        for text, bits in zip(texts, lm.score_lines(texts)):
            ok = bits == bits  # NaN when nothing on the line could be scored
            out.write(json.dumps({"bits_per_char": round(float(bits), 4) if ok else None, "chars": len(text)})
                      if as_json else (f"{bits:.4f}" if ok else "nan"))
            out.write("\n")
        if flush:
            out.flush()
    if unknown:
        ui.note(f"left out of the scores, never seen by the model: {describe_chars(list(unknown))}")


from seqcli.cli_generate import generate as _generate  # noqa: E402  (light: typer/options/errors only)

app.command("generate")(guarded(_generate))


def main():
    """Console-script entry point."""
    # With stdout or stderr closed (``>&-``) Python sets sys.stdout/sys.stderr to None and every
    # write would fail with an AttributeError. A closed stdout behaves as a closed pipe (the first
    # write ends the command quietly, without doing all the work for nobody); a closed stderr
    # becomes /dev/null.
    if sys.stdout is None:
        sys.stdout = _ClosedStdout()
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")
    app(prog_name="seqcli")


if __name__ == "__main__":
    main()
