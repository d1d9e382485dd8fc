"""``seqcli evaluate``'s report on stdout (it is what the command makes): a header line saying what was
evaluated on what, then the tables train draws for its validation, filled with the test file's figures."""

from seqcli.ui.report import print_classification_report, print_tagging_report, seq2seq_line


def header(report):
    """'model.npz (a recurrent classifier) on test.csv: 1,066 rows'."""
    task = report["task"]
    if task == "classify":
        size = _count(report["n"], "row")
    elif task == "lm":
        size = (_count(report["n_units"], "word") + " (and line ends)" if report["split"] == "word"
                else _count(report["n_chars"], "character"))
    elif task == "tag":
        size = f"{_count(report['n'], 'sentence')}, {_count(report['metrics']['tokens'], 'token')}"
    else:
        size = f"{_count(report['n_pairs'], 'pair')}, {_count(report['n_sources'], 'distinct source')}"
    return f"{report['model']} ({report['described']}) on {report['test']}: {size}"


def _count(n, noun):
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def print_evaluation(report):
    """The whole report of ``seqcli evaluate`` (a dict of evaluation.evaluate) on stdout."""
    from seqcli.ui.compare import stdout_console

    console = stdout_console()
    console.print(header(report), markup=False, soft_wrap=True)
    task, title = report["task"], report["test"]
    lines = []
    if task == "classify":
        print_classification_report(report["metrics"], title, console)
        if report["n_unknown_labels"]:
            labels = ", ".join(f"{k} ({v:,})" for k, v in report["unknown_labels"].items())
            lines.append(f"left out: {_count(report['n_unknown_labels'], 'row')} with labels the model does not "
                         f"know: {labels}")
        if report.get("truncated"):
            lines.append(f"{_count(report['truncated'], 'text')} longer than the model's {report['max_len']:,} tokens "
                         "were read only up to there")
    elif task == "lm":
        if report["split"] == "word":
            lines.append(f"{title}: {report['loss']:.4f} nats/word = perplexity {report['ppl']:,.2f}"
                         + (f"; {_count(report['unknown_words'], 'unknown word')} (read as <unk>)"
                            if report["unknown_words"] else ""))
        else:
            lines.append(f"{title}: {report['loss']:.4f} nats/char = {report['bpc']:.4f} bits/char"
                         + (f"; {_count(report['unknown_characters'], 'unknown character')} left out"
                            if report["unknown_characters"] else ""))
    elif task == "tag":
        print_tagging_report(report["metrics"], title, console=console)
        if report["unknown_tags"]:
            lines.append("tags the model does not know (counted as errors): "
                         + ", ".join(f"{k} ({v:,})" for k, v in report["unknown_tags"].items()))
    else:
        lines.append(seq2seq_line(title, report["target_split"], report, report["loss"], report["n_sources"]))
        if "beam" in report:
            lines.append(seq2seq_line(title, report["target_split"], report, None, report["n_sources"],
                                      f"beam {report['beam']}", prefix="beam_"))
    for line in lines:
        console.print(line, markup=False, soft_wrap=True)
