"""HC2/HC3 from a streamed second pass, and predictions with uncertainty.

Every number is compared with statsmodels fitted in memory on the same rows
(``OLS``/``WLS(...).fit(cov_type=...)``, ``get_prediction(...).summary_frame``),
the skbigreg fits streamed in chunks of 100 rows.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from skbigreg.exceptions import DegreesOfFreedomWarning, MissingPassError
from skbigreg.linear_model import CumulativeIVRegression, CumulativeLinearRegression
from skbigreg.stats import LeverageOuterProducts

N, CHUNK = 537, 100


def _data(seed=0, n=N):
    """Heteroskedastic rows with offset, differently scaled columns, and weights."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) * [1.0, 5.0, 0.1] + [3.0, -2.0, 10.0]
    noise = rng.normal(size=(n, 2)) * (1.0 + np.abs(X[:, :1] - 3.0))
    y = X @ rng.normal(size=(3, 2)) + 0.5 + noise
    return X, y, rng.uniform(0.2, 3.0, n)


def _chunks(*arrays):
    for start in range(0, len(arrays[0]), CHUNK):
        yield tuple(None if a is None else a[start:start + CHUNK] for a in arrays)


def _streamed(X, y, w, **params):
    model = CumulativeLinearRegression(**params)
    for part in _chunks(X, y, w):
        model.partial_fit(*part)
    for part in _chunks(X, y, w):
        model.partial_fit_scores(*part)
    return model


def _statsmodels(X, y, w, fit_intercept):
    design = sm.add_constant(X) if fit_intercept else X
    return sm.OLS(y, design) if w is None else sm.WLS(y, design, weights=w)


