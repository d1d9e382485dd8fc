"""Hyperparameters are declared once (config.py): the command-line options, compare's specs, the
checks of stored configs and the scikit-learn estimators' signatures all agree with the declaration."""

import inspect
from dataclasses import MISSING, fields

import pytest
import typer

from seqcli import config
from seqcli.config import (BowConfig, ConfigError, LMConfig, SeqConfig, TagConfig, TrainConfig, TransferConfig,
                           TransformerSeqConfig, VectorizerConfig, base_type, bounds, field_type, from_dict)

CONFIGS = (VectorizerConfig, BowConfig, SeqConfig, LMConfig, TrainConfig, TagConfig, TransferConfig)
OPTION_FIELDS = {"weight_decay": "weight_decay"}   # option name -> field, where they differ (--l2)


def _declarations(name):
    """Every (config class, bounds) that declares field ``name``."""
    return [(cls, bounds(cls, name)) for cls in CONFIGS if name in {f.name for f in fields(cls)}]


def _commands():
    from seqcli.cli import app

    return typer.main.get_command(app).commands


# options that share a field's name but not its meaning: compare --val-split holds out one split of
# (0, 1) for scoring, not the validation share of training; --max-time is a duration text
NOT_THE_FIELD = {("compare", "val_split"), ("train", "max_time"), ("compare", "max_time")}


def _numeric_options():
    for command_name, command in _commands().items():
        for param in command.params:
            if (command_name, param.name) not in NOT_THE_FIELD and \
                    _declarations(OPTION_FIELDS.get(param.name, param.name)):
                yield command_name, param


def _usage_error(command, option, value):
    """Whether ``seqcli COMMAND missing.csv OPTION VALUE`` is refused as a usage error (exit 2)."""
    from typer.testing import CliRunner

    from seqcli.cli import app

    result = CliRunner().invoke(app, [command, "no-such-file.csv", option, str(value)])
    return result.exit_code == 2 and "does not apply" not in result.output


def test_a_field_declared_in_several_configs_has_one_set_of_bounds():
    for name in {f.name for cls in CONFIGS for f in fields(cls)}:
        found = {b for _, b in _declarations(name)} - {bounds(BowConfig, "mode")}
        if name not in ("mode", "sublinear_tf", "embed", "hidden", "dropout"):
            assert len(found) <= 1, (name, found)


@pytest.mark.parametrize("command,param", list(_numeric_options()), ids=lambda p: getattr(p, "name", p))
def test_every_option_has_the_bounds_of_its_config_field(command, param):
    name = OPTION_FIELDS.get(param.name, param.name)
    cls, (lo, hi, lo_open, hi_open, choices) = _declarations(name)[0]
    typ, _ = base_type(field_type(cls, name))
    if typ is bool or (typ is str and choices is None):
        return  # a flag, or a free text (a file name)
    if typ is str:  # choices: every declared one is taken, nothing else is
        for choice in choices:
            assert not _usage_error(command, param.opts[0], choice), (param.opts[0], choice)
        assert _usage_error(command, param.opts[0], "bogus")
    elif typ is int:
        assert (param.min, param.max) == (lo, hi), f"{command} --{param.name}"
    else:
        assert typ is float
        option = param.opts[0]
        for good in [v for v in (lo, hi) if v is not None]:
            if not ((good == lo and lo_open) or (good == hi and hi_open)):
                assert not _usage_error(command, option, float(good)), (option, good)
        outside = [v for v in (None if lo is None else lo - 1e-3 - abs(lo) * 1e-3,
                               None if hi is None else hi + 1e-3 + abs(hi) * 1e-3) if v is not None]
        for bad in ([lo] if lo_open else []) + ([hi] if hi_open else []) + outside:
            assert _usage_error(command, option, float(bad)), (option, bad)


@pytest.mark.parametrize("estimator,configs", [("BowClassifier", (BowConfig, TrainConfig)),
                                               ("SeqClassifier", (SeqConfig, TrainConfig, TransferConfig)),
                                               ("TransformerClassifier", (TransformerSeqConfig, TrainConfig)),
                                               ("TextVectorizer", (VectorizerConfig,))])
def test_estimator_signatures_are_the_config_fields_with_their_defaults(estimator, configs):
    from seqcli import estimators

    signature = inspect.signature(getattr(estimators, estimator).__init__)
    params = {k: p.default for k, p in signature.parameters.items() if k != "self"}
    declared = {}
    for cls in configs:
        declared.update({f.name: f.default for f in fields(cls) if f.default is not MISSING})
    assert params == declared


