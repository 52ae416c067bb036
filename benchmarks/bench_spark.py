"""Spark ``local[2]`` against the local stream on the same parquet files, per model family.

Both sides read the same parquet folder. The local stream is
``read_files`` + ``fit_chunks``; Spark maps each partition to statistics on
its executors (``read_spark`` + ``fit_chunks``) and only they reach the
driver. Families: OLS with HC1 errors (two passes), ``CumulativeRidgeCV``
(per-fold statistics, one pass), ``CumulativeFixedEffectsRegression`` with
HC1 (per-level means, two passes) and ``CumulativeLogisticRegression`` (one
Spark job per IRLS pass). Reports the overhead (Spark time / local time,
medians of ``--repeat`` interleaved runs after one warm-up each) and checks
that both sides give the same coefficients (1e-10; 1e-9 for IRLS, whose
passes start from different points).

With ``--memory`` it measures peak memory instead of time: one fit per
family on each side, and the peak resident set (kernel high-water mark, reset
before each fit) of the driver's Python process, of Spark's JVM and of each
Python worker process (``pyspark.daemon`` and its forks), each reported on
its own. The JVM's heap is set by ``--driver-memory`` (Spark's
``spark.driver.memory``; in local mode the executors live in the driver's
JVM), default Spark's own ``1g``. ``--low-memory`` starts Spark with
``skbigreg.io.spark_low_memory_config(--driver-memory)`` (and
``MALLOC_ARENA_MAX=2`` in the JVM's environment) instead of Spark's
defaults; ``--nmt`` adds the JVM's native memory tracking and prints its
summary (heap, class metadata, code, threads, GC, direct buffers) after the
fits. ``--master`` sets the number of task threads (``local[2]``).

    flock /tmp/bench.lock python benchmarks/bench_spark.py              # 2M x 10
    flock /tmp/bench.lock python benchmarks/bench_spark.py --rows 200000 --repeat 3
    flock /tmp/bench.lock python benchmarks/bench_spark.py --rows 20000000 --memory \
        --driver-memory 512m
    flock /tmp/bench.lock python benchmarks/bench_spark.py --rows 20000000 --memory \
        --low-memory --driver-memory 512m --master 'local[1]'
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _timing import median_times  # noqa: E402

K = 10
ROWS_PER_FILE = 500_000
N_LEVELS = 1_000


def write_parquet(folder, rows, row_group_rows=None):
    """Files of ``ROWS_PER_FILE`` rows, each one row group unless ``row_group_rows`` is given."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    beta = np.linspace(-1, 1, K)
    for index, start in enumerate(range(0, rows, ROWS_PER_FILE)):
        n = min(ROWS_PER_FILE, rows - start)
        rng = np.random.default_rng(index)
        X = rng.standard_normal((n, K))
        columns = {f"x{j}": X[:, j] for j in range(K)}
        columns["y"] = X @ beta + rng.standard_normal(n)
        columns["event"] = (rng.random(n) < 1 / (1 + np.exp(-0.3 * X @ beta))).astype(np.int64)
        columns["level"] = rng.integers(0, N_LEVELS, size=n)
        pq.write_table(pa.table(columns), folder / f"part-{index:03d}.parquet",
                       row_group_size=row_group_rows)


def families():
    """(name, estimator factory, target, extra source columns, rtol) of each family."""
    from skbigreg.linear_model import (
        CumulativeFixedEffectsRegression,
        CumulativeLinearRegression,
        CumulativeLogisticRegression,
        CumulativeRidgeCV,
    )

    return [
        ("OLS + HC1", lambda: CumulativeLinearRegression(cov_type="HC1"), "y", {}, 1e-10),
        ("RidgeCV, 5 hashed folds", lambda: CumulativeRidgeCV(alphas=np.logspace(-3, 3, 20), cv=5),
         "y", {}, 1e-10),
        (f"fixed effects ({N_LEVELS} levels) + HC1",
         lambda: CumulativeFixedEffectsRegression(cov_type="HC1"), "y",
         {"entities": "level"}, 1e-10),
        ("logistic (IRLS)", CumulativeLogisticRegression, "event", {}, 1e-9),
    ]


def time_family(make_local, make_spark, rows, repeat):
    """Median times of both sides (interleaved, after a warm-up), printed as rates and the overhead."""
    fits = {}

    def local():
        fits["local"] = make_local()

    def on_spark():
        fits["spark"] = make_spark()

    local(), on_spark()  # warm-up: imports, Spark's plans, the Python workers
    t_local, t_spark = median_times([local, on_spark], repeat)
    print(f"local {t_local:7.3f} s ({rows / t_local / 1e6:5.2f} M rows/s)"
          f"  Spark {t_spark:7.3f} s ({rows / t_spark / 1e6:5.2f} M rows/s)"
          f"  overhead {t_spark / t_local:5.2f}x")
    return fits["local"], fits["spark"]


