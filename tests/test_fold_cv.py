"""Fold-aggregate cross-validation against explicit per-fold refits in scikit-learn."""

import re
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNetCV, LassoCV, Ridge, RidgeCV
from sklearn.metrics import mean_squared_error, r2_score
from sklearn.model_selection import GroupKFold, KFold, PredefinedSplit, ShuffleSplit

from skbigreg.linear_model import (
    CumulativeElasticNetCV,
    CumulativeLassoCV,
    CumulativeRidgeCV,
)
from skbigreg.model_selection import (
    FoldStatistics,
    SplitStatistics,
    chunk_fold_statistics,
    fold_statistics,
    hash_folds,
)
from skbigreg.parallel import map_reduce
from skbigreg.stats import GramStats

ALPHAS = np.logspace(-3, 3, 13)
TIGHT = dict(tol=1e-12, max_iter=100_000)


def _data(seed=0, n=400, k=8, offset=0.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, k)) + offset
    beta = rng.normal(size=k) * (rng.uniform(size=k) < 0.5)
    y = 1.0 + offset + (X - offset) @ beta + 2.0 * rng.normal(size=n)
    w = rng.uniform(0.2, 3.0, size=n)
    return X, y, w


def _rel(a, b):
    return np.abs(np.asarray(a) - np.asarray(b)).max() / np.abs(np.asarray(b)).max()


def _ridge_loop(X, y, w, splits, alphas, metric=mean_squared_error):
    """The oracle: sklearn Ridge refitted on every fold for every alpha."""
    out = np.empty((len(alphas), len(splits)))
    for k, (train, test) in enumerate(splits):
        for a, alpha in enumerate(alphas):
            wt = None if w is None else w[train]
            model = Ridge(alpha=alpha).fit(X[train], y[train], sample_weight=wt)
            sw = None if w is None else w[test]
            out[a, k] = metric(y[test], model.predict(X[test]), sample_weight=sw)
    return out


def _hashed_splits(X, y, n_splits, random_state=None, groups=None):
    fold = hash_folds(X, y, n_splits, random_state, groups)
    return [(np.flatnonzero(fold != k), np.flatnonzero(fold == k)) for k in range(n_splits)]


# -- ridge ---------------------------------------------------------------------
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("cv", ["hashed", "kfold"])
def test_ridge_cv_mse_path_matches_explicit_sklearn_loop(weighted, cv):
    X, y, w = _data()
    w = w if weighted else None
    if cv == "hashed":
        model = CumulativeRidgeCV(alphas=ALPHAS, cv=5, random_state=3)
        splits = _hashed_splits(X, y, 5, random_state=3)
    else:
        model = CumulativeRidgeCV(alphas=ALPHAS, cv=KFold(5))
        splits = list(KFold(5).split(X))
    model.fit(X, y, sample_weight=w)
    alphas = np.sort(ALPHAS)[::-1]
    expected = _ridge_loop(X, y, w, splits, alphas)
    assert_allclose(model.alphas_, alphas)
    assert model.mse_path_.shape == (len(ALPHAS), 5)
    assert _rel(model.mse_path_, expected) < 1e-8
    assert model.alpha_ == alphas[np.argmin(expected.mean(axis=1))]
    final = Ridge(alpha=model.alpha_).fit(X, y, sample_weight=w)
    assert_allclose(model.coef_, final.coef_, rtol=1e-8)
    assert_allclose(model.cv_results_["mean_test_score"], -expected.mean(axis=1), rtol=1e-8)


def test_ridge_cv_r2_scoring_matches_explicit_loop():
    X, y, _ = _data(seed=1, n=120, k=10)
    model = CumulativeRidgeCV(alphas=ALPHAS, cv=KFold(4), scoring="r2").fit(X, y)
    alphas = np.sort(ALPHAS)[::-1]
    r2 = _ridge_loop(X, y, None, list(KFold(4).split(X)), alphas, metric=r2_score)
    assert_allclose(model.cv_results_["mean_test_score"], r2.mean(axis=1), rtol=1e-8)
    assert model.alpha_ == alphas[np.argmax(r2.mean(axis=1))]


