"""The same estimator on joblib backends, Dask collections and file sources."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from joblib import parallel_config

from skbigreg.datasets import make_regression_chunks
from skbigreg.io import iter_chunks, read_files
from skbigreg.linear_model import CumulativeLinearRegression
from skbigreg.parallel import map_partition
from skbigreg.base import ChunkSpec, linear_chunk_statistics

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")


def _data(n=3000, k=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, k)) + 50.0
    y = X @ np.arange(1.0, k + 1) + rng.normal(size=n) * (1 + np.abs(X[:, 0] - 50))
    w = rng.uniform(0.5, 2.0, size=n)
    g = rng.integers(0, 40, size=n)
    return X, y, w, g


def _assert_same_fit(est, ref, cov_types=("nonrobust",), rtol=1e-10):
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=rtol)
    assert est.intercept_ == pytest.approx(ref.intercept_, rel=rtol)
    for cov_type in cov_types:
        np.testing.assert_allclose(est.results(cov_type).bse, ref.results(cov_type).bse, rtol=rtol)


@pytest.mark.parametrize("backend", ["loky", "threading"])
def test_fit_chunks_on_joblib_backends_equals_sequential(backend):
    X, y, w, g = _data()
    chunks = list(iter_chunks(X, y, w, chunk_rows=250, clusters=g))
    ref = CumulativeLinearRegression(cov_type="HC1").fit(X, y, w, clusters=g)
    with parallel_config(backend=backend):
        est = CumulativeLinearRegression(cov_type="HC1").fit_chunks(chunks, n_jobs=2)
    _assert_same_fit(est, ref, ("nonrobust", "HC1", "cluster"))
    assert est.n_samples_seen_ == len(X)


def test_dask_array_fit_on_threaded_scheduler():
    X, y, w, g = _data()
    Xd, yd = da.from_array(X, chunks=(400, 2)), da.from_array(y, chunks=700)
    wd, gd = da.from_array(w, chunks=500), da.from_array(g, chunks=500)
    est = CumulativeLinearRegression(cov_type="HC1").fit(Xd, yd, wd, clusters=gd)
    ref = CumulativeLinearRegression(cov_type="HC1").fit(X, y, w, clusters=g)
    _assert_same_fit(est, ref, ("nonrobust", "HC1", "cluster"))
    pred = est.predict(Xd)
    assert isinstance(pred, da.Array)
    np.testing.assert_allclose(pred.compute(), ref.predict(X), rtol=1e-12)


def test_dask_dataframe_keeps_feature_names():
    X, y, _, _ = _data()
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(y=y)
    ddf = dd.from_pandas(frame, npartitions=7)
    est = CumulativeLinearRegression().fit(ddf[["a", "b", "c", "d"]], ddf["y"])
    assert list(est.feature_names_in_) == ["a", "b", "c", "d"]
    ref = sm.OLS(y, sm.add_constant(X)).fit()
    np.testing.assert_allclose(est.results().params, ref.params, rtol=1e-10)
    pred = est.predict(ddf[["a", "b", "c", "d"]])
    np.testing.assert_allclose(pred.compute().to_numpy(), ref.fittedvalues, rtol=1e-10)


def test_dask_partitions_must_align():
    X, y, _, _ = _data()
    ddf = dd.from_pandas(pd.DataFrame(X), npartitions=4)
    ys = dd.from_pandas(pd.Series(y), npartitions=3)
    with pytest.raises(ValueError, match="4 partitions"):
        CumulativeLinearRegression().fit(ddf, ys)


def test_parquet_directory_equals_in_memory(tmp_path):
    X, y, w, g = _data()
    frame = pd.DataFrame(X, columns=list("abcd")).assign(y=y, w=w, firm=g)
    for i, start in enumerate(range(0, len(frame), 600)):
        frame.iloc[start : start + 600].to_parquet(tmp_path / f"part{i}.parquet")
    source = read_files(tmp_path, target="y", features=list("abcd"), sample_weight="w",
                        clusters="firm", batch_rows=333)
    est = CumulativeLinearRegression(cov_type="HC1").fit_chunks(source)
    ref = CumulativeLinearRegression(cov_type="HC1").fit(frame[list("abcd")], y, w, clusters=g)
    _assert_same_fit(est, ref, ("nonrobust", "HC1", "cluster"))
    assert list(est.feature_names_in_) == list("abcd")


def test_csv_categorical_encoding_matches_pandas_dummies(tmp_path):
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({
        "x": rng.normal(size=600),
        "city": rng.choice(["lima", "oslo", "kyiv"], size=600),
    })
    frame["y"] = frame.x + frame.city.map({"lima": 0.0, "oslo": 1.0, "kyiv": -2.0}) + rng.normal(size=600)
    frame.iloc[:300].to_csv(tmp_path / "a.csv", index=False)
    frame.iloc[300:].to_csv(tmp_path / "b.csv", index=False)
    source = read_files(str(tmp_path / "*.csv"), target="y", categorical=["city"], batch_rows=100)
    assert source.feature_names == ["x", "city[lima]", "city[oslo]"]
    est = CumulativeLinearRegression().fit_chunks(source)
    dummies = pd.get_dummies(frame[["x", "city"]], columns=["city"], drop_first=True, dtype=float)
    ref = sm.OLS(frame.y, sm.add_constant(dummies)).fit()
    np.testing.assert_allclose(est.results().params, ref.params.to_numpy(), rtol=1e-10)
    declared = read_files(tmp_path, target="y", categorical={"city": ["kyiv", "lima"]})
    with pytest.raises(ValueError, match="'oslo', not among"):
        list(declared)


def test_file_source_errors(tmp_path):
    pd.DataFrame({"x": [1.0, np.nan, 3.0], "s": ["a", "b", "c"], "y": [1.0, 2.0, 3.0]}).to_parquet(tmp_path / "d.parquet")
    with pytest.raises(FileNotFoundError):
        read_files(tmp_path / "nothing.parquet", target="y")
    with pytest.raises(ValueError, match=r"\['z'\] not found"):
        read_files(tmp_path, target="z")
    with pytest.raises(ValueError, match="'s' is not numeric"):
        read_files(tmp_path, target="y")
    with pytest.raises(ValueError, match="'x' has 1 missing"):
        list(read_files(tmp_path, target="y", features=["x"]))
    source = read_files(tmp_path, target="y", features=["x"], missing="drop")
    assert sum(c.n_rows for c in source) == 2
    assert source.report.rows_dropped == 1 and source.report.dropped_by_column == {"x": 1}


def test_generator_stream_is_reiterable_for_the_hc_pass():
    source = make_regression_chunks(20_000, 3, chunk_rows=3000)
    est = CumulativeLinearRegression(cov_type="HC1").fit_chunks(source)
    X = np.vstack([c["X"] for c in source()])
    y = np.concatenate([c["y"] for c in source()])
    ref = sm.OLS(y, sm.add_constant(X)).fit(cov_type="HC1")
    np.testing.assert_allclose(est.results().bse, ref.bse, rtol=1e-9)


@pytest.fixture(scope="module")
def local_cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            yield client


def test_local_cluster_fit_equals_in_memory(local_cluster):
    X, y, w, g = _data(n=20_000, k=5, seed=4)
    Xd = da.from_array(X, chunks=(2_500, 5)).persist()
    yd = da.from_array(y, chunks=2_500).persist()
    wd = da.from_array(w, chunks=2_500).persist()
    gd = da.from_array(g, chunks=2_500).persist()
    est = CumulativeLinearRegression(cov_type="HC1").fit(Xd, yd, wd, clusters=gd)
    ref = CumulativeLinearRegression(cov_type="HC1").fit(X, y, w, clusters=g)
    _assert_same_fit(est, ref, ("nonrobust", "HC1", "cluster"))


def _misaligned(a, order="C"):
    """A copy of ``a`` one byte past an aligned address, as distributed may deserialise it."""
    buffer = np.empty(a.nbytes + 1, dtype=np.uint8)
    out = np.ndarray(a.shape, a.dtype, buffer=buffer, offset=1, order=order)
    out[...] = a
    assert not out.flags.aligned
    return out


def _map_checking_alignment(X, y, sample_weight=None, clusters=None, *, spec):
    parts = (X, y, sample_weight, clusters)
    assert all(a is None or np.asarray(a).flags.aligned for a in parts)
    return linear_chunk_statistics(X, y, sample_weight, clusters, spec=spec)


def test_misaligned_partitions_are_mapped_on_aligned_slabs():
    # numpy skips BLAS on misaligned arrays (an 8x slower map on the workers).
    X, y, w, g = _data(n=100_000, k=4, seed=6)
    spec = ChunkSpec("gram", 4, 1, with_clusters=True)
    got = map_partition(_map_checking_alignment, _misaligned(X), y, _misaligned(w), g, spec=spec)
    ref = linear_chunk_statistics(X, y, w, g, spec=spec)
    assert got.stats.allclose(ref.stats, rtol=1e-12)
    assert got.stats.n_rows == len(X)
    np.testing.assert_array_equal(got.clusters.labels, ref.clusters.labels)
    np.testing.assert_allclose(got.clusters.comoment, ref.clusters.comoment, rtol=1e-10, atol=1e-8)


def test_misaligned_frames_are_mapped_on_aligned_slabs_with_their_names():
    X, y, _, _ = _data(n=100_000, k=4, seed=7)
    index = pd.RangeIndex(5, 5 + len(X))
    frame = pd.DataFrame(_misaligned(X, order="F"), columns=list("abcd"), index=index, copy=False)
    target = pd.Series(_misaligned(y), index=index, name="y", copy=False)
    spec = ChunkSpec("gram", 4, 1, feature_names=tuple("abcd"))
    got = map_partition(_map_checking_alignment, frame, target, None, None, spec=spec)
    ref = linear_chunk_statistics(X, y, spec=spec)
    assert got.stats.allclose(ref.stats, rtol=1e-12)
    frame.columns = list("abce")
    with pytest.raises(ValueError, match="feature names"):
        map_partition(linear_chunk_statistics, frame, target, None, None, spec=spec)


def test_dask_fit_is_one_graph_execution_per_pass():
    from dask.callbacks import Callback

    X, y, w, _ = _data()
    Xd, yd, wd = da.from_array(X, chunks=(400, 4)), da.from_array(y, chunks=400), da.from_array(w, chunks=400)
    for cov_type, passes in (("nonrobust", 1), ("HC1", 2)):
        starts = []
        # Local callbacks see local schedulers only (not a module's Client).
        with dask.config.set(scheduler="threads"), Callback(start=starts.append):
            CumulativeLinearRegression(cov_type=cov_type).fit(Xd, yd, wd)
        assert len(starts) == passes


def test_joblib_dask_backend_on_local_cluster(local_cluster):
    X, y, w, g = _data(n=4_000, seed=5)
    chunks = list(iter_chunks(X, y, w, chunk_rows=500, clusters=g))
    with parallel_config(backend="dask"):
        est = CumulativeLinearRegression().fit_chunks(chunks, n_jobs=2)
    ref = CumulativeLinearRegression().fit(X, y, w, clusters=g)
    _assert_same_fit(est, ref, ("nonrobust", "cluster"))


def test_polars_and_pyarrow_tables_are_sliced_with_their_names():
    pl = pytest.importorskip("polars")
    pa = pytest.importorskip("pyarrow")
    X, y, _, _ = _data(n=1000)
    ref = CumulativeLinearRegression().fit(pd.DataFrame(X, columns=list("abcd")), y)
    for table, target in (
        (pl.DataFrame(X, schema=list("abcd")), pl.Series(y)),
        (pa.table(dict(zip("abcd", X.T))), pa.chunked_array([y])),
    ):
        est = CumulativeLinearRegression().fit_chunks(iter_chunks(table, target, chunk_rows=300))
        assert list(est.feature_names_in_) == list("abcd")
        _assert_same_fit(est, ref)


def test_dask_collection_streamed_through_this_process():
    X, y, w, _ = _data()
    source = iter_chunks(da.from_array(X, chunks=(700, 4)), da.from_array(y, chunks=700), da.from_array(w, chunks=700))
    assert [c.n_rows for c in source] == [700, 700, 700, 700, 200]
    est = CumulativeLinearRegression().fit_chunks(source)
    _assert_same_fit(est, CumulativeLinearRegression().fit(X, y, w))


def test_prefitted_transformer_streams_categorical_data_frames():
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(9)
    frame = pd.DataFrame({"x": rng.normal(size=900), "city": rng.choice(["a", "b", "c"], size=900)})
    y = frame.x + frame.city.map({"a": 0.0, "b": 1.0, "c": 2.0}) + rng.normal(size=900)
    encoder = ColumnTransformer(
        [("city", OneHotEncoder(categories=[["a", "b", "c"]], drop="first", sparse_output=False), ["city"])],
        remainder="passthrough", verbose_feature_names_out=False,
    ).set_output(transform="pandas").fit(frame.iloc[:5])  # declared levels: any rows fit it
    source = iter_chunks(frame, y, chunk_rows=100).transform(encoder)
    est = CumulativeLinearRegression().fit_chunks(source)
    dummies = pd.get_dummies(frame, columns=["city"], drop_first=True, dtype=float)
    ref = sm.OLS(y, sm.add_constant(dummies[["city_b", "city_c", "x"]])).fit()
    np.testing.assert_allclose(est.results().params, ref.params.to_numpy(), rtol=1e-10)
    assert list(est.feature_names_in_) == ["city_b", "city_c", "x"]


def test_predict_chunks_from_a_prediction_only_file_source(tmp_path):
    X, y, _, _ = _data(n=1000)
    frame = pd.DataFrame(X, columns=list("abcd"))
    frame.to_parquet(tmp_path / "new.parquet")
    est = CumulativeLinearRegression().fit(frame, y)
    source = read_files(tmp_path / "new.parquet", target=None, batch_rows=300)
    predictions = np.concatenate(list(est.predict_chunks(source)))
    np.testing.assert_allclose(predictions, est.predict(frame), rtol=1e-12)


def test_verbose_file_source_shows_rows_per_second(tmp_path, capsys):
    pytest.importorskip("tqdm")
    X, y, _, _ = _data(n=2000)
    pd.DataFrame(X, columns=list("abcd")).assign(y=y).to_parquet(tmp_path / "d.parquet")
    source = read_files(tmp_path, target="y", batch_rows=500, verbose=True)
    CumulativeLinearRegression().fit_chunks(source)
    err = capsys.readouterr().err
    assert "2.00k/2.00k" in err and "rows/s" in err


def test_partial_fit_chunks_streams_files_into_any_estimator(tmp_path):
    from sklearn.linear_model import Ridge

    from skbigreg.linear_model import CumulativeRidge, GroupedLinearRegression
    from skbigreg.parallel import partial_fit_chunks

    X, y, w, g = _data(n=2000)
    frame = pd.DataFrame(X, columns=list("abcd")).assign(y=y, w=w, site=g % 3)
    frame.to_parquet(tmp_path / "d.parquet")
    source = read_files(tmp_path, target="y", features=list("abcd"), sample_weight="w", batch_rows=300)
    ridge = partial_fit_chunks(CumulativeRidge(alpha=2.0), source)
    ref = Ridge(alpha=2.0).fit(frame[list("abcd")], y, sample_weight=w)
    np.testing.assert_allclose(ridge.coef_, ref.coef_, rtol=1e-8)
    labelled = read_files(tmp_path, target="y", features=list("abcd"), partitions="site", batch_rows=300)
    grouped = partial_fit_chunks(GroupedLinearRegression(), labelled)
    assert list(grouped.partitions_) == [0, 1, 2]
    one = frame[frame.site == 1]
    np.testing.assert_allclose(
        grouped.subset([1]).coef_,
        CumulativeLinearRegression().fit(one[list("abcd")], one.y).coef_, rtol=1e-9,
    )
    clustered = read_files(tmp_path, target="y", features=list("abcd"), clusters="site")
    with pytest.raises(ValueError, match="'clusters' but CumulativeRidge.partial_fit"):
        partial_fit_chunks(CumulativeRidge(), clustered)


def test_parallel_fit_chunks_of_a_single_chunk():
    X, y, _, _ = _data(n=500)
    est = CumulativeLinearRegression().fit_chunks([(X, y)], n_jobs=2)
    _assert_same_fit(est, CumulativeLinearRegression().fit(X, y))
