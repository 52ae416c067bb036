"""DebiasedDistributedLasso / DebiasedDistributedLogisticRegression against oracles."""

import itertools
import warnings

import joblib
import numpy as np
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.linear_model import Lasso
from sklearn.utils._param_validation import InvalidParameterError
from statsmodels.base.distributed_estimation import DistributedModel

from skbigreg.linear_model import (
    DebiasedDistributedLasso,
    DebiasedDistributedLogisticRegression,
)

BETA = np.r_[1.0, -1.0, 0.5, -0.5, 0.8, np.zeros(45)]


def make_data(n, p=50, sigma=1.0, seed=0, beta=None, rho=0.0):
    rng = np.random.default_rng(seed)
    beta = BETA[:p] if beta is None else beta
    X = rng.standard_normal((n, p))
    if rho:
        X = np.sqrt(1 - rho) * X + np.sqrt(rho) * rng.standard_normal((n, 1))
    return X, X @ beta + sigma * rng.standard_normal(n)


def blocks(n, m):
    return np.repeat(np.arange(m), n // m)


def sm_partitions(X, y, m):
    for rows in np.array_split(np.arange(len(y)), m):
        yield y[rows], X[rows]


def ols(X, y, w=None):
    w = np.ones(len(y)) if w is None else w
    Z = np.column_stack([np.ones(len(y)), X])
    params = sm.WLS(y, Z, weights=w).fit().params
    return params[1:], params[0]


# --------------------------------------------------------------------------
# exact identities
# --------------------------------------------------------------------------
@pytest.mark.parametrize("nodewise", ["local", "split"])
def test_alpha_zero_one_partition_is_ols(nodewise):
    X, y = make_data(300, p=8, seed=1)
    X += 3.0  # an offset the intercept must absorb
    est = DebiasedDistributedLasso(alpha=0, threshold=0, nodewise=nodewise).fit(X, y)
    coef, intercept = ols(X, y)
    assert_allclose(est.coef_, coef, rtol=1e-9, atol=1e-11)
    assert_allclose(est.intercept_, intercept, rtol=1e-9)


@pytest.mark.parametrize("nodewise", ["local", "split"])
@pytest.mark.parametrize("method", ["debiased", "naive_unregularized"])
def test_alpha_zero_is_size_weighted_mean_of_local_ols(nodewise, method):
    X, y = make_data(600, p=6, seed=2)
    sizes = [100, 200, 300]
    labels = np.repeat(["a", "b", "c"], sizes)
    w = np.random.default_rng(0).integers(1, 4, size=600).astype(float)
    est = DebiasedDistributedLasso(
        alpha=0, threshold=0, nodewise=nodewise, method=method
    ).fit(X, y, partitions=labels, sample_weight=w)
    fits = [ols(X[labels == g], y[labels == g], w[labels == g]) for g in "abc"]
    share = np.array([w[labels == g].sum() for g in "abc"]) / w.sum()
    assert_allclose(est.coef_, sum(s * f[0] for s, f in zip(share, fits)), rtol=1e-9)
    assert_allclose(est.intercept_, sum(s * f[1] for s, f in zip(share, fits)), rtol=1e-9)
    # and unequal sizes are *not* averaged equally
    plain = sum(f[0] for f in fits) / 3
    assert np.max(np.abs(est.coef_ - plain)) > 1e-4


def test_integer_weights_equal_repeated_rows():
    X, y = make_data(200, p=10, seed=3)
    w = np.random.default_rng(1).integers(0, 3, size=200)
    labels = np.arange(200) % 2
    a = DebiasedDistributedLasso().fit(X, y, partitions=labels, sample_weight=w)
    rep = np.repeat(np.arange(200), w)
    b = DebiasedDistributedLasso().fit(X[rep], y[rep], partitions=labels[rep])
    assert_allclose(a.debiased_coef_, b.debiased_coef_, rtol=1e-7, atol=1e-9)
    assert_allclose(a.bse_, b.bse_, rtol=1e-7)


# --------------------------------------------------------------------------
# statsmodels' DistributedModel, where it is right
# --------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1])
def test_matches_statsmodels_gaussian(seed):
    X, y = make_data(1500, p=12, sigma=2.0, seed=seed)
    m, alpha = 3, 0.08
    model = DistributedModel(m, estimation_kwds={"score_kwds": {"scale": 1}})
    ref = model.fit(sm_partitions(X, y, m), fit_kwds={"alpha": alpha}).params
    est = DebiasedDistributedLasso(
        nodewise="split", fit_intercept=False, alpha=alpha, nodewise_alpha=alpha,
        threshold=0, n_partitions=m, tol=1e-14,
    ).fit(X, y)
    assert np.max(np.abs(est.coef_ - ref)) <= 1e-8


def test_statsmodels_default_score_keeps_bias_when_sigma_is_not_one():
    # statsmodels' default profile score divides the correction by sigma^2 = 4
    X, y = make_data(4000, p=12, sigma=2.0, seed=4)
    m, alpha = 4, 0.3
    kw = {"nodewise": "split", "fit_intercept": False, "alpha": alpha,
          "nodewise_alpha": alpha, "threshold": 0, "n_partitions": m}
    ours = DebiasedDistributedLasso(**kw).fit(X, y).coef_
    naive = DebiasedDistributedLasso(method="naive", **kw).fit(X, y).coef_
    default = DistributedModel(m).fit(sm_partitions(X, y, m), fit_kwds={"alpha": alpha}).params
    pooled_ols = np.linalg.lstsq(X, y, rcond=None)[0]

    def bias(coef):
        return np.abs(coef[:5] - pooled_ols[:5]).mean()

    assert bias(ours) < 0.1 * bias(naive)
    assert bias(default) > 0.6 * bias(naive)  # ~75% of the lasso bias kept


@pytest.mark.parametrize("family", ["binomial", "poisson"])
def test_matches_statsmodels_glm(family):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((1800, 8))
    eta = X @ np.r_[0.8, -0.6, 0.4, np.zeros(5)]
    if family == "binomial":
        y = (rng.random(1800) < 1 / (1 + np.exp(-eta))).astype(float)
        est_cls, sm_family, alpha = DebiasedDistributedLogisticRegression, sm.families.Binomial(), 0.02
        kw = {}
    else:
        y = rng.poisson(np.exp(0.5 * eta)).astype(float)
        est_cls, sm_family, alpha = DebiasedDistributedLasso, sm.families.Poisson(), 0.03
        kw = {"family": "poisson"}
    m = 3
    model = DistributedModel(m, model_class=sm.GLM, init_kwds={"family": sm_family})
    ref = model.fit(sm_partitions(X, y, m), fit_kwds={"alpha": alpha}).params
    est = est_cls(
        nodewise="split", fit_intercept=False, alpha=alpha, nodewise_alpha=alpha,
        threshold=0, n_partitions=m, **kw,
    ).fit(X, y)
    assert np.max(np.abs(est.coef_ - ref)) <= 1e-4


def _lasso_objective(X, y, coef, alpha):
    return 0.5 * np.mean((y - X @ coef) ** 2) + alpha * np.abs(coef).sum()


def _kkt_violation(X, y, coef, alpha):
    grad = X.T @ (X @ coef - y) / len(y)
    active = coef != 0
    on = np.abs(grad[active] + alpha * np.sign(coef[active]))
    off = np.maximum(np.abs(grad[~active]) - alpha, 0)
    return max(np.max(on, initial=0), np.max(off, initial=0))


@pytest.mark.parametrize("design", ["correlated", "p_greater_than_n"])
def test_local_fits_optimal_where_statsmodels_is_not(design):
    if design == "correlated":
        X, y = make_data(600, p=30, seed=6, rho=0.8)
    else:
        X, y = make_data(240, p=100, seed=7, beta=np.r_[BETA[:5], np.zeros(95)])
    m, alpha = 3, 0.05
    est = DebiasedDistributedLasso(
        method="naive", fit_intercept=False, alpha=alpha, threshold=0, n_partitions=m,
        tol=1e-14,
    ).fit(X, y)
    for result, (yk, Xk) in zip(est.partition_results_, sm_partitions(X, y, m)):
        theirs = sm.OLS(yk, Xk).fit_regularized(alpha=alpha).params
        assert _kkt_violation(Xk, yk, result.coef, alpha) <= 1e-6
        assert (_lasso_objective(Xk, yk, result.coef, alpha)
                <= _lasso_objective(Xk, yk, theirs, alpha) + 1e-12)


def test_one_partition_local_fit_is_sklearn_lasso():
    X, y = make_data(500, p=20, seed=8)
    est = DebiasedDistributedLasso(method="naive", alpha=0.05, threshold=0, tol=1e-12).fit(X, y)
    ref = Lasso(alpha=0.05, tol=1e-12, max_iter=100000).fit(X, y)
    assert_allclose(est.coef_, ref.coef_, atol=1e-9)
    assert_allclose(est.intercept_, ref.intercept_, atol=1e-9)


# --------------------------------------------------------------------------
# invariances: order of arrival, backends
# --------------------------------------------------------------------------
def test_local_mode_does_not_depend_on_arrival_order():
    X, y = make_data(1200, p=20, seed=9)
    chunks = np.array_split(np.arange(1200), 4)
    fits = []
    for order in ([0, 1, 2, 3], [3, 1, 0, 2]):
        est = DebiasedDistributedLasso()
        for k in order:
            est.partial_fit(X[chunks[k]], y[chunks[k]])
        fits.append(est)
    assert np.max(np.abs(fits[0].debiased_coef_ - fits[1].debiased_coef_)) <= 1e-12
    assert np.max(np.abs(fits[0].bse_ - fits[1].bse_)) <= 1e-12
    full = DebiasedDistributedLasso().fit(X, y, partitions=np.repeat(np.arange(4), 300))
    assert np.max(np.abs(full.debiased_coef_ - fits[0].debiased_coef_)) <= 1e-12


@pytest.mark.parametrize("nodewise", ["local", "split"])
def test_row_order_does_not_matter_given_labels(nodewise):
    X, y = make_data(900, p=15, seed=10)
    labels = np.random.default_rng(2).choice(["x", "y", "z"], size=900)
    perm = np.random.default_rng(3).permutation(900)
    a = DebiasedDistributedLasso(nodewise=nodewise).fit(X, y, partitions=labels)
    b = DebiasedDistributedLasso(nodewise=nodewise).fit(X[perm], y[perm], partitions=labels[perm])
    assert np.max(np.abs(a.debiased_coef_ - b.debiased_coef_)) <= 1e-12
    assert_allclose(a.intercept_, b.intercept_, atol=1e-12)


@pytest.mark.parametrize("backend", ["loky", "threading", "dask"])
def test_backends_give_identical_results(backend):
    X, y = make_data(800, p=10, seed=11)
    ref = DebiasedDistributedLasso(nodewise="split", n_partitions=4).fit(X, y)
    est = DebiasedDistributedLasso(nodewise="split", n_partitions=4, n_jobs=2)
    if backend == "dask":
        distributed = pytest.importorskip("distributed")
        client = distributed.Client(
            processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None
        )
        with client, joblib.parallel_config(backend="dask"):
            est.fit(X, y)
    else:
        with joblib.parallel_config(backend=backend):
            est.fit(X, y)
    # workers run single-threaded BLAS: equal up to the rounding of its reductions
    assert_allclose(est.coef_, ref.coef_, rtol=0, atol=1e-13)
    assert_allclose(est.bse_, ref.bse_, rtol=1e-12)


# --------------------------------------------------------------------------
# statistics with the default penalties and threshold
# --------------------------------------------------------------------------
def _l2_errors(nodewise, ms, seeds, sigma=1.0, method="debiased"):
    errors, exact = {m: [] for m in ms}, {m: [] for m in ms}
    for seed in seeds:
        X, y = make_data(10_000, sigma=sigma, seed=seed)
        for m in ms:
            est = DebiasedDistributedLasso(nodewise=nodewise, method=method, n_partitions=m)
            coef = est.fit(X, y).coef_
            errors[m].append(np.linalg.norm(coef - BETA))
            exact[m].append(np.array_equal(coef != 0, BETA != 0))
    return ({m: np.mean(v) for m, v in errors.items()},
            {m: np.mean(v) for m, v in exact.items()})


@pytest.mark.parametrize("nodewise", ["local", "split"])
def test_debiased_error_flat_in_partitions_quick(nodewise):
    error, exact = _l2_errors(nodewise, [1, 20], seeds=[0])
    assert all(e <= 0.045 for e in error.values()), error
    assert all(s == 1.0 for s in exact.values()), exact


def test_naive_error_grows_with_partitions_quick():
    error, _ = _l2_errors("local", [1, 20], seeds=[0], method="naive")
    assert error[20] >= 3 * error[1], error


@pytest.mark.slow
@pytest.mark.parametrize("nodewise", ["local", "split"])
def test_debiased_error_flat_in_partitions(nodewise):
    ms = [1, 2, 5, 10, 20]
    error, exact = _l2_errors(nodewise, ms, seeds=range(10))
    assert all(error[m] <= 0.045 for m in ms), error
    assert all(exact[m] >= 0.9 for m in ms), exact
    error2, _ = _l2_errors(nodewise, ms, seeds=range(10), sigma=2.0)
    assert all(error2[m] <= 0.06 for m in ms), error2


@pytest.mark.slow
def test_naive_error_grows_with_partitions():
    error, _ = _l2_errors("local", [1, 20], seeds=range(10), method="naive")
    assert error[20] >= 3 * error[1], error


def _coverage(nodewise, n_reps, n=2000, m=4):
    hits = []
    for rep in range(n_reps):
        X, y = make_data(n, seed=1000 + rep)
        est = DebiasedDistributedLasso(nodewise=nodewise, n_partitions=m).fit(X, y)
        low, high = est.conf_int(alpha=0.05).to_numpy()[1:].T  # row 0 is const
        hits.append((low <= BETA) & (BETA <= high))
    hits = np.array(hits)
    return hits[:, :5].mean(), hits[:, 5:].mean()


def test_confidence_interval_coverage_quick():
    # 30 replications x 5 non-zero coefficients: binomial sd ~ 1.8%
    nonzero, zero = _coverage("local", 30)
    assert 0.88 <= nonzero <= 0.995 and 0.90 <= zero <= 0.98, (nonzero, zero)


@pytest.mark.slow
@pytest.mark.parametrize("nodewise", ["local", "split"])
def test_confidence_interval_coverage(nodewise):
    nonzero, zero = _coverage(nodewise, 200)
    print(f"coverage nodewise={nodewise}: non-zero {nonzero:.3f}, zero {zero:.3f}")
    assert 0.90 <= nonzero <= 0.98 and 0.90 <= zero <= 0.98, (nonzero, zero)


def test_standard_errors_match_ols_when_unpenalized():
    # alpha = 0 and nodewise_alpha = 0: Theta is the inverse Gram, the
    # sandwich is White's HC with a degrees-of-freedom factor (HC1)
    X, y = make_data(800, p=5, seed=12)
    est = DebiasedDistributedLasso(alpha=0, nodewise_alpha=0, threshold=0).fit(X, y)
    ref = sm.OLS(y, sm.add_constant(X)).fit(cov_type="HC1")
    assert_allclose(est.bse_, ref.bse[1:], rtol=1e-8)
    assert_allclose(est.conf_int()[1:], ref.conf_int()[1:], rtol=1e-8)


# --------------------------------------------------------------------------
# partitions, streams, bad input
# --------------------------------------------------------------------------
def test_fewer_rows_than_partitions_gives_fewer_partitions():
    X, y = make_data(35, p=3, seed=13)
    est = DebiasedDistributedLasso(n_partitions=50).fit(X, y)
    assert est.n_partitions_ == 3  # at least 10 rows per automatic block
    assert [r.n_samples for r in est.partition_results_] == [12, 12, 11]


def test_partial_fit_treats_each_chunk_as_a_partition():
    X, y = make_data(900, p=10, seed=14)
    est = DebiasedDistributedLasso()
    for k, rows in enumerate(np.array_split(np.arange(900), 3)):
        est.partial_fit(X[rows], y[rows])
        assert est.n_partitions_ == k + 1
    full = DebiasedDistributedLasso(n_partitions=3).fit(X, y)
    assert_allclose(est.coef_, full.coef_, atol=1e-12)


def test_failed_partial_fit_leaves_state_unchanged():
    X, y = make_data(400, p=6, seed=15)
    est = DebiasedDistributedLasso().partial_fit(X[:200], y[:200])
    before = {k: v for k, v in vars(est).items() if k.endswith("_")}
    bad = X[200:].copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.partial_fit(bad, y[200:])
    with pytest.raises(ValueError, match="features"):
        est.partial_fit(X[200:, :5], y[200:])
    with pytest.raises(ValueError, match="at least 2 rows"):
        est.partial_fit(X[200:201], y[200:201])
    after = {k: v for k, v in vars(est).items() if k.endswith("_")}
    assert before.keys() == after.keys()
    for key, value in before.items():
        assert after[key] is value


def test_split_mode_refuses_partial_fit():
    X, y = make_data(100, p=4)
    split = DebiasedDistributedLasso(nodewise="split")
    assert not hasattr(split, "partial_fit")
    with pytest.raises(AttributeError, match="partial_fit") as excinfo:
        split.partial_fit(X, y)
    assert "needs nodewise='local'" in str(excinfo.value.__cause__)
    # the naive methods stream in either mode
    DebiasedDistributedLasso(nodewise="split", method="naive").partial_fit(X, y)


def test_bad_input():
    X, y = make_data(100, p=4)
    with pytest.raises(InvalidParameterError):
        DebiasedDistributedLasso(alpha=-1.0).fit(X, y)
    with pytest.raises(ValueError, match="non-negative"):
        DebiasedDistributedLasso(alpha=[0.1, -0.1, 0.1, 0.1]).fit(X, y)
    with pytest.raises(ValueError, match="mixes zero"):
        DebiasedDistributedLasso(alpha=[0.1, 0.0, 0.1, 0.1]).fit(X, y)
    with pytest.raises(ValueError, match="at least 2 rows"):
        DebiasedDistributedLasso().fit(X, y, partitions=np.r_[0, np.ones(99)])
    with pytest.raises(ValueError, match="0 sample"):
        DebiasedDistributedLasso().fit(X[:0], y[:0])
    Xc = X.copy()
    Xc[:50, 2] = 1.0
    with pytest.raises(ValueError, match=r"Column\(s\) \[2\] are constant in partition False"):
        DebiasedDistributedLasso().fit(Xc, y, partitions=np.arange(100) >= 50)
    with pytest.raises(ValueError, match="non-negative y"):
        DebiasedDistributedLasso(family="poisson").fit(X, y)
    with pytest.raises(ValueError, match="only zero counts"):
        DebiasedDistributedLasso(family="poisson").fit(
            X, np.r_[np.zeros(50), np.ones(50)], partitions=np.arange(100) >= 50
        )
    with pytest.raises(ValueError, match="Only binary"):
        DebiasedDistributedLogisticRegression().fit(X, np.arange(100) % 3)
    with pytest.raises(ValueError, match="single class"):
        DebiasedDistributedLogisticRegression().fit(X, np.arange(100) >= 50,
                                                    partitions=np.arange(100) >= 50)


def test_vector_alpha_equals_constant_scalar():
    X, y = make_data(300, p=6, seed=16)
    a = DebiasedDistributedLasso(alpha=0.05, n_partitions=2).fit(X, y)
    b = DebiasedDistributedLasso(alpha=np.full(6, 0.05), n_partitions=2).fit(X, y)
    assert_allclose(a.debiased_coef_, b.debiased_coef_, atol=1e-12)
    # per-coefficient thresholds may mix zeros and positive values
    t = DebiasedDistributedLasso(alpha=0.05, n_partitions=2, threshold=[0, 10, 0, 0, 0, 0])
    coef = t.fit(X, y).coef_
    assert coef[1] == 0 and np.all(coef[[0, 2, 3, 4, 5]] == a.debiased_coef_[[0, 2, 3, 4, 5]])
    # a heavier penalty on column 0 shrinks its local fit more
    c = DebiasedDistributedLasso(alpha=[0.5] + [0.05] * 5, method="naive").fit(X, y)
    assert abs(c.coef_[0]) < abs(a.partition_results_[0].coef[0]) - 0.3


def test_classifier_labels_probabilities_and_recovery():
    rng = np.random.default_rng(17)
    X = rng.standard_normal((6000, 20))
    eta = 0.3 + X[:, :3] @ np.r_[1.0, -1.0, 0.7]
    y = np.where(rng.random(6000) < 1 / (1 + np.exp(-eta)), "yes", "no")
    clf = DebiasedDistributedLogisticRegression(n_partitions=3).fit(X, y)
    assert clf.classes_.tolist() == ["no", "yes"]
    assert np.flatnonzero(clf.coef_).tolist() == [0, 1, 2]
    # debiasing removes most of the lasso's shrinkage (oracle: the pooled MLE)
    mle = sm.Logit((y == "yes").astype(float), sm.add_constant(X)).fit(disp=0).params
    naive = DebiasedDistributedLogisticRegression(method="naive", n_partitions=3).fit(X, y)

    def gap(est):
        return np.abs(est.debiased_coef_[:3] - mle[1:4])

    assert np.all(gap(clf) < 0.5 * gap(naive))
    assert abs(clf.intercept_ - 0.3) < 0.1
    proba = clf.predict_proba(X[:5])
    assert_allclose(proba.sum(axis=1), 1.0)
    assert set(clf.predict(X)) <= {"no", "yes"}
    stream = DebiasedDistributedLogisticRegression()
    for rows in np.array_split(np.arange(6000), 3):
        stream.partial_fit(X[rows], y[rows], classes=["no", "yes"])
    assert_allclose(stream.coef_, clf.coef_, atol=1e-10)


def test_poisson_recovers_support():
    rng = np.random.default_rng(18)
    X = rng.standard_normal((6000, 20))
    y = rng.poisson(np.exp(0.5 + X[:, :2] @ np.r_[0.5, -0.4]))
    est = DebiasedDistributedLasso(family="poisson", n_partitions=3).fit(X, y)
    assert np.flatnonzero(est.coef_).tolist() == [0, 1]
    assert_allclose(est.coef_[:2], [0.5, -0.4], atol=0.05)
    assert np.all(est.predict(X[:10]) > 0)


def test_summary_and_naive_inference():
    import pandas as pd

    X, y = make_data(400, p=5, seed=19)
    frame_in = pd.DataFrame(X, columns=[f"v{i}" for i in range(5)])
    est = DebiasedDistributedLasso(n_partitions=2).fit(frame_in, y)
    text = str(est.summary())
    assert "v4" in text and "std err" in text and "Partitions:" in text
    frame = est.summary_frame()
    assert_allclose(frame.loc[frame_in.columns, "std err"], est.bse_)
    naive = DebiasedDistributedLasso(method="naive").fit(X, y)
    assert naive.bse_ is None
    with pytest.raises(ValueError, match="method='debiased' only"):
        naive.conf_int()


def test_metadata_routing_requests_partitions():
    import sklearn

    with sklearn.config_context(enable_metadata_routing=True):
        est = DebiasedDistributedLasso().set_fit_request(partitions=True)
        assert est.get_metadata_routing().fit.requests["partitions"] is True
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        DebiasedDistributedLasso().fit(*make_data(50, p=3), partitions=np.arange(50) % 2)


def test_split_mode_with_more_partitions_than_columns():
    X, y = make_data(500, p=3, seed=20)
    est = DebiasedDistributedLasso(nodewise="split", n_partitions=5, alpha=0, threshold=0)
    est.fit(X, y)
    assert [r.nodewise.columns.tolist() for r in est.partition_results_] == [[0], [1], [2], [], []]
    assert np.all(np.isfinite(est.approx_inv_cov_))
    # alpha = 0 and one Theta row per column: still the mean of the local OLS fits
    fits = [ols(X[r], y[r])[0] for r in np.array_split(np.arange(500), 5)]
    assert_allclose(est.coef_, np.mean(fits, axis=0), rtol=1e-9)


# -- sites that share PartitionResults, not rows ---------------------------------
def _sites(n_sites=4, n=600, p=12, seed=11):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_sites * n, p))
    beta = np.zeros(p)
    beta[:3] = [1.0, -0.8, 0.5]
    y = X @ beta + 0.5 + rng.standard_normal(len(X))
    return X, y, np.repeat(np.arange(n_sites), n)


