"""The in-place K x K algebra of the solve, against numpy/scipy on the whole matrix."""

import numpy as np
import pytest
from scipy import linalg

from skbigreg.solvers._least_squares import solve_least_squares
from skbigreg.stats import GramStats, QRStats
from skbigreg.stats import _inplace


@pytest.fixture(params=[1, 7, 2**19], ids=["one-row-bands", "7-element-bands", "one-band"])
def bands(request, monkeypatch):
    monkeypatch.setattr(_inplace, "_BAND_ELEMENTS", request.param)


def _spd(k, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((3 * k, k)) * rng.uniform(0.01, 100.0, k)
    return a.T @ a


@pytest.mark.parametrize("k", [1, 2, 5, 40])
def test_unit_diagonal_copy_is_the_whole_matrix_expression(bands, k):
    a = _spd(k)
    d = np.sqrt(np.diag(a))
    out = _inplace.unit_diagonal_copy(a, d)
    assert out.flags.f_contiguous
    np.testing.assert_array_equal(out, a / np.outer(d, d))


@pytest.mark.parametrize("k", [1, 2, 5, 40])
def test_inverse_from_cholesky_in_place_equals_inverse(bands, k):
    a = _spd(k, seed=k)
    r = _inplace.cholesky_in_place(np.array(a, order="F"))
    np.testing.assert_array_equal(r, linalg.cholesky(a))  # the same LAPACK call
    inverse = _inplace.inverse_from_cholesky(r)
    assert np.shares_memory(inverse, r)  # written over the factor: no copy
    np.testing.assert_allclose(inverse, np.linalg.inv(a), rtol=1e-10, atol=1e-10 * np.abs(np.linalg.inv(a)).max())
    np.testing.assert_array_equal(inverse, inverse.T)


def test_symmetrise_from_upper_ignores_the_lower_triangle(bands):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((9, 9))
    expected = np.triu(a) + np.triu(a, 1).T
    _inplace.symmetrise_from_upper(a)
    np.testing.assert_array_equal(a, expected)


def test_triangular_condition_is_lapack_trcon_and_refuses_singular():
    r = np.triu(np.random.default_rng(4).standard_normal((6, 6))) + 3 * np.eye(6)
    inv = np.linalg.inv(r)
    exact = np.abs(r).sum(0).max() * np.abs(inv).sum(0).max()
    assert exact / 3 <= _inplace.triangular_condition(r) <= exact * (1 + 1e-12)
    r[2, 2] = 0.0
    with pytest.raises(np.linalg.LinAlgError):
        _inplace.triangular_condition(r)


@pytest.mark.parametrize("cls", [GramStats, QRStats])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("k", [1, 4])
def test_solve_leaves_statistics_unchanged_and_bread_is_the_inverse(cls, fit_intercept, k):
    rng = np.random.default_rng(k)
    X = rng.standard_normal((50, k)) + 5.0
    y = X @ rng.standard_normal(k) + rng.standard_normal(50)
    stats = cls.from_arrays(X, y[:, None])
    before = stats.to_dict()
    solution = solve_least_squares(stats, fit_intercept=fit_intercept)
    for key, value in stats.to_dict().items():
        np.testing.assert_array_equal(value, before[key])
    design = X - X.mean(0) if fit_intercept else X
    np.testing.assert_allclose(solution.bread, np.linalg.inv(design.T @ design), rtol=1e-10)
    np.testing.assert_allclose(solution.coef[:, 0], np.linalg.lstsq(
        np.column_stack([np.ones(50), X]) if fit_intercept else X, y, rcond=None)[0][-k:], rtol=1e-10)
