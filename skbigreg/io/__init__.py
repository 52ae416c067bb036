"""Sources of rows: one way in for every estimator.

:func:`iter_chunks` reads in-memory arrays and DataFrames or iterables of
chunks; :func:`read_files` streams parquet/CSV files in record batches.
"""

from ._chunks import LABEL_NAMES, Chunk, ChunkSource, as_chunk, check_chunk, iter_chunks
from ._dask import dask_partitions, is_dask_collection
from ._file_columns import ColumnError
from ._files import FileSource, ScanReport, read_files

__all__ = [
    "LABEL_NAMES",
    "Chunk",
    "ChunkSource",
    "ColumnError",
    "FileSource",
    "ScanReport",
    "as_chunk",
    "check_chunk",
    "dask_partitions",
    "is_dask_collection",
    "iter_chunks",
    "read_files",
]