def test_ridge_cv_qr_equals_gram():
    X, y, w = _data(seed=2)
    gram = CumulativeRidgeCV(alphas=ALPHAS).fit(X, y, sample_weight=w)
    qr = CumulativeRidgeCV(alphas=ALPHAS, solver="qr").fit(X, y, sample_weight=w)
    assert _rel(qr.mse_path_, gram.mse_path_) < 1e-8
    assert qr.alpha_ == gram.alpha_


# -- lasso / elastic net ---------------------------------------------------------
@pytest.mark.parametrize("weighted", [False, True])
def test_lasso_cv_matches_sklearn_lasso_cv(weighted):
    X, y, w = _data(seed=3)
    w = w if weighted else None
    ref = LassoCV(alphas=30, cv=KFold(5), **TIGHT).fit(X, y, sample_weight=w)
    ours = CumulativeLassoCV(alphas=30, cv=KFold(5), **TIGHT).fit(X, y, sample_weight=w)
    assert_allclose(ours.alphas_, ref.alphas_, rtol=1e-10)
    assert ours.mse_path_.shape == ref.mse_path_.shape
    assert _rel(ours.mse_path_, ref.mse_path_) < 1e-5
    # The same grid point (the grids agree to rounding).
    assert np.argmin(np.abs(ours.alphas_ - ours.alpha_)) == np.argmin(
        np.abs(ref.alphas_ - ref.alpha_))
    assert np.abs(ours.coef_ - ref.coef_).max() < 1e-6


def test_elastic_net_cv_matches_sklearn_with_l1_ratio_grid():
    X, y, _ = _data(seed=4)
    params = dict(l1_ratio=[0.2, 0.7, 1.0], alphas=np.logspace(-3, 0, 15), cv=KFold(4))
    ref = ElasticNetCV(**params, **TIGHT).fit(X, y)
    ours = CumulativeElasticNetCV(**params, **TIGHT).fit(X, y)
    assert ours.mse_path_.shape == ref.mse_path_.shape == (3, 15, 4)
    assert _rel(ours.mse_path_, ref.mse_path_) < 1e-5
    assert (ours.alpha_, ours.l1_ratio_) == (ref.alpha_, ref.l1_ratio_)
    assert_allclose(ours.alphas_, ref.alphas_)


def test_lasso_cv_hashed_folds_match_sklearn_on_the_same_splits():
    X, y, _ = _data(seed=5)
    splits = _hashed_splits(X, y, 5)
    alphas = np.logspace(-3, 0, 20)
    ours = CumulativeLassoCV(alphas=alphas, **TIGHT).fit(X, y)
    ref = LassoCV(alphas=alphas, cv=splits, **TIGHT).fit(X, y)
    assert _rel(ours.mse_path_, ref.mse_path_) < 1e-5
    assert ours.alpha_ == ref.alpha_


# -- folds ----------------------------------------------------------------------
def test_folds_do_not_depend_on_chunking_or_order():
    X, y, w = _data(seed=6, n=600)
    one_shot = CumulativeRidgeCV(alphas=ALPHAS, random_state=7).fit(X, y, sample_weight=w)
    order = np.random.default_rng(1).permutation(600)
    streamed = CumulativeRidgeCV(alphas=ALPHAS, random_state=7)
    for chunk in np.array_split(order, 7):
        streamed.partial_fit(X[chunk], y[chunk], sample_weight=w[chunk])
    for a, b in zip(streamed.fold_stats_.folds, one_shot.fold_stats_.folds):
        assert a.n_rows == b.n_rows
        assert a.allclose(b, rtol=1e-10)
    assert_allclose(streamed.mse_path_, one_shot.mse_path_, rtol=1e-10)
    assert streamed.alpha_ == one_shot.alpha_
    assert_allclose(streamed.coef_, one_shot.coef_, rtol=1e-10)


