"""Several fitted models side by side (statsmodels' ``summary_col``, fixest's ``etable``)."""

from __future__ import annotations

from html import escape

import numpy as np
import pandas as pd

from ._results import RegressionResults
from ._summary import format_value, latex_escape

# (threshold, stars): a p-value below the threshold earns the stars
STARS = ((0.01, "***"), (0.05, "**"), (0.1, "*"))


def compare(results, names=None, stars=True, digits=4):
    """Coefficients of several models in one table, one column per model.

    Each parameter shows its coefficient (with significance stars) and, below
    it, its standard error in parentheses; rows are the union of the models'
    parameter names in order of first appearance. Below them: the dependent
    variable, the number of observations, R² (least squares only) and the
    covariance type.

    Parameters
    ----------
    results : sequence of RegressionResults or fitted estimators
        An estimator stands for its ``results()``.
    names : sequence of str, optional
        Column headers; ``"(1)"``, ``"(2)"``, ... by default.
    stars : bool
        Mark p-values below 0.01 (``***``), 0.05 (``**``) and 0.1 (``*``).
    digits : int
        Decimals of coefficients, standard errors and R².

    Returns
    -------
    ModelComparison
        ``print`` it, or ``to_frame()``, ``as_html()``, ``as_latex()``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skbigreg.linear_model import CumulativeLinearRegression
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(rng.normal(size=(1_000, 2)), columns=["a", "b"])
    >>> y = pd.Series(1 + X["a"] + rng.normal(size=1_000), name="sales")
    >>> short = CumulativeLinearRegression().fit(X[["a"]], y)
    >>> long = CumulativeLinearRegression(cov_type="HC1").fit(X, y)
    >>> table = compare([short, long], names=["short", "long"])
    >>> table.to_frame().index.tolist()
    ['const', '', 'a', '', 'b', '', 'Dep. Variable', 'N', 'R-squared', 'Covariance Type']
    >>> table.to_frame().loc["Covariance Type"].tolist()
    ['nonrobust', 'HC1']
    """
    results = [_as_results(item, position) for position, item in enumerate(_as_list(results))]
    names = _column_names(names, len(results))
    return ModelComparison(results, names, stars=stars, digits=digits)


def _as_list(results):
    if isinstance(results, RegressionResults) or hasattr(results, "results"):
        raise ValueError("compare needs a sequence of models, e.g. compare([m1, m2]); got one model.")
    results = list(results)
    if not results:
        raise ValueError("compare needs at least one model; got an empty sequence.")
    return results


def _as_results(item, position):
    if not isinstance(item, RegressionResults) and callable(getattr(item, "results", None)):
        item = item.results()
    if not isinstance(item, RegressionResults):
        raise ValueError(  # noqa: TRY004 (bad input is a ValueError throughout)
            f"compare: model {position} is a {type(item).__name__}, not a RegressionResults "
            "or a fitted estimator whose results() returns one."
        )
    return item


def _column_names(names, count):
    if names is None:
        return [f"({i + 1})" for i in range(count)]
    names = [str(name) for name in names]
    if len(names) != count:
        raise ValueError(f"compare: {len(names)} names for {count} models.")
    if len(set(names)) != count:
        raise ValueError(f"compare: the column names must differ; got {names}.")
    return names


def significance_stars(pvalue):
    """``"***"``, ``"**"``, ``"*"`` or ``""`` for p below 0.01, 0.05, 0.1 (NaN: none).

    Examples
    --------
    >>> [significance_stars(p) for p in (0.001, 0.01, 0.07, 0.5, float("nan"))]
    ['***', '**', '*', '', '']
    """
    return next((mark for threshold, mark in STARS if pvalue < threshold), "")


