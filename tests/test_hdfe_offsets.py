"""Two or three absorbed factors with large level offsets, streamed in chunks.

A regressor ``x = 1e6 a_f1 + 1e4 b_f2 + noise`` (or ``1e8 a_f1 + 1e6 b_f2``)
varies a million or more times more between levels than within them. Its
effects, solved by conjugate-gradient passes to a tolerance in units of the
column's total spread, leave errors of that size in the demeaned rows; the
passes refine them in units of the demeaned rows' own spread.

Oracles:

- the same model on offset-free rows: the offsets are integers times
  ``1e6``/``1e4`` (exact in floating point), so ``x - offset`` is exact
  (Sterbenz) and, the offsets lying in the span of the level indicators,
  the fit on ``(x - offset, y - y_offset)`` has the same coefficients and
  residuals -- solved by numpy least squares on the explicit dummy design;
- pyfixest ``feols`` on the offset-free rows (coefficients, iid/HC1/CRV1
  errors): on the rows with the offsets its own demeaning keeps about 1e-8
  at offsets of 1e8.

Coefficients and nonrobust errors agree to 1e-10 at both sizes of offsets
(they are second-order in the demeaned rows' errors). HC1 and CRV1 errors
are first-order: at the default ``tol=1e-8`` they keep about 1e-10 on rows
without offsets, and each level's effect is one float, resolved to
``ulp(9e8) = 1.2e-7`` of the within spread at offsets up to 9e8, so they
agree to 1e-9 at offsets of 1e6 and to 5e-8 at 1e8 (with one factor: 1e-8).
"""

import warnings

import numpy as np
import pandas as pd
import pytest

from skbigreg.exceptions import CollinearityWarning, ConvergenceWarning
from skbigreg.linear_model import CumulativeFixedEffectsRegression, CumulativeIVRegression

pf = pytest.importorskip("pyfixest")

VCOVS = [("iid", "nonrobust"), ("hetero", "HC1"), ({"CRV1": "g"}, "cluster")]
SIZES = (30, 20, 7)  # levels of f1, f2, f3


def _offset_panel(scale, n_factors=2, seed=0, n=1200):
    """Rows whose columns carry integer level offsets ``scale``, ``scale/100``, ``scale/1e4``.

    ``xe``, ``we``, ``ze``, ``ye`` are the same columns less their offsets
    (exact), ``x``/``z`` the instrumented regressor and its instrument.
    """
    rng = np.random.default_rng(seed)
    data = pd.DataFrame({f"f{j + 1}": rng.integers(0, size, n)
                         for j, size in enumerate(SIZES[:n_factors])})
    data["g"] = rng.integers(0, 15, n)  # clusters

    def offset():
        parts = [scale / 100 ** j * rng.integers(-9, 10, size).astype(float)[data[f"f{j + 1}"]]
                 for j, size in enumerate(SIZES[:n_factors])]
        return sum(parts[1:], parts[0])

    xo, wo, zo, yo = offset(), offset(), offset(), offset()
    data["ze"] = rng.normal(size=n)
    u = rng.normal(size=n)
    data["xe"] = 0.8 * data.ze + u + rng.normal(size=n)
    data["we"] = rng.normal(size=n) + 0.3 * data.xe
    data["ye"] = 1.5 * data.xe - 0.5 * data.we + u + rng.normal(size=n)
    for column, off in (("x", xo), ("w", wo), ("z", zo), ("y", yo)):
        data[column] = data[column + "e"] + off
        # the offsets are exact, so is the subtraction: xe is exactly x less its offset
        data[column + "e"] = data[column] - off
    return data


def _chunks(data, columns, factors, order, size=150, cluster="g"):
    rows = {"sorted": np.lexsort([data[f] for f in reversed(factors)]),
            "shuffled": np.random.default_rng(1).permutation(len(data))}[order]
    data = data.iloc[rows]
    return [{"X": data[columns].iloc[i:i + size], "y": data.y.iloc[i:i + size],
             "entities": data[factors].iloc[i:i + size],
             "clusters": data[cluster].iloc[i:i + size].to_numpy()}
            for i in range(0, len(data), size)]


def _dummies(data, factors):
    """The explicit indicators of every level but the first of each factor, and a constant."""
    parts = [np.ones((len(data), 1))]
    parts += [pd.get_dummies(data[f], drop_first=True).to_numpy(float) for f in factors]
    return np.hstack(parts)


def _exact_ols(data, factors, columns):
    """Least squares of the offset-free rows on the regressors and explicit dummies."""
    design = np.hstack([data[[c + "e" for c in columns]].to_numpy(), _dummies(data, factors)])
    coef = np.linalg.lstsq(design, data.ye.to_numpy(), rcond=None)[0]
    return coef[:len(columns)]


