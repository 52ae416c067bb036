"""One RegressionResults for every estimator: statsmodels' surface, degenerate cases, summaries."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from skbigreg.exceptions import DegreesOfFreedomWarning, PerfectFitWarning
from skbigreg.inference import (
    RegressionResults,
    cluster_bootstrap,
    format_summary,
    small_sample_factor,
    target_name,
)
from skbigreg.linear_model import (
    CumulativeFixedEffectsRegression,
    CumulativeGLM,
    CumulativeIVRegression,
    CumulativeLinearRegression,
    CumulativeLogisticRegression,
)


def _frame(seed=0, n=300):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 3)), columns=["age", "educ", "tenure"])
    y = pd.Series(1.0 + X @ [0.5, -1.0, 2.0] + rng.normal(size=n), name="wage")
    return X, y, rng


def _assert_same_surface(res, ref, rtol):
    """Series/DataFrames with the names of statsmodels' results, equal to ``rtol``."""
    for name in ("params", "bse", "tvalues"):
        ours, theirs = getattr(res, name), getattr(ref, name)
        assert isinstance(ours, pd.Series)
        assert list(ours.index) == list(theirs.index)
        np.testing.assert_allclose(ours, theirs, rtol=rtol)
    assert isinstance(res.pvalues, pd.Series)
    np.testing.assert_allclose(res.pvalues, ref.pvalues, rtol=1e-6, atol=1e-300)
    for ours, theirs in ((res.conf_int(), ref.conf_int()), (res.cov_params(), ref.cov_params())):
        assert isinstance(ours, pd.DataFrame)
        assert list(ours.index) == list(theirs.index)
        assert list(ours.columns) == list(theirs.columns)
        np.testing.assert_allclose(ours, theirs, rtol=rtol)
    np.testing.assert_allclose(res.conf_int(alpha=0.1), ref.conf_int(alpha=0.1), rtol=rtol)
    frame = res.summary_frame(alpha=0.1)
    np.testing.assert_allclose(frame["coef"], ref.params, rtol=rtol)
    np.testing.assert_allclose(frame["std err"], ref.bse, rtol=rtol)
    np.testing.assert_allclose(frame.iloc[:, 4:6], ref.conf_int(alpha=0.1), rtol=rtol)
    assert list(frame.index) == list(ref.params.index)


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC0", "HC1", "cluster"])
def test_ols_and_wls_results_equal_statsmodels_on_named_frames(cov_type):
    X, y, rng = _frame(1)
    w = rng.uniform(0.5, 2.0, size=len(y))
    g = rng.integers(0, 25, size=len(y))
    kwds = {"cov_type": cov_type, "cov_kwds": {"groups": g}} if cov_type == "cluster" else {"cov_type": cov_type}
    for weights in (None, w):
        est = CumulativeLinearRegression(cov_type=cov_type).fit(X, y, sample_weight=weights, clusters=g)
        res = est.results()
        model = sm.OLS(y, sm.add_constant(X)) if weights is None else sm.WLS(y, sm.add_constant(X), weights=w)
        ref = model.fit(**kwds)
        _assert_same_surface(res, ref, rtol=1e-10)
        assert res.names[0] == "const"
        assert isinstance(res.nobs, int) and isinstance(res.df_resid, int) and isinstance(res.df_model, int)
        assert (res.nobs, res.df_resid, res.df_model) == (ref.nobs, ref.df_resid, ref.df_model)


@pytest.mark.parametrize("family,sm_family", [
    ("poisson", sm.families.Poisson()),
    ("gamma", sm.families.Gamma(sm.families.links.Log())),
])
def test_glm_results_equal_statsmodels_and_scale_is_one_number(family, sm_family):
    X, _, rng = _frame(2, n=2000)
    mean = np.exp(0.2 + X @ [0.3, -0.2, 0.1])
    y = rng.poisson(mean) if family == "poisson" else rng.gamma(4.0, mean / 4.0)
    y = pd.Series(y, name="claims")
    est = CumulativeGLM(family=family, link="log").fit(X, y)
    res = est.results()
    ref = sm.GLM(y, sm.add_constant(X), family=sm_family).fit()
    # both stop IRLS at a tolerance: their coefficients agree to ~1e-10, not to the last bit
    _assert_same_surface(res, ref, rtol=1e-8)
    # issue 11 defect 17: scale was the deviance / df_resid (Poisson 1.09, Gamma 0.530 vs 0.498)
    assert res.scale == pytest.approx(ref.scale, rel=1e-8)
    shown = float(re.search(r"Scale:\s+(\S+)", str(est.summary())).group(1))
    assert shown == pytest.approx(res.scale, rel=1e-3)
    assert "Dep. Variable:" in str(est.summary()) and "claims" in str(est.summary())


