"""The exception types the CLI turns into a one-line message and an exit code."""


class SeqcliError(Exception):
    """An expected failure the user can fix (bad data, bad model file, bad option value).

    The CLI prints ``seqcli: error: <message>`` on stderr and exits with ``exit_code``
    (1 for runtime failures; 2 is reserved for usage errors, as typer/click use it).
    """

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class UsageError(SeqcliError):
    """An option value the user can fix on the command line: exit code 2."""

    def __init__(self, message):
        super().__init__(message, exit_code=2)


class FeatureError(SeqcliError, ValueError):
    """A bad setting, an empty vocabulary or an inconsistent saved state of the vectorizer.

    A ``ValueError`` for library callers and a ``SeqcliError`` (exit code 1) for the CLI, which
    prints it as one line instead of reporting an internal error.
    """