@pytest.mark.parametrize("nodewise", ["local", "split"])
def test_fit_results_from_sites_equals_pooled_fit(nodewise):
    X, y, site = _sites()
    pooled = DebiasedDistributedLasso(nodewise=nodewise).fit(X, y, partitions=site)
    est = DebiasedDistributedLasso(nodewise=nodewise)
    results = [
        est.partition_result(X[site == k], y[site == k], label=k, index=k, n_partitions=4)
        for k in range(4)
    ]
    assert not hasattr(est, "coef_")  # computing a site's share changes nothing
    # the coordinator gets the results in any order
    est.fit_results(results[::-1] if nodewise == "local" else results)
    for name in ("coef_", "intercept_", "debiased_coef_", "bse_", "approx_inv_cov_"):
        assert_allclose(getattr(est, name), getattr(pooled, name), rtol=1e-12, atol=1e-14)
    assert est.n_features_in_ == X.shape[1]
    assert_allclose(est.predict(X[:5]), pooled.predict(X[:5]), rtol=1e-12)


def test_fit_results_classifier_needs_classes_and_matches_fit():
    X, y, site = _sites(seed=4)
    labels = np.where(y > 0.5, "yes", "no")
    pooled = DebiasedDistributedLogisticRegression().fit(X, labels, partitions=site)
    clf = DebiasedDistributedLogisticRegression()
    results = [clf.partition_result(X[site == k], labels[site == k], label=k) for k in range(4)]
    with pytest.raises(ValueError, match="classes="):
        clf.fit_results(results)
    clf.fit_results(results, classes=["no", "yes"])
    assert clf.classes_.tolist() == ["no", "yes"]
    assert_allclose(clf.coef_, pooled.coef_, rtol=1e-12, atol=1e-14)
    assert_array_equal(clf.predict(X), pooled.predict(X))