def test_intercept_is_const_everywhere():
    X, y, rng = _frame(3)
    g = rng.integers(0, 20, size=len(y))
    binary = pd.Series((rng.random(len(y)) < 1 / (1 + np.exp(-X["age"]))).astype(int), name="high")
    fits = [
        CumulativeLinearRegression().fit(X, y).results(),
        CumulativeIVRegression(endogenous=["educ"], instruments=["tenure"]).fit(X, y).results(),
        CumulativeGLM().fit(X, y).results(),
        CumulativeLogisticRegression().fit(X, binary).results(),
    ]
    for res in fits:
        assert isinstance(res, RegressionResults) and res.names[0] == "const"
        assert list(res.params.index) == res.names
    fe = CumulativeFixedEffectsRegression().fit(X, y, entities=g).results()
    assert list(fe.params.index) == ["age", "educ", "tenure"]


# -- issue 11 defect 9: one cluster, CRV1 with p > n, exact fits -------------------
def _one_cluster_results():
    X, y, rng = _frame(4)
    one = np.zeros(len(y), dtype=int)
    entities = rng.integers(0, 10, size=len(y))
    return {
        "ols": lambda: CumulativeLinearRegression(cov_type="cluster").fit(X, y, clusters=one),
        "iv": lambda: CumulativeIVRegression(endogenous=["educ"], instruments=["tenure"],
                                             cov_type="cluster").fit(X, y, clusters=one),
        "fe": lambda: CumulativeFixedEffectsRegression(cov_type="cluster").fit(
            X, y, entities=entities, clusters=one),
        "glm": lambda: CumulativeGLM(cov_type="cluster").fit(X, y, clusters=one),
    }


@pytest.mark.parametrize("name", ["ols", "iv", "fe", "glm"])
def test_one_cluster_warns_and_gives_nan_errors(name):
    """statsmodels raises ZeroDivisionError here; G/(G-1) is undefined for G = 1."""
    est = _one_cluster_results()[name]()
    with pytest.warns(DegreesOfFreedomWarning, match="at least two clusters; the data hold 1"):
        res = est.results()
    assert res.n_clusters == 1
    assert np.isnan(res.bse).all() and np.isnan(res.pvalues).all()
    assert np.isfinite(res.params).all()
    with pytest.warns(DegreesOfFreedomWarning):
        assert "cluster (G=1)" in str(est.summary())


def test_crv1_with_more_parameters_than_rows_warns_and_gives_nan():
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(5, 8)), rng.normal(size=5)
    est = CumulativeLinearRegression(cov_type="cluster")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the rank-deficiency warning of the fit
        est.fit(X, y, clusters=np.arange(5) % 3)
    with pytest.warns(DegreesOfFreedomWarning, match="No residual degrees of freedom"):
        res = est.results()
    assert np.isnan(res.bse).all()
    ref = sm.OLS(y, sm.add_constant(X)).fit(cov_type="cluster", cov_kwds={"groups": np.arange(5) % 3})
    assert np.isnan(ref.bse).all()  # statsmodels: NaN too


def test_exact_fit_summary_warns_and_reports_infinite_f():
    X, _, _ = _frame(6)
    y = 3.0 + X @ [1.0, 2.0, -1.0]
    est = CumulativeLinearRegression().fit(X, y)
    with pytest.warns(PerfectFitWarning, match="fits every row exactly"):
        res = est.results()
    # statsmodels reports F ~ 1e32 and SEs ~ 1e-16 from rounding; the exact answer:
    assert res.fvalue == np.inf and res.f_pvalue == 0.0
    np.testing.assert_array_equal(res.bse, 0.0)
    np.testing.assert_allclose(res.params, [3.0, 1.0, 2.0, -1.0], rtol=1e-10)
    with pytest.warns(PerfectFitWarning):
        text = str(est.summary())
    assert re.search(r"F-statistic:\s+inf", text)


# -- issue 11 defect 17: summaries --------------------------------------------------
def test_dependent_variable_keeps_the_target_name():
    X, y, rng = _frame(7)
    g = rng.integers(0, 20, size=len(y))
    estimators = [
        (CumulativeLinearRegression(), {}),
        (CumulativeIVRegression(endogenous=["educ"], instruments=["tenure"]), {}),
        (CumulativeFixedEffectsRegression(), {"entities": g}),
        (CumulativeGLM(), {}),
    ]
    for est, labels in estimators:
        est.fit(X, y, **labels)
        assert est.target_name_ == "wage"
        assert re.search(r"Dep. Variable:\s+wage", str(est.summary()))
        assert est.results().target == "wage"
    frame_target = CumulativeLinearRegression().fit(X, y.to_frame("log_wage")).results()
    assert frame_target.target == "log_wage"
    two = CumulativeLinearRegression().fit(X, pd.DataFrame({"p": y, "q": -y}))
    assert [two.results(target=t).target for t in (0, 1)] == ["p", "q"]
    assert CumulativeLinearRegression().fit(X.to_numpy(), y.to_numpy()).results().target == "y"


def test_streamed_fit_records_the_name_of_the_first_chunk():
    X, y, _ = _frame(8)
    est = CumulativeLinearRegression()
    for start in range(0, 300, 100):
        est.partial_fit(X[start:start + 100], y[start:start + 100])
    assert est.results().target == "wage"


