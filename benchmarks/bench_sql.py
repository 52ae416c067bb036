"""Where the data lives: SQL push-down vs pulling rows, DuckDB and PostgreSQL.

One OLS fit with HC1 and CRV1 errors (``cov_type="HC1"`` with ``clusters=``:
the HC pass and the per-cluster statistics in one fit) on N rows x 10
features in parquet, by three paths measured in the same run:

- ``pushdown``: DuckDB computes the statistics on ``read_parquet(...)``
  (``read_sql(...).pushdown()``); only K x K numbers reach Python;
- ``files``: ``read_files`` + ``fit_chunks`` (pyarrow batches, the map in numpy);
- ``pull``: ``read_sql`` streams DuckDB's result as Arrow batches.

Then the same table in PostgreSQL (``--pg-rows`` rows, loaded with COPY):
push-down vs pull.

With ``--cv`` the model is ``CumulativeRidgeCV`` (5 folds, 20 alphas) instead,
without ``groups=``: the push-down hashes each row's fold in SQL (as
``hash_folds`` does in Python) and sums each fold's statistics with one
``GROUP BY``; the pulled paths hash the rows in numpy. Each path runs in a child process (peak RSS = its
VmHWM), ``--repeat`` times, the paths interleaved; the median is reported,
with rows/s. The parquet files are written once into ``--folder`` (default
``/tmp/skbigreg-bench-sql-<rows>``) and reused by later runs.

DuckDB runs with its defaults (threads = cores, ``memory_limit`` = 80% of
RAM) unless ``--duckdb-threads`` / ``--duckdb-memory`` set them on the
connection (``SET threads`` / ``SET memory_limit``): the library opens no
connection of its own, so these are the user's settings.

    flock /tmp/bench.lock python benchmarks/bench_sql.py --rows 20000000 --pg-rows 1000000
    python benchmarks/bench_sql.py --rows 200000 --pg-rows 0 --repeat 1   # a quick check
    git worktree add /tmp/skbigreg-before <commit>   # before/after in one run:
    flock /tmp/bench.lock python benchmarks/bench_sql.py --rows 500000 --pg-rows 500000 \
        --baseline /tmp/skbigreg-before
    flock /tmp/bench.lock python benchmarks/bench_sql.py --cv --rows 2000000 --pg-rows 2000000
    SKBIGREG_PG_DSN=... (else .ci/start_postgres is run for a throwaway server)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

K = 10
ROWS_PER_FILE = 2_000_000
N_CLUSTERS = 1000

_CHILD = r"""
import json, re, sys, time
mode, where, settings, model = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
import numpy as np
from skbigreg.io import read_files, read_sql
from skbigreg.linear_model import CumulativeLinearRegression, CumulativeRidgeCV
features = [f"x{j}" for j in range(10)]
start = time.perf_counter()
if model == "cv":  # folds hashed from the rows: no label column is read
    est, labels = CumulativeRidgeCV(alphas=np.logspace(-3, 4, 20), cv=5), {}
else:
    est, labels = CumulativeLinearRegression(cov_type="HC1"), {"clusters": "g"}
if mode == "files":
    est.fit_chunks(read_files(where + "/*.parquet", target="y", features=features, **labels))
else:
    if mode.startswith("duckdb"):
        import duckdb
        con = duckdb.connect()
        for name, value in settings.items():
            con.execute(f"SET {name} = '{value}'")
        query = f"SELECT * FROM read_parquet('{where}/*.parquet')"
    else:
        import psycopg
        con = psycopg.connect(where)
        query = "bench"
    source = read_sql(query, con, target="y", features=features, **labels)
    est.fit_chunks(source.pushdown() if mode.endswith("pushdown") else source)
if model == "cv":
    errors = {"mse": est.mse_path_.ravel().tolist()}
else:
    errors = {"hc1": est.results().bse.to_numpy().tolist(),
              "crv1": est.results(cov_type="cluster").bse.to_numpy().tolist()}
