"""Every estimator family on a Spark DataFrame: its own chunk map run on the executors.

One local Spark, shared by the test modules (``conftest.py``). Each family
is fitted once from :func:`skbigreg.io.read_spark` and compared with the
same estimator fitted in memory on the same rows (1e-10): penalised regression with fold
cross-validation (hashed folds, CV groups), IV with a second (HC) pass,
one absorbed factor with clusters and an HC pass, per-partition models, and
GLMs by IRLS (a Spark job per pass; statsmodels as a second oracle). Then a
Python worker that dies: retried with the same answer, or, when it dies on
every attempt, a clear error and the previous fit kept.
"""

import os
import sys

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from skbigreg.io import read_spark
from skbigreg.linear_model import (
    CumulativeElasticNetCV,
    CumulativeFixedEffectsRegression,
    CumulativeGLM,
    CumulativeIVRegression,
    CumulativeLogisticRegression,
    CumulativeRidgeCV,
    GroupedLinearRegression,
    SMRLogisticRegression,
)

pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed (the spark extra)")

FEATURES = ["x0", "x1", "x2"]
TIGHT = 1e-10


@pytest.fixture(scope="module")
def spark(spark_session):
    # The shared local[2,2] Spark (tests/conftest.py), with this module's SQL settings.
    session = spark_session.newSession()
    session.conf.set("spark.sql.shuffle.partitions", "3")
    session.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "250")  # several batches a partition
    return session


