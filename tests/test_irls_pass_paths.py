"""The fast paths of an IRLS pass give the numbers of the plain formulas.

A light pass over a chunk larger than the Gram's cache blocks is made block
by block (bit for bit the whole chunk's statistics); the observed
information of a canonical link is read off the pass's Gram; unit weights
and 0/1 responses skip terms that are exactly zero.
"""

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import special

import skbigreg.linear_model._glm_irls as glm_irls
from skbigreg.glm import get_family_link
from skbigreg.linear_model import CumulativeGLM, CumulativeLogisticRegression
from skbigreg.passes import irls_pass
from skbigreg.stats import LikelihoodSums


def _logistic(n, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) + [0.0, 3.0, 0.0]
    eta = -1.0 + X @ [0.8, 0.3, -0.5]
    y = (rng.random(n) < special.expit(eta)).astype(float)
    return X, y, rng.uniform(0.5, 2.0, n)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_blocked_light_pass_equals_the_whole_chunk(weighted, fit_intercept):
    X, y, w = _logistic(70_000)  # several of the Gram's cache blocks
    w = w if weighted else None
    family, link = get_family_link("binomial", "logit")
    coef, intercept = np.array([0.5, 0.2, -0.3]), -0.8
    light = irls_pass(X, y, w, coef, intercept, family, link, fit_intercept, complete=False)
    complete = irls_pass(X, y, w, coef, intercept, family, link, fit_intercept)
    assert not light.complete and complete.complete
    np.testing.assert_array_equal(light.gram.comoment, complete.gram.comoment)
    np.testing.assert_array_equal(light.gram.mean, complete.gram.mean)
    assert light.gram.weight_sum == complete.gram.weight_sum
    assert light.n_saturated == complete.n_saturated


def test_guessing_the_last_pass_changes_nothing_on_large_chunks(monkeypatch):
    """Forced complete passes (never blocked) give the default fit bit for bit."""
    X, y, w = _logistic(90_000, seed=1)
    chunks = [{"X": X[s:s + 45_000], "y": y[s:s + 45_000], "sample_weight": w[s:s + 45_000]}
              for s in range(0, len(X), 45_000)]
    default = CumulativeLogisticRegression().fit_chunks(chunks)
    monkeypatch.setattr(glm_irls, "likely_last", lambda state, settings: True)
    forced = CumulativeLogisticRegression().fit_chunks(chunks)
    np.testing.assert_array_equal(forced.coef_, default.coef_)
    np.testing.assert_array_equal(forced.results("HC1").bse, default.results("HC1").bse)
    assert forced.deviance_ == default.deviance_


@pytest.mark.parametrize("family_name, link_name", [("binomial", "logit"), ("poisson", "log"),
                                                    ("binomial", "probit"),
                                                    ("poisson", "identity")])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_observed_information_equals_the_explicit_sum(family_name, link_name, fit_intercept):
    """sum_i w_i (h' nu - (y - mu) nu')_i d_i d_i', with nu' from the closed form."""
    rng = np.random.default_rng(2)
    n = 4000
    X = rng.normal(size=(n, 2)) * 0.3 + [0.0, 2.0]
    w = rng.uniform(0.5, 2.0, n)
    coef, intercept = np.array([0.4, 0.3]), 0.5
    eta = X @ coef + intercept
    if family_name == "binomial":
        y = (rng.random(n) < 0.5).astype(float)
    else:
        y = rng.poisson(2.0, n).astype(float)
    family, link = get_family_link(family_name, link_name)
    stats = irls_pass(X, y, w, coef, intercept, family, link, fit_intercept)
    if (family_name, link_name) == ("binomial", "logit"):
        mu = special.expit(eta)
        weight = mu * (1 - mu)
    elif (family_name, link_name) == ("poisson", "log"):
        weight = np.exp(eta)
    elif family_name == "binomial":  # probit: nu = phi / (Phi (1 - Phi))
        mu, phi = special.ndtr(eta), np.exp(-eta**2 / 2) / np.sqrt(2 * np.pi)
        v = mu * (1 - mu)
        nu_slope = (-eta * phi * v - phi * phi * (1 - 2 * mu)) / v**2
        weight = phi * phi / v - (y - mu) * nu_slope
    else:  # Poisson identity: nu = 1 / mu, nu' = -1 / mu^2
        weight = 1 / eta + (y - eta) / eta**2
    design = np.column_stack([np.ones(n), X]) if fit_intercept else X
    expected = design.T @ (design * (w * weight)[:, None])
    np.testing.assert_allclose(stats.observed.matrix, expected, rtol=1e-8)


