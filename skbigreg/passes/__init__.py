"""Row passes that need a model: each maps a chunk of rows, at the current
estimate, to small mergeable statistics (:mod:`skbigreg.stats`)."""

from ._blocks import (
    RepresentativeTask,
    block_sums,
    inside_domain,
    memory_tasks,
    represent_task,
    representative_pass,
    summarise_task,
)
from ._partitions import PartitionSpec, partition_labels

__all__ = [
    "PartitionSpec",
    "RepresentativeTask",
    "block_sums",
    "inside_domain",
    "memory_tasks",
    "partition_labels",
    "represent_task",
    "representative_pass",
    "summarise_task",
]
