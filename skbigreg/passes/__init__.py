"""Row passes that need a model: each maps a chunk of rows, at the current
estimate, to small mergeable statistics (:mod:`skbigreg.stats`) that the
solvers combine.

:func:`score_pass_statistics` is the second pass of the least-squares
models (HC scores at the final coefficients); :func:`irls_pass` is one IRLS pass of a streamed GLM at the current
coefficients; :func:`representative_pass` maps blocks to score-matching
representatives; :func:`fit_partition` is the per-partition local fit of
the one-shot debiased lasso (:func:`map_partitions` runs many through joblib).
"""

from ._blocks import (
    RepresentativeTask,
    block_sums,
    inside_domain,
    memory_tasks,
    represent_task,
    representative_pass,
    summarise_task,
    with_kept_boxes,
)
from ._demean import (
    demeaned_form_scores,
    demeaned_gram,
    demeaned_rows,
    demeaned_score_statistics,
    effect_product,
    effect_rows,
)
from ._irls import irls_chunk_pass, irls_pass, subsample_start
from ._local import fit_partition, map_partition_stream, map_partitions, nodewise_rows
from ._partitions import BlockCentres, PartitionSpec, partition_labels
from ._pushdown import (
    PushdownIRLS,
    pushdown_fold_statistics,
    pushdown_level_nesting,
    pushdown_linear_score_pass,
    pushdown_period_sums,
    pushdown_score_pass,
    pushdown_statistics,
    pushdown_within_score_pass,
    pushdown_within_statistics,
)
from ._scores import (
    demeaned_scores,
    hc_scores,
    residual_row_scores,
    residual_shift,
    row_level_means,
    score_pass_statistics,
)

__all__ = [
    "PushdownIRLS",
    "pushdown_fold_statistics",
    "pushdown_level_nesting",
    "pushdown_linear_score_pass",
    "pushdown_period_sums",
    "pushdown_score_pass",
    "pushdown_statistics",
    "pushdown_within_score_pass",
    "pushdown_within_statistics",
    "PartitionSpec",
    "BlockCentres",
    "RepresentativeTask",
    "block_sums",
    "demeaned_form_scores",
    "demeaned_gram",
    "demeaned_rows",
    "demeaned_score_statistics",
    "demeaned_scores",
    "effect_product",
    "effect_rows",
    "fit_partition",
    "hc_scores",
    "inside_domain",
    "irls_chunk_pass",
    "irls_pass",
    "subsample_start",
    "map_partition_stream",
    "map_partitions",
    "memory_tasks",
    "nodewise_rows",
    "partition_labels",
    "represent_task",
    "residual_row_scores",
    "residual_shift",
    "row_level_means",
    "representative_pass",
    "score_pass_statistics",
    "summarise_task",
    "with_kept_boxes",
]
