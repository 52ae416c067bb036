"""Fits on a Spark DataFrame: partitions mapped on the executors, statistics merged on the driver.

One local Spark (``local[2,2]``), shared by the test modules (``conftest.py``).
Oracles: the in-memory fit of the same rows (to 1e-10) and statsmodels
(OLS/WLS with HC1 and CRV1).
"""

import os
import sys

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm


from skbigreg.base import ChunkSpec, chunk_statistics, linear_chunk_statistics
from skbigreg.io import read_spark
from skbigreg.linear_model import CumulativeLinearRegression
from skbigreg.parallel import spark_map_reduce
from skbigreg.stats import decode_statistics, encode_statistics

pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed (the spark extra)")

FEATURES = ["x0", "x1", "x2"]


@pytest.fixture(scope="module")
def spark(spark_session):
    # The shared local[2,2] Spark (tests/conftest.py), with this module's SQL settings.
    session = spark_session.newSession()
    session.conf.set("spark.sql.shuffle.partitions", "4")
    session.conf.set("spark.sql.execution.arrow.pyspark.enabled", "true")
    session.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "300")  # several batches a partition
    return session


def _frame(n=1500, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) + [0.0, 5.0, -2.0]
    firm = rng.integers(0, 40, size=n)
    y = 1.5 + X @ [0.5, -1.0, 2.0] + rng.normal(size=40)[firm] + rng.normal(size=n) * (1 + np.abs(X[:, 0]))
    frame = pd.DataFrame(X, columns=FEATURES)
    frame["y"] = y
    frame["w"] = rng.uniform(0.5, 2.0, size=n)
    frame["firm"] = np.array([f"f{g:02d}" for g in firm])
    return frame


@pytest.fixture(scope="module")
def data(spark):
    frame = _frame()
    return frame, spark.createDataFrame(frame).repartition(5)


def _local(frame, weighted, cov_type, with_clusters):
    return CumulativeLinearRegression(cov_type=cov_type).fit(
        frame[FEATURES], frame["y"], frame["w"] if weighted else None,
        clusters=frame["firm"].to_numpy() if with_clusters else None)


@pytest.mark.parametrize("weighted", [False, True])
def test_spark_fit_equals_local_fit_and_statsmodels(data, weighted):
    frame, sdf = data
    source = read_spark(sdf, target="y", features=FEATURES,
                        sample_weight="w" if weighted else None, clusters="firm")
    # HC1 makes the second pass on the executors; cluster errors come from the first.
    est = CumulativeLinearRegression(cov_type="HC1").fit_chunks(source)
    ref = _local(frame, weighted, "HC1", True)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-10)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, rtol=1e-10)
    assert list(est.feature_names_in_) == FEATURES
    design = sm.add_constant(frame[FEATURES])
    model = (sm.WLS(frame["y"], design, weights=frame["w"]) if weighted
             else sm.OLS(frame["y"], design))
    oracles = {
        "nonrobust": model.fit(),
        "HC1": model.fit(cov_type="HC1"),
        "HC3": model.fit(cov_type="HC3"),
        "cluster": model.fit(cov_type="cluster",
                             cov_kwds={"groups": pd.factorize(frame["firm"])[0]}),
    }
    for cov_type, oracle in oracles.items():
        got = est.results(cov_type=cov_type)
        np.testing.assert_allclose(got.bse.to_numpy(), ref.results(cov_type=cov_type).bse,
                                   rtol=1e-10, err_msg=cov_type)
        np.testing.assert_allclose(got.bse.to_numpy(), oracle.bse.to_numpy(), rtol=1e-8,
                                   err_msg=cov_type)
    np.testing.assert_allclose(est.results().params.to_numpy(), oracles["HC1"].params, rtol=1e-9)


def test_result_does_not_depend_on_partitioning(data, spark):
    frame, _ = data
    fits = [
        CumulativeLinearRegression(cov_type="HC1").fit_chunks(
            read_spark(spark.createDataFrame(frame).repartition(n), target="y",
                       features=FEATURES))
        for n in (1, 7)
    ]
    for a in (fits[0].coef_, fits[0].results().bse):
        b = fits[1].coef_ if a is fits[0].coef_ else fits[1].results().bse
        np.testing.assert_allclose(a, b, rtol=1e-10)


