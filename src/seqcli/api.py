"""The library facade behind every command: train (every task), predict, score, generate, explain,
compare, vectorize. Never prints.

Each function takes plain values, does one job and returns results (or yields output lines);
diagnostics go through the ``notify`` callable it is given. Heavy modules (scikit-learn, the training
code) are imported inside the functions that need them, so ``predict`` starts fast.
"""

import os


from seqcli.errors import SeqcliError
from seqcli.threads import blas_threads  # noqa: F401 (the facade's: predict runs BLAS on one thread)
from seqcli.predictions import (format_prediction, predict_lines, score_lines,  # noqa: F401 (the facade's)
                                transduce_lines)

BUDGET = ("max_steps", "max_time")   # the only settings a resumed run takes from its new command line


def _quiet(message):
    pass


# ----------------------------------------------------------------------------------------- train

def train(data, output, task=None, model=None, params=None, columns=None, val=None, resume=None,
          report=None, notify=_quiet, info=None):
    """Train a model of ``task`` ("classify", "lm", "tag", "seq2seq"; default classify) on ``data`` and write
    it to ``output``.

    params: hyperparameters, one flat dict (see config.py; None = the model's default).
    columns: {"text_col", "label_col"} for tables ({"format", "tag_col", "text_col"} for tagged data); val: a
    validation file instead of a split of DATA.
    resume: a checkpoint written by a halted run: the run continues with the checkpoint's task, model,
    settings and data options (only the budget, --max-steps / --max-time, comes from ``params``).
    report(event): progress events; notify(str): warnings; info(str): notes that only describe the run.
    Returns a summary dict (also stored, minus timings, in the model file). When training halts early
    the summary has "halted" and "checkpoint". Raises SeqcliError.
    """
    from seqcli import models, tasks
    from seqcli.training import checkpoint
    from seqcli.training.fit import fit

    params = dict(params or {})
    identity = point = None
    if resume is not None:
        identity, point, task, model, params, columns, val = _resumed(resume, task, params, columns, val)
    task = task or "classify"
    mod = tasks.module(task)
    model = model or mod.MODELS[0]
    if identity is None:
        _refuse_what_does_not_apply(params, mod.accepts(model), task, model)
    prepared = mod.prepare(data, model, params, columns, val, notify, info, report)
    job = prepared.job
    if report is not None:
        report({"event": "start", "task": task, "model": model, "unit": job.unit,
                "evaluates_on": getattr(job, "evaluates_on", "validation")})
    job.identity["data"] = {"columns": columns, "val": val}
    if identity is not None and job.identity["data_sha256"] != identity["data_sha256"]:
        other, noun = mod.OTHER_DATA
        raise SeqcliError(f"{resume}: this checkpoint was made on {other} than "
                          f"{_display(data)}; resume with the same {noun}")
    outcome = fit(job, output, point, report)
    if outcome.halted and not outcome.has_model:
        # stopped before the first validation: there is no model worth writing, and an existing
        # file at output (perhaps a good model) must not be replaced by random weights
        return {"task": task, "model": model, "halted": outcome.halted, "checkpoint": outcome.checkpoint,
                "model_written": False, "output": output, "seconds": round(outcome.seconds, 3)}
    summary = {"task": task, "model": model, **mod.summary(prepared, outcome), **_transfer_figures(job),
               "workers": outcome.workers, "history": [_plain(h) for h in outcome.state.history]}
    if outcome.halted:
        summary.update(halted=outcome.halted, checkpoint=outcome.checkpoint)
    elif os.path.exists(checkpoint.path_for(output)):
        os.unlink(checkpoint.path_for(output))  # the run is complete: its resume point is no longer needed
    models.save(output, job.model, training=summary)
    summary.update(_transfer_figures(job, timings=True))   # timings stay out of the file (same seed, same bytes)
    n_params = int(sum(p.size for p in job.model.net.params.values()))
    summary.update(output=output, seconds=round(outcome.seconds, 3), n_params=n_params)
    summary[f"{job.unit}_per_second"] = round((outcome.rows if job.unit == "rows" else outcome.tokens)
                                              / max(outcome.seconds, 1e-9))
    return summary


def _resumed(resume, task, params, columns, val):
    """(identity, resume point, task, model, params, columns, val) of a halted run's checkpoint: its
    own settings, but the budget (--max-steps / --max-time) and the data options given now."""
    from seqcli.training import checkpoint

    identity, point = checkpoint.load(resume, {k: params.get(k) for k in BUDGET})
    if task is not None and task != identity["task"]:
        raise SeqcliError(f"{resume}: is a checkpoint of a --task {identity['task']} run, not --task {task}; "
                          "resume it without --task", exit_code=2)
    stored = identity.get("data") or {}
    return (identity, point, identity["task"], identity["model"], identity["params"],
            columns or stored.get("columns"), val if val is not None else stored.get("val"))


