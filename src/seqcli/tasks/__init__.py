"""The tasks: one module each, for the lecture's shapes of recurrent network.

    classify   many to one     a CSV/TSV of texts and labels -> a label and probabilities per text
    lm         one to many     a plain-text corpus -> generated text, bits per character
    tag        many to many    tagged sentences (CoNLL-U, CoNLL, CSV) -> one tag per token
    seq2seq    many to many    a CSV/TSV of source, target pairs -> a generated target per source

A task module supplies only what differs between tasks (training/fit.py runs them all):
``NAME``, ``MODELS`` (the model kinds it trains, the first the default), ``OTHER_DATA`` (how a
checkpoint's message names other data), ``prepare(data, model, params, columns, val, notify, info,
report) -> Prepared`` (reads its data and builds the job; ``Prepared.job``), and
``summary(prepared, outcome) -> dict`` (its final figures). Modules are imported when used.
"""

import importlib

TASKS = {"classify": "seqcli.tasks.classify", "lm": "seqcli.tasks.lm", "tag": "seqcli.tasks.tag",
         "seq2seq": "seqcli.tasks.seq2seq"}


def module(name):
    """The module of task ``name``."""
    return importlib.import_module(TASKS[name])
