"""Greedy and beam search over Seq2SeqNet's step API: against exhaustive search, beam 1 = greedy, n-best
lists, max_len, ended hypotheses, one step call per time step; and a tiny task learned end to end."""

import itertools

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from seqcli.metrics.editdistance import score
from seqcli.nn.optim import Adam
from seqcli.nn.search import beam_search, greedy
from seqcli.nn.seq2seq import END, NEVER, START, Seq2SeqNet


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    """Tiny products: BLAS threads only add waiting (much of it on a busy machine)."""
    with threadpool_limits(1, "blas"):
        yield


def net_for(cell="lstm", attention="general", n_tgt=9, end_bias=0.0, seed=0, layers=1):
    net = Seq2SeqNet(8, n_tgt, cell=cell, embed=4, hidden=6, layers=layers, attention=attention,
                     dtype=np.float64, seed=seed)
    rng = np.random.default_rng(seed + 7)
    net.params["out.Wya"] *= 3.0                       # peakier distributions than at initialisation
    net.params["out.by"][:, 0] = rng.normal(0, 1, n_tgt)
    net.params["out.by"][END] += end_bias
    return net


SRC = np.array([[4, 5, 2, 7, 3], [3, 2, 0, 7, 6], [5, 0, 0, 7, 0]])
SRC_LEN = np.array([3, 2, 0, 3, 2])


def exhaustive(net, src, src_len, max_len, alpha):
    """Every hypothesis up to max_len steps, scored as the search scores them: (score, logprob, tokens,
    ended), best first. Ended: non-end tokens then the end symbol; cut: max_len non-end tokens."""
    allowed = [v for v in range(net.n_tgt_vocab) if v not in NEVER and v != END]
    seqs = [(p, True) for s in range(max_len) for p in itertools.product(allowed, repeat=s)]
    seqs += [(p, False) for p in itertools.product(allowed, repeat=max_len)]
    T = max_len
    tin = np.zeros((T, len(seqs)), int)
    for c, (p, _) in enumerate(seqs):
        tin[0, c] = START
        tin[1:len(p) + 1, c] = p[:T - 1]
    n = len(seqs)
    logp = net.log_probs(np.repeat(src[:, None], n, axis=1), np.full(n, src_len), tin, np.full(n, T))
    out = []
    for c, (p, ended) in enumerate(seqs):
        outs = list(p) + ([END] if ended else [])
        lp = float(sum(logp[y, t, c] for t, y in enumerate(outs)))
        out.append((lp / len(outs) ** alpha, lp, list(p), ended))
    return sorted(out, key=lambda h: -h[0])


@pytest.mark.parametrize("alpha", [0.0, 0.6, 1.0])
def test_a_beam_as_wide_as_every_sequence_finds_the_true_best(alpha):
    """n_tgt = 6 leaves 4 tokens to choose (1, 3=end, 4, 5); max_len 3 gives 40 hypotheses in all.
    Beam = vocabulary^length = 216 prunes nothing: its n-best list is the exhaustive ranking."""
    net = net_for("gru", "additive", n_tgt=6, end_bias=1.0, seed=1)
    hyps = beam_search(net, SRC, SRC_LEN, beam=6 ** 3, max_len=3, alpha=alpha, nbest=40)
    for s in range(SRC.shape[1]):
        want = exhaustive(net, SRC[:, s], SRC_LEN[s], 3, alpha)
        got = hyps[s]
        assert len(got) == len(want) == 40
        assert [(h.tokens, h.ended) for h in got] == [(w[2], w[3]) for w in want]
        np.testing.assert_allclose([h.score for h in got], [w[0] for w in want], atol=1e-12)
        np.testing.assert_allclose([h.logprob for h in got], [w[1] for w in want], atol=1e-12)


def test_a_narrow_beam_finds_a_hypothesis_at_least_as_good_as_greedy_and_never_better_than_the_best():
    net = net_for("lstm", "dot", n_tgt=6, end_bias=0.5, seed=2)
    g = greedy(net, SRC, SRC_LEN, max_len=3, alpha=0.0)
    b = beam_search(net, SRC, SRC_LEN, beam=3, max_len=3, alpha=0.0)
    for s in range(SRC.shape[1]):
        best = exhaustive(net, SRC[:, s], SRC_LEN[s], 3, 0.0)[0]
        assert g[s].score <= b[s][0].score + 1e-12 <= best[0] + 2e-12


