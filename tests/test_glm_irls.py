"""Streamed IRLS GLMs against statsmodels Logit, Probit and GLM."""

import warnings

import numpy as np
import pytest
import statsmodels.api as sm
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from skbigreg.exceptions import CollinearityWarning
from skbigreg.linear_model import (
    CumulativeGLM,
    CumulativeLogisticRegression,
    SeparationWarning,
)

links = sm.families.links


def _design(seed=0, n=3000):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) + [0.0, 5.0, 0.0]
    return rng, X, rng.integers(0, 50, n), rng.uniform(0.5, 2.0, n)


def _binary(seed=0):
    rng, X, g, w = _design(seed)
    eta = 2.8 + X @ [1.0, -0.5, 0.2]
    return X, (rng.random(len(X)) < 1 / (1 + np.exp(-eta))).astype(float), g, w


def _chunks(X, y, w=None, g=None, size=700):
    return [
        {"X": X[s:s + size], "y": y[s:s + size],
         "sample_weight": None if w is None else w[s:s + size],
         "clusters": None if g is None else g[s:s + size]}
        for s in range(0, len(X), size)
    ]


def _sm_cov(cov_type, g):
    """statsmodels' arguments; its GLM HC1 is HC0, so HC1 is HC0 times n / (n - p)."""
    name = "HC0" if cov_type == "HC1" else cov_type
    return {"cov_type": name, "cov_kwds": {"groups": g} if cov_type == "cluster" else None}


def _assert_matches(res, ref, cov_type, n):
    factor = np.sqrt(n / (n - len(res.params))) if cov_type == "HC1" else 1.0
    np.testing.assert_allclose(res.params, ref.params, rtol=1e-8)
    np.testing.assert_allclose(res.bse, ref.bse * factor, rtol=1e-8)


def test_logit_equals_statsmodels_logit():
    X, y, _g, _ = _binary()
    clf = CumulativeLogisticRegression().fit_chunks(_chunks(X, y))
    ref = sm.Logit(y, sm.add_constant(X)).fit(method="newton", tol=1e-14, disp=False)
    _assert_matches(clf.results(), ref, "nonrobust", len(X))
    assert clf.deviance_ == pytest.approx(-2 * ref.llf, rel=1e-10)


def test_probit_equals_statsmodels_probit_and_glm():
    """Coefficients as ``Probit``; nonrobust errors from the expected information, as ``GLM``."""
    X, y, _g, _ = _binary()
    clf = CumulativeLogisticRegression(link="probit").fit_chunks(_chunks(X, y))
    discrete = sm.Probit(y, sm.add_constant(X)).fit(method="newton", tol=1e-14, disp=False)
    np.testing.assert_allclose(clf.results().params, discrete.params, rtol=1e-8)
    assert clf.deviance_ == pytest.approx(-2 * discrete.llf, rel=1e-10)
    glm = sm.GLM(y, sm.add_constant(X), family=sm.families.Binomial(links.Probit())).fit(tol=1e-14)
    _assert_matches(clf.results(), glm, "nonrobust", len(X))


