"""GroupedLinearRegression against per-partition numpy and statsmodels fits."""

import warnings

import numpy as np
import pytest
import statsmodels.api as sm
from sklearn.utils.estimator_checks import parametrize_with_checks

from skbigreg.exceptions import CollinearityWarning
from skbigreg.linear_model import GroupedLinearRegression


def _data(seed=0, n=900, k=3, n_parts=6):
    rng = np.random.default_rng(seed)
    parts = rng.integers(0, n_parts, size=n)
    X = rng.normal(size=(n, k)) + 5.0
    slopes = rng.normal(size=(n_parts, k))
    y = 2.0 + np.einsum("nk,nk->n", X, slopes[parts]) + rng.normal(size=n)
    return X, y, rng.uniform(0.5, 2.0, n), parts


def _lstsq(X, y, w, fit_intercept=True):
    A = np.column_stack([np.ones(len(X)), X]) if fit_intercept else X
    root = np.sqrt(w)
    return np.linalg.lstsq(A * root[:, None], y * root, rcond=None)[0]


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_every_partition_equals_its_own_fit(fit_intercept):
    X, y, w, parts = _data()
    est = GroupedLinearRegression(fit_intercept=fit_intercept)
    for start in range(0, len(X), 128):
        sl = slice(start, start + 128)
        est.partial_fit(X[sl], y[sl], w[sl], partitions=parts[sl])
    np.testing.assert_array_equal(est.partitions_, np.arange(6))
    for label in est.partitions_:
        rows = parts == label
        expected = _lstsq(X[rows], y[rows], w[rows], fit_intercept)
        got = est.partition_coef_[label]
        if fit_intercept:
            assert est.partition_intercept_[label] == pytest.approx(expected[0], rel=1e-9)
            expected = expected[1:]
        np.testing.assert_allclose(got, expected, rtol=1e-9)
    np.testing.assert_allclose(est.coef_, _lstsq(X, y, w, fit_intercept)[int(fit_intercept):], rtol=1e-9)


def test_multi_output_partitions():
    X, y, _w, parts = _data()
    Y = np.column_stack([y, -2 * y + X[:, 0]])
    est = GroupedLinearRegression().fit(X, Y, partitions=parts)
    assert est.partition_coef_.shape == (6, 2, 3)
    rows = parts == 2
    np.testing.assert_allclose(est.partition_coef_[2, 1], _lstsq(X[rows], Y[rows, 1], np.ones(rows.sum()))[1:], rtol=1e-9)


def test_subset_is_the_union_fit_with_inference():
    X, y, w, parts = _data()
    est = GroupedLinearRegression().fit(X, y, w, partitions=parts)
    rows = np.isin(parts, [1, 4])
    union = est.subset([4, 1])
    ref = sm.WLS(y[rows], sm.add_constant(X[rows]), weights=w[rows]).fit()
    res = union.results()
    np.testing.assert_allclose(res.params, ref.params, rtol=1e-9)
    np.testing.assert_allclose(res.bse, ref.bse, rtol=1e-8)
    assert union.n_samples_seen_ == rows.sum()
    with pytest.raises(ValueError, match="Unknown partitions"):
        est.subset([1, 99])


def test_predict_per_partition():
    X, y, _w, parts = _data()
    est = GroupedLinearRegression().fit(X, y, partitions=parts)
    pred = est.predict(X[:50], partitions=parts[:50])
    expected = [
        est.partition_intercept_[p] + X[i] @ est.partition_coef_[p]
        for i, p in enumerate(parts[:50])
    ]
    np.testing.assert_allclose(pred, expected, rtol=1e-12)
    with pytest.raises(ValueError, match="not seen"):
        est.predict(X[:2], partitions=[0, 77])


def test_singleton_and_identical_rows_partitions_are_flagged():
    X, y, _w, parts = _data()
    X = np.vstack([X, X[:1], np.repeat(X[1:2], 5, axis=0)])
    y = np.concatenate([y, y[:1], np.repeat(y[1:2], 5)])
    parts = np.concatenate([parts, [10], [11] * 5])
    with pytest.warns(CollinearityWarning, match="2 of 8 partitions"):
        est = GroupedLinearRegression().fit(X, y, partitions=parts)
    np.testing.assert_array_equal(est.rank_deficient_, [10, 11])
    assert np.isnan(est.partition_coef_[-2:]).all()
    assert np.isfinite(est.partition_coef_[:-2]).all()
    assert np.isfinite(est.coef_).all()


def test_failed_chunk_leaves_state():
    X, y, _w, parts = _data()
    est = GroupedLinearRegression().fit(X, y, partitions=parts)
    before = dict(vars(est))
    with pytest.raises(ValueError, match="partitions has shape"):
        est.partial_fit(X[:5], y[:5], partitions=parts[:4])
    assert all(vars(est)[key] is before[key] for key in before) and vars(est).keys() == before.keys()


@parametrize_with_checks([GroupedLinearRegression(), GroupedLinearRegression(fit_intercept=False)])
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CollinearityWarning)
        check(estimator)