def test_hashed_folds_are_balanced_seeded_and_value_based():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20_000, 4)), rng.normal(size=20_000)
    fold = hash_folds(X, y, 5, random_state=0)
    counts = np.bincount(fold, minlength=5) / 20_000
    assert np.abs(counts - 0.2).max() < 0.015
    other = hash_folds(X, y, 5, random_state=1)
    assert 0.15 < np.mean(fold == other) < 0.25  # a new seed reshuffles
    order = rng.permutation(20_000)
    assert_array_equal(hash_folds(X[order], y[order], 5, random_state=0), fold[order])
    assert_array_equal(hash_folds(np.vstack([X[:3], X[:3]]), np.r_[y[:3], y[:3]], 5)[3:],
                       hash_folds(X[:3], y[:3], 5))


def test_groups_are_never_split_and_match_explicit_loop():
    X, y, _ = _data(seed=7, n=500)
    groups = np.random.default_rng(2).integers(0, 40, size=500)
    fold = hash_folds(X, y, 4, random_state=0, groups=groups)
    for g in np.unique(groups):
        assert len(np.unique(fold[groups == g])) == 1
    model = CumulativeRidgeCV(alphas=ALPHAS, cv=4).fit(X, y, groups=groups)
    splits = _hashed_splits(X, y, 4, groups=groups)
    expected = _ridge_loop(X, y, None, splits, np.sort(ALPHAS)[::-1])
    assert _rel(model.mse_path_, expected) < 1e-8
    # String labels hash the same way in any chunk.
    labels = np.array([f"site-{g}" for g in groups])
    streamed = CumulativeRidgeCV(alphas=ALPHAS, cv=4)
    for part in np.array_split(np.arange(500), 3):
        streamed.partial_fit(X[part], y[part], groups=labels[part])
    one_shot = CumulativeRidgeCV(alphas=ALPHAS, cv=4).fit(X, y, groups=labels)
    assert_allclose(streamed.mse_path_, one_shot.mse_path_, rtol=1e-10)


@pytest.mark.filterwarnings("ignore:The groups parameter is ignored")
@pytest.mark.parametrize(
    "make_cv",
    [
        lambda X, g: GroupKFold(3),
        lambda X, g: PredefinedSplit(np.arange(len(X)) % 3),
        lambda X, g: list(KFold(3).split(X)),
    ],
)
def test_partitioning_splitters_and_iterables(make_cv):
    X, y, w = _data(seed=8, n=300)
    groups = np.arange(300) // 10
    cv = make_cv(X, groups)
    model = CumulativeRidgeCV(alphas=ALPHAS, cv=cv).fit(X, y, sample_weight=w, groups=groups)
    assert isinstance(model.fold_stats_, FoldStatistics)
    splitter = cv if hasattr(cv, "split") else None
    splits = list(splitter.split(X, y, groups)) if splitter is not None else cv
    expected = _ridge_loop(X, y, w, splits, np.sort(ALPHAS)[::-1])
    assert _rel(model.mse_path_, expected) < 1e-8


def test_non_partition_splits_get_per_split_statistics():
    X, y, _ = _data(seed=9, n=200)
    cv = ShuffleSplit(n_splits=3, test_size=0.25, random_state=0)
    model = CumulativeRidgeCV(alphas=ALPHAS, cv=cv).fit(X, y)
    assert isinstance(model.fold_stats_, SplitStatistics)
    expected = _ridge_loop(X, y, None, list(cv.split(X)), np.sort(ALPHAS)[::-1])
    assert _rel(model.mse_path_, expected) < 1e-8
    with pytest.raises(ValueError, match="partial_fit needs cv=None or an int"):
        CumulativeRidgeCV(cv=cv).partial_fit(X, y)


def test_train_statistics_keep_their_digits_at_large_offsets():
    X, y, w = _data(seed=10, n=3000, offset=1e6)
    model = CumulativeRidgeCV(alphas=ALPHAS, cv=5).fit(X, y, sample_weight=w)
    fold = hash_folds(X, y, 5)
    for k in range(5):
        train, _ = model.fold_stats_.split(k)
        rows = fold != k
        direct = GramStats.from_arrays(X[rows], y[rows], w[rows])
        assert_allclose(train.mean, direct.mean, rtol=1e-14)
        assert_allclose(train.comoment, direct.comoment, rtol=1e-9,
                        atol=1e-9 * np.abs(direct.comoment).max())
    # Ridge with an intercept is translation invariant: same held-out errors.
    centred = X - 1e6, y - 1e6
    splits = [(np.flatnonzero(fold != k), np.flatnonzero(fold == k)) for k in range(5)]
    expected = _ridge_loop(*centred, w, splits, np.sort(ALPHAS)[::-1])
    assert _rel(model.mse_path_, expected) < 1e-8


