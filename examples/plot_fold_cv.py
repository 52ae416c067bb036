"""
==============================================================
Cross-validation curves and a lasso path from one pass of rows
==============================================================

20,000 simulated rows (150 correlated features, 10 of them informative)
arrive in shuffled chunks of 5,000. One pass through
:class:`~skbigreg.linear_model.CumulativeRidgeCV` and
:class:`~skbigreg.linear_model.CumulativeLassoCV` gathers the totals and the
statistics of each of 5 folds (a row's fold is a hash of its values, so the
chunking does not matter); every penalty and fold is then solved and scored
from those statistics alone.

Left: held-out MSE against ``alpha`` for each fold (thin) and their mean
(thick) -- ``mse_path_`` -- for ridge and lasso, with the chosen ``alpha_``.
Right: the lasso coefficient path on all rows, solved from the same total
statistics along the CV grid.

Run ``python examples/plot_fold_cv.py [output.png]``; the figure is written to
``plot_fold_cv.png`` unless another path is given. It runs in a few seconds.
"""

import sys
import time

import matplotlib

matplotlib.use("Agg")  # write a file; no display needed

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from skbigreg.linear_model import CumulativeLassoCV, CumulativeRidgeCV  # noqa: E402
from skbigreg.solvers import enet_path_gram, gram_problems  # noqa: E402

N, K, CHUNK, INFORMATIVE = 20_000, 150, 5_000, 10
rng = np.random.default_rng(0)
X = rng.standard_normal((N, K)) @ np.linalg.cholesky(0.5 ** np.abs(
    np.subtract.outer(np.arange(K), np.arange(K)))).T  # AR(1)-correlated columns
beta = np.zeros(K)
beta[rng.choice(K, INFORMATIVE, replace=False)] = (
    rng.choice([-1, 1], INFORMATIVE) * rng.uniform(0.05, 1, INFORMATIVE))
y = 3.0 + X @ beta + 4.0 * rng.standard_normal(N)

# -- one pass over shuffled chunks ----------------------------------------------
ridge = CumulativeRidgeCV(alphas=np.logspace(0, 6, 60), cv=5, random_state=0)
lasso = CumulativeLassoCV(cv=5, random_state=0)
start = time.perf_counter()
for chunk in np.array_split(rng.permutation(N), N // CHUNK):
    ridge.partial_fit(X[chunk], y[chunk])
    lasso.partial_fit(X[chunk], y[chunk])
print(f"{N:,} rows in {N // CHUNK} chunks, both CV fits: {time.perf_counter() - start:.1f} s")
print(f"ridge alpha_ = {ridge.alpha_:.4g}, lasso alpha_ = {lasso.alpha_:.4g}, "
      f"lasso keeps {np.count_nonzero(lasso.coef_)} of {K} features "
      f"({np.count_nonzero(beta)} informative)")

# The lasso path on all rows, from the total statistics alone.
path = enet_path_gram(gram_problems(lasso.stats_)[0], lasso.alphas_, l1_ratio=1.0)

# -- figure ------------------------------------------------------------------------
fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
for ax, model, name in ((axes[0], ridge, "CumulativeRidgeCV"),
                        (axes[1], lasso, "CumulativeLassoCV")):
    ax.semilogx(model.alphas_, model.mse_path_, lw=0.8, alpha=0.7)
    ax.semilogx(model.alphas_, model.mse_path_.mean(axis=1), "k", lw=2.5,
                label="mean over folds")
    ax.axvline(model.alpha_, color="k", ls="--", lw=1, label=f"alpha_ = {model.alpha_:.3g}")
    best = model.mse_path_.mean(axis=1).min()
    ax.set(xlabel="alpha", ylabel="held-out MSE", title=f"{name}: mse_path_ (5 folds)",
           ylim=(0.99 * np.nanmin(model.mse_path_), 1.12 * best))
    ax.legend(loc="upper left")
axes[2].semilogx(path.alphas, path.coef, lw=1)
axes[2].axvline(lasso.alpha_, color="k", ls="--", lw=1, label="alpha_ (CV)")
axes[2].set(xlabel="alpha", ylabel="coefficient", title="Lasso coefficient path (all rows)")
axes[2].invert_xaxis()
axes[2].legend(loc="upper left")
fig.tight_layout()
output = sys.argv[1] if len(sys.argv) > 1 else "plot_fold_cv.png"
fig.savefig(output, dpi=110)
print(f"figure written to {output}")