seconds = time.perf_counter() - start
print(json.dumps({"rows": int(est.n_samples_seen_), "seconds": seconds,
                  "coef": [float(est.intercept_), *map(float, est.coef_)], **errors,
                  "peak_mib": int(re.search(r"VmHWM:\s+(\d+)", open("/proc/self/status").read()).group(1)) / 1024}))
"""


def write_parquet(folder, rows_total):
    """Files of K features, y and an integer cluster column g."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    beta = np.linspace(-1, 1, K)
    for index, start in enumerate(range(0, rows_total, ROWS_PER_FILE)):
        rows = min(ROWS_PER_FILE, rows_total - start)
        rng = np.random.default_rng(index)
        X = rng.standard_normal((rows, K)) + 3.0
        g = rng.integers(0, N_CLUSTERS, rows)
        y = X @ beta + rng.standard_normal(rows) * (1 + 0.5 * np.abs(X[:, 0] - 3)) + 0.1 * (g % 10)
        table = pa.table({**{f"x{j}": X[:, j] for j in range(K)}, "y": y, "g": g})
        pq.write_table(table, Path(folder) / f"part{index:04d}.parquet", row_group_size=262_144)


def load_postgres(dsn, folder, rows, table="bench", labels="g int"):
    """The first ``rows`` rows of the parquet files into ``table`` (COPY).

    Its columns: ``x0 … x{K-1}`` and ``y`` (float8), then ``labels`` (the
    label columns' SQL definitions, in the files' order).
    """
    import duckdb
    import psycopg

    csv = Path(folder) / "pg.csv"
    duckdb.sql(f"COPY (SELECT * FROM read_parquet('{folder}/*.parquet') LIMIT {int(rows)}) "
               f"TO '{csv}' (HEADER false)")
    columns = ", ".join(f"x{j} float8" for j in range(K))
    with psycopg.connect(dsn, autocommit=True) as con, con.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {table}")
        cur.execute(f"CREATE TABLE {table} ({columns}, y float8, {labels})")
        with open(csv, "rb") as handle, cur.copy(f"COPY {table} FROM STDIN (FORMAT csv)") as copy:
            while block := handle.read(1 << 20):
                copy.write(block)
        cur.execute(f"VACUUM ANALYZE {table}")
    csv.unlink()


BASELINE = "+baseline"  # a mode with this suffix imports skbigreg from --baseline


def run_once(mode, where, settings, model, baseline=None):
    """One fit in a child process; ``...+baseline`` modes run ``baseline``'s skbigreg."""
    env, cwd = None, None
    if mode.endswith(BASELINE):
        mode, cwd = mode[:-len(BASELINE)], baseline
        env = {**os.environ, "PYTHONPATH": baseline}
    done = subprocess.run([sys.executable, "-c", _CHILD, mode, where, json.dumps(settings), model],
                          check=True, capture_output=True, text=True, cwd=cwd, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_interleaved(modes, repeats, settings, model="ols", baseline=None):
    """``{mode: median result}`` of ``repeats`` rounds, each round running every mode."""
    outputs = {mode: [] for mode in modes}
    for _ in range(repeats):
        for mode, where in modes.items():
            outputs[mode].append(run_once(mode, where, settings, model, baseline))
    return {mode: _median(results) for mode, results in outputs.items()}


def _median(outputs):
    best = dict(outputs[0])
    best["seconds"] = statistics.median(o["seconds"] for o in outputs)
    best["peak_mib"] = max(o["peak_mib"] for o in outputs)
    best["all_seconds"] = [round(o["seconds"], 2) for o in outputs]
    return best


def report(name, result, reference=None):
    rows_per_s = result["rows"] / result["seconds"]
    line = (f"{name:>20}: {result['seconds']:7.2f} s (median of {result['all_seconds']}), "
            f"{rows_per_s / 1e6:6.2f} M rows/s, peak RSS {result['peak_mib']:6.0f} MiB")
    if reference is not None:
        line += f", {result['seconds'] / reference['seconds']:.2f}x"
        for key in ("coef", "hc1", "crv1", "mse"):
            if key not in result:
                continue
            a, b = np.array(result[key]), np.array(reference[key])
            line += f", {key} rel. diff {np.max(np.abs(a - b) / np.abs(b)):.1e}"
    print(line, flush=True)


def start_postgres(folder):
    script = Path(__file__).resolve().parent.parent / ".ci" / "start_postgres"
    os.chmod(folder, 0o755)
    return subprocess.run([str(script), str(Path(folder) / "pg"), "55439"], check=True,
                          capture_output=True, text=True).stdout.strip()


def stop_postgres(folder):
    binary = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))[-1]
    command = [str(binary), "-D", str(Path(folder) / "pg" / "data"), "-m", "fast", "stop"]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    subprocess.run(command, check=False, capture_output=True)