def measure_family(make_local, make_spark):
    """One fit on each side inside :class:`ProcessTreePeaks`; the peaks (and times) printed."""
    from _process_memory import MIB, ProcessTreePeaks

    with ProcessTreePeaks() as local_peaks:
        start = time.perf_counter()
        fit_local = make_local()
        t_local = time.perf_counter() - start
    with ProcessTreePeaks() as spark_peaks:
        start = time.perf_counter()
        fit_spark = make_spark()
        t_spark = time.perf_counter() - start
    print(f"local stream: driver {local_peaks.process['driver (Python)'] / MIB:5.0f} MiB"
          f" ({t_local:.1f} s);  Spark ({t_spark:.1f} s): {spark_peaks.line()}")
    return fit_local, fit_spark


def spark_builder(args):
    """The ``SparkSession`` builder: Spark's defaults, or the low-memory settings."""
    from pyspark.sql import SparkSession

    from skbigreg.io import spark_low_memory_config

    java = [*([args.java_options] if args.java_options else []),
            *(["-XX:NativeMemoryTracking=summary"] if args.nmt else [])]
    builder = (SparkSession.builder.master(args.master)
               .config("spark.ui.showConsoleProgress", "false"))
    if args.low_memory:
        # glibc's per-thread malloc arenas: the JVM inherits the driver's environment.
        os.environ.setdefault("MALLOC_ARENA_MAX", "2")
        return builder.config(map=spark_low_memory_config(args.driver_memory, java))
    builder = (builder.config("spark.ui.enabled", "false")
               .config("spark.driver.memory", args.driver_memory))
    return builder.config("spark.driver.extraJavaOptions", " ".join(java)) if java else builder


def jvm_pid():
    import psutil

    return next(p.pid for p in psutil.Process().children(recursive=True) if p.name() == "java")


def print_native_memory():
    """The JVM's native memory tracking summary: committed MiB per category."""
    out = subprocess.run(["jcmd", str(jvm_pid()), "VM.native_memory", "summary", "scale=MB"],
                         capture_output=True, text=True).stdout
    print("JVM native memory (committed now, MB):")
    for line in out.splitlines():
        if line.startswith(("Total", "-")) and "committed=" in line:
            name = line.split("(")[0].split(":")[0].strip("- ")
            print(f"  {name:<28} {line.split('committed=')[1].split('MB')[0]:>6}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory", action="store_true",
                        help="measure peak RSS per process (one fit per family) instead of time")
    parser.add_argument("--driver-memory", default="1g",
                        help="spark.driver.memory: the JVM's heap (local mode: driver and executors)")
    parser.add_argument("--java-options", default=None,
                        help="spark.driver.extraJavaOptions, e.g. '-XX:MaxMetaspaceSize=128m'")
    parser.add_argument("--low-memory", action="store_true",
                        help="start Spark with skbigreg.io.spark_low_memory_config(--driver-memory)")
    parser.add_argument("--nmt", action="store_true",
                        help="JVM native memory tracking; its summary printed after the fits")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--families", default=None,
                        help="indices of the families to run, e.g. '0,3' (default: all)")
    parser.add_argument("--folder", default=None,
                        help="parquet folder to reuse (written there if empty, kept afterwards)")
    parser.add_argument("--row-group-rows", type=int, default=None,
                        help="rows per parquet row group of the files written (default: one per file); "
                             "each running Spark task holds one row group")
    args = parser.parse_args()

    import pyarrow.parquet as pq

    import skbigreg

    from skbigreg.io import read_files, read_spark

    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYTHONPATH"] = str(Path(skbigreg.__file__).parent.parent)
    spark = spark_builder(args).getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    features = [f"x{j}" for j in range(K)]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.folder or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        if not any(folder.glob("*.parquet")):
            write_parquet(folder, args.rows, args.row_group_rows)
        args.rows = sum(pq.ParquetFile(path).metadata.num_rows for path in folder.glob("*.parquet"))
        frame = spark.read.parquet(str(folder))
        config = (f"{args.master}, {'low-memory config' if args.low_memory else 'Spark defaults'}"
                  f", driver-memory {args.driver_memory} {args.java_options or ''}")
        what = (f"peak RSS of one fit per family, {config}" if args.memory
                else f"medians of {args.repeat} interleaved runs, {config}")
        print(f"{args.rows:,} rows x {K} features, parquet ({frame.rdd.getNumPartitions()} "
              f"Spark partitions), {what}:")
        chosen = families()
        if args.families:
            chosen = [chosen[int(i)] for i in args.families.split(",")]
        for name, make, target, labels, rtol in chosen:
            def make_local():
                return make().fit_chunks(
                    read_files(str(folder), target=target, features=features, **labels))

            def make_spark():
                return make().fit_chunks(
                    read_spark(frame, target=target, features=features, **labels))

            print(f"  {name:<38} ", end="", flush=True)
            if args.memory:
                fit_local, fit_spark = measure_family(make_local, make_spark)
            else:
                fit_local, fit_spark = time_family(make_local, make_spark, args.rows, args.repeat)
            np.testing.assert_allclose(fit_spark.coef_, fit_local.coef_, rtol=rtol,
                                       atol=rtol * np.max(np.abs(fit_local.coef_)))
        if args.nmt:
            print_native_memory()
    spark.stop()


if __name__ == "__main__":
    main()
