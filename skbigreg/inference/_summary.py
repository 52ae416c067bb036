"""The one text renderer of coefficient tables (statsmodels' layout)."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

WIDTH = 78


def format_value(value):
    """Header text of one value: counts as integers, other numbers to 4 digits.

    Strings are kept as given (a caller that needs more digits formats them
    itself).

    Examples
    --------
    >>> format_value(1234567), format_value(1234567.0), format_value(0.123456)
    ('1234567', '1234567', '0.1235')
    """
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, Integral):
        return f"{int(value):d}"
    if isinstance(value, Real) and float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):d}"
    return f"{value:.4g}"


def format_summary(title, left, right, frame, notes=()):
    """statsmodels-style text: a two-column header, the coefficients, notes.

    Parameters
    ----------
    title : str
    left, right : sequence of (label, value) pairs
        The header's columns; values are formatted by :func:`format_value`.
    frame : pandas.DataFrame
        The coefficient table (``RegressionResults.summary_frame``): coef,
        std err, statistic, p-value, interval bounds, then any further
        columns, one row per parameter.
    notes : sequence of str
        Numbered below the table.

    Returns
    -------
    str

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"coef": [1.0], "std err": [0.5], "z": [2.0], "P>|z|": [0.0455],
    ...                       "[0.025": [0.02], "0.975]": [1.98]}, index=["x0"])
    >>> text = format_summary("Results", [("No. Observations:", 1000000)], [("Scale:", 1.0)], frame)
    >>> "1000000" in text and "x0" in text
    True
    """
    left = [(label, format_value(value)) for label, value in left]
    right = [(label, format_value(value)) for label, value in right]
    rows = max(len(left), len(right))
    left += [("", "")] * (rows - len(left))
    right += [("", "")] * (rows - len(right))
    lines = [title.center(WIDTH), "=" * WIDTH]
    for (lk, lv), (rk, rv) in zip(left, right):
        lines.append(_header_line(lk, lv, rk, rv))
    lines.append("=" * WIDTH)
    lines += _coefficient_lines(frame)
    if notes:
        lines += ["Notes:"] + [f"[{i + 1}] {note}" for i, note in enumerate(notes)]
    return "\n".join(lines)


def _header_line(lk, lv, rk, rv):
    # a long value may take label space, keeping one blank after the label;
    # one longer still is cut so the table keeps its width
    room = 37 - len(lk)
    if len(lv) > room:
        lv = lv[: room - 3] + "..."
    first = f"{lk:<20}{lv:>18}" if len(lv) <= 18 else f"{lk} {lv:>{room}}"
    pair = f"{rk:<20}{rv:>17}" if len(rv) <= 17 else f"{rk} {rv:>{36 - len(rk)}}"
    return f"{first}   {pair}".rstrip()


_CELL = ("{:11.4g}", "{:11.3g}", "{:11.3f}", "{:11.3f}", "{:11.4g}", "{:11.4g}")


def _coefficient_lines(frame):
    name_width = max(12, max((len(str(n)) for n in frame.index), default=0) + 1)
    header = f"{'':<{name_width}}" + "".join(f"{c:>11}" for c in frame.columns)
    rule = max(WIDTH, len(header))
    lines = [header, "-" * rule]
    for name, row in frame.iterrows():
        cells = [_CELL[i] if i < len(_CELL) else "{:11.4g}" for i in range(len(row))]
        lines.append(f"{name!s:<{name_width}}" + "".join(c.format(v) for c, v in zip(cells, row)))
    lines.append("=" * rule)
    return lines
