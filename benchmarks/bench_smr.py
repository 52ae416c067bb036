"""SMR timing and accuracy against full-data fits, measured in the same run.

N = 10^6 rows, d = 7 (the paper's mzNormal logistic set-up), 1,000 natural
blocks given: sites that each hold rows of similar covariates (the cells of
a subset clustering with K = 1000, computed once and passed as
``partitions=``; ``partition="none"`` keeps them as they are). Prints
medians over ``--repeats`` runs of: SMR (T = 3) and MR fit times, sklearn
``LogisticRegression(penalty=None)`` and statsmodels ``GLM`` full fits, the
ratios (each fit timed three times on the same data, median), the RMSE
(x 10^-3) of the slopes from the full fit, and the time of
the two k-means partitions (K = 1000): full k-means on 10^5 rows and subset
clustering (centres from 10^5 rows, all 10^6 rows assigned).

Wall time and process CPU time are both printed: on a shared machine the
CPU time is the steadier measure (it adds up the threads' time).

    python benchmarks/bench_smr.py [--n 1000000] [--repeats 3]

With ``--processes P``, instead: the SMR fit vs scikit-learn's
``LogisticRegression`` (the ``bench_speed.py`` row, runs interleaved,
medians of ``--repeats``) in each of ``P`` fresh Python processes, and the
median over the processes (the target: SMR <= 1.2x scikit-learn's time).
A fit's time can differ between processes (BLAS threads, memory), so one
process's median is not enough.

    python benchmarks/bench_smr.py --processes 5 [--n 1000000] [--repeats 3]
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
import warnings

import numpy as np
import statsmodels.api as sm
from sklearn.linear_model import LogisticRegression

from skbigreg.linear_model import SMRLogisticRegression
from skbigreg.passes import PartitionSpec, partition_labels


def simulate(n, seed):
    rng = np.random.default_rng(seed)
    sigma = np.full((7, 7), 0.5)
    np.fill_diagonal(sigma, 1.0)
    X = rng.multivariate_normal(np.zeros(7), sigma, size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-X @ np.full(7, 0.5)))).astype(float)
    return X, y


def timed(func):
    wall, cpu = time.perf_counter(), time.process_time()
    result = func()
    return (time.perf_counter() - wall, time.process_time() - cpu), result


def timed_fit(func, times=3):
    """Median (wall, cpu) over ``times`` calls, and the last result."""
    runs = [timed(func) for _ in range(times)]
    return tuple(np.median([r[0] for r in runs], axis=0)), runs[-1][1]


def sklearn_fit(X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # penalty=None, deprecated in 1.8
        return LogisticRegression(penalty=None, tol=1e-8, max_iter=1000).fit(X, y)


def one_run(n, seed):
    X, y = simulate(n, seed)
    t_sub, sites = timed(
        lambda: partition_labels(X, PartitionSpec("subset_kmeans", subset_size=100_000, seed=seed))
    )
    t_km, _ = timed(lambda: partition_labels(X[:100_000], PartitionSpec("kmeans", seed=seed)))
    t_smr, smr = timed_fit(lambda: SMRLogisticRegression(partition="none").fit(X, y, partitions=sites))
    t_paper, paper = timed_fit(lambda: SMRLogisticRegression(
        partition="none", sign_split="no_root").fit(X, y, partitions=sites))
    t_mr, mr = timed_fit(
        lambda: SMRLogisticRegression(method="mr", partition="none").fit(X, y, partitions=sites)
    )
    t_sk, sk = timed_fit(lambda: sklearn_fit(X, y))
    t_sm, full = timed_fit(lambda: sm.GLM(y, sm.add_constant(X), family=sm.families.Binomial()).fit())

    def rmse(coef):
        return 1e3 * np.sqrt(np.mean((np.ravel(coef) - full.params[1:]) ** 2))

    return [*t_smr, *t_mr, *t_sk, *t_sm, *t_km, *t_sub, rmse(smr.coef_), rmse(mr.coef_),
            rmse(sk.coef_), *t_paper, rmse(paper.coef_)]


def main(n, repeats):
    rows = [one_run(n, seed) for seed in range(repeats)]
    m = np.median(rows, axis=0)
    print(f"N = {n}, d = 7, 1000 natural blocks given (partition='none'); medians of {repeats}")
    print("                              wall s    cpu s")
    for label, i in [("SMR (T=3) fit", 0), ("SMR, paper's split rule", 15), ("MR fit", 2), ("sklearn LogisticRegression", 4),
                     ("statsmodels GLM", 6), ("k-means K=1000 on 10^5 rows", 8),
                     ("subset clustering, all rows", 10)]:
        print(f"{label:28s} {m[i]:8.2f} {m[i + 1]:8.2f}")
    print(f"SMR / sklearn:     wall {m[0] / m[4]:.2f}, cpu {m[1] / m[5]:.2f}")
    print(f"SMR / statsmodels: wall {m[0] / m[6]:.2f}, cpu {m[1] / m[7]:.2f}")
    print(f"SMR, paper's rule / sklearn: wall {m[15] / m[4]:.2f}, cpu {m[16] / m[5]:.2f}")
    print(f"RMSE x 1e-3 from the full fit: SMR {m[12]:.2f}, paper's rule {m[17]:.2f}, "
          f"MR {m[13]:.2f}, sklearn {m[14]:.3f}")


_ONE_PROCESS = """
import json, sys
sys.path.insert(0, {here!r})
import bench_speed
ours, theirs, _, _ = bench_speed.smr_and_sklearn_times({n}, {repeats})
print(json.dumps([ours, theirs]))
"""


def across_processes(n, repeats, processes):
    """SMR vs scikit-learn in ``processes`` fresh interpreters, one after another."""
    here = str(Path(__file__).resolve().parent)
    code = _ONE_PROCESS.format(here=here, n=n, repeats=repeats)
    print(f"SMR (T = 3) vs LogisticRegression, N = {n:,}, d = 7, 1000 natural blocks: "
          f"{processes} fresh processes, medians of {repeats} interleaved runs each")
    rows = []
    for i in range(processes):
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                             text=True).stdout
        ours, theirs = json.loads(out.strip().splitlines()[-1])
        rows.append((ours, theirs))
        print(f"  process {i + 1}: SMR {ours:.3f} s, scikit-learn {theirs:.3f} s, "
              f"SMR / scikit-learn {ours / theirs:.2f}")
    ours, theirs = np.median(rows, axis=0)
    ratios = [a / b for a, b in rows]
    print(f"median over processes: SMR {ours:.3f} s, scikit-learn {theirs:.3f} s; "
          f"SMR / scikit-learn: median {np.median(ratios):.2f}, worst {max(ratios):.2f} "
          f"(target <= 1.2)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeats", "--repeat", type=int, default=3)
    parser.add_argument("--processes", type=int, default=0,
                        help="SMR vs scikit-learn in this many fresh processes")
    args = parser.parse_args()
    if args.processes:
        across_processes(args.n, args.repeats, args.processes)
    else:
        main(args.n, args.repeats)
