"""Streamed IRLS GLMs against statsmodels Logit, Probit and GLM."""

import warnings

import numpy as np
import pytest
import statsmodels.api as sm
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from skbigreg.exceptions import CollinearityWarning
from skbigreg.linear_model import (
    CumulativeGLM,
    CumulativeLogisticRegression,
    SeparationWarning,
)

links = sm.families.links


def _design(seed=0, n=3000):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) + [0.0, 5.0, 0.0]
    return rng, X, rng.integers(0, 50, n), rng.uniform(0.5, 2.0, n)


def _binary(seed=0):
    rng, X, g, w = _design(seed)
    eta = 2.8 + X @ [1.0, -0.5, 0.2]
    return X, (rng.random(len(X)) < 1 / (1 + np.exp(-eta))).astype(float), g, w


def _chunks(X, y, w=None, g=None, size=700):
    return [
        (X[s:s + size], y[s:s + size], None if w is None else w[s:s + size],
         None if g is None else {"clusters": g[s:s + size]})
        for s in range(0, len(X), size)
    ]


def _sm_cov(cov_type, g):
    """statsmodels' arguments; its GLM HC1 is HC0, so HC1 is HC0 times n / (n - p)."""
    name = "HC0" if cov_type == "HC1" else cov_type
    return {"cov_type": name, "cov_kwds": {"groups": g} if cov_type == "cluster" else None}


def _assert_matches(res, ref, cov_type, n):
    factor = np.sqrt(n / (n - len(res.params))) if cov_type == "HC1" else 1.0
    np.testing.assert_allclose(res.params, ref.params, rtol=1e-8)
    np.testing.assert_allclose(res.bse, ref.bse * factor, rtol=1e-8)


def test_logit_equals_statsmodels_logit():
    X, y, _g, _ = _binary()
    clf = CumulativeLogisticRegression().fit_chunks(_chunks(X, y))
    ref = sm.Logit(y, sm.add_constant(X)).fit(method="newton", tol=1e-14, disp=False)
    _assert_matches(clf.results(), ref, "nonrobust", len(X))
    assert clf.deviance_ == pytest.approx(-2 * ref.llf, rel=1e-10)


def test_probit_equals_statsmodels_probit_and_glm():
    """Coefficients as ``Probit``; nonrobust errors from the expected information, as ``GLM``."""
    X, y, _g, _ = _binary()
    clf = CumulativeLogisticRegression(link="probit").fit_chunks(_chunks(X, y))
    discrete = sm.Probit(y, sm.add_constant(X)).fit(method="newton", tol=1e-14, disp=False)
    np.testing.assert_allclose(clf.results().params, discrete.params, rtol=1e-8)
    assert clf.deviance_ == pytest.approx(-2 * discrete.llf, rel=1e-10)
    glm = sm.GLM(y, sm.add_constant(X), family=sm.families.Binomial(links.Probit())).fit(tol=1e-14)
    _assert_matches(clf.results(), glm, "nonrobust", len(X))


@pytest.mark.parametrize("cov_type", ["HC0", "HC1", "cluster"])
@pytest.mark.parametrize("link, sm_link", [("logit", links.Logit()), ("probit", links.Probit())])
def test_binary_robust_equals_statsmodels_glm(cov_type, link, sm_link):
    X, y, g, _ = _binary(1)
    clf = CumulativeLogisticRegression(link=link, cov_type=cov_type).fit_chunks(_chunks(X, y, g=g))
    ref = sm.GLM(y, sm.add_constant(X), family=sm.families.Binomial(sm_link)).fit(
        tol=1e-14, **_sm_cov(cov_type, g))
    _assert_matches(clf.results(), ref, cov_type, len(X))


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC0", "HC1", "cluster"])
@pytest.mark.parametrize(
    "family, link, sm_family",
    [
        ("poisson", None, sm.families.Poisson()),
        ("gamma", "log", sm.families.Gamma(links.Log())),
        ("gamma", None, sm.families.Gamma()),
    ],
)
def test_glm_families_equal_statsmodels(cov_type, family, link, sm_family):
    rng, X, g, w = _design(2)
    if family == "poisson":
        y = rng.poisson(np.exp(0.2 + X @ [0.3, -0.1, 0.2]))
    else:
        mean = np.exp(0.5 + X @ [0.3, -0.1, 0.2]) if link == "log" else 1 / (1.5 + X @ [0.1, 0.05, 0.1])
        y = rng.gamma(2.0, mean / 2.0)
    y = y.astype(float)
    est = CumulativeGLM(family=family, link=link).fit_chunks(_chunks(X, y, w, g))
    ref = sm.GLM(y, sm.add_constant(X), family=sm_family, var_weights=w).fit(
        tol=1e-14, **_sm_cov(cov_type, g))
    _assert_matches(est.results(cov_type), ref, cov_type, len(X))