# END biases that give each model outputs of several lengths, some ended and some cut at max_len
@pytest.mark.parametrize("cell,attention,end_bias", [("lstm", "general", 0.0), ("gru", "dot", 0.5),
                                                     ("rnn", "additive", 0.0), ("gru", "none", 0.5)])
def test_beam_of_one_is_greedy(cell, attention, end_bias):
    net = net_for(cell, attention, end_bias=end_bias, seed=3, layers=2)
    g = greedy(net, SRC, SRC_LEN, max_len=7, alpha=0.7, attention=True)
    b = beam_search(net, SRC, SRC_LEN, beam=1, max_len=7, alpha=0.7, attention=True)
    assert {h.ended for h in g} == {True, False}            # both kinds of ending occur
    for gh, (bh,) in zip(g, b):
        assert gh.tokens == bh.tokens and gh.ended == bh.ended
        assert abs(gh.logprob - bh.logprob) < 1e-12 and abs(gh.score - bh.score) < 1e-12
        np.testing.assert_allclose(gh.attention, bh.attention, atol=1e-12)


def test_nbest_lists_are_sorted_distinct_and_score_as_stated():
    net = net_for("lstm", "general", end_bias=1.5, seed=4)
    alpha = 0.8
    hyps = beam_search(net, SRC, SRC_LEN, beam=5, max_len=6, alpha=alpha, nbest=5)
    lp_all = None
    for s, hs in enumerate(hyps):
        assert len(hs) == 5
        scores = [h.score for h in hs]
        assert scores == sorted(scores, reverse=True)
        assert len({(tuple(h.tokens), h.ended) for h in hs}) == 5
        for h in hs:
            assert END not in h.tokens and not set(h.tokens) & set(NEVER)
            steps = len(h.tokens) + h.ended
            assert abs(h.score - h.logprob / steps ** alpha) < 1e-12
            # the stated log-probability is the model's, by teacher forcing
            outs = h.tokens + ([END] if h.ended else [])
            tin = np.array([[START] + h.tokens[:steps - 1]]).T
            lp_all = net.log_probs(SRC[:, s:s + 1], SRC_LEN[s:s + 1], tin, [steps])
            assert abs(sum(lp_all[y, t, 0] for t, y in enumerate(outs)) - h.logprob) < 1e-12


def test_a_batch_searches_each_source_as_if_alone():
    net = net_for("gru", "general", end_bias=1.0, seed=5)
    together = beam_search(net, SRC, SRC_LEN, beam=4, max_len=6, nbest=3, attention=True)
    for s in range(SRC.shape[1]):
        alone = beam_search(net, SRC[:SRC_LEN[s], s:s + 1], SRC_LEN[s:s + 1], beam=4, max_len=6, nbest=3,
                            attention=True)[0]
        assert [h.tokens for h in alone] == [h.tokens for h in together[s]]
        np.testing.assert_allclose([h.score for h in alone], [h.score for h in together[s]], atol=1e-12)
        for a, b in zip(alone, together[s]):
            assert a.attention.shape == (len(a.tokens) + a.ended, SRC_LEN[s])
            np.testing.assert_allclose(a.attention, b.attention, atol=1e-12)


def test_max_len_is_respected():
    never_ends = net_for("lstm", "dot", end_bias=-60.0, seed=6)
    for hs in beam_search(never_ends, SRC, SRC_LEN, beam=3, max_len=4, nbest=3):
        assert [len(h.tokens) for h in hs] == [4, 4, 4] and not any(h.ended for h in hs)
    for h in greedy(never_ends, SRC, SRC_LEN, max_len=4):
        assert len(h.tokens) == 4 and not h.ended
    ends_at_once = net_for("lstm", "dot", end_bias=60.0, seed=6)
    for h in greedy(ends_at_once, SRC, SRC_LEN, max_len=4):
        assert h.tokens == [] and h.ended and h.score == h.logprob
    for hs in beam_search(ends_at_once, SRC, SRC_LEN, beam=2, max_len=4, nbest=2):
        assert hs[0].tokens == [] and hs[0].ended
        assert all(len(h.tokens) + h.ended <= 4 for h in hs)
    with pytest.raises(ValueError, match="max_len"):
        greedy(ends_at_once, SRC, SRC_LEN, max_len=0)
    with pytest.raises(ValueError, match="nbest"):
        beam_search(ends_at_once, SRC, SRC_LEN, beam=2, nbest=3)


