"""Fold-aggregate CV against scikit-learn's refitting CV, measured in one run.

Prints medians and ratios: absolute seconds on a shared machine mean little,
ratios measured side by side mean a lot. Every comparison uses the same
folds (the hashed folds of the cumulative estimators, handed to scikit-learn
as explicit splits) and the same alphas.

    python benchmarks/bench_penalized.py            # N = 1,000,000, K = 50
    python benchmarks/bench_penalized.py --quick    # N = 100,000
    python benchmarks/bench_penalized.py --full     # also time every RidgeCV alpha

``sklearn.linear_model.RidgeCV(cv=5)`` refits ``Ridge`` for every alpha and
fold (500 fits for 100 alphas); by default it is timed on 10 of the 100
alphas and scaled by 10 (its cost is linear in the number of alphas),
``--full`` times all of them.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time

import numpy as np
from _timing import median_time_and_result


def interleaved_times(funcs, repeat):
    """Median time of each function, run in turns so that load hits all alike."""
    times = [[] for _ in funcs]
    results = [None] * len(funcs)
    for _ in range(repeat):
        for i, func in enumerate(funcs):
            gc.collect()
            start = time.perf_counter()
            results[i] = func()
            times[i].append(time.perf_counter() - start)
    return [statistics.median(t) for t in times], results


def line(name, seconds):
    print(f"  {name:<62} {seconds:9.3f} s")


def verdict(name, ratio, target, faster):
    ok = ratio >= target if faster else ratio <= target
    sign = ">=" if faster else "<="
    print(f"  {name:<62} {ratio:9.1f}x  (target {sign} {target:g}x: {'met' if ok else 'MISSED'})")


def hashed_splits(X, y, n_splits):
    from skbigreg.model_selection import hash_folds

    fold = hash_folds(X, y, n_splits)
    return [(np.flatnonzero(fold != k), np.flatnonzero(fold == k)) for k in range(n_splits)]


def bench_ridge(X, y, splits, repeat, full):
    from sklearn.linear_model import RidgeCV

    from skbigreg.linear_model import CumulativeLinearRegression, CumulativeRidgeCV

    alphas = np.logspace(-3, 3, 100)
    print("\nCumulativeRidgeCV, 5 folds x 100 alphas")
    (t_ols, t_ours), (_, ours) = interleaved_times(
        [lambda: CumulativeLinearRegression().fit(X, y),
         lambda: CumulativeRidgeCV(alphas=alphas, cv=5).fit(X, y)],
        max(repeat, 5),
    )
    subset = alphas if full else alphas[::10]
    t_sk, ref = median_time_and_result(lambda: RidgeCV(alphas=subset, cv=splits).fit(X, y), 1)
    t_sk *= len(alphas) / len(subset)
    line("CumulativeLinearRegression().fit", t_ols)
    line("CumulativeRidgeCV(alphas=100, cv=5).fit", t_ours)
    scaled = "" if full else " (10 alphas timed, x10)"
    line(f"sklearn RidgeCV(alphas=100, cv=same folds){scaled}", t_sk)
    verdict("CumulativeRidgeCV / CumulativeLinearRegression", t_ours / t_ols, 2, False)
    verdict("speed-up over sklearn RidgeCV", t_sk / t_ours, 300, True)
    if full:
        print(f"  same alpha_: {ours.alpha_ == ref.alpha_} ({ours.alpha_:.4g})")


def bench_lasso(X, y, splits, repeat):
    from sklearn.linear_model import LassoCV

    from skbigreg.linear_model import CumulativeLassoCV

    print("\nCumulativeLassoCV, 5 folds x 100 alphas (default tol)")
    t_ours, ours = median_time_and_result(lambda: CumulativeLassoCV(cv=5).fit(X, y), repeat)
    t_sk, ref = median_time_and_result(
        lambda: LassoCV(alphas=ours.alphas_, cv=splits).fit(X, y), 1
    )
    line("CumulativeLassoCV(cv=5).fit", t_ours)
    line("sklearn LassoCV(alphas=same, cv=same folds).fit", t_sk)
    verdict("speed-up over sklearn LassoCV", t_sk / t_ours, 5, True)
    print(f"  same alpha_: {ours.alpha_ == ref.alpha_} "
          f"(ours {ours.alpha_:.6g}, sklearn {ref.alpha_:.6g})")


def bench_search(X, y, splits, repeat):
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import GridSearchCV

    from skbigreg.linear_model import CumulativeRidge
    from skbigreg.model_selection import FoldGridSearchCV

    grid = {"alpha": list(np.logspace(-3, 3, 20))}
    print("\nFoldGridSearchCV, 20 alphas x 5 folds")
    t_ours, ours = median_time_and_result(
        lambda: FoldGridSearchCV(CumulativeRidge(), grid, cv=5).fit(X, y), repeat
    )
    t_sk, ref = median_time_and_result(lambda: GridSearchCV(Ridge(), grid, cv=splits).fit(X, y), 1)
    line("FoldGridSearchCV(CumulativeRidge(), 20 alphas, cv=5).fit", t_ours)
    line("sklearn GridSearchCV(Ridge(), 20 alphas, cv=same folds).fit", t_sk)
    verdict("speed-up over GridSearchCV", t_sk / t_ours, 100, True)
    gap = np.abs(ours.cv_results_["mean_test_score"] - ref.cv_results_["mean_test_score"])
    print(f"  same best_params_: {ours.best_params_ == ref.best_params_}; "
          f"max |mean_test_score difference| = {gap.max():.1e}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 100,000")
    parser.add_argument("--full", action="store_true", help="time all RidgeCV alphas")
    parser.add_argument("--n", type=int, default=None)
    parser.add_argument("--k", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    n = args.n or (100_000 if args.quick else 1_000_000)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, args.k))
    beta = rng.standard_normal(args.k) * (rng.uniform(size=args.k) < 0.3)
    y = X @ beta + 5.0 * rng.standard_normal(n)
    print(f"N = {n:,}, K = {args.k} float64 in memory; medians of {args.repeat} runs "
          "(scikit-learn: 1 run)")
    splits = hashed_splits(X, y, 5)
    bench_ridge(X, y, splits, args.repeat, args.full)
    bench_lasso(X, y, splits, args.repeat)
    bench_search(X, y, splits, args.repeat)


if __name__ == "__main__":
    main()