def test_fit_results_refuses_mismatched_shares():
    X, y, site = _sites()
    local = DebiasedDistributedLasso()
    split = DebiasedDistributedLasso(nodewise="split")
    with pytest.raises(ValueError, match="index= and n_partitions="):
        split.partition_result(X[site == 0], y[site == 0])
    local_results = [local.partition_result(X[site == k], y[site == k], label=k) for k in range(2)]
    with pytest.raises(ValueError, match="not nodewise=\"split\" shares"):
        split.fit_results(local_results)
    twice = [split.partition_result(X[site == k], y[site == k], label=k, index=0,
                                    n_partitions=2) for k in range(2)]
    with pytest.raises(ValueError, match="exactly once"):
        split.fit_results(twice)
    with pytest.raises(ValueError, match="different feature counts"):
        local.fit_results([local_results[0],
                           local.partition_result(X[site == 1, :5], y[site == 1], label=1)])
    with pytest.raises(ValueError, match="at least one"):
        local.fit_results([])


# --------------------------------------------------------------------------
# fit_chunks: partitions from chunk labels (contiguous runs) or chunks
# --------------------------------------------------------------------------
FITTED = ("coef_", "intercept_", "debiased_coef_", "bse_", "covariance_",
          "approx_inv_cov_")


def _runs_of_sites(seed=21, p=8):
    """Sites of unequal sizes whose rows are contiguous, arriving in unsorted label order."""
    rng = np.random.default_rng(seed)
    sizes = {"w": 170, "e": 230, "s": 200, "n": 260}
    labels = np.concatenate([[k] * m for k, m in sizes.items()])
    X = rng.standard_normal((len(labels), p)) + 2.0
    y = X[:, :3] @ [1.0, -0.8, 0.5] + rng.standard_normal(len(labels))
    return X, y, rng.uniform(0.5, 2.0, len(labels)), labels


