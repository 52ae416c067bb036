"""Sources of rows: one function turns any source into checked chunks.

The scale-out issue adds parquet/CSV files (pyarrow record batches) and Dask
collections to :func:`iter_chunks`.
"""

from ._chunks import LABEL_NAMES, Chunk, ChunkSource, as_chunk, check_chunk, iter_chunks

__all__ = ["LABEL_NAMES", "Chunk", "ChunkSource", "as_chunk", "check_chunk", "iter_chunks"]
