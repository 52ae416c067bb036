"""t, F and Wald tests of linear restrictions, and likelihoods, against statsmodels."""

from functools import partial

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from skbigreg.inference import restriction_matrix
from skbigreg.linear_model import CumulativeGLM, CumulativeLinearRegression

NAMES = ["const", "age", "educ", "tenure"]
RESTRICTIONS = [
    "age = 0.5",
    "age = 0.5, educ = tenure",
    "2*educ - tenure = 0",
    "const",
    "(age + educ)/2 = -0.25, tenure - 2 = const",
    ["age = 0.4", "educ + tenure = 1"],
    (np.array([[0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]]), np.array([-0.5, 2.0])),
    np.array([[0.0, 1.0, -1.0, 0.0]]),
]


def _frame(seed=0, n=400):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 3)), columns=NAMES[1:])
    y = pd.Series(1.0 + X @ [0.5, -1.0, 2.0] + rng.normal(size=n), name="wage")
    return X, y, rng.uniform(0.5, 2.0, n), rng.integers(0, 30, n)


def _streamed_ols(X, y, w, g, cov_type, size=90):
    """A linear fit fed in chunks (plus the score pass that HC errors need)."""
    est = CumulativeLinearRegression(cov_type=cov_type)
    for s in range(0, len(X), size):
        part = slice(s, s + size)
        est.partial_fit(X[part], y[part], sample_weight=None if w is None else w[part],
                        clusters=g[part])
    if cov_type in ("HC0", "HC1"):
        for s in range(0, len(X), size):
            part = slice(s, s + size)
            est.partial_fit_scores(X[part], y[part], sample_weight=None if w is None else w[part])
    return est


def _assert_same_test_at(ours, theirs, rtol, p_rtol):
    """Every attribute statsmodels' ContrastResults has, equal to ``rtol`` (p-values ``p_rtol``)."""
    assert ours.distribution == theirs.distribution
    for name in ("effect", "sd", "tvalue", "fvalue", "statistic", "df_num", "df_denom"):
        if getattr(theirs, name, None) is not None:
            np.testing.assert_allclose(np.squeeze(getattr(ours, name)), np.squeeze(getattr(theirs, name)),
                                       rtol=rtol, err_msg=name)
    np.testing.assert_allclose(ours.pvalue, theirs.pvalue, rtol=p_rtol, atol=1e-300)
    if theirs.effect is not None:
        np.testing.assert_allclose(ours.conf_int(0.1), theirs.conf_int(0.1), rtol=rtol)
        mine, ref = ours.summary_frame(alpha=0.1), theirs.summary_frame(alpha=0.1)
        assert list(mine.columns) == list(ref.columns) and list(mine.index) == list(ref.index)
        np.testing.assert_allclose(mine, ref, rtol=p_rtol, atol=1e-300)


def _assert_all_tests_match(res, ref, rtol, p_rtol=1e-9):
    _assert_same_test = partial(_assert_same_test_at, p_rtol=p_rtol)
    for r in RESTRICTIONS:
        _assert_same_test(res.t_test(r), ref.t_test(r), rtol)
        _assert_same_test(res.f_test(r), ref.f_test(r), rtol)
        _assert_same_test(res.wald_test(r, scalar=True), ref.wald_test(r, scalar=True), rtol)
        for use_f in (True, False):
            _assert_same_test(res.wald_test(r, use_f=use_f), ref.wald_test(r, use_f=use_f, scalar=True), rtol)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("cov_type", ["nonrobust", "HC0", "HC1", "cluster"])
