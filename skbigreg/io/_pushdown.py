"""The map step compiled to SQL aggregates: the database computes the statistics.

Every statistic of least squares is a sum over rows, so it can be computed
where the rows are, and only (K+1)^2 numbers leave the database. The
numerics are those of the whole project -- centred co-moments, never raw
sums: a cheap query gives a centre ``c`` (the means of a sample of rows),
then one scan gives the weighted count and the cross-products
``sum w (z - c)(z - c)'`` with ``sum w (z - c)``, corrected exactly to the
weighted means. Per-cluster statistics centre each cluster at its own
means (``GROUP BY`` the cluster). The HC second pass sums ``s s'`` of the scores
``s = w e u`` at given coefficients, and their leverage weightings.

This module returns plain arrays (the layers below the statistics types);
:mod:`skbigreg.passes` builds the mergeable statistics from them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._file_columns import ColumnError
from ._sql import Sql, SqlError, number

@dataclass(frozen=True)
class Moments:
    """Weighted count, means and centred co-moments of ``z = [x, y]`` (one group)."""

    n_rows: int
    weight_sum: float
    mean: np.ndarray
    comoment: np.ndarray
    log_weight_sum: float | None = None


@dataclass(frozen=True)
class FirstMoments:
    """Query 1's weighted count and means (no co-moments), and the rows counted
    for each of the caller's conditions."""

    n_rows: int
    weight_sum: float
    mean: np.ndarray
    log_weight_sum: float
    counts: dict


@dataclass(frozen=True)
class GroupedMoments:
    """:class:`Moments` per group label (sorted as :func:`numpy.unique` sorts)."""

    labels: np.ndarray
    n_rows: np.ndarray
    weight_sum: np.ndarray
    mean: np.ndarray
    comoment: np.ndarray


@dataclass(frozen=True)
class ScoreSums:
    """Sums of the HC pass: ``s s'`` and its leverage weightings, and the pass's rows."""

    n_rows: int
    hc0: np.ndarray
    hc2: np.ndarray | None  # None: the pass gathered no leverages
    hc3: np.ndarray | None
    n_unit_leverage: int
    rows: Moments


@dataclass(frozen=True)
class ScorePoint:
    """Where the scores are taken: ``e = (y - shift_y) - (x - shift_x)' coef``,
    leverage ``h = w ((x - shift_x)' bread (x - shift_x) + inverse_weight)``."""

    coef: np.ndarray
    shift_x: np.ndarray
    shift_y: float
    bread: np.ndarray
    center: bool
    inverse_weight: float
    frequency: bool
    unit_tolerance: float  # 1 - h at or below it counts as leverage one


