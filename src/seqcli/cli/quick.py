"""The plainest ``seqcli predict`` calls without typer: a one-line pipeline starts sooner.

typer builds each option's value check with pydantic, whose import alone took about half of a
one-line predict's time beyond ``import numpy``, and importing typer itself and the option
declarations another 35 ms under load. ``seqcli predict MODEL [INPUT] [--json] [--proba] [--jobs N]``
(options anywhere, each at most once; N a plain number in --jobs' bounds) needs no checking beyond
what the command does itself, so it runs the command's body (cli/predict_core.py) directly, as the
typer command does. Anything else (another option, help, ``--``, ``--jobs=N``, a value typer would
refuse or read differently, a usage error the body raises before writing anything) goes through typer.
"""

FLAGS = {"--json": "as_json", "--proba": "proba"}
JOBS = (1, 256)   # --jobs' bounds, as cli/predict.py declares them


def parse(argv):
    """``argv`` after the program name -> the predict command's keyword arguments, or None when it is
    not a plain predict call."""
    if not argv or argv[0] != "predict":
        return None
    kwargs, positional = {}, []
    args = iter(argv[1:])
    for arg in args:
        if arg in FLAGS and FLAGS[arg] not in kwargs:
            kwargs[FLAGS[arg]] = True
        elif arg == "--jobs" and "jobs" not in kwargs:
            # a benchmark's or a script's ``--jobs 1`` need not pay typer's start-up
            value = next(args, "")
            if not (value.isascii() and value.isdigit() and JOBS[0] <= int(value) <= JOBS[1]):
                return None
            kwargs["jobs"] = int(value)
        elif arg == "-" or (arg and not arg.startswith("-")):
            positional.append(arg)
        else:
            return None
    if not 1 <= len(positional) <= 2:
        return None
    kwargs.update(zip(("model", "input"), positional))
    return kwargs


def predict(argv):
    """Run a plain predict call; False when typer must parse ``argv`` instead (nothing was written)."""
    kwargs = parse(argv)
    if kwargs is None:
        return False
    from seqcli.cli.guard import guarded
    from seqcli.cli.predict_core import OptionError, run

    @guarded
    def plain():
        try:
            run(**kwargs)
        except OptionError:   # raised before any output: typer says it as it says any usage error
            return False
        return True

    return plain()
