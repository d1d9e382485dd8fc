"""Transfer learning for every model with a word embedding: pretrained word vectors, a pretrained word
language model, or pretraining one first (``--embeddings``, ``--init-from``, ``--pretrain``).

A task calls it around building its network, whatever the network (classifier, tagger, seq2seq):

    tr = transfer.start(params, model_cfg, texts, notify, info, report)   # loads or pretrains an LM
    vocab = tr.vocab(vocab)                 # the LM's words join the task's own vocabulary
    model_cfg = tr.adapt(model_cfg, params) # sizes the user did not give come from the file / the LM
    net = ...                               # built as usual, with len(vocab) words
    tr.apply(net, vocab.tokens, counts, embed="embed.E", stack="enc.l{i}.fw")
    job.param_scales = tr.scales            # what trains in each epoch (training/fit.py asks)
    ... tr.summary() goes into the run's summary (api.train adds it for every task)

``embed`` names the word embedding parameter (n_x, n_vocab) and ``stack`` the parameter prefix of
recurrent layer i (its cell's Wax, Waa, ba[, bc] below it) that a language model's layer i fills.

- Word vectors: the vocabulary's words found in the file (exact, then case-folded) get its vectors, the
  others keep their random start; ``freeze_embeddings`` keeps the found columns fixed (the others
  learn). The coverage goes to ``info`` and the summary.
- A language model (``init_from`` a word LM's file, of the same cell and sizes; or ``pretrain``: one
  trained here on the training texts, after ``pretrain_corpus``, with the task's cell and sizes):
  its embedding and recurrent stack initialise the task's, then everything is fine-tuned. For the
  first ``freeze_epochs`` epochs the pretrained part stays fixed (only the new layers learn, so their
  random start does not wreck what was pretrained); after that, with ``layer_decay`` > 1, each layer
  down from the output learns ``layer_decay`` times slower (discriminative rates, as in ULMFiT).
"""

from dataclasses import dataclass, field, fields, replace

import numpy as np

from seqcli.config import TransferConfig, split_params
from seqcli.errors import SeqcliError

PRETRAIN = {"epochs": 8, "dropout": 0.3, "seq_len": 50, "batch_size": 32, "lr": 3e-3, "patience": 1}
"""The pretraining language model's settings (besides the task's cell and sizes), chosen on
rt-polarity (see the issue note)."""


def config(params):
    """The TransferConfig of flat ``params`` (None values = defaults)."""
    return TransferConfig(**split_params(params, TransferConfig)[0])


def names():
    """The parameter names of transfer learning (for a task's ``accepts``)."""
    return {f.name for f in fields(TransferConfig)}


