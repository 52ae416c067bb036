"""A sparse one-hot design against the same design densified, measured in one run.

N rows, 10 dense columns (large offsets) and a 2,000-level factor one-hot
encoded (a CSR matrix, as scikit-learn's OneHotEncoder gives it). Ours: one
``CumulativeLinearRegression().fit`` on the sparse matrix. Theirs: the same
estimator fed the same design densified chunk by chunk (``partial_fit`` on
65,536-row dense chunks: the whole dense design does not fit in memory at
N = 1,000,000, 16 GB). For reference, ``numpy``: X'X and X'y summed over the
same dense chunks and one ``numpy.linalg.solve``, the floor of any dense
method (no centring, no inference). Each fit runs in a fresh child process, which reports
its time and its peak resident memory (``resource.getrusage``), also net of
the memory held once the data exist; the data are generated in the child the
same way for both. Medians of ``--repeat`` runs.

    flock /tmp/bench.lock python benchmarks/bench_sparse.py           # N = 1,000,000
    flock /tmp/bench.lock python benchmarks/bench_sparse.py --quick   # N = 100,000
    ... --modes sparse,numpy    # leave out the (slow) densified fit
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import numpy as np

N_DENSE = 10
N_LEVELS = 2_000
CHUNK_ROWS = 65_536
MODES = ("sparse", "dense", "numpy")


def design(n, seed=0):
    """The sparse design (CSR, intercept-free one-hot with the first level dropped) and y."""
    from scipy import sparse

    rng = np.random.default_rng(seed)
    level = rng.integers(0, N_LEVELS, n)
    dense = rng.standard_normal((n, N_DENSE)) + rng.uniform(-1e3, 1e3, N_DENSE)
    one_hot = sparse.csr_array((np.ones(n), (np.arange(n), level)), shape=(n, N_LEVELS))
    X = sparse.hstack([one_hot[:, 1:], sparse.csr_array(dense)], format="csr")
    effects = rng.standard_normal(N_LEVELS)
    y = dense @ rng.standard_normal(N_DENSE) + effects[level] + rng.standard_normal(n)
    return X, y


def child(mode, n):
    """Fit once in this process; print seconds and peak RSS (MiB) as JSON."""
    import resource

    from skbigreg.linear_model import CumulativeLinearRegression

    X, y = design(n)
    with open("/proc/self/statm") as statm:  # resident pages once the data exist
        before = int(statm.read().split()[1]) * resource.getpagesize() / 2**20
    start = time.perf_counter()
    if mode == "sparse":
        est = CumulativeLinearRegression().fit(X, y)
    elif mode == "numpy":
        # The floor of any dense method: X'X and X'y of the dense chunks, one solve.
        xtx, xty = 0.0, 0.0
        for begin in range(0, n, CHUNK_ROWS):
            rows = slice(begin, begin + CHUNK_ROWS)
            chunk = np.hstack([np.ones((len(y[rows]), 1)), X[rows].toarray()])
            xtx, xty = xtx + chunk.T @ chunk, xty + chunk.T @ y[rows]

        class est:
            coef_ = np.linalg.solve(xtx, xty)[1:]
    else:
        est = CumulativeLinearRegression()
        for begin in range(0, n, CHUNK_ROWS):
            rows = slice(begin, begin + CHUNK_ROWS)
            est.partial_fit(X[rows].toarray(), y[rows])
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mib": peak, "fit_mib": peak - before, "coef": est.coef_[-N_DENSE:].tolist()}))


def run(mode, n):
    out = subprocess.run([sys.executable, __file__, "--child", mode, "--n", str(n)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--n", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", choices=MODES)
    parser.add_argument("--modes", default=",".join(MODES),
                        help="comma-separated subset of sparse,dense,numpy")
    args = parser.parse_args()
    n = args.n or (100_000 if args.quick else 1_000_000)
    if args.child:
        child(args.child, n)
        return
    modes = [mode for mode in MODES if mode in args.modes.split(",")]
    print(f"N = {n:,}: {N_DENSE} dense columns + a {N_LEVELS:,}-level one-hot factor; "
          f"medians of {args.repeat} runs, each in a fresh process")
    runs = {mode: [run(mode, n) for _ in range(args.repeat)] for mode in modes}
    med = {mode: {key: statistics.median(r[key] for r in rs) for key in ("seconds", "peak_mib", "fit_mib")}
           for mode, rs in runs.items()}
    for mode in modes:
        print(f"  {mode:<7} fit {med[mode]['seconds']:8.2f} s   peak RSS {med[mode]['peak_mib']:8.0f} MiB"
              f"   of which the fit {med[mode]['fit_mib']:8.0f} MiB")
    for other, target in (("dense", True), ("numpy", False)):
        if "sparse" not in med or other not in med:
            continue
        speedup = med[other]["seconds"] / med["sparse"]["seconds"]
        memory = med["sparse"]["peak_mib"] / med[other]["peak_mib"]
        fit_memory = med["sparse"]["fit_mib"] / med[other]["fit_mib"]
        verdict = (f" (targets >= 5x: {'met' if speedup >= 5 else 'MISSED'}, <= 0.20: "
                   f"{'met' if memory <= 0.2 else 'MISSED'})") if target else ""
        print(f"  sparse vs {other}: {speedup:6.1f}x faster, peak RSS ratio {memory:5.2f}, "
              f"fit memory ratio {fit_memory:5.2f}{verdict}")
        agree = np.max(np.abs(np.subtract(runs["sparse"][0]["coef"], runs[other][0]["coef"])))
        print(f"    max |coef difference| on the dense columns: {agree:.1e}")

if __name__ == "__main__":
    main()
