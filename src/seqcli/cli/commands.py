"""The Typer app: one module per command (seqcli.cli imports this only when typer parses the command
line; the plainest ``predict`` calls skip it, see cli/quick.py)."""

import os
import sys
from typing import Annotated

import typer

from seqcli.cli import compare, evaluate, generate, predict, train, vectorize
from seqcli.cli.usage import Group, command_class, examples


def _rich_help():
    """Help in rich panels on a terminal; plain text (grep-able, never cut) in a pipe or with NO_COLOR."""
    try:
        return sys.stdout.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):
        return False


app = typer.Typer(cls=Group, add_completion=True, no_args_is_help=True, pretty_exceptions_enable=False,
                  rich_markup_mode="rich" if _rich_help() else None,
                  context_settings={"help_option_names": ["-h", "--help"]},
                  epilog=examples(("seqcli train sample_data/reviews.csv --model lstm -o lstm.npz",
                                   "seqcli evaluate lstm.npz test.csv",
                                   "seqcli train -h   (each command's options and examples)"), _rich_help()),
                  help="Sequence tasks on text: vectorize, train, predict — NumPy RNN/GRU/LSTM and bag-of-words models.")

for module in (vectorize, train, predict, evaluate, generate, compare):   # one module per command, named after it
    # each module may group its options (PANELS) and ends its help with real examples (EXAMPLES)
    app.command(cls=command_class(getattr(module, "PANELS", None)),
                epilog=examples(getattr(module, "EXAMPLES", ()), _rich_help()))(
        getattr(module, module.__name__.rsplit(".", 1)[1]))


def _version(value: bool):
    if value:
        from seqcli import __version__

        print(f"seqcli {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="Print the version and exit.")] = False):
    """Sequence tasks on text: vectorize, train, predict — NumPy RNN/GRU/LSTM and bag-of-words models."""
