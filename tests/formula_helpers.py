"""What the formula tests share: comparison by term name, and parquet parts to stream."""

import numpy as np

RTOL = 1e-10


def same_by_name(ours, theirs, rtol=RTOL):
    """Equal by name: formulaic orders terms as written, patsy by degree."""
    theirs = theirs.rename({"Intercept": "const"})
    assert sorted(ours.index) == sorted(theirs.index)
    np.testing.assert_allclose(ours.to_numpy(), theirs[ours.index].to_numpy(), rtol=rtol,
                               atol=rtol * np.abs(theirs.to_numpy()).max())


def write_parquet_parts(data, folder, n_files, row_group):
    """``data`` cut into ``n_files`` consecutive parquet files of several row groups."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    paths = []
    for i, rows in enumerate(np.array_split(np.arange(len(data)), n_files)):
        path = folder / f"part{i}.parquet"
        pq.write_table(pa.Table.from_pandas(data.iloc[rows], preserve_index=False), path,
                       row_group_size=row_group)
        paths.append(path)
    return paths
