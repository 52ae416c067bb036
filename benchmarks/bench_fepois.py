"""Benchmark: Poisson regression with absorbed effects out of core vs pyfixest ``fepois`` in memory.

A count panel (``--levels`` levels of one factor, effects correlated with
``x1``) is written to raw column files; CumulativePoissonFixedEffects streams
it in chunks read from those files (memory: one chunk plus the per-level
statistics), pyfixest ``fepois("y ~ x1 + x2 + x3 | fe")`` reads it into a
DataFrame (timed after a warm-up fit that compiles its kernels). Both use
their default tolerance and the same ``--cov-type``
(nonrobust = pyfixest "iid", HC1 = "hetero", cluster = CRV1 by level).
Each fit runs in its own child process, so the peak RSS printed is that
fit's alone (pyfixest's includes its data, as in use); the runs of the two
are interleaved. Prints median wall times and peak RSS over ``--repeats``
runs, their ratios, the IRLS passes and the largest coefficient difference.

    python benchmarks/bench_fepois.py --n 2000000 --levels 10000
    python benchmarks/bench_fepois.py --n 200000 --levels 1000 --repeats 1   # quick
    python benchmarks/bench_fepois.py --n 2000000 --levels 10000 --levels2 100  # two factors
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from _panels import in_child, print_child_result, print_medians, read_rows, write_columns

COLUMNS = {"y": np.float64, "x1": np.float64, "x2": np.float64, "x3": np.float64,
           "fe": np.int64, "fe2": np.int64}
PYFIXEST_VCOV = {"nonrobust": "iid", "HC1": "hetero", "cluster": {"CRV1": "fe"}}


def write_panel(folder, n, n_levels, n_levels2=1, seed=0):
    """Write the panel's columns as raw files; rows in random order."""
    rng = np.random.default_rng(seed)
    fe, fe2 = rng.integers(0, n_levels, n), rng.integers(0, n_levels2, n)
    alpha = rng.normal(scale=0.5, size=n_levels)[fe] + rng.normal(scale=0.3, size=n_levels2)[fe2]
    x1 = rng.normal(size=n) + alpha
    x2, x3 = rng.normal(size=(2, n))
    y = rng.poisson(np.exp(0.3 * x1 - 0.2 * x2 + 0.1 * x3 + alpha))
    write_columns(folder, {"y": y, "x1": x1, "x2": x2, "x3": x3, "fe": fe, "fe2": fe2}, COLUMNS)
    return n


def file_chunks(folder, n, chunk_rows, clusters, two_way):
    """A re-iterable chunk source reading each chunk from the files."""
    def chunks():
        for start in range(0, n, chunk_rows):
            rows = read_rows(folder, COLUMNS, COLUMNS, start, min(chunk_rows, n - start))
            entities = np.column_stack([rows["fe"], rows["fe2"]]) if two_way else rows["fe"]
            chunk = {"X": np.column_stack([rows["x1"], rows["x2"], rows["x3"]]), "y": rows["y"],
                     "entities": entities}
            if clusters:
                chunk["clusters"] = rows["fe"]
            yield chunk
    return chunks


def run_ours(folder, n, chunk_rows, cov_type, two_way):
    from skbigreg.linear_model import CumulativePoissonFixedEffects

    start = time.perf_counter()
    est = CumulativePoissonFixedEffects(cov_type=cov_type).fit_chunks(
        file_chunks(folder, n, chunk_rows, cov_type == "cluster", two_way))
    bse = est.results().bse.to_numpy()
    seconds = time.perf_counter() - start
    # count + IRLS + last + scores (one factor); the IRLS iterations (several)
    passes = est.n_iter_ if two_way else est.n_iter_ + 2 + (cov_type != "nonrobust")
    return {"seconds": seconds, "coef": est.coef_.tolist(), "bse": bse.tolist(), "passes": passes}


def run_pyfixest(folder, n, chunk_rows, cov_type, two_way):
    import warnings

    import pandas as pd
    import pyfixest as pf

    data = pd.DataFrame(read_rows(folder, COLUMNS, COLUMNS, 0, n))
    formula = "y ~ x1 + x2 + x3 | fe" + (" + fe2" if two_way else "")
    vcov = PYFIXEST_VCOV[cov_type]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pf.fepois(formula, data.iloc[:10_000], vcov=vcov, fixef_rm="none")  # compile, warm up
        start = time.perf_counter()
        fit = pf.fepois(formula, data, vcov=vcov, fixef_rm="none")
        bse = fit.se().to_numpy()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "coef": fit.coef().to_numpy().tolist(), "bse": bse.tolist(),
            "passes": None}


def child(which, folder, n, chunk_rows, cov_type, two_way):
    runner = {"ours": run_ours, "pyfixest": run_pyfixest}[which]
    print_child_result(runner(Path(folder), n, chunk_rows, cov_type, two_way))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2_000_000)
    parser.add_argument("--levels", type=int, default=10_000)
    parser.add_argument("--levels2", type=int, default=0,
                        help="levels of a second absorbed factor (0: one factor)")
    parser.add_argument("--chunk-rows", type=int, default=250_000)
    parser.add_argument("--cov-type", choices=list(PYFIXEST_VCOV), default="nonrobust")
    parser.add_argument("--repeats", "--repeat", type=int, default=3)
    parser.add_argument("--child", choices=["ours", "pyfixest"])
    parser.add_argument("--folder")
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.folder, args.n, args.chunk_rows, args.cov_type,
                     args.levels2 > 0)
    runs = {"ours": [], "pyfixest": []}
    with tempfile.TemporaryDirectory() as folder:
        n = write_panel(Path(folder), args.n, args.levels, max(args.levels2, 1))
        for _ in range(args.repeats):  # interleaved
            for which in runs:
                runs[which].append(in_child(__file__, [
                    "--child", which, "--folder", folder, "--n", n, "--chunk-rows",
                    args.chunk_rows, "--cov-type", args.cov_type, "--levels2", args.levels2]))
    second = f" x {args.levels2:,} (second factor)" if args.levels2 else ""
    print(f"N = {n:,}, {args.levels:,} levels{second}, K = 3, cov_type = {args.cov_type}, chunks of "
          f"{args.chunk_rows:,} rows, medians of {args.repeats}")
    print_medians(runs)
    ours, theirs = runs["ours"][0], runs["pyfixest"][0]
    print(f"largest coefficient difference: {np.max(np.abs(np.subtract(ours['coef'], theirs['coef']))):.2e}; "
          f"largest relative SE difference: {np.max(np.abs(np.divide(ours['bse'], theirs['bse']) - 1)):.2e}")


if __name__ == "__main__":
    main()
