"""SMR timing and accuracy against full-data fits, measured in the same run.

N = 10^6 rows, d = 7 (the paper's mzNormal logistic set-up), 1,000 natural
blocks given (sites holding contiguous ranges of the first covariate's
ranks), each refined by the default quartile grid. Prints medians over
``--repeats`` runs of: SMR (T = 3) fit time, sklearn
``LogisticRegression(penalty=None)`` and statsmodels ``GLM`` full fits, the
ratios, SMR's and MR's RMSE (x 10^-3) of the slopes from the full fit, and
the time of k-means (K = 1000) and subset clustering partitions.

    python benchmarks/bench_smr.py [--n 1000000] [--repeats 3]
"""

import argparse
import time

import numpy as np
import statsmodels.api as sm
from sklearn.linear_model import LogisticRegression

from skbigreg.linear_model import SMRLogisticRegression
from skbigreg.solvers._representatives import PartitionSpec, partition_labels


def simulate(n, seed):
    rng = np.random.default_rng(seed)
    sigma = np.full((7, 7), 0.5)
    np.fill_diagonal(sigma, 1.0)
    X = rng.multivariate_normal(np.zeros(7), sigma, size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-X @ np.full(7, 0.5)))).astype(float)
    sites = np.argsort(np.argsort(X[:, 0])) * 1000 // n
    return X, y, sites


def timed(func):
    start = time.perf_counter()
    result = func()
    return time.perf_counter() - start, result


def main(n, repeats):
    rows = []
    for seed in range(repeats):
        X, y, sites = simulate(n, seed)
        t_smr, smr = timed(lambda: SMRLogisticRegression().fit(X, y, partitions=sites))
        t_mr, mr = timed(lambda: SMRLogisticRegression(method="mr").fit(X, y, partitions=sites))
        t_sk, sk = timed(lambda: LogisticRegression(penalty=None, tol=1e-8, max_iter=1000).fit(X, y))
        t_sm, full = timed(
            lambda: sm.GLM(y, sm.add_constant(X), family=sm.families.Binomial()).fit()
        )
        rmse = lambda c: 1e3 * np.sqrt(np.mean((np.ravel(c) - full.params[1:]) ** 2))  # noqa: E731
        t_km, _ = timed(lambda: partition_labels(X[:100_000], PartitionSpec("kmeans", seed=0)))
        t_sub, _ = timed(
            lambda: partition_labels(X, PartitionSpec("subset_kmeans", subset_size=100_000, seed=0))
        )
        rows.append([t_smr, t_mr, t_sk, t_sm, rmse(smr.coef_), rmse(mr.coef_), rmse(sk.coef_),
                     t_km, t_sub])
    med = np.median(rows, axis=0)
    print(f"N = {n}, d = 7, 1000 natural blocks refined by the quartile grid; medians of {repeats}")
    print(f"SMR (T=3) fit              {med[0]:8.2f} s")
    print(f"MR fit                     {med[1]:8.2f} s")
    print(f"sklearn LogisticRegression {med[2]:8.2f} s   SMR / sklearn     = {med[0] / med[2]:.2f}")
    print(f"statsmodels GLM            {med[3]:8.2f} s   SMR / statsmodels = {med[0] / med[3]:.2f}")
    print(f"RMSE x 1e-3 from the full fit: SMR {med[4]:.2f}, MR {med[5]:.2f}, sklearn {med[6]:.3f}")
    print(f"k-means K=1000 on 10^5 rows {med[7]:7.2f} s; subset clustering (10^5 subset, all rows) "
          f"{med[8]:.2f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    main(args.n, args.repeats)
