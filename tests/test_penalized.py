"""CumulativeRidge / Lasso / ElasticNet against scikit-learn, and their invariances."""

import inspect
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNet, ElasticNetCV, Lasso, LassoCV, Ridge, RidgeCV
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from skbigreg.linear_model import (
    CumulativeElasticNet,
    CumulativeElasticNetCV,
    CumulativeLasso,
    CumulativeLassoCV,
    CumulativeRidge,
    CumulativeRidgeCV,
)
from skbigreg.model_selection import FoldGridSearchCV

TIGHT = dict(tol=1e-12, max_iter=100_000)


def _data(seed=0, n=300, k=6, offset=0.0, targets=None):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, k)) + offset
    beta = rng.normal(size=(k,) if targets is None else (k, targets))
    beta[: k // 3] = 0.0
    noise = rng.normal(size=(n,) if targets is None else (n, targets))
    y = 2.0 + (X - offset) @ beta + noise
    w = rng.uniform(0.2, 3.0, size=n)
    return X, y, w


def _rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.abs(a - b).max() / max(np.abs(b).max(), 1e-300)


# -- agreement with scikit-learn -------------------------------------------
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("solver", ["gram", "qr"])
@pytest.mark.parametrize("targets", [None, 3])
def test_ridge_matches_sklearn(fit_intercept, weighted, solver, targets):
    X, y, w = _data(targets=targets)
    w = w if weighted else None
    ours = CumulativeRidge(alpha=3.0, fit_intercept=fit_intercept, solver=solver)
    ours.fit(X, y, sample_weight=w)
    ref = Ridge(alpha=3.0, fit_intercept=fit_intercept).fit(X, y, sample_weight=w)
    assert ours.coef_.shape == ref.coef_.shape
    assert _rel(ours.coef_, ref.coef_) < 1e-8
    assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-8, atol=1e-10)
    assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.3])
@pytest.mark.parametrize("positive", [False, True])
def test_enet_matches_sklearn_tight(fit_intercept, weighted, l1_ratio, positive):
    X, y, w = _data(seed=1)
    w = w if weighted else None
    params = dict(alpha=0.05, l1_ratio=l1_ratio, fit_intercept=fit_intercept,
                  positive=positive, **TIGHT)
    ours = CumulativeElasticNet(**params).fit(X, y, sample_weight=w)
    ref = ElasticNet(**params).fit(X, y, sample_weight=w)
    assert np.abs(ours.coef_ - ref.coef_).max() < 1e-6
    assert abs(ours.intercept_ - ref.intercept_) < 1e-6
    assert ours.dual_gap_ <= 1e-12 * np.sum((y - y.mean()) ** 2)


def test_lasso_is_elastic_net_with_l1_ratio_one_and_matches_sklearn():
    X, y, w = _data(seed=2)
    ours = CumulativeLasso(alpha=0.1, **TIGHT).fit(X, y, sample_weight=w)
    enet = CumulativeElasticNet(alpha=0.1, l1_ratio=1.0, **TIGHT).fit(X, y, sample_weight=w)
    ref = Lasso(alpha=0.1, **TIGHT).fit(X, y, sample_weight=w)
    assert_allclose(ours.coef_, enet.coef_, rtol=0, atol=0)
    assert np.abs(ours.coef_ - ref.coef_).max() < 1e-6
    assert (ours.coef_ == 0).sum() == (ref.coef_ == 0).sum() > 0


def test_multi_output_enet_matches_sklearn():
    X, y, _ = _data(seed=3, targets=2)
    ours = CumulativeElasticNet(alpha=0.05, **TIGHT).fit(X, y)
    ref = ElasticNet(alpha=0.05, **TIGHT).fit(X, y)
    assert ours.coef_.shape == ref.coef_.shape == (2, 6)
    assert np.abs(ours.coef_ - ref.coef_).max() < 1e-6
    assert np.abs(ours.intercept_ - ref.intercept_).max() < 1e-6


@pytest.mark.parametrize(
    "ours, ref",
    [
        (CumulativeRidge, Ridge),
        (CumulativeLasso, Lasso),
        (CumulativeElasticNet, ElasticNet),
        (CumulativeLassoCV, LassoCV),
        (CumulativeElasticNetCV, ElasticNetCV),
        (CumulativeRidgeCV, RidgeCV),
    ],
)
def test_defaults_are_sklearns(ours, ref):
    ours_params = inspect.signature(ours).parameters
    ref_params = inspect.signature(ref).parameters
    # `solver` names the accumulator here, not a scikit-learn solver.
    shared = set(ours_params) & set(ref_params) - {"cv", "solver"}
    assert {"fit_intercept"} <= shared
    for name in shared:
        assert ours_params[name].default == ref_params[name].default, name


# -- invariances --------------------------------------------------------------
@pytest.mark.parametrize(
    "make",
    [
        lambda: CumulativeRidge(alpha=2.0),
        lambda: CumulativeRidge(alpha=2.0, solver="qr", fit_intercept=False),
        lambda: CumulativeElasticNet(alpha=0.05, **TIGHT),
    ],
)
def test_chunked_equals_one_shot_and_merge(make):
    X, y, w = _data(seed=4, n=500)
    one_shot = make().fit(X, y, sample_weight=w)
    streamed = make()
    for start in range(0, 500, 73):
        streamed.partial_fit(X[start:start + 73], y[start:start + 73], w[start:start + 73])
    left = make().fit(X[:200], y[:200], w[:200])
    right = make().fit(X[200:], y[200:], w[200:])
    merged = left.merge(right)
    for other in (streamed, merged):
        assert_allclose(other.coef_, one_shot.coef_, rtol=1e-9, atol=1e-10)
        assert_allclose(other.intercept_, one_shot.intercept_, rtol=1e-9, atol=1e-10)
    rebuilt = type(one_shot).from_statistics(one_shot.stats_, **one_shot.get_params())
    assert_allclose(rebuilt.coef_, one_shot.coef_, rtol=1e-12)