def _labelled_chunks(X, y, w, labels, size=97):
    return [{"X": X[i:i + size], "y": y[i:i + size], "sample_weight": None if w is None else w[i:i + size], "partitions": labels[i:i + size]} for i in range(0, len(y), size)]


def _assert_same_fit(est, ref):
    for name in FITTED:
        if getattr(ref, name) is None:
            assert getattr(est, name) is None
        else:
            assert_allclose(getattr(est, name), getattr(ref, name), rtol=1e-10, atol=1e-12)
    assert [r.label for r in est.partition_results_] == [r.label for r in ref.partition_results_]


@pytest.mark.parametrize("nodewise, method", [("local", "debiased"), ("split", "debiased"),
                                              ("local", "naive")])
def test_fit_chunks_by_label_equals_fit(nodewise, method):
    X, y, w, labels = _runs_of_sites()
    chunks = _labelled_chunks(X, y, w, labels)  # chunk boundaries cut every site
    est = DebiasedDistributedLasso(nodewise=nodewise, method=method).fit_chunks(chunks)
    ref = DebiasedDistributedLasso(nodewise=nodewise, method=method).fit(
        X, y, partitions=labels, sample_weight=w)
    _assert_same_fit(est, ref)
    assert [r.label for r in est.partition_results_] == ["e", "n", "s", "w"]
    assert [r.n_samples for r in est.partition_results_] == [230, 260, 200, 170]


