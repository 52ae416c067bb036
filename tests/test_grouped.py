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


# -- fit_chunks: partitions from the chunks' labels, solved once ----------------------
def _chunks(X, y, w, parts, size=128):
    return [{"X": X[i:i + size], "y": y[i:i + size],
             "sample_weight": None if w is None else w[i:i + size],
             "partitions": parts[i:i + size]} for i in range(0, len(X), size)]


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_fit_chunks_equals_fit_and_each_partitions_own_fit(fit_intercept):
    X, y, w, parts = _data()
    est = GroupedLinearRegression(fit_intercept=fit_intercept).fit_chunks(_chunks(X, y, w, parts))
    one_shot = GroupedLinearRegression(fit_intercept=fit_intercept).fit(X, y, w, partitions=parts)
    for name in ["coef_", "intercept_", "partition_coef_", "partition_intercept_"]:
        np.testing.assert_allclose(getattr(est, name), getattr(one_shot, name), rtol=1e-10,
                                   atol=1e-12)
    np.testing.assert_array_equal(est.partitions_, np.arange(6))
    assert est.n_samples_seen_ == len(X)
    for label in est.partitions_:  # against an independent weighted least squares
        rows = parts == label
        ref = sm.WLS(y[rows], sm.add_constant(X[rows]) if fit_intercept else X[rows],
                     weights=w[rows]).fit().params
        np.testing.assert_allclose(est.partition_coef_[label], ref[int(fit_intercept):], rtol=1e-9)


def test_fit_chunks_multi_output_and_dataframes():
    pd = pytest.importorskip("pandas")
    X, y, _w, parts = _data()
    Y = np.column_stack([y, -2 * y + X[:, 0]])
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    chunks = [{"X": frame.iloc[i:i + 200], "y": Y[i:i + 200], "partitions": parts[i:i + 200]}
              for i in range(0, len(X), 200)]
    est = GroupedLinearRegression().fit_chunks(chunks)
    one_shot = GroupedLinearRegression().fit(frame, Y, partitions=parts)
    np.testing.assert_allclose(est.partition_coef_, one_shot.partition_coef_, rtol=1e-10)
    assert est.partition_coef_.shape == (6, 2, 3)
    assert list(est.feature_names_in_) == ["a", "b", "c"]


def test_fit_chunks_warns_only_of_partitions_deficient_in_all_rows():
    # partition 7's rows arrive one per chunk: every chunk alone is rank deficient
    # for it (partial_fit would warn at each step), all rows are not; 8 is a singleton
    X, y, w, parts = _data()
    parts = parts.copy()
    parts[::128] = 7
    parts[5] = 8
    with pytest.warns(CollinearityWarning, match="1 of 8 partitions") as caught:
        est = GroupedLinearRegression().fit_chunks(_chunks(X, y, w, parts))
    assert len(caught) == 1
    np.testing.assert_array_equal(est.rank_deficient_, [8])
    rows = parts == 7
    ref = sm.WLS(y[rows], sm.add_constant(X[rows]), weights=w[rows]).fit().params
    np.testing.assert_array_equal(est.partitions_, [0, 1, 2, 3, 4, 5, 7, 8])
    np.testing.assert_allclose(est.partition_coef_[6], ref[1:], rtol=1e-8)


def test_fit_chunks_rejects_bad_chunks_and_keeps_the_previous_fit():
    X, y, w, parts = _data()
    est = GroupedLinearRegression().fit_chunks(_chunks(X, y, w, parts))
    before = dict(vars(est))
    for bad, message in [
        ({"X": X[:9], "y": y[:9], "partitions": parts[:9], "clusters": parts[:9]}, "does not read"),
        ((X[:9], y[:9]), "partitions is missing"),
        ({"X": X[:9, :2], "y": y[:9], "partitions": parts[:9]}, "features"),
        ({"X": X[:9], "y": y[:9] * np.nan, "partitions": parts[:9]}, "NaN"),
    ]:
        with pytest.raises(ValueError, match=message):
            est.fit_chunks(_chunks(X, y, w, parts) + [bad])
        assert all(vars(est)[key] is before[key] for key in before)
        assert vars(est).keys() == before.keys()
    with pytest.raises(ValueError, match="no rows"):
        GroupedLinearRegression().fit_chunks([])
