"""The estimator contract for the debiased estimators (issue 11), and partition gathering.

Defects (4), (11), (12) and (15) of issue 11: failed ``fit_chunks``/``fit``
leave the state as it was; empty chunks are no-ops; all-zero-weight chunks
are rows removed (unless the only data); None/NaN partition labels raise a
ValueError naming ``partitions``. And the one results type.
"""

import pickle

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose
from scipy import stats

from skbigreg.inference import RegressionResults
from skbigreg.io import iter_chunks, iter_partitions
from skbigreg.linear_model import (
    DebiasedDistributedLasso,
    DebiasedDistributedLogisticRegression,
)


def _data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = X @ [1.0, -1.0] + rng.normal(size=n)
    return X, y, np.repeat(np.arange(4), n // 4)


def _binary(y):
    return (y > 0).astype(int)


ESTIMATORS = [
    (DebiasedDistributedLasso, lambda y: y),
    (DebiasedDistributedLogisticRegression, _binary),
]


def _state(est):
    # deep, byte-level comparison of every attribute (arrays, dataclasses, ...)
    return pickle.dumps(vars(est))


# --------------------------------------------------------------------------
# (15) missing partition labels
# --------------------------------------------------------------------------
def _with_missing(labels, kind):
    if kind == "nan":
        return np.where(labels == 0, np.nan, labels.astype(float))
    return np.array([None if v == 0 else v for v in labels], dtype=object)


@pytest.mark.parametrize("kind", ["nan", "none"])
@pytest.mark.parametrize("make, target", ESTIMATORS)
def test_missing_partition_labels_raise_naming_partitions(make, target, kind):
    X, y, site = _data()
    labels = _with_missing(site, kind)
    with pytest.raises(ValueError, match=r"partitions has 50 missing labels \(NaN/None\)"):
        make().fit(X, target(y), partitions=labels)
    chunks = [{"X": X[i:i + 70], "y": target(y)[i:i + 70], "partitions": labels[i:i + 70]}
              for i in range(0, 200, 70)]
    for nodewise in ("local", "split"):
        with pytest.raises(ValueError, match=r"partitions has 50 missing labels \(NaN/None\)"):
            make(nodewise=nodewise).fit_chunks(chunks)


# --------------------------------------------------------------------------
# (4) a failed fit_chunks, fit or fit_results leaves the state as it was
# --------------------------------------------------------------------------
@pytest.mark.parametrize("labelled", [False, True])
@pytest.mark.parametrize("make, target", ESTIMATORS)
def test_failed_fit_chunks_leaves_state_identical(make, target, labelled):
    X, y, site = _data()
    y = target(y)
    est = make().fit(X, y, partitions=site)
    before = _state(est)
    bad = X.copy()
    bad[170, 1] = np.nan  # in the last chunk: the first partitions fit before it fails
    chunks = [{"X": bad[i:i + 50], "y": y[i:i + 50], "partitions": site[i:i + 50] if labelled else None}
              for i in range(0, 200, 50)]
    with pytest.raises(ValueError, match="NaN"):
        est.fit_chunks(chunks)
    assert _state(est) == before


@pytest.mark.parametrize("make, target", ESTIMATORS)
def test_failed_fit_leaves_state_identical(make, target):
    X, y, site = _data()
    y = target(y)
    est = make().fit(X, y, partitions=site)
    before = _state(est)
    with pytest.raises(ValueError, match="at least 2 rows"):
        est.fit(X, y, partitions=np.r_[0, np.ones(199)])
    assert _state(est) == before


# --------------------------------------------------------------------------
# (11) empty chunks; (12) chunks whose weights are all zero
# --------------------------------------------------------------------------
@pytest.mark.parametrize("make, target", ESTIMATORS)
def test_empty_chunk_after_the_first_is_a_noop(make, target):
    X, y, _ = _data()
    y = target(y)
    est = make().partial_fit(X[:100], y[:100], **_classes(make, y))
    before = _state(est)
    est.partial_fit(X[:0], y[:0])
    assert _state(est) == before
    with pytest.raises(ValueError, match="3 features"):
        est.partial_fit(np.zeros((0, 3)), y[:0])
    assert _state(est) == before


def _classes(make, y):
    return {"classes": np.unique(y)} if make is DebiasedDistributedLogisticRegression else {}


@pytest.mark.parametrize("make, target", ESTIMATORS)
def test_zero_weight_chunk_is_rows_removed(make, target):
    X, y, _ = _data()
    y = target(y)
    zero = np.zeros(50)
    # partial_fit: a later all-zero chunk adds nothing
    est = make().partial_fit(X[:100], y[:100], **_classes(make, y))
    before = _state(est)
    est.partial_fit(X[100:150], y[100:150], sample_weight=zero)
    assert _state(est) == before
    # fit_chunks without labels: the chunk is not a partition
    chunks = [{"X": X[i:i + 50], "y": y[i:i + 50]} for i in range(0, 200, 50)]
    with_zero = chunks[:2] + [{**chunks[2], "sample_weight": zero}] + chunks[3:]
    a, b = make().fit_chunks(with_zero), make().fit_chunks(chunks[:2] + chunks[3:])
    assert a.n_partitions_ == 3
    assert_allclose(a.debiased_coef_, b.debiased_coef_, rtol=1e-12)
    assert_allclose(a.bse_, b.bse_, rtol=1e-12)


def test_zero_weight_partition_is_dropped_against_local_wls():
    # alpha = 0: the estimate is the weight-averaged local least squares of the
    # partitions with weight (statsmodels WLS as the oracle)
    X, y, site = _data(seed=3)
    w = np.where(site == 2, 0.0, 1.0 + (np.arange(200) % 3))
    est = DebiasedDistributedLasso(alpha=0, threshold=0).fit(X, y, partitions=site,
                                                             sample_weight=w)
    chunks = [{"X": X[i:i + 30], "y": y[i:i + 30], "sample_weight": w[i:i + 30], "partitions": site[i:i + 30]}
              for i in range(0, 200, 30)]
    streamed = DebiasedDistributedLasso(alpha=0, threshold=0, nodewise="split").fit_chunks(chunks)
    kept = [k for k in range(4) if k != 2]
    local = sum(w[site == k].sum() * sm.WLS(y[site == k], sm.add_constant(X[site == k]),
                                            weights=w[site == k]).fit().params[1:]
                for k in kept) / w.sum()
    assert est.n_partitions_ == streamed.n_partitions_ == 3
    assert_allclose(est.coef_, local, rtol=1e-8)
    assert_allclose(streamed.coef_, local, rtol=1e-8)


@pytest.mark.parametrize("make, target", ESTIMATORS)
def test_zero_weights_as_the_only_data_raise(make, target):
    X, y, _ = _data()
    y = target(y)
    zero = np.zeros(200)
    with pytest.raises(ValueError, match="zero"):
        make().fit(X, y, sample_weight=zero)
    with pytest.raises(ValueError, match="zero"):
        make().partial_fit(X, y, sample_weight=zero, **_classes(make, y))
    with pytest.raises(ValueError, match="no rows of positive weight"):
        make().fit_chunks([{"X": X, "y": y, "sample_weight": zero}])


# --------------------------------------------------------------------------
# the one results type
# --------------------------------------------------------------------------
def test_results_are_the_one_type_and_match_ols_hc1_when_unpenalized():
    X, y, _ = _data(400, seed=5)
    X = pd.DataFrame(X + 2.0, columns=["a", "b"])
    est = DebiasedDistributedLasso(alpha=0, nodewise_alpha=0, threshold=0).fit(X, y)
    ref = sm.OLS(y, sm.add_constant(X)).fit(cov_type="HC1")
    res = est.results()
    assert isinstance(res, RegressionResults)
    assert res.names == ["const", "a", "b"]
    assert_allclose(res.params, ref.params, rtol=1e-9)
    assert_allclose(res.bse.iloc[1:], ref.bse[1:], rtol=1e-8)
    assert np.isnan(res.bse.iloc[0])  # the slopes alone are debiased
    assert_allclose(est.bse_, ref.bse[1:], rtol=1e-8)
    assert_allclose(est.conf_int(alpha=0.1).iloc[1:], ref.conf_int(alpha=0.1)[1:], rtol=1e-8)
    assert_allclose(res.pvalues.iloc[1:], 2 * stats.norm.sf(np.abs(ref.tvalues[1:])), rtol=1e-8)
    frame = est.summary_frame(alpha=0.1)
    assert list(frame.index) == ["const", "a", "b"]
    assert {"[0.05", "0.95]", "thresholded"} <= set(frame.columns)
    assert_allclose(frame["thresholded"], np.r_[est.intercept_, est.coef_])
    text = str(est.summary(alpha=0.1))
    assert "const" in text and "[0.05" in text and "Partitions:" in text
    assert est.results(cov_type="HC1").names == res.names
    with pytest.raises(ValueError, match="cov_type"):
        est.results(cov_type="HC0")


def test_results_without_intercept_have_no_const():
    X, y, site = _data(seed=6)
    est = DebiasedDistributedLogisticRegression(fit_intercept=False).fit(
        X, _binary(y), partitions=site)
    res = est.results()
    assert res.names == ["x0", "x1"]
    assert_allclose(res.params, est.debiased_coef_)
    assert_allclose(res.bse, est.bse_)


# --------------------------------------------------------------------------
# io.iter_partitions: gathering across chunks
# --------------------------------------------------------------------------
def test_iter_partitions_gathers_runs_across_chunks():
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10.0)
    labels = np.array(list("aaabbbbccc"))
    w = np.arange(1.0, 11.0)
    source = iter_chunks(X, y, w, chunk_rows=4, partitions=labels)
    parts = list(iter_partitions(source))
    assert [p.label for p in parts] == ["a", "b", "c"]
    for part in parts:
        rows = labels == part.label
        assert_allclose(part.X, X[rows])
        assert_allclose(part.y, y[rows])
        assert_allclose(part.sample_weight, w[rows])
        assert part.weight == w[rows].sum()
    light = list(iter_partitions(source, gather=False))
    assert [(p.label, p.weight, p.X) for p in light] == [(p.label, p.weight, None) for p in parts]


def test_iter_partitions_refuses_rows_that_come_back():
    X, y = np.zeros((6, 1)), np.zeros(6)
    source = iter_chunks(X, y, chunk_rows=2, partitions=[0, 0, 1, 1, 0, 0])
    with pytest.raises(ValueError, match="partition 0 are not contiguous"):
        list(iter_partitions(source))
