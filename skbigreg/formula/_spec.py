"""A formula's encoding, frozen before the statistics pass.

The one rule of formulas on chunked data: every chunk is encoded the same
way. A chunk that lacks a level (or sees its own mean for ``center(x)``)
would otherwise get different columns, or columns that mean something else,
and merged statistics would silently mix them. So the levels of categorical
columns and the state of stateful transforms are fixed first -- from levels
the user declares, or from one pass over only the columns that need it --
and the frozen :class:`formulaic.ModelSpecs` then encodes every chunk.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from formulaic import model_matrix
from formulaic.parser.types import Factor

from ..base._design import column_names
from ..io import Chunk
from . import _arrow
from ._data import _pandas, _select, is_arrow
from ._fast import numeric_frame, plan_design
from ._missing import count_missing, drop_missing, drop_undefined
from ._variables import (
    categorical_arguments,
    data_names,
    factor_expressions,
    is_stateful,
)

#: The level that collects undeclared values when ``unseen="other"``.
OTHER = "other"

_MISSING = ("drop", "raise")
_UNSEEN = ("raise", "other")


class FormulaSpec:
    """The frozen encoding of a formula: one set of columns for every chunk.

    Built by :func:`freeze`; stored on a fitted estimator as
    ``design_spec_`` (also ``formula_spec_``), where the estimator's own
    ``predict``, ``score`` and ``results().get_prediction`` reuse it on
    frames of raw rows (the protocol of :mod:`skbigreg.base._design`:
    :meth:`transform`, :meth:`label`, :attr:`feature_names`).

    Attributes
    ----------
    formula : str
        The formulaic formula encoded (``"y ~ x + C(g)"``).
    model_spec : formulaic.ModelSpecs
        formulaic's frozen spec (``.lhs``, ``.rhs``), with every level and
        every stateful transform's state.
    levels : dict
        The levels of each categorical column, in encoding order (the first
        is the reference level of a treatment contrast).
    feature_names : list of str
        The design's columns, without formulaic's ``Intercept`` (the
        estimator's ``const``).
    has_intercept : bool
    target_name : str
    roles : dict
        Columns read as they are: ``{"sample_weight": "w", "clusters": "firm"}``;
        a list of columns is a table label (``{"entities": ["nr", "year"]}``,
        one absorbed factor per column).
    """

    def __init__(self, formula, model_spec, levels, other, variables, roles, missing):
        self.formula = formula
        self.model_spec = model_spec
        self.levels = levels
        self.other = other
        self.variables = variables
        self.roles = roles
        self.missing = missing
        names = list(model_spec.rhs.column_names)
        self.has_intercept = "Intercept" in names
        self.feature_names = [name for name in names if name != "Intercept"]
        self.target_name = model_spec.lhs.column_names[0]
        self._plan = plan_design(model_spec.rhs, levels)
        self._target_column = _plain_numeric(model_spec.lhs)
        self.lhs_columns = _side_columns(model_spec.lhs)
        self.rhs_columns = _side_columns(model_spec.rhs)
        self._uses = _arrow.column_uses(self)
        # Design columns that can be NaN once missing values are dropped: the
        # numpy plan's lookups and indicators cannot; formulaic's terms can.
        self._suspects = None if self._plan is None else self._plan.numeric_positions

    @property
    def dictionary_columns(self):
        """Columns worth reading dictionary-encoded: only looked up in their levels."""
        return [column for column, use in self._uses.items() if use == _arrow.CODED]

    @property
    def columns(self):
        """Every data column a chunk must have: the formula's, then weights and labels."""
        return list(dict.fromkeys(self.variables + role_columns(self.roles)))

    def encode(self, frame, report):
        """A chunk of rows (a frame of :attr:`columns`) as an encoded :class:`Chunk`.

        Rows with a missing value in a used column, or with NaN in the
        design (``np.log`` of a negative number), are dropped and counted in
        ``report`` (``missing="drop"``) or refused (``missing="raise"``).
        An Arrow chunk (files, Arrow tables) is encoded in Arrow where its
        column types allow (:mod:`._arrow`), else through pandas: the same
        numbers either way.
        """
        if is_arrow(frame):
            batch = _arrow.record_batch(frame)
            if batch is not None and _arrow.arrow_ready(batch, self._uses,
                                                        self.dictionary_columns):
                value_sets = _arrow.value_sets(batch, self.levels)
                if value_sets is not None:
                    return self._encode_arrow(batch, value_sets, report)
            frame = _pandas(_arrow.decoded(frame))
        report.rows_read += len(frame)
        frame = drop_missing(frame, self.columns, self.missing, report)
        codes = self._codes(frame)
        X, y = self._design(frame, codes), self._response(frame, codes)
        keep = drop_undefined(X, y, self.feature_names, self.target_name, self.missing, report,
                               self._suspects)
        if keep is not None:
            frame, X, y = frame[keep], X[keep], y[keep]
        X = pd.DataFrame(X, columns=self.feature_names, copy=False)
        weight = self.roles.get("sample_weight")
        w = None if weight is None else frame[weight].to_numpy(dtype=np.float64)
        labels = {role: _label(frame, column) for role, column in self.roles.items()
                  if role != "sample_weight"}
        return Chunk(X, y, w, labels)

    def _encode_arrow(self, batch, value_sets, report):
        """:meth:`encode` of an Arrow record batch, without pandas for its strings."""
        import pyarrow as pa

        report.rows_read += batch.num_rows
        counts, bad = _arrow.missing_counts(batch, self.columns)
        if bad is not None:
            count_missing(counts, int(bad.sum()), self.missing, report)
            batch = batch.filter(pa.array(~bad))
        codes = {}
        for column, value_set in value_sets.items():
            array = batch.column(column)
            codes[column] = self._known(column, _arrow.level_codes(array, value_set),
                                        lambda mask, array=array: _arrow.first_value(array, mask))
        frame = None  # pandas, built from the codes, only for what formulaic encodes
        if self._plan is not None:
            X = self._plan.design(batch, codes)
        else:
            frame = self._arrow_frame(batch, codes, self.variables)
            X = self._design(frame, codes)
        if self._target_column is not None:
            y = _arrow.numbers(batch.column(self._target_column))
        else:
            y = self._response(frame if frame is not None
                               else self._arrow_frame(batch, codes, self.lhs_columns), codes)
        keep = drop_undefined(X, y, self.feature_names, self.target_name, self.missing, report,
                               self._suspects)
        if keep is not None:
            batch, X, y = batch.filter(pa.array(keep)), X[keep], y[keep]
        X = pd.DataFrame(X, columns=self.feature_names, copy=False)
        weight = self.roles.get("sample_weight")
        w = None if weight is None else _arrow.numbers(batch.column(weight))
        labels = {role: _arrow.label(batch, column) for role, column in self.roles.items()
                  if role != "sample_weight"}
        return Chunk(X, y, w, labels)

    def transform(self, frame):
        """The design (a DataFrame of :attr:`feature_names`) of new rows, for prediction.

        ``frame`` is a pandas, polars or pyarrow frame holding (at least)
        the columns of the formula's right-hand side. Rows are kept one for
        one; a missing column, a missing value or a level not in
        :attr:`levels` raises ValueError naming the column, as in the fit.
        """
        _require_columns(self.formula, self.rhs_columns, {}, column_names(frame))
        frame = _select(frame, self.rhs_columns)
        counts = frame.isna().sum()
        if counts.any():
            column = counts.index[counts.to_numpy() > 0][0]
            raise ValueError(f"Column {column!r} has {int(counts[column])} missing value(s) in "
                             "the new rows; a prediction needs every column the formula uses.")
        X = self._design(frame, self._codes(frame))
        return pd.DataFrame(X, columns=self.feature_names, index=frame.index)

    def label(self, frame, role):
        """The ``role`` labels (e.g. ``"entities"``) of new rows ``frame``; None if the fit read none.

        A list of columns (several absorbed factors) gives a table.
        """
        given = self.roles.get(role)
        if given is None:
            return None
        _require_columns(self.formula, [], {role: given}, column_names(frame))
        if isinstance(given, (list, tuple)):
            return _select(frame, list(given)).reset_index(drop=True)
        return _select(frame, [given])[given].to_numpy()

    def _arrow_frame(self, batch, codes, columns):
        """``columns`` of ``batch`` as the pandas frame the pandas encoding would build.

        Categorical columns become pandas Categoricals straight from their
        codes (no string is converted); the others convert from Arrow.
        """
        coded = [column for column in columns if column in codes]
        rest = [column for column in columns if column not in codes]
        frame = numeric_frame(batch, rest) if rest else pd.DataFrame(index=range(len(batch)))
        return _as_categorical(frame, {column: codes[column] for column in coded}, self.levels)

    def term_columns(self, terms):
        """Design columns of the given terms (``["d", "np.log(z)"]``), in design order."""
        wanted = set(terms)
        columns = [column for part in self.model_spec.rhs.structure if str(part.term) in wanted
                   for column in part.columns]
        return columns

    def _design(self, frame, codes):
        """The design matrix without formulaic's Intercept (numpy where :mod:`._fast` can)."""
        if self._plan is not None:
            return self._plan.design(frame, codes)
        matrix = self.model_spec.rhs.get_model_matrix(_as_categorical(frame, codes, self.levels))
        X = np.asarray(matrix, dtype=np.float64)
        return X[:, [name != "Intercept" for name in self.model_spec.rhs.column_names]]

    def _response(self, frame, codes):
        if self._target_column is not None:
            return frame[self._target_column].to_numpy(dtype=np.float64)
        matrix = self.model_spec.lhs.get_model_matrix(_as_categorical(frame, codes, self.levels))
        return np.asarray(matrix, dtype=np.float64)[:, 0]

    def _codes(self, frame):
        """Each categorical column's codes in its frozen levels.

        An undeclared level raises ValueError naming the column and the
        level, or becomes :data:`OTHER` for columns declared with
        ``unseen="other"``.
        """
        codes = {}
        for column, levels in self.levels.items():
            if column not in frame.columns:
                continue
            values = frame[column]
            # Missing values were dropped (or refused) before: -1 is an unseen level.
            codes[column] = self._known(column, _level_codes(values, levels),
                                        lambda mask, values=values: values[mask].iloc[0])
        return codes

    def _known(self, column, found, first):
        """``found`` codes with unseen levels (-1) refused, or made :data:`OTHER`.

        ``first(mask)`` gives the first value where ``mask`` holds, for the message.
        """
        unseen = found == -1
        if unseen.any():
            levels = self.levels[column]
            if column not in self.other:
                raise ValueError(
                    f"Column {column!r} has the level {first(unseen)!r}, which is not among its "
                    f"{len(levels)} levels fixed before the fit ({_shown(levels)}); declare it "
                    f"in levels={{{column!r}: [...]}}, or collect undeclared levels in an "
                    f"{OTHER!r} level with unseen='other'."
                )
            found[unseen] = levels.index(OTHER)
        return found


def _level_codes(values, levels):
    """Position of each value in ``levels``; -1 for a missing or unknown value.

    Arrow's hash lookup where the values convert (ten times pandas' on
    Arrow-backed strings); pandas' where they do not (mixed types).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        array = pa.array(values, from_pandas=True)
        found = pc.index_in(array, value_set=pa.array(levels, type=array.type))
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError):
        return pd.Index(levels).get_indexer(values)
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.intp, copy=False)


def _as_categorical(frame, codes, levels):
    """``frame`` with each categorical column a pandas Categorical of its frozen levels."""
    if not codes:
        return frame
    return frame.assign(**{
        column: pd.Series(pd.Categorical.from_codes(found, categories=levels[column]),
                          index=frame.index, name=column)
        for column, found in codes.items()})


def freeze(formula, source, *, roles, levels=None, unseen="raise", missing="drop"):
    """Fix ``formula``'s encoding for ``source`` (a :class:`~._data.FrameSource`).

    Declared ``levels`` are used as given; the other categorical columns'
    levels, and the rows stateful transforms learn from, come from one pass
    over only those columns.
    Without such columns no row beyond the first chunk is read.
    """
    if missing not in _MISSING:
        raise ValueError(f"missing must be one of {_MISSING}, got {missing!r}.")
    if unseen not in _UNSEEN:
        raise ValueError(f"unseen must be one of {_UNSEEN}, got {unseen!r}.")
    factors = factor_expressions(formula)
    variables = list(dict.fromkeys(name for factor in factors for name in data_names(factor)))
    roles = {role: column for role, column in roles.items() if column is not None}
    used = list(dict.fromkeys(variables + role_columns(roles)))
    _require_columns(formula, variables, roles, source.names)
    head = source.head(used)
    if head is None:
        raise ValueError("The data has no rows.")
    declared = _declared_levels(levels, variables, formula)
    categorical = _categorical_columns(factors, head, declared)
    stateful = list(dict.fromkeys(name for factor in factors if is_stateful(factor)
                                  for name in data_names(factor)))
    discover = [column for column in categorical if column not in declared]
    sample = _first_values(head)
    unsampled = [column for column in used if column not in sample]
    found = _Pass(discover, stateful, unsampled)
    if discover or stateful or unsampled:
        _first_pass(source, found)
    sample.update(found.sample)
    empty = [column for column in used if column not in sample]
    if empty:
        raise ValueError(f"Column {empty[0]!r} has no value in any row (all missing).")
    frozen = {column: _with_other(declared[column], unseen) for column in declared}
    frozen.update({column: _sorted(found.levels[column]) for column in discover})
    other = set(declared) if unseen == "other" else set()
    model_spec = _model_spec(formula, _representative(used, sample, frozen, found))
    return FormulaSpec(formula, model_spec, frozen, other, variables, roles, missing)


class _Pass:
    """What the first pass gathers: levels seen, stateful columns' values, a value per column."""

    def __init__(self, discover, stateful, unsampled):
        self.levels = {column: set() for column in discover}
        self.values = {column: [] for column in stateful}
        self.unsampled = unsampled
        self.sample = {}

    @property
    def columns(self):
        return list(dict.fromkeys([*self.levels, *self.values, *self.unsampled]))


def _first_pass(source, found):
    """Read only the columns that need it: levels, stateful columns' values, missing samples.

    A categorical column's levels are its values wherever it is present;
    stateful transforms learn from every row where their own columns are
    present, as statsmodels (patsy) and formulaic do in memory, so
    ``center(x)`` subtracts the same mean. (A level present only in rows
    the fit drops for a value missing elsewhere gives a column of zeros,
    which the fit names as constant.)

    Chunks read as Arrow (files, Arrow tables) keep their string and
    dictionary columns in Arrow: their distinct values are Arrow's hash
    ``unique``, with no pandas strings built (parquet string columns are
    read dictionary-encoded, as stored). Other columns, and chunks of
    other sources, go through pandas.
    """
    as_dictionary = [column for column in found.levels if column not in found.values]
    for batch in source.batches(found.columns, dictionary=as_dictionary):
        in_arrow = [column for column in found.levels
                    if is_arrow(batch) and _arrow_keeps(batch.schema.field(column).type)]
        for column in in_arrow:
            found.levels[column].update(_arrow_levels(batch.column(column)))
        rest = [column for column in found.columns if column not in in_arrow
                and not (column in found.unsampled and column in found.sample)]
        if rest:
            _gather(_pandas(batch.select(rest)) if is_arrow(batch) else batch[rest], found)


def _gather(frame, found):
    """What the first pass needs from the columns of a pandas chunk."""
    stateful = list(found.values)
    if stateful:
        present = frame[stateful].dropna()
        for column in stateful:
            found.values[column].append(present[column].to_numpy())
    for column in found.levels:
        if column in frame.columns:
            found.levels[column].update(frame[column].dropna().unique().tolist())
    for column in found.unsampled:
        if column in frame.columns and column not in found.sample:
            found.sample.update(_first_values(frame[[column]]))


def _arrow_keeps(arrow_type):
    """Are Arrow's distinct values of this type the ones pandas would give (same Python values)?

    Strings, booleans and dictionaries of strings: yes. Numbers are left to
    pandas, which reads a nullable integer column as floats (levels ``1.0``).
    """
    import pyarrow as pa

    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    return (pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)
            or pa.types.is_string_view(arrow_type) or pa.types.is_boolean(arrow_type))