def _transfer_figures(job, timings=False):
    """What a job started from pretrained weights (tasks/transfer.py) adds to the summary, any task:
    {"transfer": word vectors' coverage, the language model, its pretraining}; with ``timings`` the
    pretraining's time instead ({} for a job without transfer)."""
    transfer = getattr(job, "transfer", None)
    if transfer is None:
        return {}
    if timings:
        return dict(transfer.timings)
    return {"transfer": transfer.summary()} if transfer.summary() else {}


# option names where they are not the parameter's name with dashes
OPTION_NAMES = {"weight_decay": "--l2", "ngram_min": "--ngrams", "ngram_max": "--ngrams", "cell": "--model"}


def option_name(param):
    return OPTION_NAMES.get(param, "--" + param.replace("_", "-"))


def _refuse_what_does_not_apply(params, accepted, task, model):
    """A setting the chosen task and model do not use is an error, never silently ignored."""
    unused = sorted({option_name(k) for k, v in params.items() if v is not None and k not in accepted})
    if unused:
        raise SeqcliError(f"{', '.join(unused)} {'does' if len(unused) == 1 else 'do'} not apply to "
                          f"--task {task} --model {model}", exit_code=2)


def _plain(figures):
    """An evaluation's figures, JSON-ready (floats rounded to 6 digits, as --json writes them)."""
    return {k: round(float(v), 6) if isinstance(v, float) else v for k, v in figures.items()}


def _display(source):
    return "<stdin>" if source in (None, "-") else str(source)


def check_output(path, inputs=(), force=False, what="model", option="-o"):
    """Fail before any work when ``path`` cannot take a seqcli file (see persist.check_output)."""
    from seqcli import persist

    persist.check_output(path, inputs, force, what, option)


# --------------------------------------------------------------------------------------- predict

def load_model(path, kinds=None):
    """Load a model file for prediction (one-line SeqcliError on any problem)."""
    from seqcli import models

    return models.load(path, kinds)


def input_batches(source, text_col=None, notify=_quiet, errors="replace", model=None):
    """Batches (lists) of texts to predict: the lines of a text file or stdin, streamed as they come
    (one text per line, empty lines included), or the text column of a .csv/.tsv file (for a seq2seq
    ``model``, its source column: source, input, src, else the first).

    errors: what a line that is not clean text gets (stream.ERRORS): "replace" (U+FFFD), "skip" (an
    empty line) or "strict" (an error); the count is said once through ``notify`` at the end."""
    from seqcli import data
    from seqcli.data.tables import CLASSIFY, PAIRS

    if is_table(source):
        roles = PAIRS if getattr(model, "kind", None) == "seq2seq" else CLASSIFY
        table = data.read_table(source, text_col, None, need_labels=False, roles=roles)
        if table.skipped:
            notify(table.skipped_summary())
        return (table.texts[i: i + 512] for i in range(0, len(table.texts), 512))
    if text_col is not None:
        raise SeqcliError("--text-col only applies to a .csv/.tsv INPUT (plain text is one text per line)",
                          exit_code=2)
    # a bag-of-words model answers 4,096 short lines in about 10 ms, and each batch costs it some fixed
    # numpy calls: larger batches are a tenth faster and still answer a pipe at once (a batch never
    # waits for input that has not come); the other models keep 512, their batches take longer
    return _lines(source, notify, errors, 4096 if getattr(model, "kind", None) == "bow" else 512)


def _lines(source, notify, errors, max_batch=512):
    """Batches of the lines of a text file or stdin (see input_batches); the input is opened at once,
    so a missing file fails here, not at the first batch."""
    from seqcli import stream

    bad = None if errors == "strict" else stream.BadLines(errors)
    batches = stream.line_batches(stream.open_source(source), _display(source), max_batch, bad=bad)

    def lines():
        yield from batches
        if bad is not None and bad.summary(_display(source)):
            notify(bad.summary(_display(source)))

    return lines()


# -------------------------------------------------------------------------------------- evaluate

def evaluate(model_path, test, columns=None, beam=None, notify=_quiet):
    """A saved model's figures on ``test`` (a file or ``-``), any model kind: train's final report
    computed on that file (see evaluation.py); one JSON-ready dict. Raises SeqcliError."""
    from seqcli.evaluation import evaluate as run

    return run(model_path, test, columns, beam, notify)


# ------------------------------------------------------------------------------------- tagging

def tag_lines(model, source, as_json=False, words=False, fmt=None, tag_col=None, notify=_quiet,
              errors="replace"):
    """For each batch of input, the output lines of a tagger: plain text
    (one sentence per line) -> ``word/TAG ...`` or JSON per line; CoNLL-U / CoNLL -> the same text with
    the tag column filled. Streamed: each batch is answered as it comes (models/tagio.py has the rules)."""
    from seqcli.models.tagio import tag_stream

    return tag_stream(model, _lines(source, notify, errors), _display(source), as_json, words, fmt, tag_col, notify)


# -------------------------------------------------------------------------------------- generate

def generation(lm, prime="", length=500, temperature=1.0, top_k=None, greedy=False, seed=0, until=None, count=1,
               echo=True, keep_first=0):
    """Samples from a language model (characters or words), piece by piece (see generation.Generation)."""
    from seqcli.generation import Generation

    return Generation(lm, prime, length, temperature, top_k, greedy, seed, until, count, echo, keep_first)


