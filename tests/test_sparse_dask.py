"""scipy.sparse chunks on Dask: the same statistics as the local fit, to 1e-10.

A Dask array whose blocks are CSR matrices (``da.from_array(X, asarray=False)``)
and a Dask DataFrame of pandas sparse columns are fitted on a
``distributed.LocalCluster``: the workers map each sparse partition with the
sparse Gram map (and the sparse HC pass) and only the statistics travel. The
oracle is the same estimator fitted on the whole sparse matrix in memory, which
test_sparse checks against the dense fit and statsmodels.
"""

import pandas as pd
import pytest
from scipy import sparse
from test_sparse import _design, _relative

from skbigreg.io import iter_chunks
from skbigreg.linear_model import (
    CumulativeFixedEffectsRegression,
    CumulativeLinearRegression,
    CumulativeRidgeCV,
)

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

ROWS = 97  # partitions of 97 rows: uneven, the last one short


@pytest.fixture(scope="module")
def data():
    X, y, extra = _design(seed=3, n=600)
    return X, y, extra["w"], extra["clusters"], extra["site"]


def _sparse_blocks(X):
    """A Dask array whose blocks stay scipy.sparse CSR."""
    Xd = da.from_array(X, chunks=(ROWS, -1), asarray=False)
    assert sparse.issparse(Xd._meta) and sparse.issparse(Xd.blocks[0].compute())
    return Xd


def _column(values):
    return da.from_array(values, chunks=ROWS)


def _assert_same_inference(ours, local, cov_types):
    assert _relative(ours.coef_, local.coef_) < 1e-10
    assert _relative(ours.intercept_, local.intercept_) < 1e-10
    for cov_type in cov_types:
        assert _relative(ours.results(cov_type).bse, local.results(cov_type).bse) < 1e-10


def test_sparse_blocks_fit_on_the_workers_equal_the_local_fit(client, data):
    X, y, w, g, _ = data
    Xd = _sparse_blocks(X)
    ours = CumulativeLinearRegression(cov_type="HC1").fit(
        Xd, _column(y), _column(w), clusters=_column(g))
    local = CumulativeLinearRegression(cov_type="HC1").fit(X, y, w, clusters=g)
    _assert_same_inference(ours, local, ("nonrobust", "HC1", "HC3", "cluster"))


def test_csc_blocks_fit_too(client, data):
    X, y, *_ = data
    Xd = da.from_array(sparse.csc_array(X), chunks=(ROWS, -1), asarray=False)
    ours = CumulativeLinearRegression().fit(Xd, _column(y))
    local = CumulativeLinearRegression().fit(X, y)
    _assert_same_inference(ours, local, ("nonrobust",))


def test_dask_frame_of_pandas_sparse_columns(client, data):
    X, y, w, *_ = data
    names = [f"x{j}" for j in range(X.shape[1])]
    frame = pd.DataFrame.sparse.from_spmatrix(X, columns=names)
    ours = CumulativeLinearRegression().fit(
        dd.from_pandas(frame, npartitions=5), dd.from_pandas(pd.Series(y), npartitions=5),
        dd.from_pandas(pd.Series(w), npartitions=5))
    local = CumulativeLinearRegression().fit(X, y, w)
    _assert_same_inference(ours, local, ("nonrobust",))
    assert list(ours.feature_names_in_) == names


@pytest.mark.parametrize("make, labels", [
    (lambda: CumulativeRidgeCV(alphas=(0.1, 10.0)), {}),
    (lambda: CumulativeFixedEffectsRegression(cov_type="HC1"), {"entities": "site"}),
])
def test_sparse_blocks_streamed_by_fit_chunks(client, data, make, labels):
    """Estimators without a worker map stream the sparse partitions through fit_chunks."""
    X, y, w, g, site = data
    columns = {"site": site}
    named = {name: columns[column] for name, column in labels.items()}
    source = iter_chunks(_sparse_blocks(X), _column(y), _column(w),
                         **{name: _column(values) for name, values in named.items()})
    ours = make().fit_chunks(source)
    local = make().fit(X, y, sample_weight=w, **named)
    assert _relative(ours.coef_, local.coef_) < 1e-10