def test_statsmodels_robust_errors_on_a_large_logistic_stream():
    X, y, _ = _logistic(60_000, seed=3)
    ours = CumulativeLogisticRegression().fit_chunks(
        [(X[s:s + 30_000], y[s:s + 30_000]) for s in range(0, len(X), 30_000)])
    theirs = sm.GLM(y, sm.add_constant(X), family=sm.families.Binomial()).fit(
        cov_type="HC0", tol=1e-12)
    np.testing.assert_allclose(ours.results("HC0").bse, theirs.bse, rtol=1e-8)
    np.testing.assert_allclose(ours.results().llf, theirs.llf, rtol=1e-10)
    np.testing.assert_allclose(ours.deviance_, theirs.deviance, rtol=1e-10)


@pytest.mark.parametrize("y", [np.array([0.0, 1.0, 1.0, 0.0]), np.array([0.0, 0.25, 1.0, 0.5])])
@pytest.mark.parametrize("w", [np.ones(4), np.array([1.0, 2.0, 0.5, 1.0])])
def test_likelihood_sums_equal_the_full_formulas(y, w):
    """Skipped terms (log w for unit weights, log C(1, y) for 0/1 y) are exactly 0."""
    mu = np.array([0.2, 0.6, 0.7, 0.4])
    sums = LikelihoodSums.from_rows(w, y, mu, "binomial")
    const = special.gammaln(2.0) - special.gammaln(y + 1) - special.gammaln(2 - y)
    loglike = w @ (const + special.xlogy(y, mu) + special.xlog1py(1 - y, -mu))
    assert sums["loglike"] == pytest.approx(loglike, rel=1e-14)
    assert sums["w_const"] == pytest.approx(w @ const, rel=1e-14, abs=0)
    assert sums["log_w"] == pytest.approx(np.sum(np.log(w)), rel=1e-14, abs=0)
    assert sums["w_log_w"] == pytest.approx(np.sum(special.xlogy(w, w)), rel=1e-14, abs=0)
    family, link = get_family_link("binomial", "logit")
    eta = special.logit(mu)
    unit = 2 * (special.xlogy(y, y / mu) + special.xlogy(1 - y, (1 - y) / (1 - mu)))
    assert family.deviance(y, eta, link, w) == pytest.approx(w @ unit, rel=1e-12)


@pytest.mark.filterwarnings("ignore:The InversePower link")
def test_gamma_fit_unchanged_by_the_canonical_shortcut():
    """Gamma with its canonical (inverse) link: robust errors equal statsmodels'."""
    rng = np.random.default_rng(4)
    X = rng.uniform(0.5, 1.5, size=(3000, 2))
    y = rng.gamma(3.0, 1 / (0.5 + X @ [0.4, 0.3]) / 3.0)
    ours = CumulativeGLM(family="gamma").fit(X, y)
    theirs = sm.GLM(y, sm.add_constant(X), family=sm.families.Gamma()).fit(
        cov_type="HC0", tol=1e-12)
    np.testing.assert_allclose(ours.results("HC0").bse, theirs.bse, rtol=1e-7)


@pytest.mark.parametrize("name", ["identity", "log", "inverse", "inverse_squared", "logit",
                                  "probit", "cloglog", "loglog", "cauchit"])
def test_inverse_and_deriv_equals_the_two_calls(name):
    from skbigreg.glm import LINKS

    link = LINKS[name]
    eta = np.linspace(0.1, 3.0, 7) if name.startswith("inverse") else np.linspace(-4, 4, 9)
    mu, slope = link.inverse_and_deriv(eta)
    np.testing.assert_array_equal(mu, link.inverse(eta))
    np.testing.assert_array_equal(slope, link.inverse_deriv(eta))