@pytest.mark.parametrize("cov_type", ["HC0", "HC1", "cluster"])
@pytest.mark.parametrize("link, sm_link", [("logit", links.Logit()), ("probit", links.Probit())])
def test_binary_robust_equals_statsmodels_glm(cov_type, link, sm_link):
    X, y, g, _ = _binary(1)
    clf = CumulativeLogisticRegression(link=link, cov_type=cov_type).fit_chunks(_chunks(X, y, g=g))
    ref = sm.GLM(y, sm.add_constant(X), family=sm.families.Binomial(sm_link)).fit(
        tol=1e-14, **_sm_cov(cov_type, g))
    _assert_matches(clf.results(), ref, cov_type, len(X))


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC0", "HC1", "cluster"])
@pytest.mark.parametrize(
    "family, link, sm_family",
    [
        ("poisson", None, sm.families.Poisson()),
        ("gamma", "log", sm.families.Gamma(links.Log())),
        ("gamma", None, sm.families.Gamma()),
    ],
)
def test_glm_families_equal_statsmodels(cov_type, family, link, sm_family):
    rng, X, g, w = _design(2)
    if family == "poisson":
        y = rng.poisson(np.exp(0.2 + X @ [0.3, -0.1, 0.2]))
    else:
        mean = np.exp(0.5 + X @ [0.3, -0.1, 0.2]) if link == "log" else 1 / (1.5 + X @ [0.1, 0.05, 0.1])
        y = rng.gamma(2.0, mean / 2.0)
    y = y.astype(float)
    est = CumulativeGLM(family=family, link=link).fit_chunks(_chunks(X, y, w, g))
    ref = sm.GLM(y, sm.add_constant(X), family=sm_family, var_weights=w).fit(
        tol=1e-14, **_sm_cov(cov_type, g))
    _assert_matches(est.results(cov_type), ref, cov_type, len(X))


def test_streamed_equals_in_memory_and_chunking_free():
    X, y, g, w = _binary(3)
    one = CumulativeLogisticRegression().fit(X, y, w, clusters=g)
    streamed = CumulativeLogisticRegression().fit_chunks(_chunks(X, y, w, g, size=123))
    np.testing.assert_allclose(streamed.coef_, one.coef_, rtol=1e-10)
    np.testing.assert_allclose(streamed.results("cluster").bse, one.results("cluster").bse, rtol=1e-10)
    assert streamed.n_iter_ == one.n_iter_


def test_parallel_pass_equals_sequential():
    X, y, g, w = _binary(8)
    one = CumulativeLogisticRegression().fit_chunks(_chunks(X, y, w, g, size=500))
    two = CumulativeLogisticRegression(n_jobs=2).fit_chunks(_chunks(X, y, w, g, size=500))
    np.testing.assert_allclose(two.coef_, one.coef_, rtol=1e-10)
    np.testing.assert_allclose(two.results("cluster").bse, one.results("cluster").bse, rtol=1e-10)


def test_string_classes_and_probabilities():
    X, y, _, _ = _binary(4)
    labels = np.where(y == 1, "yes", "no")
    clf = CumulativeLogisticRegression().fit(X, labels)
    np.testing.assert_array_equal(clf.classes_, ["no", "yes"])
    proba = clf.predict_proba(X[:20])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.predict(X[:20]), np.where(proba[:, 1] > 0.5, "yes", "no"))


def test_separation_warns():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    y = (X[:, 0] > 0).astype(float)
    with pytest.warns(SeparationWarning, match="separated"):
        CumulativeLogisticRegression().fit(X, y)


def test_non_convergence_warns():
    X, y, _, _ = _binary(5)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        CumulativeLogisticRegression(max_iter=1).fit(X, y)


def test_one_shot_generator_refused():
    X, y, _, _ = _binary(6)
    with pytest.raises(ValueError, match="one-shot"):
        CumulativeLogisticRegression().fit_chunks(chunk for chunk in _chunks(X, y))


def test_fit_chunks_needs_0_1_labels():
    X, y, _, _ = _binary(7)
    with pytest.raises(ValueError, match="0/1"):
        CumulativeLogisticRegression().fit_chunks(_chunks(X, 2 * y))


@parametrize_with_checks([
    CumulativeGLM(),
    CumulativeGLM(family="poisson"),
    CumulativeLogisticRegression(),
    CumulativeLogisticRegression(link="probit", cov_type="HC1"),
])
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CollinearityWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


