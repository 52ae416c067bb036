"""A scipy.sparse y is refused by every estimator, as scikit-learn refuses it.

scikit-learn's ``LinearRegression`` (and Ridge, Lasso, ...) accepts a sparse
X but raises a ``TypeError`` for a sparse y ("Sparse data was passed, but
dense data is required"; its CV estimators add "for y"). Every skbigreg
estimator raises that ``TypeError``, always with the message that names y,
through ``fit``, ``partial_fit`` and ``fit_chunks``, and a refused call leaves
a fitted estimator exactly as it was. The oracle for the error type and
wording is scikit-learn, raised in the test.
"""

import re

import numpy as np
import pytest
from scipy import sparse
from sklearn.linear_model import LassoCV, LinearRegression
from test_contract import CASES, IDS, _case_chunks, _fitted, _labels, _partial_fit, _state

SPARSE_TARGETS = {
    "csr-column": lambda y: sparse.csr_array(y[:, None]),
    "csc-matrix-column": lambda y: sparse.csc_matrix(y[:, None]),
    "coo-row": lambda y: sparse.coo_array(y[None, :]),
}


def _sklearn_message():
    """scikit-learn's message for a sparse y, from the estimator that names y."""
    X = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.raises(TypeError) as error:
        LassoCV(cv=2).fit(X, sparse.csr_array(X[:, :1]))
    return str(error.value)


SKLEARN_MESSAGE = _sklearn_message()


def test_scikit_learn_refuses_a_sparse_y_and_its_cv_message_names_it():
    X = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.raises(TypeError, match="Sparse data was passed"):
        LinearRegression().fit(X, sparse.csr_array(X[:, :1]))
    assert "Sparse data was passed for y" in SKLEARN_MESSAGE


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_sparse_y_is_refused_and_the_fit_kept(case, kind="csr-column"):
    est, (X, y, w, g) = _fitted(case)
    before = _state(est)
    sparse_y = SPARSE_TARGETS[kind](y)
    labels = _labels(case, g)
    match = re.escape(SKLEARN_MESSAGE)
    with pytest.raises(TypeError, match=match):
        est.fit(X, sparse_y, sample_weight=w, **labels)
    assert _state(est) == before
    if case.partial_fit:
        with pytest.raises(TypeError, match=match):
            _partial_fit(case, est, X, sparse_y, w, labels)
        assert _state(est) == before
    chunks = _case_chunks(case, X, y, w, g, [0, 100, 200])
    chunks[1]["y"] = SPARSE_TARGETS[kind](chunks[1]["y"])
    with pytest.raises(TypeError, match=match):
        est.fit_chunks(chunks)
    assert _state(est) == before


@pytest.mark.parametrize("kind", list(SPARSE_TARGETS))
def test_sparse_y_with_sparse_X_is_refused_like_scikit_learn(kind):
    """Both libraries refuse it with a TypeError, for any layout; ours names y."""
    from skbigreg.linear_model import CumulativeLinearRegression

    rng = np.random.default_rng(1)
    X = sparse.random_array((30, 4), density=0.4, format="csr", rng=rng)
    y = rng.normal(size=30)
    with pytest.raises(TypeError) as theirs:
        LinearRegression().fit(X, SPARSE_TARGETS["csr-column"](y))
    with pytest.raises(TypeError) as ours:
        CumulativeLinearRegression().fit(X, SPARSE_TARGETS[kind](y))
    assert str(ours.value) == SKLEARN_MESSAGE
    assert str(theirs.value) == SKLEARN_MESSAGE.replace(" for y", "")
