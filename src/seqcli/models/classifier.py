"""The fitted sequence classifier (recurrent or Transformer): vocabulary + SeqNet + class names (numpy only)."""

import itertools

import numpy as np

from seqcli.config import TRANSFORMER, SeqConfig, TransformerSeqConfig, from_dict, to_dict
from seqcli.models import class_names, prefixed
from seqcli.persist import pack_strings, unpack_strings
from seqcli.text import WORD_RE, Vocab, pad_batch


class SeqModel:
    """Vocabulary + SeqNet (embedding, recurrent or Transformer encoder, pooling, dense) + class names."""

    kind = "seq"

    def __init__(self, config, vocab, net, classes):
        self.config, self.vocab, self.net, self.classes = config, vocab, net, list(classes)

    def tokenize(self, text):
        """The first max_len word tokens, as ``word_tokens(text)[:max_len]``, but the scan stops
        there: a 50 MB line is not split into millions of tokens to keep 256."""
        return self.tokens_and_cut(text)[0]

    def tokens_and_cut(self, text):
        """(the first max_len word tokens of ``text``, whether it had more: it was cut).

        The head is kept, not the tail: the scan can stop at max_len + 1 tokens (a huge line costs
        no more than a short one), it is the usual choice (a title and an opening sentence are read
        first), and models trained before the cut was reported were trained on heads."""
        if self.config.lowercase:
            text = text.lower()
        limit = self.config.max_len
        tokens = [m.group() for m in itertools.islice(WORD_RE.finditer(text), limit + 1)]
        cut = len(tokens) > limit
        if cut:
            del tokens[limit:]
        return tokens, cut

    def encode(self, texts, cut=None):
        """Token id lists, one per text (unknown words -> 1, truncated to max_len tokens).

        cut: a list, or None; gets the position in ``texts`` of every text longer than max_len tokens."""
        out = []
        for i, text in enumerate(texts):
            tokens, was_cut = self.tokens_and_cut(text)
            if was_cut and cut is not None:
                cut.append(i)
            out.append(self.vocab.encode(tokens))
        return out

    def predict_proba(self, texts, batch_size=256, cut=None):
        """Probabilities (m, n_classes); rows are batched by length to limit padding.

        cut: as in ``encode`` (the positions of the texts longer than max_len tokens)."""
        id_lists = self.encode(texts, cut)
        out = np.empty((len(id_lists), len(self.classes)), dtype=np.float64)
        order = np.argsort([len(ids) for ids in id_lists], kind="stable")
        for start in range(0, len(order), batch_size):
            idx = order[start: start + batch_size]
            ids, lengths = pad_batch([id_lists[i] for i in idx])
            out[idx] = self.net.predict_proba(ids, lengths).T
        return out

    def to_state(self):
        header = {"config": to_dict(self.config), "classes": self.classes, "net": self.net.config()}
        arrays = {f"net.{k}": v for k, v in self.net.params.items()}
        arrays["vocab_utf8"], arrays["vocab_lengths"] = pack_strings(self.vocab.tokens)
        return header, arrays

    @classmethod
    def from_state(cls, header, arrays):
        from seqcli.nn.seqnet import SeqNet

        stored = header["config"]
        transformer = isinstance(stored, dict) and stored.get("cell") == TRANSFORMER
        config = from_dict(TransformerSeqConfig if transformer else SeqConfig, stored,
                           "transformer model config" if transformer else "recurrent model config")
        if "vocab" in arrays:   # seqcli 0.1 stored a unicode array
            vocab = Vocab(arrays["vocab"].tolist())
        else:
            vocab = Vocab(unpack_strings(arrays["vocab_utf8"], arrays["vocab_lengths"], "vocabulary"))
        net = SeqNet.from_config(header["net"], prefixed(arrays, "net."))
        if len(vocab) != net.n_vocab:  # a longer vocabulary would index past the embedding
            raise ValueError(f"vocabulary has {len(vocab)} entries, the embedding {net.n_vocab}")
        classes = class_names(header, net.config()["n_classes"])
        return cls(config, vocab, net, classes)
