"""The chunk maps of ``fit_chunks(..., n_jobs=)`` on the joblib backends of other engines.

joblibspark's ``"spark"`` backend (each call a Spark job on the local
Spark shared by the test modules, ``conftest.py``) and ipyparallel's (a local cluster of two engines, started
and stopped here). Oracle: the in-memory fit of the same rows (1e-10); the
engines' own records prove that the maps ran there.
"""

import os
import uuid
from pathlib import Path

import numpy as np
import pytest
from joblib import parallel_config

import skbigreg
from skbigreg.linear_model import CumulativeLinearRegression

N_CHUNKS = 4


@pytest.fixture(scope="module")
def rows():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(1000, 3)) + [0.0, 4.0, -1.0]
    y = 2.0 + X @ [1.0, -0.5, 0.25] + rng.normal(size=1000) * (1 + np.abs(X[:, 0]))
    step = len(y) // N_CHUNKS
    chunks = [(X[i:i + step], y[i:i + step]) for i in range(0, len(y), step)]
    return X, y, chunks


def _importable_package():
    """Workers in other processes import this skbigreg."""
    root = str(Path(skbigreg.__file__).parent.parent)
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)


def _assert_same_fit(est, X, y):
    ref = CumulativeLinearRegression(cov_type="HC1").fit(X, y)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-10)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, rtol=1e-10)
    np.testing.assert_allclose(est.results().bse, ref.results().bse, rtol=1e-10)


def _next_job_id(context):
    """The id Spark gives its next job, found by running a marked one-task job.

    Job ids count up from 0 over the context's life; the context is shared
    by every Spark test, so the jobs of a call are counted between two marks.
    """
    group = f"skbigreg-mark-{uuid.uuid4()}"
    context.setJobGroup(group, "a mark between jobs")
    try:
        context.parallelize([0], 1).count()
    finally:
        context.setLocalProperty("spark.jobGroup.id", None)
    (mark,) = context.statusTracker().getJobIdsForGroup(group)
    return mark + 1


# joblibspark notes that local mode has no stage-level scheduling.
@pytest.mark.filterwarnings("ignore::UserWarning:joblibspark")
@pytest.mark.filterwarnings("ignore::UserWarning:pyspark")
def test_joblibspark_backend_runs_the_chunk_maps_as_spark_jobs(rows, spark_session):
    joblibspark = pytest.importorskip("joblibspark", reason="joblibspark is not installed")
    joblibspark.register_spark()
    X, y, chunks = rows
    context = spark_session.sparkContext
    first = _next_job_id(context)
    with parallel_config(backend="spark", n_jobs=2):
        est = CumulativeLinearRegression(cov_type="HC1").fit_chunks(chunks, n_jobs=2)
    jobs = _next_job_id(context) - 1 - first
    # The first chunk is validated in this process; every other one is a Spark job.
    assert jobs == N_CHUNKS - 1
    _assert_same_fit(est, X, y)


def test_ipyparallel_backend_maps_chunks_on_two_engines(rows):
    ipp = pytest.importorskip("ipyparallel", reason="ipyparallel is not installed")
    _importable_package()
    cluster = ipp.Cluster(n=2, log_level=40)
    try:
        client = cluster.start_and_connect_sync(activate=False)
        client.wait_for_engines(2, timeout=60)
    except Exception as error:  # no engines on this machine: nothing to test
        cluster.stop_cluster_sync()
        pytest.skip(f"ipyparallel engines could not start: {error}")
    try:
        view = client.load_balanced_view()
        view.register_joblib_backend()
        X, y, chunks = rows
        tasks_before = len(client.history)
        with parallel_config(backend="ipyparallel", n_jobs=2):
            est = CumulativeLinearRegression(cov_type="HC1").fit_chunks(chunks, n_jobs=2)
        assert len(client.history) - tasks_before == N_CHUNKS - 1  # maps ran on the engines
        _assert_same_fit(est, X, y)
    finally:
        cluster.stop_cluster_sync()
