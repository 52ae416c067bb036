"""SQL push-down of one absorbed factor (the within estimator).

The within estimator solves from the total co-moments and each level's
weight and means (``C_within = C - sum_e W_e (m_e - m)(m_e - m)'``), so the
database gives, besides the queries of :class:`SqlPushdown`, one ``GROUP
BY`` the entity: each level's weight and its centred sums about the overall
means ``m`` (``m_e = m + sum_e w (z - m) / W_e`` -- never raw sums), and
whether it lies in one cluster (``MIN``/``MAX`` of the cluster per level).
A third query sums the co-moments of the rows demeaned by level (each
row less its level's means, uploaded as a small table and joined to the
rows): the within co-moment directly, per cluster when the levels nest in
clusters.
The total less the between-level part would lose the digits of a column
with large level offsets and a small spread within levels.

The second pass (HC1, clusters that cut across levels) demeans each row by
its level's means (the same uploaded table: statistics travel to the
database, rows never leave it) and sums the
scores ``s = w e (x - m_level)``: their outer products, per cluster, and the
pass's own centred moments (the proof it saw the fit's rows). The same pass
serves IV/2SLS, whose structural and first-stage residuals are linear in
``z`` too (about the overall means, or the level means when it absorbs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._file_columns import ColumnError
from ._pushdown import (
    Moments,
    _corrected,
    _group_keys,
    _grouping_items,
    _params,
    _same_rows,
    _symmetric,
    _way_rows,
)
from ._upload import _table_names, run_with_tables


@dataclass(frozen=True)
class LevelMoments:
    """Weight, row count and means of ``z = [x, y]`` per level (sorted labels)."""

    labels: np.ndarray
    n_rows: np.ndarray
    weight_sum: np.ndarray
    mean: np.ndarray
    cluster: np.ndarray | None
    nested: bool


@dataclass(frozen=True)
class LinearScoreSums:
    """Sums of a score pass of residuals linear in ``z``: ``sum s s'``, per cluster
    ``sum s`` (``s`` stacks ``w e_f u`` over the residual forms ``f``), its rows;
    for multi-way clusters ``(labels, sums)`` per subset of their columns."""

    n_rows: int
    outer: np.ndarray
    cluster_labels: np.ndarray | None
    cluster_sums: np.ndarray | None
    rows: Moments
    multiway: tuple | None = None


def level_moments(pushdown, mean, n_rows, weight_sum):
    """One ``GROUP BY`` the entity: each level's count, weight and means.

    ``mean`` are the overall means (query 1); ``n_rows`` and ``weight_sum``
    its totals, which this query must see again.
    """
    d = pushdown._size()
    clustered = isinstance(pushdown.clusters, str)  # multi-way: see level_nesting
    items = ["e", "COUNT(*) AS n", "SUM(w) AS sw"]
    items += [f"SUM(w * (z{j} - p.m{j})) AS d{j}" for j in range(d)]
    if clustered:
        items += ["MIN(g) AS gmin", "MAX(g) AS gmax"]
    sql = ("WITH " + pushdown._src(with_clusters=clustered, with_entities=True) + ", "
           + _params("p", "m", mean) + " SELECT " + ", ".join(items)
           + " FROM src CROSS JOIN p GROUP BY e")
    table = pushdown.relation.run(sql)
    if table.column("e").null_count:
        raise ColumnError("entities", pushdown.entities, "has missing (NULL) values",
                          remedy="missing")
    column = _sorted_columns(table, "e")
    _same_rows(n_rows, weight_sum, int(column["n"].sum()), float(column["sw"].sum()))
    level_weight = column["sw"].astype(float)
    deviation = np.column_stack([column[f"d{j}"].astype(float) for j in range(d)])
    positive = level_weight > 0
    means = np.zeros_like(deviation)  # a level of weight 0 has mean 0, as LevelMeans has it
    means[positive] = mean + deviation[positive] / level_weight[positive, None]
    cluster, nested = None, False
    if clustered:
        nested = bool(np.all(column["gmin"] == column["gmax"]))
        cluster = column["gmin"] if nested else None
    return LevelMoments(column["e"], column["n"].astype(np.int64), level_weight, means,
                        cluster, nested)


def within_moments(pushdown, mean, by_cluster, levels):
    """The co-moments of ``z`` demeaned by level: (D, D), or per cluster (C, D, D).

    Each row less its level's means: ``levels`` (the level query's
    :class:`LevelMoments`) travel to the database as a small table joined to
    the rows, each level's mean about the overall ``mean`` (see
    :mod:`skbigreg.io._upload` for why not a ``GROUP BY`` joined back);
    ``by_cluster`` sums them per cluster (levels nested in the clusters),
    sorted by cluster. Returns ``(labels or None, co-moments)``.
    """
    d = pushdown._size()
    name = _table_names(1)[0]
    sql = ("WITH " + pushdown._src(with_clusters=by_cluster, with_entities=True) + ", "
           + _params("p", "m", mean))
    shifted = ", ".join(f"(src.z{j} - p.m{j}) - lm.a{j} AS t{j}" for j in range(d))
    sql += (f", x AS (SELECT src.w{', src.g' if by_cluster else ''}, {shifted} FROM src "
            f"JOIN {name} AS lm ON src.e = lm.l CROSS JOIN p)")
    items = [f"SUM(w * t{i} * t{j}) AS c{i}_{j}" for i, j in zip(*np.triu_indices(d))]
    sql += (" SELECT " + ("g, " if by_cluster else "") + ", ".join(items) + " FROM x"
            + (" GROUP BY g" if by_cluster else ""))
    offsets = levels.mean - mean
    offsets[levels.weight_sum <= 0] = 0.0  # a level of weight 0 is centred at the overall mean
    table = run_with_tables(pushdown, sql, {name: (levels.labels, offsets)})
    column = _sorted_columns(table, "g" if by_cluster else None)
    rows = len(column["c0_0"])
    comoments = np.zeros((rows, d, d))
    for r in range(rows):
        comoments[r] = _symmetric({name: values[r] for name, values in column.items()}, "c", d)
    if by_cluster:
        return column["g"], comoments
    return None, comoments[0]


def linear_score_sums(pushdown, forms, rows_mean, *, shift, columns, center=False,
                      group="clusters", ways=None):
    """The score pass of residuals ``e_f = (z - shift)' forms[f]`` at given coefficients.

    Each row's scores are ``w e_f u`` with ``u = [1, (z - shift)[columns]]``
    (the leading one only when ``center``), stacked over the forms; the query
    returns their outer products summed, their sums per cluster (when the
    push-down names clusters) and the pass's own moments about ``rows_mean``.

    ``shift`` is a vector (one centre for every row), or ``("levels", mean,
    level_stats)``: each row demeaned by its level's means (the fit's
    :class:`~skbigreg.stats.LevelMeans`, uploaded about ``mean`` as a small
    table joined to the rows, :mod:`skbigreg.io._upload`). ``group`` names
    the label whose groups get the sums (``"periods"``: Driscoll-Kraay).
    Multi-way clusters get them with ``ways`` (subsets of their columns,
    one ``GROUPING SETS`` query), in ``multiway``; without, none.
    """
    d = pushdown._size()
    forms = np.atleast_2d(np.asarray(forms, dtype=float))
    by_level = isinstance(shift, tuple)
    centre = np.asarray(shift[1] if by_level else shift, dtype=float)
    column = pushdown.relation.columns.labels.get(group)
    # multi-way clusters only when asked: least squares and IV read their
    # first pass's per-cluster statistics instead
    clustered = isinstance(column, str) or (column is not None and ways is not None)
    keys, group_by = _group_keys(column if clustered else None,
                                 None if isinstance(column, str) else ways)
    values = np.concatenate([centre, forms.ravel(), rows_mean])
    names = ([f"m{j}" for j in range(d)]
             + [f"b{f}_{j}" for f in range(len(forms)) for j in range(d)]
             + [f"r{j}" for j in range(d)])
    sql = "WITH " + pushdown._src(with_clusters=clustered and column,
                                  with_entities=by_level) + ", "
    sql += _params("p", None, values, names)
    tables = {}
    if by_level:
        name = _table_names(1)[0]
        level_stats = shift[2]
        offsets = np.asarray(level_stats.mean, dtype=float) - centre
        offsets[np.asarray(level_stats.weight_sum) <= 0] = 0.0  # weight 0: the overall centre
        tables[name] = (np.asarray(level_stats.labels), offsets)
        rows, level = f" FROM src JOIN {name} AS lm ON src.e = lm.l CROSS JOIN p", " - lm.a{j}"
    else:
        rows, level = " FROM src CROSS JOIN p", ""
    shifted = ", ".join([f"src.z{j} - p.m{j}{level.format(j=j)} AS t{j}" for j in range(d)]
                        + [f"src.z{j} - p.r{j} AS v{j}" for j in range(d)])
    # each stage fenced: computed once per row, not inlined into every sum
    fence = pushdown.relation.driver.fence
    sql += f", x AS (SELECT src.w{''.join(', src.' + key for key in keys)}, {shifted}{rows}{fence})"
    residuals = ", ".join(
        "w * (" + " + ".join(f"t{j} * p.b{f}_{j}" for j in range(d) if forms[f, j]) + f") AS f{f}"
        if forms[f].any() else f"0.0 AS f{f}" for f in range(len(forms)))
    sql += f", q AS (SELECT x.*, {residuals} FROM x CROSS JOIN p{fence})"
    u = (["1"] if center else []) + [f"t{j}" for j in columns]
    scores = [(f, i) for f in range(len(forms)) for i in range(len(u))]
    sql += (" SELECT " + _grouping_items(keys, None if keys == ["g"] else ways)
            + ", ".join(score_items("f", u, scores, d)) + " FROM q" + group_by)
    table = run_with_tables(pushdown, sql, tables) if tables else pushdown.relation.run(sql)
    return score_sums(table, keys, ways, clustered, len(scores), d, rows_mean)


def score_items(residual, u, scores, d):
    """The aggregates of a score pass: the row count and weight, each score's
    sum ``s{a}`` (``residual{f} * u[i]`` for ``scores[a] = (f, i)``), their
    outer products ``h{a}_{b}``, and the pass's own sums ``d{j}`` and
    co-moments ``c{i}_{j}`` of ``v = z - rows_mean``."""
    items = ["COUNT(*) AS n", "SUM(w) AS sw"]
    items += [f"SUM({residual}{f} * {u[i]}) AS s{a}" for a, (f, i) in enumerate(scores)]
    items += [f"SUM({residual}{f} * {residual}{g} * {u[i]} * {u[j]}) AS h{a}_{b}"
              for a, b in zip(*np.triu_indices(len(scores)))
              for (f, i), (g, j) in [(scores[a], scores[b])]]
    items += [f"SUM(w * v{j}) AS d{j}" for j in range(d)]
    items += [f"SUM(w * v{i} * v{j}) AS c{i}_{j}" for i, j in zip(*np.triu_indices(d))]
    return items


def score_sums(table, keys, ways, clustered, n_scores, d, rows_mean):
    """:class:`LinearScoreSums` of a score pass's result (:func:`score_items`),
    grouped by ``keys``: by ``GROUPING SETS`` of multi-way clusters, by one
    cluster (``clustered``), or not at all."""
    if len(keys) > 1:
        return _multiway_score_sums(table, ways, n_scores, d, rows_mean)
    column = _sorted_columns(table, "g" if clustered else None)
    total = {name: values.sum() for name, values in column.items() if name != "g"}
    moments = _pass_moments(total, d, rows_mean)
    sums = None
    if clustered:
        sums = np.column_stack([column[f"s{a}"].astype(float) for a in range(n_scores)])
    return LinearScoreSums(moments.n_rows, _symmetric(total, "h", n_scores),
                           column["g"] if clustered else None, sums, moments)


def _pass_moments(total, d, rows_mean):
    shift_rows, comoment = _corrected(total, d, float(total["sw"]))
    return Moments(int(total["n"]), float(total["sw"]), rows_mean + shift_rows, comoment)


def _multiway_score_sums(table, ways, n_scores, d, rows_mean):
    """:class:`LinearScoreSums` of a ``GROUPING SETS`` score pass: the totals from
    the first subset's groups, and per subset its labels (one array per
    column of the subset, query order) and score sums, in ``multiway``."""
    n_keys = sum(len(way) == 1 for way in ways)
    found = []
    for way in ways:
        part = _way_rows(table, way, n_keys)
        labels = tuple(part.column(f"g{j}").to_numpy(zero_copy_only=False) for j in way)
        sums = np.column_stack([_floats(part, f"s{a}") for a in range(n_scores)])
        found.append((labels, sums))
    first = _way_rows(table, ways[0], n_keys)
    total = {name: _floats(first, name).sum() for name in first.column_names
             if name != "way" and not (name[0] == "g" and name[1:].isdigit())}
    moments = _pass_moments(total, d, rows_mean)
    return LinearScoreSums(moments.n_rows, _symmetric(total, "h", n_scores), None, None,
                           moments, tuple(found))


def _floats(table, name):
    """A column of sums as floats (a NULL sum, of no rows, as 0)."""
    values = table.column(name).to_numpy(zero_copy_only=False)
    return np.array([0.0 if v is None else v for v in values], dtype=float) \
        if values.dtype == object else values.astype(float)


def level_nesting(pushdown):
    """Per cluster column, whether every level of the entity lies in one of its
    clusters (one scan: ``MIN``/``MAX`` of each column per level).

    A level lies in one cluster of a subset of the columns exactly when it
    does in each column of the subset.
    """
    columns = pushdown.clusters
    checks = ", ".join(f"CASE WHEN MIN(g{j}) = MAX(g{j}) THEN 0 ELSE 1 END AS s{j}"
                       for j in range(len(columns)))
    sums = ", ".join(f"SUM(s{j}) AS s{j}" for j in range(len(columns)))
    row = pushdown._one_row("WITH " + pushdown._src(with_clusters=columns, with_entities=True)
                            + f" SELECT {sums} FROM (SELECT e, {checks} FROM src GROUP BY e) AS lv")
    return tuple(not row[f"s{j}"] for j in range(len(columns)))


def _sorted_columns(table, key):
    """A ``GROUP BY`` result as numpy columns, rows sorted by ``key`` (NULL sums as 0)."""
    column = {name: table.column(name).to_numpy(zero_copy_only=False)
              for name in table.column_names}
    for name, values in column.items():
        if name not in ("e", "g", "gmin", "gmax") and values.dtype == object:
            column[name] = np.array([0.0 if v is None else v for v in values], dtype=float)
    if key is None:
        return column
    order = np.argsort(column[key], kind="stable")
    return {name: values[order] for name, values in column.items()}
