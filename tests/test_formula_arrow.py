"""Chunks read as Arrow (parquet files, Arrow tables) are encoded in Arrow, to the same numbers.

The in-memory pandas frame goes through the pandas encoding; the same rows
written to parquet in several files and row groups go through the Arrow
encoding (strings read dictionary-encoded, level codes from ``index_in``).
Both must give the same fit, the same rows dropped per column and the
same errors, and equal statsmodels' fit in memory.
"""

import numpy as np
import pandas as pd
import pytest

from formula_helpers import same_by_name, write_parquet_parts
from skbigreg.formula import fit_formula, ols
from skbigreg.formula._spec import FormulaSpec
from skbigreg.linear_model import CumulativeRidge

smf = pytest.importorskip("statsmodels.formula.api")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

RTOL = 1e-10


@pytest.fixture(scope="module")
def data():
    """Strings with nulls, floats with NaN, a nullable integer factor, booleans, a category."""
    rng = np.random.default_rng(3)
    n = 900
    df = pd.DataFrame({
        "x": rng.uniform(1, 3, n),
        "z": rng.normal(size=n),
        "g": rng.choice(["a", "b", "c"], n),
        "h": rng.integers(0, 4, n).astype(float),
        "flag": rng.random(n) < 0.4,
        "cat": pd.Categorical(rng.choice(["lo", "mid", "hi"], n)),
        "w": rng.uniform(0.5, 2.0, n),
        "site": rng.choice(["s1", "s2", "s3", "s4", "s5", "s6"], n),
    })
    df["y"] = np.exp(0.2 * np.log(df.x) + 0.3 * df.z * (df.g == "b") + 0.1 * df.h.fillna(0)
                     + 0.2 * df.flag + 0.3 * rng.normal(size=n))
    df.loc[[3, 10, 50], "z"] = np.nan
    df.loc[[7, 400], "g"] = None
    df.loc[[11, 600, 601], "h"] = np.nan   # parquet: an int64... no, a float column with nulls
    df = df.sort_values("g", kind="stable", na_position="first").reset_index(drop=True)
    return df  # sorted: level 'c' only in the last file


def _write(df, folder, n_files=3, row_group=128):
    write_parquet_parts(df, folder, n_files, row_group)
    return str(folder / "*.parquet")


@pytest.fixture
def arrow_calls(monkeypatch):
    """How many chunks the Arrow encoding handled."""
    calls = []
    original = FormulaSpec._encode_arrow

    def counted(self, batch, value_sets, report):
        calls.append(batch.num_rows)
        return original(self, batch, value_sets, report)

    monkeypatch.setattr(FormulaSpec, "_encode_arrow", counted)
    return calls


FORMULA = "np.log(y) ~ np.log(x) + z*g + C(h) + flag + cat + center(x)"


def test_files_encoded_in_arrow_equal_the_pandas_encoding_and_statsmodels(tmp_path, data,
                                                                          arrow_calls):
    files = _write(data, tmp_path)
    ours = ols(FORMULA, files, weights="w", cov_type="cluster", clusters="site", chunk_rows=100)
    assert len(arrow_calls) >= 9  # every chunk of the files went through Arrow
    arrow_calls.clear()
    in_memory = ols(FORMULA, data, weights="w", cov_type="cluster", clusters="site",
                    chunk_rows=100)
    assert arrow_calls == []  # pandas chunks: the pandas encoding
    assert list(ours.results().params.index) == list(in_memory.results().params.index)
    same_by_name(ours.results().params, in_memory.results().params)
    same_by_name(ours.results().bse, in_memory.results().bse)
    assert ours.formula_report_.rows_dropped == in_memory.formula_report_.rows_dropped == 8
    assert ours.formula_report_.dropped_by_column == in_memory.formula_report_.dropped_by_column
    # center(x) learns from every row with x, as statsmodels on the whole frame
    theirs = smf.wls(FORMULA, data, weights=data["w"]).fit()
    same_by_name(ours.results().params, theirs.params)
    same_by_name(ours.results("nonrobust").bse, theirs.bse)