def _frame(n=1200, seed=1):
    rng = np.random.default_rng(seed)
    firm = rng.integers(0, 30, size=n)
    z = rng.normal(size=n)
    u = rng.normal(size=n)
    X = rng.normal(size=(n, 3)) + [0.0, 3.0, -1.0]
    X[:, 0] += z + 0.5 * u  # x0 is endogenous; z its instrument
    effect = rng.normal(size=30)[firm]
    eta = 0.3 + X @ [0.4, -0.3, 0.2] * 0.5
    frame = pd.DataFrame(X, columns=FEATURES)
    frame["z"] = z
    frame["y"] = 1.0 + X @ [0.5, -1.0, 2.0] + effect + u + rng.normal(size=n)
    frame["event"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(np.int64)
    frame["count"] = rng.poisson(np.exp(0.2 * eta)).astype(np.float64)
    frame["w"] = rng.uniform(0.5, 2.0, size=n)
    frame["firm"] = np.array([f"f{g:02d}" for g in firm])
    frame["site"] = rng.integers(0, 3, size=n)
    frame["team"] = rng.integers(0, 40, size=n)
    return frame


@pytest.fixture(scope="module")
def data(spark):
    frame = _frame()
    return frame, spark.createDataFrame(frame).repartition(3)


def _close(got, expected, rtol=TIGHT):
    np.testing.assert_allclose(np.asarray(got, dtype=float), np.asarray(expected, dtype=float),
                               rtol=rtol, atol=rtol * np.max(np.abs(expected)))


def _same_results(est, ref, cov_types):
    _close(est.coef_, ref.coef_)
    _close(est.intercept_, ref.intercept_)
    for cov_type in cov_types:
        _close(est.results(cov_type=cov_type).bse, ref.results(cov_type=cov_type).bse)


def test_penalized_cross_validation_gathers_fold_statistics_on_the_executors(data):
    frame, sdf = data
    ridge = CumulativeRidgeCV(alphas=np.logspace(-2, 3, 8), cv=5)
    fitted = ridge.fit_chunks(read_spark(sdf, target="y", features=FEATURES, sample_weight="w"))
    ref = CumulativeRidgeCV(alphas=np.logspace(-2, 3, 8), cv=5).fit(
        frame[FEATURES], frame["y"], frame["w"])
    assert fitted.alpha_ == ref.alpha_
    _close(fitted.mse_path_, ref.mse_path_)
    _close(fitted.coef_, ref.coef_)
    assert list(fitted.feature_names_in_) == FEATURES
    # CV groups travel as a label column; no group is split across folds.
    net = CumulativeElasticNetCV(l1_ratio=[0.5, 1.0], alphas=6, cv=4, tol=1e-12).fit_chunks(
        read_spark(sdf, target="y", features=FEATURES, groups="team"))
    ref = CumulativeElasticNetCV(l1_ratio=[0.5, 1.0], alphas=6, cv=4, tol=1e-12).fit(
        frame[FEATURES], frame["y"], groups=frame["team"].to_numpy())
    assert (net.alpha_, net.l1_ratio_) == (ref.alpha_, ref.l1_ratio_)
    _close(net.mse_path_, ref.mse_path_)
    _close(net.coef_, ref.coef_, rtol=1e-9)


def test_iv_and_fixed_effects_make_their_second_pass_on_the_executors(data):
    frame, sdf = data
    columns = FEATURES + ["z"]
    iv = CumulativeIVRegression(endogenous=["x0"], instruments=["z"], cov_type="HC1")
    iv.fit_chunks(read_spark(sdf, target="y", features=columns, clusters="firm"))
    ref = CumulativeIVRegression(endogenous=["x0"], instruments=["z"], cov_type="HC1").fit(
        frame[columns], frame["y"], clusters=frame["firm"].to_numpy())
    _same_results(iv, ref, ["HC1", "cluster"])
    fe = CumulativeFixedEffectsRegression(cov_type="HC1").fit_chunks(
        read_spark(sdf, target="y", features=FEATURES, sample_weight="w", entities="firm",
                   clusters="site"))
    ref = CumulativeFixedEffectsRegression(cov_type="HC1").fit(
        frame[FEATURES], frame["y"], frame["w"], entities=frame["firm"].to_numpy(),
        clusters=frame["site"].to_numpy())
    assert fe.n_levels_ == ref.n_levels_ == 30
    _same_results(fe, ref, ["HC1", "cluster"])


def test_grouped_model_keeps_per_partition_statistics(data):
    frame, sdf = data
    est = GroupedLinearRegression().fit_chunks(
        read_spark(sdf, target="y", features=FEATURES, partitions="site"))
    ref = GroupedLinearRegression().fit(frame[FEATURES], frame["y"],
                                        partitions=frame["site"].to_numpy())
    assert est.partitions_.tolist() == ref.partitions_.tolist() == [0, 1, 2]
    _close(est.partition_coef_, ref.partition_coef_)
    _close(est.coef_, ref.coef_)


def test_glms_run_each_irls_pass_on_the_executors(data):
    frame, sdf = data
    clf = CumulativeLogisticRegression(cov_type="cluster").fit_chunks(
        read_spark(sdf, target="event", features=FEATURES, clusters="firm"))
    ref = CumulativeLogisticRegression(cov_type="cluster").fit(
        frame[FEATURES], frame["event"], clusters=frame["firm"].to_numpy())
    _same_results(clf, ref, ["nonrobust", "HC1", "cluster"])
    oracle = sm.Logit(frame["event"], sm.add_constant(frame[FEATURES])).fit(disp=0)
    _close(clf.results().params, oracle.params, rtol=1e-8)
    _close(clf.results(cov_type="nonrobust").bse, oracle.bse, rtol=1e-7)
    poisson = CumulativeGLM(family="poisson", cov_type="HC0").fit_chunks(
        read_spark(sdf, target="count", features=FEATURES, sample_weight="w"))
    ref = CumulativeGLM(family="poisson", cov_type="HC0").fit(
        frame[FEATURES], frame["count"], frame["w"])
    _same_results(poisson, ref, ["nonrobust", "HC0"])


def test_bad_rows_and_unsupported_estimators_raise_and_keep_the_fit(data, spark):
    frame, sdf = data
    est = CumulativeRidgeCV(cv=3).fit_chunks(read_spark(sdf, target="y", features=FEATURES))
    coef = est.coef_.copy()
    with pytest.raises(ValueError, match="does not read"):
        est.fit_chunks(read_spark(sdf, target="y", features=FEATURES, entities="firm"))
    bad = frame.copy()
    bad.loc[17, "event"] = 2  # not a 0/1 target
    with pytest.raises(ValueError, match=r"partition failed.*0/1"):
        CumulativeLogisticRegression().fit_chunks(
            read_spark(spark.createDataFrame(bad), target="event", features=FEATURES))
    np.testing.assert_array_equal(est.coef_, coef)
    with pytest.raises(TypeError, match="SMRLogisticRegression cannot be fitted on a Spark"):
        SMRLogisticRegression().fit_chunks(read_spark(sdf, target="event", features=FEATURES))


class _DiesOnce(CumulativeRidgeCV):
    """Ridge CV whose map kills its Spark Python worker on a task's first attempt."""

    def _map_chunk(self, X, y, sample_weight, labels):
        from pyspark import TaskContext

        task = TaskContext.get()  # None in the test's own process
        if task is not None and self._dies(task.attemptNumber()):
            os._exit(1)
        return super()._map_chunk(X, y, sample_weight, labels)

    @staticmethod
    def _dies(attempt):
        return attempt == 0


class _AlwaysDies(_DiesOnce):
    @staticmethod
    def _dies(attempt):
        return True


def test_a_dying_worker_is_retried_or_fails_cleanly(data):
    from pyspark import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import tests
    frame, sdf = data
    source = read_spark(sdf, target="y", features=FEATURES, groups="team")
    ref = CumulativeRidgeCV(cv=4).fit(frame[FEATURES], frame["y"],
                                      groups=frame["team"].to_numpy())
    # Every partition's first attempt dies; Spark's retry maps it: the same fit.
    retried = _DiesOnce(cv=4).fit_chunks(source)
    assert retried.alpha_ == ref.alpha_
    _close(retried.fold_stats_.total().comoment, ref.fold_stats_.total().comoment)
    _close(retried.coef_, ref.coef_)
    # Every attempt dies: a clear error, and the previous fit is kept.
    est = _AlwaysDies(cv=4).fit(frame[FEATURES], frame["y"], groups=frame["team"].to_numpy())
    before = dict(vars(est))
    with pytest.raises(RuntimeError, match="Spark partition failed"):
        est.fit_chunks(source)
    assert vars(est).keys() == before.keys()
    assert all(vars(est)[name] is value for name, value in before.items())
