"""Options shared by several commands, declared once, with their bounds and choices read from config.py.

``knob(Config, "field", "--flag", help)`` is a typer Option whose range (ints: typer's own min/max, a
usage error with exit code 2) or check (floats: finite and within bounds, open ends where config says)
comes from the config field; ``choices(Config, "field")`` is the Literal type of a field's choices.
So a bound is stated once, in config.py, and tests/test_config.py checks that every option agrees.
"""

import math
import re
from typing import Annotated, Literal, Optional

import typer

from seqcli.config import (BowConfig, LMConfig, SeqConfig, TagConfig, TrainConfig, TransferConfig, TransformerLMConfig,
                           VectorizerConfig, base_type, bounds, field_type)


def _finite(value):
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter("must be a finite number")
    return value


def float_range(lo=None, hi=None, lo_open=False, hi_open=False):
    """Callback checking a float option: finite, and within [lo, hi] (open ends where asked).

    One place for the check so NaN gets "must be a finite number" rather than a range message.
    """
    def check(value):
        if value is None:
            return value
        _finite(value)
        if lo is not None and (value < lo or (lo_open and value == lo)):
            raise typer.BadParameter(f"must be {'more than' if lo_open else 'at least'} {lo:g}")
        if hi is not None and (value > hi or (hi_open and value == hi)):
            raise typer.BadParameter(f"must be {'less than' if hi_open else 'at most'} {hi:g}")
        return value
    return check


def knob(cls, name, *flags, help, **kwargs):
    """A typer Option for field ``name`` of config ``cls``, bounded as the field is."""
    lo, hi, lo_open, hi_open, _ = bounds(cls, name)
    typ = base_type(field_type(cls, name))[0]
    if typ is int:
        kwargs.update(min=lo, max=hi)
    elif typ is float:
        kwargs["callback"] = float_range(lo, hi, lo_open, hi_open)
    return typer.Option(*flags, help=help, **kwargs)


def choices(cls, name):
    """The Literal type of field ``name``'s choices (typer lists them in --help and checks them)."""
    return Literal[tuple(bounds(cls, name)[4])]


def only_with(flag, given, values):
    """A usage error when options that only go with ``flag`` are given without it.

    given: whether ``flag`` is on; values: {"--option": value or None/False}."""
    used = [name for name, value in values.items() if value not in (None, False)]
    if used and not given:
        raise typer.BadParameter(f"only goes with {flag}", param_hint=used[0])


