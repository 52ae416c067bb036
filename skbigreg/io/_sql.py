"""SQL sources: a query's rows streamed as Arrow record batches (DuckDB, PostgreSQL).

A query (or a table) on a connection is checked once, before any row is
read, with the checks of the file sources (:func:`check_schemas`): every
named column present, targets, weights and features numeric, categorical
levels declared or discovered (``SELECT DISTINCT``). Each pass re-runs the
query and streams its result in batches of ``batch_rows`` rows, so memory
is bounded whatever the size of the result.

Column names are SQL identifiers, quoted by the driver's rules; values
(query parameters, levels, coefficients) are bound parameters. Nothing the
user names is pasted into SQL text.
"""

from __future__ import annotations

import itertools
import re

from ._chunks import ChunkSource
from ._file_columns import ColumnError, FileColumns, check_scan_options, check_schemas
from ._files import FileSource, ScanReport, _feature_names

# A table name: one identifier or dotted ones (schema.table); anything else is a query.
_TABLE_NAME = re.compile(r"^\s*[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)*\s*$")
_NUMERIC_ARGUMENTS = ("target", "sample_weight", "features")


class SqlError(RuntimeError):
    """The database refused a query skbigreg sent (its own message is kept)."""


class Sql:
    """SQL text and bound parameters in order, composed with ``+``.

    A statement is a list of parts -- text, parameters, and the user's own
    query -- rendered with the driver's placeholder only when it runs, so
    no text is ever scanned for placeholders and fragments compose without
    counting.
    """

    def __init__(self, *parts):
        self.parts = [p for p in parts if p != ""]

    def __add__(self, other):
        other = other if isinstance(other, Sql) else Sql(other)
        return Sql(*self.parts, *other.parts)

    def __radd__(self, other):
        return Sql(other) + self

    @staticmethod
    def join(separator, parts):
        result = Sql()
        for i, part in enumerate(parts):
            result = result + (separator if i else "") + part
        return result


class _Param:
    def __init__(self, value):
        self.value = value


class _UserQuery:
    """The user's query text and the values of its own placeholders."""

    def __init__(self, text, params):
        self.text, self.params = text, list(params or ())


def param(value):
    """A bound parameter."""
    return Sql(_Param(value))


def number(value):
    """A bound float parameter, typed for the database."""
    return Sql("CAST(", _Param(float(value)), " AS DOUBLE PRECISION)")


# -- drivers ------------------------------------------------------------------------
class _Driver:
    """What skbigreg asks of a connection: quoting, a small result, a stream of batches."""

    name = "SQL"
    marker = "?"
    # How a CTE whose columns feed many aggregates is computed once per row.
    once = ""
    # Ends a subquery whose columns later expressions read several times, so
    # the engine computes them once per row instead of inlining the
    # expressions into every reader; empty where the engine shares them.
    fence = ""
    # The log-gamma function, when the engine has one (else sums of it are
    # computed from a GROUP BY the argument).
    lgamma = None

    def __init__(self, connection):
        self.connection = connection

    def statement(self, sql):
        """``(text, params)`` of ``sql`` in this driver's placeholder style."""
        bound = any(isinstance(p, _Param) or (isinstance(p, _UserQuery) and p.params)
                    for p in sql.parts)
        text, params = [], []
        for part in sql.parts:
            if isinstance(part, _Param):
                text.append(self.marker)
                params.append(part.value)
            elif isinstance(part, _UserQuery):
                text.append(self.user_text(part, bound))
                params.extend(part.params)
            else:
                text.append(part)
        return "".join(text), (params if bound else None)

    def user_text(self, query, bound):
        return query.text

    def failed(self, exc, sql):
        text = self.statement(sql)[0]
        text = text if len(text) < 400 else text[:400] + " ..."
        return SqlError(f"{self.name} refused the query: {exc}\nQuery: {text}")


class _DuckDB(_Driver):
    name = "DuckDB"
    marker = "?"
    lgamma = "LGAMMA"

    @staticmethod
    def quote(name):
        # DuckDB's identifier rule is the SQL standard's: double the quotes.
        return '"' + name.replace('"', '""') + '"'

    def table(self, sql):
        import duckdb

        text, params = self.statement(sql)
        try:
            return self.connection.sql(text, params=params).to_arrow_table()
        except duckdb.Error as exc:
            raise self.failed(exc, sql) from exc

    def batches(self, sql, batch_rows):
        import duckdb

        text, params = self.statement(sql)
        # A cursor of its own: another query on the connection would cut the stream.
        try:
            reader = self.connection.cursor().sql(text, params=params).to_arrow_reader(batch_rows)
            yield from reader
        except duckdb.Error as exc:
            raise self.failed(exc, sql) from exc

    def schema(self, sql):
        import pyarrow as pa

        schema = self.table(sql).schema
        # DECIMAL columns are numbers: they are read as DOUBLE (cast in the query).
        return pa.schema([pa.field(f.name, pa.float64() if pa.types.is_decimal(f.type) else f.type)
                          for f in schema])