class Spy:
    """The network's step API, recording every call."""

    def __init__(self, net):
        self.net, self.calls = net, []

    def encode(self, src, lengths):
        return self.net.encode(src, lengths)

    def select(self, state, index):
        return self.net.select(state, index)

    def step(self, state, prev):
        self.calls.append(np.array(prev))
        return self.net.step(state, prev)


@pytest.mark.parametrize("beam", [1, 3])
def test_ended_hypotheses_are_never_extended_and_each_step_is_one_call(beam):
    net = net_for("rnn", "general", end_bias=2.0, seed=6)   # ends at several lengths, or not at all
    spy = Spy(net)
    max_len = 8
    hyps = beam_search(spy, SRC, SRC_LEN, beam=beam, max_len=max_len, nbest=beam)
    assert 1 <= len(spy.calls) <= max_len                 # one call per time step for the whole batch
    assert spy.calls[0].tolist() == [START] * (SRC.shape[1] * beam)
    for prev in spy.calls[1:]:
        assert END not in prev and START not in prev      # nothing is fed after its end symbol
        assert prev.size % beam == 0 and prev.size <= SRC.shape[1] * beam
    assert any(h.ended for hs in hyps for h in hs)
    spy.calls.clear()
    g = greedy(spy, SRC, SRC_LEN, max_len=max_len)
    assert all(END not in prev for prev in spy.calls[1:])
    sizes = [c.size for c in spy.calls]
    assert sizes == sorted(sizes, reverse=True) and sizes[-1] >= 1   # ended sources leave the batch
    assert len(spy.calls) == max(len(h.tokens) + h.ended for h in g)


def reverse_batch(rng, m, letters=6, longest=5):
    """Random strings over `letters` letters, 1..`longest` long; the target is the string reversed."""
    L = rng.integers(1, longest + 1, m)
    T = int(L.max())
    src, tin, tout = np.zeros((T, m), int), np.zeros((T + 1, m), int), np.zeros((T + 1, m), int)
    for i, n in enumerate(L):
        s = rng.integers(0, letters, n)
        src[:n, i] = s + 2                 # source ids 2.. (0 padding, 1 unknown)
        y = s[::-1] + END + 1              # target ids 4..
        tin[0, i], tin[1:n + 1, i] = START, y
        tout[:n, i], tout[n, i] = y, END
    return src, L, tin, tout, L + 1


def test_the_whole_path_learns_to_reverse_strings():
    """Embedding, bidirectional encoder, bridge, attention, input feeding, readout and search, trained
    with Adam: 100% exact match on fresh strings, greedy and beam, within a few hundred small batches."""
    net = Seq2SeqNet(8, 10, cell="lstm", embed=16, hidden=32, attention="general", seed=0)
    opt = Adam(lr=0.01)
    rng = np.random.default_rng(0)
    src, sl, _, tout, tl = reverse_batch(np.random.default_rng(99), 100)
    refs = [[tout[:sl[i], i].tolist()] for i in range(100)]
    exact = 0.0
    for it in range(1, 601):
        loss, grads = net.loss(*reverse_batch(rng, 32), rng=rng)
        opt.step(net.params, grads)
        if it % 50 == 0:
            exact = score([h.tokens for h in greedy(net, src, sl, max_len=8)], refs).exact
            if exact == 1.0:
                break
    assert exact == 1.0, (it, loss)
    beams = beam_search(net, src, sl, beam=3, max_len=8)
    assert score([b[0].tokens for b in beams], refs).exact == 1.0
