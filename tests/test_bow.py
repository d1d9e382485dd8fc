"""The bag-of-words classifier: BowNet gradients, BowClassifier as a scikit-learn estimator,
accuracy against scikit-learn's LogisticRegression, saved models predicting like live ones."""

import csv

import numpy as np
from gradcheck import numeric_grad, rel_error
import pytest

from conftest import RT_POLARITY, separable_rows
from seqcli import models
from seqcli.estimators import BowClassifier
from seqcli.tasks.classify import class_weights, take_rows
from seqcli.nn.bownet import BowNet


# ---------------------------------------------------------------------------------- gradient check


def random_rows(rng, m, n_x, density=0.4, empty=(1,)):
    """A CSR triple with m rows over n_x columns; rows listed in ``empty`` have no entries,
    and row 0 holds a repeated column (duplicates must add up)."""
    indptr, indices, data = [0], [], []
    for i in range(m):
        if i in empty:
            cols = []
        else:
            cols = sorted(rng.choice(n_x, size=max(1, int(density * n_x)), replace=False).tolist())
            if i == 0:
                cols = cols + [cols[0]]
        indices += cols
        data += rng.uniform(0.1, 2.0, size=len(cols)).tolist()
        indptr.append(len(indices))
    return (np.array(indptr, dtype=np.int64), np.array(indices, dtype=np.int32),
            np.array(data, dtype=np.float64))


@pytest.mark.parametrize("n_y,weighted", [(2, False), (3, False), (3, True), (4, True)])
def test_bownet_gradients_match_central_differences(n_y, weighted):
    rng = np.random.default_rng(n_y)
    m, n_x = 7, 6
    net = BowNet(n_x, n_y, dtype=np.float64)
    net.params["W"][...] = rng.standard_normal((n_y, n_x))
    net.params["b"][...] = rng.standard_normal((n_y, 1))
    rows = random_rows(rng, m, n_x)
    y = rng.integers(0, n_y, size=m)
    w = rng.uniform(0.2, 3.0, size=m) if weighted else None
    loss, grads = net.loss(rows, y, w)
    assert set(grads) == set(net.params)
    for name in ("W", "b"):
        assert grads[name].shape == net.params[name].shape
        num = numeric_grad(lambda: net.loss(rows, y, w)[0], net.params[name])
        assert rel_error(num, grads[name]) <= 1e-6, name


def test_bownet_loss_is_weighted_mean_cross_entropy():
    rng = np.random.default_rng(5)
    net = BowNet(4, 3, dtype=np.float64)
    net.params["W"][...] = rng.standard_normal((3, 4))
    rows = random_rows(rng, 5, 4, empty=())
    y = np.array([0, 1, 2, 1, 0])
    X = np.zeros((5, 4))
    for i in range(5):
        for k in range(rows[0][i], rows[0][i + 1]):
            X[i, rows[1][k]] += rows[2][k]
    logits = X @ net.params["W"].T + net.params["b"].T
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    per_row = -logp[np.arange(5), y]
    w = np.array([1.0, 2.0, 0.5, 1.0, 3.0])
    assert net.loss(rows, y)[0] == pytest.approx(per_row.mean(), rel=1e-12)
    assert net.loss(rows, y, w)[0] == pytest.approx((w * per_row).sum() / w.sum(), rel=1e-12)
    np.testing.assert_allclose(net.predict_proba(rows).T, np.exp(logp), rtol=1e-12)


def test_balanced_class_weights_match_sklearn():
    from sklearn.utils.class_weight import compute_sample_weight

    y = np.array([0, 0, 0, 1, 2, 2, 0, 1, 0])
    np.testing.assert_allclose(class_weights(y, 3), compute_sample_weight("balanced", y), rtol=1e-6)


# -------------------------------------------------------------------------------------- take_rows

@pytest.mark.parametrize("idx", [[3, 0, 0, 7, 2], [], [5], list(range(9))[::-1]])
def test_take_rows_equals_scipy_row_slicing(idx):
    from scipy.sparse import random as sparse_random

    X = sparse_random(9, 12, density=0.3, format="csr", random_state=0, dtype=np.float32)
    X = X.tolil()
    X[4, :] = 0  # an empty row
    X = X.tocsr()
    X.sort_indices()
    idx = np.array(idx, dtype=np.int64)
    indptr, indices, data = take_rows(X.indptr, X.indices, X.data, idx)
    want = X[idx]
    np.testing.assert_array_equal(indptr, want.indptr)
    np.testing.assert_array_equal(indices, want.indices)
    np.testing.assert_array_equal(data, want.data)


# ----------------------------------------------------------------------- the estimator contract

def _texts_labels(n=90, seed=0, classes=("pos", "neg")):
    rows = separable_rows(n, seed=seed, classes=classes)
    return [t for t, _ in rows], [y for _, y in rows]


def test_multiclass_fit_predict():
    X, y = _texts_labels(120, classes=("pos", "neg", "colour"))
    X_test, y_test = _texts_labels(60, seed=1, classes=("pos", "neg", "colour"))
    est = BowClassifier(epochs=15, lr=0.1, seed=0).fit(X, y)
    assert est.classes_.tolist() == ["colour", "neg", "pos"]
    proba = est.predict_proba(X_test)
    assert proba.shape == (60, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-5)
    pred = est.predict(X_test)
    assert (pred == np.array(y_test)).mean() >= 0.95
    assert np.array_equal(pred, est.classes_[proba.argmax(axis=1)])