def _arrow_levels(array):
    """The distinct non-null values of an Arrow array (Python values)."""
    import pyarrow.compute as pc

    return pc.unique(array).drop_null().to_pylist()


def _first_values(frame):
    """The first present value of each column of ``frame`` that has one."""
    values = {}
    for column in frame.columns:
        present = frame[column].dropna()
        if len(present):
            values[column] = present.iloc[0]
    return values


def _representative(columns, sample, levels, found):
    """A frame whose encoding state is the whole data's.

    One row per present row of the stateful columns (one row without
    them); categorical columns hold a Categorical of the frozen levels, so
    formulaic makes a column for every level; the others repeat a real
    value, so transforms such as ``np.log`` see valid values.
    """
    stateful = list(found.values)
    n = len(np.concatenate(found.values[stateful[0]])) if stateful else 1
    frame = {}
    for column in columns:
        if column in levels:
            frame[column] = pd.Categorical([levels[column][0]] * n, categories=levels[column])
        elif column in stateful:
            frame[column] = np.concatenate(found.values[column])
        else:
            frame[column] = np.repeat(np.asarray([sample[column]]), n)
    return pd.DataFrame(frame)


def _model_spec(formula, frame):
    try:
        matrices = model_matrix(formula, frame, na_action="ignore")
    except Exception as exc:  # formulaic's errors have many types; say which formula
        raise ValueError(f"The formula {formula!r} cannot be encoded: {exc}") from exc
    if matrices.lhs.shape[1] != 1:
        raise ValueError(
            f"The left-hand side of {formula!r} encodes to {matrices.lhs.shape[1]} columns "
            f"({list(matrices.lhs.columns)}); the response must be one numeric column."
        )
    return matrices.model_spec


