"""Usage errors in seqcli's voice: one line and a hint, exit code 2, never a box.

typer (through its vendored click and pydantic) reports a bad option value in a panel of five or six
lines, in the validator's words ("Input should be greater than or equal to 1"). ``Group`` runs every
command with click's standalone mode off, catches those errors and prints instead::

    seqcli: error: --epochs must be at least 1 (got -1)
    try 'seqcli train -h'
"""

import os
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


SHELLS = ("bash", "zsh", "fish", "powershell", "pwsh")
COMPLETION_HELP = {
    "install_completion": "Install completion for the current shell, or for SHELL (bash, zsh, fish): "
                          "seqcli --install-completion zsh",
    "show_completion": "Print the completion script of the current shell, or of SHELL (bash, zsh, fish), to "
                       "copy it or customize the installation: seqcli --show-completion fish",
}


def completion(flag, shell, prog_name):
    """``seqcli --show-completion SHELL`` / ``--install-completion SHELL``: typer's flags only detect the
    shell they run under (and would ignore a shell named after them); a named shell is honoured."""
    if shell not in SHELLS:
        print(f"seqcli: error: {flag}: unknown shell {shell!r} (choose {', '.join(SHELLS)})\n"
              "try 'seqcli -h'", file=sys.stderr, flush=True)
        return 2
    from typer._completion_shared import get_completion_script, install

    var = f"_{prog_name.replace('-', '_').upper()}_COMPLETE"
    if flag == "--show-completion":
        text = get_completion_script(prog_name=prog_name, complete_var=var, shell=shell)
    else:
        shell, path = install(shell=shell, prog_name=prog_name, complete_var=var)
        text = f"{shell} completion installed in {path}; it takes effect in a new shell"
    try:
        print(text, flush=True)
    except BrokenPipeError:   # `| head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


class Group(typer.core.TyperGroup):
    """The seqcli command group: usage errors are one line (see the module docstring)."""

    def get_params(self, ctx):
        params = super().get_params(ctx)
        for param in params:   # typer adds its completion options late: say that a shell may be named
            if param.name in COMPLETION_HELP:
                param.help = COMPLETION_HELP[param.name]
        return params

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        from typer._click import exceptions as ce

        args = list(sys.argv[1:] if args is None else args)
        if len(args) == 2 and args[0] in ("--show-completion", "--install-completion"):
            code = completion(args[0], args[1], prog_name or "seqcli")
            if not standalone_mode:
                return code
            sys.exit(code)
        try:
            result = super().main(args=args, prog_name=prog_name, complete_var=complete_var,
                                  standalone_mode=False, **extra)
        except ce.NoArgsIsHelpError as exc:   # bare `seqcli`: the help itself (on stderr, as click does)
            print(exc.format_message(), file=sys.stderr, flush=True)
            if not standalone_mode:
                raise
            sys.exit(2)
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


def command_class(panels=None):
    """The class of a seqcli command. ``panels``: {group heading: [parameter names]}: the options are
    shown under those headings (a rich panel each on a terminal, a plain section each in a pipe)."""
    panel_of = {name: heading for heading, names in (panels or {}).items() for name in names}

    class Command(typer.core.TyperCommand):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            for param in self.params:
                if param.name in panel_of:
                    param.rich_help_panel = panel_of[param.name]
            # the groups in the order ``panels`` gives them, on a terminal and in a pipe (the order of
            # the parameters does not change how a command line is parsed)
            rank = {heading: i for i, heading in enumerate(panels or {})}
            self.params.sort(key=lambda p: (p.param_type_name != "argument", rank.get(panel_of.get(p.name), -1)))

        def get_help_option(self, ctx):   # -h/--help is made here, not in self.params
            option = super().get_help_option(ctx)
            if option is not None and "help" in panel_of:
                option.rich_help_panel = panel_of["help"]
            return option

        def format_options(self, ctx, formatter):
            """Plain help (a pipe, NO_COLOR): the arguments, then each group of options under its
            heading, in the order the groups first appear (click's own lists them all as one)."""
            sections = {}
            for param in self.get_params(ctx):
                record = param.get_help_record(ctx)
                if record is None:
                    continue
                # rich markup escapes ("\\[default: ...]") mean nothing in plain text
                record = (record[0], record[1].replace("\\[", "["))
                heading = ("Arguments" if param.param_type_name == "argument"
                           else panel_of.get(param.name) or getattr(param, "rich_help_panel", None) or "Options")
                sections.setdefault(heading, []).append(record)
            for heading, records in sections.items():
                with formatter.section(heading):
                    formatter.write_dl(records)

    return Command


def examples(commands, rich=False):
    """A command's help epilog: 'Examples:' and one command per line, never rewrapped (click keeps a
    paragraph that starts with \\b as it is; rich prints the lines as they are, markup escaped)."""
    if not commands:
        return None
    if rich:
        return "Examples:\n" + "\n".join("  " + c.replace("[", "\\[") for c in commands)
    return "Examples:\n\n\b\n" + "\n".join("  " + c for c in commands)
