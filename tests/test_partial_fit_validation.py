"""The cheap validation of later partial_fit chunks: the same answers and errors.

After the first chunk, a float64 numpy chunk of the fitted width with a
finite y is taken as it is (scikit-learn's ``validate_data`` would return it
unchanged); any other chunk goes through ``validate_data``, so its errors and
warnings are scikit-learn's own.
"""

import numpy as np
import pandas as pd
import pytest

import skbigreg.base._rows as rows
from skbigreg.linear_model import CumulativeLinearRegression, CumulativeRidge


def _data(n=300, k=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, k))
    return X, X @ rng.normal(size=k) + rng.normal(size=n)


@pytest.fixture
def counted(monkeypatch):
    calls = []
    real = rows.validate_data

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(rows, "validate_data", counting)
    return calls


@pytest.mark.parametrize("make", [CumulativeLinearRegression, lambda: CumulativeRidge(alpha=0.5)])
def test_plain_chunks_skip_validate_data_and_fit_the_same(counted, make):
    X, y = _data()
    w = np.linspace(0.5, 2.0, len(X))
    loop = make()
    for s in range(0, len(X), 50):
        loop.partial_fit(X[s:s + 50], y[s:s + 50], sample_weight=w[s:s + 50])
    assert len(counted) == 1  # the first chunk only
    full = make().fit(X, y, sample_weight=w)
    np.testing.assert_allclose(loop.coef_, full.coef_, rtol=1e-10)
    np.testing.assert_allclose(loop.intercept_, full.intercept_, rtol=1e-10)


def test_two_dimensional_y_keeps_its_shape(counted):
    X, y = _data()
    Y = np.column_stack([y, -y])
    loop = CumulativeLinearRegression().partial_fit(X[:100], Y[:100]).partial_fit(X[100:], Y[100:])
    assert len(counted) == 1
    np.testing.assert_allclose(loop.coef_, CumulativeLinearRegression().fit(X, Y).coef_, rtol=1e-10)


def _first(X, y):
    return CumulativeLinearRegression().partial_fit(X[:100], y[:100])


@pytest.mark.parametrize("bad, message", [
    (lambda X, y: (X, np.where(np.arange(len(y)) == 3, np.nan, y)), "Input y contains NaN"),
    (lambda X, y: (X, np.where(np.arange(len(y)) == 3, np.inf, y)), "Input y contains infinity"),
    (lambda X, y: (X[:, :3], y), "X has 3 features"),
    (lambda X, y: (X, y[:-1]), "inconsistent numbers of samples"),
    (lambda X, y: (X[:, 0], y), "Expected 2D array"),
    (lambda X, y: (X.astype(str).astype(object), y), None),  # converted, then fitted
])
def test_later_chunks_still_get_scikit_learns_checks(bad, message):
    X, y = _data()
    est = _first(X, y)
    before = {k: v for k, v in vars(est).items()}
    Xb, yb = bad(X[100:], y[100:])
    if message is None:
        est.partial_fit(Xb, yb)
        assert est.n_samples_seen_ == len(X)
        return
    with pytest.raises(ValueError, match=message):
        est.partial_fit(Xb, yb)
    assert vars(est).keys() == before.keys() and est.n_samples_seen_ == 100


def test_a_nan_in_x_is_still_refused():
    X, y = _data()
    est = _first(X, y)
    X_bad = X[100:].copy()
    X_bad[5, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        est.partial_fit(X_bad, y[100:])
    assert est.n_samples_seen_ == 100


def test_feature_names_still_checked_and_warned():
    X, y = _data()
    frame = pd.DataFrame(X, columns=list("abcd"))
    est = CumulativeLinearRegression().partial_fit(frame[:100], y[:100])
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        est.partial_fit(X[100:200], y[100:200])
    with pytest.raises(ValueError, match="feature names"):
        est.partial_fit(frame[200:].rename(columns={"a": "z"}), y[200:])
