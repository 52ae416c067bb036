"""scipy.sparse designs: every linear estimator equals its dense fit.

Oracles: the same estimator on the densified rows (a separate, dense code
path), statsmodels OLS, scikit-learn's LinearRegression / Ridge pipelines,
and centred moments computed in extended precision by numpy.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import sparse
from sklearn.base import clone
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from skbigreg.linear_model import (
    CumulativeElasticNet,
    CumulativeElasticNetCV,
    CumulativeFixedEffectsRegression,
    CumulativeIVRegression,
    CumulativeLasso,
    CumulativeLassoCV,
    CumulativeLinearRegression,
    CumulativeRidge,
    CumulativeRidgeCV,
    GroupedLinearRegression,
)
from skbigreg.model_selection import FoldGridSearchCV, hash_folds
from skbigreg.stats import GramStats, QRStats

N_LEVELS = 12
FIRST_DENSE = N_LEVELS - 1 + 3 + 1  # after the two factors and the sparse numeric column


def _design(seed=0, n=480, offsets=(1e4, -3e3, 0.0)):
    """A one-hot factor (first level dropped) next to dense columns with large offsets."""
    rng = np.random.default_rng(seed)
    level = rng.integers(0, N_LEVELS, n)
    one_hot = sparse.csr_array(
        (np.ones(n), (np.arange(n), level)), shape=(n, N_LEVELS)
    )[:, 1:]
    second = rng.integers(0, 4, n)  # a second factor: two stored values per row
    one_hot_2 = sparse.csr_array((np.ones(n), (np.arange(n), second)), shape=(n, 4))[:, 1:]
    # A sparse numeric column: stored in 30% of the rows, values near 50.
    stored = rng.uniform(size=n) < 0.3
    rare = sparse.csr_array(((50 + rng.normal(size=n)) * stored)[:, None])
    dense = rng.normal(size=(n, len(offsets))) * [1.0, 10.0, 100.0][: len(offsets)]
    dense = dense + np.asarray(offsets)
    X = sparse.hstack([one_hot, one_hot_2, rare, sparse.csr_array(dense)], format="csr")
    y = X.toarray() @ rng.normal(size=X.shape[1]) + rng.normal(size=n) * (1 + level / 4)
    return X, y, {
        "w": rng.uniform(0.2, 3.0, n),
        "clusters": rng.integers(0, 25, n),
        "level": level,
        "site": rng.integers(0, 3, n),
    }


def _relative(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.abs(a - b).max() / max(np.abs(b).max(), 1e-300)


def _chunks(X, y, size=61, **columns):
    out = []
    for start in range(0, X.shape[0], size):
        rows = slice(start, start + size)
        chunk = {"X": X[rows], "y": y[rows]}
        chunk.update({name: values[rows] for name, values in columns.items()})
        out.append(chunk)
    return out


# -- the map ---------------------------------------------------------------------
def _exact_moments(X, y, w):
    """Weighted mean and centred co-moments in extended precision (two passes)."""
    Z = np.hstack([X.toarray(), y.reshape(len(y), -1)]).astype(np.longdouble)
    w = np.asarray(w, dtype=np.longdouble)
    mean = (w @ Z) / w.sum()
    centred = Z - mean
    return mean.astype(float), (centred.T @ (centred * w[:, None])).astype(float)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_gram_of_sparse_chunk_is_centred_to_full_accuracy(weighted, fmt):
    X, y, extra = _design(offsets=(1e8, -3e6, 5.0))
    w = extra["w"] if weighted else np.ones(X.shape[0])
    stats = GramStats.from_arrays(X.asformat(fmt), y, w if weighted else None)
    mean, comoment = _exact_moments(X, y, w)
    # Each co-moment to a few ulps of the geometric mean of its variances.
    scale = np.sqrt(np.outer(np.diag(comoment), np.diag(comoment)))
    assert np.all(np.abs(stats.comoment - comoment) <= 1e-13 * scale)
    # Means to rounding of a sum: a few ulps of magnitude plus spread.
    spread = np.sqrt(np.diag(comoment) / w.sum())
    assert np.all(np.abs(stats.mean - mean) <= 1e-14 * (np.abs(mean) + spread))
    assert stats.n_rows == X.shape[0] and np.isclose(stats.weight_sum, w.sum(), rtol=1e-15)


def test_sparse_statistics_merge_like_dense_chunks():
    X, y, extra = _design(seed=1)
    whole = GramStats.from_arrays(X, y, extra["w"])
    parts = [GramStats.from_arrays(c["X"], c["y"], c["w"]) for c in _chunks(X, y, w=extra["w"])]
    assert sum(parts[::-1], GramStats.empty(X.shape[1])).allclose(whole, rtol=1e-12)
    dense = GramStats.from_arrays_centred(X.toarray(), y.reshape(-1, 1), extra["w"])
    assert whole.allclose(dense, rtol=1e-10)


def test_qr_statistics_of_sparse_chunk_equal_dense():
    X, y, extra = _design(seed=2)
    sparse_qr = QRStats.from_arrays(X, y, extra["w"])
    dense_qr = QRStats.from_arrays(X.toarray(), y, extra["w"])
    assert np.allclose(sparse_qr.comoment, dense_qr.comoment, rtol=1e-10,
                       atol=1e-10 * np.abs(dense_qr.comoment).max())


def test_fold_hashes_of_sparse_rows_equal_dense():
    X, y, _ = _design(seed=3)
    X = X.tolil()
    X[0, 0] = -0.0  # a stored negative zero hashes as in the dense copy
    X[1, 2] = 0.0  # an explicitly stored zero hashes as an absent one
    X = X.tocsr()
    for layout in (X, X.tocsc(), sparse.csr_matrix(X)):
        assert np.array_equal(hash_folds(layout, y, 5, 7), hash_folds(X.toarray(), y, 5, 7))


# -- every estimator ----------------------------------------------------------------
ESTIMATORS = [
    (CumulativeLinearRegression(), {}),
    (CumulativeLinearRegression(cov_type="HC3"), {}),
    (CumulativeLinearRegression(cov_type="HC1"), {"sample_weight": "w"}),
    (CumulativeLinearRegression(cov_type="cluster"), {"clusters": "clusters"}),
    (CumulativeLinearRegression(cov_type="HC3", weight_type="frequency"), {"sample_weight": "w"}),
    (CumulativeLinearRegression(cov_type="HC2", fit_intercept=False), {"sample_weight": "w"}),
    (CumulativeLinearRegression(solver="qr", fit_intercept=False), {"sample_weight": "w"}),
    (CumulativeRidge(alpha=3.0), {"sample_weight": "w"}),
    (CumulativeLasso(alpha=0.05), {}),
    (CumulativeElasticNet(alpha=0.05, l1_ratio=0.3), {}),
    (CumulativeRidgeCV(alphas=(0.1, 1.0, 10.0)), {}),
    (CumulativeLassoCV(alphas=8), {}),
    (CumulativeElasticNetCV(alphas=8, l1_ratio=[0.2, 0.8]), {}),
    (FoldGridSearchCV(CumulativeRidge(), {"alpha": [0.1, 1.0, 10.0]}), {}),
    (CumulativeIVRegression(endogenous=[FIRST_DENSE], instruments=[FIRST_DENSE + 1],
                            cov_type="HC1"), {}),
    (CumulativeFixedEffectsRegression(cov_type="HC1"), {"entities": "clusters"}),
    (GroupedLinearRegression(), {"partitions": "site"}),
]


def _fitted_numbers(est):
    """Coefficients, and standard errors where the estimator reports them."""
    model = getattr(est, "best_estimator_", est)
    numbers = [np.ravel(model.coef_), np.ravel(model.intercept_)]
    if hasattr(model, "results"):
        numbers.append(np.asarray(model.results().bse))
    return numbers


@pytest.mark.parametrize("est, columns", ESTIMATORS, ids=lambda v: repr(v)[:60])
def test_sparse_fit_equals_dense_fit(est, columns):
    # Without an intercept nothing is centred: large offsets would make the raw
    # design ill-conditioned for any method, dense or sparse.
    centred = est.get_params().get("fit_intercept", True)
    X, y, extra = _design() if centred else _design(offsets=(1.0, -2.0, 0.0))
    kwargs = {name: extra[key] for name, key in columns.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dense = clone(est).fit(X.toarray(), y, **kwargs)
        one_shot = clone(est).fit(X, y, **kwargs)
        streamed = clone(est).fit_chunks(_chunks(X.tocsc(), y, **kwargs))
    for got in (one_shot, streamed):
        for value, expected in zip(_fitted_numbers(got), _fitted_numbers(dense)):
            assert _relative(value, expected) < 1e-10
    predict = {"partitions": extra["site"]} if "partitions" in kwargs else {}
    assert _relative(one_shot.predict(X, **predict), dense.predict(X.toarray(), **predict)) < 1e-10


def test_partial_fit_of_sparse_chunks_equals_statsmodels():
    X, y, extra = _design(seed=4)
    est = CumulativeLinearRegression(cov_type="HC2")
    for chunk in _chunks(X, y, size=50, sample_weight=extra["w"]):
        est.partial_fit(chunk["X"], chunk["y"], chunk["sample_weight"])
    for chunk in _chunks(X, y, size=50, sample_weight=extra["w"]):
        est.partial_fit_scores(chunk["X"], chunk["y"], chunk["sample_weight"])
    oracle = sm.WLS(y, sm.add_constant(X.toarray()), weights=extra["w"]).fit(cov_type="HC2")
    res = est.results()
    assert _relative(res.params, oracle.params) < 1e-10
    assert _relative(res.bse, oracle.bse) < 1e-8


# -- bad input ------------------------------------------------------------------------
@pytest.mark.parametrize("bad, message", [(np.nan, "Input X contains NaN"),
                                          (np.inf, "Input X contains infinity")])
def test_stored_nan_or_inf_is_refused_and_the_fit_is_unchanged(bad, message):
    X, y, _ = _design(seed=5)
    est = CumulativeLinearRegression().fit(X[:200], y[:200])
    before = est.coef_.copy(), est.stats_.n_rows
    chunk = X[200:].tolil()
    chunk[3, 1] = bad
    with pytest.raises(ValueError, match=message):
        est.partial_fit(chunk.tocsr(), y[200:])
    with pytest.raises(ValueError, match=message):
        CumulativeRidgeCV().fit(chunk.tocsc(), y[200:])
    assert np.array_equal(est.coef_, before[0]) and est.stats_.n_rows == before[1]


def test_sparse_chunk_with_wrong_feature_count_is_refused_as_dense():
    X, y, _ = _design(seed=6)
    est = CumulativeLinearRegression().fit(X, y)
    with pytest.raises(ValueError, match=f"expecting {X.shape[1]} features"):
        est.partial_fit(X[:, :-1], y)
    with pytest.raises(ValueError, match=f"expecting {X.shape[1]} features"):
        est.predict(X[:, 1:])


def test_empty_sparse_chunk_adds_nothing():
    X, y, _ = _design(seed=7)
    est = CumulativeLinearRegression().fit(X, y)
    coef = est.coef_.copy()
    est.partial_fit(X[:0], y[:0])
    assert np.array_equal(est.coef_, coef)


# -- scikit-learn pipelines -----------------------------------------------------------
def _frame(seed=8, n=300):
    rng = np.random.default_rng(seed)
    firm = rng.choice([f"f{i}" for i in range(15)], n)
    frame = pd.DataFrame({"firm": firm, "x1": rng.normal(size=n) + 1e3,
                          "x2": rng.normal(size=n) * 3})
    effect = pd.Series(rng.normal(size=15) * 4, index=[f"f{i}" for i in range(15)])
    y = effect[firm].to_numpy() + 2 * frame["x1"] - frame["x2"] + rng.normal(size=n)
    return frame, y


def _one_hot_pipeline(model, sparse_output=True):
    # scikit-learn's own regressors solve sparse input iteratively (lsqr, sparse_cg):
    # as oracles they get the same design dense.
    encoder = make_column_transformer(
        (OneHotEncoder(drop="first", sparse_output=sparse_output), ["firm"]),
        remainder="passthrough", sparse_threshold=1.0 if sparse_output else 0.0,
    )
    return make_pipeline(encoder, model)


def test_one_hot_pipeline_equals_linear_regression():
    frame, y = _frame()
    ours = _one_hot_pipeline(CumulativeLinearRegression()).fit(frame, y)
    oracle = _one_hot_pipeline(LinearRegression(), sparse_output=False).fit(frame, y)
    assert sparse.issparse(ours[0].transform(frame))
    assert _relative(ours[-1].coef_, oracle[-1].coef_) < 1e-8
    assert _relative(ours.predict(frame), oracle.predict(frame)) < 1e-12


def test_default_one_hot_pipeline_predicts_as_linear_regression():
    # OneHotEncoder's default keeps every level: collinear with the intercept.
    frame, y = _frame(seed=9)
    encoder = make_column_transformer((OneHotEncoder(), ["firm"]), remainder="passthrough")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = make_pipeline(encoder, CumulativeLinearRegression()).fit(frame, y)
    assert sparse.issparse(ours[0].transform(frame))
    dense = make_column_transformer((OneHotEncoder(sparse_output=False), ["firm"]),
                                    remainder="passthrough")
    oracle = make_pipeline(dense, LinearRegression()).fit(frame, y)
    assert _relative(ours.predict(frame), oracle.predict(frame)) < 1e-10


def test_one_hot_pipeline_in_grid_search_equals_ridge():
    frame, y = _frame(seed=10)
    grid = {"cumulativeridge__alpha": [0.01, 1.0, 100.0]}
    cv = KFold(4, shuffle=True, random_state=0)
    ours = GridSearchCV(_one_hot_pipeline(CumulativeRidge()), grid, cv=cv).fit(frame, y)
    oracle_grid = {"ridge__alpha": grid["cumulativeridge__alpha"]}
    oracle = GridSearchCV(_one_hot_pipeline(Ridge(), sparse_output=False), oracle_grid,
                          cv=cv).fit(frame, y)
    assert np.allclose(ours.cv_results_["mean_test_score"],
                       oracle.cv_results_["mean_test_score"], rtol=1e-10)
    assert _relative(ours.predict(frame), oracle.predict(frame)) < 1e-10


def test_one_hot_pipeline_with_fold_grid_search_equals_dense_design():
    frame, y = _frame(seed=11)
    search = FoldGridSearchCV(CumulativeRidge(), {"alpha": [0.01, 1.0, 100.0]}, cv=4,
                              random_state=3)
    ours = _one_hot_pipeline(search).fit(frame, y)
    design = ours[0].transform(frame)
    assert sparse.issparse(design)
    dense = clone(search).fit(design.toarray(), y)
    fitted = ours[-1]
    assert fitted.best_params_ == dense.best_params_
    assert np.allclose(fitted.cv_results_["mean_test_score"],
                       dense.cv_results_["mean_test_score"], rtol=1e-10)
    # The chosen model is ridge on all rows at the chosen alpha.
    oracle = _one_hot_pipeline(Ridge(alpha=dense.best_params_["alpha"]),
                               sparse_output=False).fit(frame, y)
    assert _relative(ours.predict(frame), oracle.predict(frame)) < 1e-10


def test_sliced_sparse_source_on_workers_equals_dense_fit():
    from skbigreg.io import iter_chunks

    X, y, extra = _design(seed=12)
    source = iter_chunks(X, y, extra["w"], chunk_rows=100, clusters=extra["clusters"])
    est = CumulativeLinearRegression(cov_type="cluster").fit_chunks(source, n_jobs=2)
    dense = CumulativeLinearRegression(cov_type="cluster").fit(
        X.toarray(), y, extra["w"], clusters=extra["clusters"])
    for value, expected in zip(_fitted_numbers(est), _fitted_numbers(dense)):
        assert _relative(value, expected) < 1e-10


def test_prediction_intervals_at_sparse_rows_equal_dense():
    X, y, _ = _design(seed=13)
    res = CumulativeLinearRegression().fit(X, y).results()
    got = res.get_prediction(X[:7]).summary_frame()
    expected = res.get_prediction(X[:7].toarray()).summary_frame()
    assert np.allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-13, atol=0)


@pytest.mark.parametrize("cv, groups", [(KFold(3), False), (None, True),
                                        ([(np.arange(100, 480), np.arange(0, 150))], False)])
def test_cross_validation_splits_of_sparse_rows_equal_dense(cv, groups):
    X, y, extra = _design(seed=14)
    labels = extra["clusters"] if groups else None
    est = CumulativeRidgeCV(alphas=(0.1, 1.0, 10.0), cv=cv)
    dense = clone(est).fit(X.toarray(), y, groups=labels)
    ours = clone(est).fit(X.tocsc(), y, groups=labels)
    assert ours.alpha_ == dense.alpha_
    assert _relative(ours.mse_path_, dense.mse_path_) < 1e-10
    assert _relative(ours.coef_, dense.coef_) < 1e-10
