"""IV, fixed effects, cluster bootstrap and streamed IRLS against the usual tools, in one run.

Prints medians and ratios (theirs / ours, so > 1 means skbigreg is faster),
measured side by side on the same data:

* 2SLS: ``CumulativeIVRegression`` vs ``linearmodels.IV2SLS`` (target >= 5x);
* one-way fixed effects: ``CumulativeFixedEffectsRegression`` vs
  ``linearmodels.PanelOLS`` and ``pyfixest.feols`` (report);
* IV with one absorbed factor: ``CumulativeIVRegression(entities=)`` vs
  ``pyfixest.feols("y ~ exog | fe | endog ~ instr")`` at N = 5,000,000,
  iid and CRV1 errors (target >= 3x);
* cluster bootstrap, B = 999: from cluster statistics vs refitting the rows of
  the same resamples by the normal equations (target >= 100x; the row-level time is extrapolated from
  a few resamples).

Streamed logistic regression against statsmodels and scikit-learn is measured
in ``bench_speed.py``.

    python benchmarks/bench_econometrics.py           # sizes of the issue
    python benchmarks/bench_econometrics.py --quick   # a tenth of them
    python benchmarks/bench_econometrics.py --only iv_fixed_effects
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from _timing import median_time


def report(name, ours, theirs, target=None):
    ratio = theirs / ours
    verdict = "" if target is None else f"  (target >= {target:g}x: {'met' if ratio >= target else 'MISSED'})"
    print(f"  {name:<52} ours {ours:8.3f} s  theirs {theirs:8.3f} s  {ratio:7.1f}x{verdict}")


def bench_iv(n, repeat):
    from linearmodels.iv import IV2SLS

    from skbigreg.linear_model import CumulativeIVRegression

    rng = np.random.default_rng(0)
    exog = rng.standard_normal((n, 5))
    z = rng.standard_normal((n, 3))
    u = rng.standard_normal(n)
    endog = z @ rng.standard_normal((3, 2)) + u[:, None] + rng.standard_normal((n, 2))
    y = exog.sum(axis=1) + endog @ [1.0, -1.0] + u
    X = np.hstack([exog, endog, z])
    print(f"2SLS: N = {n:,}, 5 exogenous, 2 endogenous, 3 excluded instruments; median of {repeat}")
    est = CumulativeIVRegression(endogenous=[5, 6], instruments=[7, 8, 9])
    ours = median_time(lambda: est.fit(X, y).results(), repeat)
    const = np.column_stack([np.ones(n), exog])
    theirs = median_time(lambda: IV2SLS(y, const, endog, z).fit(cov_type="unadjusted"), repeat)
    report("CumulativeIVRegression vs linearmodels.IV2SLS", ours, theirs, target=5)
    ref = IV2SLS(y, const, endog, z).fit(cov_type="unadjusted", debiased=True)
    gap = np.max(np.abs(est.results().params - ref.params.to_numpy()) / np.abs(ref.params.to_numpy()))
    print(f"    max relative difference of the coefficients: {gap:.1e}")


def bench_fixed_effects(n, n_groups, repeat):
    from linearmodels.panel import PanelOLS

    from skbigreg.linear_model import CumulativeFixedEffectsRegression

    rng = np.random.default_rng(1)
    entity = rng.integers(0, n_groups, n)
    X = rng.standard_normal((n, 3)) + rng.standard_normal((n_groups, 3))[entity]
    y = X @ [1.0, -1.0, 0.5] + rng.standard_normal(n_groups)[entity] + rng.standard_normal(n)
    print(f"one-way FE: N = {n:,}, {n_groups:,} levels, K = 3; median of {repeat}")
    est = CumulativeFixedEffectsRegression()
    ours = median_time(lambda: est.fit(X, y, entities=entity).results(), repeat)
    frame = pd.DataFrame(X, columns=["x0", "x1", "x2"]).assign(
        y=y, entity=entity, time=np.arange(n) % 7919
    )
    panel = frame.set_index(["entity", "time"])
    panel = panel[~panel.index.duplicated()]  # PanelOLS needs unique (entity, time) pairs
    theirs = median_time(
        lambda: PanelOLS(panel["y"], panel[["x0", "x1", "x2"]], entity_effects=True).fit(), repeat
    )
    report("CumulativeFixedEffectsRegression vs PanelOLS", ours, theirs)
    try:
        import pyfixest as pf
    except ImportError:
        print("    pyfixest not installed: skipped")
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = median_time(lambda: pf.feols("y ~ x0 + x1 + x2 | entity", frame, vcov="iid",
                                              fixef_rm="none"), repeat)
        ref = pf.feols("y ~ x0 + x1 + x2 | entity", frame, vcov="iid", fixef_rm="none")
    report("CumulativeFixedEffectsRegression vs pyfixest.feols", ours, theirs)
    gap = np.max(np.abs(est.coef_ - ref.coef().to_numpy()) / np.abs(ref.coef().to_numpy()))
    print(f"    max relative difference of the coefficients (pyfixest): {gap:.1e}")


def bench_iv_fixed_effects(n, n_levels, repeat):
    import pyfixest as pf

    from skbigreg.linear_model import CumulativeIVRegression

    rng = np.random.default_rng(4)
    fe = rng.integers(0, n_levels, n)
    effect = rng.standard_normal(n_levels)[fe]
    z = rng.standard_normal((n, 2))
    u = rng.standard_normal(n)
    exog = rng.standard_normal(n) + effect
    endog = z @ [1.0, 0.5] + u + effect
    y = 0.5 * exog + endog + effect + u + rng.standard_normal(n)
    frame = pd.DataFrame({"y": y, "exog": exog, "endog": endog, "z1": z[:, 0], "z2": z[:, 1],
                          "fe": fe, "cl": fe % 1_000})
    X = frame[["exog", "endog", "z1", "z2"]].to_numpy()
    print(f"IV with absorbed effects: N = {n:,}, {n_levels:,} levels, 1 exogenous, "
          f"1 endogenous, 2 instruments; median of {repeat}")
    formula = "y ~ exog | fe | endog ~ z1 + z2"
    for cov_type, vcov, clusters in [("nonrobust", "iid", None),
                                     ("cluster", {"CRV1": "cl"}, frame.cl.to_numpy())]:
        est = CumulativeIVRegression(endogenous=[1], instruments=[2, 3], cov_type=cov_type)
        ours = median_time(lambda: est.fit(X, y, entities=fe, clusters=clusters).results(),
                           repeat)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warm = frame.head(2000).assign(fe=frame.fe.head(2000) % 20, cl=frame.cl.head(2000) % 10)
            pf.feols(formula, warm, vcov=vcov)  # compile pyfixest's numba code first
            theirs = median_time(lambda: pf.feols(formula, frame, vcov=vcov, fixef_rm="none"),
                                 repeat)
            ref = pf.feols(formula, frame, vcov=vcov, fixef_rm="none")
        report(f"IV-FE ({vcov if cov_type == 'nonrobust' else 'CRV1'}) vs pyfixest.feols",
               ours, theirs, target=3)
        res = est.results()
        coef = np.max(np.abs(res.params.to_numpy() / ref.coef().to_numpy() - 1))
        se = np.max(np.abs(res.bse.to_numpy() / ref.se().to_numpy() - 1))
        print(f"    max relative difference vs pyfixest: coefficients {coef:.1e}, errors {se:.1e}")
    from skbigreg.inference import cluster_bootstrap

    boot = median_time(lambda: cluster_bootstrap(est, n_resamples=500, random_state=0), repeat)
    print(f"  within 2SLS cluster bootstrap, B = 500 over {frame.cl.nunique():,} clusters, "
          f"from the fit's statistics: {boot:.3f} s")


def bench_bootstrap(n, n_clusters, repeat, row_resamples):
    from skbigreg.inference import cluster_bootstrap, resample_clusters
    from skbigreg.linear_model import CumulativeLinearRegression

    rng = np.random.default_rng(2)
    g = rng.integers(0, n_clusters, n)
    X = rng.standard_normal((n, 5)) + rng.standard_normal((n_clusters, 5))[g]
    y = X.sum(axis=1) + rng.standard_normal(n_clusters)[g] + rng.standard_normal(n)
    print(f"cluster bootstrap: N = {n:,}, {n_clusters:,} clusters, K = 5, B = 999; median of {repeat}")
    start = time.perf_counter()
    est = CumulativeLinearRegression().fit(X, y, clusters=g)
    t_fit = time.perf_counter() - start
    indices = resample_clusters(n_clusters, 999, random_state=0)
    ours = median_time(lambda: cluster_bootstrap(est, indices=indices), repeat)
    order = np.argsort(g, kind="stable")
    starts = np.searchsorted(g[order], np.arange(n_clusters + 1))
    rows_of = [order[starts[i]:starts[i + 1]] for i in range(n_clusters)]
    design = np.column_stack([np.ones(n), X])

    def row_level():
        # the fastest row-level refit: gather the rows, normal equations
        for draw in indices[:row_resamples]:
            rows = np.concatenate([rows_of[i] for i in draw])
            A = design[rows]
            np.linalg.solve(A.T @ A, A.T @ y[rows])

    theirs = median_time(row_level, 1) * 999 / row_resamples
    report("bootstrap from cluster statistics vs row refits", ours, theirs, target=100)
    print(f"    (row-level time extrapolated from {row_resamples} resamples; the fit with "
          f"per-cluster statistics took {t_fit:.2f} s once)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the sizes")
    parser.add_argument("--repeat", type=int, default=3)
    sections = ["iv", "fixed_effects", "iv_fixed_effects", "bootstrap"]
    parser.add_argument("--only", choices=sections, action="append",
                        help="run only these sections (repeatable)")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    run = {
        "iv": lambda: bench_iv(2_000_000 // scale, args.repeat),
        "fixed_effects": lambda: bench_fixed_effects(5_000_000 // scale, 100_000 // scale,
                                                     args.repeat),
        "iv_fixed_effects": lambda: bench_iv_fixed_effects(5_000_000 // scale, 100_000 // scale,
                                                           args.repeat),
        "bootstrap": lambda: bench_bootstrap(2_000_000 // scale, 1_000, args.repeat,
                                             row_resamples=5 if not args.quick else 20),
    }
    for name in args.only or sections:
        run[name]()


if __name__ == "__main__":
    main()