class SqlPushdown:
    """A query's least-squares statistics, computed by the database.

    Made by :meth:`SqlSource.pushdown`; estimators that solve from these
    statistics (:class:`~skbigreg.linear_model.CumulativeLinearRegression`)
    take it in ``fit_chunks``: only the statistics leave the database.

    Iterating it is refused (it has no rows to give): pull rows with the
    :class:`SqlSource` itself.

    Examples
    --------
    >>> import duckdb, numpy as np
    >>> from skbigreg.io import read_sql
    >>> from skbigreg.linear_model import CumulativeLinearRegression
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE t AS SELECT range AS x, 1 + 2 * range + range % 2 AS y "
    ...                 "FROM range(10)")
    >>> source = read_sql("t", con, target="y")
    >>> pushed = CumulativeLinearRegression(cov_type="HC1").fit_chunks(source.pushdown())
    >>> pulled = CumulativeLinearRegression(cov_type="HC1").fit_chunks(source)
    >>> bool(np.allclose(pushed.results().bse, pulled.results().bse, rtol=1e-10))
    True
    >>> round(float(pushed.coef_[0]), 6)
    2.030303
    """

    def __init__(self, relation, drop_first, missing, max_cells=1_000_000):
        from ._files import _feature_names

        self.relation = relation
        self.missing = missing
        self.max_cells = max_cells  # several absorbed factors: the cells read into memory
        self._drop_first = drop_first
        columns = relation.columns
        if columns.target is None:
            raise ValueError("Push-down fits need target=: the column of the response.")
        self.feature_names = _feature_names(columns, relation.categories, drop_first)
        self.target = columns.target
        self.weighted = columns.weight is not None
        clusters = columns.labels.get("clusters")
        # a column name, or a tuple of two or more names (multi-way clusters)
        self.clusters = clusters if clusters is None or isinstance(clusters, str) \
            else tuple(clusters)
        self.entities = columns.labels.get("entities")
        self.groups = columns.labels.get("groups")
        self.periods = columns.labels.get("periods")
        self.require_labels(("clusters", "entities", "groups", "periods"), "Push-down fits")

    @property
    def multiway(self):
        """Whether ``clusters=`` names two or more columns (multi-way clusters)."""
        return isinstance(self.clusters, tuple)

    def refuse_multiway(self, model):
        """Refuse multi-way clusters where ``model`` (its name) does not push them down."""
        if self.multiway:
            raise ValueError(f"{model} push down one cluster column; clusters= names "
                             f"{len(self.clusters)}: pull the rows (fit_chunks(read_sql(...))) "
                             "for multi-way clusters.")

    def require_labels(self, allowed, model):
        """Refuse a row label that ``model`` (its name, for the message) does not read."""
        others = [name for name, col in self.relation.columns.labels.items()
                  if col is not None and name not in allowed]
        if others:
            reads = " and ".join(f"{name}=" for name in allowed) or "no row label"
            raise ValueError(f"{model} read {reads} only; {others[0]}= is not used by them.")

    def __iter__(self):
        raise TypeError(
            "SqlPushdown computes statistics in the database and has no rows to give: "
            "only least-squares estimators (CumulativeLinearRegression) fit from it; pull "
            "rows with the SqlSource from read_sql instead."
        )

    # -- SQL pieces --------------------------------------------------------------
    def _design(self):
        """SQL of each column of ``z = [x, y]`` (dummies for categorical features)."""
        rel, cols = self.relation, self.relation.columns
        parts = []
        for name in cols.features:
            if name not in rel.categories:
                parts.append(rel.value(name))
                continue
            levels = rel.categories[name][1:] if self._drop_first else rel.categories[name]
            column = Sql(rel.quoted(name))
            parts.extend("CASE WHEN " + column + " = " + _level(level) + " THEN 1.0 ELSE 0.0 END"
                         for level in levels)
        return parts + [rel.value(cols.target)]

    def _complete(self):
        """``WHERE`` of rows with no NULL (or NaN, in numbers) in a used column."""
        rel = self.relation
        tests = []
        for name in rel.columns.used():
            column = Sql(rel.quoted(name))
            tests.append(column + " IS NOT NULL")
            if name in rel.numeric_columns():
                tests.append(rel.value(name) + " <> CAST('NaN' AS DOUBLE PRECISION)")
        return Sql.join(" AND ", tests)

    def _src(self, with_nulls=False, with_clusters=False, with_entities=False):
        """The ``src`` CTE: ``z0..zD-1``, ``w`` (1 unweighted), ``g`` (the cluster),
        ``e`` (the level of the absorbed factor; ``e0, e1, ...`` for several)."""
        rel = self.relation
        items = [part + f" AS z{j}" for j, part in enumerate(self._design())]
        # A typed one: PostgreSQL reads a bare 1.0 as NUMERIC, and every w * (...)
        # then converts it to a double per row and sum (half of a score pass).
        one = Sql("CAST(1 AS DOUBLE PRECISION)")
        items.append((rel.value(rel.columns.weight) if self.weighted else one) + " AS w")
        if with_clusters:  # the clusters, or the label column(s) named
            column = self.clusters if with_clusters is True else with_clusters
            if isinstance(column, str):
                items.append(Sql(rel.quoted(column)) + " AS g")
            else:  # multi-way: one column g0, g1, ... per dimension
                items += [Sql(rel.quoted(name)) + f" AS g{j}" for j, name in enumerate(column)]
        if with_entities and isinstance(self.entities, str):
            items.append(Sql(rel.quoted(self.entities)) + " AS e")
        elif with_entities:  # several absorbed factors: one column e0, e1, ... per factor
            items += [Sql(rel.quoted(name)) + f" AS e{j}" for j, name in enumerate(self.entities)]
        if with_nulls:
            items += ["CASE WHEN " + Sql(rel.quoted(name)) + f" IS NULL THEN 1 ELSE 0 END AS null{i}"
                      for i, name in enumerate(rel.columns.used())]
        where = self._complete() if self.missing == "drop" else None
        return ("src AS (SELECT " + Sql.join(", ", items) + " FROM " + rel.source + " AS r"
                + (Sql() if where is None else " WHERE " + where) + ")")

    def _size(self):
        return len(self.feature_names) + 1

    # -- queries -----------------------------------------------------------------
    def first_moments(self, counts=None):
        """Query 1: weighted count and means; NULL counts and weight checks.

        ``counts`` maps names to SQL conditions on the ``src`` columns
        (``z0..``, ``w``): the same scan counts the rows meeting each (a
        caller's own checks, e.g. the response's support), once the NULL
        and weight checks have passed.

        Returns
        -------
        FirstMoments
        """
        d, used = self._size(), self.relation.columns.used()
        counts = counts or {}
        items = ["COUNT(*) AS n", "SUM(w) AS sw", "MIN(w) AS wmin",
                 "SUM(CASE WHEN w > 0 THEN LN(w) ELSE 0 END) AS lw",
                 "SUM(CASE WHEN w = 0 THEN 1 ELSE 0 END) AS wzero"]
        items += [f"SUM(w * z{j}) / NULLIF(SUM(w), 0) AS m{j}" for j in range(d)]
        items += [f"SUM(null{i}) AS null{i}" for i in range(len(used))]
        items += [f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END) AS count{i}"
                  for i, condition in enumerate(counts.values())]
        row = self._one_row("WITH " + self._src(with_nulls=True) + " SELECT " + ", ".join(items)
                            + " FROM src")
        self._check_first(row, used)
        log_w = 0.0 if not self.weighted else (-np.inf if row["wzero"] else float(row["lw"]))
        mean = np.array([row[f"m{j}"] for j in range(d)], dtype=float)
        found = {name: int(row[f"count{i}"] or 0) for i, name in enumerate(counts)}
        return FirstMoments(int(row["n"]), float(row["sw"] or 0.0), mean, log_w, found)

    def _check_first(self, row, used):
        for i, name in enumerate(used):
            if row[f"null{i}"]:
                raise ColumnError(self._argument(name), name,
                                  f"has {int(row[f'null{i}'])} missing (NULL) value(s)",
                                  remedy="missing")
        if not row["n"]:
            raise ValueError("The query returned no rows.")
        if self.weighted:
            weight = self.relation.columns.weight
            if row["sw"] is None or not np.isfinite(row["sw"]):
                raise ValueError(f"sample_weight: column {weight!r} has NaN or infinite values.")
            if row["wmin"] < 0:
                raise ValueError(f"sample_weight: column {weight!r} has negative values.")
        names = [*self.feature_names, self.target]
        for j, name in enumerate(names):
            value = row[f"m{j}"]
            if value is not None and not np.isfinite(value):
                argument = "target" if name == self.target else "features"
                raise ValueError(f"{argument}: column {name!r} has NaN or infinite values.")

    def _argument(self, name):
        cols = self.relation.columns
        if name == cols.target:
            return "target"
        if name == cols.weight:
            return "sample_weight"
        if name in cols.features:
            return "features"
        return next(label for label, col in cols.labels.items()
                    if col == name or (isinstance(col, tuple) and name in col))

    def moments(self):
        """One scan: weighted count, means and centred co-moments, with the checks.

        The co-moments are summed about a shift (the means of a small sample
        of the rows, :meth:`_sample_shift`) and corrected exactly to the
        weighted means (:func:`_corrected`): one pass over the table, never
        raw sums. A shift within a few standard deviations of the means
        costs at most a digit or two of the ~16; raw sums lose
        ``2 log10(|mean| / sd)``.
        """
        table, shift = self._scan()
        row = _totals(table, self._size())
        shift_out, comoment = _corrected(row, self._size(), row["sw"])
        return Moments(row["n"], row["sw"], shift + shift_out, comoment, row["log_w"])

    def grouped_moments(self, label="clusters", row_hash=None):
        """:meth:`moments` ``GROUP BY`` ``label``'s column: each group's
        cross-products about the shift, corrected to its own means; and the
        weighted log-sum of the weights (for likelihoods). With ``row_hash``
        (a :class:`~skbigreg.io._sql_hash.RowHash`) the groups are the
        rows' hashed folds instead, computed in the query."""
        if row_hash is not None:
            table, shift = self._scan(row_hash=row_hash)
            label, column = "folds", "the row hash"
        else:
            column = self.relation.columns.labels[label]
            table, shift = self._scan(column)
        row = _totals(table, self._size())
        return _grouped(table, self._size(), column, shift, label), row["log_w"]

    def multiway_moments(self, ways):
        """:meth:`grouped_moments` for multi-way clusters, in one scan.

        ``ways`` are subsets of the cluster columns (tuples of their
        positions, as :func:`~skbigreg.stats.MultiwayGroupedStats` orders
        them); one ``GROUP BY GROUPING SETS`` gives the groups of each: each
        dimension's clusters and each intersection's.

        Returns
        -------
        list of GroupedMoments
            One per way, in the order of ``ways``; an intersection's
            ``labels`` is a tuple of label arrays (one per column of the
            way, in the query's order), a dimension's its sorted labels.
        float
            The weighted log-sum of the weights.
        """
        d, names = self._size(), self.clusters
        table, shift = self._scan(names, ways)
        found = []
        for way in ways:
            part = _way_rows(table, way, len(names))
            if len(way) == 1:
                key = f"g{way[0]}"
                part = part.rename_columns(["g" if c == key else c for c in part.column_names])
                found.append(_grouped(part, d, names[way[0]], shift))
            else:
                found.append(_intersections(part, d, way, [names[j] for j in way], shift))
        return found, _totals(_way_rows(table, ways[0], len(names)), d)["log_w"]

    def _scan(self, group_column=None, ways=None, row_hash=None):
        """The one scan of :meth:`moments`; its totals checked as query 1's.

        ``group_column`` names a label column to ``GROUP BY``; a tuple of
        them with ``ways`` (subsets of their positions) groups by each
        subset (``GROUPING SETS``), the totals read off the first subset.
        With ``row_hash`` the rows are grouped by the fold it gives each row.
        """
        from ._sql_hash import fold_ctes

        shift = self._sample_shift()
        d, used = self._size(), self.relation.columns.used()
        items = ["COUNT(*) AS n", "SUM(w) AS sw", "MIN(w) AS wmin",
                 "SUM(CASE WHEN w > 0 THEN LN(w) ELSE 0 END) AS lw",
                 "SUM(CASE WHEN w = 0 THEN 1 ELSE 0 END) AS wzero"]
        items += [f"SUM(null{i}) AS null{i}" for i in range(len(used))]
        items += _centred_items(d)
        if row_hash is not None:  # each row's fold, g, computed from its z
            keys, group_by = ["g"], " GROUP BY g"
        else:
            keys, group_by = _group_keys(group_column, ways)
        rows = "src"
        with_src = self._src(with_nulls=True, with_clusters=group_column or False)
        if row_hash is not None:
            rows = "keyed"
            with_src = with_src + ", " + fold_ctes(
                self.relation.driver.name, [f"z{j}" for j in range(d)], row_hash, name=rows)
        nulls = "".join(f", null{i}" for i in range(len(used)))
        sql = ("WITH " + with_src + ", "
               + _params("p", "m", shift) + ", dev AS (SELECT w" + "".join(", " + k for k in keys)
               + nulls + ", " + ", ".join(f"z{j} - p.m{j} AS u{j}" for j in range(d))
               + f" FROM {rows} CROSS JOIN p) SELECT " + _grouping_items(keys, ways)
               + ", ".join(items) + " FROM dev" + group_by)
        table = self.relation.run(Sql(sql) if isinstance(sql, str) else sql)
        if ways is not None:  # every set holds every row: check the totals of one
            table_all, table = table, _way_rows(table, ways[0], len(keys))
        row = _totals(table, d)
        for i in range(len(used)):
            row[f"null{i}"] = _column_sum(table, f"null{i}")
        for j in range(d):  # the means, for the finiteness check
            row[f"m{j}"] = shift[j] + row[f"d{j}"] / row["sw"] if row["sw"] else None
        self._check_first(row, used)
        return (table_all if ways is not None else table), shift

    def _sample_shift(self):
        """Means of the first rows the query gives (a cheap ``LIMIT``): a centre
        close to the means, which makes the one scan's correction exact to
        within a digit or two. NULL or non-finite means give 0."""
        d = self._size()
        row = self._one_row("WITH " + self._src() + " SELECT "
                            + ", ".join(f"AVG(z{j}) AS m{j}" for j in range(d))
                            + f" FROM (SELECT * FROM src LIMIT {_SHIFT_ROWS}) AS head")
        shift = np.array([np.nan if row[f"m{j}"] is None else row[f"m{j}"] for j in range(d)],
                         dtype=float)
        return np.where(np.isfinite(shift), shift, 0.0)

    def _centred_query(self, mean, grouped=False):
        d = self._size()
        items = ["COUNT(*) AS n", "SUM(w) AS sw"] + _centred_items(d)
        if grouped:
            items.insert(0, "g")
        return ("WITH " + self._src(with_clusters=grouped) + ", " + _params("p", "m", mean)
                + ", dev AS (SELECT w, " + ("g, " if grouped else "")
                + ", ".join(f"z{j} - p.m{j} AS u{j}" for j in range(d))
                + " FROM src CROSS JOIN p) SELECT " + ", ".join(items) + " FROM dev"
                + (" GROUP BY g" if grouped else ""))

    def score_sums(self, point, rows_mean, leverage=True):
        """The HC pass at ``point``: ``sum v u u'`` for ``v`` = ``(f e)^2``,
        ``(f e)^2 / (1 - h)`` and ``(f e)^2 / (1 - h)^2`` (the last two over
        rows with ``1 - h`` above the tolerance; the others counted), and the
        pass's own centred moments (about ``rows_mean``) that prove it saw
        the fit's rows. Without ``leverage`` only the first (HC0, HC1): a
        third of the sums, and no leverage per row.

        The scores are ``s = f e u`` with ``u = [1, x - shift_x]`` (the one
        with an intercept only), so ``s s' = (f e)^2 u u'``: three weights
        per row, and one product per pair of columns shared by the meats.
        """
        d = self._size()
        k = d - 1
        fence = self.relation.driver.fence
        # The point's numbers are bound parameters inside the expressions (no
        # joined parameter row), and each stage whose columns are read more
        # than once is fenced, so it is computed once per row.
        centred = Sql.join(", ", [f"z{j} - " + number(point.shift_x[j]) + f" AS u{j}"
                                  for j in range(k)]
                           + [f"z{k} - " + number(point.shift_y) + " AS yc", Sql("w")]
                           + [f"z{j} - " + number(rows_mean[j]) + f" AS v{j}"
                              for j in range(d)])
        residual = Sql.join(" - ", [Sql("yc")] + [f"u{j} * " + number(point.coef[j])
                                                 for j in range(k)])
        quadratic = Sql.join(" + ", [number(point.bread[j, j]) + f" * u{j} * u{j}"
                                     for j in range(k)]
                             + ["2 * " + number(point.bread[i, j]) + f" * u{i} * u{j}"
                                for i, j in zip(*np.triu_indices(k, 1))]) if k else Sql("0")
        score_factor, leverage_factor = _weight_factors(self.weighted, point.frequency)
        room, tolerance = "(1 - h)", repr(float(point.unit_tolerance))
        weights = f"(e * {score_factor}) * (e * {score_factor}) AS v_hc0"
        if leverage:
            weights += (f", CASE WHEN {room} > {tolerance} THEN 0 ELSE 1 END AS unit, "
                        f"CASE WHEN {room} > {tolerance} THEN 1 / {room} ELSE 0 END AS over")
        # The score's columns: the intercept's (a column of ones) first, then u.
        columns = (["1"] if point.center else []) + [f"u{j}" for j in range(k)]
        s = len(columns)
        kinds = ("hc0", "hc2", "hc3") if leverage else ("hc0",)
        items = ["COUNT(*) AS n", "SUM(w) AS sw"] + (["SUM(unit) AS unit"] if leverage else [])
        for a, b in zip(*np.triu_indices(s)):
            product = f"{columns[a]} * {columns[b]}"
            items += [f"SUM(v_{kind} * {product}) AS {kind}_{a}_{b}" for kind in kinds]
        items += _centred_items(d, prefix="v")
        h = Sql()
        if leverage:
            h = (f", {leverage_factor} * (" + quadratic
                 + (" + " + number(point.inverse_weight) if point.center else Sql()) + ") AS h")
        meats = ", v_hc0 * over AS v_hc2, v_hc0 * over * over AS v_hc3" if leverage else ""
        sql = ("WITH " + self._src() + ", r AS (SELECT " + centred + f" FROM src{fence})"
               + ", q AS (SELECT r.*, " + residual + " AS e" + h + f" FROM r{fence})"
               + f", sw AS (SELECT q.*, {weights} FROM q{fence})"
               + f", sc AS (SELECT sw.*{meats} FROM sw{fence})"
               + " SELECT " + ", ".join(items) + " FROM sc")
        row = self._one_row(sql)
        matrices = [_symmetric(row, f"{kind}_", s) for kind in kinds]
        shift, comoment = _corrected(row, d, float(row["sw"]))
        rows = Moments(int(row["n"]), float(row["sw"]), rows_mean + shift, comoment)
        if not leverage:
            return ScoreSums(int(row["n"]), matrices[0], None, None, 0, rows)
        return ScoreSums(int(row["n"]), *matrices, int(row["unit"]), rows)

    def _one_row(self, sql):
        table = self.relation.run(sql if isinstance(sql, Sql) else Sql(sql))
        return {name: table.column(name)[0].as_py() for name in table.column_names}


