"""Row passes that need a model: each maps rows, at a fitted or current model,
to small mergeable results that the solvers combine.

:func:`irls_pass` is one IRLS pass of a streamed GLM at the current
coefficients; :func:`fit_partition` is the per-partition local fit of the
one-shot debiased lasso (:func:`map_partitions` runs many through joblib).
"""

from ._irls import irls_chunk_pass, irls_pass
from ._local import fit_partition, map_partition_stream, map_partitions, nodewise_rows

__all__ = [
    "fit_partition",
    "irls_chunk_pass",
    "irls_pass",
    "map_partition_stream",
    "map_partitions",
    "nodewise_rows",
]
