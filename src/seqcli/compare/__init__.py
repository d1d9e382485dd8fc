"""seqcli compare: several models trained and scored on the same splits, side by side. Never prints.

The work is a list of (model, fold) tasks run through joblib (any backend, Dask included). Each task
trains one estimator on one training split (or takes a saved model file as it is), scores it on the
matching test rows and returns plain numbers; the parent gathers them into one JSON-ready document
(``run``'s result, printed as is by ``--json`` and drawn as tables otherwise).

Results do not depend on ``--jobs`` or the backend: every task is seeded by the model's own settings,
BLAS runs on one thread inside every task (threadpoolctl), and the results are sorted back into
(model, fold) order whatever order they finish in. Only the timing figures vary between runs.

Model specs (``--models``): ``bow``, ``bigram`` (bow with word 1- and 2-grams), ``rnn``, ``gru``,
``lstm``, ``birnn``, ``bigru``, ``bilstm``, ``pretrained`` (lstm:pretrain=1), or the path of a saved model file. A trained kind can take
options after a colon, comma-separated: ``lstm:hidden=256,layers=2``, ``bow:ngrams=1:3,mode=binary``.
Since options use commas too, a piece of the list that reads ``NAME=VALUE`` continues the model before it.

Sequence-to-sequence models (``task="seq2seq"``, or saved seq2seq files only) are compared by
compare/transduce.py: error rates, speed and size on held-out pairs.
"""

import os
import time

from seqcli.compare.plan import make_plan
from seqcli.compare.report import assemble, without_timings
from seqcli.compare.specs import ALIASES, DEFAULT_MODELS, estimator_params, parse_models
from seqcli.compare.trials import PROBE_LIMIT, Trial, check_backend, cost, fan_out
from seqcli.errors import SeqcliError, UsageError

__all__ = ["run", "compare_classifiers", "task_of", "read_probes", "without_timings"]


def _quiet(message):
    pass


def read_probes(path):
    """Probe sentences from a file (or - for stdin), one per line; blank lines are skipped."""
    from seqcli import data

    lines = [line for line in data.iter_lines(path) if line.strip()]
    if not lines:
        raise SeqcliError(f"{data.display_name(path)}: no probe sentences (the file has no text lines)")
    return lines


def task_of_files(models):
    """"seq2seq" when every --models entry is a saved seq2seq file, else "classify"."""
    from seqcli import persist

    try:
        specs = parse_models(models or [DEFAULT_MODELS])
    except SeqcliError:
        return "classify"           # its own error comes where it is parsed for classifiers
    if any(s.trained or not os.path.exists(s.path) for s in specs):
        return "classify"
    kinds = {persist.load_model(s.path, None)[0].get("kind") for s in specs}
    return "seq2seq" if kinds == {"seq2seq"} else "classify"


def load_model_files(specs):
    """{model index: loaded predictor} for the saved-model specs (classifiers only)."""
    from seqcli import models

    loaded = {}
    for i, spec in enumerate(specs):
        if not spec.trained:
            if not os.path.exists(spec.path):
                raise SeqcliError(f"{spec.path}: no such file (and not a model kind: "
                                  f"choose {', '.join(ALIASES)})")
            loaded[i] = models.load(spec.path, models.CLASSIFIERS)
    return loaded


def task_of(data_path, models, task=None):
    """The task a comparison runs: ``task`` when given, else "seq2seq" when every --models entry is a
    saved seq2seq file, "tag" for tagged data (CoNLL-U, CoNLL), else "classify"."""
    from seqcli.compare.tagging import looks_tagged

    if task is not None:
        return task
    if task_of_files(models) == "seq2seq":
        return "seq2seq"
    return "tag" if looks_tagged(data_path) else "classify"