# Rows whose means centre the one scan of the co-moments.
_SHIFT_ROWS = 10_000


def _column_sum(table, name):
    import pyarrow.compute as pc

    return pc.sum(table.column(name)).as_py() or 0


def _totals(table, d):
    """The totals of a (possibly grouped) scan: counts, weights, centred sums."""
    import pyarrow.compute as pc

    row = {"n": int(_column_sum(table, "n")), "sw": float(_column_sum(table, "sw")),
           "wmin": pc.min(table.column("wmin")).as_py(), "wzero": _column_sum(table, "wzero")}
    row["log_w"] = -np.inf if row["wzero"] else float(_column_sum(table, "lw"))
    if not row["n"]:
        return row | {f"d{j}": 0.0 for j in range(d)}
    for name in table.column_names:
        if name[0] in "dc" and name[1:2].isdigit():
            row[name] = float(_column_sum(table, name))
    return row


def _group_keys(group_column, ways):
    """The grouping columns of a scan (``g``, or ``g0, g1, ...``) and its ``GROUP BY``."""
    if group_column is None:
        return [], ""
    if ways is None:
        return ["g"], " GROUP BY g"
    keys = [f"g{j}" for j in range(len(group_column))]
    sets = ", ".join("(" + ", ".join(keys[j] for j in way) + ")" for way in ways)
    return keys, f" GROUP BY GROUPING SETS ({sets})"