def test_ridge_duplicated_rows_equal_doubled_alpha():
    # Σ over [X; X] doubles the data term: α on X equals 2α on [X; X].
    X, y, _ = _data(seed=5)
    once = CumulativeRidge(alpha=1.5).fit(X, y)
    twice = CumulativeRidge(alpha=3.0).fit(np.vstack([X, X]), np.concatenate([y, y]))
    assert_allclose(twice.coef_, once.coef_, rtol=1e-10)


def test_enet_integer_weights_equal_repeated_rows():
    X, y, _ = _data(seed=6, n=120)
    counts = np.random.default_rng(0).integers(1, 4, size=120)
    weighted = CumulativeElasticNet(alpha=0.05, **TIGHT).fit(X, y, sample_weight=counts)
    repeated = CumulativeElasticNet(alpha=0.05, **TIGHT).fit(
        np.repeat(X, counts, axis=0), np.repeat(y, counts)
    )
    assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("estimator", [CumulativeRidge(alpha=1.0),
                                       CumulativeLasso(alpha=0.01, **TIGHT)])
def test_large_offsets_lose_no_accuracy(estimator):
    X, y, _ = _data(seed=7, n=2000)
    plain = type(estimator)(**estimator.get_params()).fit(X, y)
    shifted = type(estimator)(**estimator.get_params()).fit(X + 1e6, y + 1e6)
    assert _rel(shifted.coef_, plain.coef_) < 1e-8
    expected_intercept = plain.intercept_ + 1e6 - 1e6 * plain.coef_.sum()
    assert abs(shifted.intercept_ - expected_intercept) < 1e-6 * 1e6 * 1e-3


@pytest.mark.parametrize(
    "estimator",
    [CumulativeRidge(), CumulativeElasticNet(), CumulativeRidgeCV(), CumulativeLassoCV()],
)
def test_failed_partial_fit_leaves_state_unchanged(estimator):
    X, y, _ = _data(seed=8)
    estimator.partial_fit(X, y)
    before = {k: v for k, v in vars(estimator).items()}
    bad = X[:10].copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError):
        estimator.partial_fit(bad, y[:10])
    with pytest.raises(ValueError):
        estimator.partial_fit(X[:10, :3], y[:10])
    assert set(vars(estimator)) == set(before)
    for key, value in before.items():
        assert vars(estimator)[key] is value, key


# -- scikit-learn tooling -----------------------------------------------------
def test_pipeline_search_and_cross_validate_match_sklearn():
    X, y, _ = _data(seed=9)
    ours = cross_validate(make_pipeline(StandardScaler(), CumulativeRidge(alpha=2.0)),
                          X, y, cv=KFold(4))
    ref = cross_validate(make_pipeline(StandardScaler(), Ridge(alpha=2.0)), X, y, cv=KFold(4))
    assert_allclose(ours["test_score"], ref["test_score"], rtol=1e-8)
    search = GridSearchCV(CumulativeLasso(**TIGHT), {"alpha": [0.01, 0.1, 1.0]}, cv=KFold(3))
    ref_search = GridSearchCV(Lasso(**TIGHT), {"alpha": [0.01, 0.1, 1.0]}, cv=KFold(3))
    search.fit(X, y)
    ref_search.fit(X, y)
    assert search.best_params_ == ref_search.best_params_
    assert_allclose(search.cv_results_["mean_test_score"],
                    ref_search.cv_results_["mean_test_score"], rtol=1e-6)


def test_metadata_routing_of_groups_and_weights():
    import sklearn

    X, y, w = _data(seed=10)
    groups = np.arange(len(y)) % 7
    with sklearn.config_context(enable_metadata_routing=True):
        est = CumulativeRidgeCV(alphas=[0.1, 10.0]).set_fit_request(
            groups=True, sample_weight=True
        ).set_score_request(sample_weight=False)
        result = cross_validate(est, X, y, cv=KFold(3), return_estimator=True,
                                params={"groups": groups, "sample_weight": w})
    fitted = result["estimator"][0]
    train = np.arange(len(y))[100:]
    direct = CumulativeRidgeCV(alphas=[0.1, 10.0]).fit(
        X[train], y[train], sample_weight=w[train], groups=groups[train]
    )
    assert_allclose(fitted.mse_path_, direct.mse_path_, rtol=1e-12)


@parametrize_with_checks(
    [
        CumulativeRidge(),
        CumulativeRidge(solver="qr", fit_intercept=False),
        CumulativeLasso(),
        CumulativeElasticNet(),
        CumulativeRidgeCV(),
        CumulativeLassoCV(),
        CumulativeElasticNetCV(l1_ratio=[0.5, 1.0], alphas=10, cv=3),
        FoldGridSearchCV(CumulativeRidge(), {"alpha": [0.1, 1.0]}),
        FoldGridSearchCV(CumulativeElasticNet(), {"alpha": [0.1, 1.0], "l1_ratio": [0.5]}),
    ]
)
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)
