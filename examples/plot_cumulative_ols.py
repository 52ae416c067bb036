"""
==================================================================
Streamed OLS with robust errors, and digits at large column offsets
==================================================================

Part 1 streams 200,000 simulated rows in chunks of 10,000 through
:class:`~skbigreg.linear_model.CumulativeLinearRegression`. One pass gathers
the statistics of the fit and, per cluster, what cluster-robust (CRV1) errors
need; ``fit_chunks`` makes the second pass that heteroskedasticity-robust
(HC1) errors need. The estimates are compared with statsmodels' ``OLS`` on
the same rows held in memory (when statsmodels is installed).

Part 2 measures how many correct digits the slope coefficients keep when a
constant offset is added to every feature (timestamps, account numbers,
coordinates in metres...). The columns hold integers, so every statistic has
an exact rational value and the exact least-squares solution is known. Three
ways to accumulate chunks are compared:

* raw sums ``[1, X, y]'[1, X, y]`` added chunk by chunk, then solved (what
  accumulators that keep uncentred sums do);
* ``solver="gram"``: the centred co-moments of skbigreg, merged with the
  Chan-Golub-LeVeque update;
* ``solver="qr"``: the TSQR accumulator (R factors of the centred chunks).

Part 3 does the same as two columns become nearly collinear: the Gram squares
the condition number, the R factor does not.

Run ``python examples/plot_cumulative_ols.py [output.png]``; the figure is
written to ``plot_cumulative_ols.png`` unless another path is given.
"""

import sys
import time
import warnings
from fractions import Fraction

import matplotlib

matplotlib.use("Agg")  # write a file; no display needed

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from skbigreg.exceptions import CollinearityWarning, IllConditionedWarning  # noqa: E402
from skbigreg.linear_model import CumulativeLinearRegression  # noqa: E402

N_ROWS, CHUNK_ROWS, N_CLUSTERS = 200_000, 10_000, 400
BETA = np.array([1.5, -2.0, 0.5])
started = time.perf_counter()


# %%
# Part 1 -- a streamed fit with HC1 and cluster-robust errors
# ------------------------------------------------------------
# A chunk source is anything ``iter_chunks`` reads. The HC pass iterates it
# twice, so it is a callable returning a fresh iterator (a generator object
# would be consumed after the first pass). A chunk is an ``(X, y)`` tuple or,
# as here, a dict that names its other fields (``sample_weight``, ``clusters``,
# ...): no field is read from its position beyond ``X`` and ``y``.


