"""Cumulative OLS against the alternatives a user would pick, measured in one run.

Prints medians and ratios (ours / theirs): absolute seconds on a shared
machine mean little, ratios measured side by side mean a lot.

    python benchmarks/bench_ols.py              # N = 4,000,000, K = 50
    python benchmarks/bench_ols.py --quick      # N = 400,000
"""

from __future__ import annotations

import argparse
import subprocess
import sys

import numpy as np

from _timing import median_time


def numpy_normal_equations(X, y):
    return np.linalg.solve(X.T @ X, X.T @ y)


def report(name, ours, theirs, target=None):
    ratio = ours / theirs
    verdict = "" if target is None else (" (target <= %.1fx: %s)" % (target, "met" if ratio <= target else "MISSED"))
    print(f"  {name:<58} {ratio:6.2f}x{verdict}")


def speed(n, k, repeat):
    from sklearn.linear_model import LinearRegression

    from skbigreg.linear_model import CumulativeLinearRegression

    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, k))
    y = X @ rng.standard_normal(k) + rng.standard_normal(n)
    print(f"N = {n:,}, K = {k} float64 in memory; medians of {repeat} runs")
    t_numpy = median_time(lambda: numpy_normal_equations(X, y), repeat)
    t_fit = median_time(lambda: CumulativeLinearRegression().fit(X, y), repeat)
    t_qr = median_time(lambda: CumulativeLinearRegression(solver="qr").fit(X, y), repeat)
    t_sklearn = median_time(lambda: LinearRegression().fit(X, y), max(1, repeat // 2))
    chunk = 65_536

    def stream():
        est = CumulativeLinearRegression()
        for start in range(0, n, chunk):
            est.partial_fit(X[start : start + chunk], y[start : start + chunk])

    t_stream = median_time(stream, repeat)
    print(f"  seconds: numpy {t_numpy:.3f}, fit {t_fit:.3f}, fit(qr) {t_qr:.3f}, "
          f"partial_fit stream {t_stream:.3f}, sklearn {t_sklearn:.3f}")
    report("fit vs numpy.linalg.solve(X.T @ X, X.T @ y)", t_fit, t_numpy, 1.3)
    report("fit vs sklearn LinearRegression.fit", t_fit, t_sklearn)
    try:
        import statsmodels.api as sm

        Xc = np.column_stack([np.ones(n), X])
        t_sm = median_time(lambda: sm.OLS(y, Xc).fit(), max(1, repeat // 2))
        report("fit vs statsmodels OLS(y, add_constant(X)).fit()", t_fit, t_sm)
    except ImportError:
        print("  statsmodels not installed: skipped")
    report("partial_fit over 65,536-row chunks vs one-shot fit", t_stream, t_fit, 1.2)
    report("fit(solver='qr') vs fit(solver='gram')", t_qr, t_fit)
    return X, y


def against_sklearnex(X, y, repeat):
    try:
        from sklearnex.linear_model import IncrementalLinearRegression
    except ImportError:
        print("  sklearnex (scikit-learn-intelex) not installed: comparison skipped")
        return
    from skbigreg.linear_model import CumulativeLinearRegression

    n, chunk = len(X), 65_536

    def ours():
        est = CumulativeLinearRegression()
        for s in range(0, n, chunk):
            est.partial_fit(X[s : s + chunk], y[s : s + chunk])
        return est

    def intel():
        est = IncrementalLinearRegression()
        for s in range(0, n, chunk):
            est.partial_fit(X[s : s + chunk], y[s : s + chunk])
        est.coef_  # finalize
        return est

    report("partial_fit stream vs sklearnex IncrementalLinearRegression", median_time(ours, repeat), median_time(intel, repeat), 1.0)
    offset = 1e6
    rng = np.random.default_rng(1)
    m = min(n, 1_000_000)
    Xo = rng.standard_normal((m, X.shape[1]))
    beta = rng.standard_normal(X.shape[1])
    yo = Xo @ beta + rng.standard_normal(m)
    exact = np.linalg.lstsq(np.column_stack([np.ones(m), Xo]), yo, rcond=None)[0][1:]
    for name, make in (("skbigreg", CumulativeLinearRegression), ("sklearnex", IncrementalLinearRegression)):
        est = make()
        for s in range(0, m, chunk):
            est.partial_fit(Xo[s : s + chunk] + offset, yo[s : s + chunk])
        err = np.max(np.abs(est.coef_ - exact) / np.abs(exact))
        print(f"  max relative coefficient error at column offset 1e6 ({m:,} rows): {name} {err:.1e}")


_MEMORY_CHILD = """
import re, sys
from skbigreg.datasets import make_regression_chunks
from skbigreg.linear_model import CumulativeLinearRegression
n = int(sys.argv[1])
CumulativeLinearRegression().fit_chunks(make_regression_chunks(n, 50, chunk_rows=65_536))
print(int(re.search(r"VmHWM:\s+(\d+)", open("/proc/self/status").read()).group(1)) / 1024)
"""


def memory(sizes):
    print("peak memory of a streamed fit from a generator (fresh process each):")
    peaks = []
    for n in sizes:
        out = subprocess.run([sys.executable, "-c", _MEMORY_CHILD, str(n)], capture_output=True, text=True, check=True)
        peaks.append(float(out.stdout.strip()))
        print(f"  N = {n:>11,}: {peaks[-1]:8.1f} MiB")
    print(f"  ratio of peaks: {peaks[-1] / peaks[0]:.2f}x for {sizes[-1] / sizes[0]:.0f}x the rows")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    n = 400_000 if args.quick else 4_000_000
    X, y = speed(n, 50, args.repeat)
    against_sklearnex(X, y, args.repeat)
    del X, y
    memory([n // 4, 2 * n])


if __name__ == "__main__":
    main()
