"""Sources of rows: one way in for every estimator.

:func:`iter_chunks` reads in-memory arrays and DataFrames or iterables of
chunks; :func:`read_files` streams parquet/CSV files in record batches;
:func:`iter_partitions` gathers each partition's rows across chunks.
"""

from ._chunks import LABEL_NAMES, Chunk, ChunkSource, as_chunk, check_chunk, iter_chunks
from ._files import FileSource, ScanReport, read_files
from ._partitions import PartitionRows, check_partition_labels, iter_partitions

__all__ = [
    "LABEL_NAMES",
    "Chunk",
    "ChunkSource",
    "FileSource",
    "PartitionRows",
    "ScanReport",
    "as_chunk",
    "check_chunk",
    "check_partition_labels",
    "iter_chunks",
    "iter_partitions",
    "read_files",
]
