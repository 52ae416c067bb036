"""Cluster bootstrap from cluster statistics against a row-level bootstrap and CRV1."""

import time

import numpy as np
import pandas as pd
import pytest

from skbigreg.exceptions import MissingPassError
from skbigreg.inference import cluster_bootstrap, resample_clusters
from skbigreg.linear_model import (
    CumulativeFixedEffectsRegression,
    CumulativeIVRegression,
    CumulativeLinearRegression,
)


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


# -- absorbed fixed effects: the within transformation of each resample ------------------
def _panel(seed=0, n_clusters=30, persons_per_cluster=4, periods=6):
    """Persons nested in clusters (e.g. regions), rows shuffled; one endogenous regressor."""
    rng = np.random.default_rng(seed)
    n_persons = n_clusters * persons_per_cluster
    person = np.repeat(np.arange(n_persons), periods)
    cluster = person // persons_per_cluster * 7 % n_clusters  # clusters not in person order
    effect = rng.normal(size=n_persons)[person] * 2
    shock = rng.normal(size=n_clusters)[cluster]
    z1, z2, u = rng.normal(size=(3, len(person)))
    exog = rng.normal(size=len(person)) + effect + 20.0
    x = z1 + 0.5 * z2 + u + effect + shock
    y = 1.5 * x - 0.7 * exog + effect + shock + u + rng.normal(size=len(person))
    order = rng.permutation(len(person))
    X = np.column_stack([exog, x, z1, z2])[order]
    return X, y[order], rng.uniform(0.5, 2.0, len(person)), person[order], cluster[order]


def _demean(Z, w, levels):
    """Rows minus their level's weighted means (numpy, rows at hand)."""
    codes = np.unique(levels, return_inverse=True)[1].reshape(-1)
    weight = np.bincount(codes, weights=w)
    means = np.column_stack([np.bincount(codes, weights=w * col) for col in Z.T]) / weight[:, None]
    return Z - means[codes]


def _row_level_within(X, y, w, person, cluster, indices, endogenous=None, instruments=None):
    """Rebuild each resample's rows, relabel each draw's persons, demean and solve."""
    labels = np.unique(cluster)
    rows_of = [np.flatnonzero(cluster == label) for label in labels]
    out = []
    for draw in indices:
        rows = np.concatenate([rows_of[i] for i in draw])
        copy = np.concatenate([np.full(len(rows_of[i]), j) for j, i in enumerate(draw)])
        relabelled = copy * (person.max() + 1) + person[rows]  # a person drawn twice is two
        Z = _demean(np.column_stack([X[rows], y[rows]]), w[rows], relabelled)
        root = np.sqrt(w[rows])[:, None]
        Z = Z * root
        if endogenous is None:
            out.append(np.linalg.lstsq(Z[:, :-1], Z[:, -1], rcond=None)[0])
            continue
        regressors = [c for c in range(X.shape[1]) if c not in instruments]
        exogenous = [c for c in regressors if c not in endogenous]
        inst = Z[:, exogenous + list(instruments)]
        fitted = inst @ np.linalg.lstsq(inst, Z[:, regressors], rcond=None)[0]
        out.append(np.linalg.solve(fitted.T @ Z[:, regressors], fitted.T @ Z[:, -1]))
    return np.asarray(out)


def test_fixed_effects_equals_row_level_within_bootstrap():
    X, y, w, person, cluster = _panel()
    X = X[:, :2]
    est = CumulativeFixedEffectsRegression().fit(X, y, w, entities=person, clusters=cluster)
    indices = resample_clusters(30, n_resamples=40, random_state=0)
    boot = cluster_bootstrap(est, indices=indices)
    expected = _row_level_within(X, y, w, person, cluster, indices)
    np.testing.assert_allclose(boot.replicates, expected, rtol=1e-10)
    assert list(boot.params.index) == ["x0", "x1"]