def test_ols_wls_tests_equal_statsmodels(cov_type, weighted):
    X, y, w, g = _frame(1)
    w = w if weighted else None
    est = _streamed_ols(X, y, w, g, cov_type)
    model = sm.OLS(y, sm.add_constant(X)) if w is None else sm.WLS(y, sm.add_constant(X), weights=w)
    for use_t in (True, False):
        kwds = {"cov_kwds": {"groups": g}} if cov_type == "cluster" else {}
        ref = model.fit(cov_type=cov_type, use_t=use_t, **kwds)
        _assert_all_tests_match(est.results(use_t=use_t), ref, rtol=1e-10)


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC0"])
@pytest.mark.parametrize("family,sm_family", [
    ("poisson", sm.families.Poisson()),
    ("gamma", sm.families.Gamma(sm.families.links.Log())),
])
def test_glm_tests_equal_statsmodels(family, sm_family, cov_type):
    X, _, w, _ = _frame(2, n=1500)
    rng = np.random.default_rng(3)
    mean = np.exp(0.2 + X @ [0.3, -0.2, 0.1])
    y = pd.Series(rng.poisson(mean) if family == "poisson" else rng.gamma(2.0, mean / 2.0),
                  dtype=float, name="count")
    chunks = [{"X": X[s:s + 200], "y": y[s:s + 200], "sample_weight": w[s:s + 200]}
              for s in range(0, len(X), 200)]
    est = CumulativeGLM(family=family, link="log", cov_type=cov_type).fit_chunks(chunks)
    ref = sm.GLM(y, sm.add_constant(X), family=sm_family, var_weights=w).fit(tol=1e-14, cov_type=cov_type)
    # the IRLS fits agree to ~1e-9 (their stopping rules differ), as in test_glm_irls.py;
    # a p-value of 1e-19 magnifies a relative error in t by about t**2
    _assert_all_tests_match(est.results(), ref, rtol=1e-8, p_rtol=1e-6)


def test_parser_builds_statsmodels_matrices():
    names = ["const", "x1", "x2", "x3"]
    for text in ["x1 = 1, x2 = x3", "2*x1 - x2 = 0", "const", "x1/4 + 3 = -x3*2",
                 "-(x1 - 2*(x2 + 1)) = 0.5e1", "x1 = x2 = x3", "1.5 * x2 + .5"]:
        from statsmodels.formula._manager import FormulaManager
        ref = FormulaManager().get_linear_constraints(text, names)
        R, q = restriction_matrix(text, names)
        np.testing.assert_allclose(R, ref.constraint_matrix, rtol=1e-15)
        np.testing.assert_allclose(q, np.ravel(ref.constraint_values), rtol=1e-15)


def test_names_are_matched_whole_and_may_hold_symbols():
    names = ["const", "x1", "x10", "np.log(a)"]
    R, q = restriction_matrix("x10 - x1 = 2, np.log(a) = 1", names)
    assert R.tolist() == [[0, -1, 1, 0], [0, 0, 0, 1]] and q.tolist() == [2, 1]


@pytest.mark.parametrize("r,message", [
    ("agee = 1", "unknown parameter 'agee'"),
    ("age * educ = 1", "product of two parameters"),
    ("age / educ = 1", "division by a parameter"),
    ("age / 0 = 1", "division by zero"),
    ("1 = 2", "names no parameter"),
    ("age - age = 0", "names no parameter"),
    ("age = ", "expected a number"),
    ("(age = 1", "missing"),
    ("age 1", "unexpected"),
    ("", "expected a number"),
    (np.zeros((1, 4)), "all zero"),
    (np.ones((1, 3)), "shape"),
    ((np.ones((2, 4)), [1.0]), "one value per row"),
    (np.empty((0, 4)), "shape"),
])
def test_bad_restrictions_raise_clear_errors(r, message):
    X, y, _, _ = _frame()
    res = CumulativeLinearRegression().fit(X, y).results()
    for test in (res.t_test, res.f_test, res.wald_test):
        with pytest.raises(ValueError, match=message):
            test(r)


def test_singular_joint_restriction_raises():
    X, y, _, _ = _frame()
    res = CumulativeLinearRegression().fit(X, y).results()
    with pytest.raises(ValueError, match="linearly dependent"):
        res.f_test("age = 1, 2*age = 2")
    with pytest.raises(ValueError, match="linearly dependent"):
        res.wald_test(np.array([[0, 1, 1, 0], [0, 2, 2, 0.0]]))
    assert res.t_test("age = 1, 2*age = 2").tvalue.shape == (2,)  # separate t tests are fine


@pytest.mark.parametrize("alpha", [0, 1, -0.1, 1.5, np.nan, "0.05"])
def test_alpha_outside_unit_interval_raises(alpha):
    X, y, _, _ = _frame()
    res = CumulativeLinearRegression().fit(X, y).results()
    with pytest.raises(ValueError, match="alpha"):
        res.t_test("age").conf_int(alpha)
    with pytest.raises(ValueError, match="alpha"):
        res.conf_int(alpha)


