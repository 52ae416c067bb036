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
import json, re, resource, sys, time
mode, batch_rows, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
columns = [f"x{j}" for j in range(20)] + ["y"]
start = time.perf_counter()
if mode.startswith("scan"):
    import pyarrow.dataset as ds
else:
    from skbigreg.io import read_files
    from skbigreg.linear_model import CumulativeLinearRegression
imported = time.perf_counter()
cpu = resource.getrusage(resource.RUSAGE_SELF)
if mode.startswith("scan"):
    # "scan": pyarrow's defaults; "scan-nobuf": the scan options read_files uses.
    options = ds.ParquetFragmentScanOptions(pre_buffer=mode == "scan")
    rows = 0
    batches = ds.dataset(files, format="parquet").to_batches(
        columns=columns, batch_size=batch_rows, batch_readahead=2, fragment_readahead=1,
        fragment_scan_options=options)
    for batch in batches:
        for column in batch.columns:
            column.to_numpy()
        rows += batch.num_rows
else:
    est = CumulativeLinearRegression().fit_chunks(read_files(files, target="y", batch_rows=batch_rows))
    rows = est.n_samples_seen_
end = time.perf_counter()
used = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"rows": rows, "seconds": end - imported, "import_seconds": imported - start,
                  "cpu_seconds": used.ru_utime + used.ru_stime - cpu.ru_utime - cpu.ru_stime,
                  "peak_mib": int(re.search(r"VmHWM:\s+(\d+)", open("/proc/self/status").read()).group(1)) / 1024}))
"""


def run_child(mode, files, batch_rows=65_536):
    """One measurement in a fresh process: its own peak RSS (VmHWM; ru_maxrss
    would be inherited across fork/exec) and the seconds of the pass alone
    (imports timed apart)."""
    import json

    out = subprocess.run([sys.executable, "-c", _CHILD, mode, str(batch_rows), *files],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def bench_parquet(gigabytes, repeat, batch_rows=65_536):
    import os

    folder = tempfile.mkdtemp(prefix="skbigreg-bench-")
    try:
        print(f"writing {gigabytes:g} GB of parquet ...", flush=True)
        files = write_parquet(folder, gigabytes)
        size = sum(Path(f).stat().st_size for f in files) / 2**30
        print(f"parquet streaming: {len(files)} files, {size:.2f} GB on disk, K = {K}, "
              f"{batch_rows:,} rows per batch; load average {os.getloadavg()[0]:.2f}")
        peaks = {}
        for label, subset in (("half", files[: max(1, len(files) // 2)]), ("all", files)):
            runs = {"scan": [], "scan-nobuf": [], "fit": []}
            for _ in range(repeat):  # interleaved, so load changes hit all three alike
                for mode, results in runs.items():
                    results.append(run_child(mode, subset, batch_rows))
            median = {mode: statistics.median(r["seconds"] for r in rs) for mode, rs in runs.items()}
            with_imports = {mode: statistics.median(r["seconds"] + r["import_seconds"] for r in rs)
                            for mode, rs in runs.items()}
            peaks[label] = max(r["peak_mib"] for r in runs["fit"])
            rows = runs["fit"][0]["rows"]
            print(f"  {label:>4}: {rows:,} rows; fit {median['fit']:.2f} s vs bare pyarrow scan "
                  f"{median['scan']:.2f} s -> throughput {median['scan'] / median['fit']:.0%} of the scan "
                  f"(target >= 50%); peak RSS {peaks[label]:.0f} MiB (target <= 512); "
                  f"load average {os.getloadavg()[0]:.2f}")
            print(f"        scan with read_files' options (pre_buffer=False) {median['scan-nobuf']:.2f} s "
                  f"-> {median['scan-nobuf'] / median['fit']:.0%}; with imports timed in: "
                  f"{with_imports['scan'] / with_imports['fit']:.0%} / "
                  f"{with_imports['scan-nobuf'] / with_imports['fit']:.0%}; peak RSS of the scans "
                  f"{max(r['peak_mib'] for r in runs['scan']):.0f} / "
                  f"{max(r['peak_mib'] for r in runs['scan-nobuf']):.0f} MiB")
            for mode, rs in runs.items():
                print(f"        {mode:>10} runs: " + ", ".join(
                    f"{r['seconds']:.2f} s ({r['cpu_seconds']:.1f} s CPU, {r['peak_mib']:.0f} MiB)" for r in rs))
        print(f"  peak RSS all / half: {peaks['all'] / peaks['half']:.2f} (flat: ~1)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def bench_dask(rows, repeat):
    import dask.array as da
    from distributed import Client, LocalCluster, wait
    from threadpoolctl import threadpool_info

    from skbigreg.linear_model import CumulativeLinearRegression

    def _blas_threads():
        return max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")

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
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, Client(cluster) as client:
        Xd = da.from_array(X, chunks=(chunk, K)).persist()
        yd = da.from_array(y, chunks=chunk).persist()
        wait([Xd, yd])  # persist is asynchronous: time the fit, not the upload
        remote = []
        for _ in range(repeat):
            start = time.perf_counter()
            fitted = CumulativeLinearRegression().fit(Xd, yd)
            remote.append(time.perf_counter() - start)
        worker_blas = client.run(_blas_threads)
    err = np.max(np.abs(fitted.coef_ - est.coef_) / np.abs(est.coef_))
    ratio = statistics.median(remote) / statistics.median(local)
    print(f"Dask LocalCluster (2 workers), {rows:,} x {K} in 16 persisted partitions: "
          f"{ratio:.2f}x the local streaming fit (target <= 1.5x); max relative difference {err:.1e}")
    print(f"  median of {repeat}: local {statistics.median(local):.2f} s "
          f"(BLAS threads {_blas_threads()}), cluster {statistics.median(remote):.2f} s "
          f"(BLAS threads per worker {sorted(worker_blas.values())}); "
          f"runs local {[round(t, 2) for t in local]}, cluster {[round(t, 2) for t in remote]}")


def bench_joblib(repeat):
    from joblib import parallel_config

    from skbigreg.datasets import make_regression_chunks
    from skbigreg.linear_model import CumulativeLinearRegression

    chunks = list(make_regression_chunks(2_000_000, 50, chunk_rows=100_000, n_clusters=500)())
    for backend in ("loky", "threading"):
        times = {1: [], 2: []}
        for _ in range(repeat):
            for n_jobs in (1, 2):  # in turns, so that load hits both alike
                with parallel_config(backend=backend):
                    start = time.perf_counter()
                    CumulativeLinearRegression(solver="qr").fit_chunks(chunks, n_jobs=n_jobs)
                    times[n_jobs].append(time.perf_counter() - start)
        t1, t2 = statistics.median(times[1]), statistics.median(times[2])
        print(f"joblib ({backend}), QR map of 2,000,000 x 50 with per-cluster statistics: "
              f"n_jobs=1 {t1:.2f} s, n_jobs=2 {t2:.2f} s -> {t1 / t2:.2f}x speed-up")


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