# -- HC2 / HC3 -------------------------------------------------------------------
@pytest.mark.parametrize("cov_type", ["HC2", "HC3"])
@pytest.mark.parametrize("solver", ["gram", "qr"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_streamed_hc23_equals_statsmodels(cov_type, solver, weighted, fit_intercept):
    X, y, w = _data()
    w = w if weighted else None
    model = _streamed(X, y[:, 0], w, solver=solver, fit_intercept=fit_intercept)
    reference = _statsmodels(X, y[:, 0], w, fit_intercept).fit(cov_type=cov_type)
    res = model.results(cov_type)
    np.testing.assert_allclose(res.bse.to_numpy(), reference.bse, rtol=1e-10)
    np.testing.assert_allclose(res.cov, reference.cov_params(), rtol=1e-10,
                               atol=1e-10 * np.abs(reference.cov_params()).max())
    np.testing.assert_allclose(res.pvalues.to_numpy(), reference.pvalues, rtol=1e-8)
    assert res.cov_type == cov_type and not res.use_t


@pytest.mark.parametrize("cov_type", ["HC2", "HC3"])
def test_hc23_of_second_target(cov_type):
    X, y, w = _data(1)
    model = _streamed(X, y, w)
    reference = _statsmodels(X, y[:, 1], w, True).fit(cov_type=cov_type)
    np.testing.assert_allclose(model.results(cov_type, target=1).bse.to_numpy(),
                               reference.bse, rtol=1e-10)


def test_fit_and_fit_chunks_make_the_pass_for_hc3():
    X, y, w = _data(2)
    reference = _statsmodels(X, y[:, 0], w, True).fit(cov_type="HC3").bse
    in_memory = CumulativeLinearRegression(cov_type="HC3").fit(X, y[:, 0], w)
    chunks = [{"X": a, "y": b, "sample_weight": c} for a, b, c in _chunks(X, y[:, 0], w)]
    streamed = CumulativeLinearRegression(cov_type="HC3").fit_chunks(chunks)
    for model in (in_memory, streamed):
        np.testing.assert_allclose(model.results().bse.to_numpy(), reference, rtol=1e-10)


def test_dask_fit_gives_hc3():
    da = pytest.importorskip("dask.array")
    X, y, w = _data(3)
    model = CumulativeLinearRegression(cov_type="HC3").fit(
        da.from_array(X, chunks=(CHUNK, 3)), da.from_array(y[:, 0], chunks=CHUNK),
        da.from_array(w, chunks=CHUNK))
    reference = _statsmodels(X, y[:, 0], w, True).fit(cov_type="HC3").bse
    np.testing.assert_allclose(model.results().bse.to_numpy(), reference, rtol=1e-10)


@pytest.mark.parametrize("cov_type", ["HC2", "HC3"])
def test_hc23_without_second_pass_is_refused(cov_type):
    X, y, _ = _data(4)
    model = CumulativeLinearRegression().partial_fit(X, y[:, 0])
    with pytest.raises(MissingPassError, match="second pass"):
        model.results(cov_type)
    assert not hasattr(model, "score_pass_")
    model.partial_fit_scores(X[:200], y[:200, 0])
    with pytest.raises(MissingPassError, match="did not see the rows"):
        model.results(cov_type)


def test_unit_leverage_row_gives_nan_with_a_warning():
    """A dummy set on one row only: the fit passes through it (h = 1), and
    HC2/HC3 divide by 1 - h = 0; NaN errors and a warning, never finite noise."""
    X, y, _ = _data(5)
    dummy = np.zeros(N)
    dummy[7] = 1.0
    X = np.column_stack([X, dummy])
    hat = sm.OLS(y[:, 0], sm.add_constant(X)).fit().get_influence().hat_matrix_diag
    assert hat[7] == pytest.approx(1.0, abs=1e-12)  # the oracle's leverage
    model = _streamed(X, y[:, 0], None)
    for cov_type in ("HC2", "HC3"):
        with pytest.warns(DegreesOfFreedomWarning, match="1 row.*leverage one"):
            assert model.results(cov_type).bse.isna().all()
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegreesOfFreedomWarning)
        reference = sm.OLS(y[:, 0], sm.add_constant(X)).fit(cov_type="HC1").bse
        np.testing.assert_allclose(model.results("HC1").bse.to_numpy(), reference, rtol=1e-10)


def test_cov_type_parameter_accepts_hc2_hc3_and_refuses_others():
    X, y, _ = _data(6)
    with pytest.raises(ValueError, match="cov_type"):
        CumulativeLinearRegression(cov_type="HC4").fit(X, y[:, 0])
    with pytest.raises(ValueError, match="cov_type"):
        CumulativeLinearRegression().fit(X, y[:, 0]).results("HC4")


def test_iv_refuses_hc3_with_a_clear_error():
    """2SLS gathers no leverages: HC2/HC3 is a ValueError, not a wrong number."""
    rng = np.random.default_rng(7)
    z, u = rng.normal(size=(2, 300))
    x = z + u
    y = 2.0 * x + u + rng.normal(size=300)
    with pytest.raises(ValueError, match="cov_type"):
        CumulativeIVRegression(endogenous=[0], instruments=[1], cov_type="HC3").fit(
            np.column_stack([x, z]), y)


def test_results_refuse_hc3_from_a_pass_without_leverages():
    from skbigreg.inference import regression_results
    from skbigreg.stats import OuterProductStats

    X, y, _ = _data(7)
    model = CumulativeLinearRegression(cov_type="HC1").fit(X, y[:, 0])
    plain = OuterProductStats(N, model.score_pass_.extra.hc0)
    with pytest.raises(ValueError, match="leverage"):
        regression_results(model._solution, model.stats_, cov_type="HC3", hc_meat=plain)


@pytest.mark.parametrize("cov_type", ["HC0", "HC1", "HC2", "HC3"])
def test_frequency_weighted_hc_equals_repeated_rows(cov_type):
    """A frequency weight w stands for w equal rows: its HC errors are those of
    the repeated rows (each with score e u and leverage u'Bu), weight 0 included."""
    X, y, _ = _data(21)
    counts = np.random.default_rng(21).integers(0, 4, size=N)
    repeated = CumulativeLinearRegression(cov_type=cov_type).fit(
        np.repeat(X, counts, 0), np.repeat(y[:, 0], counts))
    weighted = _streamed(X, y[:, 0], counts.astype(float), weight_type="frequency")
    reference = sm.OLS(np.repeat(y[:, 0], counts),
                       sm.add_constant(np.repeat(X, counts, 0))).fit(cov_type=cov_type).bse
    for model in (weighted, repeated):
        np.testing.assert_allclose(model.results(cov_type).bse.to_numpy(), reference, rtol=1e-10)


def test_pass_of_other_weight_type_is_refused():
    X, y, w = _data(22)
    model = _streamed(X, y[:, 0], w)
    model.set_params(weight_type="frequency")
    with pytest.raises(MissingPassError, match="analytic weights"):
        model.results("HC3")


# -- the statistics' merge laws -----------------------------------------------------
def _leverage_stats(scores, h):
    return LeverageOuterProducts.from_rows(scores, h)


def test_leverage_outer_products_merge_laws_and_oracle():
    rng = np.random.default_rng(8)
    s, h = rng.normal(size=(90, 4)), rng.uniform(0.0, 0.9, 90)
    parts = [_leverage_stats(s[a:b], h[a:b]) for a, b in ((0, 30), (30, 31), (31, 90))]
    empty = LeverageOuterProducts.empty(4)
    whole = _leverage_stats(s, h)
    oracle = {"hc0": s.T @ s, "hc2": (s / (1 - h)[:, None]).T @ s,
              "hc3": (s / ((1 - h) ** 2)[:, None]).T @ s}
    merged = {
        "identity": empty + parts[0] + parts[1] + parts[2] + empty,
        "zero": sum(parts),
        "commutative": parts[2] + parts[1] + parts[0],
        "associative": parts[0] + (parts[1] + parts[2]),
        "saved": LeverageOuterProducts.from_dict((parts[0] + parts[1] + parts[2]).to_dict()),
    }
    for total in [whole, *merged.values()]:
        assert total.n_rows == 90 and total.n_unit_leverage == 0
        for name, expected in oracle.items():
            np.testing.assert_allclose(getattr(total, name), expected, rtol=1e-12, atol=1e-12)
    alone = parts[1] + empty
    assert alone.n_rows == 1
    np.testing.assert_array_equal(alone.hc3, parts[1].hc3)


def test_leverage_outer_products_count_unit_rows_and_refuse_foreign_merges():
    s = np.ones((3, 2))
    stats = _leverage_stats(s, [0.5, 1.0, 1.0 - 1e-12])
    assert stats.n_unit_leverage == 2 and stats.n_rows == 3
    np.testing.assert_allclose(stats.hc0, s.T @ s)
    np.testing.assert_allclose(stats.hc3, 4.0 * np.ones((2, 2)))  # the defined row alone
    assert np.isnan(stats.meat("HC3")).all() and np.isfinite(stats.meat("HC1")).all()
    with pytest.raises(ValueError, match="shape"):
        stats + LeverageOuterProducts.empty(3)
    with pytest.raises(ValueError, match="Cannot merge"):
        stats + 1.5
    frequency = LeverageOuterProducts.from_rows(s, [0.1, 0.2, 0.3], frequency=True)
    with pytest.raises(ValueError, match="frequency weights"):
        stats + frequency
    assert LeverageOuterProducts.from_dict(frequency.to_dict()).frequency


# -- predictions with uncertainty -------------------------------------------------
def _new_rows(seed=9, n=40):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3)) * [1.0, 5.0, 0.1] + [3.0, -2.0, 10.0]


