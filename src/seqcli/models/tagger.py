"""The fitted sequence tagger: vocabularies + TaggerNet + tag names (numpy only).

A sentence is a list of tokens. Each token's word id comes from its lowercased form (when the config
says ``lowercase``), its characters keep their case; words and characters never seen in training get
id 1 (<unk>). ``tag`` runs the network on many sentences at once, batched longest first (the order
the recurrent cells compute fastest, nn/cells/lstm.py), and gives every sentence its tags and each
tag's probability. A sentence longer than ``MAX_TOKENS`` is tagged in pieces of that many tokens
(its tags stay one per token; the context does not cross a piece's edge); with a Transformer encoder of
learned positions, pieces of at most its ``max_len`` (the longest training sentence: the positions it
has vectors for).

``tokenize`` splits a line of plain text for prediction: at whitespace, or (``--tokenize``) into
words, numbers and punctuation the way treebanks do ("don't" -> "do n't", "U.S." kept whole).
"""

import re

import numpy as np

from seqcli.config import TRANSFORMER, TagConfig, TransformerTagConfig, from_dict, to_dict
from seqcli.models import prefixed

MAX_TOKENS = 1000          # tokens per piece of a very long sentence
BATCH_TOKENS = 8192        # tokens per batch when tagging

# treebank-style tokens: URLs and e-mail addresses whole, numbers with their separators, clitics split
# off ("do" "n't", "it" "'s"), abbreviations with their dots, words, and every other mark alone
_TOKEN = re.compile(r"""
    (?:https?://|www\.)\S+[^\s.,;:!?)\]'"]
  | [\w.+-]+@\w[\w-]*(?:\.\w[\w-]*)+
  | \d+(?:[.,:/]\d+)*
  | \w+(?=n['’]t\b)
  | n['’]t\b
  | \w+(?=['’](?:s|re|ve|ll|d|m|S|RE|VE|LL|D|M)\b)
  | ['’](?:s|re|ve|ll|d|m|S|RE|VE|LL|D|M)\b
  | (?:[A-Za-z]\.){2,}
  | \w+(?:[-'’]\w+)*
  | \.\.\.
  | \S
""", re.VERBOSE)


def tokenize(text, words=False):
    """The tokens of one line: split at whitespace, or with ``words=True`` into treebank-style tokens."""
    return _TOKEN.findall(text) if words else text.split()


def token_batches(lengths, budget=BATCH_TOKENS):
    """Index arrays of sentences, longest first (the order the recurrent cells compute fastest), each
    batch about ``budget`` tokens (at least one sentence)."""
    lengths = np.asarray(lengths)
    order = np.argsort(-lengths, kind="stable")
    k = 0
    while k < len(order):
        idx = order[k:k + max(1, budget // max(int(lengths[order[k]]), 1))]
        k += len(idx)
        yield idx


def _joined(tokens):
    """Tokens as one string array (one token per line): a plain array of N tokens would be N times the
    longest token wide, and a URL makes that megabytes."""
    return np.array("\n".join(tokens))


def _split(array):
    text = str(array[()]) if np.ndim(array) == 0 else ""
    return text.split("\n") if text else []


class Tagger:
    """Word and character vocabularies + TaggerNet + tag names (+ the training words, for the
    accuracy on words unseen in training)."""

    kind = "tagger"

    def __init__(self, config, words, chars, tags, net, seen=()):
        self.config, self.net = config, net
        self.words, self.chars, self.tags = list(words), list(chars), list(tags)
        self.word_index = {w: i for i, w in enumerate(self.words)}
        self.char_index = {c: i for i, c in enumerate(self.chars)}
        self.seen = frozenset(seen)
        self._spelling = {}   # token -> its char ids (tokens repeat: "the", ",")

    # -- encoding ------------------------------------------------------------------------------------

    def word_ids(self, tokens):
        get, lower = self.word_index.get, self.config.lowercase
        return [get(t.lower() if lower else t, 1) for t in tokens]

    def char_ids(self, tokens):
        """Each token's char ids (unknown characters 1), as tuples."""
        out, known = [], self._spelling
        for t in tokens:
            ids = known.get(t)
            if ids is None:
                get = self.char_index.get
                ids = tuple(get(c, 1) for c in t)
                if len(known) < 200_000:
                    known[t] = ids
            out.append(ids)
        return out

    def encode(self, sentences):
        """(word id lists, char id lists) of ``sentences`` (lists of tokens)."""
        return [self.word_ids(s) for s in sentences], [self.char_ids(s) for s in sentences]

    # -- tagging -------------------------------------------------------------------------------------

    def tag(self, sentences):
        """For each sentence (a list of tokens): (tag indices (L,) ints, probabilities (L, n_tags)).

        Softmax: each token's distribution; CRF: the marginals, and the tags are the best sequence."""
        pieces, owners = [], []
        n = self.piece_tokens()
        for i, s in enumerate(sentences):
            for start in range(0, max(len(s), 1), n):
                pieces.append(s[start:start + n])
                owners.append(i)
        results = [None] * len(pieces)
        for idx in token_batches([len(p) for p in pieces]):
            words, chars = self.encode([pieces[i] for i in idx])
            tags, probs = self.net.predict(self.net.batch(words, chars))
            for j, i in enumerate(idx):
                L = len(pieces[i])
                results[i] = (tags[:L, j], probs[:L, :, j])
        out = [[] for _ in sentences]
        for owner, res in zip(owners, results):
            out[owner].append(res)
        return [(np.concatenate([t for t, _ in parts]), np.concatenate([p for _, p in parts])) for parts in out]

    def piece_tokens(self):
        """The most tokens the network reads at once: MAX_TOKENS, or fewer for learned positions."""
        options = self.net.transformer
        return min(MAX_TOKENS, options["max_len"]) if options.get("positions") == "learned" else MAX_TOKENS

    def predict(self, sentences):
        """The tags (strings) of each sentence."""
        return [[self.tags[k] for k in t] for t, _ in self.tag(sentences)]

    # -- persistence ---------------------------------------------------------------------------------

    def to_state(self):
        header = {"config": to_dict(self.config), "tags": self.tags, "net": self.net.config()}
        arrays = {f"net.{k}": v for k, v in self.net.params.items()}
        arrays.update(words=_joined(self.words), chars=_joined(self.chars), seen=_joined(sorted(self.seen)))
        return header, arrays

    @classmethod
    def from_state(cls, header, arrays):
        from seqcli.nn.tagger import TaggerNet

        transformer = isinstance(header["config"], dict) and header["config"].get("cell") == TRANSFORMER
        config = from_dict(TransformerTagConfig if transformer else TagConfig, header["config"], "tagger config")
        net = TaggerNet.from_config(header["net"], prefixed(arrays, "net."))
        words, chars, tags = _split(arrays["words"]), _split(arrays["chars"]), header["tags"]
        if len(words) != net.n_vocab:   # a longer vocabulary would index past the embedding
            raise ValueError(f"vocabulary has {len(words)} words, the embedding {net.n_vocab}")
        if net.chars is not None and len(chars) != net.n_chars:
            raise ValueError(f"{len(chars)} characters for a character table of {net.n_chars}")
        if not isinstance(tags, list) or len(tags) != net.n_tags or not all(isinstance(t, str) and t for t in tags):
            raise ValueError(f"tag list does not match the {net.n_tags} outputs of the network")
        return cls(config, words, chars, tags, net, _split(arrays["seen"]))
