"""Cluster bootstrap from cluster statistics against a row-level bootstrap and CRV1."""

import time

import numpy as np
import pytest

from skbigreg.exceptions import MissingPassError
from skbigreg.inference import cluster_bootstrap, resample_clusters
from skbigreg.linear_model import CumulativeIVRegression, CumulativeLinearRegression


def _clustered(seed=0, n_clusters=60, size=25, k=2):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_clusters), size)
    rng.shuffle(g)
    X = rng.normal(size=(len(g), k)) + rng.normal(size=(n_clusters, k))[g] + 10.0
    y = 1.0 + X @ np.arange(1.0, k + 1) + rng.normal(size=n_clusters)[g] + rng.normal(size=len(g))
    return X, y, rng.uniform(0.5, 2.0, len(g)), g


def _row_level(X, y, w, g, indices, fit_intercept=True):
    """Refit on the rows of the resampled clusters (the textbook pairs cluster bootstrap)."""
    labels = np.unique(g)
    rows_of = [np.flatnonzero(g == label) for label in labels]
    out = []
    for draw in indices:
        rows = np.concatenate([rows_of[i] for i in draw])
        A = np.column_stack([np.ones(len(rows)), X[rows]]) if fit_intercept else X[rows]
        root = np.sqrt(w[rows])
        out.append(np.linalg.lstsq(A * root[:, None], y[rows] * root, rcond=None)[0])
    return np.asarray(out)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_equals_row_level_bootstrap_with_same_indices(fit_intercept):
    X, y, w, g = _clustered()
    est = CumulativeLinearRegression(fit_intercept=fit_intercept).fit(X, y, w, clusters=g)
    indices = resample_clusters(60, n_resamples=50, random_state=1)
    boot = cluster_bootstrap(est, indices=indices)
    expected = _row_level(X, y, w, g, indices, fit_intercept)
    np.testing.assert_allclose(boot.replicates, expected, rtol=1e-10)


def test_iv_equals_row_level_2sls_with_same_indices():
    rng = np.random.default_rng(3)
    n_clusters, size = 40, 30
    g = np.repeat(np.arange(n_clusters), size)
    z = rng.normal(size=(len(g), 2))
    u = rng.normal(size=len(g)) + rng.normal(size=n_clusters)[g]
    x = z @ [1.0, 0.5] + u
    y = 1.0 + 2.0 * x + u
    X = np.column_stack([x, z])
    est = CumulativeIVRegression(endogenous=[0], instruments=[1, 2]).fit(X, y, clusters=g)
    indices = resample_clusters(n_clusters, 30, random_state=0)
    boot = cluster_bootstrap(est, indices=indices)
    for draw, params in zip(indices, boot.replicates):
        rows = np.concatenate([np.flatnonzero(g == i) for i in draw])
        Z = np.column_stack([np.ones(len(rows)), z[rows]])
        Xr = np.column_stack([np.ones(len(rows)), x[rows]])
        x_hat = Z @ np.linalg.lstsq(Z, Xr, rcond=None)[0]
        expected = np.linalg.solve(x_hat.T @ Xr, x_hat.T @ y[rows])
        np.testing.assert_allclose(params, expected, rtol=1e-10)


def test_seeded_and_reproducible():
    X, y, _w, g = _clustered()
    est = CumulativeLinearRegression().fit(X, y, clusters=g)
    a = cluster_bootstrap(est, n_resamples=100, random_state=7)
    b = cluster_bootstrap(est, n_resamples=100, random_state=7)
    c = cluster_bootstrap(est, n_resamples=100, random_state=8)
    np.testing.assert_array_equal(a.replicates, b.replicates)
    assert not np.array_equal(a.replicates, c.replicates)
    np.testing.assert_array_equal(a.indices, resample_clusters(60, 100, random_state=7))


def test_agrees_with_crv1_within_monte_carlo_error():
    X, y, _w, g = _clustered(seed=5, n_clusters=300, size=10)
    est = CumulativeLinearRegression().fit(X, y, clusters=g)
    boot = cluster_bootstrap(est, n_resamples=999, random_state=0)
    crv1 = est.results("cluster").bse
    # sd of a bootstrap sd is about sd / sqrt(2B): ~2.2% at B = 999; allow 4.5 of those.
    np.testing.assert_allclose(boot.bse, crv1, rtol=0.1)
    low, high = boot.conf_int(0.05).to_numpy().T
    expected = np.quantile(boot.replicates, [0.025, 0.975], axis=0)
    np.testing.assert_allclose([low, high], expected)
    assert np.all(low < est.results().params) and np.all(est.results().params < high)


def test_b999_is_fast_without_rows():
    rng = np.random.default_rng(0)
    n, n_clusters = 200_000, 1_000
    g = rng.integers(0, n_clusters, n)
    X = rng.normal(size=(n, 5))
    y = X.sum(axis=1) + rng.normal(size=n)
    est = CumulativeLinearRegression().fit(X, y, clusters=g)
    start = time.perf_counter()
    boot = cluster_bootstrap(est, n_resamples=999, random_state=0)
    elapsed = time.perf_counter() - start
    assert boot.replicates.shape == (999, 6) and boot.n_failed == 0
    assert elapsed < 5.0


def test_needs_clusters():
    X, y, _w, _g = _clustered()
    with pytest.raises(MissingPassError, match="clusters="):
        cluster_bootstrap(CumulativeLinearRegression().fit(X, y))