def test_streamed_equals_in_memory_and_chunking_free():
    X, y, g, w = _binary(3)
    one = CumulativeLogisticRegression().fit(X, y, w, clusters=g)
    streamed = CumulativeLogisticRegression().fit_chunks(_chunks(X, y, w, g, size=123))
    np.testing.assert_allclose(streamed.coef_, one.coef_, rtol=1e-10)
    np.testing.assert_allclose(streamed.results("cluster").bse, one.results("cluster").bse, rtol=1e-10)
    assert streamed.n_iter_ == one.n_iter_


def test_parallel_pass_equals_sequential():
    X, y, g, w = _binary(8)
    one = CumulativeLogisticRegression().fit_chunks(_chunks(X, y, w, g, size=500))
    two = CumulativeLogisticRegression(n_jobs=2).fit_chunks(_chunks(X, y, w, g, size=500))
    np.testing.assert_allclose(two.coef_, one.coef_, rtol=1e-10)
    np.testing.assert_allclose(two.results("cluster").bse, one.results("cluster").bse, rtol=1e-10)


def test_string_classes_and_probabilities():
    X, y, _, _ = _binary(4)
    labels = np.where(y == 1, "yes", "no")
    clf = CumulativeLogisticRegression().fit(X, labels)
    np.testing.assert_array_equal(clf.classes_, ["no", "yes"])
    proba = clf.predict_proba(X[:20])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.predict(X[:20]), np.where(proba[:, 1] > 0.5, "yes", "no"))


def test_separation_warns():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    y = (X[:, 0] > 0).astype(float)
    with pytest.warns(SeparationWarning, match="separated"):
        CumulativeLogisticRegression().fit(X, y)


def test_non_convergence_warns():
    X, y, _, _ = _binary(5)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        CumulativeLogisticRegression(max_iter=1).fit(X, y)


def test_one_shot_generator_refused():
    X, y, _, _ = _binary(6)
    with pytest.raises(ValueError, match="one-shot"):
        CumulativeLogisticRegression().fit_chunks(chunk for chunk in _chunks(X, y))


def test_fit_chunks_needs_0_1_labels():
    X, y, _, _ = _binary(7)
    with pytest.raises(ValueError, match="0/1"):
        CumulativeLogisticRegression().fit_chunks(_chunks(X, 2 * y))


@parametrize_with_checks([
    CumulativeGLM(),
    CumulativeGLM(family="poisson"),
    CumulativeLogisticRegression(),
    CumulativeLogisticRegression(link="probit", cov_type="HC1"),
])
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CollinearityWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


def test_summary_header_reports_glm_fit_statistics_as_statsmodels():
    import re

    rng = np.random.default_rng(5)
    X = rng.standard_normal((1500, 3))
    y = rng.gamma(4.0, np.exp(0.2 + X @ [0.3, -0.2, 0.1]) / 4.0)
    est = CumulativeGLM(family="gamma", link="log").fit(X, y)
    ref = sm.GLM(y, sm.add_constant(X), family=sm.families.Gamma(sm.families.links.Log())).fit()
    text = est.summary()
    assert "R-squared" not in text and "Residual std" not in text

    def value(label):
        return float(re.search(rf"{label}:\s+(\S+)", text).group(1))

    assert value("Deviance") == pytest.approx(ref.deviance, rel=1e-5)
    assert value("Pearson chi2") == pytest.approx(ref.pearson_chi2, rel=1e-3)
    assert value("Scale") == pytest.approx(ref.scale, rel=1e-3)
    assert int(value("No. Iterations")) == est.n_iter_