def _plain_numeric(lhs_spec):
    """The response's column when the left-hand side is one numeric column, else None."""
    (part,) = [part for part in lhs_spec.structure if str(part.term) != "1"] or [None]
    if part is None or len(part.term.factors) != 1:
        return None
    factor = part.term.factors[0]
    state = lhs_spec.encoder_state.get(factor.expr)
    if factor.eval_method is not Factor.EvalMethod.LOOKUP or state is None:
        return None
    return factor.expr if state[0].value == "numerical" else None


def _require_columns(formula, variables, roles, names):
    if names is None:
        return
    for column in variables:
        if column not in names:
            raise ValueError(
                f"The formula {formula!r} names the column {column!r}, which the data does "
                f"not have (columns: {list(names)})."
            )
    for role, given in roles.items():
        for column in _as_list(given):
            if column not in names:
                raise ValueError(f"{role}={given!r} names the column {column!r}, which the data "
                                 f"does not have (columns: {list(names)}).")


def role_columns(roles):
    """Every column the label roles read (a role holds a column or a list of columns)."""
    return [column for given in roles.values() for column in _as_list(given)]


def _as_list(given):
    return list(given) if isinstance(given, (list, tuple)) else [given]


def _label(frame, given):
    """A role's labels: one per row, or a table (one column per factor) for a list."""
    if isinstance(given, (list, tuple)):
        return frame[list(given)].reset_index(drop=True)
    return frame[given].to_numpy()


