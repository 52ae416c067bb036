"""The frozen design built with numpy where formulaic's per-chunk overhead is not needed.

formulaic materialises a chunk through pandas, factor by factor; on a
64k-row chunk that costs as much as the statistics themselves. Two kinds
of terms are simple enough to write straight into the design buffer:
numeric columns looked up by name, and one categorical factor coded by
indicators of its frozen levels (treatment or full-rank dummies, the
defaults). Every other numeric term (``np.log(x)``, ``center(x)``, splines,
numeric interactions) goes through formulaic, in one sub-spec holding
their frozen state: a numeric term's columns do not depend on the other
terms. A formula with any other term (an interaction with a category,
another contrast) is encoded by formulaic whole. The plan is checked
against formulaic's own encoding when the spec is frozen.
"""

from __future__ import annotations

import numpy as np
from formulaic.parser.types import Factor

from ._data import is_arrow
from ._variables import categorical_arguments, data_names

_NUMERICAL = "numerical"
_CATEGORICAL = "categorical"


class DesignPlan:
    """Where each design column comes from, for one frozen right-hand side."""

    def __init__(self, n_columns, lookups, indicators, numeric_positions, numeric_spec):
        self.n_columns = n_columns
        self.lookups = lookups                  # [(position, column)]
        self.indicators = indicators            # [(positions, column, level indices)]
        self.numeric_positions = numeric_positions
        self.numeric_spec = numeric_spec        # formulaic sub-spec, or None
        self.numeric_columns = [] if numeric_spec is None else list(dict.fromkeys(
            name for part in numeric_spec.structure for factor in part.term.factors
            for name in data_names(factor)))

    def design(self, frame, codes):
        """The design of ``frame`` (categorical ``codes`` of the frozen levels by column).

        ``frame`` is a pandas frame or an Arrow record batch: numeric
        columns are copied straight out of Arrow, and only the columns of
        formulaic's numeric terms are converted to pandas for formulaic.
        """
        n = len(frame)
        X = np.empty((self.n_columns, n)).T  # column-major: each column one contiguous write
        arrow = is_arrow(frame)
        for position, column in self.lookups:
            X[:, position] = (frame.column(column).to_numpy(zero_copy_only=False) if arrow
                              else frame[column].to_numpy(dtype=np.float64))
        for positions, column, levels in self.indicators:
            found = codes[column]
            for position, level in zip(positions, levels):
                np.equal(found, level, out=X[:, position])
        if self.numeric_spec is not None:
            data = numeric_frame(frame, self.numeric_columns) if arrow else frame
            X[:, self.numeric_positions] = np.asarray(
                self.numeric_spec.get_model_matrix(data, output="numpy"), dtype=np.float64)
        return X


def numeric_frame(batch, columns):
    """Numeric ``columns`` of an Arrow batch without missing values, as a pandas frame.

    Built from the numpy arrays (zero-copy where Arrow allows): what
    ``to_pandas`` gives for such columns, without its per-call overhead.
    """
    import pandas as pd

    return pd.DataFrame({column: batch.column(column).to_numpy(zero_copy_only=False)
                         for column in columns}, copy=False)


def plan_design(rhs_spec, levels):
    """A :class:`DesignPlan` for ``rhs_spec`` (a frozen ModelSpec), or None for formulaic whole."""
    lookups, indicators, numeric_terms, numeric_positions = [], [], [], []
    position = 0
    for part in rhs_spec.structure:
        if str(part.term) == "1":
            continue
        positions = list(range(position, position + len(part.columns)))
        position += len(part.columns)
        kinds = [_kind(rhs_spec, factor) for factor in part.term.factors]
        if all(kind == _NUMERICAL for kind in kinds):
            factor = part.term.factors[0]
            if len(kinds) == 1 and factor.eval_method is Factor.EvalMethod.LOOKUP:
                lookups.append((positions[0], factor.expr))
            else:
                numeric_terms.append(str(part.term))
                numeric_positions.extend(positions)
            continue
        indicator = _indicator(rhs_spec, part, levels) if len(kinds) == 1 else None
        if indicator is None:
            return None
        column, level_index = indicator
        indicators.append((np.array(positions), column, level_index))
    numeric_spec = rhs_spec.subset(numeric_terms) if numeric_terms else None
    if numeric_spec is not None and list(numeric_spec.column_names) != [
            name for part in rhs_spec.structure if str(part.term) in numeric_terms
            for name in part.columns]:
        return None
    return DesignPlan(position, lookups, indicators, numeric_positions, numeric_spec)


def _kind(rhs_spec, factor):
    state = rhs_spec.encoder_state.get(factor.expr)
    return None if state is None else state[0].value


def _indicator(rhs_spec, part, levels):
    """(column, level index per design column) when every column is a level's indicator."""
    factor = part.term.factors[0]
    if factor.eval_method is Factor.EvalMethod.LOOKUP:
        column = factor.expr
    else:
        arguments = categorical_arguments(factor)
        if len(arguments) != 1:
            return None
        column = arguments[0]
    if column not in levels:
        return None
    state = rhs_spec.encoder_state[factor.expr][1]
    if list(state.get("categories", [])) != list(levels[column]):
        return None
    index = {str(level): i for i, level in enumerate(levels[column])}
    if len(index) != len(levels[column]):
        return None
    found = []
    for name in part.columns:
        prefix = f"{factor.expr}["
        if not (name.startswith(prefix) and name.endswith("]")):
            return None
        inner = name[len(prefix):-1]
        inner = inner[2:] if inner.startswith("T.") and inner[2:] in index else inner
        if inner not in index:
            return None
        found.append(index[inner])
    return column, np.array(found)
