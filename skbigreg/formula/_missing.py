"""Rows a formula fit drops: missing values in used columns, NaN in the design.

As statsmodels' ``missing="drop"``: such rows are dropped and counted in a
:class:`~skbigreg.io.ScanReport` (per column, or per term for NaN made by a
transform), or refused with ``missing="raise"``. Shared by the pandas and
the Arrow encodings, so both count and word them the same way.
"""

from __future__ import annotations

import numpy as np


def drop_missing(frame, columns, missing, report):
    """``frame`` without rows missing a value in ``columns`` (counted), or raise."""
    isna = frame[columns].isna()
    counts = isna.sum()
    if not counts.any():
        return frame
    bad = isna.any(axis=1).to_numpy()
    count_missing({column: int(count) for column, count in counts[counts > 0].items()},
                   int(bad.sum()), missing, report)
    return frame.loc[~bad]


def count_missing(counts, n_bad, missing, report):
    """Count ``n_bad`` rows dropped for missing values (``counts`` per column), or raise."""
    if missing == "raise":
        column, count = next(iter(counts.items()))
        raise ValueError(
            f"Column {column!r} has {count} missing value(s) in a chunk; drop "
            "those rows with missing='drop' (the default), or fill them."
        )
    for column, count in counts.items():
        report.dropped_by_column[column] = report.dropped_by_column.get(column, 0) + count
    report.rows_dropped += n_bad


def drop_undefined(X, y, names, target, missing, report, suspects=None):
    """Mask of rows whose design and response are defined (None: all), as statsmodels drops NaN.

    ``suspects`` are the only design columns that can hold NaN (None: any).
    """
    if not (np.isnan(X if suspects is None else X[:, suspects]).any() or np.isnan(y).any()):
        return None
    bad_X = np.isnan(X)
    bad_y = np.isnan(y)
    counts = dict(zip(names, bad_X.sum(axis=0)))
    counts[target] = bad_y.sum()
    if missing == "raise":
        term = next(name for name, count in counts.items() if count)
        raise ValueError(f"The term {term!r} is undefined (NaN) for {counts[term]} row(s) of a "
                         "chunk; drop those rows with missing='drop' (the default).")
    for name, count in counts.items():
        if count:
            report.dropped_by_column[name] = report.dropped_by_column.get(name, 0) + int(count)
    bad = bad_X.any(axis=1) | bad_y
    report.rows_dropped += int(bad.sum())
    return ~bad