def test_compare_specs_take_the_config_bounds():
    from seqcli.compare.specs import parse_models
    from seqcli.errors import SeqcliError

    for name, cls in (("hidden", SeqConfig), ("layers", SeqConfig), ("epochs", TrainConfig),
                      ("hash_bits", BowConfig), ("min_count", SeqConfig)):
        lo, hi = bounds(cls, name)[:2]
        kind = "bow" if cls is BowConfig else "lstm"
        assert parse_models([f"{kind}:{name}={hi}"])[0].params[name] == hi
        with pytest.raises(SeqcliError, match=f"{name} must be"):
            parse_models([f"{kind}:{name}={hi + 1}"])
        with pytest.raises(SeqcliError, match=f"{name} must be"):
            parse_models([f"{kind}:{name}={lo - 1}"])


def test_a_stored_config_out_of_bounds_is_refused():
    with pytest.raises(ValueError, match="max_len must be"):
        from_dict(SeqConfig, {"max_len": 0})
    with pytest.raises(ValueError, match="cell must be one of"):
        from_dict(SeqConfig, {"cell": "cnn"})
    with pytest.raises(ValueError, match="unknown config keys"):
        from_dict(LMConfig, {"bogus": 1})
    with pytest.raises(TypeError):
        from_dict(TrainConfig, [1, 2])


def test_configs_check_themselves_when_made():
    with pytest.raises(ConfigError, match="hidden must be between 1 and 8192, not 0"):
        SeqConfig(hidden=0)
    with pytest.raises(ConfigError, match="dropout must be at least 0 and less than 1, not 1"):
        LMConfig(dropout=1.0)
    with pytest.raises(ConfigError, match="lr must be more than 0"):
        TrainConfig(lr=0.0)
    with pytest.raises(ConfigError, match="n-gram range"):
        VectorizerConfig(ngram_min=3, ngram_max=2)
    assert ConfigError("x").exit_code == 2


def test_training_defaults_fill_only_what_is_unset():
    t = TrainConfig(epochs=3).with_defaults(SeqConfig())
    assert (t.epochs, t.batch_size, t.lr) == (3, 32, 2e-3)
    assert TrainConfig().with_defaults(BowConfig()).epochs == 30
    assert TrainConfig().with_defaults(LMConfig()).lr == 3e-3
    assert config.span(0, 1, hi_open=True) == "at least 0 and less than 1"


@pytest.mark.parametrize("args,flag", [(["--model", "bow", "--hidden", "8"], "--hidden"),
                                       (["--task", "lm", "--pool", "mean"], "--pool"),
                                       (["--model", "lstm", "--ngrams", "1:2"], "--ngrams"),
                                       (["--task", "lm", "--class-weight", "balanced"], "--class-weight")])
def test_an_option_the_model_does_not_use_is_refused_not_ignored(args, flag, tmp_path):
    from conftest import run_seqcli

    data = tmp_path / "d.csv"
    data.write_text("text,label\ngood,pos\nbad,neg\n", encoding="utf-8")
    rc, out, err = run_seqcli(["train", data, *args, "-o", tmp_path / "m.npz"])
    assert rc == 2 and out == "" and err.count("\n") == 1
    assert err.startswith(f"seqcli: error: {flag} does not apply to --task")
    assert not (tmp_path / "m.npz").exists()


def test_every_model_config_fills_every_unset_training_value():
    """A TrainConfig field left None is filled from the model kind's TRAIN_DEFAULTS: each kind names
    all of them, so no task trains with an unset optimizer, rate or batch size."""
    from dataclasses import fields

    unset = {f.name for f in fields(TrainConfig) if f.default is None} - {
        "max_steps", "max_time", "class_weight", "warmup"}   # None means "none" for these
    kinds = [c for c in vars(config).values() if isinstance(c, type) and "TRAIN_DEFAULTS" in vars(c)]
    assert len(kinds) >= 7
    for kind in kinds:
        assert unset <= kind.TRAIN_DEFAULTS.keys(), (kind.__name__, unset - kind.TRAIN_DEFAULTS.keys())
        filled = TrainConfig().with_defaults(object.__new__(kind))
        assert all(getattr(filled, name) is not None for name in unset), kind.__name__
