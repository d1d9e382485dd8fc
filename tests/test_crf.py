"""CRF: partition function, NLL, Viterbi and marginals against brute-force enumeration of every tag
sequence; float64 gradient checks of the emissions and every parameter; padding invariance."""

import itertools

import numpy as np
from gradcheck import numeric_grad, rel_error
import pytest

from seqcli.nn import crf

K, T = 3, 4
LENGTHS = np.array([4, 1, 0, 3, 2])


def setup(seed=0, K=K, T=T, lengths=LENGTHS, scale=1.0):
    rng = np.random.default_rng(seed)
    m = len(lengths)
    e = rng.normal(0, scale, (T, K, m))
    p = {"trans": rng.normal(0, scale, (K, K)), "start": rng.normal(0, scale, (K, 1)),
         "end": rng.normal(0, scale, (K, 1))}
    tags = rng.integers(0, K, (T, m))
    return e, p, tags, np.asarray(lengths)


def brute(e, p, i, L):
    """Every tag sequence of row i with its score, by the definition (plain Python loops)."""
    K = e.shape[1]
    out = []
    for y in itertools.product(range(K), repeat=L):
        s = p["start"][y[0], 0] + p["end"][y[-1], 0] if L else 0.0
        s += sum(e[t, y[t], i] for t in range(L))
        s += sum(p["trans"][y[t - 1], y[t]] for t in range(1, L))
        out.append((y, s))
    return out


def logsumexp(xs):
    xs = np.asarray(xs)
    return xs.max() + np.log(np.exp(xs - xs.max()).sum())


def test_partition_and_score_against_brute_force():
    e, p, tags, lengths = setup()
    log_z = crf.log_partition(e, lengths, p)
    fb = crf.forward_backward(e, lengths, p)
    scores = crf.sequence_score(e, tags, lengths, p)
    for i, L in enumerate(lengths):
        seqs = brute(e, p, i, L)
        want = logsumexp([s for _, s in seqs]) if L else 0.0
        assert abs(log_z[i] - want) < 1e-12
        assert abs(fb.log_z[i] - want) < 1e-12
        gold = dict(seqs)[tuple(tags[:L, i])] if L else 0.0
        assert abs(scores[i] - gold) < 1e-12
    assert log_z[2] == 0.0 and scores[2] == 0.0        # the empty row


def test_nll_against_brute_force():
    e, p, tags, lengths = setup(1)
    loss, _, _ = crf.nll(e, tags, lengths, p)
    total = 0.0
    for i, L in enumerate(lengths):
        if L:
            seqs = brute(e, p, i, L)
            total += logsumexp([s for _, s in seqs]) - dict(seqs)[tuple(tags[:L, i])]
    assert abs(loss - total / lengths.sum()) < 1e-12  # per real token
    assert loss > 0


def test_marginals_against_brute_force():
    e, p, _, lengths = setup(2)
    marg = crf.marginals(e, lengths, p)
    assert marg.shape == e.shape
    for i, L in enumerate(lengths):
        want = np.zeros((T, K))
        seqs = brute(e, p, i, L)
        z = logsumexp([s for _, s in seqs]) if L else 0.0
        for y, s in seqs:
            for t in range(L):
                want[t, y[t]] += np.exp(s - z)
        np.testing.assert_allclose(marg[:, :, i], want, atol=1e-12)
    np.testing.assert_allclose(marg.sum(axis=1), (np.arange(T)[:, None] < lengths).astype(float))


def test_pair_marginals_against_brute_force():
    e, p, _, lengths = setup(3)
    fb = crf.forward_backward(e, lengths, p, pairs=True)
    want = np.zeros((K, K))
    for i, L in enumerate(lengths):
        seqs = brute(e, p, i, L)
        z = logsumexp([s for _, s in seqs]) if L else 0.0
        for y, s in seqs:
            for t in range(1, L):
                want[y[t - 1], y[t]] += np.exp(s - z)
    np.testing.assert_allclose(fb.pairs, want, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 4, 5])
def test_viterbi_against_brute_force(seed):
    e, p, _, lengths = setup(seed, scale=2.0)
    path, score = crf.viterbi(e, lengths, p)
    assert path.shape == (T, len(lengths)) and score.shape == (len(lengths),)
    for i, L in enumerate(lengths):
        if L == 0:
            assert score[i] == 0 and np.all(path[:, i] == 0)
            continue
        y, s = max(brute(e, p, i, L), key=lambda ys: ys[1])
        assert tuple(path[:L, i]) == y
        assert abs(score[i] - s) < 1e-12
        assert np.all(path[L:, i] == 0)
    # the score is the score of the path
    np.testing.assert_allclose(crf.sequence_score(e, path, lengths, p), score, atol=1e-12)


def test_viterbi_follows_transitions():
    """Emissions alone say tag 0 everywhere; a forbidding 0 -> 0 transition makes it alternate."""
    e = np.zeros((5, 2, 1))
    e[:, 0] = 1.0
    p = {"trans": np.array([[-10.0, 0.0], [0.0, 0.0]]), "start": np.zeros((2, 1)),
         "end": np.zeros((2, 1))}
    path, _ = crf.viterbi(e, [5], p)
    assert path[:, 0].tolist() == [0, 1, 0, 1, 0]
    p["trans"][:] = 0.0
    assert crf.viterbi(e, [5], p)[0][:, 0].tolist() == [0] * 5


