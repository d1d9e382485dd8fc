"""seqcli compare on tagged data: taggers trained and scored on the same split, side by side.

DATA is tagged sentences (CoNLL-U, CoNLL columns, or a CSV of tokens and tags; data/conll.py). Every
model is trained on the same training sentences (all of DATA with ``--test FILE``, else a seeded
``--val-split`` share of its sentences held out, 0.1 by default) through the tagging task's own job and
training path, then tags the test sentences. Each row: token accuracy, accuracy on the tokens unseen in
training, span F1 when the tags follow a BIO-like scheme, training time, tagging speed (test tokens per
second), parameters and the size of the model file. A saved tagger (``PATH.npz``) is scored as it is,
its unseen words being those it never saw in training (its file keeps them).

Model specs (``--models``): ``lstm``, ``gru``, ``rnn`` (BiLSTM / BiGRU / BiRNN with character BiLSTM
features), ``crf`` (lstm with a CRF output), ``cnn`` (character CNN features), ``words`` (no character
features), ``transformer`` (a Transformer encoder over the same word and character features), each
with options after a colon as for classifiers (``lstm:hidden=256,crf=true``), or files.
Each model trains as one joblib task with BLAS on one thread, so the figures do not depend on ``--jobs``.
"""

import time

from seqcli.errors import SeqcliError, UsageError

ALIASES = {"lstm": ("lstm", {}), "gru": ("gru", {}), "rnn": ("rnn", {}), "crf": ("lstm", {"crf": True}),
           "cnn": ("lstm", {"char_features": "cnn"}), "words": ("lstm", {"char_features": "none"}),
           "transformer": ("transformer", {})}
DEFAULT_MODELS = "lstm,cnn"
TAGGER_OPTIONS = ("test", "val_split", "seed", "params", "jobs", "on_start", "on_result", "notify")
BEST = {"accuracy": max, "unseen_accuracy": max, "span_f1": max, "train_seconds": min, "tokens_per_second": max,
        "n_params": min, "file_bytes": min}
TAGGED_SUFFIXES = (".conllu", ".conll", ".conll03", ".bio", ".iob", ".iob1", ".iob2", ".bioes", ".iobes", ".bilou")


def looks_tagged(path):
    """Whether ``path`` holds CoNLL-U or CoNLL sentences (by its name, or a CoNLL-U first line): then
    compare compares taggers without being told. A CSV of tokens and tags needs ``--task tag``."""
    from seqcli.data.conllblocks import looks_like_conllu

    if str(path).lower().endswith(TAGGED_SUFFIXES):
        return True
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as f:
            for line in f:
                if line.strip() and not line.startswith("#"):
                    return looks_like_conllu(line.rstrip("\r\n"))
    except OSError:
        return False
    return False


def run_tagging(data_path, models=None, *, test=None, val_split=None, seed=0, params=None, fmt=None,
                tag_col=None, jobs=None, on_start=None, on_result=None, notify=None):
    """Compare taggers on DATA; returns one JSON-ready dict (``models``: one row per model)."""
    from joblib import Parallel, delayed

    from seqcli import models as fitted_models
    from seqcli.compare.report import best_of
    from seqcli.compare.specs import estimator_params, parse_models
    from seqcli.metrics.spans import detect_scheme
    from seqcli.tasks import tag

    started = time.perf_counter()
    notify = notify or (lambda message: None)
    if test is not None and val_split is not None:
        raise UsageError("choose one of --test and --val-split")
    specs = parse_models(models or [DEFAULT_MODELS], ALIASES, tag.config_class)
    loaded = {i: fitted_models.load(s.path, {"tagger"}) for i, s in enumerate(specs) if not s.trained}
    columns = {"format": fmt, "tag_col": tag_col}
    data = tag.read(data_path, columns, notify)
    if test is not None:
        other = tag.read(test, columns, notify)
        train, held = (data.sentences, data.tags), (other.sentences, other.tags)
        method = {"method": "test", "test": other.source}
    else:
        share = 0.1 if val_split is None else val_split
        if not 0 < share < 1:
            raise UsageError(f"--val-split must be between 0 and 1, not {share}")
        tr, te = tag.split(len(data.sentences), share, seed)
        if te is None:
            raise SeqcliError(f"{data.source}: {len(data.sentences)} sentences: too few to hold {share:g} out")
        train = ([data.sentences[i] for i in tr], [data.tags[i] for i in tr])
        held = ([data.sentences[i] for i in te], [data.tags[i] for i in te])
        method = {"method": "val_split", "val_split": share}
    method.update(n_train=len(train[0]), n_test=len(held[0]), seed=seed)
    common = {**(params or {}), "seed": seed}
    trials = [(i, spec, estimator_params(spec, common, tag.config_class) if spec.trained else {}, loaded.get(i))
              for i, spec in enumerate(specs)]
    if on_start is not None:
        on_start({"models": [s.name for s in specs], "folds": 1, "tasks": len(specs)})
    scheme = detect_scheme(train[1])
    results = []
    for res in Parallel(n_jobs=-1 if jobs is None else jobs, batch_size=1, return_as="generator_unordered")(
            delayed(run_trial)(i, spec, p, model, train, held, scheme) for i, spec, p, model in trials):
        results.append(res)
        if on_result is not None:
            on_result({"name": res["name"], "model": res["model"], "fold": 0, "folds": 1, "accuracy": res["accuracy"],
                       "train_seconds": res["train_seconds"], "halted": res["halted"], "done": len(results),
                       "tasks": len(trials)})
    results.sort(key=lambda r: r["model"])
    return {"task": "tag", "data": data.source, "n_rows": len(data.sentences), "evaluation": method,
            "scheme": scheme, "models": results, "best": best_of(results, BEST),
            "run": {"jobs": -1 if jobs is None else jobs, "seconds": round(time.perf_counter() - started, 3)}}


def run_trial(i, spec, params, model, train, held, scheme):
    """Train (or take) one tagger and score it on the held-out sentences. Runs in a joblib worker."""
    from threadpoolctl import threadpool_limits

    from seqcli.compare.trials import saved_size
    from seqcli.metrics.spans import evaluate
    from seqcli.tasks import tag
    from seqcli.training.fit import fit

    with threadpool_limits(limits=1):
        train_seconds = halted = None
        if spec.trained:
            job = tag.make_job(spec.kind, params, train, held)
            started = time.perf_counter()
            outcome = fit(job)
            train_seconds, halted, model = time.perf_counter() - started, outcome.halted, job.model
        started = time.perf_counter()
        pred = model.predict(held[0])
        seconds = time.perf_counter() - started
        report = evaluate(held[0], held[1], pred, model.seen, scheme)
    n_tokens = sum(map(len, held[0]))
    return {"model": i, "name": spec.name, "kind": spec.kind if spec.trained else "file",
            "params": params if spec.trained else None, "path": spec.path,
            "accuracy": report["accuracy"], "unseen_accuracy": (report["unseen"] or {}).get("accuracy"),
            "span_f1": report["spans"]["f1"] if report["spans"] else None,
            "train_seconds": train_seconds, "halted": halted,
            "tokens_per_second": n_tokens / seconds if seconds > 0 else None,
            "n_params": int(sum(p.size for p in model.net.params.values())), "file_bytes": saved_size(model),
            "n_test_tokens": n_tokens, "confusions": report["confusions"]}