def test_clone_copies_hyperparameters_not_fitted_state():
    from sklearn.base import clone

    est = BowClassifier(ngram_max=2, epochs=3, lr=0.05, class_weight="balanced", seed=4)
    est.fit(*_texts_labels(40))
    twin = clone(est)
    assert twin is not est
    assert twin.get_params() == est.get_params()
    assert not hasattr(twin, "model_") and not hasattr(twin, "classes_")
    assert twin.set_params(epochs=7).epochs == 7


def test_cross_val_score_works():
    from sklearn.model_selection import cross_val_score

    X, y = _texts_labels(90)
    scores = cross_val_score(BowClassifier(epochs=5, lr=0.1), X, y, cv=3)
    assert scores.shape == (3,)
    assert np.all(np.isfinite(scores)) and scores.min() >= 0.9


def test_integer_labels_come_back_as_integers():
    # scikit-learn's rule: predict returns labels of the type fit was given (classes_ likewise),
    # otherwise score() compares 0 with "0" and cross_val_score gives nan.
    from sklearn.model_selection import cross_val_score

    X, y = _texts_labels(90)
    y_int = np.array([1 if v == "pos" else 0 for v in y])
    est = BowClassifier(epochs=5, lr=0.1).fit(X, y_int)
    assert est.predict(X[:3]).tolist() == y_int[:3].tolist()
    scores = cross_val_score(BowClassifier(epochs=5, lr=0.1), X, y_int, cv=3)
    assert np.all(np.isfinite(scores)), scores


def test_same_seed_same_weights_and_different_seed_differs():
    X, y = _texts_labels(60)
    a = BowClassifier(epochs=3, seed=1).fit(X, y).model_.net.params["W"]
    b = BowClassifier(epochs=3, seed=1).fit(X, y).model_.net.params["W"]
    c = BowClassifier(epochs=3, seed=2).fit(X, y).model_.net.params["W"]
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


# ------------------------------------------------------------------------------ save and load

def test_saved_then_loaded_model_gives_identical_probabilities(tmp_path):
    X, y = _texts_labels(80)
    est = BowClassifier(ngram_max=2, epochs=4, seed=0).fit(X, y)
    probe = X[:10] + ["", "unknown words only", "good", "the film was bad and bad and bad"]
    live = est.predict_proba(probe)
    path = tmp_path / "m.npz"
    models.save(path, est.model_)
    loaded = models.load(path, {"bow"})
    assert loaded.classes == est.classes_.tolist()
    np.testing.assert_array_equal(loaded.predict_proba(probe), live)
    assert loaded.header["kind"] == "bow"


def test_load_without_kinds_accepts_a_bow_model(tmp_path):
    X, y = _texts_labels(40)
    est = BowClassifier(epochs=2).fit(X, y)
    path = tmp_path / "m.npz"
    models.save(path, est.model_)
    loaded = models.load(path)  # default kinds: every model kind seqcli knows
    np.testing.assert_array_equal(loaded.predict_proba(X[:5]), est.predict_proba(X[:5]))


# ---------------------------------------------------------------------- accuracy against sklearn

@pytest.mark.skipif(not RT_POLARITY.exists(), reason="rt-polarity.csv not available")
def test_accuracy_within_one_point_of_sklearn_logistic_regression():
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    from seqcli.config import VectorizerConfig
    from seqcli.features import Vectorizer

    with open(RT_POLARITY, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    texts = [r["text"] for r in rows]
    labels = np.array([r["label"] for r in rows])
    X_tr, X_te, y_tr, y_te = train_test_split(texts, labels, test_size=0.1, random_state=0,
                                              stratify=labels)

    est = BowClassifier(ngram_min=1, ngram_max=2, mode="tfidf", seed=0).fit(X_tr, y_tr)
    ours = float((est.predict(X_te) == y_te).mean())

    # the same features (unigrams + bigrams, sublinear tf-idf as BowClassifier uses) for sklearn
    vec = Vectorizer(VectorizerConfig(ngram_min=1, ngram_max=2, mode="tfidf", sublinear_tf=True))
    A = vec.fit(X_tr).transform(X_tr).to_scipy()
    B = vec.transform(X_te).to_scipy()
    # our L2 penalty is weight_decay * |W|^2 / 2 on the mean loss; sklearn's is |W|^2 / (2 C) on
    # the summed loss: C = 1 / (weight_decay * n) with n the rows BowClassifier trained on
    n_fit = len(X_tr) - int(np.ceil(0.1 * len(X_tr)))
    sk = LogisticRegression(C=1.0 / (1e-5 * n_fit), max_iter=2000).fit(A, y_tr)
    theirs = float((sk.predict(B) == y_te).mean())
    assert abs(ours - theirs) <= 0.01, (ours, theirs)
    assert ours >= 0.75, ours
    print(f"rt-polarity 90/10: BowClassifier {ours:.4f}, LogisticRegression {theirs:.4f}")