def test_summary_header_reports_glm_fit_statistics_as_statsmodels():
    import re

    rng = np.random.default_rng(5)
    X = rng.standard_normal((1500, 3))
    y = rng.gamma(4.0, np.exp(0.2 + X @ [0.3, -0.2, 0.1]) / 4.0)
    est = CumulativeGLM(family="gamma", link="log").fit(X, y)
    ref = sm.GLM(y, sm.add_constant(X), family=sm.families.Gamma(sm.families.links.Log())).fit()
    text = str(est.summary())
    assert "R-squared" not in text and "Residual std" not in text

    def value(label):
        return float(re.search(rf"{label}:\s+(\S+)", text).group(1))

    assert value("Deviance") == pytest.approx(ref.deviance, rel=1e-5)
    assert value("Pearson chi2") == pytest.approx(ref.pearson_chi2, rel=1e-3)
    assert value("Scale") == pytest.approx(ref.scale, rel=1e-3)
    assert int(value("No. Iterations")) == est.n_iter_


# -- issue 11: the contract ------------------------------------------------------
def _assert_same_state(a, b, path="est"):
    """Deep, numpy-aware equality of fitted state (dicts, dataclasses, objects, arrays)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        assert isinstance(a, np.ndarray) and isinstance(b, np.ndarray), path
        assert a.dtype == b.dtype and a.shape == b.shape, path
        np.testing.assert_array_equal(a, b, err_msg=path)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), (path, set(a) ^ set(b))
        for key in a:
            _assert_same_state(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same_state(x, y, f"{path}[{i}]")
    elif hasattr(a, "__dict__") and not isinstance(a, type):
        assert type(a) is type(b), path
        _assert_same_state(vars(a), vars(b), path)
    else:
        assert a == b or (a != a and b != b), path


def _poisson_data(seed=9, n=1200):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = rng.poisson(np.exp(0.3 + X @ [0.4, -0.2])).astype(float)
    return X, y, rng.uniform(0.5, 2.0, n)


@pytest.mark.parametrize("make", [lambda: CumulativeGLM(family="poisson"), CumulativeLogisticRegression])
def test_failed_fit_chunks_keeps_the_previous_fit(make):
    """Issue 11 defect 4: a failed fit_chunks used to discard the previous fit."""
    import copy

    X, y, _ = _poisson_data()
    y = np.minimum(y, 1.0)
    est = make().fit(X, y)
    before = copy.deepcopy(vars(est))
    chunks = _chunks(X, y, size=300)
    bad = chunks[2]["X"].copy()
    bad[5, 1] = np.nan
    chunks[2] = {**chunks[2], "X": bad}
    with pytest.raises(ValueError, match="NaN"):
        est.fit_chunks(chunks)
    _assert_same_state(vars(est), before)


def test_empty_chunks_are_no_ops():
    """Issue 11 defect 11: a 0-row chunk crashed fit_chunks ("0 samples")."""
    X, y, _ = _poisson_data()
    plain = CumulativeGLM(family="poisson").fit_chunks(_chunks(X, y, size=400))
    chunks = _chunks(X, y, size=400)
    chunks[1:1] = [(X[:0], y[:0])]
    chunks.insert(0, (X[:0], y[:0]))
    est = CumulativeGLM(family="poisson").fit_chunks(chunks)
    np.testing.assert_allclose(est.coef_, plain.coef_, rtol=1e-12)
    np.testing.assert_allclose(est.results().bse, plain.results().bse, rtol=1e-12)
    wrong = _chunks(X, y, size=400) + [(np.zeros((0, 3)), y[:0])]
    with pytest.raises(ValueError, match="3 features"):
        CumulativeGLM(family="poisson").fit_chunks(wrong)


def test_zero_weight_chunk_removes_its_rows():
    """Issue 11 defect 12: an all-zero-weight chunk was refused ("at least one non-zero")."""
    X, y, w = _poisson_data()
    kept = CumulativeGLM(family="poisson").fit_chunks(_chunks(X[:900], y[:900], w[:900], size=300))
    zero = w.copy()
    zero[900:] = 0.0
    est = CumulativeGLM(family="poisson").fit_chunks(_chunks(X, y, zero, size=300))
    np.testing.assert_allclose(est.coef_, kept.coef_, rtol=1e-9)
    np.testing.assert_allclose(est.results().bse, kept.results().bse, rtol=1e-8)
    for fit in (lambda e: e.fit(X, y, np.zeros(len(X))),
                lambda e: e.fit_chunks(_chunks(X, y, np.zeros(len(X)), size=300))):
        with pytest.raises(ValueError, match="zero"):
            fit(CumulativeGLM(family="poisson"))


@pytest.mark.parametrize("extra", ["constant", "duplicate", "collinear"])
@pytest.mark.parametrize("family, sm_family", [("poisson", sm.families.Poisson()),
                                               ("binomial", sm.families.Binomial())])
def test_rank_deficient_design_warns_and_drops_the_column(extra, family, sm_family):
    """Issue 11 defect 14: a constant column ran 101 passes to SE 1.3e14."""
    X, y, _ = _poisson_data(10)
    y = np.minimum(y, 1.0) if family == "binomial" else y
    column = {"constant": np.full(len(X), 7.3), "duplicate": X[:, 0],
              "collinear": X[:, 0] - 2 * X[:, 1]}[extra]
    design = np.column_stack([X, column])
    with pytest.warns(CollinearityWarning, match="x2"):
        est = CumulativeGLM(family=family).fit_chunks(_chunks(design, y, size=400))
    ref = sm.GLM(y, sm.add_constant(X), family=sm_family).fit(tol=1e-14)
    res = est.results()
    assert est.n_iter_ <= 10
    assert est.coef_[2] == 0 and np.isnan(res.bse.iloc[3])
    np.testing.assert_allclose(res.params.iloc[:3], ref.params, rtol=1e-8)
    np.testing.assert_allclose(res.bse.iloc[:3], ref.bse, rtol=1e-8)
    assert np.isfinite(res.fvalue)


def test_more_columns_than_rows_gives_a_defined_fit():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(6, 8))
    y = rng.poisson(30.0, size=6).astype(float)
    with pytest.warns(CollinearityWarning, match="rank 5 of 8"):
        est = CumulativeGLM(family="poisson").fit(X, y)
    assert np.all(np.isfinite(est.coef_)) and np.all(est.coef_[5:] == 0)
    np.testing.assert_allclose(est.predict(X), y, rtol=1e-8)  # 6 parameters, 6 rows: exact fit
    assert est.n_iter_ <= 15


def test_logistic_fit_chunks_takes_string_classes():
    """Issue 11 defect 15: string labels failed with "Unknown format code 'g'"."""
    X, y, _, _ = _binary(12)
    labels = np.where(y == 1, "yes", "no")
    numeric = CumulativeLogisticRegression().fit_chunks(_chunks(X, y))
    clf = CumulativeLogisticRegression().fit_chunks(_chunks(X, labels), classes=["no", "yes"])
    np.testing.assert_allclose(clf.coef_, numeric.coef_, rtol=1e-12)
    np.testing.assert_array_equal(clf.classes_, ["no", "yes"])
    assert set(clf.predict(X[:50])) <= {"no", "yes"}
    with pytest.raises(ValueError, match="classes="):
        CumulativeLogisticRegression().fit_chunks(_chunks(X, labels))
    labels = labels.astype(object)
    labels[7] = "maybe"
    with pytest.raises(ValueError, match="'maybe'"):
        CumulativeLogisticRegression().fit_chunks(_chunks(X, labels), classes=["no", "yes"])


@pytest.mark.parametrize("family, link, power", [("poisson", None, 1), ("gamma", "log", 2),
                                                 ("gaussian", None, 0)])
def test_score_is_d2_as_scikit_learn_glms(family, link, power):
    """Issue 11 defect 6: GLM score returned R², scikit-learn's GLMs return D²."""
    from sklearn.metrics import d2_tweedie_score

    X, y, w = _poisson_data(13)
    if family == "gamma":
        y = np.random.default_rng(13).gamma(2.0, np.exp(0.3 + X @ [0.4, -0.2]) / 2.0)
    elif family == "gaussian":
        y = X @ [1.0, -1.0] + np.random.default_rng(13).normal(size=len(X))
    est = CumulativeGLM(family=family, link=link).fit(X, y, w)
    expected = d2_tweedie_score(y, est.predict(X), power=power, sample_weight=w)
    assert est.score(X, y, w) == pytest.approx(expected, rel=1e-12)
    if family == "poisson":
        from sklearn.linear_model import PoissonRegressor

        sk = PoissonRegressor(alpha=0, tol=1e-12, max_iter=1000).fit(X, y, sample_weight=w)
        assert est.score(X, y, w) == pytest.approx(sk.score(X, y, w), rel=1e-6)


