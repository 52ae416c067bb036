"""Benchmark: Driscoll-Kraay (panel HAC) errors streamed vs in memory.

A panel of ``n`` rows, ``k`` features and ``T`` periods. skbigreg streams it in
chunks through ``fit_chunks`` (two passes: statistics, then the scores summed
per period); a user would otherwise fit statsmodels ``OLS(...).fit(
cov_type="hac-groupsum")`` on the whole array in memory. Also timed: the same
two passes for HC1 (the second pass without ``periods``), so the cost of the
per-period sums shows on its own. Median wall times of ``--repeats`` runs, in
one run; the standard errors are checked to agree.

    python benchmarks/bench_panel_hac.py                      # n = 2,000,000, k = 10, T = 100
    python benchmarks/bench_panel_hac.py --n 200000 --repeats 3
"""

from __future__ import annotations

import argparse

import numpy as np
from _timing import median_time_and_result


def make_panel(n, k, n_periods, seed=0):
    rng = np.random.default_rng(seed)
    period = np.tile(np.arange(n_periods), n // n_periods + 1)[:n]
    shock = np.cumsum(rng.standard_normal(n_periods))[period]
    X = rng.standard_normal((n, k)) + shock[:, None]
    y = X @ np.linspace(-1.0, 1.0, k) + shock + rng.standard_normal(n)
    return X, y, period


def chunks_of(X, y, period, rows, with_periods):
    def chunks():
        for start in range(0, len(y), rows):
            part = slice(start, start + rows)
            chunk = {"X": X[part], "y": y[part]}
            if with_periods:
                chunk["periods"] = period[part]
            yield chunk
    return chunks


def run_skbigreg(X, y, period, rows, cov_type, maxlags):
    from skbigreg.linear_model import CumulativeLinearRegression

    model = CumulativeLinearRegression(cov_type=cov_type, maxlags=maxlags)
    model.fit_chunks(chunks_of(X, y, period, rows, cov_type == "driscoll-kraay"))
    return model.results().bse.to_numpy()


def run_statsmodels(X, y, period, maxlags):
    import statsmodels.api as sm

    result = sm.OLS(y, sm.add_constant(X)).fit(
        cov_type="hac-groupsum", cov_kwds={"time": period, "maxlags": maxlags})
    return np.asarray(result.bse)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2_000_000)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--periods", type=int, default=100)
    parser.add_argument("--maxlags", type=int, default=4)
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    import statsmodels.api  # noqa: F401  (imports are not timed)

    import skbigreg.linear_model  # noqa: F401

    X, y, period = make_panel(args.n, args.k, args.periods)
    print(f"n={args.n:,} k={args.k} T={args.periods} maxlags={args.maxlags} "
          f"chunks of {args.chunk_rows:,} rows, median of {args.repeats}")
    t_dk, bse_dk = median_time_and_result(lambda: run_skbigreg(X, y, period, args.chunk_rows,
                                                    "driscoll-kraay", args.maxlags), args.repeats)
    t_hc, _ = median_time_and_result(lambda: run_skbigreg(X, y, period, args.chunk_rows, "HC1",
                                               args.maxlags), args.repeats)
    t_sm, bse_sm = median_time_and_result(lambda: run_statsmodels(X, y, period, args.maxlags), args.repeats)
    print(f"{'skbigreg Driscoll-Kraay (2 passes, streamed)':48s} {t_dk:8.3f} s")
    print(f"{'skbigreg HC1 (the same 2 passes, no periods)':48s} {t_hc:8.3f} s"
          f"   DK / HC1 = {t_dk / t_hc:.2f}")
    print(f"{'statsmodels OLS hac-groupsum (in memory)':48s} {t_sm:8.3f} s"
          f"   speed-up = {t_sm / t_dk:.2f}x")
    print(f"max relative difference of the standard errors: "
          f"{np.max(np.abs(bse_dk / bse_sm - 1)):.1e}")


if __name__ == "__main__":
    main()
