"""Fixtures shared by test modules: one local Spark for every Spark test of a process,
a DuckDB table of a module's data for the SQL tests, and a threaded Dask cluster."""

import os
import shutil
import sys
from pathlib import Path

import pytest

import skbigreg

from _sql_helpers import duckdb_table


@pytest.fixture(scope="session")
def spark_session():
    """One local ``SparkSession`` (``local[2,2]``) for every Spark test of this process.

    Starting a JVM takes seconds, so the modules share it; each module takes
    its own ``newSession()``, which shares the JVM and its Python workers but
    not the SQL settings (shuffle partitions, Arrow batch size). ``local[2,2]``:
    two threads, and a task tried twice, which the worker-death tests rely on
    (a Python worker killed on a task's first attempt is retried). Skipped
    without pyspark or Java. Under ``pytest -n`` each worker process starts
    its own.
    """
    pytest.importorskip("pyspark", reason="pyspark is not installed (the spark extra)")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Spark needs Java (no java on PATH, no JAVA_HOME)")
    from pyspark.sql import SparkSession

    # The executors' Python workers: this interpreter, importing this skbigreg.
    os.environ["PYSPARK_PYTHON"] = sys.executable
    package_root = str(Path(skbigreg.__file__).parent.parent)
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (package_root, os.environ.get("PYTHONPATH")) if p)
    session = (
        SparkSession.builder.master("local[2,2]")  # 2 threads, a task tried twice
        .appName("skbigreg-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        # Workers forked with skbigreg imported: a replaced worker starts at once.
        .config("spark.python.daemon.module", "skbigreg.spark_daemon")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()



@pytest.fixture()
def con(request):
    """A DuckDB connection holding the module's ``_frame()`` as table ``t``, and the frame."""
    frame = request.module._frame()
    connection = duckdb_table(frame, "t")
    yield connection, frame
    connection.close()


@pytest.fixture(scope="module")
def client():
    """A Dask ``Client`` of a local cluster of two single-threaded in-process workers."""
    distributed = pytest.importorskip("distributed", reason="distributed is not installed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as dask_client:
            yield dask_client
