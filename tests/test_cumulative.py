"""CumulativeLinearRegression against statsmodels, sklearn and numpy."""

import copy
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from skbigreg.exceptions import CollinearityWarning, DegreesOfFreedomWarning, MissingPassError
from skbigreg.linear_model import CumulativeLinearRegression
from skbigreg.stats import GramStats


def _data(seed=0, n=400, k=3, offset=0.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, k)) + offset
    noise = rng.normal(size=n) * (1 + np.abs(X[:, 0] - offset))
    y = 1.5 + X @ np.arange(1.0, k + 1) + noise
    w = rng.uniform(0.2, 3.0, size=n)
    clusters = rng.integers(0, 30, size=n)
    return X, y, w, clusters


def _stream(est, X, y, w=None, clusters=None, size=37):
    for start in range(0, len(X), size):
        sl = slice(start, start + size)
        est.partial_fit(X[sl], y[sl], None if w is None else w[sl], None if clusters is None else clusters[sl])
    return est


@pytest.mark.parametrize("solver", ["gram", "qr"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("cov_type", ["nonrobust", "HC0", "HC1", "cluster"])
def test_streamed_inference_equals_statsmodels(solver, weighted, cov_type):
    X, y, w, g = _data()
    w = w if weighted else None
    model = sm.WLS(y, sm.add_constant(X), weights=1.0 if w is None else w)
    ref = model.fit(cov_type=cov_type, cov_kwds={"groups": g} if cov_type == "cluster" else None)
    est = _stream(CumulativeLinearRegression(solver=solver, cov_type=cov_type), X, y, w, g)
    if cov_type.startswith("HC"):
        for start in range(0, len(X), 50):
            sl = slice(start, start + 50)
            est.partial_fit_scores(X[sl], y[sl], None if w is None else w[sl])
    res = est.results()
    for name in ("params", "bse", "tvalues"):
        np.testing.assert_allclose(getattr(res, name), getattr(ref, name), rtol=1e-8)
    np.testing.assert_allclose(res.pvalues, ref.pvalues, rtol=1e-6, atol=1e-300)
    np.testing.assert_allclose(res.conf_int(), ref.conf_int(), rtol=1e-8)
    for name in ("rsquared", "rsquared_adj", "fvalue", "ssr", "df_resid", "df_model", "scale"):
        assert getattr(res, name) == pytest.approx(getattr(ref, name), rel=1e-8), name
    assert res.f_pvalue == pytest.approx(ref.f_pvalue, rel=1e-6, abs=1e-300)


def test_no_intercept_r2_is_uncentred_as_statsmodels():
    X, y, _, _ = _data(1)
    ref = sm.OLS(y, X).fit()
    res = CumulativeLinearRegression(fit_intercept=False).fit(X, y).results()
    np.testing.assert_allclose(res.params, ref.params, rtol=1e-10)
    np.testing.assert_allclose(res.bse, ref.bse, rtol=1e-10)
    assert res.rsquared == pytest.approx(ref.rsquared, rel=1e-10)
    assert res.fvalue == pytest.approx(ref.fvalue, rel=1e-10)


def test_cluster_t_with_g_minus_1_df_as_stata():
    X, y, _, g = _data(2)
    ref = sm.OLS(y, sm.add_constant(X)).fit(cov_type="cluster", cov_kwds={"groups": g}, use_t=True)
    res = CumulativeLinearRegression(cov_type="cluster").fit(X, y, clusters=g).results(use_t=True)
    np.testing.assert_allclose(res.pvalues, ref.pvalues, rtol=1e-8)
    np.testing.assert_allclose(res.conf_int(), ref.conf_int(), rtol=1e-10)


def test_frequency_weights_equal_repeated_rows():
    X, y, _, _ = _data(3, n=120)
    counts = np.random.default_rng(3).integers(1, 4, size=120)
    repeated = CumulativeLinearRegression().fit(np.repeat(X, counts, 0), np.repeat(y, counts))
    weighted = CumulativeLinearRegression(weight_type="frequency").fit(X, y, sample_weight=counts)
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-11)
    np.testing.assert_allclose(weighted.results().bse, repeated.results().bse, rtol=1e-10)
    analytic = CumulativeLinearRegression().fit(X, y, sample_weight=counts)
    np.testing.assert_allclose(analytic.coef_, repeated.coef_, rtol=1e-11)
    assert analytic.results().df_resid == 120 - 4


@settings(max_examples=25, deadline=None)
@given(
    cuts=st.lists(st.integers(1, 249), max_size=10, unique=True),
    seed=st.integers(0, 1000),
    solver=st.sampled_from(["gram", "qr"]),
    offset=st.sampled_from([0.0, 1e6]),
)
def test_chunked_equals_one_shot_equals_merged(cuts, seed, solver, offset):
    X, y, w, _ = _data(seed, n=250, offset=offset)
    edges = [0, *sorted(cuts), 250]
    order = np.random.default_rng(seed).permutation(len(edges) - 1)
    streamed = CumulativeLinearRegression(solver=solver)
    for i in order:
        a, b = edges[i], edges[i + 1]
        streamed.partial_fit(X[a:b], y[a:b], w[a:b])
    one_shot = CumulativeLinearRegression(solver=solver).fit(X, y, w)
    half = len(X) // 2
    merged = CumulativeLinearRegression(solver=solver).fit(X[:half], y[:half], w[:half]).merge(
        CumulativeLinearRegression(solver=solver).fit(X[half:], y[half:], w[half:])
    )
    tol = 1e-10 if offset == 0 else 1e-8
    # The intercept mean_y - mean_x'b cancels terms of size |mean_x|'|b| + |mean_y|:
    # its accuracy is relative to that scale, not to its own (small) value.
    scale = abs(one_shot.stats_.mean_y[0]) + np.abs(one_shot.stats_.mean_x) @ np.abs(one_shot.coef_)
    for est in (streamed, merged):
        np.testing.assert_allclose(est.coef_, one_shot.coef_, rtol=tol)
        assert abs(est.intercept_ - one_shot.intercept_) <= tol * scale
        np.testing.assert_allclose(est.results().bse, one_shot.results().bse, rtol=tol)


def test_fit_chunks_in_parallel_sources_and_hc_second_pass():
    X, y, w, g = _data(4)
    chunks = [{"X": X[i : i + 64], "y": y[i : i + 64], "sample_weight": w[i : i + 64],
               "clusters": g[i : i + 64]} for i in range(0, 400, 64)]
    est = CumulativeLinearRegression(cov_type="HC1").fit_chunks(chunks)
    ref = sm.WLS(y, sm.add_constant(X), weights=w).fit(cov_type="HC1")
    np.testing.assert_allclose(est.results().bse, ref.bse, rtol=1e-9)
    np.testing.assert_allclose(est.results("cluster").bse, sm.WLS(y, sm.add_constant(X), weights=w).fit(cov_type="cluster", cov_kwds={"groups": g}).bse, rtol=1e-9)
    with pytest.raises(ValueError, match="one-shot"):
        CumulativeLinearRegression(cov_type="HC1").fit_chunks(iter(chunks))


def test_hc_requires_the_second_pass():
    X, y, _, _ = _data(5)
    est = _stream(CumulativeLinearRegression(cov_type="HC1"), X, y)
    with pytest.raises(MissingPassError, match="0 of 400"):
        est.results()
    est.partial_fit_scores(X[:100], y[:100])
    with pytest.raises(MissingPassError, match="100 of 400"):
        est.results()
    est.partial_fit_scores(X[100:], y[100:])
    est.results()
    est.partial_fit(X[:5], y[:5])  # new rows: the pass is stale
    with pytest.raises(MissingPassError):
        est.results()


def test_multi_output_matches_linear_regression():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(300, 4))
    Y = X @ rng.normal(size=(4, 3)) + rng.normal(size=(300, 3))
    ref = LinearRegression().fit(X, Y)
    est = _stream(CumulativeLinearRegression(), X, Y)
    assert est.coef_.shape == (3, 4) and est.intercept_.shape == (3,)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-10)
    np.testing.assert_allclose(est.predict(X), ref.predict(X), rtol=1e-10)
    for t in range(3):
        np.testing.assert_allclose(est.results(target=t).bse, sm.OLS(Y[:, t], sm.add_constant(X)).fit().bse, rtol=1e-9)