def test_logistic_score_stays_accuracy():
    X, y, _, _ = _binary(14)
    clf = CumulativeLogisticRegression().fit(X, y)
    assert clf.score(X, y) == pytest.approx(np.mean(clf.predict(X) == y))


@pytest.mark.parametrize("family, sm_family", [
    ("poisson", sm.families.Poisson()), ("gamma", sm.families.Gamma(links.Log())),
    ("gaussian", sm.families.Gaussian()), ("binomial", sm.families.Binomial())])
def test_scale_equals_statsmodels_and_the_summary(family, sm_family):
    """Issue 11 defect 17: scale was deviance / df (Poisson 1.09, Gamma 0.530 vs 0.498)."""
    import re

    X, y, w = _poisson_data(15)
    rng = np.random.default_rng(15)
    y = {"poisson": y, "binomial": np.minimum(y, 1.0), "gaussian": X @ [1.0, -1.0] + rng.normal(size=len(X)),
         "gamma": rng.gamma(2.0, np.exp(0.3 + X @ [0.4, -0.2]) / 2.0)}[family]
    est = CumulativeGLM(family=family, link="log" if family == "gamma" else None).fit(X, y, w)
    ref = sm.GLM(y, sm.add_constant(X), family=sm_family, var_weights=w).fit(tol=1e-14)
    res = est.results()
    assert res.scale == pytest.approx(ref.scale, rel=1e-8)
    shown = float(re.search(r"Scale:\s+(\S+)", str(est.summary())).group(1))
    assert shown == pytest.approx(res.scale, rel=1e-3)


