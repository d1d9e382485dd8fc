"""Report tables on stderr: the classification or tagging report of a trained model, the figures of a
sequence-to-sequence model, the loss curves."""

from seqcli.ui.console import stderr_console


def print_classification_report(report, title="validation", console=None):
    """Accuracy, macro-F1, per-class table and confusion matrix as rich tables on stderr (or ``console``)."""
    from rich.table import Table

    console = console or stderr_console()
    summary = f"{title}: accuracy {report['accuracy']:.4f}  macro-F1 {report['macro_f1']:.4f}  n={report['n']}"
    if "log_loss" in report:
        summary += f"  log-loss {report['log_loss']:.4f}"
    console.print(summary, markup=False, soft_wrap=True)
    per_class = Table(title=None, show_edge=False)
    for col in ("class", "precision", "recall", "f1", "support"):
        per_class.add_column(col, justify="left" if col == "class" else "right")
    for row in report["per_class"]:
        per_class.add_row(row["class"], f"{row['precision']:.3f}", f"{row['recall']:.3f}",
                          f"{row['f1']:.3f}", str(row["support"]))
    console.print(per_class)
    classes = [row["class"] for row in report["per_class"]]
    console.print("confusion matrix (rows: true class, columns: predicted)", markup=False)
    confusion = Table(show_edge=False)
    confusion.add_column("")
    for c in classes:
        confusion.add_column(c, justify="right")
    for c, counts in zip(classes, report["confusion"]):
        confusion.add_row(c, *(str(n) for n in counts))
    console.print(confusion)


def print_training_chart(history):
    """The loss curves of a finished run (training and validation, the best evaluation marked)."""
    from seqcli.ui.plot import print_chart, training_chart

    lines, legend = training_chart(history)
    if not lines:
        return
    console = stderr_console()
    print_chart(console, lines, legend, not console.no_color, left=8)
    console.print("  " + "   ".join(f"{mark} {name}" for mark, name in legend), markup=False)


def _pct(value):
    return "-" if value is None else f"{100 * value:.2f}%"


def print_tagging_report(report, title="validation", top=10, console=None):
    """Token and unseen-word accuracy, spans (BIO-like tags), per-tag table and the most confused pairs
    (a report of metrics.spans.evaluate) as rich tables on stderr (or ``console``)."""
    from rich.table import Table

    console = console or stderr_console()
    unseen = report.get("unseen") or {}
    line = (f"{title}: token accuracy {_pct(report['accuracy'])} ({report['correct']:,} of {report['tokens']:,}), "
            f"unseen words {_pct(unseen.get('accuracy'))} ({unseen.get('correct', 0):,} of {unseen.get('tokens', 0):,}), "
            f"{report['sentences']:,} sentences")
    console.print(line, markup=False, soft_wrap=True)
    spans = report.get("spans")
    if spans is not None:
        console.print(f"spans ({report['scheme']}, as conlleval): precision {_pct(spans['precision'])}  recall "
                      f"{_pct(spans['recall'])}  F1 {_pct(spans['f1'])}  ({spans['correct']:,} of {spans['gold']:,} "
                      f"gold, {spans['predicted']:,} predicted)", markup=False, soft_wrap=True)
    per_tag = Table(show_edge=False)
    for col in ("type" if spans is not None else "tag", "precision", "recall", "f1", "support"):
        per_tag.add_column(col, justify="left" if col in ("tag", "type") else "right")
    rows = spans["per_type"] if spans is not None else report["per_tag"]
    for row in rows:
        per_tag.add_row(row.get("type", row.get("tag")), f"{row['precision']:.3f}", f"{row['recall']:.3f}",
                        f"{row['f1']:.3f}", str(row["gold"] if spans is not None else row["support"]))
    console.print(per_tag)
    if report["confusions"]:
        console.print("most confused (gold -> predicted): " + ", ".join(
            f"{c['gold']}->{c['predicted']} {c['count']}" for c in report["confusions"][:top]), markup=False,
            soft_wrap=True)


def seq2seq_line(title, target_split, figures, loss, n, search="greedy", prefix=""):
    """'title: WER 12.50%  character error rate 3.10%  exact match 87.50%  loss 0.1234  n=8 sources (greedy)';
    figures: {prefix + "wer", "ter", "exact"} shares."""
    unit = "character" if target_split == "char" else "token"
    loss = "" if loss is None else f"  loss {loss:.4f}"
    return (f"{title}: WER {100 * figures[prefix + 'wer']:.2f}%  {unit} error rate {100 * figures[prefix + 'ter']:.2f}%  "
            f"exact match {100 * figures[prefix + 'exact']:.2f}%{loss}  n={n:,} sources ({search})")


def print_seq2seq_report(summary, output):
    """Two lines on stderr: the validation figures of a seq2seq run, then how it ended."""
    from seqcli.ui.console import note

    title = summary["evaluated_on"] + (f" ({summary['val_source']})" if "val_source" in summary else "")
    note(seq2seq_line(title, summary["target_split"], summary, summary["val_loss"], summary["n_val_sources"]))
    if "halted" not in summary:
        note(f"{summary['stopped']}; best epoch {summary['best_epoch']}; {summary['n_params']:,} parameters; "
             f"{took(summary)}; saved {output}")


def took(summary):
    """How long a training run took, and in how many processes when more than one: "12.3s on 2 workers"."""
    workers = summary.get("workers", 1)
    return f"{summary['seconds']:.1f}s" + (f" on {workers} workers" if workers > 1 else "")
