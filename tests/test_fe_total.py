"""One absorbed factor: each chunk's total co-moment formed as within plus between.

``level_and_total_statistics`` takes one Gram of the rows (level-centred)
and forms the total from it and the level means. Oracles: the rows' own
Gram (``GramStats.from_arrays``) and the co-moment in extended precision
(``np.longdouble``) on the same rows, with level offsets up to 1e8.
"""

import numpy as np
import pytest

from skbigreg.stats import GramStats, LevelMeans
from skbigreg.stats._levels import level_and_total_statistics


def _rows(scale, n=2000, n_levels=60, seed=0):
    rng = np.random.default_rng(seed)
    levels = rng.integers(0, n_levels, n)
    X = rng.normal(size=(n, 3)) + scale * rng.normal(size=(n_levels, 3))[levels]
    y = rng.normal(size=(n, 1)) + scale * rng.normal(size=(n_levels, 1))[levels]
    return X, y, levels, rng.uniform(0.5, 2.0, n)


def _long_comoment(X, y, w):
    Z = np.hstack([X, y]).astype(np.longdouble)
    W = np.asarray(w, dtype=np.longdouble)
    mean = (W[:, None] * Z).sum(axis=0) / W.sum()
    return ((Z - mean) * W[:, None]).T @ (Z - mean), mean


@pytest.mark.parametrize("scale", [1.0, 1e6, 1e8])
@pytest.mark.parametrize("weighted", [False, True])
def test_total_from_levels_is_as_accurate_as_the_rows_gram(scale, weighted):
    X, y, levels, w = _rows(scale)
    w = w if weighted else None
    stats, level_stats = level_and_total_statistics(X, y, levels, w)
    oracle, mean = _long_comoment(X, y, np.ones(len(X)) if w is None else w)
    gram = GramStats.from_arrays(X, y, w)
    size = float(np.abs(oracle).max())
    derived_error = float(np.abs(stats.comoment - oracle).max()) / size
    gram_error = float(np.abs(gram.comoment - oracle).max()) / size
    assert derived_error <= max(4 * gram_error, 1e-15)
    np.testing.assert_allclose(stats.mean, np.asarray(mean, dtype=float), rtol=1e-14)
    assert stats.n_rows == gram.n_rows
    assert stats.weight_sum == pytest.approx(gram.weight_sum, rel=1e-14)
    expected = LevelMeans.from_arrays(np.hstack([X, y]), levels, w, within=True)
    np.testing.assert_array_equal(level_stats.within, expected.within)


def test_chunks_with_about_as_many_levels_as_rows_take_the_rows_gram():
    X, y, _, w = _rows(1e6, n=50)
    levels = np.arange(50) // 2 + 1 * (np.arange(50) % 7 == 0)  # 26+ levels: above half
    stats, _ = level_and_total_statistics(X, y, levels, w)
    gram = GramStats.from_arrays(X, y, w)
    np.testing.assert_array_equal(stats.comoment, gram.comoment)
    np.testing.assert_array_equal(stats.mean, gram.mean)


@pytest.mark.parametrize("bad, name", [(np.nan, "X contains NaN"), (np.inf, "X contains infinity")])
def test_a_non_finite_input_is_named(bad, name):
    X, y, levels, w = _rows(1.0, n=200, n_levels=5)
    X[17, 1] = bad
    with pytest.raises(ValueError, match=name):
        level_and_total_statistics(X, y, levels, w)


def test_a_non_finite_target_is_named():
    X, y, levels, _ = _rows(1.0, n=200, n_levels=5)
    y[3, 0] = np.nan
    with pytest.raises(ValueError, match="y contains NaN"):
        level_and_total_statistics(X, y, levels)


def test_chunked_fits_with_the_derived_total_equal_one_gram_of_all_rows():
    """R² and the intercept read the total: merged chunk totals equal the rows' Gram."""
    from skbigreg.linear_model import CumulativeFixedEffectsRegression

    X, y, levels, w = _rows(1e4)
    est = CumulativeFixedEffectsRegression().fit_chunks(
        [{"X": X[i:i + 150], "y": y[i:i + 150, 0], "entities": levels[i:i + 150],
          "sample_weight": w[i:i + 150]} for i in range(0, len(X), 150)])
    gram = GramStats.from_arrays(X, y, w)
    np.testing.assert_allclose(est.stats_.comoment, gram.comoment, rtol=1e-12)
    np.testing.assert_allclose(est.stats_.mean, gram.mean, rtol=1e-12)
