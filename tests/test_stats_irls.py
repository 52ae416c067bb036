"""IRLSPass and ClusterSums: merge laws, and one pass against numpy (river-style)."""

import numpy as np
import pandas as pd
import pytest

from skbigreg.glm import get_family_link
from skbigreg.passes import irls_pass
from skbigreg.stats import ClusterSums, IRLSPass


def _poisson(seed=0, n=300):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = rng.poisson(np.exp(0.3 + X @ [0.4, -0.2])).astype(float)
    return X, y, rng.uniform(0.5, 2.0, n), rng.integers(0, 7, n)


def _pass(X, y, w, g, rows):
    family, link = get_family_link("poisson", None)
    return irls_pass(X[rows], y[rows], w[rows], np.array([0.3, -0.1]), 0.2, family, link,
                     True, g[rows])


def _assert_close(a, b, rtol=1e-12):
    assert a.gram.allclose(b.gram, rtol=rtol)
    assert a.deviance == pytest.approx(b.deviance, rel=rtol)
    assert a.pearson == pytest.approx(b.pearson, rel=rtol)
    np.testing.assert_allclose(a.meat.matrix, b.meat.matrix, rtol=rtol)
    np.testing.assert_allclose(a.observed.matrix, b.observed.matrix, rtol=rtol)
    np.testing.assert_array_equal(a.cluster_sums.labels, b.cluster_sums.labels)
    np.testing.assert_allclose(a.cluster_sums.sums, b.cluster_sums.sums, rtol=rtol, atol=1e-12)
    assert a.n_saturated == b.n_saturated


def test_pass_matches_numpy():
    """A Poisson/log pass (canonical: observed = expected information) from its formulas."""
    X, y, w, g = _poisson()
    stats = _pass(X, y, w, g, slice(None))
    U = np.column_stack([np.ones(len(X)), X])
    eta = 0.2 + X @ [0.3, -0.1]
    mu = np.exp(eta)
    W = w * mu
    z = eta + (y - mu) / mu
    np.testing.assert_allclose(stats.gram.mean, np.average(np.column_stack([X, z]), axis=0, weights=W))
    np.testing.assert_allclose(stats.gram.moments(center=False),
                               (np.column_stack([X, z]) * W[:, None]).T @ np.column_stack([X, z]),
                               rtol=1e-12)
    unit = 2 * (np.where(y > 0, y * np.log(np.where(y > 0, y, 1) / mu), 0.0) - (y - mu))
    assert stats.deviance == pytest.approx(w @ unit, rel=1e-12)
    assert stats.pearson == pytest.approx(w @ ((y - mu) ** 2 / mu), rel=1e-12)
    scores = U * (w * (y - mu))[:, None]
    np.testing.assert_allclose(stats.meat.matrix, scores.T @ scores, rtol=1e-12)
    np.testing.assert_allclose(stats.observed.matrix, (U * W[:, None]).T @ U, rtol=1e-9)
    by_cluster = pd.DataFrame(scores).groupby(g).sum()
    np.testing.assert_array_equal(stats.cluster_sums.labels, by_cluster.index)
    np.testing.assert_allclose(stats.cluster_sums.sums, by_cluster.to_numpy(), rtol=1e-12)


def test_serial_equals_halves_and_any_order():
    X, y, w, g = _poisson(1)
    whole = _pass(X, y, w, g, slice(None))
    a, b, c = (_pass(X, y, w, g, s) for s in (slice(0, 90), slice(90, 200), slice(200, None)))
    _assert_close(_pass(X, y, w, g, slice(0, 150)) + _pass(X, y, w, g, slice(150, None)), whole)
    _assert_close(a + b, b + a)
    _assert_close((a + b) + c, a + (b + c))
    _assert_close(c + a + b, whole)


def test_empty_is_the_identity():
    X, y, w, g = _poisson(2)
    a = _pass(X, y, w, g, slice(0, 100))
    empty = IRLSPass.empty(n_features=2, fit_intercept=True, clusters=True)
    _assert_close(a + empty, a, rtol=1e-15)
    _assert_close(empty + a, a, rtol=1e-15)


def test_mixing_clustered_and_unclustered_passes_raises():
    X, y, w, g = _poisson(3)
    a = _pass(X, y, w, g, slice(0, 100))
    plain = IRLSPass.empty(n_features=2, fit_intercept=True)
    with pytest.raises(ValueError, match="clusters"):
        a + plain


@pytest.mark.parametrize("labels", [np.array(["b", "a", "c", "a"]), np.array([3.5, -1.0, 2.0, 3.5])])
def test_cluster_sums_merge_laws_against_pandas(labels):
    rng = np.random.default_rng(4)
    rows = rng.normal(size=(4, 3))
    parts = [ClusterSums.from_rows(rows[s], labels[s]) for s in (slice(0, 1), slice(1, 3), slice(3, 4))]
    expected = pd.DataFrame(rows).groupby(labels).sum()
    for total in (parts[0] + parts[1] + parts[2], parts[2] + (parts[1] + parts[0]),
                  ClusterSums.empty(3) + parts[0] + parts[1] + parts[2] + ClusterSums.empty(3)):
        np.testing.assert_array_equal(total.labels, expected.index)
        np.testing.assert_allclose(total.sums, expected.to_numpy(), rtol=1e-15)


def test_cluster_sums_of_different_widths_do_not_merge():
    with pytest.raises(ValueError, match="length 2 with rows of length 3"):
        ClusterSums.from_rows(np.ones((2, 2)), [0, 1]) + ClusterSums.empty(3)
