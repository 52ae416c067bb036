"""Benchmark: two-way high-dimensional fixed effects out of core vs pyfixest in memory.

A worker-firm panel (``--periods`` rows per worker, a move to a random firm
with probability ``--move`` each period) is written to raw column files;
CumulativeFixedEffectsRegression streams it in chunks read from those files
(memory: one chunk plus the per-level sums), pyfixest ``feols("y ~ x1 + x2 |
worker + firm")`` reads it into a DataFrame, both with their default
tolerances and nonrobust errors (pyfixest timed after a warm-up fit that
compiles its kernels). Each fit runs in its own child process, so
the peak RSS printed is that fit's alone (pyfixest's includes its data, as
in use). Prints median wall times over ``--repeats`` runs, the peak RSS, the
ratios and the largest coefficient difference. Runs of the two alternate.

``--model iv`` times 2SLS instead, ``feols("y_iv ~ x2 | worker + firm | xe ~
z")`` against CumulativeIVRegression: an endogenous regressor ``xe``
correlated with both effects and the error, instrumented by ``z``.

    python benchmarks/bench_hdfe.py --n 2000000 --workers 200000 --firms 20000
    python benchmarks/bench_hdfe.py --n 10000000 --workers 1000000 --firms 100000
    python benchmarks/bench_hdfe.py --model iv --n 2000000 --workers 200000 --firms 20000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from _panels import in_child, print_child_result, print_medians, read_rows, write_columns

COLUMNS = {"y": np.float64, "x1": np.float64, "x2": np.float64,
           "worker": np.int64, "firm": np.int64,
           "xe": np.float64, "z": np.float64, "y_iv": np.float64}
OLS_COLUMNS = ("y", "x1", "x2", "worker", "firm")
IV_COLUMNS = ("y_iv", "x2", "xe", "z", "worker", "firm")


def write_panel(folder, n, n_workers, n_firms, move, seed=0):
    """Write the panel's columns as raw files; the rows are in random order."""
    rng = np.random.default_rng(seed)
    periods = n // n_workers
    firm = np.empty((n_workers, periods), dtype=np.int64)
    firm[:, 0] = rng.integers(0, n_firms, n_workers)
    for t in range(1, periods):
        moves = rng.random(n_workers) < move
        firm[:, t] = np.where(moves, rng.integers(0, n_firms, n_workers), firm[:, t - 1])
    worker = np.repeat(np.arange(n_workers), periods)
    firm = firm.ravel()
    order = rng.permutation(worker.size)
    worker, firm = worker[order], firm[order]
    alpha, psi = rng.normal(size=n_workers)[worker], rng.normal(size=n_firms)[firm]
    x1 = rng.normal(size=worker.size) + alpha + psi
    x2 = rng.normal(size=worker.size) + 0.5 * psi
    y = 0.5 * x1 - 0.3 * x2 + alpha + psi + rng.normal(size=worker.size)
    write_columns(folder, {"y": y, "x1": x1, "x2": x2, "worker": worker, "firm": firm}, COLUMNS)
    # the IV columns come after, so the OLS columns are those of earlier runs
    z, u = rng.normal(size=(2, worker.size))
    xe = z + u + alpha + psi
    y_iv = 0.5 * xe - 0.3 * x2 + alpha + psi + u + rng.normal(size=worker.size)
    write_columns(folder, {"xe": xe, "z": z, "y_iv": y_iv}, COLUMNS)
    return worker.size


def file_chunks(folder, n, chunk_rows, model="ols"):
    """A re-iterable chunk source reading each chunk from the files (no mapping)."""
    x_names, y_name = (("x1", "x2"), "y") if model == "ols" else (("x2", "xe", "z"), "y_iv")

    def chunks():
        for start in range(0, n, chunk_rows):
            rows = read_rows(folder, COLUMNS, (*x_names, y_name, "worker", "firm"), start,
                             min(chunk_rows, n - start))
            yield {"X": np.column_stack([rows[name] for name in x_names]), "y": rows[y_name],
                   "entities": np.column_stack([rows["worker"], rows["firm"]])}
    return chunks


def run_ours(folder, n, chunk_rows, model):
    from skbigreg.linear_model import CumulativeFixedEffectsRegression, CumulativeIVRegression

    start = time.perf_counter()
    est = (CumulativeFixedEffectsRegression() if model == "ols"
           else CumulativeIVRegression(endogenous=[1], instruments=[2]))
    est.fit_chunks(file_chunks(folder, n, chunk_rows, model))
    seconds = time.perf_counter() - start
    names = ("x1", "x2") if model == "ols" else ("x2", "xe")
    return {"seconds": seconds, "coef": dict(zip(names, est.coef_.tolist())),
            "passes": est.n_iter_ + 2}


def run_pyfixest(folder, n, chunk_rows, model):
    import warnings

    import pandas as pd
    import pyfixest as pf

    names = OLS_COLUMNS if model == "ols" else IV_COLUMNS
    data = pd.DataFrame(read_rows(folder, COLUMNS, names, 0, n))
    formula = ("y ~ x1 + x2 | worker + firm" if model == "ols"
               else "y_iv ~ x2 | worker + firm | xe ~ z")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pf.feols(formula, data.iloc[:10_000], vcov="iid", fixef_rm="none")  # compile, warm up
        start = time.perf_counter()
        fit = pf.feols(formula, data, vcov="iid", fixef_rm="none")
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "coef": fit.coef().to_dict(), "passes": None}


def child(which, folder, n, chunk_rows, model):
    run = {"ours": run_ours, "pyfixest": run_pyfixest}[which]
    print_child_result(run(Path(folder), n, chunk_rows, model))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2_000_000)
    parser.add_argument("--workers", type=int, default=200_000)
    parser.add_argument("--firms", type=int, default=20_000)
    parser.add_argument("--move", type=float, default=0.1)
    parser.add_argument("--chunk-rows", type=int, default=500_000)
    parser.add_argument("--repeats", "--repeat", type=int, default=3)
    parser.add_argument("--model", choices=["ols", "iv"], default="ols")
    parser.add_argument("--child", choices=["ours", "pyfixest"])
    parser.add_argument("--folder")
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.folder, args.n, args.chunk_rows, args.model)
    with tempfile.TemporaryDirectory() as folder:
        n = write_panel(Path(folder), args.n, args.workers, args.firms, args.move)
        runs = {"ours": [], "pyfixest": []}
        for _ in range(args.repeats):  # alternating, so a load change hits both
            for which in runs:
                runs[which].append(in_child(__file__, [
                    "--child", which, "--folder", folder, "--n", n,
                    "--chunk-rows", args.chunk_rows, "--model", args.model]))
    print(f"{args.model.upper()}: N = {n:,}, {args.workers:,} workers, {args.firms:,} firms, "
          f"move = {args.move}, chunks of {args.chunk_rows:,} rows, medians of {args.repeats}")
    print_medians(runs)
    ours, theirs = runs["ours"][0]["coef"], runs["pyfixest"][0]["coef"]
    diff = max(abs(ours[name] - theirs[name]) for name in ours)
    print(f"largest coefficient difference: {diff:.2e}")


if __name__ == "__main__":
    main()
