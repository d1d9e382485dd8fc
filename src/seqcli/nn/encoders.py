"""The encoder a network reads its sequence with, chosen by name: a recurrent stack or a Transformer.

A network (SeqNet, a tagger, ...) asks for "the encoder the user chose" and never looks inside it:

    enc = make_encoder(params, "enc", kind, n_in, hidden, layers, rng, dtype, **options)
    out, cache = enc.forward(x, lengths, rng)     x (T_x, n_in, m), lengths (m,) -> out (T_x, enc.n_out, m)
    dx, grads = enc.backward(dout, cache)         dout (T_x, n_out, m) -> dx (T_x, n_in, m), grads
    shapes, n_out = encoder_shapes("enc", kind, n_in, hidden, layers, **options)   nothing allocated

``rng`` given to ``forward`` = training (dropout on). ``kind`` is a cell ("rnn", "gru", "lstm":
``layers.recurrent_stack``, options ``bidirectional``, ``dropout``, ``dropout_at``,
``direction_names``) or "transformer" (``transformer.TransformerEncoder`` with ``hidden`` as its
width d_model; options ``dropout``, ``causal`` and the Transformer's own ``heads``, ``ff``,
``positions``, ``max_len``, ``activation``). At padded steps a recurrent stack carries its state and
a Transformer outputs zeros; a pooling over real steps reads neither.

A network stores ``transformer_config(kind, hidden, options)`` in its config: the Transformer's own
entries with every default filled in (``ff`` None = 4 hidden), and nothing for a recurrent kind, so
the configs of recurrent networks (and their model files) are what they were.
"""

import numpy as np

from . import cells
from .layers import recurrent_stack, stack_shapes
from .transformer import TransformerEncoder

TRANSFORMER = "transformer"
KINDS = tuple(cells.GATES) + (TRANSFORMER,)
TRANSFORMER_DEFAULTS = {"heads": 4, "ff": None, "positions": "sinusoidal", "max_len": 512, "activation": "gelu"}


def transformer_config(kind, hidden, options):
    """The Transformer entries a network of encoder ``kind`` stores: {} for a recurrent kind (which
    takes none: a ValueError names any given), else every one of TRANSFORMER_DEFAULTS filled in."""
    options = dict(options)
    unknown = sorted(set(options) - set(TRANSFORMER_DEFAULTS))
    if unknown:
        raise ValueError(f"unknown encoder options {unknown}")
    if kind != TRANSFORMER:
        if options:
            raise ValueError(f"network options {sorted(options)} are a transformer's, not a {kind}'s")
        return {}
    out = {**TRANSFORMER_DEFAULTS, **options}
    if out["ff"] is None:
        out["ff"] = 4 * int(hidden)
    return out


def _encoder_config(n_in, hidden, layers, dropout, causal, options):
    """The TransformerEncoder's own config (its ``config()``) for these sizes."""
    return {"n_in": n_in, "d_model": hidden, "layers": layers, "dropout": dropout, "causal": causal,
            **transformer_config(TRANSFORMER, hidden, options)}


def make_encoder(params, prefix, kind, n_in, hidden, layers, rng, dtype=np.float32, *, bidirectional=False,
                 dropout=0.0, dropout_at="inputs", direction_names=True, causal=False, **options):
    """The encoder of ``kind`` over inputs of width ``n_in``, its parameters under ``prefix`` in ``params``
    (see the module docstring). ValueError on a combination that does not exist."""
    if kind == TRANSFORMER:
        if bidirectional:
            raise ValueError("a transformer reads the whole row at once: bidirectional does not apply")
        cfg = _encoder_config(n_in, hidden, layers, dropout, causal, options)
        return TransformerEncoder(params, prefix, rng=rng, dtype=dtype, **cfg)
    if kind not in cells.GATES:
        raise ValueError(f"unknown encoder {kind!r}; expected one of {', '.join(KINDS)}")
    if causal and bidirectional:
        raise ValueError("a causal encoder cannot read backwards")
    transformer_config(kind, hidden, options)            # a recurrent stack takes none of them
    return recurrent_stack(params, prefix, kind, n_in, hidden, layers, rng, dtype, bidirectional, dropout,
                           dropout_at, direction_names)


def encoder_shapes(prefix, kind, n_in, hidden, layers, *, bidirectional=False, direction_names=True,
                   dropout=0.0, causal=False, **options):
    """(the parameter shapes of ``make_encoder`` with these sizes, its output width), computed from
    checked sizes without allocating anything (a stored network is checked before it is built)."""
    if kind == TRANSFORMER:
        if bidirectional:
            raise ValueError("network bidirectional does not apply to a transformer")
        cfg = _encoder_config(n_in, hidden, layers, dropout, causal, options)
        return TransformerEncoder.param_shapes(cfg, prefix), int(hidden)
    transformer_config(kind, hidden, options)
    return stack_shapes(prefix, kind, n_in, hidden, layers, bidirectional, direction_names)
