"""read_files: the column-buffer fill, missing values and the bounded read-ahead."""

import numpy as np
import pandas as pd
import pytest

from skbigreg.io import _files, read_files
from skbigreg.linear_model import CumulativeLinearRegression


def _frame(n=700, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "a": rng.normal(size=n) + 1e3,
        "count": rng.integers(-5, 50, size=n),
        "flag": rng.random(n) < 0.3,
        "city": rng.choice(["kyiv", "lima", "oslo"], size=n),
        "w": rng.uniform(0.5, 2.0, size=n),
        "firm": rng.integers(0, 9, size=n),
    })
    frame["y"] = frame.a + 0.5 * frame["count"] - frame.flag + rng.normal(size=n)
    return frame


def _expected_design(frame):
    """The design the old path built: numeric columns as float64, dummies (drop_first)."""
    dummies = pd.get_dummies(frame.city, prefix="city", prefix_sep="[", dtype=float)
    dummies.columns = [f"{c}]" for c in dummies.columns]
    numeric = frame[["a", "count", "flag"]].astype(float)
    return pd.concat([numeric.iloc[:, :2], dummies.iloc[:, 1:], numeric.iloc[:, 2:]], axis=1)


def test_buffer_fill_equals_the_columns_exactly(tmp_path):
    frame = _frame()
    frame.iloc[:400].to_parquet(tmp_path / "p0.parquet")
    tail = frame.iloc[400:].copy()
    tail["count"] = tail["count"].astype(float)  # same column, another type in another file
    tail.to_parquet(tmp_path / "p1.parquet")
    source = read_files(tmp_path, target="y", features=["a", "count", "city", "flag"],
                        categorical=["city"], sample_weight="w", clusters="firm", batch_rows=128)
    chunks = list(source)
    assert [c.n_rows for c in chunks] == [128, 128, 128, 16, 128, 128, 44]
    expected = _expected_design(frame)
    assert source.feature_names == list(expected.columns)
    X = pd.concat([c.X for c in chunks])
    np.testing.assert_array_equal(X.to_numpy(), expected.to_numpy())
    assert list(X.columns) == list(expected.columns)
    np.testing.assert_array_equal(np.concatenate([c.y for c in chunks]), frame.y)
    np.testing.assert_array_equal(np.concatenate([c.sample_weight for c in chunks]), frame.w)
    np.testing.assert_array_equal(np.concatenate([c.label("clusters") for c in chunks]), frame.firm)
    # Column-major X: each column is one contiguous run (what the Gram map reads).
    assert all(np.asarray(c.X).flags.f_contiguous for c in chunks)


def test_missing_values_dropped_from_every_column_kind(tmp_path):
    frame = _frame(n=300, seed=1)
    frame = frame.astype({"count": "Int64", "city": "string", "firm": "Int64"})
    frame.loc[[3, 150], "a"] = np.nan  # NaN in a float column
    frame.loc[[3, 7], "count"] = pd.NA  # null in an integer column (row 3 twice)
    frame.loc[[20], "city"] = pd.NA  # null in a categorical column
    frame.loc[[299], "firm"] = pd.NA  # null in a label column
    frame.loc[[100], "y"] = np.nan
    frame.to_parquet(tmp_path / "d.parquet")
    kwargs = {"target": "y", "features": ["a", "count", "city", "flag"], "categorical": ["city"],
              "clusters": "firm", "batch_rows": 64}
    with pytest.raises(ValueError, match="'a' has 1 missing"):  # NaN is written as null
        list(read_files(tmp_path, **kwargs))
    source = read_files(tmp_path, missing="drop", **kwargs)
    chunks = list(source)
    kept = frame.drop(index=[3, 7, 20, 100, 150, 299])
    assert sum(c.n_rows for c in chunks) == len(kept) == 294
    np.testing.assert_array_equal(pd.concat([c.X for c in chunks]).to_numpy(),
                                  _expected_design(kept.astype({"count": float})).to_numpy())
    np.testing.assert_array_equal(np.concatenate([c.y for c in chunks]), kept.y)
    np.testing.assert_array_equal(np.concatenate([c.label("clusters") for c in chunks]),
                                  kept.firm.to_numpy(dtype=np.int64))
    assert source.report.rows_read == 300 and source.report.rows_dropped == 6
    assert source.report.dropped_by_column == {"a": 2, "count": 2, "city": 1, "firm": 1, "y": 1}


