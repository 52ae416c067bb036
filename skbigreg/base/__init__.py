"""What every estimator shares: rows, row labels, chunks, state and fitting.

One implementation of the contract (see the design notes): one validation
of a chunk's rows, one check of its row labels, all-or-nothing updates, and
one ``fit_chunks`` that maps every chunk to mergeable statistics and solves
once.
"""

from ..io import ChunkLabels, check_label, check_labels, refuse_unread
from ._cumulative import CumulativeMixin
from ._design import design_rows, partitionwise, raw_labels, with_design_spec
from ._rows import (
    SPARSE_FORMATS,
    ChunkSpec,
    binary_classes,
    check_weight_sum,
    check_weights,
    chunk_statistics,
    encode_binary,
    linear_chunk_statistics,
    target_name,
    validate_chunk,
)
from ._source import fit_source
from ._state import reset, rollback_on_error
from ._worker_maps import estimator_scores, estimator_statistics

__all__ = [
    "SPARSE_FORMATS",
    "ChunkLabels",
    "ChunkSpec",
    "CumulativeMixin",
    "binary_classes",
    "check_label",
    "check_labels",
    "check_weight_sum",
    "check_weights",
    "chunk_statistics",
    "design_rows",
    "encode_binary",
    "estimator_scores",
    "estimator_statistics",
    "fit_source",
    "linear_chunk_statistics",
    "partitionwise",
    "raw_labels",
    "refuse_unread",
    "reset",
    "target_name",
    "rollback_on_error",
    "validate_chunk",
    "with_design_spec",
]