def test_too_few_rows_for_cross_validation():
    with pytest.raises(ValueError, match="n_samples = 1"):
        CumulativeRidgeCV().fit(np.ones((1, 2)), np.ones(1))


def test_merge_and_from_statistics_keep_the_folds():
    X, y, _ = _data(seed=11)
    full = CumulativeLassoCV(alphas=10).fit(X, y)
    merged = CumulativeLassoCV(alphas=10).fit(X[:150], y[:150]).merge(
        CumulativeLassoCV(alphas=10).fit(X[150:], y[150:])
    )
    rebuilt = CumulativeLassoCV.from_statistics(full.stats_, fold_stats=full.fold_stats_,
                                               alphas=10)
    for other in (merged, rebuilt):
        assert_allclose(other.mse_path_, full.mse_path_, rtol=1e-8)
        assert other.alpha_ == pytest.approx(full.alpha_, rel=1e-12)


def _chunk_folds(chunk):
    X, y = chunk
    return chunk_fold_statistics(X, y[:, None], None, None, 5, 0, GramStats)


def test_parallel_tree_reduction_gives_the_same_folds():
    from joblib import parallel_config

    X, y, _ = _data(seed=12, n=900)
    chunks = [(X[i:i + 100], y[i:i + 100]) for i in range(0, 900, 100)][::-1]
    with parallel_config(backend="threading"):
        folds = map_reduce(_chunk_folds, chunks, n_jobs=2)
    merged = CumulativeRidgeCV.from_statistics(folds.total(), fold_stats=folds,
                                               alphas=ALPHAS, random_state=0)
    one_shot = CumulativeRidgeCV(alphas=ALPHAS, random_state=0).fit(X, y)
    assert_allclose(merged.mse_path_, one_shot.mse_path_, rtol=1e-10)
    assert merged.alpha_ == one_shot.alpha_


@pytest.mark.parametrize("n_splits", [2, 5, 300])
@pytest.mark.parametrize("weighted", [False, True])
def test_staged_fold_statistics_equal_numpy_per_fold(n_splits, weighted):
    # Several pieces and staging flushes: every fold's count, weight, means
    # and centred co-moments equal numpy's on the fold's own rows.
    rng = np.random.default_rng(3)
    n = 40_000
    X = rng.standard_normal((n, 7)) + 50.0
    y = rng.standard_normal((n, 2))
    w = rng.uniform(0.5, 2.0, n) if weighted else None
    folds = fold_statistics(X, y, w, hash_folds(X, y, n_splits), n_splits, GramStats)
    fold = hash_folds(X, y, n_splits)
    for k, stats in enumerate(folds.folds):
        Z = np.hstack([X, y])[fold == k]
        weights = np.ones(len(Z)) if w is None else w[fold == k]
        assert stats.n_rows == len(Z)
        assert_allclose(stats.weight_sum, weights.sum(), rtol=1e-12)
        if len(Z) == 0:
            continue
        mean = np.average(Z, axis=0, weights=weights)
        centred = Z - mean
        assert_allclose(stats.mean, mean, rtol=1e-12)
        assert_allclose(stats.comoment, (centred * weights[:, None]).T @ centred,
                        rtol=1e-9, atol=1e-9 * len(Z))


# -- penalty grids (issue 11, defect 13) -------------------------------------------
def _sklearn_message(estimator, X, y):
    with pytest.raises(ValueError) as caught:
        estimator.fit(X, y)
    return str(caught.value)