def test_failed_fit_keeps_the_previous_fit():
    import copy

    X, y, _ = _poisson_data()
    est = CumulativeGLM(family="poisson").fit(X, y)
    before = copy.deepcopy(vars(est))
    with pytest.raises(ValueError, match="NaN"):
        est.fit(np.where(np.arange(len(X))[:, None] == 3, np.nan, X), y)
    _assert_same_state(vars(est), before)


def test_clusters_on_some_chunks_only_are_refused():
    X, y, _ = _poisson_data()
    g = np.arange(len(X)) % 20
    chunks = _chunks(X, y, g=g, size=400)
    chunks[1] = {"X": chunks[1]["X"], "y": chunks[1]["y"]}
    with pytest.raises(ValueError, match="clusters is missing from this chunk"):
        CumulativeGLM(family="poisson").fit_chunks(chunks)


def test_rank_deficient_parallel_and_chunked_fits_agree():
    X, y, _ = _poisson_data(16)
    design = np.column_stack([X[:, 0], X[:, 0], X[:, 1]])
    with pytest.warns(CollinearityWarning):
        one = CumulativeGLM(family="poisson").fit(design, y)
    with pytest.warns(CollinearityWarning):
        two = CumulativeGLM(family="poisson", n_jobs=2).fit_chunks(_chunks(design, y, size=250))
    np.testing.assert_allclose(two.coef_, one.coef_, rtol=1e-10)
    np.testing.assert_allclose(two.results("HC1").bse, one.results("HC1").bse, rtol=1e-10)
    assert one.coef_[1] == 0 and np.isnan(one.results().bse.iloc[2])