def test_iv_fixed_effects_equals_row_level_within_2sls_and_pyfixest():
    pf = pytest.importorskip("pyfixest")
    X, y, w, person, cluster = _panel(seed=1)
    est = CumulativeIVRegression(endogenous=[1], instruments=[2, 3]).fit(
        X, y, w, entities=person, clusters=cluster)
    indices = resample_clusters(30, n_resamples=40, random_state=1)
    boot = cluster_bootstrap(est, indices=indices)
    expected = _row_level_within(X, y, w, person, cluster, indices, [1], [2, 3])
    np.testing.assert_allclose(boot.replicates, expected, rtol=1e-10)
    # one resample through pyfixest, persons relabelled per draw
    rows_of = [np.flatnonzero(cluster == label) for label in np.unique(cluster)]
    draw = indices[0]
    rows = np.concatenate([rows_of[i] for i in draw])
    copy = np.concatenate([np.full(len(rows_of[i]), j) for j, i in enumerate(draw)])
    data = pd.DataFrame(X[rows], columns=["exog", "x", "z1", "z2"]).assign(
        y=y[rows], w=w[rows], fe=copy * 10_000 + person[rows])
    ref = pf.feols("y ~ exog | fe | x ~ z1 + z2", data, weights="w")
    np.testing.assert_allclose(boot.replicates[0], ref.coef()[["exog", "x"]], rtol=1e-8)


@pytest.mark.parametrize("estimator", [
    lambda: CumulativeFixedEffectsRegression(),
    lambda: CumulativeIVRegression(endogenous=[1], instruments=[2, 3]),
])
def test_within_bootstrap_is_the_same_on_sorted_and_chunked_rows(estimator):
    X, y, w, person, cluster = _panel(seed=2)
    unsorted = estimator().fit(X, y, w, entities=person, clusters=cluster)
    order = np.lexsort([person, cluster])
    chunks = [{"X": X[order][i:i + 50], "y": y[order][i:i + 50],
               "sample_weight": w[order][i:i + 50], "entities": person[order][i:i + 50],
               "clusters": cluster[order][i:i + 50]} for i in range(0, len(y), 50)]
    sorted_ = estimator().fit_chunks(chunks)
    a = cluster_bootstrap(unsorted, n_resamples=50, random_state=3)
    b = cluster_bootstrap(sorted_, n_resamples=50, random_state=3)
    np.testing.assert_allclose(a.replicates, b.replicates, rtol=1e-10)


def test_within_bootstrap_refuses_levels_cutting_across_clusters():
    X, y, w, person, _cluster = _panel(seed=3)
    periods = np.arange(len(y)) % 6  # every person is in every period
    est = CumulativeFixedEffectsRegression().fit(X[:, :2], y, entities=person, clusters=periods)
    with pytest.raises(ValueError, match="cut across clusters"):
        cluster_bootstrap(est, n_resamples=10, random_state=0)


def test_within_bootstrap_agrees_with_crv1_within_monte_carlo_error():
    X, y, _w, person, cluster = _panel(seed=4, n_clusters=200, persons_per_cluster=3, periods=4)
    est = CumulativeFixedEffectsRegression().fit(X[:, :2], y, entities=person, clusters=cluster)
    boot = cluster_bootstrap(est, n_resamples=999, random_state=0)
    # sd of a bootstrap sd is about sd / sqrt(2B): ~2.2% at B = 999; allow 4.5 of those.
    np.testing.assert_allclose(boot.bse, est.results("cluster").bse, rtol=0.1)


def test_within_estimator_without_entities_bootstraps_as_least_squares():
    X, y, w, g = _clustered()
    fe = CumulativeFixedEffectsRegression().fit(X, y, w, clusters=g)
    ols = CumulativeLinearRegression().fit(X, y, w, clusters=g)
    indices = resample_clusters(60, n_resamples=20, random_state=2)
    np.testing.assert_allclose(cluster_bootstrap(fe, indices=indices).replicates,
                               _row_level(X, y, w, g, indices)[:, 1:], rtol=1e-10)
    assert cluster_bootstrap(ols, indices=indices).replicates.shape == (20, 3)
