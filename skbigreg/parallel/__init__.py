"""Map chunks to statistics and reduce them with ``+``.

The scale-out issue adds Dask collections here; joblib already reaches any
backend registered with :func:`joblib.parallel_config` (loky, threading,
dask).
"""

from ._map_reduce import map_reduce, tree_sum

__all__ = ["map_reduce", "tree_sum"]
