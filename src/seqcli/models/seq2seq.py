"""The fitted encoder-decoder: how each side is split into tokens, both vocabularies, and the Seq2SeqNet
(numpy only, so ``seqcli predict`` stays light).

A source is split into characters (``char``) or at whitespace (``space``), as the model was trained;
a generated target is joined back the same way (no separator for characters, one space for tokens).
Source tokens the model never saw read as the unknown id; sources longer than ``MAX_SOURCE`` tokens
are cut there (a stream of text must not make one line cost unbounded memory), and the caller is told.
"""

from typing import NamedTuple

import numpy as np

from seqcli.config import Seq2SeqConfig, from_dict, to_dict
from seqcli.models import prefixed
from seqcli.text import PAD, UNK, Vocab, pad_batch

START_TOKEN, END_TOKEN = "<s>", "</s>"
MAX_SOURCE = 1000          # source tokens read per line
DECODE_BATCH = 256         # sources decoded together (greedy; a beam of K decodes 256 // K)


class Output(NamedTuple):
    """One generated target."""
    tokens: list           # target tokens (strings), the end symbol excluded
    text: str              # the tokens joined as the target side is written
    logprob: float         # log P(tokens, end | source)
    score: float           # logprob / steps ** alpha (the beam's ranking)
    ended: bool            # False: cut at max_len
    attention: object      # (steps, T_x) attention weights, or None when not asked for


def split(text, how):
    """Tokens of ``text``: its characters (``char``) or its whitespace-separated pieces (``space``)."""
    return list(text) if how == "char" else text.split()


def join(tokens, how):
    return "".join(tokens) if how == "char" else " ".join(tokens)


class Seq2SeqModel:
    """Source vocabulary + target vocabulary + Seq2SeqNet; ``config.source_split`` / ``target_split``
    are always set (the task resolves them from the data before training)."""

    kind = "seq2seq"

    def __init__(self, config, src_vocab, tgt_vocab, net, max_target_len):
        self.config, self.src_vocab, self.tgt_vocab, self.net = config, src_vocab, tgt_vocab, net
        self.max_target_len = int(max_target_len)

    @staticmethod
    def target_vocab(token_lists):
        """The target vocabulary of training targets: ids 0-3 reserved (pad, unknown, start, end)."""
        built = Vocab.build(token_lists)
        return Vocab([PAD, UNK, START_TOKEN, END_TOKEN] + built.tokens[2:])

    def source_tokens(self, text):
        """(tokens read, tokens dropped past MAX_SOURCE)."""
        toks = split(text, self.config.source_split)
        return toks[:MAX_SOURCE], max(0, len(toks) - MAX_SOURCE)

    def encode_sources(self, texts):
        return [self.src_vocab.encode(self.source_tokens(t)[0]) for t in texts]

    def encode_targets(self, texts):
        return [self.tgt_vocab.encode(split(t, self.config.target_split)) for t in texts]

    def default_max_len(self):
        """Steps a search may take when not told: twice the longest training target, plus 10."""
        return 2 * self.max_target_len + 10

    def decode(self, texts, beam=1, nbest=1, max_len=None, alpha=1.0, attention=False, batch_size=None):
        """The generated targets of ``texts``: one list of ``nbest`` Outputs (best first) per text.

        beam 1 is greedy search; the sources are decoded in batches of similar length.
        """
        from seqcli.nn.search import beam_search, greedy

        max_len = int(max_len or self.default_max_len())
        ids = self.encode_sources(texts)
        batch_size = batch_size or max(1, DECODE_BATCH // beam)
        out = [None] * len(ids)
        order = np.argsort([len(x) for x in ids], kind="stable")
        for start in range(0, len(order), batch_size):
            idx = order[start: start + batch_size]
            src, lengths = pad_batch([ids[i] for i in idx])
            if beam == 1:
                found = [[h] for h in greedy(self.net, src, lengths, max_len, alpha, attention)]
            else:
                found = beam_search(self.net, src, lengths, beam, max_len, alpha, nbest, attention)
            for i, hyps in zip(idx, found):
                out[i] = [self._output(h) for h in hyps]
        return out

    def _output(self, h):
        tokens = [self.tgt_vocab.tokens[t] for t in h.tokens]
        return Output(tokens, join(tokens, self.config.target_split), h.logprob, h.score, h.ended, h.attention)

    def alignments(self, text, target_tokens):
        """Teacher-forced attention weights (len(target_tokens) + 1, T_x) of ``text`` producing the given
        target (its last row is the end symbol's step)."""
        src, lengths = pad_batch([self.encode_sources([text])[0]])
        tgt = [2] + self.tgt_vocab.encode(target_tokens)
        tgt_in, t_len = pad_batch([tgt])
        return self.net.alignments(src, lengths, tgt_in, t_len)[0]

    # -- persistence ------------------------------------------------------------------------------------

    def to_state(self):
        header = {"config": to_dict(self.config), "net": self.net.config(), "max_target_len": self.max_target_len}
        arrays = {f"net.{k}": v for k, v in self.net.params.items()}
        arrays["src_vocab"] = np.array(self.src_vocab.tokens)
        arrays["tgt_vocab"] = np.array(self.tgt_vocab.tokens)
        return header, arrays

    @classmethod
    def from_state(cls, header, arrays):
        from seqcli.nn.seq2seq import Seq2SeqNet

        config = from_dict(Seq2SeqConfig, header["config"], "seq2seq model config")
        if config.source_split is None or config.target_split is None:
            raise ValueError("the config does not say how sources and targets are split")
        src_vocab, tgt_vocab = Vocab(arrays["src_vocab"].tolist()), Vocab(arrays["tgt_vocab"].tolist())
        net = Seq2SeqNet.from_config(header["net"], prefixed(arrays, "net."))
        if (len(src_vocab), len(tgt_vocab)) != (net.n_src_vocab, net.n_tgt_vocab):
            raise ValueError(f"vocabularies of {len(src_vocab)} and {len(tgt_vocab)} entries for embeddings "
                             f"of {net.n_src_vocab} and {net.n_tgt_vocab}")
        max_target_len = header["max_target_len"]
        if isinstance(max_target_len, bool) or not isinstance(max_target_len, int) or not 0 <= max_target_len <= 10**6:
            raise ValueError(f"max_target_len must be a whole number from 0 to 1000000, not {max_target_len!r}")
        return cls(config, src_vocab, tgt_vocab, net, max_target_len)