def run(data_path, models=None, *, task=None, fmt=None, tag_col=None, beam=None, columns=None, **options):
    """Compare classifiers (``compare_classifiers``), taggers (compare/tagging.py: ``fmt`` and ``tag_col``
    say how the tagged data is read) or encoder-decoders (compare/transduce.py: ``beam``, ``columns``
    {"source_col", "target_col"}), the task as ``task_of`` finds it. One JSON-ready dict."""
    task = task_of(data_path, models, task)
    if task != "tag" and (fmt is not None or tag_col is not None):
        raise UsageError("--format and --tag-col are for tagged data (--task tag)")
    if task != "seq2seq" and (beam is not None or columns):
        raise UsageError("--beam, --source-col and --target-col are for seq2seq models")
    if task != "classify":
        options.pop("disagreements", None)   # a default of the command line: only classifiers show them
    if task == "seq2seq":
        from seqcli.compare.transduce import run_transduce

        if options.pop("probes", ()) or options.pop("gradients", False) or \
                options.pop("text_col", None) is not None or options.pop("label_col", None) is not None:
            raise UsageError("--probe, --gradients, --text-col and --label-col are for classifiers")
        return run_transduce(data_path, models, columns=columns, beam=beam, **options)
    if task == "tag":
        from seqcli.compare.tagging import TAGGER_OPTIONS, run_tagging

        unused = [f"--{k.replace('_', '-')}" for k, v in options.items() if k not in TAGGER_OPTIONS and v]
        if unused:
            raise UsageError(f"{', '.join(unused)} {'does' if len(unused) == 1 else 'do'} not apply to taggers")
        return run_tagging(data_path, models, fmt=fmt, tag_col=tag_col,
                           **{k: v for k, v in options.items() if k in TAGGER_OPTIONS})
    return compare_classifiers(data_path, models, **options)


def compare_classifiers(data_path, models=None, *, folds=None, test=None, val_split=None, seed=0,
                        params=None, text_col=None, label_col=None, jobs=None, backend=None, scheduler=None,
                        probes=(), gradients=False, disagreements=10, on_start=None, on_result=None,
                        notify=_quiet):
    """Compare classifiers on DATA; returns one JSON-ready dict (see ``describe`` in the tests).

    models: --models values (list of comma-separated spec lists); params: command-line estimator
    values ({"epochs": 2, "hidden": 32, ...}, None = the estimator's default); seed: splits and every
    model. on_start(plan info) and on_result(progress dict) report progress; nothing is printed.
    """
    started = time.perf_counter()
    specs = parse_models(models or [DEFAULT_MODELS])
    backend = check_backend(backend, scheduler)
    if jobs is not None and (jobs == 0 or jobs < -1):
        raise UsageError(f"--jobs must be at least 1 (or -1 for all cores), not {jobs}")
    if disagreements < 0:
        raise UsageError("--disagreements must be 0 or more")
    probes = [p for p in probes if p.strip()]
    if len(probes) > PROBE_LIMIT:
        raise UsageError(f"{len(probes)} probes; at most {PROBE_LIMIT}")
    loaded = load_model_files(specs)
    extra = [c for m in loaded.values() for c in m.classes]
    plan = make_plan(data_path, folds, test, val_split, seed, text_col, label_col, extra, notify)
    data_classes = set(plan.labels.tolist())
    for i, m in loaded.items():
        if not data_classes & set(m.classes):
            raise SeqcliError(f"{specs[i].path}: its classes ({', '.join(m.classes)}) are none of the "
                              f"labels in {plan.source} ({', '.join(sorted(data_classes))})")
    common = dict(params or {})
    common["seed"] = seed
    model_params = [estimator_params(s, common) if s.trained else {} for s in specs]
    trials = [Trial(i, k, spec, model_params[i], tr, te, plan.classes, probes, gradients, loaded.get(i))
              for i, spec in enumerate(specs) for k, (tr, te) in enumerate(plan.splits)]
    trials.sort(key=lambda t: (-cost(t.spec, t.params), t.model, t.fold))
    n_folds = len(plan.splits)
    if on_start is not None:
        on_start({"models": [s.name for s in specs], "folds": n_folds, "tasks": len(trials)})
    done = []

    def finished(res):
        done.append(res)
        if on_result is not None:
            on_result({"name": res["name"], "model": res["model"], "fold": res["fold"], "folds": n_folds,
                       "accuracy": res["accuracy"], "log_loss": res["log_loss"],
                       "train_seconds": res["train_seconds"], "halted": res["halted"],
                       "done": len(done), "tasks": len(trials)})

    results = fan_out(trials, plan.texts, plan.labels, jobs, backend, scheduler, finished, notify)
    results.sort(key=lambda r: (r["model"], r["fold"]))
    doc = assemble(plan, specs, model_params, results, probes, gradients, disagreements)
    doc["run"] = {"jobs": -1 if jobs is None else jobs, "backend": backend or "loky",
                  "scheduler": scheduler, "seconds": round(time.perf_counter() - started, 3)}
    return doc


