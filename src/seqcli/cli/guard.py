"""The error boundary of every command: expected failures become one line and an exit code.

Data goes to stdout, everything else to stderr. Expected failures (SeqcliError) become one line
``seqcli: error: ...`` and their exit code; a closed stdout (``| head``) ends quietly with 0; Ctrl-C
exits 130; anything else is a bug, still one line (``SEQCLI_DEBUG=1`` shows the traceback).
"""

import errno
import functools
import io
import os
import sys

from seqcli.errors import SeqcliError


def _err(message):
    print(f"seqcli: error: {message}", file=sys.stderr, flush=True)


def silence_stdout():
    """After a closed pipe, point stdout at /dev/null so the final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass  # stdout has no descriptor (tests); nothing left to flush into it


def guarded(func):
    """Turn the ways a command can fail into one line on stderr and the right exit code."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            result = func(*args, **kwargs)
            # flush here, not at exit: a full disk must be reported like any other failure
            if sys.stdout is not None:
                sys.stdout.flush()
            return result
        except SeqcliError as exc:
            if os.environ.get("SEQCLI_DEBUG"):
                import traceback

                traceback.print_exc()
            _err(exc.message)
            sys.exit(exc.exit_code)
        except BrokenPipeError:
            silence_stdout()
            sys.exit(0)
        except KeyboardInterrupt:
            _err("interrupted")
            sys.exit(130)
        except MemoryError:
            _err("out of memory; try a smaller --batch-size, model or input")
            sys.exit(1)
        except SystemExit:
            raise
        except Exception as exc:  # a bug: still one line, with the way to see more
            if _is_typer_exit(exc):
                raise
            if isinstance(exc, OSError) and _is_stdout_error(exc):
                silence_stdout()  # the final flush would fail the same way
                _err(f"cannot write the output ({exc.strerror or exc})")
                sys.exit(1)
            if os.environ.get("SEQCLI_DEBUG") or is_usage_error(exc):
                raise
            _err(f"internal error: {type(exc).__name__}: {' '.join(str(exc).split())[:300]} "
                 "(run with SEQCLI_DEBUG=1 for the traceback, and please report it)")
            sys.exit(1)

    return wrapper


class _ClosedWrites:
    def writable(self):
        return True

    def write(self, data):
        raise BrokenPipeError(errno.EPIPE, "stdout is closed")


class _ClosedStdoutBuffer(_ClosedWrites, io.RawIOBase):
    pass


class ClosedStdout(_ClosedWrites, io.TextIOBase):
    """sys.stdout when the process was started without one: every write raises BrokenPipeError,
    which ``guarded`` turns into a quiet exit 0; flush (also at exit) does nothing."""

    encoding = "utf-8"
    buffer = _ClosedStdoutBuffer()


def _is_stdout_error(exc):
    """Whether ``exc`` came from writing stdout (ENOSPC, EIO on ``> /dev/full``): OSErrors about
    named files are turned into SeqcliErrors naming them where they happen, so an OSError without a
    file name that reaches ``guarded`` is taken to be the output's."""
    return exc.filename is None and exc.errno is not None


def _is_typer_exit(exc):
    """typer.Exit (typer is imported only when it parses: without it, nothing raises one)."""
    typer = sys.modules.get("typer")
    return typer is not None and isinstance(exc, typer.Exit)


def is_usage_error(exc):
    """typer/click's own exceptions (bad option values): typer prints them and exits 2."""
    return hasattr(exc, "exit_code") and hasattr(exc, "show")
