"""``seqcli compare`` for sequence-to-sequence models: error rates, speed and size on the same pairs.

Evaluation: the pairs of ``--test FILE``, or a seeded ``--val-split`` of DATA's distinct sources (0.1
when neither is given; all the targets of a source stay on one side; k folds would train every model k
times, too slow for this task). Every model is trained on the other pairs (early stopping on a
``val_split`` of their sources, as ``seqcli train`` does) or is a saved seq2seq file, evaluated as it is.
Each one then decodes every evaluation source greedily (and, with ``--beam K``, by beam search): exact
match, word error rate and token error rate against the closest of the source's references, training
tokens per second, decoding words (sources) per second, parameters and file size.

Trials run through compare/trials.py's joblib fan-out with BLAS held to one thread, so the figures do not
depend on ``--jobs``; only the timings vary between runs.
"""

import time
from dataclasses import dataclass

from seqcli.errors import SeqcliError, UsageError

DEFAULT_VAL_SPLIT = 0.1
LOWER = ("wer", "ter", "beam_wer", "beam_ter", "train_seconds", "n_params", "file_bytes")
HIGHER = ("exact", "beam_exact", "train_tokens_per_second", "decode_words_per_second")


def _quiet(message):
    pass


@dataclass
class Trial:
    """One model trained (or taken) and scored; everything in it pickles."""
    model: int
    spec: object
    params: dict
    beam: int | None
    fitted: object = None


def run_transduce(data_path, models=None, *, folds=None, test=None, val_split=None, seed=0, params=None,
                  columns=None, jobs=None, backend=None, scheduler=None, beam=None, on_start=None,
                  on_result=None, notify=_quiet):
    """Compare seq2seq models on DATA; one JSON-ready dict (see the module docstring)."""
    from seqcli import models as fitted_models
    from seqcli.compare.specs import SEQ2SEQ_ALIASES, SEQ2SEQ_DEFAULT_MODELS, estimator_params, parse_models
    from seqcli.config import Seq2SeqConfig
    from seqcli.compare.trials import check_backend, fan_out
    from seqcli.tasks import seq2seq as task

    started = time.perf_counter()
    if folds is not None:
        raise UsageError("seq2seq models are compared on one held-out part: use --test FILE or --val-split F, "
                          "not --folds")
    if test is not None and val_split is not None:
        raise UsageError("choose one of --test and --val-split")
    specs = parse_models(models or [SEQ2SEQ_DEFAULT_MODELS], SEQ2SEQ_ALIASES, Seq2SeqConfig)
    backend = check_backend(backend, scheduler)
    loaded = {i: fitted_models.load(s.path, {"seq2seq"}) for i, s in enumerate(specs) if not s.trained}
    sources, targets, name = task.read_pairs(data_path, columns, notify)
    distinct, refs = task.group(sources, targets)
    if test is not None:
        t_sources, t_targets, t_name = task.read_pairs(test, columns, notify)
        train_src, (eval_src, eval_refs) = distinct, task.group(t_sources, t_targets)
        method = {"method": "test", "test": t_name}
    else:
        share = DEFAULT_VAL_SPLIT if val_split is None else val_split
        train_src, eval_src = task.split_sources(distinct, share, seed)
        eval_refs = refs
        if not eval_src:
            raise SeqcliError(f"{name}: {len(distinct)} distinct sources; too few to hold {share:g} of them out "
                              "(use --test FILE)")
        method = {"method": "val_split", "val_split": share}
    train = [(s, t) for s in train_src for t in refs[s]]
    method.update(n_train_pairs=len(train), n_test_sources=len(eval_src), seed=seed)
    common = {**(params or {}), "seed": seed}
    trials = [Trial(i, s, estimator_params(s, common, Seq2SeqConfig) if s.trained else {}, beam, loaded.get(i))
              for i, s in enumerate(specs)]
    if on_start is not None:
        on_start({"models": [s.name for s in specs], "tasks": len(trials)})
    done = []

    def finished(res):
        done.append(res)
        if on_result is not None:
            on_result({**{k: res[k] for k in ("name", "wer", "ter", "train_seconds", "halted")},
                       "done": len(done), "tasks": len(trials)})

    results = fan_out(trials, train, (eval_src, eval_refs), jobs, backend, scheduler, finished, notify, work=run_trial)
    results.sort(key=lambda r: r["model"])
    doc = {"task": "seq2seq", "data": name, "n_pairs": len(sources), "evaluation": method, "beam": beam,
           "models": results, "best": _best(results)}
    doc["run"] = {"jobs": -1 if jobs is None else jobs, "backend": backend or "loky",
                  "seconds": round(time.perf_counter() - started, 3)}
    return doc


def run_trial(trial, train, evaluation):
    """Train (or take) one model and score it on the evaluation sources (in a joblib worker, one BLAS
    thread)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _run_trial(trial, train, evaluation)


def _run_trial(trial, train, evaluation):
    from seqcli.compare.trials import saved_size
    from seqcli.metrics.editdistance import score
    from seqcli.models.seq2seq import split

    spec, eval_src, eval_refs = trial.spec, *evaluation
    out = {"model": trial.model, "name": spec.name, "kind": spec.kind if spec.trained else "file",
           "train_seconds": None, "train_tokens_per_second": None, "halted": None}
    if spec.trained:
        model, outcome = _train(spec, trial.params, train)
        out.update(train_seconds=outcome.seconds, train_tokens_per_second=outcome.tokens / max(outcome.seconds, 1e-9),
                   halted=outcome.halted, params=trial.params)
        out["file_bytes"] = saved_size(model)
    else:
        import os

        model = trial.fitted
        out.update(path=spec.path, file_bytes=os.path.getsize(spec.path))
    references = [[split(t, model.config.target_split) for t in eval_refs[s]] for s in eval_src]
    started = time.perf_counter()
    found = model.decode(eval_src)
    seconds = time.perf_counter() - started
    sc = score([f[0].tokens for f in found], references)
    out.update(wer=sc.wer, ter=sc.error_rate, exact=sc.exact, n_test=sc.n,
               decode_words_per_second=sc.n / max(seconds, 1e-9), n_params=model.net.n_params())
    if trial.beam:
        sc = score([f[0].tokens for f in model.decode(eval_src, beam=trial.beam)], references)
        out.update(beam_wer=sc.wer, beam_ter=sc.error_rate, beam_exact=sc.exact)
    return out


def _train(spec, params, train):
    """(the fitted model, the fit's Outcome) of a trained spec on the pairs ``train``."""
    from seqcli.tasks import seq2seq as task
    from seqcli.training.fit import DivergedError, fit

    distinct, refs = task.group([s for s, _ in train], [t for _, t in train])
    _, cfg = task.configs(spec.kind, params)
    fit_src, val_src = task.split_sources(distinct, cfg.val_split, cfg.seed)
    pairs = [(s, t) for s in fit_src for t in refs[s]]
    job, _ = task.make_job(spec.kind, params, pairs, val_src or fit_src, refs, {})
    try:
        return job.model, fit(job)
    except DivergedError as exc:
        raise SeqcliError(f"{spec.name}: {exc.message}; try a smaller lr ({spec.name.split(':')[0]}:lr=...)") from None


def _best(rows):
    """{column: [names of the best models]} (ties share the honour)."""
    out = {}
    for col in LOWER + HIGHER:
        vals = {r["name"]: r.get(col) for r in rows if r.get(col) is not None}
        if vals:
            top = (min if col in LOWER else max)(vals.values())
            out[col] = [k for k, v in vals.items() if v == top]
    return out