def _grouping_items(keys, ways):
    """The key columns selected, and with grouping sets which set a row belongs to."""
    if not keys:
        return ""
    if ways is None:
        return "g, "
    return f"GROUPING({', '.join(keys)}) AS way, " + "".join(k + ", " for k in keys)


def _way_mask(way, n_keys):
    """``GROUPING(g0, ..)`` of the rows of subset ``way``: a bit per column left out,
    the first column's the most significant (so in DuckDB and PostgreSQL)."""
    return sum(1 << (n_keys - 1 - j) for j in range(n_keys) if j not in way)


def _way_rows(table, way, n_keys):
    """The rows of a ``GROUPING SETS`` result that belong to subset ``way``."""
    import pyarrow.compute as pc

    return table.filter(pc.equal(table.column("way"), _way_mask(way, n_keys)))


def pc_sum(column):
    import pyarrow.compute as pc

    return pc.sum(column).as_py() or 0


def _same_rows(n, weight_sum, n_again, weight_sum_again):
    """Refuse statistics of two queries that did not see the same rows."""
    if n != n_again or not np.isclose(weight_sum, weight_sum_again, rtol=1e-10, atol=0.0):
        raise SqlError(
            f"The rows changed between the push-down's queries ({n} rows of weight "
            f"{weight_sum:.17g}, then {n_again} of weight {weight_sum_again:.17g}): fit again "
            "on data that is not being written, or in one REPEATABLE READ transaction."
        )


