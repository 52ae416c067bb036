"""Sources of rows: one way in for every estimator.

:func:`iter_chunks` reads in-memory arrays and DataFrames or iterables of
chunks; :func:`read_files` streams parquet/CSV files in record batches;
:func:`read_sql` streams a SQL query's result (DuckDB, PostgreSQL), and
its :meth:`~SqlSource.pushdown` computes the statistics in the database;
:func:`iter_partitions` gathers each partition's rows across chunks.
"""

from ._chunks import (
    LABEL_NAMES,
    Chunk,
    ChunkSource,
    as_chunk,
    check_chunk,
    check_dense_target,
    iter_chunks,
)
from ._dask import dask_partitions, is_dask_collection
from ._file_columns import ColumnError
from ._files import FileSource, ScanReport, read_files
from ._labels import (
    ChunkLabels,
    check_cluster_columns,
    check_label,
    check_labels,
    cluster_columns,
    refuse_unread,
)
from ._partitions import PartitionRows, iter_partitions
from ._pushdown import SqlPushdown
from ._spark import SparkSource, is_spark_dataframe, read_spark
from ._spark_memory import spark_low_memory_config
from ._sql import SqlError, SqlSource, read_sql

__all__ = [
    "LABEL_NAMES",
    "Chunk",
    "ChunkSource",
    "ColumnError",
    "FileSource",
    "PartitionRows",
    "ScanReport",
    "as_chunk",
    "check_chunk",
    "check_dense_target",
    "ChunkLabels",
    "check_cluster_columns",
    "check_label",
    "cluster_columns",
    "check_labels",
    "refuse_unread",
    "dask_partitions",
    "is_dask_collection",
    "iter_chunks",
    "iter_partitions",
    "read_files",
    "read_spark",
    "spark_low_memory_config",
    "read_sql",
    "is_spark_dataframe",
    "SparkSource",
    "SqlError",
    "SqlPushdown",
    "SqlSource",
]