def test_fit_chunks_unpenalized_is_the_weighted_mean_of_local_wls():
    X, y, w, labels = _runs_of_sites(seed=22)
    est = DebiasedDistributedLasso(alpha=0, threshold=0).fit_chunks(
        _labelled_chunks(X, y, w, labels, size=150))
    local = sum(w[labels == k].sum() * ols(X[labels == k], y[labels == k], w[labels == k])[0]
                for k in np.unique(labels))
    assert_allclose(est.coef_, local / w.sum(), rtol=1e-8)


def test_fit_chunks_without_labels_makes_each_chunk_a_partition():
    pd = pytest.importorskip("pandas")
    X, y, w, _ = _runs_of_sites(seed=23)
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])])
    edges = [0, 300, 300, 480, 860]  # an empty chunk is skipped
    chunks = [{"X": frame.iloc[a:b], "y": y[a:b], "sample_weight": w[a:b]} for a, b in itertools.pairwise(edges)]
    est = DebiasedDistributedLasso(nodewise="split").fit_chunks(chunks)
    position = np.repeat([0, 1, 2], [300, 180, 380])
    ref = DebiasedDistributedLasso(nodewise="split").fit(frame, y, partitions=position,
                                                         sample_weight=w)
    _assert_same_fit(est, ref)
    assert list(est.feature_names_in_) == list(frame.columns)
    # without labels, local mode reads the source once: a one-shot generator will do
    passes = []
    local = DebiasedDistributedLasso().fit_chunks(lambda: passes.append(1) or iter(chunks))
    assert len(passes) == 2  # a peek at the first chunk, then one pass
    _assert_same_fit(local, DebiasedDistributedLasso().fit(frame, y, partitions=position,
                                                           sample_weight=w))
    _assert_same_fit(DebiasedDistributedLasso().fit_chunks(iter(chunks)), local)