# PostgreSQL type names -> the Arrow types the column checks reason about.
_PG_TYPES = {
    "int2": "int64", "int4": "int64", "int8": "int64", "oid": "int64",
    "float4": "float64", "float8": "float64", "numeric": "float64",
    "bool": "bool_", "text": "string", "varchar": "string", "bpchar": "string",
    "name": "string", "date": "date32", "timestamp": "timestamp", "timestamptz": "timestamp",
}


class _Postgres(_Driver):
    name = "PostgreSQL"
    marker = "%s"
    # PostgreSQL inlines a CTE used once, and evaluates each aggregate's
    # expression anew: the score pass's residual and leverage would be
    # recomputed in every one of its (K+1)^2 sums. DuckDB shares them.
    once = "MATERIALIZED "
    # OFFSET 0 keeps the subquery from being flattened into its reader
    # without writing its rows to a tuplestore as MATERIALIZED does: the
    # HC score pass ran 2-3x faster so (EXPLAIN ANALYZE: the materialised
    # CTE spilled to temporary files and dominated the query).
    fence = " OFFSET 0"

    def quote(self, name):
        from psycopg import sql

        return sql.Identifier(name).as_string(self.connection)

    def user_text(self, query, bound):
        # psycopg reads % as a placeholder once values are bound: a query
        # without values of its own has its literal % kept as %%.
        return query.text.replace("%", "%%") if bound and not query.params else query.text

    def _types(self, description):
        import pyarrow as pa
        from psycopg.postgres import types

        out = []
        for column in description:
            info = types.get(column.type_code)
            kind = _PG_TYPES.get(info.name if info else "", "binary")
            out.append(pa.timestamp("us") if kind == "timestamp" else getattr(pa, kind)())
        return out

    def _batch(self, rows, description):
        import pyarrow as pa

        names = [c.name for c in description]
        columns = list(zip(*rows)) if rows else [[] for _ in names]
        # NUMERIC values (e.g. sums of integers) arrive as Decimal: read as floats.
        columns = [[None if v is None else float(v) for v in col] if c.type_code == _NUMERIC else col
                   for col, c in zip(columns, description)]
        arrays = [pa.array(col, type=t) for col, t in zip(columns, self._types(description))]
        return pa.RecordBatch.from_arrays(arrays, names=names)

    def table(self, sql):
        import psycopg
        import pyarrow as pa

        text, params = self.statement(sql)
        try:
            with self.connection.transaction(), self.connection.cursor() as cursor:
                # The push-down's aggregates make one long expression, which
                # LLVM would spend minutes compiling (uninterruptibly) to save
                # seconds: no JIT for these statements.
                cursor.execute("SET LOCAL jit = off")
                cursor.execute(text, params)
                return pa.Table.from_batches([self._batch(cursor.fetchall(), cursor.description)])
        except psycopg.Error as exc:
            raise self.failed(exc, sql) from exc

    def batches(self, sql, batch_rows):
        import psycopg

        text, params = self.statement(sql)
        # A server-side cursor: the server keeps the result, batch_rows travel at a time.
        name = f"skbigreg_{next(_CURSORS)}"
        try:
            with self.connection.transaction(), self.connection.cursor(name=name) as cursor:
                cursor.itersize = batch_rows
                cursor.execute(text, params)
                while rows := cursor.fetchmany(batch_rows):
                    yield self._batch(rows, cursor.description)
        except psycopg.Error as exc:
            raise self.failed(exc, sql) from exc

    def schema(self, sql):
        return self.table(sql).schema


_CURSORS = itertools.count()
_NUMERIC = 1700  # PostgreSQL's oid of NUMERIC


def driver_for(connection):
    """The driver of a DuckDB or psycopg (PostgreSQL) connection."""
    module = type(connection).__module__
    if module.startswith("duckdb") or module.startswith("_duckdb"):
        return _DuckDB(connection)
    if module.startswith("psycopg"):
        return _Postgres(connection)
    raise TypeError(
        f"connection must be a DuckDB connection (duckdb.connect()) or a psycopg 3 "
        f"connection to PostgreSQL (psycopg.connect(dsn)), got {type(connection).__name__}."
    )


