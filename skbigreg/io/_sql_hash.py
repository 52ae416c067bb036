"""The fold of a row computed in SQL, bit for bit the fold ``hash_folds`` gives it.

``hash_folds`` hashes the values of each row of ``z = [X, y]``::

    h = mix(seed ^ sum_j bits(z_j) m_j mod 2^64),   fold = ((h >> 32) n_splits) >> 32

with ``bits`` the IEEE-754 pattern of a float64 read as an unsigned 64-bit
integer, ``m_j`` odd seeded multipliers and ``mix`` splitmix64's finaliser
(xor-shifts and multiplications modulo 2^64). SQL has no wrapping 64-bit
integers, so each engine gets an exact construction of its own:

- DuckDB casts a DOUBLE to a 64-bit BIT string (its IEEE pattern) and that
  to UBIGINT; a product of two 64-bit numbers is exact in UHUGEINT (it is
  below 2^128) and is reduced modulo 2^64 by keeping its low 64 bits;
  ``xor`` and ``>>`` act on UBIGINT as on uint64.
- PostgreSQL's ``float8send`` gives the big-endian IEEE bytes, read as a
  (signed) BIGINT through ``bit(64)``. Products are exact in NUMERIC and
  reduced modulo 2^64 back to the signed BIGINT of the same 64 bits
  (``mod(x + K, 2^64) - 2^63`` with ``K = 2^63`` modulo 2^64 and above
  ``|x|``, so the remainder is never negative); ``#`` is xor, and ``>>``
  (arithmetic on BIGINT) is masked to the shift of an unsigned integer.

Each value is the exact float64 the pull path reads (the same ``CAST(...
AS DOUBLE PRECISION)`` of the column), so a pushed-down fold equals the
pulled row's fold. Every stage that reads its input twice (an xor-shift)
is a CTE of its own, kept from being inlined (``OFFSET 0``), so no
expression is computed twice per row. The seeded multipliers and the
number of folds are bound parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._sql import Sql, param

_TWO64 = 1 << 64
_TWO63 = 1 << 63


@dataclass(frozen=True)
class RowHash:
    """The integers of a row hash: what ``hash_folds`` computes, to compile to SQL.

    Attributes
    ----------
    seed : int
        The hash's seed, in ``[0, 2^64)``.
    multipliers : tuple of int
        One odd multiplier per column of ``z = [X, y]``, in ``[0, 2^64)``.
    steps : tuple of (int, int)
        The finaliser's ``h ^= h >> shift; h *= multiplier`` steps, in order.
    last_shift : int
        Its closing ``h ^= h >> last_shift``.
    n_splits : int
        The number of folds.
    """

    seed: int
    multipliers: tuple
    steps: tuple
    last_shift: int
    n_splits: int


def fold_ctes(driver_name, columns, spec, source="src", name="keyed"):
    """CTEs after ``source``, the last (``name``) its rows with their fold as ``g``.

    Parameters
    ----------
    driver_name : {"DuckDB", "PostgreSQL"}
    columns : list of str
        The SQL names (in ``source``) of the columns of ``z = [X, y]``, in
        order: ``spec.multipliers[j]`` multiplies column ``j``'s bits.
    spec : RowHash
    source, name : str
        The CTE read, and the one made.

    Returns
    -------
    Sql
        ``stage1 AS (...), ..., name AS (...)`` (to follow ``WITH src AS (...), ``).
    """
    if len(columns) != len(spec.multipliers):
        raise ValueError(f"The row hash has {len(spec.multipliers)} multipliers for "
                         f"{len(columns)} columns.")
    dialect = {"DuckDB": _DuckDB, "PostgreSQL": _Postgres}.get(driver_name)
    if dialect is None:
        raise TypeError(f"No SQL row hash for {driver_name}.")
    # Stage i's hash is h{i}; the last stage's value is the fold, g.
    stages = [dialect.seeded_sum(columns, spec)]
    for shift, multiplier in spec.steps:
        stages.append(dialect.multiply(dialect.xorshift(f"h{len(stages) - 1}", shift), multiplier))
    stages.append(dialect.fold(dialect.xorshift(f"h{len(stages) - 1}", spec.last_shift),
                               spec.n_splits))
    ctes, previous = [], source
    for i, expression in enumerate(stages):
        last = i == len(stages) - 1
        alias, stage = ("g", name) if last else (f"h{i}", f"{name}_{i}")
        ctes.append(f"{stage} AS (SELECT {previous}.*, " + expression + f" AS {alias} "
                    f"FROM {previous} OFFSET 0)")
        previous = stage
    return Sql.join(", ", ctes)


# The low 64 bits of a UHUGEINT: a mask, far faster in DuckDB than ``% 2^64``
# (a 128-bit division per value).
_LOW64 = f"CAST('{_TWO64 - 1}' AS UHUGEINT)"


class _DuckDB:
    """UBIGINT for the bits, xor and shifts; UHUGEINT for exact products."""

    @staticmethod
    def _wide(value):
        return Sql("CAST(") + param(str(int(value))) + " AS UHUGEINT)"

    @classmethod
    def seeded_sum(cls, columns, spec):
        terms = [Sql(f"(CAST(CAST(CAST(CAST({column} AS DOUBLE) AS BIT) AS UBIGINT) AS UHUGEINT) * ")
                 + cls._wide(m) + f" & {_LOW64})"
                 for column, m in zip(columns, spec.multipliers)]
        total = "CAST((" + Sql.join(" + ", terms) + f") & {_LOW64} AS UBIGINT)"
        seed = Sql("CAST(") + param(str(int(spec.seed))) + " AS UBIGINT)"
        return "xor(" + total + ", " + seed + ")"

    @staticmethod
    def xorshift(column, shift):
        return Sql(f"xor({column}, {column} >> {int(shift)})")

    @staticmethod
    def multiply(value, multiplier):
        return ("CAST(CAST(" + value + f" AS UHUGEINT) * CAST('{int(multiplier)}' AS UHUGEINT) "
                f"& {_LOW64} AS UBIGINT)")

    @staticmethod
    def fold(value, n_splits):
        return ("(((" + value + ") >> 32) * CAST(" + param(int(n_splits))
                + " AS UBIGINT)) >> 32")


class _Postgres:
    """Signed BIGINT holding the 64 bits; NUMERIC for exact products."""

    @staticmethod
    def _wrap(numeric, bound):
        """The signed BIGINT of ``numeric`` modulo 2^64, for ``|numeric| < bound``."""
        offset = _TWO63 + _TWO64 * -(-bound // _TWO64)  # 2^63 mod 2^64, above the bound
        return ("CAST(MOD(" + numeric + f" + {offset}, {_TWO64}) - {_TWO63} AS BIGINT)")

    @classmethod
    def seeded_sum(cls, columns, spec):
        terms = [Sql("CAST(CAST('x' || encode(float8send(CAST(" + column
                     + " AS DOUBLE PRECISION)), 'hex') AS BIT(64)) AS BIGINT)::numeric * CAST(")
                 + param(str(int(m))) + " AS NUMERIC)"
                 for column, m in zip(columns, spec.multipliers)]
        # |bits| <= 2^63 and m < 2^64: each term is below 2^127 in magnitude.
        total = cls._wrap("(" + Sql.join(" + ", terms) + ")", len(terms) << 127)
        return "(" + total + " # CAST(" + param(_signed(spec.seed)) + " AS BIGINT))"

    @staticmethod
    def xorshift(column, shift):
        mask = (1 << (64 - int(shift))) - 1
        return Sql(f"({column} # (({column} >> {int(shift)}) & {mask}))")

    @classmethod
    def multiply(cls, value, multiplier):
        return cls._wrap("CAST(" + value + f" AS NUMERIC) * {int(multiplier)}", 1 << 127)

    @staticmethod
    def fold(value, n_splits):
        return ("(((" + value + " >> 32) & 4294967295) * CAST(" + param(int(n_splits))
                + " AS BIGINT)) >> 32")


def _signed(value):
    """The signed 64-bit integer with the bits of unsigned ``value``."""
    value = int(value) % _TWO64
    return value - _TWO64 if value >= _TWO63 else value
