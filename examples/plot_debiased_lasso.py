"""
==========================================================
Debiased lasso over partitions: error against partitions
==========================================================

The same N rows are split over more and more partitions (machines). Each
partition fits a lasso; the coordinator either averages the local fits
("naive") or averages *debiased* local fits (:class:`DebiasedDistributedLasso`).
The lasso on all the rows at once is the reference.

Averaging lasso fits keeps each fit's shrinkage while the variance falls, so
its error grows with the number of partitions. Debiasing removes the
shrinkage first: the error of the one-shot estimate stays flat in m, and
after its hard threshold it is even below the full-data lasso's (which keeps
both its shrinkage and some noise coefficients).

Run ``python examples/plot_debiased_lasso.py`` (about 10 s); the figure is
saved to ``plot_debiased_lasso.png``.
"""

import argparse

import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import Lasso

from skbigreg.linear_model import DebiasedDistributedLasso


def make_data(n, p, seed):
    rng = np.random.default_rng(seed)
    beta = np.zeros(p)
    beta[:5] = [1.0, -1.0, 0.5, -0.5, 0.8]
    X = rng.standard_normal((n, p))
    return X, X @ beta + rng.standard_normal(n), beta


def errors(n, p, partitions, seeds):
    curves = {"naive averaging": [], "debiased (one shot)": [], "full-data lasso": []}
    for m in partitions:
        rows = {name: [] for name in curves}
        for seed in seeds:
            X, y, beta = make_data(n, p, seed)
            # the penalty of the local fits: the default of a partition of N/m rows
            alpha = np.sqrt(2 * np.log(p) / (n / m))
            naive = DebiasedDistributedLasso(method="naive", alpha=alpha, n_partitions=m)
            debiased = DebiasedDistributedLasso(nodewise="split", n_partitions=m)
            full = Lasso(alpha=np.sqrt(2 * np.log(p) / n)).fit(X, y)
            rows["naive averaging"].append(np.linalg.norm(naive.fit(X, y).coef_ - beta))
            rows["debiased (one shot)"].append(np.linalg.norm(debiased.fit(X, y).coef_ - beta))
            rows["full-data lasso"].append(np.linalg.norm(full.coef_ - beta))
        for name, values in rows.items():
            curves[name].append(np.mean(values))
    return curves


def main(argv=None):
    parser = argparse.ArgumentParser(description="l2 error against partitions")
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--p", type=int, default=50)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--output", default="plot_debiased_lasso.png")
    args = parser.parse_args(argv)
    partitions = [1, 2, 5, 10, 20]
    curves = errors(args.n, args.p, partitions, range(args.reps))
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, values in curves.items():
        ax.plot(partitions, values, marker="o", label=name)
    ax.set_xscale("log")
    ax.set_xticks(partitions, [str(m) for m in partitions])
    ax.set_xlabel("number of partitions m (N fixed)")
    ax.set_ylabel("l2 error of the coefficients")
    ax.set_title(f"N = {args.n}, p = {args.p}, mean of {args.reps} data sets")
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.output, dpi=100)
    for name, values in curves.items():
        print(f"{name:>20}: " + "  ".join(f"{v:.3f}" for v in values))
    print(f"figure saved to {args.output}")


if __name__ == "__main__":
    main()
