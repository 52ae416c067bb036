"""Small statistics-sized tables uploaded to the database for one query.

Per-level effects (the score pass of absorbed factors) and per-cell or
per-level means (the within co-moments) travel *to* the database this way,
so the rows are joined to a table whose size the database knows — never to
a ``GROUP BY`` of themselves, which an engine may size for every row.
Only statistics travel; the rows stay where they are.
"""

from __future__ import annotations

import itertools
import os

import numpy as np

from ._sql import Sql, _DuckDB


def run_with_tables(pushdown, sql, tables):
    """Run ``sql`` with small tables uploaded under the given names.

    ``tables`` maps a name to ``(labels, values)``, one per factor in order:
    columns ``l`` (the labels, of the factor column's own type) and ``a0,
    a1, ...`` (DOUBLE).
    ``labels`` may be a tuple of label arrays, one per factor in order (a
    table of cells): columns ``l0, l1, ...``.
    DuckDB reads a registered Arrow table; PostgreSQL a temporary table
    filled by ``COPY`` in the query's transaction (dropped after it).
    """
    driver = pushdown.relation.driver
    sql = sql if isinstance(sql, Sql) else Sql(sql)
    if isinstance(driver, _DuckDB):
        return _duckdb_with_tables(driver, sql, tables)
    return _postgres_with_tables(pushdown, driver, sql, tables)


def _duckdb_with_tables(driver, sql, tables):
    import pyarrow as pa

    connection = driver.connection
    try:
        for name, (labels, values) in tables.items():
            columns = {key: pa.array(np.asarray(level).tolist())
                       for key, level in _label_columns(labels)}
            columns.update({f"a{j}": pa.array(values[:, j]) for j in range(values.shape[1])})
            connection.register(name, pa.table(columns))
        return driver.table(sql)
    finally:
        for name in tables:
            connection.unregister(name)


def _postgres_with_tables(pushdown, driver, sql, tables):
    import psycopg
    import pyarrow as pa

    connection, rel = driver.connection, pushdown.relation
    text, params = driver.statement(sql)
    try:
        with connection.transaction(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
            for index, (name, (labels, values)) in enumerate(tables.items()):
                # each label column takes its factor column's own type: the factors
                # in order for a table of cells, factor ``index`` for one factor's
                factors = _factor_columns(pushdown)
                factors = factors if isinstance(labels, tuple) else [factors[index]]
                label_columns = _label_columns(labels)
                create = Sql(f"CREATE TEMP TABLE {name} AS SELECT ")
                for (key, _), column in zip(label_columns, factors):
                    create = create + "r." + rel.quoted(column) + f" AS {key}, "
                create = (create + ", ".join(f"CAST(NULL AS DOUBLE PRECISION) AS a{j}"
                                             for j in range(values.shape[1]))
                          + " FROM " + rel.source + " AS r LIMIT 0")
                cursor.execute(*driver.statement(create))
                names = [key for key, _ in label_columns] + [f"a{j}" for j in range(values.shape[1])]
                with cursor.copy(f"COPY {name} ({', '.join(names)}) FROM STDIN") as copy:
                    levels = [np.asarray(level).tolist() for _, level in label_columns]
                    for *label, row in zip(*levels, values.tolist()):
                        copy.write_row((*label, *row))
            cursor.execute(text, params)
            result = pa.Table.from_batches([driver._batch(cursor.fetchall(), cursor.description)])
            for name in tables:
                cursor.execute(f"DROP TABLE {name}")
            return result
    except psycopg.Error as exc:
        raise driver.failed(exc, sql) from exc


def _label_columns(labels):
    """The key columns of an uploaded table: ``l`` for one factor's labels,
    ``l0, l1, ...`` for a tuple of them (a table of cells)."""
    if isinstance(labels, tuple):
        return [(f"l{f}", level) for f, level in enumerate(labels)]
    return [("l", labels)]


_TABLES = itertools.count()


def _table_names(n_factors):
    """Names of the uploaded effects tables, unique in this process."""
    n = next(_TABLES)
    return [f"skbigreg_effects_{os.getpid()}_{n}_{f}" for f in range(n_factors)]


def _factor_columns(pushdown):
    """The push-down's factor columns as a list (one column is a str)."""
    entities = pushdown.entities
    return [entities] if isinstance(entities, str) else list(entities)
