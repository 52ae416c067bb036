"""PySpark's daemon for Python workers, with skbigreg imported before it forks them.

Spark starts one Python daemon per executor, which forks a Python worker for
each task slot, and again for every worker that exits (a task's Python error
ends its worker; a killed worker is replaced). A forked worker inherits the
daemon's imported modules, so with this daemon a new worker maps its rows at
once instead of first importing scikit-learn, SciPy and pandas (seconds per
worker). Select it with the Spark setting

    spark.python.daemon.module = skbigreg.spark_daemon

The workers run PySpark's own worker code; the fits are the same with either
daemon. Importing this module imports nothing; only running it (``python -m
skbigreg.spark_daemon``, as Spark does) preloads and starts the daemon.
"""


def _main():
    """Import what the workers' maps need, then run PySpark's daemon loop (forks workers)."""
    import pyspark.worker  # noqa: F401  -- the worker's own code
    from pyspark.daemon import manager

    import skbigreg.linear_model  # noqa: F401  -- the estimators, their maps and statistics
    import skbigreg.parallel  # noqa: F401  -- the partition map given to mapInArrow

    manager()


if __name__ == "__main__":
    _main()