def read_prime(source):
    """The prime text from a file or ``-`` (stdin)."""
    from seqcli import data

    return data.read_corpus(source)


def prime_unknown(lm, prime):
    """(the characters of ``prime`` the model never saw, described for a message)."""
    from seqcli.models.charlm import describe_chars

    unknown = lm.unknown_chars(prime)
    return unknown, describe_chars(unknown)


# --------------------------------------------------------------------------------------- explain

def explain(model, texts, units=None, gates=None, layer=None, words=False, beam=1, max_len=None, heads=None):
    """One explanation record per text, made as each text comes (see explain/); the options are
    checked at once (usage errors) before any text is read. words: a tagger's --tokenize; ``beam`` /
    ``max_len``: a seq2seq model's search; ``heads``: a Transformer's (--head)."""
    from seqcli import explain as ex

    return ex.explain(model, texts, units=units, gates=gates, layer=layer, words=words, beam=beam,
                      max_len=max_len, heads=heads)


def saturation(model, texts, units=None, gates=None, layer=None):
    """Shares of saturated gate values over ``texts`` (see explain/stats.py)."""
    from seqcli import explain as ex
    from seqcli.explain.stats import saturation as saturation_of

    ex.check_options(model, units, gates, layer)
    if getattr(model, "kind", None) == "bow" or getattr(model.net, "cell", None) == "transformer":
        raise ex.usage("--stats needs a recurrent model: a bag-of-words model or a transformer has no gates")
    return saturation_of(model, list(texts), layer=layer)


# --------------------------------------------------------------------------------------- compare

def compare(data, models=None, **options):
    """Compare models (classifiers, taggers or encoder-decoders) on DATA side by side (see compare.run);
    one JSON-ready dict."""
    from seqcli.compare import run

    return run(data, models, **options)


def compare_task(data, models, task=None):
    """The task ``compare`` runs: ``task`` when given; "seq2seq" when every --models entry is a saved
    seq2seq file; "tag" for tagged data (CoNLL-U, CoNLL); else "classify"."""
    from seqcli.compare import task_of

    return task_of(data, models, task)


def read_probes(path):
    from seqcli.compare import read_probes as read

    return read(path)


# ------------------------------------------------------------------------------------- vectorize

def read_texts(source, notify=_quiet, errors="replace"):
    """Every line of a text file or stdin, as a list (one document per line; see input_batches)."""
    return [t for batch in _lines(source, notify, errors, 1 << 30) for t in batch]


def read_documents(source, text_col=None, label_col=None, notify=_quiet, errors="replace"):
    """(texts, labels or None) to vectorize: a .csv/.tsv file's text column (and its label column when
    one is given or found by name; skipped rows are said through ``notify``), or one text per line."""
    from seqcli import data

    if is_table(source) or text_col is not None or label_col is not None:
        table = data.read_table(source, text_col, label_col, need_labels=None)
        if table.skipped:
            notify(table.skipped_summary())
        return table.texts, table.labels
    return read_texts(source, notify, errors), None


def is_table(source):
    """Whether ``source`` is read as a CSV/TSV table (by its name)."""
    return str(source).lower().endswith((".csv", ".tsv", ".tab"))


def fit_vectorizer(texts, config, source="-"):
    """A Vectorizer fitted on ``texts``; an empty vocabulary is an error naming ``source``."""
    from seqcli.features import FeatureError, Vectorizer

    try:
        return Vectorizer(config).fit(texts)
    except FeatureError as exc:
        raise SeqcliError(f"{_display(source)}: {exc.message}") from None


def save_vectorizer(path, vectorizer):
    from seqcli import persist

    header, arrays = vectorizer.to_state()
    persist.save_model(path, "vectorizer", {"vectorizer": header}, arrays)


def load_vectorizer(path):
    from seqcli import persist
    from seqcli.features import Vectorizer

    header, arrays = persist.load_model(path, {"vectorizer"})
    try:
        return Vectorizer.from_state(header["vectorizer"], arrays)
    except (KeyError, ValueError, TypeError) as exc:
        raise SeqcliError(f"{path}: damaged vectorizer file ({' '.join(str(exc).split())})") from None


def write_vectors(vectorizer, texts, fmt, target, labels=None):
    """Write the vectors of ``texts`` in ``fmt`` (jsonl, svmlight, npz) to ``target`` (a text stream,
    or for npz a binary stream or a path); svmlight lines start with ``labels`` (default 0)."""
    from seqcli import features

    rows = vectorizer.transform(texts)
    if fmt == "npz":
        features.write_npz(rows, target)
    elif fmt == "svmlight":
        features.write_svmlight(rows, target, labels)
    else:
        features.write_jsonl(rows, vectorizer.feature_names(), target, integers=vectorizer.config.mode != "tfidf")


def write_output(path, write):
    """Call ``write(stream)`` with a temporary file that becomes ``path`` only when it is whole."""
    from seqcli import features

    features.write_to_path(path, write)
