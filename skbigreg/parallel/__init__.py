"""Map chunks to statistics and reduce them with ``+``: joblib and Dask drivers.

joblib reaches any backend registered with :func:`joblib.parallel_config`
(loky, threading, dask, joblibspark's spark, ipyparallel); Spark DataFrames
are mapped partition by partition on the executors; Dask collections are mapped partition by partition on
the workers and tree-reduced on the cluster.
"""

# The partitions of a Dask source are io's; they stay importable from here.
from ..io import dask_partitions, is_dask_collection
from ._blas import single_blas_thread
from ._dask import dask_map_reduce, map_partition
from ._joblib import parallel_map
from ._map_reduce import map_reduce, tree_sum
from ._spark import spark_map_reduce
from ._stream import partial_fit_chunks

__all__ = [
    "dask_map_reduce",
    "dask_partitions",
    "is_dask_collection",
    "map_partition",
    "map_reduce",
    "parallel_map",
    "partial_fit_chunks",
    "single_blas_thread",
    "spark_map_reduce",
    "tree_sum",
]
