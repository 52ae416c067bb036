"""Families and links against statsmodels and closed forms; IRLS against statsmodels GLM."""

import warnings

import numpy as np
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose
from scipy import stats

from skbigreg.glm import FAMILIES, LINKS, get_family_link
from skbigreg.solvers._irls import fit_glm_irls

L = sm.families.links
SM_LINKS = {
    "identity": L.Identity(),
    "log": L.Log(),
    "inverse": L.InversePower(),
    "inverse_squared": L.InverseSquared(),
    "logit": L.Logit(),
    "probit": L.Probit(),
    "cloglog": L.CLogLog(),
    "loglog": L.LogLog(),
    "cauchit": L.Cauchy(),
}
SM_FAMILIES = {
    "gaussian": sm.families.Gaussian,
    "binomial": sm.families.Binomial,
    "poisson": sm.families.Poisson,
    "gamma": sm.families.Gamma,
    "inverse_gaussian": sm.families.InverseGaussian,
}
PAIRS = [(f, name) for f, fam in FAMILIES.items() for name in fam.links]


def _eta(link_name):
    if LINKS[link_name].domain_positive:
        return np.linspace(0.2, 3.0, 15)
    return np.linspace(-3.0, 3.0, 15)


@pytest.mark.parametrize("name", sorted(LINKS))
def test_link_matches_statsmodels(name):
    link, ref = LINKS[name], SM_LINKS[name]
    eta = _eta(name)
    mu = link.inverse(eta)
    assert_allclose(mu, ref.inverse(eta), rtol=1e-12)
    assert_allclose(link.inverse_deriv(eta), ref.inverse_deriv(eta), rtol=1e-10)
    # g(h(eta)) = eta up to the conditioning of g where mu is near 0 or 1
    assert_allclose(link.link(mu), eta, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("name", ["logit", "probit", "cloglog", "loglog", "cauchit"])
def test_binary_link_complement_and_nu_closed_forms(name):
    link = LINKS[name]
    eta = np.linspace(-2.5, 2.5, 17)  # the naive forms lose digits further out
    mu = link.inverse(eta)
    assert_allclose(link.inverse_complement(eta), 1 - mu, rtol=1e-12, atol=1e-15)
    # nu = h' / (mu (1 - mu)), the notes' table
    assert_allclose(link.binomial_nu(eta), link.inverse_deriv(eta) / (mu * (1 - mu)), rtol=1e-10)


def test_nu_table_closed_forms():
    eta = np.linspace(-2, 2, 9)
    fam, link = get_family_link("binomial", "probit")
    expected = stats.norm.pdf(eta) / (stats.norm.cdf(eta) * stats.norm.sf(eta))
    assert_allclose(fam.nu(link, eta), expected, rtol=1e-12)
    fam, link = get_family_link("binomial", "cloglog")
    t = np.exp(eta)
    assert_allclose(fam.nu(link, eta), t / (1 - np.exp(-t)), rtol=1e-12)
    fam, link = get_family_link("binomial", "loglog")
    s = np.exp(-eta)
    assert_allclose(fam.nu(link, eta), s / (1 - np.exp(-s)), rtol=1e-12)
    fam, link = get_family_link("binomial", "cauchit")
    h = 0.5 + np.arctan(eta) / np.pi
    assert_allclose(fam.nu(link, eta), 1 / (np.pi * (1 + eta**2) * h * (1 - h)), rtol=1e-12)
    for family, link_name, value in [
        ("binomial", "logit", 1.0), ("poisson", "log", 1.0), ("gaussian", "identity", 1.0),
        ("gamma", "inverse", -1.0), ("inverse_gaussian", "inverse_squared", -0.5),
    ]:
        fam, link = get_family_link(family, link_name)
        positive = np.linspace(0.2, 3, 9)
        assert_allclose(fam.nu(link, positive), value, rtol=1e-12)
        # the generic h'/V(h) gives the same constant
        generic = link.inverse_deriv(positive) / fam.variance(link.inverse(positive))
        assert_allclose(generic, value, rtol=1e-12)


def test_tails_stay_finite():
    eta = np.array([-40.0, -15.0, 15.0, 40.0])
    for name in ["logit", "probit", "cloglog", "loglog", "cauchit"]:
        fam, link = get_family_link("binomial", name)
        assert np.all(np.isfinite(fam.nu(link, eta))), name
        assert np.all(np.isfinite(fam.fisher_weight(link, eta))), name
        assert np.all(fam.fisher_weight(link, eta) >= 0), name
    # cloglog Fisher weight t^2 / expm1(t) where 1 - mu underflows
    fam, link = get_family_link("binomial", "cloglog")
    t = np.exp(4.0)
    assert_allclose(fam.fisher_weight(link, 4.0), t**2 / np.expm1(t), rtol=1e-10)


@pytest.mark.parametrize("family,link_name", PAIRS)
def test_variance_and_deviance_match_statsmodels(family, link_name):
    fam, link = get_family_link(family, link_name)
    ref = SM_FAMILIES[family](SM_LINKS[link_name])
    rng = np.random.default_rng(0)
    y = rng.uniform(0.05, 0.95, 20) if family == "binomial" else rng.uniform(0.5, 3, 20)
    eta = link.link(rng.uniform(0.1, 0.9, 20) if family == "binomial" else rng.uniform(0.5, 3, 20))
    mu = link.inverse(eta)
    assert_allclose(fam.variance(mu), ref.variance(mu), rtol=1e-12)
    w = rng.uniform(1, 3, 20)
    assert_allclose(fam.deviance(y, eta, link, w), ref.deviance(y, mu, freq_weights=w), rtol=1e-10)


def test_check_y_and_bad_link():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        FAMILIES["binomial"].check_y(np.array([0.0, 1.5]))
    with pytest.raises(ValueError, match="y >= 0"):
        FAMILIES["poisson"].check_y(np.array([-1.0, 2.0]))
    with pytest.raises(ValueError, match="y > 0"):
        FAMILIES["gamma"].check_y(np.array([0.0, 2.0]))
    with pytest.raises(ValueError, match="y > 0"):
        FAMILIES["inverse_gaussian"].check_y(np.array([0.0, 2.0]))
    with pytest.raises(ValueError, match="accepts the links"):
        get_family_link("poisson", "logit")


def _simulate(family, link, n=3000, seed=0):
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.normal(size=(n, 3)) * 0.3])
    eta = X @ [0.3, 0.5, -0.4, 0.2]
    if link.domain_positive:
        eta = eta + 1.5
        X[:, 0] = 1.0
    mu = link.inverse(eta)
    if family.name == "binomial":
        y = (rng.random(n) < mu).astype(float)
    elif family.name == "poisson":
        y = rng.poisson(mu).astype(float)
    elif family.name == "gamma":
        y = rng.gamma(2.0, mu / 2.0)
    elif family.name == "inverse_gaussian":
        y = rng.wald(mu, 5.0)
    else:
        y = mu + 0.3 * rng.normal(size=n)
    if link.domain_positive:  # intercept shifted by 1.5 to keep eta > 0
        X = X.copy()
    return X, y, rng.integers(1, 4, n).astype(float)