def _level(level):
    """A categorical level as a bound parameter of its own type."""
    if isinstance(level, (bool, np.bool_)):
        return Sql("CAST(") + _param(bool(level)) + " AS BOOLEAN)"
    if isinstance(level, (int, np.integer)):
        return Sql("CAST(") + _param(int(level)) + " AS BIGINT)"
    if isinstance(level, (float, np.floating)):
        return number(level)
    return Sql("CAST(") + _param(str(level)) + " AS VARCHAR)"


def _param(value):
    from ._sql import param

    return param(value)


def _params(name, prefix, values, names=None):
    """A one-row CTE of bound DOUBLE parameters, each bound once and read by name."""
    names = names or [f"{prefix}{j}" for j in range(len(values))]
    items = [number(v) + f" AS {n}" for v, n in zip(values, names)]
    return f"{name} AS (SELECT " + Sql.join(", ", items) + ")"


def _centred_items(d, prefix="u"):
    """``d{j} = sum w u_j`` and ``c{i}_{j} = sum w u_i u_j`` (upper triangle)."""
    items = [f"SUM(w * {prefix}{j}) AS d{j}" for j in range(d)]
    items += [f"SUM(w * {prefix}{i} * {prefix}{j}) AS c{i}_{j}" for i, j in zip(*np.triu_indices(d))]
    return items


