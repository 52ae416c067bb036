"""What the SQL tests share: tables in DuckDB and PostgreSQL, and state snapshots.

PostgreSQL tests need a server named by SKBIGREG_PG_DSN (``.ci/start_postgres``
starts one); without it they are skipped (``needs_postgres``).
"""

from __future__ import annotations

import os
from contextlib import contextmanager

import numpy as np
import pytest

PG_DSN = os.environ.get("SKBIGREG_PG_DSN")
needs_postgres = pytest.mark.skipif(
    not PG_DSN, reason="no PostgreSQL server: set SKBIGREG_PG_DSN (.ci/start_postgres starts one)")

# The Python type each PostgreSQL column type is written from (COPY rows).
_WRITERS = {"float8": float, "int": int, "bigint": int, "text": str}


def duckdb_table(frame, name):
    """A new in-process DuckDB connection holding ``frame`` as table ``name``."""
    duckdb = pytest.importorskip("duckdb", reason="duckdb is not installed (the sql extra)")
    connection = duckdb.connect()
    connection.register(f"{name}_view", frame)
    connection.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_view")
    connection.unregister(f"{name}_view")
    return connection


@contextmanager
def postgres_table(name, frame, types, rows=None):
    """An autocommit connection to SKBIGREG_PG_DSN holding table ``name``, dropped after.

    ``types`` maps each column of the table to its PostgreSQL type (``float8``,
    ``int``, ``bigint``, ``text``), in table order; its column is ``frame``'s of
    the same name unless ``rows`` gives the rows (tuples in that order) itself.
    Column names are quoted, so a hostile one is just a column.
    """
    if not PG_DSN:
        pytest.skip("no PostgreSQL server: set SKBIGREG_PG_DSN (.ci/start_postgres starts one)")
    psycopg = pytest.importorskip("psycopg")
    identifier = pytest.importorskip("psycopg.sql").Identifier
    connection = psycopg.connect(PG_DSN, autocommit=True)
    quoted = [identifier(column).as_string(connection) for column in types]
    writers = [_WRITERS[kind] for kind in types.values()]
    if rows is None:
        rows = frame[list(types)].itertuples(index=False)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {name}")
        cursor.execute(f"CREATE TABLE {name} ("
                       + ", ".join(f"{q} {kind}" for q, kind in zip(quoted, types.values())) + ")")
        with cursor.copy(f"COPY {name} FROM STDIN") as copy:
            for row in rows:
                copy.write_row([write(value) for write, value in zip(writers, row)])
    try:
        yield connection
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {name}")
        connection.close()


def state(est):
    """A snapshot of an estimator's attributes (arrays copied)."""
    return {k: np.copy(v) if isinstance(v, np.ndarray) else v for k, v in vars(est).items()}


def assert_unchanged(est, before, count="n_samples_seen_"):
    """The estimator kept the attributes, coefficients and ``count`` of ``before``."""
    assert set(vars(est)) == set(before)
    np.testing.assert_array_equal(est.coef_, before["coef_"])
    assert vars(est)[count] == before[count]
