"""Light IRLS passes and the subsample start change the cost of a fit, never its answer.

A Fisher-scoring pass gathers the inference statistics (scores, observed
information, cluster sums, likelihood sums) only when it is expected to be
the last; the first full pass starts from the MLE of a subsample of the
first chunk. These tests hold the fit to the one made with every pass
complete and the family's usual start, and to statsmodels.
"""

import numpy as np
import pytest
import statsmodels.api as sm

import skbigreg.linear_model._glm_irls as glm_irls
from skbigreg.glm import get_family_link
from skbigreg.linear_model import CumulativeGLM, CumulativeLogisticRegression
from skbigreg.passes import irls_pass, subsample_start
from skbigreg.stats import IRLSPass


def _data(seed=0, n=6000):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) + [0.0, 4.0, 0.0]
    eta = 0.3 + X @ [0.8, -0.2, 0.4]
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    return X, y, rng.integers(0, 40, n), rng.uniform(0.5, 2.0, n)


def _chunks(X, y, w, g, size=1500):
    return [{"X": X[s:s + size], "y": y[s:s + size], "sample_weight": w[s:s + size],
             "clusters": g[s:s + size]} for s in range(0, len(X), size)]


def _summary(est):
    out = {"coef": est.coef_, "intercept": est.intercept_, "n_iter": est.n_iter_,
           "deviance": est.deviance_}
    for cov_type in ("nonrobust", "HC0", "HC1", "cluster"):
        res = est.results(cov_type)
        out[cov_type] = np.asarray(res.bse)
    res = est.results()
    out["llf"], out["aic"], out["pearson"] = res.llf, res.aic, est.pass_stats_.pearson
    return out


@pytest.mark.parametrize("always", [True, False])
def test_guessing_the_last_pass_changes_nothing(monkeypatch, always):
    """Complete every pass, or only a repeated final one: the same fit, bit for bit."""
    X, y, g, w = _data()
    default = _summary(CumulativeLogisticRegression().fit_chunks(_chunks(X, y, w, g)))
    monkeypatch.setattr(glm_irls, "likely_last", lambda state, settings: always)
    forced = _summary(CumulativeLogisticRegression().fit_chunks(_chunks(X, y, w, g)))
    assert forced.keys() == default.keys()
    for key in default:
        np.testing.assert_array_equal(forced[key], default[key], err_msg=key)


def test_subsample_start_reaches_the_same_mle(monkeypatch):
    """Started from the subsample's MLE or from the family's means: one MLE, as statsmodels'."""
    X, y, g, w = _data(1, n=20_000)
    started = CumulativeLogisticRegression().fit_chunks(_chunks(X, y, w, g, 5000))
    monkeypatch.setattr(glm_irls, "subsample_start", lambda *args, **kwargs: None)
    usual = CumulativeLogisticRegression().fit_chunks(_chunks(X, y, w, g, 5000))
    assert started.n_iter_ < usual.n_iter_  # the point of the start
    np.testing.assert_allclose(started.coef_, usual.coef_, rtol=1e-9, atol=1e-12)
    ref = sm.GLM(y, sm.add_constant(X), family=sm.families.Binomial(), var_weights=w).fit(
        tol=1e-14)
    np.testing.assert_allclose(np.r_[started.intercept_, started.coef_], ref.params, rtol=1e-8)
    np.testing.assert_allclose(started.results().bse, ref.bse, rtol=1e-8)


def test_in_memory_fit_uses_the_start_on_large_data():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(200_000, 2))
    y = rng.poisson(np.exp(0.5 + X @ [0.3, -0.2])).astype(float)
    est = CumulativeGLM(family="poisson").fit(X, y)
    ref = sm.GLM(y, sm.add_constant(X), family=sm.families.Poisson()).fit(tol=1e-14)
    np.testing.assert_allclose(np.r_[est.intercept_, est.coef_], ref.params, rtol=1e-8)
    np.testing.assert_allclose(est.results().bse, ref.bse, rtol=1e-8)
    assert est.n_iter_ <= 4


def test_separated_first_chunk_falls_back_to_the_usual_start():
    """Rows sorted by y: the first chunk is all zeros (no MLE); the fit is still statsmodels'."""
    X, y, g, w = _data(3)
    order = np.argsort(y, kind="stable")
    X, y, g, w = X[order], y[order], g[order], w[order]
    first = (X[:1500], y[:1500], w[:1500], None)
    family, link = get_family_link("binomial", "logit")
    assert subsample_start(first, family, link, True) is None
    est = CumulativeLogisticRegression().fit_chunks(_chunks(X, y, w, g))
    ref = sm.GLM(y, sm.add_constant(X), family=sm.families.Binomial(), var_weights=w).fit(
        tol=1e-14)
    np.testing.assert_allclose(np.r_[est.intercept_, est.coef_], ref.params, rtol=1e-8)


def test_start_on_a_design_the_full_pass_finds_collinear():
    """A start for every column, then columns dropped by the first full pass: still the MLE."""
    X, y, _g, _w = _data(4)
    X = np.column_stack([X, X[:, 0] + X[:, 2]])  # collinear
    reference = CumulativeLogisticRegression().fit(X[:, :3], y).coef_
    family, link = get_family_link("binomial", "logit")
    item = (X, y, None, None)
    start = np.r_[0.1, 0.5, -0.1, 0.2, 0.0]
    fresh = CumulativeLogisticRegression()
    fresh.n_features_in_ = 4
    with pytest.warns(Warning, match="rank deficient"):
        fresh._iterate(lambda state, columns, complete: glm_irls.irls_chunk_pass(
            item, state.coef, state.intercept, family, link, True, columns, complete), start)
    np.testing.assert_allclose(fresh.coef_[:3], reference, rtol=1e-9)
    assert fresh.coef_[3] == 0.0


def test_light_and_complete_passes_do_not_merge():
    X, y, _g, _w = _data()
    family, link = get_family_link("binomial", "logit")
    light = irls_pass(X[:10], y[:10], None, np.zeros(3), 0.0, family, link, True, complete=False)
    full = irls_pass(X[10:20], y[10:20], None, np.zeros(3), 0.0, family, link, True)
    assert not light.complete and full.complete
    assert (light + light).gram.n_rows == 20 and (light + light).meat is None
    with pytest.raises(ValueError, match="light IRLS pass"):
        light + full
    assert isinstance(full + IRLSPass.empty(3, True), IRLSPass)
