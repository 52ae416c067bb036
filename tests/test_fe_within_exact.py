"""One absorbed factor with large level offsets: the within co-moment is gathered exactly.

A regressor ``x = scale * a_level + N(0, 1)`` varies a million (or a hundred
million) times more between levels than within them. The within co-moment
formed as the total less the between-level part keeps none of its digits;
gathered from level-centred rows and merged per level it keeps them all.
Oracles: pyfixest's ``feols`` (it demeans every row by its level directly)
and numpy least squares on rows demeaned in two exact steps (each row less
a row of its level -- exact for values this close -- then less the level
mean of those differences), streamed in small chunks, sorted and shuffled.
"""

import os
import warnings

import numpy as np
import pandas as pd
import pytest

from skbigreg.exceptions import CollinearityWarning, IllConditionedWarning
from skbigreg.linear_model import CumulativeFixedEffectsRegression, CumulativeIVRegression
from skbigreg.stats import GramStats, LevelMeans

pf = pytest.importorskip("pyfixest")

VCOVS = [("iid", "nonrobust"), ("hetero", "HC1"), ({"CRV1": "f"}, "cluster")]


def _offset_data(scale, seed=0, n=1500, n_levels=30):
    """``x`` and ``y`` with level offsets ``scale`` times their spread within levels."""
    rng = np.random.default_rng(seed)
    f = rng.integers(0, n_levels, n)
    a, b, c = rng.normal(size=(3, n_levels))
    z = scale * c[f] + rng.normal(size=n)
    u = rng.normal(size=n)
    x = scale * a[f] + 0.8 * (z - scale * c[f]) + u + rng.normal(size=n)
    w = rng.normal(size=n) + b[f]
    y = 1.5 * x - 0.5 * w + scale * b[f] + u + rng.normal(size=n)
    return pd.DataFrame({"y": y, "x": x, "w": w, "z": z, "f": f})


def _demeaned(values, levels):
    """Rows less their level's mean, without the cancellation of a large offset."""
    values = np.asarray(values, dtype=float)
    deviation = values - pd.Series(values).groupby(levels).transform("first").to_numpy()
    return deviation - pd.Series(deviation).groupby(levels).transform("mean").to_numpy()


def _chunks(data, columns, order, size=37):
    rows = {"sorted": np.argsort(data.f.to_numpy(), kind="stable"),
            "shuffled": np.random.default_rng(1).permutation(len(data))}[order]
    data = data.iloc[rows]
    return [{"X": data[columns].iloc[i:i + size], "y": data.y.iloc[i:i + size],
             "entities": data.f.iloc[i:i + size], "clusters": data.f.iloc[i:i + size]}
            for i in range(0, len(data), size)]


@pytest.mark.parametrize("order", ["sorted", "shuffled"])
@pytest.mark.parametrize("scale", [1e6, 1e8])
def test_large_level_offsets_equal_pyfixest_and_exact_demeaning(scale, order):
    data = _offset_data(scale)
    X = np.column_stack([_demeaned(data[c], data.f) for c in ("x", "w")])
    oracle = np.linalg.lstsq(X, _demeaned(data.y, data.f), rcond=None)[0]
    for vcov, cov_type in VCOVS:
        with warnings.catch_warnings():
            warnings.simplefilter("error", CollinearityWarning)
            warnings.simplefilter("error", IllConditionedWarning)
            est = CumulativeFixedEffectsRegression(cov_type=cov_type).fit_chunks(
                _chunks(data, ["x", "w"], order))
            res = est.results()
        ref = pf.feols("y ~ x + w | f", data, vcov=vcov)
        np.testing.assert_allclose(est.coef_, oracle, rtol=1e-8)
        np.testing.assert_allclose(res.params[["x", "w"]], ref.coef()[["x", "w"]], rtol=1e-8)
        np.testing.assert_allclose(res.bse[["x", "w"]], ref.se()[["x", "w"]], rtol=1e-8)


def test_nonrobust_errors_equal_the_numpy_closed_form():
    data = _offset_data(1e8)
    X = np.column_stack([_demeaned(data[c], data.f) for c in ("x", "w")])
    yd = _demeaned(data.y, data.f)
    coef = np.linalg.lstsq(X, yd, rcond=None)[0]
    dof = len(data) - 2 - data.f.nunique()
    cov = np.sum((yd - X @ coef) ** 2) / dof * np.linalg.inv(X.T @ X)
    est = CumulativeFixedEffectsRegression().fit_chunks(_chunks(data, ["x", "w"], "shuffled"))
    np.testing.assert_allclose(est.results().bse, np.sqrt(np.diag(cov)), rtol=1e-8)


