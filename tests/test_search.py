"""FoldGridSearchCV against scikit-learn's GridSearchCV on the same folds."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.linear_model import ElasticNet, LinearRegression, Ridge
from sklearn.model_selection import GridSearchCV, KFold

from skbigreg.linear_model import (
    CumulativeElasticNet,
    CumulativeLinearRegression,
    CumulativeRidge,
)
from skbigreg.model_selection import FoldGridSearchCV, hash_folds

GRID = {"alpha": list(np.logspace(-2, 3, 8))}


def _data(seed=0, n=300, k=6, targets=None):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, k))
    beta = rng.normal(size=(k,) if targets is None else (k, targets))
    y = 0.5 + X @ beta + 2.0 * rng.normal(size=beta.shape[1:] and (n, targets) or n)
    return X, y


def _compare(ours, ref, rtol):
    assert set(ours.cv_results_) == set(ref.cv_results_)
    for key in ref.cv_results_:
        if key.startswith("split") or key in ("mean_test_score", "std_test_score"):
            assert_allclose(ours.cv_results_[key], ref.cv_results_[key], rtol=rtol, err_msg=key)
    assert list(ours.cv_results_["rank_test_score"]) == list(ref.cv_results_["rank_test_score"])
    assert ours.cv_results_["params"] == ref.cv_results_["params"]
    assert ours.best_params_ == ref.best_params_
    assert ours.best_index_ == ref.best_index_
    assert ours.best_score_ == pytest.approx(ref.best_score_, rel=rtol)


@pytest.mark.parametrize("scoring", [None, "neg_mean_squared_error", "r2",
                                     "neg_root_mean_squared_error"])
@pytest.mark.parametrize("targets", [None, 2])
def test_ridge_grid_matches_grid_search_cv(scoring, targets):
    X, y = _data(targets=targets)
    ours = FoldGridSearchCV(CumulativeRidge(), GRID, scoring=scoring, cv=KFold(5)).fit(X, y)
    ref = GridSearchCV(Ridge(), GRID, scoring=scoring, cv=KFold(5)).fit(X, y)
    _compare(ours, ref, 1e-8)
    assert_allclose(ours.best_estimator_.coef_, ref.best_estimator_.coef_, rtol=1e-8)
    assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-8)


def test_hashed_folds_match_grid_search_on_the_same_splits():
    X, y = _data(seed=1)
    fold = hash_folds(X, y, 4, random_state=5)
    splits = [(np.flatnonzero(fold != k), np.flatnonzero(fold == k)) for k in range(4)]
    ours = FoldGridSearchCV(CumulativeRidge(), GRID, cv=4, random_state=5).fit(X, y)
    ref = GridSearchCV(Ridge(), GRID, cv=splits).fit(X, y)
    _compare(ours, ref, 1e-8)


def test_elastic_net_grid_over_alpha_and_l1_ratio():
    X, y = _data(seed=2)
    grid = {"alpha": [0.01, 0.1, 1.0], "l1_ratio": [0.2, 0.8]}
    tight = dict(tol=1e-12, max_iter=100_000)
    ours = FoldGridSearchCV(CumulativeElasticNet(**tight), grid, cv=KFold(3)).fit(X, y)
    ref = GridSearchCV(ElasticNet(**tight), grid, cv=KFold(3)).fit(X, y)
    _compare(ours, ref, 1e-6)


def test_linear_regression_grid_over_fit_intercept():
    X, y = _data(seed=3)
    grid = {"fit_intercept": [True, False]}
    ours = FoldGridSearchCV(CumulativeLinearRegression(), grid, cv=KFold(3)).fit(X, y)
    ref = GridSearchCV(LinearRegression(), grid, cv=KFold(3)).fit(X, y)
    _compare(ours, ref, 1e-8)


def test_weighted_scores_match_weighted_explicit_loop():
    X, y = _data(seed=4)
    w = np.random.default_rng(0).uniform(0.5, 2.0, size=len(y))
    ours = FoldGridSearchCV(CumulativeRidge(), GRID, scoring="neg_mean_squared_error",
                            cv=KFold(3)).fit(X, y, sample_weight=w)
    for i, params in enumerate(ours.cv_results_["params"]):
        for k, (train, test) in enumerate(KFold(3).split(X)):
            model = Ridge(**params).fit(X[train], y[train], sample_weight=w[train])
            mse = np.average((y[test] - model.predict(X[test])) ** 2, weights=w[test])
            assert ours.cv_results_[f"split{k}_test_score"][i] == pytest.approx(-mse, rel=1e-8)


def test_stream_equals_one_shot():
    X, y = _data(seed=5, n=500)
    one_shot = FoldGridSearchCV(CumulativeRidge(), GRID).fit(X, y)
    stream = FoldGridSearchCV(CumulativeRidge(), GRID)
    for part in np.array_split(np.random.default_rng(0).permutation(500), 6):
        stream.partial_fit(X[part], y[part])
    assert stream.best_params_ == one_shot.best_params_
    assert_allclose(stream.cv_results_["mean_test_score"],
                    one_shot.cv_results_["mean_test_score"], rtol=1e-10)
    assert_allclose(stream.best_estimator_.coef_, one_shot.best_estimator_.coef_, rtol=1e-10)


def test_clear_errors():
    X, y = _data(seed=6)
    with pytest.raises(ValueError, match="scoring"):
        FoldGridSearchCV(CumulativeRidge(), GRID, scoring="neg_mean_absolute_error").fit(X, y)
    with pytest.raises(ValueError, match="alpha"):
        FoldGridSearchCV(CumulativeRidge(), {"alpha": [1.0, -1.0]}).fit(X, y)
    with pytest.raises(ValueError, match="cannot vary"):
        FoldGridSearchCV(CumulativeRidge(), {"solver": ["gram", "qr"]}).fit(X, y)
    with pytest.raises(ValueError, match="partial_fit needs cv"):
        FoldGridSearchCV(CumulativeRidge(), GRID, cv=KFold(3)).partial_fit(X, y)
    unrefitted = FoldGridSearchCV(CumulativeRidge(), GRID, refit=False).fit(X, y)
    assert not hasattr(unrefitted, "best_estimator_")
    with pytest.raises(AttributeError, match="refit=False"):
        unrefitted.predict(X)
