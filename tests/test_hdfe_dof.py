"""Two or more absorbed factors: singletons dropped as fixest, exact degrees of freedom.

Oracles: pyfixest ``feols(..., fixef_rm="singleton")`` (its iterative
singleton removal) for the singletons; statsmodels OLS on explicit dummies
(``df_resid = n - rank``) and numpy's rank of the level indicators for the
degrees of freedom of a disconnected worker-firm panel, where pyfixest
counts one reference only (its errors, rescaled by the ratio of the
degrees of freedom, are the oracle for IV).
"""

import warnings

import numpy as np
import pandas as pd
import pytest

from skbigreg.linear_model import CumulativeFixedEffectsRegression, CumulativeIVRegression
from skbigreg.stats import LevelPairs

pf = pytest.importorskip("pyfixest")
sm = pytest.importorskip("statsmodels.api")


def _with_singletons(seed=0):
    """Random worker-firm rows plus a chain of singletons: dropping worker 1000's
    one row leaves firm 100 with one row, whose worker 1001 is then left with one
    row at firm 101, and so on -- fixest removes them in rounds."""
    rng = np.random.default_rng(seed)
    worker = np.r_[rng.integers(0, 500, 1500), 1000, 1001, 1001, 1002, 1002]
    firm = np.r_[rng.integers(0, 60, 1500), 100, 100, 101, 101, 102]
    n = worker.size
    z, u, w1 = rng.normal(size=(3, n))
    x = z + u + rng.normal(size=1003)[worker]
    y = x - 0.5 * w1 + u + rng.normal(size=n)
    data = pd.DataFrame(dict(y=y, x=x, z=z, w1=w1, worker=worker, firm=firm))
    return data.sample(frac=1.0, random_state=2).reset_index(drop=True)


def _chunks(data, x_cols, cluster=None, size=400):
    return [{"X": p[x_cols], "y": p.y, "entities": p[["worker", "firm"]],
             **({} if cluster is None else {"clusters": p[cluster].to_numpy()})}
            for p in (data.iloc[s:s + size] for s in range(0, len(data), size))]


def _pyfixest(formula, data, vcov, fixef_rm):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pf.feols(formula, data, vcov=vcov, fixef_rm=fixef_rm, fixef_tol=1e-12)


@pytest.mark.parametrize("cov_type, vcov, cluster", [
    ("nonrobust", "iid", None), ("HC1", "hetero", None), ("cluster", {"CRV1": "firm"}, "firm"),
])
@pytest.mark.parametrize("model", ["ols", "iv"])
def test_dropped_singletons_equal_pyfixest(cov_type, vcov, cluster, model):
    data = _with_singletons()
    once = (data.worker.map(data.worker.value_counts()) == 1) \
        | (data.firm.map(data.firm.value_counts()) == 1)
    if model == "ols":
        est = CumulativeFixedEffectsRegression(cov_type=cov_type, drop_singletons=True)
        est.fit_chunks(_chunks(data, ["w1", "x"], cluster))
        ref = _pyfixest("y ~ w1 + x | worker + firm", data, vcov, "singleton")
    else:
        est = CumulativeIVRegression(endogenous=["x"], instruments=["z"], cov_type=cov_type,
                                     drop_singletons=True)
        est.fit_chunks(_chunks(data, ["w1", "x", "z"], cluster))
        ref = _pyfixest("y ~ w1 | worker + firm | x ~ z", data, vcov, "singleton")
    res = est.results()
    assert est.n_singletons_ == len(data) - ref._N > once.sum()  # more than one round
    assert res.nobs == ref._N
    np.testing.assert_allclose(res.params[ref.coef().index], ref.coef(), rtol=1e-8)
    np.testing.assert_allclose(res.bse[ref.coef().index], ref.se(), rtol=1e-6)
    assert f"{est.n_singletons_} observation(s) in singleton levels" in str(res.summary())


def test_singletons_are_kept_by_default_and_drop_singletons_needs_two_factors():
    data = _with_singletons()
    kept = CumulativeFixedEffectsRegression().fit(data[["w1", "x"]], data.y,
                                                  entities=data[["worker", "firm"]])
    assert kept.n_singletons_ == 0 and kept.results().nobs == len(data)
    assert "singleton" not in str(kept.summary())
    for est in (CumulativeFixedEffectsRegression(drop_singletons=True),
                CumulativeIVRegression(endogenous=["x"], instruments=["z"],
                                       drop_singletons=True)):
        with pytest.raises(ValueError, match="two or more"):
            est.fit(data[["w1", "x", "z"]], data.y, entities=data.worker)