# Offsets of 1e8 leave the rows' spread within levels (1) about 1e-8 of the
# values' resolution (ulp(1e8) = 1.5e-8): each merge's level means are
# rounded at that resolution, so results agree to it, and to 1e-10 below.
@pytest.mark.parametrize("scale, rtol", [(1e4, 1e-10), (1e8, 1e-8)])
def test_chunking_and_merge_order_do_not_matter(scale, rtol):
    data = _offset_data(scale)
    one = CumulativeFixedEffectsRegression().fit(data[["x", "w"]], data.y, entities=data.f)
    parts = []
    for chunk in _chunks(data, ["x", "w"], "shuffled", size=7):
        Z = np.column_stack([chunk["X"], chunk["y"]])
        parts.append((GramStats.from_arrays(chunk["X"].to_numpy(), chunk["y"].to_numpy()[:, None]),
                      LevelMeans.from_arrays(Z, chunk["entities"].to_numpy(), within=True)))
    rng = np.random.default_rng(2)
    while len(parts) > 1:  # a random merge tree
        i, j = sorted(rng.choice(len(parts), 2, replace=False))
        right = parts.pop(j)
        parts[i] = (right[0] + parts[i][0], right[1] + parts[i][1])
    merged = CumulativeFixedEffectsRegression.from_statistics(
        *parts[0], feature_names=["x", "w"])
    np.testing.assert_allclose(merged.coef_, one.coef_, rtol=rtol)
    np.testing.assert_allclose(merged.level_stats_.within, one.level_stats_.within, rtol=rtol)
    np.testing.assert_allclose(merged.results().bse, one.results().bse, rtol=rtol)


def test_a_level_split_across_many_chunks_merges_to_the_exact_within_comoment():
    data = _offset_data(1e4, n=400, n_levels=3)
    Z = data[["x", "w", "y"]].to_numpy()
    levels = data.f.to_numpy()
    pieces = [LevelMeans.from_arrays(Z[i:i + 1], levels[i:i + 1], within=True)
              for i in range(len(Z))]
    rng = np.random.default_rng(3)
    rng.shuffle(pieces)
    merged = sum(pieces[1:], pieces[0])
    centred = np.column_stack([_demeaned(Z[:, j], levels) for j in range(3)])
    np.testing.assert_allclose(merged.within, centred.T @ centred, rtol=1e-10)
    np.testing.assert_allclose(merged.mean, data.groupby("f")[["x", "w", "y"]].mean(),
                               rtol=1e-12)


def test_columns_constant_within_levels_are_still_absorbed():
    data = _offset_data(1e8)
    data["c"] = 1e8 * np.random.default_rng(4).normal(size=30)[data.f]
    with pytest.warns(CollinearityWarning):
        est = CumulativeFixedEffectsRegression().fit_chunks(
            _chunks(data, ["x", "c", "w"], "shuffled"))
    assert est.level_stats_.within[1, 1] == 0.0
    ref = pf.feols("y ~ x + w | f", data)
    np.testing.assert_allclose(est.coef_[[0, 2]], ref.coef()[["x", "w"]], rtol=1e-8)
    assert est.coef_[1] == 0.0


def test_cluster_bootstrap_with_large_offsets_equals_row_level_resamples():
    from skbigreg.inference import cluster_bootstrap, resample_clusters

    data = _offset_data(1e6)
    data["g"] = data.f // 3  # the levels nest in 10 clusters
    shuffled = data.sample(frac=1.0, random_state=5)
    est = CumulativeFixedEffectsRegression().fit_chunks(
        [{"X": part[["x", "w"]], "y": part.y, "entities": part.f, "clusters": part.g}
         for part in (shuffled.iloc[i:i + 40] for i in range(0, len(data), 40))])
    indices = resample_clusters(10, n_resamples=20, random_state=0)
    boot = cluster_bootstrap(est, indices=indices)
    expected = []
    for draw in indices:  # each drawn cluster's levels count as new levels
        parts = [data[data.g == g].assign(f=data.f[data.g == g] + 1000 * j)
                 for j, g in enumerate(draw)]
        rows = pd.concat(parts, ignore_index=True)
        X = np.column_stack([_demeaned(rows[c], rows.f) for c in ("x", "w")])
        expected.append(np.linalg.lstsq(X, _demeaned(rows.y, rows.f), rcond=None)[0])
    np.testing.assert_allclose(boot.replicates, expected, rtol=1e-8)


def test_wild_bootstrap_with_large_offsets_equals_it_on_exactly_demeaned_rows():
    """Same draws; on rows demeaned beforehand no digit is at stake (the wild
    bootstrap itself is checked against wildboottest in test_wild_bootstrap)."""
    from skbigreg.inference import wild_cluster_bootstrap

    data = _offset_data(1e6)
    data["g"] = data.f // 3  # the levels nest in 10 clusters
    est = CumulativeFixedEffectsRegression().fit_chunks(
        [{"X": data[["x", "w"]].iloc[i:i + 50], "y": data.y.iloc[i:i + 50],
          "entities": data.f.iloc[i:i + 50], "clusters": data.g.iloc[i:i + 50]}
         for i in range(0, len(data), 50)])
    boot = wild_cluster_bootstrap(est, "x = 1.5", n_resamples=99, random_state=0)
    X = pd.DataFrame({c: _demeaned(data[c], data.f) for c in ("x", "w")})
    plain = CumulativeFixedEffectsRegression().fit(X, _demeaned(data.y, data.f),
                                                   entities=data.f, clusters=data.g)
    ref = wild_cluster_bootstrap(plain, "x = 1.5", draws=boot.draws)
    np.testing.assert_allclose(boot.t_boot, ref.t_boot, rtol=1e-8)
    fixest = pf.feols("y ~ x + w | f", data, vcov={"CRV1": "g"})
    assert boot.statistic == pytest.approx((fixest.coef()["x"] - 1.5) / fixest.se()["x"],
                                           rel=1e-8)


