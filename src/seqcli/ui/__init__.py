"""Everything the user sees besides data: progress, report tables, heatmaps, warnings. All rich
drawing lives in this package and rich is imported only inside the functions that draw; colour and
live progress appear only when the stream is a terminal and NO_COLOR is unset."""

from seqcli.ui.console import note, stderr_console, stream_is_live, svg
from seqcli.ui.evaluate import print_evaluation
from seqcli.ui.progress import NullDisplay, training_display
from seqcli.ui.report import (print_classification_report, print_seq2seq_report, print_tagging_report,
                              print_training_chart, took)

__all__ = ["note", "stderr_console", "stream_is_live", "svg", "NullDisplay", "training_display",
           "print_classification_report", "print_seq2seq_report", "print_tagging_report", "print_training_chart", "print_evaluation",
           "took"]