# -- likelihood and information criteria ---------------------------------------
def _glm_data(family, n=1200, seed=4):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 3)), columns=NAMES[1:])
    eta = 0.3 + X @ [0.3, -0.2, 0.1]
    if family == "poisson":
        y = rng.poisson(np.exp(eta))
    elif family == "binomial":
        y = rng.random(n) < 1 / (1 + np.exp(-eta))
    elif family == "gamma":
        y = rng.gamma(2.0, np.exp(eta) / 2.0)
    elif family == "inverse_gaussian":
        y = rng.wald(np.exp(eta), 4.0)
    else:
        y = eta + rng.normal(size=n)
    return X, pd.Series(y, dtype=float, name="y"), rng.uniform(0.5, 2.0, n)


SM_FAMILIES = {
    ("poisson", "log"): sm.families.Poisson(),
    ("binomial", "logit"): sm.families.Binomial(),
    ("binomial", "probit"): sm.families.Binomial(sm.families.links.Probit()),
    ("gaussian", "identity"): sm.families.Gaussian(),
    ("gaussian", "log"): sm.families.Gaussian(sm.families.links.Log()),
    ("gamma", "log"): sm.families.Gamma(sm.families.links.Log()),
    ("gamma", "inverse"): sm.families.Gamma(),
    ("inverse_gaussian", "log"): sm.families.InverseGaussian(sm.families.links.Log()),
}


@pytest.mark.parametrize("family,link", list(SM_FAMILIES))
@pytest.mark.parametrize("weighted", [False, True])
def test_glm_likelihoods_equal_statsmodels(family, link, weighted):
    X, y, w = _glm_data(family)
    if family == "gaussian" and link == "log":
        y = y + 5.0
    if family == "gamma" and link == "inverse":  # a mean inside the link's domain
        rng = np.random.default_rng(5)
        y = pd.Series(rng.gamma(2.0, 1 / (1.5 + X @ [0.1, 0.05, 0.1]) / 2.0), name="y")
    w = w if weighted else None
    chunks = [{"X": X[s:s + 100], "y": y[s:s + 100], "sample_weight": None if w is None else w[s:s + 100]}
              for s in range(0, len(X), 100)]
    res = CumulativeGLM(family=family, link=link).fit_chunks(chunks).results()
    ref = sm.GLM(y, sm.add_constant(X), family=SM_FAMILIES[family, link],
                 var_weights=w).fit(tol=1e-14)
    if family == "gamma" and weighted:
        with pytest.raises(ValueError, match="unequal weights"):
            res.llf
        np.testing.assert_allclose(res.null_deviance, ref.null_deviance, rtol=1e-10)
        return
    for name in ("llf", "llnull", "aic", "bic", "bic_llf", "bic_deviance", "deviance", "null_deviance"):
        np.testing.assert_allclose(getattr(res, name), getattr(ref, name), rtol=1e-9, err_msg=name)
    for kind in ("mcf", "cs"):
        np.testing.assert_allclose(res.pseudo_rsquared(kind), ref.pseudo_rsquared(kind), rtol=1e-8)
    with pytest.raises(ValueError, match="kind"):
        res.pseudo_rsquared("nagelkerke")


def test_logistic_classifier_likelihood_equals_statsmodels_logit():
    from skbigreg.linear_model import CumulativeLogisticRegression
    X, y, _ = _glm_data("binomial")
    res = CumulativeLogisticRegression().fit(X, y).results()
    ref = sm.Logit(y, sm.add_constant(X)).fit(disp=0, tol=1e-14)
    for name in ("llf", "llnull", "aic", "bic"):
        np.testing.assert_allclose(getattr(res, name), getattr(ref, name), rtol=1e-9, err_msg=name)
    np.testing.assert_allclose(res.pseudo_rsquared("mcf"), ref.prsquared, rtol=1e-8)


@pytest.mark.parametrize("weighted", [False, True])
def test_least_squares_likelihood_equals_statsmodels(weighted):
    X, y, w, g = _frame(5)
    w = w if weighted else None
    res = CumulativeLinearRegression().fit(X, y, sample_weight=w).results()
    model = sm.OLS(y, sm.add_constant(X)) if w is None else sm.WLS(y, sm.add_constant(X), weights=w)
    ref = model.fit()
    for name in ("llf", "aic", "bic"):
        np.testing.assert_allclose(getattr(res, name), getattr(ref, name), rtol=1e-10, err_msg=name)
    with pytest.raises(ValueError, match="GLMs"):
        res.llnull