def parquet_folder(folder, rows, write=None, name="sql"):
    """The benchmark's parquet files, written once by ``write(folder, rows)``
    (this module's ``write_parquet`` by default; a marker says they are complete)."""
    folder = Path(folder or f"/tmp/skbigreg-bench-{name}-{rows}")
    marker = folder / "COMPLETE"
    if not marker.exists():
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.parquet"):
            old.unlink()
        (write or write_parquet)(folder, rows)
        marker.write_text(str(rows))
    return str(folder)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--pg-rows", type=int, default=500_000)
    parser.add_argument("--repeat", "--repeats", type=int, default=3, dest="repeat")
    parser.add_argument("--folder", default=None, help="where the parquet files are kept")
    parser.add_argument("--duckdb-threads", type=int, default=None)
    parser.add_argument("--duckdb-memory", default=None, help="e.g. 256MB")
    parser.add_argument("--cv", action="store_true",
                        help="RidgeCV with row-hashed folds instead of OLS + HC1/CRV1")
    parser.add_argument("--baseline", default=None,
                        help="another checkout of skbigreg (e.g. a git worktree of an older "
                             "commit): its push-down paths run too, interleaved, and are "
                             "reported against this checkout's")
    args = parser.parse_args()
    model = "cv" if args.cv else "ols"
    settings = {name: value for name, value in
                (("threads", args.duckdb_threads), ("memory_limit", args.duckdb_memory))
                if value is not None}
    folder = parquet_folder(args.folder, args.rows)
    what = ("RidgeCV, 5 row-hashed folds x 20 alphas" if args.cv
            else f"{N_CLUSTERS} clusters; OLS with HC1 + CRV1")
    print(f"{args.rows:,} rows x {K} features, {what}; DuckDB settings {settings or 'default'}",
          flush=True)
    modes = {"files": folder, "duckdb-pushdown": folder, "duckdb-pull": folder}
    if args.baseline:
        modes["duckdb-pushdown" + BASELINE] = folder
    results = run_interleaved(modes, args.repeat, settings, model, args.baseline)
    report("read_files", results["files"])
    report("DuckDB push-down", results["duckdb-pushdown"], results["files"])
    report("DuckDB pull", results["duckdb-pull"], results["files"])
    if args.baseline:
        report("baseline push-down", results["duckdb-pushdown" + BASELINE],
               results["duckdb-pushdown"])
    if args.pg_rows:
        with tempfile.TemporaryDirectory(prefix="bench-sql-pg-") as scratch:
            dsn = os.environ.get("SKBIGREG_PG_DSN")
            own = dsn is None
            dsn = dsn or start_postgres(scratch)
            try:
                load_postgres(dsn, folder, min(args.pg_rows, args.rows))
                print(f"PostgreSQL, {min(args.pg_rows, args.rows):,} rows", flush=True)
                modes = {"postgres-pull": dsn, "postgres-pushdown": dsn}
                if args.baseline:
                    modes["postgres-pushdown" + BASELINE] = dsn
                pg = run_interleaved(modes, args.repeat, settings, model, args.baseline)
                report("PostgreSQL pull", pg["postgres-pull"])
                report("PostgreSQL push-down", pg["postgres-pushdown"], pg["postgres-pull"])
                if args.baseline:
                    report("baseline push-down", pg["postgres-pushdown" + BASELINE],
                           pg["postgres-pull"])
            finally:
                if own:
                    stop_postgres(scratch)


if __name__ == "__main__":
    main()