def test_arrow_tables_and_integer_factors_take_the_arrow_encoding(data, arrow_calls):
    frame = data.dropna().assign(h=lambda d: d["h"].astype("int64"))
    formula = "y ~ x + C(h) + g + flag"
    ours = ols(formula, pa.Table.from_pandas(frame), chunk_rows=64)
    assert arrow_calls
    same_by_name(ours.results().params, smf.ols(formula, frame).fit().params)
    declared = ols(formula, pa.Table.from_pandas(frame), chunk_rows=64,
                   levels={"h": [0, 1, 2, 3], "g": ["a", "b", "c"]})
    same_by_name(declared.results().params, ours.results().params)


def test_column_types_arrow_cannot_look_up_go_through_pandas(data, arrow_calls):
    """string_view (no ``index_in`` kernel) and dates: the pandas encoding, the same fit."""
    frame = data.dropna().reset_index(drop=True)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.set_column(table.schema.get_field_index("g"), "g",
                             table.column("g").cast(pa.string_view()))
    ours = ols("y ~ x + g", table, chunk_rows=100)
    assert arrow_calls == []
    same_by_name(ours.results().params, smf.ols("y ~ x + g", frame).fit().params)
    dated = frame.assign(day=pd.Timestamp("2024-01-01") + pd.to_timedelta(frame["h"], "D"))
    ours = ols("y ~ x + C(day)", pa.Table.from_pandas(dated), chunk_rows=100)
    assert arrow_calls == []
    same_by_name(ours.results().params, ols("y ~ x + C(day)", dated, chunk_rows=100).results().params)


def test_unseen_levels_from_files_raise_or_become_other_as_in_memory(tmp_path, data,
                                                                     arrow_calls):
    frame = data.dropna()
    files = _write(frame, tmp_path)
    with pytest.raises(ValueError, match=r"Column 'g' has the level 'c', which is not among"):
        ols("y ~ x + g", files, levels={"g": ["a", "b"]})
    with pytest.raises(ValueError, match=r"Column 'cat' has the level 'mid', which is not"):
        ols("y ~ x + cat", files, levels={"cat": ["hi", "lo"]})
    ours = ols("y ~ x + g", files, levels={"g": ["a", "b"]}, unseen="other", chunk_rows=90)
    assert arrow_calls
    in_memory = ols("y ~ x + g", frame, levels={"g": ["a", "b"]}, unseen="other")
    same_by_name(ours.results().params, in_memory.results().params)
    assert "g[T.other]" in ours.results().params.index


def test_missing_raise_and_levels_of_another_type_as_in_memory(tmp_path, data):
    files = _write(data, tmp_path)
    with pytest.raises(ValueError, match=r"Column 'z' has \d+ missing value\(s\) in a chunk"):
        ols("y ~ x + z", files, missing="raise", chunk_rows=len(data))
    frame = data.dropna()
    files = _write(frame, tmp_path)
    # declared string levels of a numeric column: Arrow cannot compare, pandas decides
    with pytest.raises(ValueError, match=r"Column 'h' has the level") as from_files:
        ols("y ~ x + C(h)", files, levels={"h": ["0", "1", "2", "3"]})
    with pytest.raises(ValueError, match=r"Column 'h' has the level") as from_memory:
        ols("y ~ x + C(h)", frame, levels={"h": ["0", "1", "2", "3"]})
    assert str(from_files.value) == str(from_memory.value)


def test_label_columns_from_files_are_the_in_memory_labels(tmp_path, data):
    """Groups read from Arrow give the folds the pandas strings give."""
    from skbigreg.linear_model import CumulativeRidgeCV

    frame = data.dropna()
    files = _write(frame, tmp_path)
    estimator = CumulativeRidgeCV(alphas=[0.1, 1.0, 10.0], cv=3)
    ours = fit_formula(estimator, "y ~ x + g + flag", files, groups="site", chunk_rows=70)
    in_memory = fit_formula(estimator, "y ~ x + g + flag", frame, groups="site", chunk_rows=70)
    np.testing.assert_allclose(ours.coef_, in_memory.coef_, rtol=RTOL)
    assert ours.alpha_ == in_memory.alpha_
    ridge = fit_formula(CumulativeRidge(alpha=2.0), "y ~ x + g", files)
    np.testing.assert_allclose(ridge.coef_,
                               fit_formula(CumulativeRidge(alpha=2.0), "y ~ x + g", frame).coef_,
                               rtol=RTOL)