@pytest.mark.parametrize("lengths", [LENGTHS, np.array([4, 4]), np.array([1])])
def test_gradients(lengths):
    e, p, tags, lengths = setup(6, lengths=lengths)
    f = lambda: crf.nll(e, tags, lengths, p)[0]  # noqa: E731
    _, de, dp = crf.nll(e, tags, lengths, p)
    assert rel_error(numeric_grad(f, e), de) < 1e-6
    for k in crf.NAMES:
        assert dp[k].shape == p[k].shape
        assert rel_error(numeric_grad(f, p[k]), dp[k]) < 1e-6, k
    # padded tokens get no gradient
    pad = np.arange(T)[:, None] >= lengths
    assert np.all(de.transpose(0, 2, 1)[pad] == 0)


def test_padded_batch_equals_rows_alone():
    e, p, tags, lengths = setup(7, T=6, lengths=[5, 2, 0, 6, 1])
    n = lengths.sum()
    loss, de, dp = crf.nll(e, tags, lengths, p)
    path, score = crf.viterbi(e, lengths, p)
    marg = crf.marginals(e, lengths, p)
    tot_loss, tot = 0.0, {k: np.zeros_like(v) for k, v in p.items()}
    for i, L in enumerate(lengths):
        # the row alone, cut to its own length
        li, dei, dpi = crf.nll(e[:L, :, i:i + 1], tags[:L, i:i + 1], [L], p)
        tot_loss += li * L / n
        for k in tot:
            tot[k] += dpi[k] * L / n
        np.testing.assert_allclose(de[:L, :, i:i + 1], dei * L / n, atol=1e-14)
        pi, si = crf.viterbi(e[:L, :, i:i + 1], [L], p)
        np.testing.assert_array_equal(path[:L, i], pi[:, 0])
        assert abs(score[i] - si[0]) < 1e-12
        np.testing.assert_allclose(marg[:L, :, i], crf.marginals(e[:L, :, i:i + 1], [L], p)[:, :, 0],
                                   atol=1e-14)
    assert abs(loss - tot_loss) < 1e-12
    for k in tot:
        np.testing.assert_allclose(dp[k], tot[k], atol=1e-13, err_msg=k)


def test_padding_values_do_not_matter():
    e, p, tags, lengths = setup(8)
    pad = (np.arange(T)[:, None] >= lengths)
    e2, tags2 = e.copy(), tags.copy()
    e2.transpose(0, 2, 1)[pad] = 1e3                    # huge scores at padding: still ignored
    tags2[pad] = 7                                      # out-of-range tags at padding are ignored
    a, b = crf.nll(e, tags, lengths, p), crf.nll(e2, tags2, lengths, p)
    assert a[0] == b[0]
    np.testing.assert_array_equal(a[1], b[1])
    for k in crf.NAMES:
        np.testing.assert_array_equal(a[2][k], b[2][k])
    np.testing.assert_array_equal(crf.viterbi(e, lengths, p)[0], crf.viterbi(e2, lengths, p)[0])
    assert np.isfinite(crf.marginals(e2, lengths, p)).all()


def test_empty_batch_and_bad_tags():
    e = np.zeros((0, K, 2))
    loss, de, dp = crf.nll(e, np.zeros((0, 2), int), [0, 0], crf.init_params(K, np.float64))
    assert loss == 0.0 and de.shape == e.shape and all(np.all(g == 0) for g in dp.values())
    assert crf.viterbi(e, [0, 0], crf.init_params(K))[0].shape == (0, 2)
    e, p, tags, lengths = setup(9)
    tags[0, 0] = K
    with pytest.raises(ValueError):
        crf.nll(e, tags, lengths, p)


def test_large_scores_stay_finite_in_float32():
    e, p, tags, lengths = setup(10, scale=300.0)
    e, p = e.astype(np.float32), {k: v.astype(np.float32) for k, v in p.items()}
    loss, de, dp = crf.nll(e, tags, lengths, p)
    assert np.isfinite(loss) and np.isfinite(de).all() and all(np.isfinite(g).all() for g in dp.values())
    assert de.dtype == np.float32 and all(g.dtype == np.float32 for g in dp.values())
    marg = crf.marginals(e, lengths, p)
    np.testing.assert_allclose(marg.sum(axis=1), (np.arange(T)[:, None] < lengths), atol=1e-5)


def test_layer_keys():
    P = {}
    layer = crf.CRF(P, "crf", 4, np.float64)
    assert {k: v.shape for k, v in P.items()} == {"crf.trans": (4, 4), "crf.start": (4, 1),
                                                 "crf.end": (4, 1)}
    e, _, tags, lengths = setup(11, K=4)
    loss, de, grads = layer.loss(e, tags, lengths)
    assert set(grads) == set(P)
    # zero transition scores: the CRF is a per-token softmax
    from seqcli.nn.functional import softmax
    real = np.arange(T)[:, None] < lengths
    np.testing.assert_allclose(layer.marginals(e, lengths), softmax(e, axis=1) * real[:, None], atol=1e-12)
