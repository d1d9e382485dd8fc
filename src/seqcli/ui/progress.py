"""Training progress: a live bar on a terminal, one plain line per evaluation elsewhere, nothing
for --quiet and tests. Events come from training/loop.py (through the task's job): "start" (the task's
unit: rows, tokens or chars), "epoch_start", "batch", "eval", and a language model's "sample"."""

import sys
import time

from seqcli.ui.console import stderr_console, stream_is_live


class NullDisplay:
    """Takes training events and shows nothing (--quiet, tests, library use)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __call__(self, event):
        pass


class _EpochMeter:
    """Running figures of the epoch in progress: mean loss, rows/s, tokens/s, last grad norm."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.loss_sum = self.rows = self.tokens = self.batches = 0
        self.grad_norm = 0.0
        self.started = time.perf_counter()

    def add(self, event):
        self.loss_sum += event["loss"]
        self.batches += 1
        self.rows += event["rows"]
        self.tokens += event["tokens"]
        self.grad_norm = event["grad_norm"]
        self.epoch_loss = event.get("epoch_loss")   # the loop's mean over the whole epoch (resumes included)

    @property
    def loss(self):
        if getattr(self, "epoch_loss", None) is not None:
            return self.epoch_loss
        return self.loss_sum / max(self.batches, 1)

    def rate(self, unit):
        """Rows, tokens or characters (a language model's tokens) per second so far."""
        count = self.rows if unit == "rows" else self.tokens
        return count / max(time.perf_counter() - self.started, 1e-9)


class _Display(NullDisplay):
    """What every live display does with the events; subclasses say how a line and progress show."""

    def __init__(self, unit="rows"):
        self.meter, self.unit, self.epochs, self.on = _EpochMeter(), unit, None, "val"

    def __call__(self, event):
        kind = event["event"]
        if kind == "start":
            self.unit = event["unit"]
            self.on = "val" if event.get("evaluates_on", "validation") == "validation" else "train"
        elif kind == "epoch_start":
            self.meter.reset()
            self.epochs = event["epochs"]
            self.epoch_started(event)
        elif kind == "batch":
            self.meter.add(event)
            self.batch_done(event)
        elif kind == "eval":
            self.line(format_eval(event, self.meter, self.epochs, self.unit, self.on))
            self.evaluated(event)
        elif kind == "sample":
            self.line(format_sample(event))

    def epoch_started(self, event):
        pass

    def batch_done(self, event):
        pass

    def evaluated(self, event):
        pass

    def line(self, text):
        print(text, file=sys.stderr, flush=True)


class PlainDisplay(_Display):
    """One plain line per evaluation on stderr, for logs and pipes."""


def format_sample(event):
    """A language model's sample during training, on one line (newlines shown as ⏎)."""
    return "  sample: " + event["text"].replace("\n", " ⏎ ")


SHORT = {"accuracy": "acc", "unseen_accuracy": "unseen", "span_f1": "f1"}   # shorter names in the progress lines
NOT_FIGURES = ("event", "improved", "epoch", "step", "loss", "final", "train_loss", "objective", "lr")


def format_eval(event, meter, epochs, unit, on="val"):
    """'epoch 3/30  loss 0.41  val_loss 0.50  val_acc 0.771  rows/s 12,345  |g| 1.2  *' (* = best).

    Every number a task's evaluation returns is shown (``on``_name), so a task adds a figure by returning
    it; ``on`` is "train" when there is no validation data and the figures are the training rows'."""
    parts = [f"epoch {event['epoch']}/{epochs}"]
    if meter.batches:
        parts.append(f"loss {meter.loss:.4f}")
    parts.append(f"{on}_loss {event['loss']:.4f}")
    for key, value in event.items():
        if key not in NOT_FIGURES and isinstance(value, (int, float)) and not isinstance(value, bool):
            parts.append(f"{on}_{SHORT.get(key, key)} {value:.4f}")
    if "lr" in event:
        parts.append(f"lr {event['lr']:.2g}")
    if meter.batches:
        parts.append(f"{unit}/s {meter.rate(unit):,.0f}")
        parts.append(f"|g| {meter.grad_norm:.2f}")
    if event.get("improved"):
        parts.append("*")
    return "  ".join(parts)


class RichDisplay(_Display):
    """Live progress on a terminal: epoch bar, loss, validation figures, speed, grad norm, ETA."""

    def __init__(self, unit="rows"):
        super().__init__(unit)
        self.last_eval = ""

    def __enter__(self):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TextColumn("{task.fields[figures]}"),
                                 TimeRemainingColumn(), console=stderr_console(), transient=False)
        self.progress.__enter__()
        self.task = None
        return self

    def __exit__(self, *exc):
        if self.task is not None:   # the lines stay; a finished bar would only repeat old figures
            self.progress.remove_task(self.task)
        return self.progress.__exit__(*exc)

    def epoch_started(self, event):
        description = f"epoch {event['epoch'] + 1}/{event['epochs']}"
        if self.task is not None and self.progress.tasks[0].description == description:
            return   # a part of the same epoch (a language model validates inside its epochs)
        if self.task is not None:
            self.progress.remove_task(self.task)
        self.task = self.progress.add_task(description, total=event["batches"], completed=event["batch"],
                                           figures="")

    def batch_done(self, event):
        figures = (f"loss {self.meter.loss:.4f}  {self.unit}/s {self.meter.rate(self.unit):,.0f}"
                   f"  |g| {self.meter.grad_norm:.2f}  {self.last_eval}")
        self.progress.update(self.task, completed=event["batch"], figures=figures)

    def evaluated(self, event):
        self.last_eval = f"{self.on}_loss {event['loss']:.4f}" + (
            f"  {self.on}_acc {event['accuracy']:.3f}" if "accuracy" in event else "") + (
            f"  {self.on}_wer {event['wer']:.3f}" if "wer" in event else "")
        if self.task is not None:
            self.progress.update(self.task, figures=f"loss {self.meter.loss:.4f}  {self.last_eval}")

    def line(self, text):
        self.progress.console.print(text, markup=False)


def training_display(quiet=False, unit="rows"):
    """The right display for where stderr goes."""
    if quiet:
        return NullDisplay()
    if stream_is_live(sys.stderr):
        return RichDisplay(unit)
    return PlainDisplay(unit)