def test_parquet_is_read_one_batch_ahead(tmp_path, monkeypatch):
    frame = _frame(n=1000)
    frame[["a", "y"]].to_parquet(tmp_path / "d.parquet", row_group_size=100)
    pulled = []
    reader = _files._parquet_batches

    def counting(*args):
        for batch in reader(*args):
            pulled.append(batch.num_rows)
            yield batch

    monkeypatch.setattr(_files, "_parquet_batches", counting)
    chunks = iter(read_files(tmp_path, target="y", batch_rows=50))
    for seen in range(1, 6):
        next(chunks)
        assert seen <= len(pulled) <= seen + 1
    chunks.close()  # stops the reader: nothing more is read
    assert len(pulled) <= 6


def test_read_ahead_keeps_order_and_raises_the_readers_error():
    assert list(_files._read_ahead(iter(range(7)))) == list(range(7))

    def failing():
        yield 1
        raise OSError("disk gone")

    ahead = _files._read_ahead(failing())
    assert next(ahead) == 1
    with pytest.raises(OSError, match="disk gone"):
        next(ahead)


def test_fit_chunks_checks_every_chunk_against_the_first():
    frame = _frame(n=400)
    X, y = frame[["a", "count"]], frame.y
    with_nan = X.iloc[200:].assign(a=np.nan)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        CumulativeLinearRegression().fit_chunks([(X.iloc[:200], y.iloc[:200]), (with_nan, y.iloc[200:])])
    renamed = X.iloc[200:].rename(columns={"a": "b"})
    with pytest.raises(ValueError, match="feature names"):
        CumulativeLinearRegression().fit_chunks([(X.iloc[:200], y.iloc[:200]), (renamed, y.iloc[200:])])
    streamed = CumulativeLinearRegression().fit_chunks([(X.iloc[:150], y.iloc[:150]), (X.iloc[150:], y.iloc[150:])])
    np.testing.assert_allclose(streamed.coef_, CumulativeLinearRegression().fit(X, y).coef_, rtol=1e-10)


def test_failed_fit_chunks_leaves_the_previous_fit():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((300, 3))
    y = X @ [1.0, -2.0, 0.5] + rng.standard_normal(300)
    est = CumulativeLinearRegression().fit(X, y)
    before = {k: np.copy(v) if isinstance(v, np.ndarray) else v for k, v in vars(est).items()}
    bad = X[200:].copy()
    bad[5, 1] = np.nan
    with pytest.raises(ValueError, match="NaN|finite"):
        est.fit_chunks([(X[:100], y[:100]), (X[100:200], y[100:200]), (bad, y[200:])])
    assert set(vars(est)) == set(before)
    np.testing.assert_array_equal(est.coef_, before["coef_"])
    assert est.n_samples_seen_ == 300


# -- columns that differ between files (issue 11, defect 15) ------------------------
def _write(folder, frames, file_format):
    for i, frame in enumerate(frames):
        path = folder / f"p{i}.{file_format}"
        frame.to_parquet(path) if file_format == "parquet" else frame.to_csv(path, index=False)
    return [str(folder / f"p{i}.{file_format}") for i in range(len(frames))]


def _base(n=50, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.normal(size=n), "y": rng.normal(size=n),
                         "g": rng.integers(0, 5, size=n)})


@pytest.mark.parametrize("file_format", ["parquet", "csv"])
@pytest.mark.parametrize("column, argument, missing", [
    ("x", "features", "raise"), ("g", "clusters", "raise"), ("g", "clusters", "drop"),
])
def test_a_column_missing_from_a_later_file_is_named_with_the_file(tmp_path, file_format,
                                                                   column, argument, missing):
    # before: parquet gave a KeyError without the file; CSV filled the column with
    # nulls, so missing="drop" silently dropped every row of the second file
    frame = _base()
    paths = _write(tmp_path, [frame, frame.drop(columns=column)], file_format)
    with pytest.raises(ValueError, match=rf"{argument}: column\(s\) \['{column}'\] not found in "
                                         rf"'{paths[1]}' \(present in '{paths[0]}'\)"):
        read_files(tmp_path, target="y", features=["x"], clusters="g", missing=missing)