def _side_columns(side_spec):
    """Data columns one side of a frozen formula reads, in order."""
    return list(dict.fromkeys(name for part in side_spec.structure
                              for factor in part.term.factors for name in data_names(factor)))


def _declared_levels(levels, variables, formula):
    declared = dict(levels or {})
    for column, values in declared.items():
        if column not in variables:
            raise ValueError(f"levels names the column {column!r}, which the formula {formula!r} "
                             "does not use.")
        values = list(values)
        if len(set(values)) != len(values) or not values:
            raise ValueError(f"The levels declared for {column!r} must be distinct and non-empty, "
                             f"got {values}.")
        declared[column] = values
    return declared


def _categorical_columns(factors, head, declared):
    """Columns encoded by level: non-numeric dtype, inside ``C()``, or declared."""
    forced = {name for factor in factors for name in categorical_arguments(factor)}
    names = list(dict.fromkeys(name for factor in factors for name in data_names(factor)))
    return [name for name in names
            if name in forced or name in declared or not _is_number(head[name])]


def _is_number(values):
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def _with_other(values, unseen):
    return values + [OTHER] if unseen == "other" and OTHER not in values else values


def _sorted(values):
    try:
        return sorted(values)
    except TypeError:  # mixed types: one order for every run all the same
        return sorted(values, key=repr)


def _shown(levels, most=10):
    shown = ", ".join(map(repr, levels[:most]))
    return shown + (", ..." if len(levels) > most else "")
