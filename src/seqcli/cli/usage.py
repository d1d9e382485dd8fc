"""Usage errors in seqcli's voice: one line and a hint, exit code 2, never a box.

typer (through its vendored click and pydantic) reports a bad option value in a panel of five or six
lines, in the validator's words ("Input should be greater than or equal to 1"). ``Group`` runs every
command with click's standalone mode off, catches those errors and prints instead::

    seqcli: error: --epochs must be at least 1 (got -1)
    try 'seqcli train -h'
"""

import re
import sys

import typer

_RULES = [  # validator wording -> seqcli wording
    (r"Input should be greater than or equal to (\S+)", r"must be at least \1"),
    (r"Input should be less than or equal to (\S+)", r"must be at most \1"),
    (r"Input should be greater than (\S+)", r"must be more than \1"),
    (r"Input should be less than (\S+)", r"must be less than \1"),
    (r"Input should be a valid integer.*", "must be a whole number"),
    (r"Input should be a valid number.*", "must be a number"),
    (r"Input should be a valid boolean.*", "must be true or false"),
    (r"(?:Value error, )?'[^']*' is not one of (.*?)\.?$", r"must be one of \1"),
]


def _seqcli_words(message):
    for pattern, replacement in _RULES:
        if re.fullmatch(pattern, message, flags=re.S):
            message = re.sub(pattern, replacement, message, flags=re.S)
            return message.replace("'", "") if "one of" in message else message
    return message[:-1] if message.endswith(".") and not message.endswith("..") else message


def _given_value(param, args):
    """The text the user gave for ``param`` on the command line (None if not found)."""
    flags = list(getattr(param, "opts", [])) + list(getattr(param, "secondary_opts", []))
    for i, arg in enumerate(args):
        for flag in flags:
            if arg == flag and i + 1 < len(args):
                return args[i + 1]
            if arg.startswith(flag + "="):
                return arg[len(flag) + 1:]
    return None


def describe(exc, args):
    """One line for a click usage error ``exc`` raised while parsing ``args``."""
    from typer._click import exceptions as ce

    param = getattr(exc, "param", None)
    if isinstance(exc, ce.MissingParameter) and param is not None:
        return f"missing {param.opts[0] if param.param_type_name == 'option' else param.name.upper()}"
    if isinstance(exc, ce.NoSuchOption):
        near = sorted(exc.possibilities or ())
        return f"unknown option {exc.option_name}" + (f" (did you mean {' or '.join(near)}?)" if near else "")
    if isinstance(exc, ce.BadParameter) and (param is not None or exc.param_hint):
        name = exc.param_hint if param is None else (param.opts[0] if getattr(param, "opts", None)
                                                     else param.human_readable_name)
        if isinstance(name, (list, tuple)):
            name = name[0]
        message = _seqcli_words(exc.message.strip())
        given = _given_value(param, args)
        got = f" (got {given})" if given is not None and f"not {given}" not in message else ""
        return f"{message}{got}" if message.startswith(name) else f"{name} {message}{got}"
    message = exc.format_message()
    match = re.fullmatch(r"No such command '([^']*)'\.?", message)
    if match:
        return f"unknown command {match.group(1)!r}"
    return _seqcli_words(message)


class Group(typer.core.TyperGroup):
    """The seqcli command group: usage errors are one line (see the module docstring)."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        from typer._click import exceptions as ce

        args = list(sys.argv[1:] if args is None else args)
        try:
            result = super().main(args=args, prog_name=prog_name, complete_var=complete_var,
                                  standalone_mode=False, **extra)
        except ce.UsageError as exc:
            sub = exc.ctx.command_path.split(" ", 1)[1:] if exc.ctx is not None else []
            command = " ".join(["seqcli", *sub])
            print(f"seqcli: error: {describe(exc, args)}\ntry '{command} -h'", file=sys.stderr, flush=True)
            if not standalone_mode:
                raise
            sys.exit(2)
        except KeyboardInterrupt:  # while parsing, before a command's own guard is in place
            print("seqcli: error: interrupted", file=sys.stderr, flush=True)
            sys.exit(130)
        if standalone_mode:
            sys.exit(result if isinstance(result, int) else 0)
        return result
