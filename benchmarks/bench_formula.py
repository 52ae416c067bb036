"""Formula OLS from parquet against the same model on pre-encoded data, in one run.

A formula fit reads the raw columns (strings for the categories), freezes
the encoding (a first pass over the categorical columns only, unless the
levels are declared: Arrow's ``unique`` on the dictionary-encoded parquet
columns, timed alone below) and encodes every chunk. The
alternative a user would pick is to encode once and fit
``CumulativeLinearRegression`` on the numeric design: from parquet files
that already hold it (``read_files``), or from arrays in memory. Prints
medians of ``--repeat`` interleaved runs and ratios (ours / theirs), of wall
time and of the process's CPU time (all its threads: less sensitive to other
processes on a shared machine than wall time).

The formula's chunks are encoded in Arrow (level codes from ``index_in``
on the dictionary-read string columns, numeric columns copied into the
design block), so the encode pass costs about what reading the
pre-encoded design's 26 float columns costs.

    flock /tmp/bench.lock python benchmarks/bench_formula.py            # N = 1,000,000
    flock /tmp/bench.lock python benchmarks/bench_formula.py --quick    # N = 200,000
"""

from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


NUMERIC = [f"x{i}" for i in range(8)]
CARRIERS = ["9E", "AA", "AS", "B6", "DL", "EV", "F9", "FL", "HA", "MQ", "OO", "UA", "US",
            "VX", "WN", "YV"]
FORMULA = "y ~ " + " + ".join(NUMERIC) + " + np.log(distance) + C(carrier) + origin"
BATCH_ROWS = 65_536


def report(name, ours, theirs, target=None):
    ratio = ours / theirs
    verdict = "" if target is None else f" (target <= {target:.1f}x: {'met' if ratio <= target else 'MISSED'})"
    print(f"  {name:<74} {ratio:6.2f}x{verdict}")


def median_wall_and_cpu(funcs, repeat):
    """Median wall and CPU seconds of each function, the runs interleaved."""
    wall = {func.__name__: [] for func in funcs}
    cpu = {func.__name__: [] for func in funcs}
    for _ in range(repeat):
        for func in funcs:
            gc.collect()
            start, start_cpu = time.perf_counter(), time.process_time()
            func()
            wall[func.__name__].append(time.perf_counter() - start)
            cpu[func.__name__].append(time.process_time() - start_cpu)
    return ([statistics.median(found) for found in wall.values()],
            [statistics.median(found) for found in cpu.values()])


def raw_frame(n, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.standard_normal((n, len(NUMERIC))), columns=NUMERIC)
    frame["distance"] = rng.uniform(100, 3000, n)
    frame["carrier"] = rng.choice(CARRIERS, n)
    frame["origin"] = rng.choice(["EWR", "JFK", "LGA"], n)
    frame["y"] = (frame[NUMERIC].sum(axis=1) + np.log(frame["distance"])
                  + (frame["carrier"] == "UA") + rng.standard_normal(n))
    return frame


def encoded(frame):
    """The design the formula makes, encoded once with pandas (the user's alternative)."""
    X = frame[NUMERIC].copy()
    X["np.log(distance)"] = np.log(frame["distance"])
    for column, name in (("carrier", "C(carrier)"), ("origin", "origin")):
        dummies = pd.get_dummies(frame[column], drop_first=True, dtype=np.float64)
        X[[f"{name}[T.{level}]" for level in dummies.columns]] = dummies.to_numpy()
    return X, frame["y"].to_numpy()


def write(frame, folder, n_files=4):
    for i, rows in enumerate(np.array_split(np.arange(len(frame)), n_files)):
        pq.write_table(pa.Table.from_pandas(frame.iloc[rows], preserve_index=False),
                       folder / f"part{i}.parquet", row_group_size=BATCH_ROWS)


def main(n, repeat):
    from skbigreg.formula import ols
    from skbigreg.io import read_files
    from skbigreg.linear_model import CumulativeLinearRegression

    frame = raw_frame(n)
    X, y = encoded(frame)
    with tempfile.TemporaryDirectory() as tmp:
        raw, pre = Path(tmp, "raw"), Path(tmp, "encoded")
        raw.mkdir(), pre.mkdir()
        write(frame, raw)
        write(X.assign(y=y), pre)
        levels = {"carrier": CARRIERS, "origin": ["EWR", "JFK", "LGA"]}
        raw_glob, pre_glob = str(raw / "*.parquet"), str(pre / "*.parquet")

        def formula_discover():
            return ols(FORMULA, raw_glob, chunk_rows=BATCH_ROWS)

        def formula_declared():
            return ols(FORMULA, raw_glob, chunk_rows=BATCH_ROWS, levels=levels)

        def pre_encoded_files():
            source = read_files(pre_glob, target="y", batch_rows=BATCH_ROWS)
            return CumulativeLinearRegression().fit_chunks(source)

        X_array = np.asfortranarray(X.to_numpy())

        def discovery_pass():
            from skbigreg.formula._data import frame_source
            from skbigreg.formula._spec import _first_pass, _Pass

            _first_pass(frame_source(raw_glob, BATCH_ROWS), _Pass(list(levels), [], []))

        def pre_encoded_arrays():
            return CumulativeLinearRegression().fit(X_array, y)

        same = np.max(np.abs(formula_discover().coef_ - pre_encoded_arrays().coef_))
        print(f"N = {n:,} rows, {X.shape[1]} design columns (8 numeric, np.log, 15 + 2 dummies), "
              f"{BATCH_ROWS:,}-row batches, 4 parquet files; medians of {repeat} interleaved runs")
        print(f"  max |coef difference| formula vs pre-encoded arrays: {same:.2e}")
        walls, cpus = median_wall_and_cpu(
            [formula_discover, formula_declared, pre_encoded_files, pre_encoded_arrays,
             discovery_pass], repeat)
    for clock, (t_discover, t_declared, t_files, t_arrays, t_pass) in (("wall", walls),
                                                                        ("CPU", cpus)):
        print(f"  {clock} seconds: formula (levels discovered) {t_discover:.3f}, formula (levels "
              f"declared) {t_declared:.3f}, pre-encoded parquet {t_files:.3f}, pre-encoded arrays "
              f"{t_arrays:.3f}, level-discovery pass alone {t_pass:.3f}")
        report(f"[{clock}] formula OLS from parquet (levels declared) vs pre-encoded parquet",
               t_declared, t_files, 1.3)
        report(f"[{clock}] formula OLS from parquet (levels discovered) vs pre-encoded parquet",
               t_discover, t_files, 1.3)
        report(f"[{clock}] level-discovery pass alone vs pre-encoded parquet", t_pass, t_files)
        report(f"[{clock}] formula OLS from parquet (levels declared) vs pre-encoded arrays",
               t_declared, t_arrays)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 200,000")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    main(args.rows or (200_000 if args.quick else 1_000_000), args.repeat)
