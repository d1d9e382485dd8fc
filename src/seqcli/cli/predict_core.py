"""What ``seqcli predict`` does once its options are parsed, without typer: cli/predict.py (the typer
command) runs it for every call, and cli/quick.py calls it directly for the plainest ones, which then
start without typer's import and parsing (half of a one-line predict's start-up cost)."""

import sys


class OptionError(Exception):
    """A usage error about option ``hint``: the typer command raises it as typer's BadParameter (one
    line and exit 2, as any bad option); cli/quick.py leaves such a call to typer."""

    def __init__(self, message, hint):
        super().__init__(message)
        self.message, self.hint = message, hint


def _only_with(flag, given, values):
    """OptionError when options that only go with ``flag`` are given without it (values: {"--option":
    value or None/False})."""
    used = [name for name, value in values.items() if value not in (None, False)]
    if used and not given:
        raise OptionError(f"only goes with {flag}", used[0])


def run(*args, **kwargs):
    """Write one line of output per input line, BLAS on one thread (a second thread gains little on a
    batch's products and makes a busy machine's predict several times slower; --jobs uses the cores).
    Arguments: see ``_run``. Raises OptionError."""
    from seqcli import api

    with api.blas_threads(1):
        _run(*args, **kwargs)


def _run(model, input="-", as_json=False, proba=False, text_col=None, explain=False, units=None, gate=None,
        layer=None, head=None, stats=False, no_color=False, errors="replace", svg=None, tokenize=False, fmt=None,
        tag_col=None, beam=None, nbest=None, decode_len=None, jobs=1):
    """The options as cli/predict.py declares them."""
    from seqcli import api, ui

    _only_with("--explain", explain, {"--units": units, "--gate": gate, "--layer": layer, "--head": head,
                                      "--stats": stats, "--no-color": no_color, "--svg": svg})
    if svg and as_json:
        raise OptionError("does not go with --json (nothing is drawn)", "--svg")
    if proba and as_json:
        raise OptionError("does not go with --json, which already carries every class's probability", "--proba")
    fitted = api.load_model(model)
    if jobs > 1 and (explain or fitted.kind in ("lm", "tagger", "seq2seq")):
        raise OptionError("only goes with a classifier's predictions (not --explain)", "--jobs")
    search = {"--beam": beam, "--nbest": nbest, "--max-len": decode_len}
    if fitted.kind != "seq2seq" and any(v is not None for v in search.values()):
        given = ", ".join(k for k, v in search.items() if v is not None)
        raise OptionError(f"{given}: only a seq2seq model searches for its output", given)
    beam, nbest = beam or 1, nbest or 1
    if fitted.kind != "tagger":
        _only_with("a tagger", False, {"--tokenize": tokenize, "--format": fmt, "--tag-col": tag_col})
    else:
        _only_with("a classifier", False, {"--proba": proba, "--text-col": text_col})
        if not explain:
            _write(api.tag_lines(fitted, input, as_json, tokenize, fmt, tag_col, notify=ui.note, errors=errors))
            return
    if explain:  # option values that do not fit the model fail before any input is read
        api.explain(fitted, [], units, gate, layer, words=tokenize, heads=head)
    batches = api.input_batches(input, text_col, notify=ui.note, errors=errors, model=fitted)
    if explain:
        from seqcli.ui import explain as show

        texts = (t for batch in batches for t in batch)
        with ui.svg(svg, "stdout"):
            if stats:
                show.render_stats(api.saturation(fitted, texts, units, gate, layer), as_json=as_json,
                                  no_color=no_color)
            else:
                show.render(api.explain(fitted, texts, units, gate, layer, words=tokenize, beam=beam,
                                        max_len=decode_len, heads=head), as_json=as_json, no_color=no_color)
        return
    if fitted.kind == "lm":
        if proba:
            raise OptionError("a language model has no classes", "--proba")
        lines = api.score_lines(fitted, batches, as_json, notify=ui.note)
    elif fitted.kind == "seq2seq":
        if proba:
            raise OptionError("a seq2seq model has no classes (--json shows its scores)", "--proba")
        lines = api.transduce_lines(fitted, batches, beam, nbest, decode_len, as_json, notify=ui.note)
    else:
        lines = api.predict_lines(fitted, batches, as_json, proba, notify=ui.note, source=input, jobs=jobs)
    _write(lines)


def _write(lines):
    """Write batches of output lines to stdout, flushed per batch on a pipe."""
    out = sys.stdout
    flush = not out.isatty()
    for batch in lines:
        if batch:
            out.write("\n".join(batch))
            out.write("\n")
        if flush:
            out.flush()