@dataclass
class Transfer:
    """What a task's network starts from, and what trains when (see the module docstring)."""
    cfg: TransferConfig
    lm: object = None                  # a word language model (models.charlm.CharLMModel), or None
    phases: dict = field(default_factory=dict)   # the summary: "embeddings", "init", "pretrain"
    masks: dict = field(default_factory=dict)    # name -> (1, n) 0/1: columns kept fixed for good
    depth: dict = field(default_factory=dict)    # pretrained name -> layers below the output (1 = top)
    timings: dict = field(default_factory=dict)  # {"pretrain_seconds"}: reported, never stored in a file

    # -- before the network is built ---------------------------------------------------------------

    def vocab(self, vocab):
        """``vocab`` (a text.Vocab) with the language model's words it lacks appended, so a word only
        the pretraining text knew still has a vector (unchanged without a language model)."""
        from seqcli.models.lmunits import EOS
        from seqcli.text import Vocab

        if self.lm is None:
            return vocab
        own = set(vocab.tokens)
        extra = [w for w in self.lm.chars[3:] if w not in own and w != EOS]
        return Vocab(vocab.tokens + extra) if extra else vocab

    def adapt(self, model_cfg, params):
        """``model_cfg`` with the sizes the user did not give taken from the start point: the word
        vectors' dimension as ``embed``; a language model's cell sizes (embed, hidden, layers)."""
        given = {k for k, v in params.items() if v is not None}
        values = {}
        if self.cfg.embeddings is not None and "embed" not in given:
            values["embed"] = vector_dim(self.cfg.embeddings)
        if self.lm is not None:
            net = self.lm.net
            values.update({k: getattr(net, k) for k in ("embed", "hidden", "layers") if k not in given})
        return replace(model_cfg, **values) if values else model_cfg

    # -- after ------------------------------------------------------------------------------------

    def apply(self, net, tokens, counts=None, embed="embed.E", stack="enc.l{i}.fw", cell=None, layers=None,
              info=None):
        """Put the start point into ``net.params``: word vectors into ``embed`` (n_x, n_vocab) for the
        vocabulary ``tokens`` (counts: (n_vocab,) token counts, for the coverage), or a language
        model's embedding and layers ``stack.format(i=i)`` (``cell``, ``layers``: the net's)."""
        info = info or (lambda message: None)
        if self.cfg.embeddings is not None:
            self.phases["embeddings"] = put_vectors(net, embed, tokens, counts, self.cfg, info, self.masks)
        if self.lm is not None:
            cell = cell or net.cell
            layers = layers or net.layers
            self.phases["init"] = put_lm(net, self.lm, tokens, embed, stack, cell, layers, self.depth,
                                         self.cfg.init_from)
            if self.cfg.freeze_embeddings:   # the language model's words keep its vectors for good
                found = np.array([w in self.lm.index for w in tokens])
                found[:1] = False
                self.masks[embed] = (~found[None, :]).astype(net.params[embed].dtype)
                self.depth.pop(embed)
                self.phases["init"]["frozen_embeddings"] = True
            info(f"started from the language model: {self.phases['init']['words_found']:,} of "
                 f"{len(tokens) - 2:,} words have its vectors; {layers} {cell} layer"
                 f"{'s' if layers != 1 else ''} from it" + (
                     f"; those stay fixed for {self.cfg.freeze_epochs} epoch"
                     f"{'s' if self.cfg.freeze_epochs != 1 else ''}" if self.cfg.freeze_epochs else ""))

    def scales(self, epoch):
        """{name: scale} for ``epoch`` (0-based), as nn/optim.py reads them: the fixed columns of
        frozen word vectors; the pretrained part frozen for the first freeze_epochs, then its rates
        divided by layer_decay per layer below the output."""
        out = dict(self.masks)
        frozen = epoch < self.cfg.freeze_epochs
        for name, d in self.depth.items():
            if frozen:
                out[name] = 0.0
            elif self.cfg.layer_decay != 1.0:
                out[name] = float(self.cfg.layer_decay) ** -d
        return out

    def summary(self):
        return dict(self.phases)


def start(params, model_cfg=None, texts=None, notify=None, info=None, report=None):
    """The Transfer of ``params``: loads the ``init_from`` language model, or pretrains one on
    ``texts`` (a list of str: the training texts) with ``model_cfg``'s cell and sizes. Raises
    SeqcliError (a file that is no word language model, an interrupted pretraining)."""
    cfg = config(params)
    lm, phases, timings = None, {}, {}
    if cfg.init_from is not None:
        lm = load_lm(cfg.init_from)
    elif cfg.pretrain:
        lm, phases["pretrain"] = pretrain(texts, model_cfg, cfg, params.get("seed") or 0, notify, info, report)
        timings["pretrain_seconds"] = phases["pretrain"].pop("seconds")
    return Transfer(cfg, lm, phases, timings=timings)


def load_lm(path):
    """A word language model from its file; any other file is a one-line error."""
    from seqcli import models

    lm = models.load(path, {"lm"})
    if lm.units.split != "word":
        raise SeqcliError(f"{path}: is a character language model; --init-from needs a word one "
                          "(seqcli train CORPUS --task lm --split word)")
    return lm


def vector_dim(path):
    """The dimension of the word-vector file ``path`` (its first line only is read)."""
    from seqcli.data.embeddings import load_vectors

    return load_vectors(path, [], reserved=0).dim


def put_vectors(net, key, tokens, counts, cfg, info, masks):
    """Word vectors into ``net.params[key]``; returns the coverage for the summary."""
    from seqcli.data.embeddings import apply_vectors, load_vectors

    E = net.params[key]
    vectors = load_vectors(cfg.embeddings, list(tokens), counts, expect_dim=None)
    apply_vectors(E, vectors)   # one-line error when the dimension is not the embedding's
    if cfg.freeze_embeddings:
        masks[key] = (~vectors.found[None, :]).astype(E.dtype)   # found columns fixed, the rest learn
    info(f"{cfg.embeddings} ({vectors.format}, {vectors.dim} dimensions): {vectors.summary()}"
         + ("; those kept fixed" if cfg.freeze_embeddings else ""))
    out = {"file": cfg.embeddings, "format": vectors.format, "dim": vectors.dim,
           "words": vectors.n_looked_up, "found": vectors.n_found, "by_case_folding": vectors.n_folded,
           "word_coverage": round(vectors.type_coverage, 6), "frozen": cfg.freeze_embeddings}
    if vectors.token_coverage is not None:
        out["token_coverage"] = round(vectors.token_coverage, 6)
    return out