def _version_1(levels):
    """Saved as version 1: the same arrays without the within co-moments."""
    saved = levels.to_dict()
    saved.pop("within")
    saved.pop("cluster_within", None)
    saved["__version__"] = np.asarray(1)
    return LevelMeans.from_dict(saved)


def test_version_1_statistics_solve_by_subtraction_and_warn_when_digits_are_lost():
    quiet = _offset_data(1.0)
    new = CumulativeFixedEffectsRegression().fit(quiet[["x", "w"]], quiet.y, entities=quiet.f)
    old_levels = _version_1(new.level_stats_)
    assert old_levels.within is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        old = CumulativeFixedEffectsRegression.from_statistics(new.stats_, old_levels)
        np.testing.assert_allclose(old.coef_, new.coef_, rtol=1e-9)
    # offsets 3e4 times the spread: within / total ~ 1e-9, some digits left, a warning
    loud = _offset_data(3e4)
    new = CumulativeFixedEffectsRegression().fit(loud[["x", "w"]], loud.y, entities=loud.f)
    with pytest.warns(IllConditionedWarning, match=r"Columns \[0\] of X vary little"):
        CumulativeFixedEffectsRegression.from_statistics(new.stats_, _version_1(new.level_stats_))


def test_iv_with_one_absorbed_factor_and_large_offsets_equals_pyfixest():
    data = _offset_data(1e6)
    ref_formula = "y ~ w | f | x ~ z"
    for vcov, cov_type in VCOVS:
        est = CumulativeIVRegression(endogenous=["x"], instruments=["z"], cov_type=cov_type)
        with warnings.catch_warnings():
            warnings.simplefilter("error", CollinearityWarning)
            warnings.simplefilter("error", IllConditionedWarning)
            est.fit_chunks(_chunks(data, ["w", "x", "z"], "shuffled"))
            res = est.results()
        ref = pf.feols(ref_formula, data, vcov=vcov)
        np.testing.assert_allclose(res.params[["w", "x"]], ref.coef()[["w", "x"]], rtol=1e-8)
        np.testing.assert_allclose(res.bse[["w", "x"]], ref.se()[["w", "x"]], rtol=1e-8)


def _pushdown_equals_pyfixest(connection, table, data):
    from skbigreg.io import read_sql

    for vcov, cov_type in VCOVS:
        source = read_sql(table, connection, target="y", features=["x", "w"], entities="f",
                          clusters="f" if cov_type == "cluster" else None)
        with warnings.catch_warnings():
            warnings.simplefilter("error", CollinearityWarning)
            warnings.simplefilter("error", IllConditionedWarning)
            est = CumulativeFixedEffectsRegression(cov_type=cov_type).fit_chunks(
                source.pushdown())
            res = est.results()
        ref = pf.feols("y ~ x + w | f", data, vcov=vcov)
        np.testing.assert_allclose(res.params[["x", "w"]], ref.coef()[["x", "w"]], rtol=1e-8)
        np.testing.assert_allclose(res.bse[["x", "w"]], ref.se()[["x", "w"]], rtol=1e-8)


def test_sql_pushdown_gathers_the_within_comoment_in_the_database():
    duckdb = pytest.importorskip("duckdb")
    data = _offset_data(1e8)
    connection = duckdb.connect()
    connection.register("frame", data)
    connection.execute("CREATE TABLE t AS SELECT * FROM frame")
    _pushdown_equals_pyfixest(connection, "t", data)


@pytest.mark.skipif(not os.environ.get("SKBIGREG_PG_DSN"),
                    reason="no PostgreSQL server: set SKBIGREG_PG_DSN (.ci/start_postgres starts one)")
def test_postgres_pushdown_gathers_the_within_comoment_in_the_database():
    psycopg = pytest.importorskip("psycopg")
    data = _offset_data(1e8)
    table = f"fe_offsets_{os.getpid()}"
    connection = psycopg.connect(os.environ["SKBIGREG_PG_DSN"], autocommit=True)
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
            cursor.execute(f"CREATE TABLE {table} (y float8, x float8, w float8, f int)")
            with cursor.copy(f"COPY {table} FROM STDIN") as copy:
                for row in data[["y", "x", "w", "f"]].itertuples(index=False):
                    copy.write_row([float(row.y), float(row.x), float(row.w), int(row.f)])
        _pushdown_equals_pyfixest(connection, table, data)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
        connection.close()
