"""Spark ``local[2]`` against the local stream on the same parquet files.

Both fits read the same parquet folder and compute OLS with HC1 errors (two
passes over the rows); Spark maps each partition to statistics on its
executors and only they reach the driver. Reports the overhead (Spark time /
local stream time, medians of ``--repeat`` runs after one warm-up each, in
one run) and checks that both give the same coefficients.

    flock /tmp/bench.lock python benchmarks/bench_spark.py              # 2M x 10
    flock /tmp/bench.lock python benchmarks/bench_spark.py --rows 500000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _timing import median_time  # noqa: E402

K = 10
ROWS_PER_FILE = 500_000


def write_parquet(folder, rows):
    import pyarrow as pa
    import pyarrow.parquet as pq

    beta = np.linspace(-1, 1, K)
    for index, start in enumerate(range(0, rows, ROWS_PER_FILE)):
        n = min(ROWS_PER_FILE, rows - start)
        rng = np.random.default_rng(index)
        X = rng.standard_normal((n, K))
        columns = {f"x{j}": X[:, j] for j in range(K)}
        columns["y"] = X @ beta + rng.standard_normal(n)
        pq.write_table(pa.table(columns), folder / f"part-{index:03d}.parquet")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import skbigreg
    from pyspark.sql import SparkSession

    from skbigreg.io import read_files, read_spark
    from skbigreg.linear_model import CumulativeLinearRegression

    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYTHONPATH"] = str(Path(skbigreg.__file__).parent.parent)
    spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
             .config("spark.driver.memory", "1g").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    features = [f"x{j}" for j in range(K)]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_parquet(folder, args.rows)
        frame = spark.read.parquet(str(folder))
        fits = {}

        def local():
            fits["local"] = CumulativeLinearRegression(cov_type="HC1").fit_chunks(
                read_files(str(folder), target="y", features=features))

        def on_spark():
            fits["spark"] = CumulativeLinearRegression(cov_type="HC1").fit_chunks(
                read_spark(frame, target="y", features=features))

        local(), on_spark()  # warm-up: imports, JIT of Spark's plans, the Python workers
        t_local = median_time(local, args.repeat)
        t_spark = median_time(on_spark, args.repeat)
        gap = np.max(np.abs(fits["spark"].results().bse - fits["local"].results().bse)
                     / fits["local"].results().bse)
        np.testing.assert_allclose(fits["spark"].coef_, fits["local"].coef_, rtol=1e-10)
        print(f"OLS + HC1, {args.rows:,} rows x {K} features, parquet "
              f"({frame.rdd.getNumPartitions()} Spark partitions), medians of {args.repeat}:")
        print(f"  local stream (read_files + fit_chunks)  {t_local:7.3f} s  "
              f"{args.rows / t_local / 1e6:6.2f} M rows/s")
        print(f"  Spark local[2] (read_spark + fit_chunks) {t_spark:7.3f} s  "
              f"{args.rows / t_spark / 1e6:6.2f} M rows/s")
        print(f"  overhead: Spark / local = {t_spark / t_local:.2f}x; "
              f"largest relative bse gap {gap:.1e}")
    spark.stop()


if __name__ == "__main__":
    main()
