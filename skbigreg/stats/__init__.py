"""Mergeable statistics: the *map* and *merge* of map -> merge -> solve.

Objects here import numpy and scipy only, so they are built unchanged on any
worker. All support ``+`` (merge), an empty identity, ``to_dict``/``from_dict``
and ``save``/``load`` with a schema version.
"""

from ._accumulators import GramStats, QRStats, TriangularSystem
from ._chunk import ChunkSpec, LinearChunkStatistics, chunk_statistics, linear_chunk_statistics
from ._grouped import GroupedGramStats
from ._outer import OuterProductStats
from ._representatives import BlockSums, ChunkSums, Representatives, RepresentativeSets

__all__ = [
    "GramStats",
    "QRStats",
    "TriangularSystem",
    "GroupedGramStats",
    "OuterProductStats",
    "BlockSums",
    "ChunkSums",
    "Representatives",
    "RepresentativeSets",
    "ChunkSpec",
    "LinearChunkStatistics",
    "chunk_statistics",
    "linear_chunk_statistics",
    "accumulator_for",
]

_ACCUMULATORS = {"gram": GramStats, "qr": QRStats}


def accumulator_for(solver):
    """The statistics class behind ``solver="gram"`` or ``solver="qr"``."""
    try:
        return _ACCUMULATORS[solver]
    except KeyError:
        raise ValueError(f"solver must be 'gram' or 'qr', got {solver!r}.") from None