W, F = 60, 8  # workers and firms of each group


def _disconnected(seed=1):
    """Two worker-firm groups with no mover between them (and movers within each)."""
    rng = np.random.default_rng(seed)
    parts = []
    for group in range(2):
        worker = np.repeat(np.arange(W), 4) + W * group
        firm = rng.integers(0, F, worker.size) + F * group
        parts.append(pd.DataFrame({"worker": worker, "firm": firm}))
    data = pd.concat(parts, ignore_index=True)
    n = len(data)
    z, u, w1 = rng.normal(size=(3, n))
    alpha = rng.normal(size=2 * W)[data.worker]
    x = z + u + alpha
    data = data.assign(z=z, w1=w1, x=x, y=x - 0.5 * w1 + alpha + u + rng.normal(size=n))
    return data.sample(frac=1.0, random_state=3).reset_index(drop=True)


def test_disconnected_panel_counts_the_effects_by_component():
    data = _disconnected()
    workers, firms = pd.factorize(data.worker)[0], pd.factorize(data.firm)[0]
    D = np.hstack([np.eye(2 * W)[workers], np.eye(2 * F)[firms]])
    rank = np.linalg.matrix_rank(D)
    assert rank == 2 * W + 2 * F - 2
    est = CumulativeFixedEffectsRegression().fit_chunks(_chunks(data, ["w1", "x"]))
    assert est.df_absorbed_ == rank
    with warnings.catch_warnings():  # statsmodels says the dummies are rank deficient
        warnings.simplefilter("ignore")
        ref = sm.OLS(data.y.to_numpy(), np.column_stack([data[["w1", "x"]], D])).fit()
    assert ref.df_resid == est.results().df_resid
    np.testing.assert_allclose(est.coef_, ref.params[:2], rtol=1e-8)
    np.testing.assert_allclose(est.results().bse, ref.bse[:2], rtol=1e-6)


def test_disconnected_panel_iv_rescales_pyfixest_by_the_exact_dof():
    data = _disconnected()
    est = CumulativeIVRegression(endogenous=["x"], instruments=["z"]).fit_chunks(
        _chunks(data, ["w1", "x", "z"]))
    ref = _pyfixest("y ~ w1 | worker + firm | x ~ z", data, "iid", "none")
    n, k = len(data), 2
    ratio = np.sqrt((n - k - (2 * W + 2 * F - 1)) / (n - k - (2 * W + 2 * F - 2)))
    np.testing.assert_allclose(est.results().bse[ref.coef().index], ref.se() * ratio,
                               rtol=1e-6)


def test_three_factors_count_one_reference_per_further_factor():
    """worker + firm (two components) + year crossing both: rank = G - 2 - 1."""
    data = _disconnected()
    data["year"] = np.random.default_rng(4).integers(0, 5, len(data))
    codes = [pd.factorize(data[c])[0] for c in ("worker", "firm", "year")]
    D = np.hstack([np.eye(c.max() + 1)[c] for c in codes])
    est = CumulativeFixedEffectsRegression().fit(data[["w1", "x"]], data.y,
                                                 entities=data[["worker", "firm", "year"]])
    assert est.df_absorbed_ == np.linalg.matrix_rank(D) == 2 * W + 2 * F + 5 - 3


def test_level_pairs_merge_in_any_order():
    rng = np.random.default_rng(5)
    first, second = rng.integers(0, 40, 500), rng.integers(0, 9, 500)
    parts = [LevelPairs.from_codes(first[i:i + 70], second[i:i + 70], (40, 9))
             for i in range(0, 500, 70)]
    forward, backward = sum(parts), sum(parts[::-1])
    whole = LevelPairs.from_codes(first, second, (40, 9))
    np.testing.assert_array_equal(forward.distinct(), whole.distinct())
    np.testing.assert_array_equal(backward.distinct(), whole.distinct())
    assert len(forward.keys) <= 2 * len(whole.keys)  # repeats are dropped as they pile up
    np.testing.assert_array_equal(whole.distinct(), np.unique(first * 9 + second))
    assert whole.n_components() == 1
    with pytest.raises(ValueError, match="levels"):
        whole + LevelPairs.from_codes(first, second, (40, 10))