# -- a checked query ------------------------------------------------------------------
class SqlRelation:
    """A query or table on a connection, with its columns checked by argument.

    Attributes
    ----------
    driver : the connection's driver
    source : Sql
        What follows ``FROM`` (the parenthesised query, or the quoted table).
    columns : FileColumns
    types : dict
        Arrow type of every used column.
    categories : dict
        The levels of each categorical column.
    """

    def __init__(self, query, connection, params, columns):
        self.driver = driver_for(connection)
        self.columns = columns
        self.source = self._source(query, params)
        schema = self.driver.schema(Sql("SELECT * FROM ") + self.source + " AS src LIMIT 0")
        self.types = check_schemas(columns, [(self.where, schema)])
        self.categories = self._categories()

    def _source(self, query, params):
        if not isinstance(query, str):
            raise TypeError(f"query must be a SQL query or a table name (str), got {type(query).__name__}.")
        if _TABLE_NAME.match(query):
            if params:
                raise ValueError("params are for a query's placeholders; a table name takes none.")
            self.where = f"table {query.strip()!r}"
            return Sql(".".join(self.driver.quote(part) for part in query.strip().split(".")))
        self.where = "the query"
        # The user's query keeps its own placeholders and their values.
        return Sql("(", _UserQuery(query, params), ")")

    def quoted(self, name):
        if "\x00" in name:
            raise ColumnError(None, name, "has a NUL character, which SQL identifiers cannot hold")
        return self.driver.quote(name)

    def value(self, name):
        """The column as SQL: a DOUBLE for numbers (targets, weights, numeric features)."""
        column = Sql(self.quoted(name))
        if name not in self.numeric_columns():
            return column
        if str(self.types[name]) == "bool":  # PostgreSQL casts booleans to numbers via integers
            column = "CAST(" + column + " AS INTEGER)"
        return "CAST(" + column + " AS DOUBLE PRECISION)"

    def numeric_columns(self):
        cols = self.columns
        categorical = set(cols.categorical or [])
        numeric = [c for c in cols.features if c not in categorical]
        numeric += [c for c in (cols.target, cols.weight) if c is not None]
        return set(numeric)

    def select(self, where=None):
        """``SELECT`` of every used column (numbers as DOUBLE), for pulling rows."""
        items = [self.value(name) + " AS " + self.quoted(name) for name in self.columns.used()]
        return (Sql("SELECT ") + Sql.join(", ", items) + " FROM " + self.source + " AS src"
                + (Sql() if where is None else " WHERE " + where))

    def run(self, sql):
        """A small result as a pyarrow Table."""
        return self.driver.table(sql)

    def stream(self, sql, batch_rows):
        return self.driver.batches(sql, batch_rows)

    def _categories(self):
        declared = self.columns.categorical
        if not declared:
            return {}
        if isinstance(declared, dict):
            return {name: list(levels) for name, levels in declared.items()}
        found = {}
        for name in declared:
            column = Sql(self.quoted(name))
            values = self.run(Sql("SELECT DISTINCT ") + column + " FROM " + self.source
                              + " AS src WHERE " + column + " IS NOT NULL").column(0).to_pylist()
            found[name] = sorted(values, key=str)
        return found


def sql_columns(target, features, sample_weight, labels, categorical):
    return FileColumns(target, None if features is None else list(features), sample_weight,
                       labels, categorical)


