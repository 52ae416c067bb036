"""Scale-out benchmarks: parquet streaming, Dask LocalCluster, joblib workers.

Ratios are measured in the same run. Not part of CI (the parquet dataset is
8 GB on disk; it is generated, measured and deleted).

    python benchmarks/bench_scale_out.py               # all three, full size
    python benchmarks/bench_scale_out.py --gigabytes 1 --rows 4000000   # smaller
    python benchmarks/bench_scale_out.py --only joblib
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

K = 20
ROWS_PER_FILE = 2_000_000  # 2M x 21 float64 = 336 MB per file


def write_parquet(folder, gigabytes):
    """Files of K features + y until ``gigabytes`` of float64 values are written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows_total = int(gigabytes * 2**30 / (8 * (K + 1)))
    beta = np.linspace(-1, 1, K)
    files = []
    for index, start in enumerate(range(0, rows_total, ROWS_PER_FILE)):
        rows = min(ROWS_PER_FILE, rows_total - start)
        rng = np.random.default_rng(index)
        X = rng.standard_normal((rows, K))
        y = X @ beta + rng.standard_normal(rows)
        table = pa.table({**{f"x{j}": X[:, j] for j in range(K)}, "y": y})
        path = Path(folder) / f"part{index:04d}.parquet"
        pq.write_table(table, path, compression=None, row_group_size=262_144)
        files.append(str(path))
    return files


_CHILD = r"""
import json, re, sys, time
mode, files = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
if mode == "scan":
    import pyarrow.dataset as ds
    rows = 0
    columns = [f"x{j}" for j in range(20)] + ["y"]
    batches = ds.dataset(files, format="parquet").to_batches(
        columns=columns, batch_size=65536, batch_readahead=2, fragment_readahead=1)
    for batch in batches:
        for column in batch.columns:
            column.to_numpy()
        rows += batch.num_rows
else:
    from skbigreg.io import read_files
    from skbigreg.linear_model import CumulativeLinearRegression
    est = CumulativeLinearRegression().fit_chunks(read_files(files, target="y", batch_rows=65536))
    rows = est.n_samples_seen_
seconds = time.perf_counter() - start
print(json.dumps({"rows": rows, "seconds": seconds,
                  "peak_mib": int(re.search(r"VmHWM:\s+(\d+)", open("/proc/self/status").read()).group(1)) / 1024}))
"""


def run_child(mode, files):
    import json

    out = subprocess.run([sys.executable, "-c", _CHILD, mode, *files], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def bench_parquet(gigabytes, repeat):
    folder = tempfile.mkdtemp(prefix="skbigreg-bench-")
    try:
        print(f"writing {gigabytes:g} GB of parquet ...", flush=True)
        files = write_parquet(folder, gigabytes)
        size = sum(Path(f).stat().st_size for f in files) / 2**30
        print(f"parquet streaming: {len(files)} files, {size:.2f} GB on disk, K = {K}")
        for label, subset in (("half", files[: max(1, len(files) // 2)]), ("all", files)):
            scans = [run_child("scan", subset) for _ in range(repeat)]
            fits = [run_child("fit", subset) for _ in range(repeat)]
            scan_s = statistics.median(r["seconds"] for r in scans)
            fit_s = statistics.median(r["seconds"] for r in fits)
            peak = max(r["peak_mib"] for r in fits)
            rows = fits[0]["rows"]
            print(f"  {label:>4}: {rows:,} rows; fit {fit_s:.1f} s vs bare pyarrow scan {scan_s:.1f} s "
                  f"-> throughput {scan_s / fit_s:.0%} of the scan (target >= 50%); "
                  f"peak RSS {peak:.0f} MiB (target <= 512)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def bench_dask(rows, repeat):
    import dask.array as da
    from distributed import Client, LocalCluster, wait

    from skbigreg.linear_model import CumulativeLinearRegression

    rng = np.random.default_rng(0)
    X = rng.standard_normal((rows, K))
    y = X @ np.linspace(-1, 1, K) + rng.standard_normal(rows)
    chunk = -(-rows // 16)
    local = []
    for _ in range(repeat):
        start = time.perf_counter()
        est = CumulativeLinearRegression()
        for s in range(0, rows, chunk):
            est.partial_fit(X[s : s + chunk], y[s : s + chunk])
        local.append(time.perf_counter() - start)
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, Client(cluster):
        Xd = da.from_array(X, chunks=(chunk, K)).persist()
        yd = da.from_array(y, chunks=chunk).persist()
        wait([Xd, yd])  # persist is asynchronous: time the fit, not the upload
        remote = []
        for _ in range(repeat):
            start = time.perf_counter()
            fitted = CumulativeLinearRegression().fit(Xd, yd)
            remote.append(time.perf_counter() - start)
    err = np.max(np.abs(fitted.coef_ - est.coef_) / np.abs(est.coef_))
    ratio = statistics.median(remote) / statistics.median(local)
    print(f"Dask LocalCluster (2 workers), {rows:,} x {K} in 16 persisted partitions: "
          f"{ratio:.2f}x the local streaming fit (target <= 1.5x); max relative difference {err:.1e}")


def bench_joblib(repeat):
    from skbigreg.datasets import make_regression_chunks
    from skbigreg.linear_model import CumulativeLinearRegression

    chunks = list(make_regression_chunks(2_000_000, 50, chunk_rows=100_000, n_clusters=500)())
    times = {}
    for n_jobs in (1, 2):
        runs = []
        for _ in range(repeat):
            start = time.perf_counter()
            CumulativeLinearRegression(solver="qr").fit_chunks(chunks, n_jobs=n_jobs)
            runs.append(time.perf_counter() - start)
        times[n_jobs] = statistics.median(runs)
    print(f"joblib (loky), QR map of 2,000,000 x 50 with per-cluster statistics: "
          f"n_jobs=2 is {times[1] / times[2]:.2f}x faster than n_jobs=1")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gigabytes", type=float, default=8.0)
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=["parquet", "dask", "joblib"])
    args = parser.parse_args()
    if args.only in (None, "joblib"):
        bench_joblib(args.repeat)
    if args.only in (None, "dask"):
        bench_dask(args.rows, args.repeat)
    if args.only in (None, "parquet"):
        bench_parquet(args.gigabytes, args.repeat)


if __name__ == "__main__":
    main()
