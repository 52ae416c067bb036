"""SQL push-down of two or more absorbed factors: the cells of the factors.

The projection of a column onto the span of the factors' indicators is
constant within each *cell* (a distinct combination of levels ``(f1, f2,
...)``), so the rows enter the effects' normal equations and the within Gram
only through each cell's weight ``W_c``, mean ``m_c`` of ``z = [x, y]`` and
its centred co-moment ``S_c``::

    within Gram of the rows = sum_c S_c + (within Gram of the cell means, weights W_c)

The database gives them in two queries, both centred (never raw sums): one
``GROUP BY`` the factors' columns gives each cell's row count, weight and
means (``m_c = m + sum w (z - m) / W_c`` about the overall means ``m``), and
one sums the co-moments of the rows less their cell's means (uploaded as a
small table joined to the rows, :mod:`skbigreg.io._upload`). Only the cell table (``C`` rows)
leaves the database; the effects are solved on it.

The score pass (HC1, CRV1) runs at the final coefficients with each
factor's per-level effects uploaded as a small table (DuckDB: a registered
Arrow table; PostgreSQL: a temporary table filled by ``COPY``): each row's
demeaned ``z - sum_f a_f[level_f]`` and residual are computed in the query,
and only the scores' sums leave it. Rows whose level of some factor has no
uploaded effect (a dropped singleton level) drop out of the join.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._pushdown import (
    _group_keys,
    _grouping_items,
    _params,
    _same_rows,
    _symmetric,
    _way_mask,
)
from ._pushdown_within import score_items, score_sums
from ._upload import _table_names, run_with_tables


@dataclass(frozen=True)
class CellTable:
    """The distinct combinations of the factors' levels, with their rows' totals.

    ``levels`` holds one label array per factor (the cell's level of it);
    ``n_rows``, ``weight_sum`` (C,) and ``mean`` (C, D) of ``z = [x, y]``.
    """

    levels: tuple
    n_rows: np.ndarray
    weight_sum: np.ndarray
    mean: np.ndarray


def cell_table(pushdown, mean, n_rows, weight_sum, max_cells):
    """One ``GROUP BY`` the factors: each cell's row count, weight and means.

    ``mean``, ``n_rows`` and ``weight_sum`` are query 1's (the rows must be
    the same); more than ``max_cells`` cells is refused before they are read.
    """
    d, keys = pushdown._size(), _keys(pushdown)
    items = [*keys, "COUNT(*) AS n", "SUM(w) AS sw"]
    items += [f"SUM(w * (z{j} - p.m{j})) AS d{j}" for j in range(d)]
    sql = ("WITH " + pushdown._src(with_entities=True) + ", " + _params("p", "m", mean)
           + " SELECT " + ", ".join(items) + " FROM src CROSS JOIN p GROUP BY "
           + ", ".join(keys) + f" LIMIT {int(max_cells) + 1}")
    table = pushdown.relation.run(sql)  # NULL levels: refused by query 1
    if table.num_rows > max_cells:
        raise ValueError(
            f"The absorbed factors {list(pushdown.entities)} have more than max_cells="
            f"{max_cells} distinct combinations of levels (cells): their table would hold "
            f"{max_cells} x {d} numbers or more in memory. Raise max_cells in pushdown(...), "
            "or pull the rows (fit_chunks(read_sql(...)), memory O(levels)).")
    column = {name: table.column(name).to_numpy(zero_copy_only=False)
              for name in table.column_names}
    cell_n, cell_w = column["n"].astype(np.int64), column["sw"].astype(float)
    _same_rows(n_rows, weight_sum, int(cell_n.sum()), float(cell_w.sum()))
    deviation = np.column_stack([column[f"d{j}"].astype(float) for j in range(d)])
    means = np.zeros_like(deviation)  # a cell of weight 0 has mean 0, as a level has
    positive = cell_w > 0
    means[positive] = mean + deviation[positive] / cell_w[positive, None]
    return CellTable(tuple(column[key] for key in keys), cell_n, cell_w, means)


def cell_comoment(pushdown, mean, n_rows, weight_sum, cells):
    """``sum_c S_c``: the co-moments of the rows less their cell's means, (D, D).

    Each cell's mean about the overall ``mean`` (``cells``, the cell table)
    travels to the database as a small table joined to the rows. Joining
    the rows to a ``GROUP BY`` of themselves instead gives the same sums, but
    a database that cannot know how few cells there are sizes that join for
    every row (DuckDB held gigabytes at 20 M rows).
    """
    d, keys = pushdown._size(), _keys(pushdown)
    sql = ("WITH " + pushdown._src(with_entities=True) + ", " + _params("p", "m", mean))
    name = _table_names(1)[0]
    shifted = ", ".join(f"(src.z{j} - p.m{j}) - cm.a{j} AS t{j}" for j in range(d))
    joined = " AND ".join(f"src.{key} = cm.l{f}" for f, key in enumerate(keys))
    sql += f", x AS (SELECT src.w, {shifted} FROM src JOIN {name} AS cm ON {joined} CROSS JOIN p)"
    items = ["COUNT(*) AS n", "SUM(w) AS sw"]
    items += [f"SUM(w * t{i} * t{j}) AS c{i}_{j}" for i, j in zip(*np.triu_indices(d))]
    offsets = cells.mean - mean
    offsets[cells.weight_sum <= 0] = 0.0  # a cell of weight 0 is centred at the overall mean
    table = run_with_tables(pushdown, sql + " SELECT " + ", ".join(items) + " FROM x",
                            {name: (tuple(cells.levels), offsets)})
    row = {column: table.column(column)[0].as_py() for column in table.column_names}
    _same_rows(n_rows, weight_sum, int(row["n"]), float(row["sw"] or 0.0))
    return _symmetric(row, "c", d)


def factor_nesting(pushdown, kept=None):
    """Per cluster column, per factor: whether each of the factor's levels lies
    in one cluster of that column (one scan: ``MIN``/``MAX`` of every cluster
    column per level of each factor, ``GROUP BY GROUPING SETS`` the factors).

    ``kept`` (each factor's levels left once singletons are dropped) limits
    the scan to the rows in kept levels, uploaded as tables as the effects are.
    Returns a tuple (one per cluster column) of tuples (one per factor) of bool.
    """
    keys = _keys(pushdown)
    rows, tables = "src", {}
    if kept is not None:
        names = _table_names(len(keys))
        tables = {name: (labels, np.zeros((len(labels), 1))) for name, labels in zip(names, kept)}
        rows += "".join(f" JOIN {name} AS k{f} ON src.{key} = k{f}.l"
                        for f, (name, key) in enumerate(zip(names, keys)))
    columns = [pushdown.clusters] if isinstance(pushdown.clusters, str) else pushdown.clusters
    groups = ["g"] if isinstance(pushdown.clusters, str) else [f"g{j}" for j in range(len(columns))]
    checks = ", ".join(f"CASE WHEN MIN({g}) = MAX({g}) THEN 0 ELSE 1 END AS s{j}"
                       for j, g in enumerate(groups))
    sets = ", ".join(f"({key})" for key in keys)
    sums = ", ".join(f"SUM(s{j}) AS s{j}" for j in range(len(groups)))
    table = run_with_tables(
        pushdown, "WITH " + pushdown._src(with_clusters=True, with_entities=True)
        + f", lv AS (SELECT GROUPING({', '.join(keys)}) AS way, {checks} FROM {rows} "
        + f"GROUP BY GROUPING SETS ({sets})) SELECT way, {sums} FROM lv GROUP BY way", tables)
    found = {int(way): [table.column(f"s{j}")[i].as_py() for j in range(len(groups))]
             for i, way in enumerate(table.column("way").to_pylist())}
    per_factor = [found[_way_mask((f,), len(keys))] for f in range(len(keys))]
    return tuple(tuple(not per_factor[f][j] for f in range(len(keys)))
                 for j in range(len(groups)))


def effect_score_sums(pushdown, effects, forms, columns, rows_mean, ways=None):
    """The score pass of residuals ``e_f = t' forms[f]`` of the demeaned rows.

    ``effects`` are ``(labels, values)`` per factor: each level's effects of
    every column of ``z`` (G_f, D), uploaded as a table. Each row's
    demeaned ``t = z - sum_f a_f[level_f]`` is computed in the query, and its
    scores ``w e_f t[columns]``, stacked over the forms; returns their
    ``sum s s'``, per cluster ``sum s`` (with clusters; per cluster of each
    subset in ``ways`` for multi-way clusters) and the joined rows' own
    moments about ``rows_mean``. Rows in a level without an effect (a
    dropped singleton level) leave with the join.
    """
    d, keys = pushdown._size(), _keys(pushdown)
    forms = np.atleast_2d(np.asarray(forms, dtype=float))
    column = pushdown.clusters
    group_keys, group_by = _group_keys(column, None if isinstance(column, str) else ways)
    names = _table_names(len(keys))
    values = np.concatenate([forms.ravel(), rows_mean])
    sql = ("WITH " + pushdown._src(with_clusters=column is not None, with_entities=True) + ", "
           + _params("p", None, values, [f"b{f}_{j}" for f in range(len(forms))
                                         for j in range(d)] + [f"r{j}" for j in range(d)]))
    joins = "".join(f" JOIN {name} AS f{f} ON src.{key} = f{f}.l"
                    for f, (name, key) in enumerate(zip(names, keys)))
    demeaned = ", ".join(f"src.z{j} - (" + " + ".join(f"f{f}.a{j}" for f in range(len(keys)))
                         + f") AS t{j}" for j in range(d))
    moments = ", ".join(f"src.z{j} - p.r{j} AS v{j}" for j in range(d))
    sql += (f", x AS (SELECT src.w{''.join(', src.' + g for g in group_keys)}, {demeaned}, "
            f"{moments} FROM src{joins} CROSS JOIN p)")
    residuals = ", ".join(
        "w * (" + " + ".join(f"t{j} * p.b{f}_{j}" for j in range(d) if forms[f, j]) + f") AS e{f}"
        if forms[f].any() else f"0.0 AS e{f}" for f in range(len(forms)))
    sql += (f", q AS {pushdown.relation.driver.once}(SELECT x.*, {residuals} "
            "FROM x CROSS JOIN p)")
    scores = [(f, i) for f in range(len(forms)) for i in columns]
    items = score_items("e", [f"t{j}" for j in range(d)], scores, d)
    sql += (" SELECT " + _grouping_items(group_keys, None if group_keys == ["g"] else ways)
            + ", ".join(items) + " FROM q" + group_by)
    table = run_with_tables(pushdown, sql, dict(zip(names, effects)))
    return score_sums(table, group_keys, ways, column is not None, len(scores), d, rows_mean)


def _keys(pushdown):
    return [f"e{j}" for j in range(len(pushdown.entities))]
