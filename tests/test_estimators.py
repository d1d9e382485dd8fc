"""The scikit-learn estimators keep scikit-learn's rules: the API checks that apply to text estimators
pass, texts in, errors where scikit-learn raises them, class_weight as a dict, and the vectorizer in a
Pipeline."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.utils import estimator_checks as ec

from conftest import separable_rows
from seqcli.estimators import BowClassifier, SeqClassifier, TextVectorizer, TransformerClassifier

ESTIMATORS = [BowClassifier(epochs=3, lr=0.2), SeqClassifier(epochs=2, hidden=4, embed=4),
              TransformerClassifier(epochs=2, hidden=4), TextVectorizer(ngram_max=2)]
ROWS = separable_rows(60)
X, Y = [t for t, _ in ROWS], np.array([y for _, y in ROWS])

# the API checks of scikit-learn that do not feed numeric arrays (those are skipped for text input,
# as for scikit-learn's own CountVectorizer, by the input tags)
API_CHECKS = ["check_no_attributes_set_in_init", "check_parameters_default_constructible",
              "check_get_params_invariance", "check_set_params", "check_estimator_cloneable",
              "check_estimator_repr", "check_valid_tag_types", "check_estimator_tags_renamed",
              "check_do_not_raise_errors_in_init_or_set_params", "check_estimators_unfitted"]


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("check", API_CHECKS)
def test_scikit_learn_api_checks(estimator, check):
    if check == "check_estimators_unfitted" and isinstance(estimator, TextVectorizer):
        return  # a transformer: its unfitted transform is tested below
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        getattr(ec, check)(type(estimator).__name__, clone(estimator))


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_text_input_is_declared_so_numeric_checks_are_skipped(estimator):
    from sklearn.exceptions import SkipTestWarning

    with pytest.warns(SkipTestWarning, match="two_d_array=False.*string=True"):
        ec.check_estimator(clone(estimator), on_fail=None)


@pytest.mark.parametrize("cls", [BowClassifier, SeqClassifier, TransformerClassifier])
def test_classifier_rules(cls):
    est = cls(epochs=1)
    with pytest.raises(NotFittedError):
        est.predict(X[:2])
    with pytest.raises(ValueError, match="Unknown label type"):
        cls(epochs=1).fit(X, np.linspace(0, 1, len(X)))
    with pytest.raises(ValueError, match="1-D"):
        cls(epochs=1).fit(X, np.stack([Y, Y], axis=1))
    with pytest.raises(ValueError, match="1-D sequence of texts"):
        cls(epochs=1).fit(np.array(X).reshape(-1, 2), Y[::2])


def test_class_weight_as_a_dict_weighs_the_loss():
    plain = BowClassifier(epochs=3, lr=0.2, val_split=0).fit(X, Y)
    skewed = BowClassifier(epochs=3, lr=0.2, val_split=0, class_weight={"pos": 1000.0, "neg": 0.001}).fit(X, Y)
    assert skewed.predict_proba(X)[:, list(skewed.classes_).index("pos")].mean() > \
        plain.predict_proba(X)[:, list(plain.classes_).index("pos")].mean()
    with pytest.raises(ValueError, match="class_weight"):
        BowClassifier(class_weight=3).fit(X, Y)


def test_fitted_estimators_pickle_clone_and_cross_validate():
    est = BowClassifier(epochs=3, lr=0.2).fit(X, Y)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict_proba(X), est.predict_proba(X))
    assert not hasattr(clone(est), "model_")
    assert cross_val_score(BowClassifier(epochs=3, lr=0.2), X, Y, cv=3).mean() > 0.9


def test_the_vectorizer_stands_in_a_pipeline():
    pipe = make_pipeline(TextVectorizer(ngram_max=2, mode="tfidf"), LogisticRegression())
    pipe.fit(X, Y)
    assert (pipe.predict(X) == Y).mean() > 0.9
    names = pipe[0].get_feature_names_out()
    assert "film was" in set(names) and len(names) == pipe[0].transform(X[:1]).shape[1]
    with pytest.raises(NotFittedError):
        TextVectorizer().transform(X)