def simulated_chunks(seed=0):
    """Yield chunks of a model with heteroskedastic, within-cluster correlated errors."""
    rng = np.random.default_rng(seed)
    cluster_effect = rng.normal(scale=0.8, size=N_CLUSTERS)
    for _ in range(N_ROWS // CHUNK_ROWS):
        clusters = rng.integers(0, N_CLUSTERS, size=CHUNK_ROWS)
        X = rng.normal(size=(CHUNK_ROWS, 3)) + 0.5 * cluster_effect[clusters, None]
        noise = rng.normal(size=CHUNK_ROWS) * (1.0 + np.abs(X[:, 0]))
        y = 3.0 + X @ BETA + cluster_effect[clusters] + noise
        yield {"X": X, "y": y, "clusters": clusters}


model = CumulativeLinearRegression(cov_type="HC1").fit_chunks(simulated_chunks)
hc1 = model.results()  # the default cov_type of the model: HC1
crv1 = model.results(cov_type="cluster")  # from the same single pass
print(hc1.summary())
print(f"\nCluster-robust (CRV1, {crv1.n_clusters} clusters) standard errors:")
print(crv1.summary_frame()[["coef", "std err"]].to_string(float_format="%.6f"))

try:
    import statsmodels.api as sm
except ImportError:
    print("\nstatsmodels is not installed: skipping the comparison.")
else:
    chunks = list(simulated_chunks())  # the same rows, in memory
    X = np.concatenate([chunk["X"] for chunk in chunks])
    y = np.concatenate([chunk["y"] for chunk in chunks])
    labels = np.concatenate([chunk["clusters"] for chunk in chunks])
    ols = sm.OLS(y, sm.add_constant(X))
    reference_hc1 = ols.fit(cov_type="HC1")
    reference_crv1 = ols.fit(cov_type="cluster", cov_kwds={"groups": labels})

    def relative_gap(ours, theirs):
        return float(np.max(np.abs(ours - theirs) / np.abs(theirs)))

    print("\nLargest relative difference from statsmodels OLS (in memory):")
    print(f"  coefficients     {relative_gap(hc1.params, reference_hc1.params):.1e}")
    print(f"  HC1 std errors   {relative_gap(hc1.bse, reference_hc1.bse):.1e}")
    print(f"  CRV1 std errors  {relative_gap(crv1.bse, reference_crv1.bse):.1e}")


# %%
# Part 2 -- correct digits as the column offset grows
# ---------------------------------------------------
# Integer columns make every sum exact in Python integers, so the exact
# solution is found with fractions. Slopes do not depend on a column shift, so
# every offset has the same exact slopes.


def exact_slopes(X, y):
    """Exact least-squares slopes (with intercept) of integer data, as floats."""
    X, y = X.astype(np.int64), y.astype(np.int64)
    n = len(y)
    Z = np.column_stack([X, y]).astype(object)  # Python integers: no overflow
    sums = Z.sum(axis=0)
    # n^2 times the centred co-moments, exact: n * Z'Z - sums sums'
    C = n * (Z.T @ Z) - np.outer(sums, sums)
    k = X.shape[1]
    A = [[Fraction(int(C[i, j])) for j in range(k)] for i in range(k)]
    b = [Fraction(int(C[i, k])) for i in range(k)]
    return np.array([float(v) for v in _solve_exact(A, b)])


def _solve_exact(A, b):
    """Gaussian elimination in exact rational arithmetic (small systems only)."""
    k = len(b)
    A = [row[:] + [b[i]] for i, row in enumerate(A)]
    for col in range(k):
        pivot = next(r for r in range(col, k) if A[r][col] != 0)
        A[col], A[pivot] = A[pivot], A[col]
        for r in range(k):
            if r != col and A[r][col] != 0:
                factor = A[r][col] / A[col][col]
                A[r] = [a - factor * p for a, p in zip(A[r], A[col])]
    return [A[i][k] / A[i][i] for i in range(k)]


def raw_sums_slopes(chunks):
    """Slopes from uncentred sums ``[1, X, y]'[1, X, y]`` accumulated by chunk."""
    total = 0.0
    for X, y in chunks:
        A = np.column_stack([np.ones(len(y)), X, y])
        total = total + A.T @ A
    k = total.shape[0] - 1
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.linalg.solve(total[:k, :k], total[:k, k])[1:]
    except np.linalg.LinAlgError:  # the sums no longer hold a regular matrix
        return np.full(k - 1, np.nan)


def streamed_slopes(solver, chunks):
    """Slopes of ``CumulativeLinearRegression`` fed chunk by chunk; warnings seen."""
    model = CumulativeLinearRegression(solver=solver)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        for X, y in chunks:
            model.partial_fit(X, y)
    named = {type(w.message) for w in seen} & {CollinearityWarning, IllConditionedWarning}
    return model.coef_, bool(named)


def relative_error(estimate, exact):
    """Largest relative error over the slopes, clipped to [1e-17, 1]."""
    if not np.all(np.isfinite(estimate)):
        return 1.0
    error = np.max(np.abs(estimate - exact) / np.abs(exact))
    return float(np.clip(error, 1e-17, 1.0))


def in_chunks(X, y, rows=2_000):
    return [(X[i : i + rows], y[i : i + rows]) for i in range(0, len(y), rows)]


rng = np.random.default_rng(1)
n_small = 20_000
Z = np.round(rng.normal(scale=64.0, size=(n_small, 3)))  # spread ~64, integers
y_int = np.round(Z @ [3.0, -2.0, 1.0] + rng.normal(scale=64.0, size=n_small))
slopes = exact_slopes(Z, y_int)

offsets = 10.0 ** np.arange(0, 12.5, 0.5)
errors = {"raw sums": [], "gram": [], "qr": []}
for offset in offsets:
    X = Z + np.round(offset)  # still integers: exact in float64 below 2**53
    chunks = in_chunks(X, y_int)
    errors["raw sums"].append(relative_error(raw_sums_slopes(chunks), slopes))
    for solver in ("gram", "qr"):
        coef, _ = streamed_slopes(solver, chunks)
        errors[solver].append(relative_error(coef, slopes))

print("\nLargest relative error of the slopes (column spread ~64):")
print(f"{'offset':>10} {'raw sums':>10} {'gram':>10} {'qr':>10}")
for i, offset in enumerate(offsets):
    if i % 2 == 0:
        row = " ".join(f"{errors[name][i]:10.1e}" for name in errors)
        print(f"{offset:10.0e} {row}")


# %%
# Part 3 -- correct digits as two columns become collinear
# --------------------------------------------------------
# ``x1 = x0 + e`` with a shrinking integer difference ``e``: the condition
# number of the scaled design grows like spread(x0) / spread(e).

base = np.round(rng.normal(scale=2.0**20, size=n_small))
third = np.round(rng.normal(scale=2.0**10, size=n_small))
gaps = 2.0 ** np.arange(20, -1, -1)
conditions, cond_errors, gram_warned = [], {"gram": [], "qr": []}, []
for gap in gaps:
    X = np.column_stack([base, base + np.round(rng.normal(scale=gap, size=n_small)), third])
    y_col = np.round(X @ [1.0, 1.0, -1.0] + rng.normal(scale=2.0**10, size=n_small))
    exact = exact_slopes(X, y_col)
    chunks = in_chunks(X, y_col)
    for solver in ("gram", "qr"):
        coef, warned = streamed_slopes(solver, chunks)
        cond_errors[solver].append(relative_error(coef, exact))
        if solver == "gram":
            gram_warned.append(warned)
    centred = X - X.mean(axis=0)
    conditions.append(np.linalg.cond(centred / np.linalg.norm(centred, axis=0)))

print("\nLargest relative error of the slopes as two columns become collinear:")
print(f"{'cond(X)':>10} {'gram':>10} {'qr':>10}  gram warned")
for i in range(0, len(gaps), 2):
    gram, qr = cond_errors["gram"][i], cond_errors["qr"][i]
    print(f"{conditions[i]:10.1e} {gram:10.1e} {qr:10.1e}  {'yes' if gram_warned[i] else 'no'}")


# %%
# The picture
# -----------

style = {
    "raw sums": dict(color="tab:red", marker="s", label="raw sums (uncentred X'X)"),
    "gram": dict(
        color="tab:blue", marker="o", markersize=8, markerfacecolor="none",
        label='solver="gram" (centred moments)',
    ),
    "qr": dict(color="tab:green", marker="^", markersize=4, label='solver="qr" (TSQR)'),
}
eps = np.finfo(float).eps
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.4), constrained_layout=True)
for name, values in errors.items():
    left.loglog(offsets, values, **style[name])