def test_collinear_and_constant_columns_warn_and_give_finite_min_norm_answer():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(200, 2))
    X = np.column_stack([x, x[:, 0], np.ones(200)])  # duplicate and constant column
    y = x @ [1.0, 2.0] + rng.normal(size=200)
    for solver in ("gram", "qr"):
        with pytest.warns(CollinearityWarning, match="rank 2 of 4"):
            est = CumulativeLinearRegression(solver=solver).fit(X, y)
        assert np.isfinite(est.coef_).all()
        ref = LinearRegression().fit(X, y)  # minimum-norm (lstsq); equal scales here
        np.testing.assert_allclose(est.coef_, ref.coef_, atol=1e-9)
        np.testing.assert_allclose(est.predict(X), ref.predict(X), rtol=1e-9)
        assert est.results().df_resid == 200 - 3
    # duplicate column only: statsmodels' pseudo-inverse gives the same split
    dup = X[:, :3]
    est = CumulativeLinearRegression().fit(dup, y)
    ref = sm.OLS(y, sm.add_constant(dup)).fit()
    np.testing.assert_allclose(est.results().params, ref.params, rtol=1e-8)
    np.testing.assert_allclose(est.results().bse, ref.bse, rtol=1e-8)
    assert est.results().df_resid == ref.df_resid


