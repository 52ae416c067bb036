"""Benchmark: the row-wise paper's Table 1 (Panels A and B) from parquet files.

``make_fertility_parquet`` writes the paper's design (mothers in ``--cells``
country x year cells; participation on fertility, age, age at first birth
and the sex of the first child; twins at the second birth instrument a third
child) twice: rows in random order and rows sorted by cell. Every row of the
paper's Panels A (OLS) and B (IV) is then run from the files, each in its own
child process, so the peak RSS printed (``resource.getrusage``) is that row's
alone, imports included:

- within: the cells absorbed (nonrobust errors);
- within, clustered: analytic errors clustered by cell (the cells nest in the
  clusters, so this is the same single pass);
- within, clustered bootstrap (unsorted / sorted): 500 cluster resamples
  re-solved from per-cell statistics;
- full estimation: the cells as dummy columns (sparse), all effects estimated.

Times include reading the files, as the paper's do. pyfixest ``feols`` in
memory (reading the same files into one DataFrame first, timed as well) gives
the within rows at sizes where it fits (timed after a small warm-up fit that
compiles its kernels); ``--pyfixest-max`` caps its size.
The paper's minutes (Stata 18, 4 cores, 51 M rows; the 1 GB column) are
printed alongside.

    python benchmarks/bench_table1.py --n 5000000
    python benchmarks/bench_table1.py --n 50000000 --pyfixest-max 5000000

``--subset N`` first checks the big files against memory: the first N rows of
the unsorted files, streamed by skbigreg in chunks and read whole by pyfixest,
give the same coefficients and errors (OLS and IV, nonrobust and CRV1 by
cell); ``--skip-table`` then stops before the timed rows.

    python benchmarks/bench_table1.py --n 51449770 --subset 5000000 --skip-table
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

EXOG = ["age", "age_first_birth", "first_boy"]
N_BOOT = 500

# The paper's Table 1, 1 GB column (minutes); "Full Estimation" IV in Stata's
# standard procedure needed 32 GB (226 min).
PAPER_MINUTES = {
    ("OLS", "within"): 4.060, ("OLS", "within, clustered"): 7.979,
    ("OLS", "within, clustered bootstrap"): 4.086,
    ("OLS", "within, clustered bootstrap (s)"): 3.684, ("OLS", "full estimation"): 4.016,
    ("IV", "within"): 4.600, ("IV", "within, clustered"): 8.575,
    ("IV", "within, clustered bootstrap"): 4.428,
    ("IV", "within, clustered bootstrap (s)"): 4.267, ("IV", "full estimation"): 4.362,
}


def _features(model):
    return ["fertility"] + EXOG if model == "OLS" else ["fertility", "twin"] + EXOG


def _source(folder, model, chunk_rows, clustered):
    from skbigreg.io import read_files

    return read_files(str(folder), target="participation", features=_features(model),
                      entities="cell", clusters="cell" if clustered else None,
                      batch_rows=chunk_rows)


def _estimator(model, cov_type):
    from skbigreg.linear_model import CumulativeFixedEffectsRegression, CumulativeIVRegression

    if model == "OLS":
        return CumulativeFixedEffectsRegression(cov_type=cov_type)
    return CumulativeIVRegression(endogenous=["fertility"], instruments=["twin"],
                                  cov_type=cov_type)


class _WithDummies:
    """Chunks of the file source with the cells appended as sparse dummy columns."""

    def __init__(self, source, n_cells):
        self.source, self.n_cells = source, n_cells

    def __iter__(self):
        import scipy.sparse as sp

        for chunk in self.source:
            rows = chunk.n_rows
            cells = np.asarray(chunk.label("entities"))
            dummies = sp.csr_matrix((np.ones(rows), (np.arange(rows), cells)),
                                    shape=(rows, self.n_cells))[:, 1:]
            X = sp.hstack([sp.csr_matrix(chunk.X), dummies], format="csr")
            yield {"X": X, "y": chunk.y}


def run_ours(model, row, folders, chunk_rows, n_cells):
    from skbigreg.inference import cluster_bootstrap
    from skbigreg.linear_model import CumulativeIVRegression, CumulativeLinearRegression

    start = time.perf_counter()
    if row == "full estimation":
        source = _WithDummies(_source(folders["unsorted"], model, chunk_rows, False), n_cells)
        # Sparse X has no column names: fertility is column 0, the twin instrument 1.
        est = (CumulativeLinearRegression() if model == "OLS" else
               CumulativeIVRegression(endogenous=[0], instruments=[1]))
        results = est.fit_chunks(source).results()
        coef, bse = results.params.iloc[1], results.bse.iloc[1]  # after the intercept
    else:
        clustered = row != "within"
        folder = folders["sorted" if row.endswith("(s)") else "unsorted"]
        est = _estimator(model, "cluster" if clustered else "nonrobust")
        est.fit_chunks(_source(folder, model, chunk_rows, clustered))
        results = est.results()
        coef, bse = results.params["fertility"], results.bse["fertility"]
        if "bootstrap" in row:
            bse = cluster_bootstrap(est, n_resamples=N_BOOT, random_state=0).bse["fertility"]
    return {"seconds": time.perf_counter() - start, "coef": float(coef), "bse": float(bse)}


def run_pyfixest(model, row, folders, chunk_rows, n_cells):
    import warnings

    import pandas as pd
    import pyfixest as pf

    formula = ("participation ~ fertility + age + age_first_birth + first_boy | cell"
               if model == "OLS" else
               "participation ~ age + age_first_birth + first_boy | cell | fertility ~ twin")
    vcov = "iid" if row == "within" else {"CRV1": "cell"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pf.feols(formula, pd.read_parquet(folders["unsorted"] / "part-00000.parquet").iloc[:10_000],
                 vcov=vcov)  # warm-up: compile the kernels
        start = time.perf_counter()
        data = pd.read_parquet(folders["unsorted"])
        read = time.perf_counter() - start
        fit = pf.feols(formula, data, vcov=vcov)
        coef, bse = fit.coef()["fertility"], fit.se()["fertility"]
    return {"seconds": time.perf_counter() - start, "read_seconds": read,
            "coef": float(coef), "bse": float(bse)}


def fit_all_ours(folder, chunk_rows):
    """Every coefficient and error of the four within fits, streamed from the files."""
    out = {}
    for model in ("OLS", "IV"):
        for cov_type in ("nonrobust", "cluster"):
            est = _estimator(model, cov_type)
            est.fit_chunks(_source(folder, model, chunk_rows, cov_type == "cluster"))
            results = est.results()
            out[f"{model} {cov_type}"] = {"coef": results.params.to_dict(),
                                           "bse": results.bse.to_dict()}
    return out


def fit_all_pyfixest(folder, chunk_rows):
    """The same four fits by pyfixest on the same rows read into memory."""
    import warnings

    import pandas as pd
    import pyfixest as pf

    data = pd.read_parquet(folder)
    out = {}
    for model in ("OLS", "IV"):
        formula = ("participation ~ fertility + age + age_first_birth + first_boy | cell"
                   if model == "OLS" else
                   "participation ~ age + age_first_birth + first_boy | cell | fertility ~ twin")
        for cov_type, vcov in (("nonrobust", "iid"), ("cluster", {"CRV1": "cell"})):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                # skbigreg keeps singleton cells (as fixest with fixef.rm = "none"); a
                # singleton changes no coefficient but does change the cluster count.
                fit = pf.feols(formula, data, vcov=vcov, fixef_rm="none")
            out[f"{model} {cov_type}"] = {"coef": fit.coef().to_dict(), "bse": fit.se().to_dict()}
    return out


def subset_check(folder, n_subset, args):
    """First ``n_subset`` rows of the unsorted files: streamed fits vs pyfixest in memory."""
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    subset = folder / f"subset-{n_subset}"
    if not subset.exists():
        subset.mkdir()
        table = ds.dataset(folder / "unsorted").head(n_subset)
        pq.write_table(table, subset / "part-00000.parquet", row_group_size=500_000)
        del table
    results = {which: in_child(which, "OLS", "all", subset, args)
               for which in ("check-ours", "check-pyfixest")}
    ours, theirs = results["check-ours"], results["check-pyfixest"]
    for which, result in results.items():
        if "error" in result:
            raise SystemExit(f"{which} failed: {result['error']}")
    print(f"first {n_subset:,} rows: streamed (chunks of {args.chunk_rows:,}) vs pyfixest "
          f"in memory; peak RSS {ours['peak_rss_mb']:.0f} MB vs {theirs['peak_rss_mb']:.0f} MB")
    worst, worst_se = 0.0, 0.0
    for fit in ours["fits"]:
        a, b = ours["fits"][fit], theirs["fits"][fit]
        coef = max(abs(a["coef"][name] - b["coef"][name]) for name in b["coef"])
        bse = max(abs(a["bse"][name] / b["bse"][name] - 1) for name in b["bse"])
        worst, worst_se = max(worst, coef), max(worst_se, bse)
        print(f"  {fit:14s} largest |coef difference| {coef:.1e}, "
              f"largest relative se difference {bse:.1e}")
    print(f"  coefficients equal to 1e-8: {worst <= 1e-8}; errors equal to 1e-6 "
          f"(relative): {worst_se <= 1e-6}")


def child(args):
    if args.child.startswith("check-"):
        fit_all = fit_all_ours if args.child == "check-ours" else fit_all_pyfixest
        result = {"fits": fit_all(Path(args.folder), args.chunk_rows),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
        print(json.dumps(result))
        return
    folders = {"unsorted": Path(args.folder) / "unsorted", "sorted": Path(args.folder) / "sorted"}
    run = {"ours": run_ours, "pyfixest": run_pyfixest}[args.child]
    result = run(args.model, args.row, folders, args.chunk_rows, args.cells)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def in_child(which, model, row, folder, args):
    out = subprocess.run([sys.executable, __file__, "--child", which, "--model", model,
                          "--row", row, "--folder", str(folder), "--cells", str(args.cells),
                          "--chunk-rows", str(args.chunk_rows)],
                         capture_output=True, text=True)
    if out.returncode:
        return {"error": out.stderr.strip().splitlines()[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def median_runs(which, model, row, folder, args):
    runs = [in_child(which, model, row, folder, args) for _ in range(args.repeats)]
    if any("error" in run for run in runs):
        return next(run for run in runs if "error" in run)
    return {key: float(np.median([run[key] for run in runs])) for key in runs[0]}


def write_data(folder, args):
    from skbigreg.datasets import make_fertility_parquet

    for order in ("unsorted", "sorted"):
        start = time.perf_counter()
        make_fertility_parquet(folder / order, args.n, args.cells, rows_per_file=args.file_rows,
                               sort_by_cell=order == "sorted", random_state=0)
        print(f"wrote {args.n:,} rows ({order}) in {time.perf_counter() - start:.1f} s",
              flush=True)


ROWS = ["within", "within, clustered", "within, clustered bootstrap",
        "within, clustered bootstrap (s)", "full estimation"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5_000_000)
    parser.add_argument("--cells", type=int, default=434)
    parser.add_argument("--file-rows", type=int, default=2_000_000)
    parser.add_argument("--chunk-rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pyfixest-max", type=int, default=5_000_000)
    parser.add_argument("--folder", help="reuse files written there by an earlier run")
    parser.add_argument("--subset", type=int, help="check the first N rows against pyfixest")
    parser.add_argument("--skip-table", action="store_true")
    parser.add_argument("--child", choices=["ours", "pyfixest", "check-ours", "check-pyfixest"])
    parser.add_argument("--model", choices=["OLS", "IV"])
    parser.add_argument("--row")
    args = parser.parse_args()
    if args.child:
        return child(args)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(args.folder or scratch)
        if not (folder / "sorted").exists():
            write_data(folder, args)
        if args.subset:
            subset_check(folder, args.subset, args)
        if args.skip_table:
            return
        print(f"N = {args.n:,} rows, {args.cells} cells, chunks of {args.chunk_rows:,} rows, "
              f"{N_BOOT} bootstrap resamples, medians of {args.repeats} runs")
        print(f"{'':6s}{'row':34s}{'ours s':>8s}{'RSS MB':>8s}{'pyfixest s':>11s}{'RSS MB':>8s}"
              f"{'paper min':>10s}  fertility coef se (ours - pyfixest coef; pyfixest se)")
        for model in ("OLS", "IV"):
            for row in ROWS:
                ours = median_runs("ours", model, row, folder, args)
                theirs = {}
                if row in ("within", "within, clustered") and args.n <= args.pyfixest_max:
                    theirs = median_runs("pyfixest", model, row, folder, args)
                print(_line(model, row, ours, theirs), flush=True)


def _line(model, row, ours, theirs):
    if "error" in ours:
        return f"{model:6s}{row:34s} failed: {ours['error']}"
    text = f"{model:6s}{row:34s}{ours['seconds']:8.1f}{ours['peak_rss_mb']:8.0f}"
    if "seconds" in theirs:
        text += f"{theirs['seconds']:11.1f}{theirs['peak_rss_mb']:8.0f}"
    else:
        text += f"{'-':>11s}{'-':>8s}"
    text += f"{PAPER_MINUTES[(model, row)]:10.2f}  {ours['coef']:.6f} se {ours['bse']:.6f}"
    if "coef" in theirs:
        text += f" ({ours['coef'] - theirs['coef']:+.1e}; {theirs['bse']:.6f})"
    return text


if __name__ == "__main__":
    main()
