"""A sparse one-hot design against the same design densified, measured in one run.

N rows, 10 dense columns (large offsets) and a 2,000-level factor one-hot
encoded (a CSR matrix, as scikit-learn's OneHotEncoder gives it). Ours: one
``CumulativeLinearRegression().fit`` on the sparse matrix. Against it, the
same estimator on the design densified, fed in 65,536-row chunks
(``partial_fit``), two ways:

* ``dense``: each chunk densified as it is fed (``X[rows].toarray()``), the
  frugal way -- the whole dense design is 16 GB at N = 1,000,000;
* ``densified``: ``X.toarray()`` once, then the same chunks of it, as a user
  who densifies the design does (skipped when the machine lacks the memory).

For reference, ``numpy``: X'X and X'y summed over the same dense chunks and
one ``numpy.linalg.solve``, the floor of any dense method (no centring, no
inference). Each fit runs in a fresh child process; the data are generated
in the child the same way for every mode, then the peak-RSS mark is reset
(``/proc/self/clear_refs``), so the peak reported is that of the fit: the
interpreter and the data it holds (the same on every side) plus what the
fit allocates. "Fit memory" is that peak less the resident memory just
before the fit. Medians of ``--repeat`` runs, the modes interleaved.

    flock /tmp/bench.lock python benchmarks/bench_sparse.py           # N = 1,000,000
    flock /tmp/bench.lock python benchmarks/bench_sparse.py --quick   # N = 100,000
    ... --modes sparse,numpy    # leave out the (slow) densified fits
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

# Measure the checkout this script sits in, not whichever skbigreg is installed.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

N_DENSE = 10
N_LEVELS = 2_000
CHUNK_ROWS = 65_536
MODES = ("sparse", "dense", "densified", "numpy")


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


def _status(field, path="/proc/self/status"):
    """A memory field of ``/proc/self/status`` (or ``/proc/meminfo``), in MiB."""
    with open(path) as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in {path}")


def _reset_peak():
    """Start the peak-RSS mark (VmHWM) afresh at the current resident memory."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def _dense_floor(X, y, n):
    """X'X and X'y of the dense chunks, one solve: the floor of any dense method."""
    xtx, xty = 0.0, 0.0
    for begin in range(0, n, CHUNK_ROWS):
        rows = slice(begin, begin + CHUNK_ROWS)
        chunk = np.hstack([np.ones((len(y[rows]), 1)), X[rows].toarray()])
        xtx, xty = xtx + chunk.T @ chunk, xty + chunk.T @ y[rows]
    return np.linalg.solve(xtx, xty)[1:]


def child(mode, n):
    """Fit once in this process; print seconds and peak RSS (MiB) as JSON."""
    from skbigreg.linear_model import CumulativeLinearRegression

    X, y = design(n)
    _reset_peak()  # the data's generation is not the fit's
    before = _status("VmRSS")
    start = time.perf_counter()
    if mode == "sparse":
        coef = CumulativeLinearRegression().fit(X, y).coef_
    elif mode == "numpy":
        coef = _dense_floor(X, y, n)
    else:
        est = CumulativeLinearRegression()
        dense = X.toarray() if mode == "densified" else X
        for begin in range(0, n, CHUNK_ROWS):
            rows = slice(begin, begin + CHUNK_ROWS)
            chunk = dense[rows] if mode == "densified" else dense[rows].toarray()
            est.partial_fit(chunk, y[rows])
        coef = est.coef_
    seconds = time.perf_counter() - start
    peak = _status("VmHWM")
    print(json.dumps({"seconds": seconds, "peak_mib": peak, "fit_mib": peak - before,
                      "coef": coef[-N_DENSE:].tolist()}))


def _fits_in_memory(n):
    """Whether the whole densified design (and room to spare) fits in available memory."""
    needed = 1.5 * n * N_LEVELS * 8 / 2**20
    return needed < _status("MemAvailable", "/proc/meminfo")


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
                        help="comma-separated subset of " + ",".join(MODES))
    args = parser.parse_args()
    n = args.n or (100_000 if args.quick else 1_000_000)
    if args.child:
        child(args.child, n)
        return
    modes = [mode for mode in MODES if mode in args.modes.split(",")]
    print(f"N = {n:,}: {N_DENSE} dense columns + a {N_LEVELS:,}-level one-hot factor; "
          f"medians of {args.repeat} runs, each in a fresh process", flush=True)
    if "densified" in modes and not _fits_in_memory(n):
        print(f"  densified: skipped, the {n * N_LEVELS * 8 / 2**30:.0f} GB dense design does not "
              "fit in the available memory")
        modes.remove("densified")
    runs = {mode: [] for mode in modes}
    for _ in range(args.repeat):  # interleaved: machine load hits every mode alike
        for mode in modes:
            runs[mode].append(run(mode, n))
            last = runs[mode][-1]
            print(f"    run: {mode:<9} {last['seconds']:8.2f} s  peak {last['peak_mib']:6.0f} MiB  "
                  f"fit {last['fit_mib']:6.0f} MiB", flush=True)
    med = {mode: {key: statistics.median(r[key] for r in rs) for key in ("seconds", "peak_mib", "fit_mib")}
           for mode, rs in runs.items()}
    for mode in modes:
        print(f"  {mode:<9} fit {med[mode]['seconds']:8.2f} s   peak RSS {med[mode]['peak_mib']:8.0f} MiB"
              f"   of which the fit {med[mode]['fit_mib']:8.0f} MiB")
    for other, target in (("dense", True), ("densified", True), ("numpy", False)):
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