def test_no_residual_degrees_of_freedom_gives_nan_errors():
    X = np.array([[0.0], [1.0]])
    est = CumulativeLinearRegression().fit(X, [1.0, 3.0])
    assert est.coef_ == pytest.approx([2.0]) and est.intercept_ == pytest.approx(1.0)
    with pytest.warns(DegreesOfFreedomWarning, match="No residual degrees of freedom"):
        assert np.isnan(est.results().bse).all()


def _fitted_state(est):
    return copy.deepcopy({k: v for k, v in vars(est).items()})


def _assert_same_state(before, est):
    after = vars(est)
    assert before.keys() == after.keys()
    for key, value in before.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(after[key], value)
        elif hasattr(value, "to_dict"):
            for name, arr in value.to_dict().items():
                np.testing.assert_array_equal(after[key].to_dict()[name], arr)
        elif not hasattr(value, "coef"):
            assert after[key] == value


@pytest.mark.parametrize(
    "bad, match",
    [
        (lambda X, y, w: (np.where(np.arange(X.size).reshape(X.shape) == 5, np.nan, X), y, w), "X contains NaN"),
        (lambda X, y, w: (X, np.where(np.arange(len(y)) == 2, np.inf, y), w), "y contains infinity"),
        (lambda X, y, w: (X[:, :2], y, w), "2 features.*expecting 3"),
        (lambda X, y, w: (X, y, -w), "[Nn]egative"),
        (lambda X, y, w: (X, y, np.where(np.arange(len(w)) == 1, np.nan, w)), "NaN"),
    ],
)
def test_failed_partial_fit_leaves_model_unchanged(bad, match):
    X, y, w, g = _data(8)
    est = CumulativeLinearRegression().partial_fit(X[:200], y[:200], w[:200], clusters=g[:200])
    before = _fitted_state(est)
    with pytest.raises(ValueError, match=match):
        est.partial_fit(*bad(X[200:], y[200:], w[200:]), clusters=g[200:])
    _assert_same_state(before, est)


def test_failed_first_partial_fit_leaves_estimator_unfitted():
    X, y, _, _ = _data(9)
    X[0, 0] = np.nan
    est = CumulativeLinearRegression()
    with pytest.raises(ValueError, match="NaN"):
        est.partial_fit(X, y)
    assert not [k for k in vars(est) if k.endswith("_")]


def test_feature_names_checked_across_chunks():
    X, y, _, _ = _data(10)
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    est = CumulativeLinearRegression().partial_fit(df[:100], y[:100])
    assert list(est.feature_names_in_) == ["a", "b", "c"]
    assert est.results().names == ["const", "a", "b", "c"]
    before = _fitted_state(est)
    with pytest.raises(ValueError, match="Feature names"):
        est.partial_fit(df[100:].rename(columns={"c": "z"}), y[100:])
    _assert_same_state(before, est)