@pytest.mark.parametrize("family_name,link_name", PAIRS)
def test_irls_matches_statsmodels_glm(family_name, link_name):
    family, link = get_family_link(family_name, link_name)
    if family_name == "poisson" and link_name == "identity":
        pytest.skip("identity Poisson needs a positive mean everywhere; not simulated here")
    if family_name == "gamma" and link_name == "identity" or (
        family_name == "inverse_gaussian" and link_name in ("identity", "inverse")
    ):
        pytest.skip("non-canonical positive-mean links are not simulated here")
    X, y, w = _simulate(family, link)
    ref_family = SM_FAMILIES[family_name](SM_LINKS[link_name])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = sm.GLM(y, X, family=ref_family, freq_weights=w).fit(tol=1e-14, maxiter=300)
    res = fit_glm_irls(X, y, w, family, link, tol=1e-12)
    assert res.converged
    assert_allclose(res.coef, ref.params, rtol=1e-8, atol=1e-8)
    assert_allclose(res.deviance, ref.deviance, rtol=1e-9)
    # the information is the unscaled inverse covariance
    assert_allclose(np.linalg.inv(res.information) * ref.scale, ref.cov_params(), rtol=1e-6)


def test_irls_warm_start_at_the_mle_stays():
    family, link = get_family_link("binomial", "logit")
    X, y, w = _simulate(family, link)
    mle = fit_glm_irls(X, y, w, family, link).coef
    again = fit_glm_irls(X, y, w, family, link, coef_init=mle)
    assert again.n_iter <= 2
    assert_allclose(again.coef, mle, rtol=0, atol=1e-12)
