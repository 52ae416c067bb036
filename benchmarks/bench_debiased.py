"""Benchmark: DebiasedDistributedLasso against statsmodels' DistributedModel.

n rows per partition, m partitions, iid N(0, 1) design with five non-zero
coefficients. Both estimators solve the same problem (no intercept, the same
alpha for the local and the nodewise lassos, no threshold, statsmodels'
gradient at unit scale), on the same data, in the same run; the script
prints median wall times and their ratios.

    python benchmarks/bench_debiased.py                 # p = 200, 400 (slow: statsmodels)
    python benchmarks/bench_debiased.py --p 50 100 --repeats 3

statsmodels' nodewise lassos run a Python coordinate descent; its time grows
about tenfold per doubling of p (minutes at p = 100, hours beyond p = 200).
``--sm-timeout`` stops it after that many seconds in a child process; the
table then shows its time as ``>T`` and the speed-ups as lower bounds
(``>=``), which is all a gate of the form "at least N times faster" needs.
"""

from __future__ import annotations

import argparse
import time
import warnings
from functools import partial

import numpy as np
from _timing import median_time


def make_data(n, p, seed=0):
    rng = np.random.default_rng(seed)
    beta = np.zeros(p)
    beta[:5] = [1.0, -1.0, 0.5, -0.5, 0.8]
    X = rng.standard_normal((n, p))
    return X, X @ beta + rng.standard_normal(n)


def run_statsmodels(X, y, m, alpha):
    from statsmodels.base.distributed_estimation import DistributedModel

    parts = ((y[r], X[r]) for r in np.array_split(np.arange(len(y)), m))
    model = DistributedModel(m, estimation_kwds={"score_kwds": {"scale": 1}})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(parts, fit_kwds={"alpha": alpha}).params


def _statsmodels_child(X, y, m, alpha, queue):
    start = time.perf_counter()
    params = run_statsmodels(X, y, m, alpha)
    queue.put((time.perf_counter() - start, params))


def timed_statsmodels(X, y, m, alpha, timeout):
    """``(seconds, params)``; ``(timeout, None)`` if statsmodels was stopped."""
    import multiprocessing as mp

    if timeout is None:
        start = time.perf_counter()
        params = run_statsmodels(X, y, m, alpha)
        return time.perf_counter() - start, params
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_statsmodels_child, args=(X, y, m, alpha, queue))
    child.start()
    try:
        return queue.get(timeout=timeout)
    except Exception:  # queue.Empty: still running at the deadline
        return float(timeout), None
    finally:
        child.kill()
        child.join()


def run_ours(X, y, m, alpha, nodewise, n_jobs=None):
    from skbigreg.linear_model import DebiasedDistributedLasso

    est = DebiasedDistributedLasso(
        nodewise=nodewise, fit_intercept=False, alpha=alpha, nodewise_alpha=alpha,
        threshold=0, n_partitions=m, n_jobs=n_jobs,
    )
    return est.fit(X, y).coef_


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="rows per partition")
    parser.add_argument("--m", type=int, default=5, help="partitions")
    parser.add_argument("--p", type=int, nargs="+", default=[200, 400])
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--repeats", type=int, default=3, help="repeats of ours")
    parser.add_argument("--sm-repeats", type=int, default=1, help="repeats of statsmodels")
    parser.add_argument("--sm-timeout", type=float, default=None,
                        help="stop statsmodels after this many seconds (lower bounds)")
    parser.add_argument("--no-statsmodels", action="store_true",
                        help="time skbigreg only (statsmodels takes minutes at p >= 200)")
    args = parser.parse_args(argv)
    print(f"n = {args.n} rows/partition, m = {args.m}, alpha = {args.alpha}; median seconds")
    header = (f"{'p':>5} {'statsmodels':>12} {'split':>8} {'local':>8} {'split 2 jobs':>13}"
              f" {'local 2 jobs':>13} {'sm/split':>9} {'sm/local':>9} {'split 1/2 jobs':>15}"
              f" {'local 1/2 jobs':>15} {'max|diff|':>10}")
    print(header)
    for p in args.p:
        X, y = make_data(args.n * args.m, p)
        bound = ""
        if args.no_statsmodels:
            diff = t_sm = np.nan
        else:
            runs = [timed_statsmodels(X, y, args.m, args.alpha, args.sm_timeout)
                    for _ in range(args.sm_repeats)]
            t_sm = float(np.median([seconds for seconds, _ in runs]))
            ref = runs[0][1]
            if ref is None:
                bound, diff = ">", np.nan
            else:
                diff = np.max(np.abs(run_ours(X, y, args.m, args.alpha, "split") - ref))
        # Warm-up (imports, the loky pool's start) is not part of a fit's time.
        for mode, jobs in (("split", None), ("local", None), ("split", 2), ("local", 2)):
            run_ours(X[: args.n * args.m // 4], y[: args.n * args.m // 4], args.m,
                     args.alpha, mode, n_jobs=jobs)
        t_split = median_time(partial(run_ours, X, y, args.m, args.alpha, "split"), args.repeats)
        t_local = median_time(partial(run_ours, X, y, args.m, args.alpha, "local"), args.repeats)
        t_par = median_time(
            partial(run_ours, X, y, args.m, args.alpha, "split", n_jobs=2), args.repeats
        )
        t_par_local = median_time(
            partial(run_ours, X, y, args.m, args.alpha, "local", n_jobs=2), args.repeats
        )
        ge = ">=" if bound else ""
        print(f"{p:>5} {bound + format(t_sm, '.2f'):>12} {t_split:>8.3f} {t_local:>8.3f}"
              f" {t_par:>13.3f} {t_par_local:>13.3f} {ge + format(t_sm / t_split, '.1f'):>9}"
              f" {ge + format(t_sm / t_local, '.1f'):>9} {t_split / t_par:>15.2f}"
              f" {t_local / t_par_local:>15.2f} {diff:>10.1e}", flush=True)


if __name__ == "__main__":
    main()