@pytest.mark.parametrize(
    "ours, ref",
    [
        (CumulativeLassoCV(alphas=[1.0, -1]), LassoCV(alphas=[1.0, -1])),
        (CumulativeElasticNetCV(alphas=[-0.5]), ElasticNetCV(alphas=[-0.5])),
        (CumulativeRidgeCV(alphas=[1.0, -1]), RidgeCV(alphas=[1.0, -1], cv=5)),
    ],
)
def test_negative_penalties_are_refused_with_sklearns_message(ours, ref):
    """Defect 13: LassoCV/ElasticNetCV accepted negative alphas (fitted alpha_ = 1)."""
    X, y, _ = _data(seed=11, n=100)
    message = _sklearn_message(ref, X, y)
    assert "must be >= 0.0" in message
    with pytest.raises(ValueError, match=re.escape(message)):
        ours.fit(X, y)


@pytest.mark.parametrize("l1_ratio", [0, [0.0, 0.5]])
def test_l1_ratio_zero_with_the_automatic_grid_is_refused_as_sklearn(l1_ratio):
    """Defect 13: l1_ratio=0 gave alphas_ = [inf, nan, ...], alpha_ = inf, coef_ = 0."""
    X, y, _ = _data(seed=12, n=100)
    message = _sklearn_message(ElasticNetCV(l1_ratio=l1_ratio), X, y)
    with pytest.raises(ValueError, match=re.escape(message)):
        CumulativeElasticNetCV(l1_ratio=l1_ratio).fit(X, y)
    # Refused before any row is read, so no fit is half made.
    model = CumulativeElasticNetCV(l1_ratio=l1_ratio)
    with pytest.raises(ValueError, match="l1_ratio=0"):
        model.fit_chunks([(X, y)])
    assert not hasattr(model, "stats_")


def test_l1_ratio_zero_with_given_alphas_matches_sklearn():
    X, y, _ = _data(seed=13, n=200)
    params = dict(l1_ratio=[0.0, 0.5], alphas=np.logspace(-2, 1, 7), cv=KFold(4))
    ref = ElasticNetCV(**params, **TIGHT).fit(X, y)
    ours = CumulativeElasticNetCV(**params, **TIGHT).fit(X, y)
    assert _rel(ours.mse_path_, ref.mse_path_) < 1e-5
    assert (ours.alpha_, ours.l1_ratio_) == (ref.alpha_, ref.l1_ratio_)


@pytest.mark.parametrize("estimator", [CumulativeLassoCV, CumulativeRidgeCV])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_penalties_are_refused(estimator, bad):
    """NaN gave alpha_ = nan (LassoCV) or was skipped silently (RidgeCV)."""
    X, y, _ = _data(seed=14, n=100)
    with pytest.raises(ValueError, match=r"alphas\[1\] == (nan|inf), must be finite"):
        estimator(alphas=[1.0, bad]).fit(X, y)


@pytest.mark.parametrize("bad", [[1.5], [0.5, -0.1]])
def test_l1_ratio_values_outside_zero_one_are_refused(bad):
    """l1_ratio=1.5 gave a negative L2 penalty without a word."""
    X, y, _ = _data(seed=15, n=100)
    with pytest.raises(ValueError, match=r"l1_ratio\[\d\] == "):
        CumulativeElasticNetCV(l1_ratio=bad).fit(X, y)


def test_a_failed_grid_check_leaves_the_previous_fit():
    X, y, _ = _data(seed=16, n=100)
    model = CumulativeLassoCV(alphas=[1.0, 0.1]).fit(X, y)
    before = model.coef_.copy()
    with pytest.raises(ValueError, match="alphas"):
        model.set_params(alphas=[-1.0]).fit(X[:50], y[:50])
    assert_array_equal(model.coef_, before)


@pytest.mark.parametrize("estimator", [CumulativeLassoCV, CumulativeElasticNetCV])
def test_one_row_training_fold_gives_no_convergence_warning(estimator):
    """Defect 13: a training fold of one row (all rows minus the other fold) has
    y'y = 0, so the solver's tolerance tol * y'y was 0 and rounding-level
    statistics raised "Duality gap 4.8e-35, tolerance 0"."""
    X, y, _ = _data(seed=0, n=2, k=2)
    cv = KFold(2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = estimator(alphas=[1.0, 0.0], cv=cv).fit(X, y)
    # Trained on one row, any model predicts that row's y: held-out MSE (y1 - y0)².
    assert_allclose(model.mse_path_, np.full((2, 2), (y[1] - y[0]) ** 2), rtol=1e-12)