def test_empty_chunk_is_a_no_op_and_empty_fit_raises():
    X, y, _, _ = _data(11)
    est = CumulativeLinearRegression().fit(X, y)
    coef = est.coef_.copy()
    est.partial_fit(X[:0], y[:0])
    np.testing.assert_array_equal(est.coef_, coef)
    assert est.n_samples_seen_ == 400
    with pytest.raises(ValueError):
        CumulativeLinearRegression().fit(X[:0], y[:0])


def test_from_statistics_gathered_elsewhere(tmp_path):
    X, y, _, _ = _data(12)
    for i, start in enumerate(range(0, 400, 100)):
        GramStats.from_arrays(X[start : start + 100], y[start : start + 100]).save(tmp_path / f"site{i}.npz")
    total = sum(GramStats.load(p) for p in sorted(tmp_path.glob("*.npz")))
    est = CumulativeLinearRegression.from_statistics(total, feature_names=["a", "b", "c"])
    ref = sm.OLS(y, sm.add_constant(X)).fit()
    np.testing.assert_allclose(est.results().params, ref.params, rtol=1e-10)
    np.testing.assert_allclose(est.results().bse, ref.bse, rtol=1e-10)
    np.testing.assert_allclose(est.predict(pd.DataFrame(X, columns=["a", "b", "c"])), ref.fittedvalues, rtol=1e-10)


def test_merge_refuses_mismatched_fits():
    X, y, _, _ = _data(13)
    a = CumulativeLinearRegression().fit(X, y)
    with pytest.raises(ValueError, match="different parameters"):
        a.merge(CumulativeLinearRegression(solver="qr").fit(X, y))
    with pytest.raises(ValueError, match="3 features.*2 features"):
        a.merge(CumulativeLinearRegression().fit(X[:, :2], y))


def test_summary_text_and_frame():
    X, y, _, g = _data(14)
    est = CumulativeLinearRegression(cov_type="cluster").fit(pd.DataFrame(X, columns=["u", "v", "w"]), y, clusters=g)
    text = str(est.summary())
    assert "cluster (G=30)" in text and "R-squared" in text
    header = [line for line in text.splitlines() if "Covariance Type:" in line][0]
    assert header.endswith("cluster (G=30)") and len(header) <= 78
    frame = est.results().summary_frame()
    ref = sm.OLS(y, sm.add_constant(X)).fit(cov_type="cluster", cov_kwds={"groups": g})
    assert list(frame.index) == ["const", "u", "v", "w"]
    np.testing.assert_allclose(frame["std err"], ref.bse, rtol=1e-9)
    np.testing.assert_allclose(frame.iloc[:, 4:].to_numpy(), ref.conf_int(), rtol=1e-9)


def test_cluster_cov_type_requires_labels():
    X, y, _, _ = _data(15)
    with pytest.raises(ValueError, match="clusters"):
        CumulativeLinearRegression(cov_type="cluster").fit(X, y)


def test_sklearn_tools_and_metadata_routing():
    X, y, w, g = _data(16)
    pipe = make_pipeline(StandardScaler(), CumulativeLinearRegression())
    assert cross_val_score(pipe, X, y, cv=3).mean() > 0.5
    search = GridSearchCV(CumulativeLinearRegression(), {"solver": ["gram", "qr"]}, cv=3).fit(X, y)
    assert search.best_estimator_.coef_ == pytest.approx(LinearRegression().fit(X, y).coef_, rel=1e-8)
    est = clone(CumulativeLinearRegression(cov_type="cluster"))
    import sklearn

    with sklearn.config_context(enable_metadata_routing=True):
        routed = (
            CumulativeLinearRegression(cov_type="cluster")
            .set_fit_request(clusters=True, sample_weight=True)
            .set_score_request(sample_weight=False)
        )
        scores = cross_val_score(routed, X, y, cv=3, params={"clusters": g, "sample_weight": w})
    assert np.isfinite(scores).all() and est.get_params()["cov_type"] == "cluster"


@parametrize_with_checks([CumulativeLinearRegression(), CumulativeLinearRegression(solver="qr", fit_intercept=False)])
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CollinearityWarning)
        check(estimator)
