"""The one renderer of coefficient tables: text (statsmodels' layout), HTML, LaTeX."""

from __future__ import annotations

from html import escape
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
    lines = [title.center(WIDTH), "=" * WIDTH]
    for (lk, lv), (rk, rv) in _header_rows(_formatted(left), _formatted(right)):
        lines.append(_header_line(lk, lv, rk, rv))
    lines.append("=" * WIDTH)
    lines += _coefficient_lines(frame)
    if notes:
        lines += ["Notes:"] + [f"[{i + 1}] {note}" for i, note in enumerate(notes)]
    return "\n".join(lines)


def _formatted(pairs):
    """``(label, text)`` pairs, each value put through :func:`format_value`."""
    return [(label, format_value(value)) for label, value in pairs]


def _header_rows(left, right):
    """The header's rows ``(left pair, right pair)``, the shorter column padded with blanks."""
    rows = max(len(left), len(right))
    pad = [("", "")] * rows
    return list(zip((left + pad)[:rows], (right + pad)[:rows]))


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


def _cells(row):
    """The text of one coefficient row's numbers, each 11 characters wide."""
    formats = [_CELL[i] if i < len(_CELL) else "{:11.4g}" for i in range(len(row))]
    return [form.format(value) for form, value in zip(formats, row)]


def _coefficient_lines(frame):
    name_width = max(12, max((len(str(n)) for n in frame.index), default=0) + 1)
    header = f"{'':<{name_width}}" + "".join(f"{c:>11}" for c in frame.columns)
    rule = max(WIDTH, len(header))
    lines = [header, "-" * rule]
    for name, row in frame.iterrows():
        lines.append(f"{name!s:<{name_width}}" + "".join(_cells(row)))
    lines.append("=" * rule)
    return lines


class Summary:
    """A results summary: the header, the coefficient table and notes.

    ``str(summary)`` (and :meth:`as_text`) is statsmodels' text layout;
    notebooks show :meth:`as_html`; :meth:`as_latex` is a ``tabular`` for
    papers. Built by ``RegressionResults.summary``.

    Parameters
    ----------
    title : str
    left, right : sequence of (label, value) pairs
        The header's columns; values are formatted by :func:`format_value`.
    frame : pandas.DataFrame
        The coefficient table (``RegressionResults.summary_frame``).
    notes : sequence of str
        Numbered below the table.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"coef": [1.0], "std err": [0.5], "z": [2.0], "P>|z|": [0.0455],
    ...                       "[0.025": [0.02], "0.975]": [1.98]}, index=["x_0"])
    >>> summary = Summary("Results", [("No. Observations:", 1000)], [("Scale:", 1.0)], frame)
    >>> str(summary) == summary.as_text() and "<td>x_0</td>" in summary.as_html()
    True
    >>> print(summary.as_latex().splitlines()[0])
    \\begin{tabular}{lrrrrrr}
    """

    def __init__(self, title, left, right, frame, notes=()):
        self.title = title
        self.left = _formatted(left)
        self.right = _formatted(right)
        self.frame = frame
        self.notes = list(notes)

    def as_text(self):
        """statsmodels' text layout (what ``print`` shows)."""
        return format_summary(self.title, self.left, self.right, self.frame, self.notes)

    __str__ = as_text

    def __repr__(self):
        # an interactive session shows the table, as it did when summaries were strings
        return self.as_text()

    def as_html(self):
        """Two HTML tables (the header, the coefficients), then the notes as a list."""
        header = "".join(
            "<tr>" + "".join(f"<th>{escape(label)}</th><td>{escape(value)}</td>"
                             for label, value in pair) + "</tr>"
            for pair in _header_rows(self.left, self.right)
        )
        columns = "".join(f"<th>{escape(str(column))}</th>" for column in self.frame.columns)
        body = "".join(
            f"<tr><td>{escape(str(name))}</td>"
            + "".join(f"<td>{cell.strip()}</td>" for cell in _cells(row)) + "</tr>"
            for name, row in self.frame.iterrows()
        )
        notes = "".join(f"<li>{escape(note)}</li>" for note in self.notes)
        return (
            f'<table class="skbigreg-summary"><caption>{escape(self.title)}</caption>'
            f"{header}</table>\n"
            f'<table class="skbigreg-summary"><thead><tr><th></th>{columns}</tr></thead>'
            f"<tbody>{body}</tbody></table>"
            + (f"\n<ol>{notes}</ol>" if notes else "")
        )

    def _repr_html_(self):
        return self.as_html()

    def as_latex(self):
        """One LaTeX ``tabular``: the title, the header pairs, the coefficients, the notes."""
        width = 1 + len(self.frame.columns)
        # the header's four cells spread over the table's columns
        spans = [1, (width - 1) // 3, (width - 1) // 3]
        spans.append(width - sum(spans))
        lines = [f"\\begin{{tabular}}{{l{'r' * (width - 1)}}}", "\\hline",
                 _multicolumn(width, "c", self.title) + " \\\\", "\\hline"]
        for (lk, lv), (rk, rv) in _header_rows(self.left, self.right):
            cells = [(lk, "l"), (lv, "r"), (rk, "l"), (rv, "r")]
            lines.append(" & ".join(_multicolumn(span, align, text) if span > 1 else latex_escape(text)
                                    for span, (text, align) in zip(spans, cells)) + " \\\\")
        lines += ["\\hline", " & ".join(["", *map(latex_escape, map(str, self.frame.columns))]) + " \\\\",
                  "\\hline"]
        for name, row in self.frame.iterrows():
            lines.append(" & ".join([latex_escape(str(name)), *(c.strip() for c in _cells(row))]) + " \\\\")
        lines.append("\\hline")
        lines += [_multicolumn(width, "l", f"[{i + 1}] {note}") + " \\\\" for i, note in enumerate(self.notes)]
        lines.append("\\end{tabular}")
        return "\n".join(lines)


def _multicolumn(span, align, text):
    return f"\\multicolumn{{{span}}}{{{align}}}{{{latex_escape(text)}}}"


_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                  "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                  "^": r"\textasciicircum{}", "<": r"\textless{}", ">": r"\textgreater{}",
                  "|": r"\textbar{}"}


def latex_escape(text):
    """``text`` with LaTeX's special characters escaped.

    Examples
    --------
    >>> print(latex_escape("x_1 (5%)"))
    x\\_1 (5\\%)
    """
    return "".join(_LATEX_SPECIAL.get(char, char) for char in str(text))