@pytest.mark.parametrize("file_format", ["parquet", "csv"])
@pytest.mark.parametrize("second", [list("abcdefghij") * 5, np.arange(50) + 0.5])
def test_a_label_changing_type_between_files_is_refused(tmp_path, file_format, second):
    # before: int labels in one file and str (or float) in the next reached the
    # estimator mixed (parquet), or the CSV reader failed without naming the column
    frame = _base()
    paths = _write(tmp_path, [frame, frame.assign(g=second)], file_format)
    with pytest.raises(ValueError, match=rf"clusters: column 'g' is int64 in '{paths[0]}' but "
                                         rf"\w+ in '{paths[1]}'; write it with one type"):
        read_files(tmp_path, target="y", features=["x"], clusters="g")


@pytest.mark.parametrize("file_format", ["parquet", "csv"])
@pytest.mark.parametrize("first_is_date", [True, False])
def test_a_date_feature_is_refused_in_any_file(tmp_path, file_format, first_is_date):
    # before: a timestamp column in a later parquet file became float nanoseconds
    frame = _base()
    dated = frame.assign(x=pd.date_range("2020-01-01", periods=len(frame)))
    frames = [dated, frame] if first_is_date else [frame, dated]
    paths = _write(tmp_path, frames, file_format)
    with pytest.raises(ValueError, match=rf"features: column 'x' holds dates or times \(\w+.*\) in "
                                         rf"'{paths[0 if first_is_date else 1]}'; dates and times "
                                         "are not turned into numbers silently"):
        read_files(tmp_path, target="y", features=["x"])


def test_a_date_target_or_weight_is_refused(tmp_path):
    frame = _base().assign(when=pd.date_range("2020-01-01", periods=50))
    _write(tmp_path, [frame], "parquet")
    for kwargs in ({"target": "when"}, {"target": "y", "sample_weight": "when"}):
        with pytest.raises(ValueError, match="column 'when' holds dates or times"):
            read_files(tmp_path, features=["x"], **kwargs)


@pytest.mark.parametrize("file_format", ["parquet", "csv"])
def test_a_feature_of_text_in_a_later_file_is_named_with_the_file(tmp_path, file_format):
    frame = _base()
    paths = _write(tmp_path, [frame, frame.assign(x="text")], file_format)
    with pytest.raises(ValueError, match=rf"features: column 'x' is not numeric \(\w+\) in "
                                         rf"'{paths[1]}'; declare it categorical"):
        read_files(tmp_path, target="y", features=["x"])


def test_csv_features_of_integers_then_decimals_read_as_their_values(tmp_path):
    # before: the CSV files were parsed with the first file's types (int64), so
    # "0.5" in the second file failed to parse
    frame = _base(n=40)
    first = frame.iloc[:20].assign(g=np.arange(20))
    second = frame.iloc[20:].assign(g=np.arange(20) + 0.5)
    _write(tmp_path, [first, second], "csv")
    chunks = list(read_files(tmp_path, target="y", features=["x", "g"], batch_rows=8))
    X = pd.concat([c.X for c in chunks])
    expected = pd.concat([first, second])
    np.testing.assert_array_equal(X["g"].to_numpy(), expected.g.to_numpy(dtype=float))
    np.testing.assert_allclose(X["x"].to_numpy(), expected.x.to_numpy(), rtol=1e-15)


def test_the_target_listed_as_a_feature_is_refused(tmp_path):
    _write(tmp_path, [_base()], "parquet")
    with pytest.raises(ValueError, match="features: column 'y' is also the target; leave it out"):
        read_files(tmp_path, target="y", features=["x", "y"])


def test_column_errors_name_the_argument_for_other_front_ends(tmp_path):
    from skbigreg.io import ColumnError

    _write(tmp_path, [_base().assign(s="a")], "parquet")
    with pytest.raises(ColumnError) as caught:
        read_files(tmp_path, target="y", features=["x", "s"])
    error = caught.value
    assert (error.argument, error.column, error.remedy) == ("features", "s", "categorical")
    assert error.describe("--features", {"categorical": "add it to --categorical"}).endswith(
        "; add it to --categorical.")


@pytest.mark.parametrize("file_format", ["parquet", "csv"])
def test_a_categorical_column_changing_type_between_files_is_refused(tmp_path, file_format):
    frame = _base().assign(city=1)
    paths = _write(tmp_path, [frame, frame.assign(city="lima")], file_format)
    with pytest.raises(ValueError, match=rf"categorical: column 'city' is int64 in '{paths[0]}' but "
                                         rf"\w+ in '{paths[1]}'"):
        read_files(tmp_path, target="y", features=["x", "city"], categorical=["city"])