def _assert_frames_close(frame, reference):
    assert list(frame.columns) == list(reference.columns)
    scale = np.abs(reference.to_numpy()).max()
    np.testing.assert_allclose(frame.to_numpy(), reference.to_numpy(), rtol=1e-10,
                               atol=1e-12 * scale)


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC1", "HC3"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("alpha", [0.05, 0.2])
def test_prediction_frame_equals_statsmodels(cov_type, weighted, fit_intercept, alpha):
    X, y, w = _data(10)
    w = w if weighted else None
    model = _streamed(X, y[:, 0], w, fit_intercept=fit_intercept)
    new = _new_rows()
    reference = _statsmodels(X, y[:, 0], w, fit_intercept).fit(cov_type=cov_type)
    exog = sm.add_constant(new, has_constant="add") if fit_intercept else new
    expected = reference.get_prediction(exog).summary_frame(alpha)
    prediction = model.results(cov_type).get_prediction(new)
    _assert_frames_close(prediction.summary_frame(alpha), expected)
    np.testing.assert_allclose(prediction.predicted_mean, model.predict(new), rtol=1e-12)


def test_prediction_with_weights_equals_statsmodels():
    X, y, w = _data(11)
    model = _streamed(X, y[:, 0], w)
    new, new_w = _new_rows(), np.linspace(0.5, 2.0, 40)
    reference = _statsmodels(X, y[:, 0], w, True).fit()
    expected = reference.get_prediction(sm.add_constant(new), weights=new_w).summary_frame()
    _assert_frames_close(model.results().get_prediction(new, weights=new_w).summary_frame(),
                         expected)
    with pytest.raises(ValueError, match="weights"):
        model.results().get_prediction(new, weights=np.ones(3))