def test_fit_chunks_classifier_equals_fit():
    X, y, site = _sites(seed=5, n=300, p=6)
    labels = np.where(y > 0.5, "yes", "no")
    chunks = _labelled_chunks(X, labels, None, site.astype(str), size=250)
    clf = DebiasedDistributedLogisticRegression().fit_chunks(chunks, classes=["no", "yes"])
    ref = DebiasedDistributedLogisticRegression().fit(X, labels, partitions=site.astype(str))
    _assert_same_fit(clf, ref)
    assert clf.classes_.tolist() == ["no", "yes"]
    assert_array_equal(clf.predict(X), ref.predict(X))


def test_fit_chunks_in_parallel_equals_sequential():
    X, y, w, labels = _runs_of_sites(seed=24)
    chunks = _labelled_chunks(X, y, w, labels, size=200)
    ref = DebiasedDistributedLasso().fit_chunks(chunks)
    with joblib.parallel_config(backend="threading"):
        est = DebiasedDistributedLasso(n_jobs=2).fit_chunks(chunks)
    assert_allclose(est.debiased_coef_, ref.debiased_coef_, rtol=0, atol=1e-13)
    assert [r.label for r in est.partition_results_] == ["e", "n", "s", "w"]


def test_fit_chunks_rejects_rows_that_are_not_contiguous_before_fitting():
    X, y, w, labels = _runs_of_sites(seed=25)
    est = DebiasedDistributedLasso().fit_chunks(_labelled_chunks(X, y, w, labels))
    before = dict(vars(est))
    moved = labels.copy()
    moved[0] = "n"  # a first partition of one row (unfittable), and "n" comes back later
    chunks = _labelled_chunks(X, y, w, moved)
    with pytest.raises(ValueError, match="partition 'n' are not contiguous"):
        est.fit_chunks(chunks)
    assert vars(est).keys() == before.keys()
    assert all(vars(est)[key] is before[key] for key in before)
    # a one-shot source is checked as it streams; here the one-row partition fails first
    with pytest.raises(ValueError, match="at least 2 rows"):
        est.fit_chunks(iter(chunks))
    moved[:300] = "n"
    with pytest.raises(ValueError, match="partition 'n' are not contiguous"):
        est.fit_chunks(iter(_labelled_chunks(X, y, w, moved)))
    assert all(vars(est)[key] is before[key] for key in before)


def test_fit_chunks_bad_sources():
    X, y, w, labels = _runs_of_sites(seed=26)
    chunks = _labelled_chunks(X, y, w, labels)
    with pytest.raises(ValueError, match="reads the chunk source twice"):
        DebiasedDistributedLasso(nodewise="split").fit_chunks(iter(chunks))
    with pytest.raises(ValueError, match=r"\['clusters'\] labels.*does not read"):
        DebiasedDistributedLasso().fit_chunks([{**c, "clusters": c["partitions"]}
                                               for c in chunks])
    with pytest.raises(ValueError, match="partitions is missing from this chunk"):
        DebiasedDistributedLasso().fit_chunks(
            chunks[:2] + [{k: v for k, v in c.items() if k != "partitions"} for c in chunks[2:]])
    with pytest.raises(ValueError, match="no rows"):
        DebiasedDistributedLasso().fit_chunks([])
    est = DebiasedDistributedLasso()
    with pytest.raises(ValueError, match="features"):
        est.fit_chunks(chunks + [{"X": X[:50, :5], "y": y[:50], "partitions": np.full(50, "z")}])
    assert not hasattr(est, "coef_")  # no half-fitted estimator
