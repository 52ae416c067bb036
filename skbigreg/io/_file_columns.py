"""The columns of a file source: which argument named each, and their types in every file.

Each file's schema is read before any row (a parquet footer, a CSV file's
first block), so a column missing from one file, a feature of text or dates
in one file, or a label whose type changes between files is refused up
front, naming the file, the column and the argument that named it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class FileColumns:
    """The columns :func:`read_files` was asked for, by argument (``features``
    None until :func:`check_columns` sets it to every column not used otherwise)."""

    target: str | None
    features: list | None
    weight: str | None
    labels: dict
    categorical: object

    def __post_init__(self):
        self.labels = {name: _label_column(name, column) for name, column in self.labels.items()}

    def used_labels(self):
        """Every label column (each of multi-way clusters' columns)."""
        return [name for column in self.labels.values() if column is not None
                for name in ((column,) if isinstance(column, str) else column)]

    def used(self):
        names = [*self.features, *([self.target] if self.target else []),
                 *([self.weight] if self.weight else []), *self.used_labels()]
        return list(dict.fromkeys(names))  # a column may be a feature and a label


def check_scan_options(missing, batch_rows):
    """Check the reading options every row source takes; ``batch_rows`` as an int."""
    if missing not in ("raise", "drop"):
        raise ValueError(f"missing must be 'raise' or 'drop', got {missing!r}.")
    if int(batch_rows) < 1:
        raise ValueError(f"batch_rows must be a positive integer, got {batch_rows}.")
    return int(batch_rows)


def _label_column(argument, column):
    """A label's column name; for ``clusters`` and ``entities`` a list of two or
    more names is a tuple (multi-way clusters, several absorbed factors), and a
    list of one its name."""
    if column is None or isinstance(column, str):
        return column
    names = list(column)
    several = argument in ("clusters", "entities")
    if not several or not names or not all(isinstance(n, str) for n in names):
        raise ValueError(f"{argument}: give one column name (a str), got {column!r}"
                         + ("; clusters= and entities= alone take a list of column names "
                            "(multi-way clusters, several absorbed factors)."
                            if not several else "."))
    return names[0] if len(names) == 1 else tuple(names)


def csv_schema(dataset, types):
    """The first file's schema with the used columns set to their common type.

    pyarrow parses every CSV file with the dataset's types, which it infers
    from the first file alone: a column of integers there and of decimals in
    the next file would fail to parse.
    """
    import pyarrow as pa

    schema = dataset.schema
    return pa.schema([pa.field(f.name, types.get(f.name, f.type)) for f in schema])


def check_columns(columns, dataset):
    """Check the named columns in every file; return their common Arrow types.

    Each file's schema is read (a parquet footer, a CSV file's first block):
    a column missing from one file, a feature that is not numeric in one
    file, or a label that changes type between files is refused here, with
    the file named, before any row is read.
    """
    schemas = [(fragment.path, fragment.physical_schema) for fragment in dataset.get_fragments()]
    return check_schemas(columns, schemas)


def check_schemas(columns, schemas):
    """:func:`check_columns` on ``[(where, pyarrow schema), ...]`` (files, queries)."""
    first_path, first = schemas[0]
    _require_present(columns, first_path, first.names)
    if columns.features is None:
        taken = {columns.target, columns.weight, *columns.used_labels()}
        columns.features = [c for c in first.names if c not in taken]
    _check_roles(columns)
    for path, schema in schemas[1:]:
        _require_present(columns, path, schema.names, first_path)
    return {column: _common_type(argument, column, schemas)
            for argument, column in _roles(columns)}


def _require_present(columns, path, names, first_path=None):
    for argument, named in _named(columns):
        absent = [c for c in named if c not in names]
        if absent:
            where = f" (present in {first_path!r})" if first_path else ""
            raise ColumnError(argument, absent, f"not found in {path!r}{where}; available: {names}")


def _named(columns):
    """``(argument, [columns])`` for every argument that names columns."""
    pairs = [("target", columns.target), ("sample_weight", columns.weight),
             *columns.labels.items(), ("features", columns.features)]
    return [(argument, [named] if isinstance(named, str) else named)
            for argument, named in pairs if named is not None]


def _check_roles(columns):
    categorical = list(columns.categorical or [])
    unknown = [c for c in categorical if c not in columns.features]
    if unknown:
        raise ColumnError("categorical", unknown, f"not among the features {columns.features}",
                          remedy="features")
    if columns.target is not None and columns.target in columns.features:
        raise ColumnError("features", columns.target, "is also the target", remedy="target")
    repeated = sorted({c for c in columns.features if columns.features.count(c) > 1})
    if repeated:
        raise ColumnError("features", repeated, "listed more than once")


def _roles(columns):
    """``(argument, column)`` for every named column, once the features are known."""
    categorical = columns.categorical or []
    named = [("target", columns.target), ("sample_weight", columns.weight),
             *((argument, name) for argument, column in columns.labels.items()
               for name in ((column,) if column is None or isinstance(column, str) else column))]
    features = [("categorical" if c in categorical else "features", c) for c in columns.features]
    return [(argument, column) for argument, column in named if column is not None] + features


# Arguments whose columns become floats (any numeric type in any file);
# the other columns (labels, categorical features) keep their values, so
# they must have one kind of type in every file.
_NUMERIC_ARGUMENTS = ("target", "sample_weight", "features")
_NUMERIC_KINDS = ("integer", "floating", "boolean", "null")


def _kind(arrow_type):
    """The kind of values an Arrow type holds: ``"integer"``, ``"string"``, ..."""
    import pyarrow.types as pat

    if pat.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    for kind, test in (("integer", pat.is_integer), ("floating", pat.is_floating),
                       ("boolean", pat.is_boolean), ("null", pat.is_null),
                       ("string", lambda t: pat.is_string(t) or pat.is_large_string(t)),
                       ("temporal", pat.is_temporal)):
        if test(arrow_type):
            return kind
    return str(arrow_type)


def _common_type(argument, column, schemas):
    """The one Arrow type ``column`` is read as, after checking it in every file."""
    import pyarrow as pa

    types = [(path, schema.field(column).type) for path, schema in schemas]
    if argument in _NUMERIC_ARGUMENTS:
        for path, arrow_type in types:
            _require_numeric(argument, column, path, arrow_type)
    else:
        _require_one_kind(argument, column, types)
    distinct = list(dict.fromkeys(t for _, t in types if _kind(t) != "null"))
    if len(distinct) > 1 and argument in _NUMERIC_ARGUMENTS:
        return pa.float64()
    return distinct[0] if distinct else types[0][1]


def _require_numeric(argument, column, path, arrow_type):
    kind = _kind(arrow_type)
    if kind in _NUMERIC_KINDS:
        return
    if kind == "temporal":
        raise ColumnError(argument, column, f"holds dates or times ({arrow_type}) in {path!r}",
                          remedy="dates" if argument == "features" else "numbers")
    remedy = "categorical" if argument == "features" else None
    raise ColumnError(argument, column, f"is not numeric ({arrow_type}) in {path!r}", remedy=remedy)


def _require_one_kind(argument, column, types):
    known = [(path, t) for path, t in types if _kind(t) != "null"]
    for path, arrow_type in known[1:]:
        if _kind(arrow_type) != _kind(known[0][1]):
            first_path, first_type = known[0]
            raise ColumnError(
                argument, column,
                f"is {first_type} in {first_path!r} but {arrow_type} in {path!r}", remedy="one_type",
            )


# What to do about a refused column, in read_files' terms; front ends with
# other names (the command line) pass their own texts to ColumnError.describe.
REMEDIES = {
    "categorical": "declare it categorical=[{column!r}] or leave it out of the features",
    "numbers": "dates and times are not turned into numbers silently: write a numeric "
               "column to the files (e.g. days since a reference date, or the year)",
    "dates": "dates and times are not turned into numbers silently: write a numeric "
             "column to the files (e.g. days since a reference date, or the year), or "
             "declare it categorical=[{column!r}] (one indicator per value)",
    "one_type": "write it with one type in every file",
    "target": "leave it out of the features",
    "features": "add it to the features too",
    "missing": "pass missing='drop' to drop such rows",
}


class ColumnError(ValueError):
    """A column that a file source cannot read as asked.

    Parameters
    ----------
    argument : str or None
        The :func:`read_files` argument that named the column (``"target"``,
        ``"features"``, ``"sample_weight"``, ``"clusters"``, ``"partitions"``,
        ``"entities"``, ``"groups"``, ``"periods"``, ``"categorical"``), None when not one in
        particular.
    column : str or list of str
    problem : str
        What is wrong, said of the column (``"is not numeric ..."``).
    remedy : str, optional
        Key of the advice in ``REMEDIES``.

    Examples
    --------
    >>> error = ColumnError("features", "when", "holds dates", remedy="target")
    >>> str(error)
    "features: column 'when' holds dates; leave it out of the features."
    >>> error.describe("--features", {"target": "leave it out of --features"})
    "--features: column 'when' holds dates; leave it out of --features."
    """

    def __init__(self, argument, column, problem, remedy=None):
        self.argument, self.column, self.problem, self.remedy = argument, column, problem, remedy
        super().__init__(self.describe(argument))

    def describe(self, name, remedies=None):
        """The message, naming the column's argument ``name``, with the advice in
        ``remedies`` (texts with ``{column}`` and ``{name}``) over ``REMEDIES``."""
        noun = "column(s)" if isinstance(self.column, list) else "column"
        text = f"{name}: {noun} {self.column!r} {self.problem}" if name else \
            f"{noun.capitalize()} {self.column!r} {self.problem}"
        advice = {**REMEDIES, **(remedies or {})}.get(self.remedy)
        return text + (f"; {advice.format(column=self.column, name=name)}" if advice else "") + "."