def test_prediction_reads_frames_by_name_and_keeps_their_index():
    X, y, _ = _data(12)
    names = ["a", "b", "c"]
    frame = pd.DataFrame(X, columns=names)
    res = CumulativeLinearRegression().fit(frame, y[:, 0]).results()
    new = pd.DataFrame(_new_rows(), columns=names, index=np.arange(100, 140))
    expected = sm.OLS(y[:, 0], sm.add_constant(frame)).fit().get_prediction(
        sm.add_constant(new)).summary_frame()
    for given in (new[["c", "a", "b"]], sm.add_constant(new), new.to_numpy()):
        frame_out = res.get_prediction(given).summary_frame()
        _assert_frames_close(frame_out, expected.set_axis(frame_out.index))
    assert list(res.get_prediction(new).summary_frame().index) == list(new.index)
    pd.testing.assert_index_equal(expected.index, new.index)


def test_prediction_processes_rows_in_blocks():
    from skbigreg.inference._prediction import get_prediction

    X, y, w = _data(13)
    res = _streamed(X, y[:, 0], w).results("HC3")
    new = _new_rows(n=101)
    whole = get_prediction(res, new, block_rows=1000).se_mean
    np.testing.assert_allclose(get_prediction(res, new, block_rows=7).se_mean, whole, rtol=1e-13)
    reference = _statsmodels(X, y[:, 0], w, True).fit(cov_type="HC3")
    np.testing.assert_allclose(whole, reference.get_prediction(sm.add_constant(new)).se_mean,
                               rtol=1e-10)


def test_prediction_refuses_bad_input():
    X, y, _ = _data(14)
    res = CumulativeLinearRegression().fit(pd.DataFrame(X, columns=["a", "b", "c"]),
                                           y[:, 0]).results()
    new = _new_rows()
    with pytest.raises(ValueError, match=r"columns \['a', 'b', 'd'\]"):
        res.get_prediction(pd.DataFrame(new, columns=["a", "b", "d"]))
    with pytest.raises(ValueError, match="fitted on"):
        res.get_prediction(pd.DataFrame(np.hstack([new, new[:, :1]]),
                                        columns=["a", "b", "c", "e"]))
    with pytest.raises(ValueError, match="3 feature columns"):
        res.get_prediction(new[:, :2])
    with pytest.raises(ValueError, match="not the constant"):
        res.get_prediction(np.hstack([np.full((40, 1), 2.0), new]))
    bad = new.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"NaN.*\['b'\]"):
        res.get_prediction(bad)
    prediction = res.get_prediction(new)
    for alpha in (0.0, 1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="alpha"):
            prediction.summary_frame(alpha)