def _assert_unchanged(est, coef, bse):
    np.testing.assert_array_equal(est.coef_, coef)
    np.testing.assert_array_equal(est.results().bse, bse)


def test_a_partition_whose_map_fails_leaves_the_estimator_unchanged(data, spark):
    frame, sdf = data
    est = CumulativeLinearRegression(cov_type="HC1").fit_chunks(
        read_spark(sdf, target="y", features=FEATURES))
    coef, bse = est.coef_.copy(), est.results().bse.copy()
    bad = frame.copy()
    bad.loc[1234, "x1"] = np.inf  # one row, so one partition's map raises
    with pytest.raises(ValueError, match=r"partition failed.*'x1'.*infinite"):
        est.fit_chunks(read_spark(spark.createDataFrame(bad).repartition(5), target="y",
                                  features=FEATURES))
    _assert_unchanged(est, coef, bse)
    bad = frame.astype({"x2": object})
    bad.loc[7, "x2"] = None  # a SQL NULL
    nulls = spark.createDataFrame(bad.astype({"x2": "float64"}).replace({np.nan: None}))
    with pytest.raises(ValueError, match=r"'x2' has 1 null"):
        est.fit_chunks(read_spark(nulls, target="y", features=FEATURES))
    _assert_unchanged(est, coef, bse)


def test_read_spark_checks_columns_and_quotes_names(data, spark):
    frame, sdf = data
    with pytest.raises(ValueError, match="no column 'nope' \\(a feature\\)"):
        read_spark(sdf, target="y", features=["x0", "nope"])
    with pytest.raises(ValueError, match="no column 'z' \\(the target\\)"):
        read_spark(sdf, target="z")
    with pytest.raises(ValueError, match="'firm' has Spark type StringType, not a number"):
        read_spark(sdf, target="y", features=["x0", "firm"])
    with pytest.raises(ValueError, match="both a feature"):
        read_spark(sdf, target="y", features=["x0", "w"], sample_weight="w")
    # Names that would be SQL if pasted are column names, nothing more.
    hostile = ["a`b", "x0; DROP TABLE t", "x.2"]
    renamed = frame[FEATURES + ["y"]].set_axis(hostile + ["y"], axis=1)
    est = CumulativeLinearRegression().fit_chunks(
        read_spark(spark.createDataFrame(renamed), target="y"))
    ref = CumulativeLinearRegression().fit(frame[FEATURES], frame["y"])
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-10)
    assert list(est.feature_names_in_) == hostile
    empty = sdf.limit(0)
    with pytest.raises(ValueError, match="no rows"):
        CumulativeLinearRegression().fit_chunks(read_spark(empty, target="y", features=FEATURES))


def _dies_once(chunk, *, spec, marker):
    """The map, except that the first call kills its Python worker (a lost executor)."""
    if not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)
    return chunk_statistics(chunk, spec=spec)


def test_a_python_worker_killed_mid_map_is_retried_with_the_same_answer(data, tmp_path):
    from pyspark import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import tests
    frame, sdf = data
    marker = str(tmp_path / "died")
    merged = spark_map_reduce(
        _dies_once, read_spark(sdf, target="y", features=FEATURES, sample_weight="w"),
        encode=encode_statistics, decode=decode_statistics,
        spec=ChunkSpec("gram", 3, 1), marker=marker)
    assert os.path.exists(marker)  # a worker did die
    whole = linear_chunk_statistics(frame[FEATURES].to_numpy(), frame["y"].to_numpy(),
                                    frame["w"].to_numpy(), spec=ChunkSpec("gram", 3, 1))
    assert merged.stats.n_rows == len(frame)
    np.testing.assert_allclose(merged.stats.mean, whole.stats.mean, rtol=1e-12)
    np.testing.assert_allclose(merged.stats.comoment, whole.stats.comoment, rtol=1e-10)