@pytest.mark.parametrize("family", ["poisson", "binomial", "gaussian", "gamma", "inverse_gaussian"])
def test_likelihood_sums_merge_in_any_order(family):
    """One chunk's sums equal the sum of its parts in any order (and with the empty identity)."""
    from skbigreg.stats import LikelihoodSums

    X, y, w = _glm_data(family, n=300)
    y, mu = y.to_numpy(), np.clip(y.to_numpy().mean() + 0.1 * X["age"].to_numpy(), 0.05, None)
    mu = np.clip(mu, None, 0.95) if family == "binomial" else mu
    whole = LikelihoodSums.from_rows(w, y, mu, family)
    parts = [LikelihoodSums.from_rows(w[s], y[s], mu[s], family)
             for s in (slice(0, 70), slice(70, 200), slice(200, 300))]
    for merged in (parts[0] + parts[1] + parts[2], parts[2] + (parts[0] + LikelihoodSums.empty()) + parts[1]):
        np.testing.assert_allclose(merged.sums, whole.sums, rtol=1e-12)
        np.testing.assert_allclose(merged.response.mean, [np.average(y, weights=w)], rtol=1e-12)
        np.testing.assert_allclose(merged.response.moments(center=True)[0, 0],
                                   w @ (y - np.average(y, weights=w)) ** 2, rtol=1e-10)
        assert merged.weight_range == (w.min(), w.max())


def test_glm_cluster_tests_use_g_minus_one_degrees_of_freedom():
    """statsmodels' GLM with cluster errors tests with G - 1 denominator dof."""
    import statsmodels.api as sm

    from skbigreg.linear_model import CumulativeGLM

    rng = np.random.default_rng(11)
    X = rng.normal(size=(600, 2))
    y = rng.poisson(np.exp(0.3 + X @ [0.4, -0.2])).astype(float)
    g = rng.integers(0, 20, 600)
    est = CumulativeGLM(family="poisson", cov_type="cluster").fit(X, y, clusters=g)
    ref = sm.GLM(y, sm.add_constant(X), family=sm.families.Poisson()).fit(
        cov_type="cluster", cov_kwds={"groups": g}, tol=1e-14)
    ours, theirs = est.results().f_test("x0 = 0, x1 = 0"), ref.f_test("x1 = 0, x2 = 0")
    assert ours.df_denom == theirs.df_denom == 19
    np.testing.assert_allclose(ours.fvalue, np.squeeze(theirs.fvalue), rtol=1e-7)
    np.testing.assert_allclose(ours.pvalue, theirs.pvalue, rtol=1e-6)


@pytest.mark.parametrize("weighted", [False, True])
def test_least_squares_llf_aic_bic_equal_statsmodels(weighted):
    """The Gaussian likelihood of a streamed OLS/WLS fit, with statsmodels' sum log w."""
    rng = np.random.default_rng(12)
    X = rng.normal(size=(500, 3))
    y = 1.0 + X @ [0.5, -1.0, 2.0] + rng.normal(size=500)
    w = rng.uniform(0.2, 3.0, 500) if weighted else None
    est = CumulativeLinearRegression()
    for start in range(0, 500, 90):
        rows = slice(start, start + 90)
        est.partial_fit(X[rows], y[rows], sample_weight=None if w is None else w[rows])
    ref = sm.WLS(y, sm.add_constant(X), weights=1.0 if w is None else w).fit()
    res = est.results()
    for name in ("llf", "aic", "bic"):
        np.testing.assert_allclose(getattr(res, name), getattr(ref, name), rtol=1e-10)


def test_least_squares_llf_refused_where_sum_log_w_is_unknown():
    from skbigreg.stats import GramStats

    rng = np.random.default_rng(13)
    X, y, w = rng.normal(size=(100, 2)), rng.normal(size=100), rng.uniform(1, 2, 100)
    site_fit = CumulativeLinearRegression.from_statistics(GramStats.from_arrays(X, y, w))
    with pytest.raises(ValueError, match="sum\\(log w\\)"):
        site_fit.results().llf
    frequency = CumulativeLinearRegression(weight_type="frequency").fit(X, y, sample_weight=w)
    with pytest.raises(ValueError, match="sum\\(log w\\)"):
        frequency.results().aic
