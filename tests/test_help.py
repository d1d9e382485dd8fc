"""Help as a pipe reads it (issue 16, item 10): plain text, every command's help ending with real examples,
train's options under their group headings, compare's --models syntax whole at 80 columns, and shell
completion scripts for bash, zsh and fish."""

import re
import shlex

import pytest
import typer
from conftest import run_seqcli

from seqcli.cli import app
from seqcli.cli.train import PANELS

COMMANDS = ["vectorize", "train", "predict", "evaluate", "generate", "compare"]
NARROW = {"COLUMNS": "80"}


def click_command(name):
    return typer.main.get_command(app).commands[name]


def sections(text):
    """{heading: [lines]} of a plain help text (headings are unindented lines ending with ':')."""
    out, heading = {}, None
    for line in text.splitlines():
        if re.fullmatch(r"\S.*:", line):
            heading = line[:-1]
            out[heading] = []
        elif heading is not None:
            out[heading].append(line)
    return out


def test_every_command_is_in_the_list():
    assert sorted(typer.main.get_command(app).commands) == sorted(COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_help_in_a_pipe_is_plain_and_ends_with_real_examples(name):
    rc, out, err = run_seqcli([name, "--help"], env=NARROW)
    assert rc == 0 and err == ""
    assert not set("╭╮╰╯│─\x1b") & set(out) and "\\[" not in out   # no box, no colour, no rich escape
    head, _, tail = out.rstrip().rpartition("\n  Examples:\n")
    assert head, out
    examples = [line.strip() for line in tail.splitlines() if line.strip()]
    assert 2 <= len(examples) <= 4 and any(" -" in e for e in examples)
    options = {flag for p in click_command(name).params for flag in (*p.opts, *p.secondary_opts)}
    for example in examples:
        words = shlex.split(example.replace("|", " | ").replace(">", " > "))
        start = words.index("seqcli")
        assert words[start + 1] == name, example
        words = words[start + 2:]
        words = words[:next((i for i, w in enumerate(words) if w in ("|", ">", "&&")), len(words))]
        flags = [w for w in words if w.startswith("-") and w != "-"]
        assert set(flags) <= options, (example, set(flags) - options)
        assert len(example) + 4 <= 80, example


def test_train_help_lists_every_option_under_its_group():
    rc, out, _ = run_seqcli(["train", "--help"], env=NARROW)
    assert rc == 0
    found = sections(out)
    assert [h for h in found if h not in ("Arguments", "Examples")] == list(PANELS)
    assert "Options" not in found              # no option is left outside a group
    params = {p.name: p for p in click_command("train").params if p.param_type_name == "option"}
    grouped = [name for names in PANELS.values() for name in names]
    assert sorted(grouped) == sorted([*params, "help"])
    for heading, names in PANELS.items():
        text = "\n".join(found[heading])
        for name in names:
            flag = "--help" if name == "help" else params[name].opts[0]
            assert re.search(rf"(^|\s){re.escape(flag)}[\s,]", text, re.M), (heading, flag)


def test_compare_models_syntax_is_whole_at_80_columns():
    rc, out, _ = run_seqcli(["compare", "--help"], env=NARROW)
    assert rc == 0 and max(map(len, out.splitlines())) <= 80
    options = " ".join(" ".join(sections(out)["Options"]).split())
    start = options.index("-m, --models MODELS")
    text = options[start: options.index("-k, --folds")]
    for piece in ("comma-separated (repeatable)", "PATH.npz", "lstm:layers=2 gru:layers=2,embed=64 bow:ngrams=1:3",
                  "[default: bow,bigram,rnn,lstm; taggers lstm,cnn]"):
        assert piece in text, piece


@pytest.mark.parametrize("shell, marker", [("bash", "complete -o default -F _seqcli_completion seqcli"),
                                           ("zsh", "#compdef seqcli"), ("fish", "complete --command seqcli")])
def test_show_completion_prints_the_script_of_the_named_shell(shell, marker):
    rc, out, err = run_seqcli(["--show-completion", shell])
    assert rc == 0 and err == ""
    assert marker in out and "_SEQCLI_COMPLETE=complete_" + shell in out


def test_an_unknown_shell_is_a_one_line_usage_error():
    rc, out, err = run_seqcli(["--show-completion", "tcsh"])
    assert rc == 2 and out == ""
    assert err.splitlines()[0] == ("seqcli: error: --show-completion: unknown shell 'tcsh' "
                                   "(choose bash, zsh, fish, powershell, pwsh)")


def test_the_completion_script_completes_commands_and_options():
    env = {"_SEQCLI_COMPLETE": "complete_bash", "COMP_WORDS": "seqcli ev", "COMP_CWORD": "1"}
    rc, out, _ = run_seqcli([], env=env)
    assert rc == 0 and out.split() == ["evaluate"]
    env.update(COMP_WORDS="seqcli train data.csv --tas", COMP_CWORD="3")
    rc, out, _ = run_seqcli([], env=env)
    assert rc == 0 and out.split() == ["--task"]


def test_bare_seqcli_prints_the_help_not_an_error():
    rc, out, err = run_seqcli([])
    assert rc == 2 and out == ""
    assert err.startswith("Usage: seqcli [OPTIONS] COMMAND") and "seqcli: error" not in err
    assert "evaluate" in err and "Examples:" in err