def parse_duration(text):
    """Seconds in '90', '90s', '10m', '1h30m', '2.5h'; None stays None."""
    if text is None:
        return None
    text = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        seconds = float(text)
    else:
        parts = re.findall(r"(\d+(?:\.\d+)?)([hms])", text)
        if not parts or "".join(n + u for n, u in parts) != text:
            raise typer.BadParameter(f"{text!r} is not a duration (examples: 90s, 10m, 1h30m)",
                                     param_hint="--max-time")
        seconds = sum(float(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts)
    # called from the command's body, not as a callback: name the option ourselves
    lo, hi = bounds(TrainConfig, "max_time")[:2]
    if not seconds > lo:
        raise typer.BadParameter("must be more than 0 seconds", param_hint="--max-time")
    if not seconds < hi:
        raise typer.BadParameter(f"{text!r} is too long: the limit is {hi:.0f} seconds (about 31 years)",
                                 param_hint="--max-time")
    return seconds


def parse_range(text, name="range"):
    """'1:2' -> (1, 2); '2' -> (2, 2). Both ends within the n-gram bounds and min <= max."""
    lo_bound, hi_bound = bounds(VectorizerConfig, "ngram_min")[:2]
    m = re.fullmatch(r"\s*(\d+)\s*(?::\s*(\d+)\s*)?", text or "")
    if not m:
        raise typer.BadParameter(f"{text!r} is not a {name} like 1:2")
    lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
    if lo < lo_bound or hi < lo or hi > hi_bound:
        raise typer.BadParameter(f"{text!r}: need {lo_bound} <= MIN <= MAX <= {hi_bound}")
    return lo, hi


def _ngrams_cb(value):
    return None if value is None else parse_range(value, "n-gram range")


T, S, B, L, V, G, TL, X = (TrainConfig, SeqConfig, BowConfig, LMConfig, VectorizerConfig, TagConfig,
                           TransformerLMConfig, TransferConfig)

Seed = Annotated[int, knob(T, "seed", "--seed", help="Random seed: same seed, same data -> same model file.")]
JsonOut = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or report output (warnings such as skipped rows still show).")]
TextCol = Annotated[Optional[str], typer.Option("--text-col", help="Text column: name or 0-based index (default: found by name).")]
LabelCol = Annotated[Optional[str], typer.Option("--label-col", help="Label column: name or 0-based index (default: found by name).")]
Epochs = Annotated[Optional[int], knob(T, "epochs", "--epochs", help="Maximum epochs (default: 30 bow and tag, 12 recurrent and transformer, 20 lm and seq2seq).")]
BatchSize = Annotated[Optional[int], knob(T, "batch_size", "--batch-size", help="Rows per batch (default: 64 bow and seq2seq, 32 recurrent and tag; lm: streams).")]
Lr = Annotated[Optional[float], knob(T, "lr", "--lr", help="Learning rate, the peak after --warmup (default: 0.02 bow, 0.002 recurrent, tag and seq2seq, 0.003 lm; transformer 0.004, lm 0.003, tag 0.002).")]
Clip = Annotated[float, knob(T, "clip", "--clip", help="Clip gradients to this global norm (0 = off).")]
L2 = Annotated[Optional[float], knob(T, "weight_decay", "--l2", help="L2 penalty on weights; with adamw, decoupled weight decay of the matrices (default: 1e-5 bow, 0 recurrent; transformer 0.3, lm 0.1, tag 0.01).")]
Patience = Annotated[int, knob(T, "patience", "--patience", help="Stop after this many evaluations without a better validation loss.")]
ValSplit = Annotated[float, knob(T, "val_split", "--val-split", help="Share of rows held out (stratified) for validation.")]
Val = Annotated[Optional[str], typer.Option("--val", help="Validate on this file (e.g. a corpus's dev part) instead of a --val-split of DATA.")]
Optimizer = Annotated[Optional[choices(T, "optimizer")], typer.Option("--optimizer", help="adam; adamw (decoupled weight decay on matrices only; the transformer's default); sgd with momentum 0.9; lazyadam (Adam on the embedding columns a batch read only: faster with large vocabularies). Default adam.", show_default=False)]
ClassWeight = Annotated[Optional[choices(T, "class_weight")], typer.Option("--class-weight", help="'balanced' weighs classes inversely to their frequency.")]
Dropout = Annotated[Optional[float], knob(S, "dropout", "--dropout", help="Dropout rate between layers and before the output (default: 0.5 classify and tag, 0.15 lm, 0.1 seq2seq; transformer 0.3, lm 0, tag 0.2).")]
Hidden = Annotated[Optional[int], knob(S, "hidden", "--hidden", help="Units per recurrent layer, n_a, or a transformer's width d_model (default: 128; lm and seq2seq 256; transformer 64, lm and tag 128).")]
Embed = Annotated[Optional[int], knob(S, "embed", "--embed", help="Embedding size, n_x (default: 128; lm and seq2seq 64; tag 100; transformer: --hidden).")]
Layers = Annotated[Optional[int], knob(S, "layers", "--layers", help="Stacked recurrent layers or transformer blocks (default: 1; transformer lm and tag 2).", show_default=False)]
Pool = Annotated[Optional[choices(S, "pool")], typer.Option("--pool", help="How the sequence output becomes one vector: last, mean, max over real tokens, or the first token (default: last; transformer mean).", show_default=False)]
Heads = Annotated[Optional[int], knob(TL, "heads", "--heads", help="transformer: attention heads; --hidden must be a multiple (default 2; lm and tag 4).")]
Ff = Annotated[Optional[int], knob(TL, "ff", "--ff", help="transformer: width of the position-wise feed-forward layer (default 2 x --hidden, tag too; lm 4 x).")]
Positions = Annotated[Optional[choices(TL, "positions")], typer.Option("--positions", help="transformer: sinusoidal (fixed) or learned position encodings (default: sinusoidal; lm and tag learned).", show_default=False)]
Activation = Annotated[Optional[choices(TL, "activation")], typer.Option("--activation", help="transformer: the feed-forward's activation (default relu; lm and tag gelu).", show_default=False)]
BlockSize = Annotated[Optional[int], knob(TL, "block_size", "--block-size", help="lm transformer: context window in characters; each training window is one block (default 64).")]
Warmup = Annotated[Optional[int], knob(T, "warmup", "--warmup", help="Steps of linear learning-rate warm-up to --lr, then inverse-square-root decay (default: 100 transformer, 200 tag transformer; none for the others).")]
MinCount = Annotated[int, knob(S, "min_count", "--min-count", help="Recurrent: words seen fewer times become <unk>.")]
MaxLen = Annotated[int, knob(S, "max_len", "--max-len", help="Recurrent: word tokens read of each text (its first ones); longer texts are cut, and counted in a warning.")]
SeqLen = Annotated[Optional[int], knob(L, "seq_len", "--seq-len", help="lm: characters per truncated-BPTT window (default 100).")]
Ngrams = Annotated[Optional[str], typer.Option("--ngrams", callback=_ngrams_cb, help="Word/char n-gram range MIN:MAX, e.g. 1:2.")]
Analyzer = Annotated[choices(V, "analyzer"), typer.Option("--analyzer", help="Word or character n-grams.")]
MinDf = Annotated[int, knob(V, "min_df", "--min-df", help="Drop terms found in fewer documents.")]
MaxFeatures = Annotated[Optional[int], knob(V, "max_features", "--max-features", help="Keep only the most frequent terms.")]
HashBits = Annotated[Optional[int], knob(V, "hash_bits", "--hash-bits", help="Hash terms into 2**B columns instead of keeping a vocabulary.")]
Workers = Annotated[int, knob(T, "workers", "--workers", help="Processes that share every batch, one core each: faster on an idle machine, slower on a busy one, where they wait for each other at every step. 0 = one per core when a step is big enough to gain (a bag-of-words or small network stays on one). The same seed and --workers give the same model file.")]
MaxSteps = Annotated[Optional[int], knob(T, "max_steps", "--max-steps", help="Stop after this many optimizer steps (resumable).")]
MaxTime = Annotated[Optional[str], typer.Option("--max-time", help="Stop after this long, e.g. 10m (resumable).")]
Units = Annotated[Optional[str], typer.Option("--units", help="--explain: units to show, e.g. 3,17,42 or top:8 (default: the mean over units).")]
Gate = Annotated[Optional[str], typer.Option("--gate", help="--explain: show only this gate / field: u, f, o, r (gates), cc, c, a; a list with commas.")]
Layer = Annotated[Optional[int], typer.Option("--layer", help="--explain: layer to show, 0-based; negative counts from the top (default: the last).")]
Head = Annotated[Optional[str], typer.Option("--head", help="--explain: a transformer's attention heads to show, e.g. 0,2 (default: every head; --layer picks the layer).")]
NoColor = Annotated[bool, typer.Option("--no-color", help="--explain: shade characters and numbers instead of colours.")]
Errors = Annotated[Literal["replace", "skip", "strict"], typer.Option("--errors", help="An input line that is not UTF-8 text (or holds NUL): replace the bad bytes with U+FFFD, skip it (an empty output line), or stop (strict). Counted in one warning at the end.")]
Force = Annotated[bool, typer.Option("--force", help="Replace an existing output file even when it is not a seqcli file.")]
Svg = Annotated[Optional[str], typer.Option("--svg", help="Also save what is drawn (tables, charts, heatmaps) as an SVG picture in this file.")]

# tagging (--task tag)
DataFormat = Annotated[Optional[Literal["conllu", "conll", "csv"]], typer.Option("--format", help="tag: how DATA (and --val) hold their tags: CoNLL-U, CoNLL columns, or a CSV/TSV of tokens and tags (default: from the extension and the content).")]
TagCol = Annotated[Optional[str], typer.Option("--tag-col", help="tag: the tag column: CoNLL-U a name (upos, xpos, ...) or number; CoNLL a number (default: the last); CSV a name or 0-based index.")]
CharFeatures = Annotated[Optional[choices(G, "char_features")], typer.Option("--char-features", help="tag: features from each word's characters: a BiLSTM over its letters (lstm, the default), a CNN, or none.")]
CharEmbed = Annotated[Optional[int], knob(G, "char_embed", "--char-embed", help="tag: character embedding size (default 30).")]
CharHidden = Annotated[Optional[int], knob(G, "char_hidden", "--char-hidden", help="tag: character BiLSTM units per direction, or CNN filters (default 50).")]
CharWidth = Annotated[Optional[int], knob(G, "char_width", "--char-width", help="tag: characters a CNN filter reads (default 3).")]
Crf = Annotated[bool, typer.Option("--crf", help="tag: a CRF output layer: the tag sequence scored as a whole (Viterbi decoding).")]
WordDropout = Annotated[Optional[float], knob(G, "word_dropout", "--word-dropout", help="tag: word dropout alpha: in training a word seen n times becomes <unk> with probability alpha/(alpha+n), its characters kept (default 0.25; 0 = off).")]
LrDecay = Annotated[Optional[float], knob(G, "lr_decay", "--lr-decay", help="tag: multiply the learning rate by this after every epoch (default 0.9; 1 for a transformer, whose --warmup schedule decays); seq2seq: after every validation without a better WER (default 0.5); 1 = constant.")]
Split = Annotated[choices(L, "split"), typer.Option("--split", help="lm: predict the next character, or the next word (tokenised as the classifiers; --min-count).")]
# transfer learning (tasks/transfer.py)
Embeddings = Annotated[Optional[str], typer.Option("--embeddings", help="Start the word embedding from this vector file (word2vec text or binary, GloVe, fastText .vec; gzip/bz2/xz).")]
FreezeEmbeddings = Annotated[bool, typer.Option("--freeze-embeddings", help="Keep the vectors found in --embeddings fixed (the other words learn).")]
InitFrom = Annotated[Optional[str], typer.Option("--init-from", help="Start the embedding and recurrent layers from this word language model (seqcli train --task lm --split word).")]
FreezeEpochs = Annotated[int, knob(X, "freeze_epochs", "--freeze-epochs", help="Keep the pretrained layers fixed for the first N epochs (only the new ones learn).")]
LayerDecay = Annotated[float, knob(X, "layer_decay", "--layer-decay", help="Discriminative rates (ULMFiT): each layer below the output learns this many times slower (1 = one rate).")]
Pretrain = Annotated[bool, typer.Option("--pretrain", help="First pretrain a word language model on the training texts (and --pretrain-corpus), then fine-tune from it.")]
PretrainCorpus = Annotated[Optional[str], typer.Option("--pretrain-corpus", help="--pretrain: more unlabelled text (plain text, or a CSV's text column).")]
PretrainEpochs = Annotated[Optional[int], knob(X, "pretrain_epochs", "--pretrain-epochs", help="--pretrain: epochs of the language model (default 8, with early stopping).")]