def _quiet_fit(estimator, chunks):
    """Fit, failing on a collinearity or convergence warning (no regressor may be lost)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", CollinearityWarning)
        warnings.simplefilter("error", ConvergenceWarning)
        estimator.fit_chunks(chunks)
        return estimator, estimator.results()


def _offset_free(data):
    """The rows less their offsets, under the original names."""
    return data.drop(columns=["x", "w", "z", "y"]).rename(
        columns={"xe": "x", "we": "w", "ze": "z", "ye": "y"})


def _pyfixest(formula, data, vcov):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pf.feols(formula, data, vcov=vcov, fixef_rm="none", fixef_tol=1e-13)


COEF_RTOL = 1e-10
SE_RTOL = {1e6: 1e-9, 1e8: 5e-8}  # robust errors: see the module's notes


@pytest.mark.parametrize("n_factors, order", [(2, "sorted"), (3, "shuffled")])
@pytest.mark.parametrize("scale", [1e6, 1e8])
def test_large_offsets_equal_explicit_dummies_and_pyfixest(scale, n_factors, order):
    data = _offset_panel(scale, n_factors)
    factors = [f"f{j + 1}" for j in range(n_factors)]
    oracle = _exact_ols(data, factors, ["x", "w"])
    formula = "y ~ x + w | " + " + ".join(factors)
    for vcov, cov_type in VCOVS:
        est, res = _quiet_fit(CumulativeFixedEffectsRegression(cov_type=cov_type),
                              _chunks(data, ["x", "w"], factors, order))
        np.testing.assert_allclose(est.coef_, oracle, rtol=COEF_RTOL)
        ref = _pyfixest(formula, _offset_free(data), vcov)
        np.testing.assert_allclose(res.params, ref.coef()[["x", "w"]], rtol=COEF_RTOL)
        se_rtol = 1e-10 if cov_type == "nonrobust" else SE_RTOL[scale]
        np.testing.assert_allclose(res.bse, ref.se()[["x", "w"]], rtol=se_rtol)


@pytest.mark.parametrize("scale", [1e6, 1e8])
def test_large_offsets_equal_the_fit_of_the_offset_free_rows(scale):
    """Same model on rows with and without the offsets: same coefficients and errors."""
    data = _offset_panel(scale, 2)
    factors = ["f1", "f2"]
    for cov_type in ("nonrobust", "HC1", "cluster"):
        _, res = _quiet_fit(CumulativeFixedEffectsRegression(cov_type=cov_type),
                            _chunks(data, ["x", "w"], factors, "shuffled"))
        _, ref = _quiet_fit(CumulativeFixedEffectsRegression(cov_type=cov_type),
                            _chunks(_offset_free(data), ["x", "w"], factors, "sorted", 101))
        np.testing.assert_allclose(res.params, ref.params, rtol=COEF_RTOL)
        se_rtol = 1e-10 if cov_type == "nonrobust" else SE_RTOL[scale]
        np.testing.assert_allclose(res.bse, ref.bse, rtol=se_rtol)


@pytest.mark.parametrize("scale", [1e6, 1e8])
def test_chunking_and_order_do_not_matter_with_large_offsets(scale):
    data = _offset_panel(scale, 2)
    fits = [_quiet_fit(CumulativeFixedEffectsRegression(cov_type="HC1"),
                       _chunks(data, ["x", "w"], ["f1", "f2"], order, size))[1]
            for order, size in (("sorted", 37), ("shuffled", 101), ("shuffled", 1200))]
    for res in fits[1:]:
        np.testing.assert_allclose(res.params, fits[0].params, rtol=COEF_RTOL)
        np.testing.assert_allclose(res.bse, fits[0].bse, rtol=SE_RTOL[scale])


def test_a_column_constant_within_levels_is_still_absorbed_with_large_offsets():
    data = _offset_panel(1e8, 2)
    data["c"] = 1e8 * np.random.default_rng(4).normal(size=SIZES[0])[data.f1]
    est = CumulativeFixedEffectsRegression()
    with pytest.warns(CollinearityWarning):
        est.fit_chunks(_chunks(data, ["x", "c", "w"], ["f1", "f2"], "shuffled"))
    assert est.coef_[1] == 0.0
    np.testing.assert_allclose(est.coef_[[0, 2]], _exact_ols(data, ["f1", "f2"], ["x", "w"]),
                               rtol=COEF_RTOL)


@pytest.mark.parametrize("n_factors", [2, 3])
@pytest.mark.parametrize("scale", [1e6, 1e8])
def test_iv_with_large_offsets_equals_pyfixest(scale, n_factors):
    data = _offset_panel(scale, n_factors)
    factors = [f"f{j + 1}" for j in range(n_factors)]
    formula = "y ~ w | " + " + ".join(factors) + " | x ~ z"
    for vcov, cov_type in VCOVS:
        est = CumulativeIVRegression(endogenous=["x"], instruments=["z"], cov_type=cov_type)
        _, res = _quiet_fit(est, _chunks(data, ["w", "x", "z"], factors, "shuffled"))
        ref = _pyfixest(formula, _offset_free(data), vcov)
        np.testing.assert_allclose(res.params[["w", "x"]], ref.coef()[["w", "x"]],
                                   rtol=COEF_RTOL)
        se_rtol = 1e-10 if cov_type == "nonrobust" else SE_RTOL[scale]
        np.testing.assert_allclose(res.bse[["w", "x"]], ref.se()[["w", "x"]], rtol=se_rtol)


def test_poisson_with_two_factors_and_large_offsets_equals_pyfixest():
    """Each IRLS step of fepois is a weighted multi-way within fit: the same refinement."""
    from skbigreg.linear_model import CumulativePoissonFixedEffects

    data = _offset_panel(1e6, 2)
    free = _offset_free(data)
    rate = np.exp(0.3 * free.x - 0.2 * free.w) / np.exp(0.3 * free.x - 0.2 * free.w).mean()
    data["y"] = free["y"] = np.random.default_rng(6).poisson(rate).astype(float)
    est, res = _quiet_fit(CumulativePoissonFixedEffects(cov_type="HC1"),
                          _chunks(data, ["x", "w"], ["f1", "f2"], "shuffled", size=400))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pf.fepois("y ~ x + w | f1 + f2", free, vcov="hetero", fixef_tol=1e-13)
    np.testing.assert_allclose(res.params, ref.coef()[["x", "w"]], rtol=COEF_RTOL)
    np.testing.assert_allclose(res.bse, ref.se()[["x", "w"]], rtol=SE_RTOL[1e6])