# -- GLM predictions: the mean through the link ----------------------------------------
def _glm_data(family, seed=15, n=600):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2)) * [0.5, 0.3]
    eta = X @ [0.4, -0.6]
    if family == "poisson":
        return X, rng.poisson(np.exp(0.3 + eta)).astype(float)
    if family == "binomial":
        return X, (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    return X, rng.gamma(4.0, 1.0 / (2.0 + eta) / 4.0)  # gamma, mean 1 / (2 + eta)


_SM_FAMILIES = {
    "poisson": lambda: sm.families.Poisson(),
    "binomial": lambda: sm.families.Binomial(),
    "gamma": lambda: sm.families.Gamma(),  # its default link is the inverse power
}


@pytest.mark.parametrize("family", ["poisson", "binomial", "gamma"])
@pytest.mark.parametrize("cov_type", ["nonrobust", "HC0"])
def test_glm_prediction_equals_statsmodels_given_the_same_fit(family, cov_type):
    """The mapping alone, on statsmodels' own parameters and covariance."""
    from skbigreg.glm import get_family_link
    from skbigreg.inference import RegressionResults

    X, y = _glm_data(family)
    design = sm.add_constant(X)
    reference = sm.GLM(y, design, family=_SM_FAMILIES[family]()).fit(cov_type=cov_type)
    link = get_family_link(family, "inverse" if family == "gamma" else None)[1]
    res = RegressionResults(
        params=reference.params, cov=reference.cov_params(), names=["const", "x0", "x1"],
        cov_type=cov_type, nobs=len(y), df_model=2, df_resid=len(y) - 3, ssr=1.0, tss=np.nan,
        has_intercept=True, use_t=False, df_inference=len(y) - 3.0, link=link)
    new = _glm_data(family, seed=16, n=30)[0]
    expected = reference.get_prediction(sm.add_constant(new)).summary_frame(0.1)
    _assert_frames_close(res.get_prediction(new).summary_frame(0.1), expected)


@pytest.mark.parametrize("family", ["poisson", "gamma"])
def test_streamed_glm_prediction_equals_statsmodels(family):
    from skbigreg.linear_model import CumulativeGLM

    X, y = _glm_data(family, seed=17)
    link = "inverse" if family == "gamma" else None
    model = CumulativeGLM(family=family, link=link, tol=1e-12, max_iter=100).fit(X, y)
    reference = sm.GLM(y, sm.add_constant(X), family=_SM_FAMILIES[family]()).fit(tol=1e-12)
    new = _glm_data(family, seed=18, n=30)[0]
    frame = model.results().get_prediction(new).summary_frame()
    expected = reference.get_prediction(sm.add_constant(new)).summary_frame()
    np.testing.assert_allclose(frame.to_numpy(), expected.to_numpy(), rtol=1e-8)
    assert list(frame.columns) == ["mean", "mean_se", "mean_ci_lower", "mean_ci_upper"]
    with pytest.raises(ValueError, match="new observation"):
        model.results().get_prediction(new, weights=np.ones(30))


def test_logistic_prediction_stays_inside_zero_one():
    from skbigreg.linear_model import CumulativeLogisticRegression

    X, y = _glm_data("binomial", seed=19)
    clf = CumulativeLogisticRegression(tol=1e-12).fit(X, y)
    reference = sm.GLM(y, sm.add_constant(X), family=sm.families.Binomial()).fit(tol=1e-12)
    new = _glm_data("binomial", seed=20, n=30)[0] * 8.0
    frame = clf.results().get_prediction(new).summary_frame()
    expected = reference.get_prediction(sm.add_constant(new)).summary_frame()
    np.testing.assert_allclose(frame.to_numpy(), expected.to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(frame["mean"], clf.predict_proba(new)[:, 1], rtol=1e-12)
    assert ((frame["mean_ci_lower"] > 0) & (frame["mean_ci_upper"] < 1)).all()