class ModelComparison:
    """A side-by-side table of fitted models, built by :func:`compare`.

    Attributes
    ----------
    results : list of RegressionResults
    names : list of str
        Column headers.
    params, bse, pvalues : pandas.DataFrame
        One column per model, one row per parameter (NaN where a model lacks
        the parameter).
    """

    def __init__(self, results, names, stars=True, digits=4):
        self.results = results
        self.names = names
        self.stars = stars
        self.digits = digits
        self.params = self._stack("params")
        self.bse = self._stack("bse")
        self.pvalues = self._stack("pvalues")

    def _stack(self, attribute):
        # concat aligns the parameters in order of first appearance
        columns = [getattr(res, attribute).rename(name) for res, name in zip(self.results, self.names)]
        return pd.concat(columns, axis=1, sort=False)

    def _number(self, value):
        return f"{value:.{self.digits}f}"

    def _coefficient_rows(self):
        rows = []
        for name in self.params.index:
            coef, se = [], []
            for res, model in zip(self.results, self.names):
                if name not in res.params.index:
                    coef.append("")
                    se.append("")
                    continue
                b, s, p = (self.params.at[name, model], self.bse.at[name, model], self.pvalues.at[name, model])
                coef.append(self._number(b) + (significance_stars(p) if self.stars else ""))
                se.append(f"({self._number(s)})")
            rows += [(name, coef), ("", se)]
        return rows

    def _statistic_rows(self):
        def r2(res):
            return "" if np.isnan(res.rsquared) else self._number(res.rsquared)

        return [
            ("Dep. Variable", [res.target for res in self.results]),
            ("N", [format_value(res.nobs) for res in self.results]),
            ("R-squared", [r2(res) for res in self.results]),
            ("Covariance Type", [res._cov_label() for res in self.results]),
        ]

    def _rows(self):
        return self._coefficient_rows() + self._statistic_rows()

    def _notes(self):
        notes = ["Standard errors in parentheses."]
        if self.stars:
            notes.append("* p<0.1, ** p<0.05, *** p<0.01")
        return notes

    def to_frame(self):
        """The table's text as a DataFrame (the standard error rows are labelled ``""``)."""
        rows = self._rows()
        return pd.DataFrame([cells for _, cells in rows], index=[label for label, _ in rows],
                            columns=self.names)

    def as_text(self):
        """The table as fixed-width text (what ``print`` shows), decimal points aligned."""
        rows = self._aligned_rows()
        label_width = max(len(str(label)) for label, _ in rows) + 2
        widths = [max(len(cells[j]) for _, cells in [("", self.names), *rows]) + 2
                  for j in range(len(self.names))]
        header = " " * label_width + "".join(name.center(w) for name, w in zip(self.names, widths))
        lines = [f"{label!s:<{label_width}}" + "".join(c.rjust(w) for c, w in zip(cells, widths))
                 for label, cells in rows]
        width = max(len(line) for line in [header, *lines])
        coefficients = 2 * len(self.params.index)
        body = ["=" * width, header, "-" * width, *lines[:coefficients], "-" * width,
                *lines[coefficients:], "=" * width]
        return "\n".join([line.rstrip() for line in body] + self._notes())

    def _aligned_rows(self):
        # every cell's number ends at the same place: room after it for the stars
        room = 3 if self.stars else 1
        coefficients = 2 * len(self.params.index)
        aligned = []
        for i, (label, cells) in enumerate(self._rows()):
            if i < coefficients and i % 2 == 0:  # a coefficient: its stars fill the room
                cells = [c + " " * (room - (len(c) - len(c.rstrip("*")))) if c else c for c in cells]
            elif i < coefficients:  # a standard error: its ")" takes one place of the room
                cells = [c + " " * (room - 1) if c else c for c in cells]
            else:
                cells = [c + " " * room for c in cells]
            aligned.append((label, cells))
        return aligned

    __str__ = as_text

    def __repr__(self):
        return self.as_text()

    def as_html(self):
        """The table as HTML (what notebooks show)."""
        head = "<tr><th></th>" + "".join(f"<th>{escape(name)}</th>" for name in self.names) + "</tr>"
        body = "".join(
            f"<tr><th>{escape(str(label))}</th>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>"
            for label, cells in self._rows()
        )
        notes = " ".join(escape(note) for note in self._notes())
        return (f'<table class="skbigreg-compare"><thead>{head}</thead><tbody>{body}</tbody>'
                f'<caption style="caption-side: bottom">{notes}</caption></table>')

    def _repr_html_(self):
        return self.as_html()

    def as_latex(self):
        """The table as one LaTeX ``tabular``."""
        width = 1 + len(self.names)

        def line(label, cells):
            return " & ".join([latex_escape(str(label)), *map(latex_escape, cells)]) + r" \\"

        coefficients = 2 * len(self.params.index)
        rows = self._rows()
        lines = [rf"\begin{{tabular}}{{l{'c' * (width - 1)}}}", r"\hline", line("", self.names), r"\hline",
                 *(line(*row) for row in rows[:coefficients]), r"\hline",
                 *(line(*row) for row in rows[coefficients:]), r"\hline"]
        lines += [rf"\multicolumn{{{width}}}{{l}}{{{latex_escape(note)}}} \\" for note in self._notes()]
        return "\n".join(lines + [r"\end{tabular}"])