left.set(
    xlabel="offset added to every column (column spread ~64)",
    ylabel="largest relative error of the slopes",
    title="Large column offsets",
)
for name, values in cond_errors.items():
    right.loglog(conditions, values, **style[name])
first_warning = next((c for c, w in zip(conditions, gram_warned) if w), None)
if first_warning is not None:  # from here on the Gram warns and names solver="qr"
    right.axvline(first_warning, color="tab:blue", linestyle=":", linewidth=1)
    right.text(
        first_warning * 1.2, 1e-2, 'Gram warns:\n"use solver=\'qr\'"',
        color="tab:blue", fontsize=8,
    )
right.set(
    xlabel="condition number of the column-scaled design",
    title="Nearly collinear columns",
)
for ax in (left, right):
    ax.axhline(eps, color="grey", linestyle="--", linewidth=0.8)
    ax.set_ylim(1e-17, 3.0)
    ax.grid(True, which="major", alpha=0.3)
right.text(conditions[0], eps / 2, "machine epsilon", color="grey", fontsize=8, va="top")
left.legend(loc="upper left", fontsize=8)
fig.suptitle("Digits kept by each accumulator, data streamed in chunks of 2,000 rows")

output = sys.argv[1] if len(sys.argv) > 1 else "plot_cumulative_ols.png"
fig.savefig(output, dpi=110)
print(f"\nFigure written to {output} ({time.perf_counter() - started:.1f} s in all).")
