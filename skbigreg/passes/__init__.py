"""Row passes that need a model: each maps rows, given a fitted or current
model, to small results that the solvers combine.

:func:`fit_partition` is the per-partition local fit of the one-shot
debiased lasso (:func:`map_partitions` runs many through joblib).
"""

from ._local import fit_partition, map_partition_stream, map_partitions, nodewise_rows

__all__ = ["fit_partition", "map_partition_stream", "map_partitions", "nodewise_rows"]
