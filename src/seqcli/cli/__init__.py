"""The command line: a Typer app with one module per command. Nothing here but parse, call the api
(seqcli.api), and render (seqcli.ui); the error boundary is cli/guard.py.

Importing this package imports nothing heavy: the Typer app (cli/commands.py: typer and the command
modules, which import only typer and seqcli's light modules) is built when the command line needs it,
and the plainest ``seqcli predict MODEL [INPUT] [--json|--proba]`` skips typer (and the pydantic its
parsing brings) altogether (cli/quick.py); numpy, the models and rich come in when a command runs.
"""

import os
import sys

from seqcli.cli.guard import ClosedStdout, guarded

__all__ = ["app", "main", "guarded"]


def __getattr__(name):
    if name == "app":   # built on first use
        from seqcli.cli.commands import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main():
    """Console-script entry point."""
    # With stdout or stderr closed (``>&-``) Python sets sys.stdout/sys.stderr to None and every
    # write would fail with an AttributeError. A closed stdout behaves as a closed pipe (the first
    # write ends the command quietly, without doing all the work for nobody); a closed stderr
    # becomes /dev/null.
    if sys.stdout is None:
        sys.stdout = ClosedStdout()
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")
    from seqcli.cli import quick

    if quick.predict(sys.argv[1:]):
        return
    from seqcli.cli.commands import app

    app(prog_name="seqcli")


if __name__ == "__main__":
    main()