def test_row_counts_print_as_integers():
    rng = np.random.default_rng(9)
    X = rng.normal(size=(50, 2))
    y = X @ [1.0, -1.0] + rng.normal(size=50)
    w = np.full(50, 24_691.0)
    w[0] += 17.0  # weight sum 1,234,567
    est = CumulativeLinearRegression(weight_type="frequency").fit(X, y, sample_weight=w)
    text = str(est.summary())
    assert re.search(r"No. Observations:\s+1234567\b", text)
    assert re.search(r"Df Residuals:\s+1234564\b", text)
    counts = [line for line in text.splitlines() if line.startswith(("No. Obs", "Df "))]
    assert len(counts) == 3 and not any("e+" in line[:40] for line in counts)


def test_fixed_effects_r_squared_as_pyfixest():
    pyfixest = pytest.importorskip("pyfixest")
    X, y, rng = _frame(10, n=600)
    firm = rng.integers(0, 40, size=600)
    y = y + rng.normal(size=40)[firm] * 2
    res = CumulativeFixedEffectsRegression().fit(X, y, entities=firm).results()
    data = X.assign(y=y.to_numpy(), firm=firm)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pyfixest.feols("y ~ age + educ + tenure | firm", data=data, fixef_rm="none")
    assert res.rsquared == pytest.approx(ref._r2, rel=1e-10)
    assert res.rsquared_adj == pytest.approx(ref._adj_r2, rel=1e-10)
    assert res.rsquared_within == pytest.approx(ref._r2_within, rel=1e-10)
    assert res.rsquared_within_adj == pytest.approx(ref._adj_r2_within, rel=1e-10)
    text = str(CumulativeFixedEffectsRegression().fit(X, y, entities=firm).summary())
    assert "(uncentered)" not in text
    assert re.search(r"R-squared \(within\):\s+" + f"{ref._r2_within:.3f}", text)
    assert re.search(r"Adj. R-squared:\s+" + f"{ref._adj_r2:.3f}", text)


# -- the shared pieces ---------------------------------------------------------------
def test_small_sample_factor_closed_forms():
    assert small_sample_factor("HC0", 10, 12) == 1.0
    assert small_sample_factor("HC1", 100, 4) == pytest.approx(100 / 96)
    assert small_sample_factor("cluster", 100, 4, n_clusters=10) == pytest.approx(10 / 9 * 99 / 96)
    assert np.isnan(small_sample_factor("HC1", 4, 4))
    assert np.isnan(small_sample_factor("cluster", 4, 5, n_clusters=3))
    with pytest.warns(DegreesOfFreedomWarning):
        assert np.isnan(small_sample_factor("cluster", 100, 4, n_clusters=1))


def test_renderer_takes_any_header_pairs():
    res = RegressionResults(
        params=[0.5, -1.0], cov=np.diag([0.01, 0.04]), names=["const", "x0"], cov_type="nonrobust",
        nobs=10_000, df_model=1, df_resid=9_998, ssr=np.nan, tss=np.nan, has_intercept=True,
        use_t=False, df_inference=9_998.0, model="GLM", method="SMR", title="Representative Results",
        model_info=(("Family:", "binomial"), ("Link Function:", "logit")),
        fit_statistics=(("Representatives:", 321), ("Scale:", 1.0)),
        notes=("Errors from the rows' information.",),
    )
    text = str(res.summary())
    for piece in ("Representative Results", "binomial", "logit", "Representatives:", "321",
                  "No. Observations:", "10000", "[1] Errors from the rows' information."):
        assert piece in text
    assert "R-squared" not in text
    assert all(len(line) <= 78 for line in text.splitlines())
    frame = res.summary_frame()
    assert list(frame.columns) == ["coef", "std err", "z", "P>|z|", "[0.025", "0.975]"]
    assert format_summary("T", [("a:", 1)], [], frame).count("x0") == 1


def test_target_name_reads_series_and_frames():
    assert target_name(pd.Series([1.0], name="w")) == "w"
    assert target_name(pd.Series([1.0])) == "y"
    assert target_name(np.ones((3, 2))) == "y"
    assert target_name(pd.DataFrame({"a": [1.0], "b": [1.0]})) == ("a", "b")


def test_bootstrap_results_share_the_surface():
    X, y, rng = _frame(11)
    g = rng.integers(0, 30, size=len(y))
    est = CumulativeLinearRegression().fit(X, y, clusters=g)
    boot = cluster_bootstrap(est, n_resamples=50, random_state=0)
    assert list(boot.bse.index) == est.results().names
    assert list(boot.conf_int().columns) == [0, 1]
    cov = boot.cov_params()
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), boot.bse, rtol=1e-12)


def test_cli_summary_names_the_target_column(tmp_path, capsys):
    pytest.importorskip("pyarrow")
    from skbigreg._cli import main

    X, y, _ = _frame(12)
    X.assign(hourly_wage=y).to_parquet(tmp_path / "rows.parquet")
    assert main(["fit", str(tmp_path), "--target", "hourly_wage", "--features", "age", "educ"]) == 0
    assert re.search(r"Dep. Variable:\s+hourly_wage", capsys.readouterr().out)