def _corrected(row, d, weight_sum):
    """``(shift, C)``: centring about ``m`` gives ``S = C + W s s'`` with
    ``s = sum w (z - m) / W``; the exact means are ``m + s``."""
    deviation = np.array([row[f"d{j}"] for j in range(d)], dtype=float)
    shift = deviation / weight_sum if weight_sum > 0 else np.zeros(d)
    comoment = _symmetric(row, "c", d) - weight_sum * np.outer(shift, shift)
    return shift, comoment


def _symmetric(row, prefix, size):
    matrix = np.zeros((size, size))
    for i, j in zip(*np.triu_indices(size)):
        matrix[i, j] = matrix[j, i] = row[f"{prefix}{i}_{j}"] or 0.0
    return matrix


def _weight_factors(weighted, frequency):
    """SQL factors of the score (``w e u``; ``sqrt(w) e u`` for frequency
    weights) and of the leverage (``w``; 1 on rows of positive weight)."""
    if not weighted:
        return "1", "1"
    if frequency:
        return "SQRT(w)", "(CASE WHEN w > 0 THEN 1 ELSE 0 END)"
    return "w", "w"


def _intersections(table, d, way, names, mean):
    """:class:`GroupedMoments` of the intersections of subset ``way`` (query order);
    ``labels`` holds one array per column of the way."""
    keys = [f"g{j}" for j in way]
    for key, name in zip(keys, names):
        if table.column(key).null_count:
            raise ColumnError("clusters", name, "has missing (NULL) values", remedy="missing")
    labels = tuple(table.column(key).to_numpy(zero_copy_only=False) for key in keys)
    moments = _grouped(table.append_column("g", [np.arange(table.num_rows)]), d, names, mean)
    return GroupedMoments(labels, moments.n_rows, moments.weight_sum, moments.mean,
                          moments.comoment)


def _grouped(table, d, name, mean, label="clusters"):
    """:class:`GroupedMoments` of a ``GROUP BY`` result about the overall
    ``mean``, each group corrected to its own means; sorted by label."""
    if table.column("g").null_count:
        raise ColumnError(label, name, "has missing (NULL) values", remedy="missing")
    labels = table.column("g").to_numpy(zero_copy_only=False)
    order = np.argsort(labels, kind="stable")
    column = {c: np.asarray(table.column(c).to_numpy(zero_copy_only=False))[order]
              for c in table.column_names if c != "g"}
    weight_sum = column["sw"].astype(float)
    rows = [{key: values[g] for key, values in column.items()} for g in range(len(order))]
    means, comoment = np.zeros((len(order), d)), np.zeros((len(order), d, d))
    for g, row in enumerate(rows):
        shift, comoment[g] = _corrected(row, d, weight_sum[g])
        means[g] = mean + shift if weight_sum[g] > 0 else 0.0  # as GroupedGramStats has it
    return GroupedMoments(labels[order], column["n"].astype(np.int64), weight_sum, means, comoment)
