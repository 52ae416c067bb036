"""Two absorbed factors where the data lives: SQL push-down vs pulling rows vs pyfixest.

One fixed-effects fit with two absorbed factors (``f1``: 1,000 levels,
``f2``: 20) and HC1 errors on N rows x 10 features in parquet, by paths
measured in the same run (each in a child process: peak RSS = its VmHWM):

- ``pushdown``: DuckDB computes the factors' cells (weights, means,
  within-cell co-moment) and the HC1 score pass on ``read_parquet(...)``
  (``read_sql(..., entities=["f1", "f2"]).pushdown()``);
- ``files``: ``read_files`` + ``fit_chunks``: the multi-pass pull (one pass of
  level means, one per conjugate-gradient step, the Gram, the scores);
- ``pyfixest``: ``feols("y ~ x0 + ... | f1 + f2", vcov="hetero")`` in memory,
  on the first ``--pyfixest-rows`` rows (read before the clock starts), against
  the push-down on the same rows.

Then the same rows in PostgreSQL (``--pg-rows``, loaded with COPY):
push-down vs pull. ``--repeat`` rounds, the paths interleaved; medians.

    flock /tmp/bench.lock python benchmarks/bench_sql_hdfe.py --rows 20000000 --pyfixest-rows 2000000
    python benchmarks/bench_sql_hdfe.py --rows 200000 --pg-rows 50000 --repeat 1   # a quick check
    SKBIGREG_PG_DSN=... (else .ci/start_postgres is run for a throwaway server)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sql import (  # noqa: E402
    K, _median, load_postgres, parquet_folder, report, start_postgres, stop_postgres)

LEVELS = (1000, 20)
ROWS_PER_FILE = 2_000_000

_CHILD = r"""
import json, re, sys, time, warnings
mode, where, settings = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
import numpy as np
features = [f"x{j}" for j in range(10)]
if mode == "pyfixest":
    import pandas as pd, pyfixest as pf
    import glob
    frame = pd.concat([pd.read_parquet(p) for p in sorted(glob.glob(where + "/*.parquet"))])
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = pf.feols("y ~ " + " + ".join(features) + " | f1 + f2", frame, vcov="hetero",
                       fixef_rm="none")
    seconds = time.perf_counter() - start
    out = {"rows": len(frame), "coef": fit.coef().tolist(), "hc1": fit.se().tolist()}
else:
    from skbigreg.io import read_files, read_sql
    from skbigreg.linear_model import CumulativeFixedEffectsRegression
    start = time.perf_counter()
    est = CumulativeFixedEffectsRegression(cov_type="HC1")
    labels = {"target": "y", "features": features, "entities": ["f1", "f2"]}
    if mode == "files":
        est.fit_chunks(read_files(where + "/*.parquet", **labels))
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
            query = "bench_hdfe"
        source = read_sql(query, con, **labels)
        est.fit_chunks(source.pushdown() if mode.endswith("pushdown") else source)
    out = {"rows": int(est.n_samples_seen_), "coef": est.coef_.tolist(),
           "hc1": est.results().bse.to_numpy().tolist(), "passes": int(est.n_iter_)}
    seconds = time.perf_counter() - start
out["seconds"] = seconds
out["peak_mib"] = int(re.search(r"VmHWM:\s+(\d+)", open("/proc/self/status").read()).group(1)) / 1024
print(json.dumps(out))
"""


def run_once(mode, where, settings):
    done = subprocess.run([sys.executable, "-c", _CHILD, mode, where, json.dumps(settings)],
                          check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_interleaved(modes, repeats, settings):
    """``{mode: median result}`` of ``repeats`` rounds, each round running every mode."""
    outputs = {mode: [] for mode in modes}
    for _ in range(repeats):
        for mode, where in modes.items():
            outputs[mode].append(run_once(mode, where, settings))
    return {mode: _median(results) for mode, results in outputs.items()}


def write_parquet(folder, rows_total):
    """Files of K features correlated with the two factors' effects, y, f1 and f2."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    beta = np.linspace(-1, 1, K)
    effects = [np.random.default_rng(100 + f).normal(size=g) for f, g in enumerate(LEVELS)]
    for index, start in enumerate(range(0, rows_total, ROWS_PER_FILE)):
        rows = min(ROWS_PER_FILE, rows_total - start)
        rng = np.random.default_rng(index)
        f1, f2 = (rng.integers(0, g, rows) for g in LEVELS)
        level = effects[0][f1] + effects[1][f2]
        X = rng.standard_normal((rows, K)) + 0.5 * level[:, None] + 3.0
        y = X @ beta + level + rng.standard_normal(rows) * (1 + 0.5 * np.abs(X[:, 0] - 3))
        table = pa.table({**{f"x{j}": X[:, j] for j in range(K)}, "y": y, "f1": f1, "f2": f2})
        pq.write_table(table, Path(folder) / f"part{index:04d}.parquet", row_group_size=262_144)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--pyfixest-rows", type=int, default=2_000_000,
                        help="rows of the in-memory pyfixest fit (0: none)")
    parser.add_argument("--pg-rows", type=int, default=500_000)
    parser.add_argument("--repeat", "--repeats", type=int, default=3, dest="repeat")
    parser.add_argument("--folder", default=None, help="where the parquet files are kept")
    parser.add_argument("--duckdb-threads", type=int, default=None)
    parser.add_argument("--duckdb-memory", default=None, help="e.g. 256MB")
    args = parser.parse_args()
    settings = {name: value for name, value in
                (("threads", args.duckdb_threads), ("memory_limit", args.duckdb_memory))
                if value is not None}
    folder = parquet_folder(args.folder, args.rows, write_parquet, "sql-hdfe")
    print(f"{args.rows:,} rows x {K} features, factors of {LEVELS} levels; FE + HC1; "
          f"DuckDB settings {settings or 'default'}", flush=True)
    results = run_interleaved({"files": folder, "duckdb-pushdown": folder}, args.repeat,
                              settings)
    report("read_files (pull)", results["files"])
    report("DuckDB push-down", results["duckdb-pushdown"], results["files"])
    print(f"  passes of the pull's effects solve: {results['files']['passes']}", flush=True)
    if args.pyfixest_rows:
        small = min(args.pyfixest_rows, args.rows)
        print(f"pyfixest in memory, {small:,} rows (read before timing) vs push-down on them",
              flush=True)
        # the same seeds per file: the first files of the large table
        sub = folder if small == args.rows else parquet_folder(f"{folder}-head{small}", small, write_parquet)
        both = run_interleaved({"pyfixest": sub, "duckdb-pushdown": sub}, args.repeat, settings)
        report("pyfixest (memory)", both["pyfixest"])
        report("DuckDB push-down", both["duckdb-pushdown"], both["pyfixest"])
    if args.pg_rows:
        with tempfile.TemporaryDirectory(prefix="bench-sql-hdfe-pg-") as scratch:
            dsn = os.environ.get("SKBIGREG_PG_DSN")
            own = dsn is None
            dsn = dsn or start_postgres(scratch)
            try:
                rows = min(args.pg_rows, args.rows)
                load_postgres(dsn, folder, rows, table="bench_hdfe", labels="f1 int, f2 int")
                print(f"PostgreSQL, {rows:,} rows", flush=True)
                pg = run_interleaved({"postgres-pull": dsn, "postgres-pushdown": dsn},
                                     args.repeat, settings)
                report("PostgreSQL pull", pg["postgres-pull"])
                report("PostgreSQL push-down", pg["postgres-pushdown"], pg["postgres-pull"])
            finally:
                if own:
                    stop_postgres(scratch)


if __name__ == "__main__":
    main()