# -- the pulling source -------------------------------------------------------------
def read_sql(
    query,
    connection,
    *,
    target,
    features=None,
    sample_weight=None,
    clusters=None,
    partitions=None,
    groups=None,
    entities=None,
    periods=None,
    categorical=None,
    drop_first=True,
    params=None,
    batch_rows=65_536,
    missing="raise",
    verbose=False,
):
    """Stream chunks (X, y, sample weights and row labels) from a SQL query or table.

    The query's result is read in Arrow record batches of ``batch_rows``
    rows (DuckDB's Arrow reader; a PostgreSQL server-side cursor), so memory
    is bounded by ``batch_rows`` whatever the size of the result. The
    source is re-iterable: each pass runs the query again. Columns, labels,
    weights, categorical features and missing values are handled as by
    :func:`read_files`. :meth:`SqlSource.pushdown` computes the
    statistics in the database instead, so no row leaves it.

    Parameters
    ----------
    query : str
        A ``SELECT`` query, or the name of a table or view (``"flights"``,
        ``"main.flights"``; quoted as identifiers).
    connection : duckdb.DuckDBPyConnection or psycopg.Connection
        A DuckDB connection (in-process; it also reads parquet and CSV with
        ``read_parquet(...)`` in the query) or a psycopg 3 connection to
        PostgreSQL. Queries on PostgreSQL run in a transaction of their own
        (a savepoint inside an open one).
    target : str or None
        Column of the response; None for prediction-only sources.
    features : list of str, optional
        Feature columns; default: every column not used otherwise.
    sample_weight, clusters, partitions, groups, entities, periods : str, optional
        Columns holding weights and row labels. ``clusters`` may be a list
        of two or more columns: multi-way clusters (each chunk's clusters
        are then a DataFrame of them); so may ``entities``: two or more
        absorbed factors (each chunk's entities a DataFrame, one column per
        factor).
    categorical : list of str or dict, optional
        Columns to one-hot encode, as in :func:`read_files`; listed levels
        are discovered with ``SELECT DISTINCT`` (sorted).
    drop_first : bool, default=True
        Drop each categorical column's first level.
    params : sequence, optional
        Values of the query's own placeholders (``?`` or ``$1`` for DuckDB,
        ``%s`` for psycopg, whose queries then write a literal ``%`` as
        ``%%``).
    batch_rows : int, default=65536
        Rows per record batch (per chunk).
    missing : {"raise", "drop"}, default="raise"
        Rows with a NULL (or NaN) in a used column: raise a ``ValueError``
        naming the column, or drop them (counted in ``report``).
    verbose : bool, default=False
        Show a progress bar (rows/s) with tqdm.

    Returns
    -------
    SqlSource

    Raises
    ------
    ColumnError
        Before any row is read, as :func:`read_files` does: a named column
        absent from the result, a target, weight or feature that is not
        numeric, the target listed as a feature.
    SqlError
        The database refused the query (its message is kept).

    Examples
    --------
    >>> import duckdb
    >>> from skbigreg.io import read_sql
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE t AS SELECT range AS x, 2 * range AS y FROM range(10)")
    >>> source = read_sql("t", con, target="y", batch_rows=4)
    >>> [chunk.n_rows for chunk in source]
    [4, 4, 2]
    >>> source.feature_names
    ['x']
    """
    batch_rows = check_scan_options(missing, batch_rows)
    labels = {"clusters": clusters, "partitions": partitions, "groups": groups,
              "entities": entities, "periods": periods}
    columns = sql_columns(target, features, sample_weight, labels, categorical)
    relation = SqlRelation(query, connection, params, columns)
    return SqlSource(relation, drop_first, batch_rows, missing, verbose)


class SqlSource(FileSource):
    """A re-iterable chunk source over a SQL query (see :func:`read_sql`).

    Rows are turned into chunks exactly as :class:`FileSource` turns file
    batches into chunks (one encoding of categories, one missing-value rule).

    Attributes
    ----------
    feature_names : list of str
    categories : dict
    report : ScanReport
        Rows read and dropped in the last complete pass.
    """

    file_format = "sql"

    def __init__(self, relation, drop_first, batch_rows, missing, verbose):
        self.relation = relation
        self.batch_rows = batch_rows
        self.missing = missing
        self.verbose = verbose
        self.report = ScanReport()
        self._columns = relation.columns
        self.categories = relation.categories
        self._drop_first = drop_first
        self.feature_names = _feature_names(self._columns, self.categories, drop_first)
        ChunkSource.__init__(self, self._batches, reiterable=True)

    def _record_batches(self):
        return self.relation.stream(self.relation.select(), self.batch_rows)

    def pushdown(self, max_cells=1_000_000):
        """The same rows, with the statistics computed in the database.

        Parameters
        ----------
        max_cells : int, default=1000000
            With two or more absorbed factors (``entities=`` a list of
            columns), the most distinct combinations of their levels (cells)
            whose table is read into memory (``max_cells x (K + 1)`` numbers);
            a fit with more is refused before they are read.

        Returns
        -------
        SqlPushdown
            Give it to an estimator's ``fit_chunks`` (least squares) for a fit
            where only the statistics leave the database.
        """
        from ._pushdown import SqlPushdown

        if int(max_cells) < 1:
            raise ValueError(f"max_cells must be a positive integer, got {max_cells!r}.")
        return SqlPushdown(self.relation, self._drop_first, self.missing, int(max_cells))