def put_lm(net, lm, tokens, embed, stack, cell, layers, depth, source=None):
    """A word language model's embedding (by word) and recurrent layers into ``net.params``; records
    each pretrained parameter's depth below the output. Returns what the summary says about it."""
    source = source or "the pretrained language model"
    lnet = lm.net
    E = net.params[embed]
    want = {"cell": cell, "layers": layers, "embed": E.shape[0], "hidden": _hidden(net, stack, cell)}
    have = {"cell": lnet.cell, "layers": lnet.layers, "embed": lnet.embed, "hidden": lnet.hidden}
    differ = [k for k in want if want[k] != have[k]]
    if differ:
        what = ", ".join(f"{k} {have[k]} (here {want[k]})" for k in differ)
        fix = " ".join(f"--{'model' if k == 'cell' else k} {have[k]}" for k in differ)
        raise SeqcliError(f"{source}: a language model of another shape: {what}; train with {fix}, or "
                          "leave the sizes out to take the language model's")
    index = lm.index
    cols = np.array([index.get(w, -1) for w in tokens])
    found = cols >= 0
    found[:1] = False   # <pad> stays zero
    E[:, found] = lnet.params["embed.E"][:, cols[found]].astype(E.dtype)
    depth[embed] = layers + 1
    for i in range(layers):
        prefix = stack.format(i=i)
        for key, value in lnet.layer_params(i).items():
            net.params[f"{prefix}.{key}"][...] = value
            depth[f"{prefix}.{key}"] = layers - i
    return {"source": source, "cell": cell, "layers": layers, "embed": int(E.shape[0]),
            "hidden": want["hidden"], "words_found": int(found[2:].sum()), "words": len(tokens) - 2}


def _hidden(net, stack, cell):
    """The hidden size of the net's first recurrent layer (rows of Waa)."""
    return int(net.params[stack.format(i=0) + ".Waa"].shape[1])


def pretrain(texts, model_cfg, cfg, seed, notify=None, info=None, report=None):
    """Train a word language model with ``model_cfg``'s cell and sizes on ``pretrain_corpus`` and then
    the training ``texts`` (last, so the language model validates on held-out training texts).
    Returns (the model, the summary of the pretraining phase)."""
    from seqcli import data, tasks
    from seqcli.training.fit import fit

    lm_task = tasks.module("lm")   # through the task table: the lm task uses this module for its vectors

    info = info or notify or (lambda message: None)
    corpus = lm_task.read_text(cfg.pretrain_corpus, notify=notify) if cfg.pretrain_corpus else ""
    text = corpus + "".join(t.replace("\n", " ") + "\n" for t in texts)
    name = (f"{data.display_name(cfg.pretrain_corpus)} + " if cfg.pretrain_corpus else "") + \
        f"the {len(texts):,} training texts"
    lm_params = {**PRETRAIN, "split": "word", "seed": int(seed),
                 **{k: getattr(model_cfg, k) for k in ("embed", "hidden", "layers", "min_count", "max_vocab",
                                                       "lowercase")}}
    if cfg.pretrain_epochs is not None:
        lm_params["epochs"] = cfg.pretrain_epochs
    info(f"pretraining a word language model ({model_cfg.cell}, {model_cfg.layers} layer"
         f"{'s' if model_cfg.layers != 1 else ''} of {model_cfg.hidden}) on {name}")
    prepared = lm_task.build(text, name, model_cfg.cell, lm_params, notify=notify, info=info, report=report)
    if report is not None:
        report({"event": "start", "task": "lm", "model": model_cfg.cell, "unit": prepared.job.unit,
                "phase": "pretrain"})
    outcome = fit(prepared.job, report=report)
    if outcome.halted == "interrupted":
        raise KeyboardInterrupt
    summary = lm_task.summary(prepared, outcome)
    summary.update(seconds=round(outcome.seconds, 3), corpus=cfg.pretrain_corpus, n_texts=len(texts))
    summary.pop("params", None)
    info(f"pretrained: validation perplexity {summary['val_ppl']:,.1f} ({summary['val_loss']:.3f} nats/word), "
         f"{summary['steps']:,} steps, {summary['seconds']:.1f}s; now fine-tuning")
    return prepared.job.model, summary
