"""Mergeable statistics: the *map* and *merge* of map -> merge -> solve.

Objects here import numpy and scipy only, so they are built unchanged on any
worker. All support ``+`` (merge), an empty identity, ``to_dict``/``from_dict``
and ``save``/``load`` with a schema version.
"""

from ._accumulators import GramStats, QRStats, TriangularSystem
from ._base import label_kind
from ._chunk import ChunkStatistics
from ._folds import FoldStatistics, SplitStatistics
from ._grouped import GroupedGramStats
from ._levels import LevelMeans
from ._fepois import PoissonEffectsPass, PoissonScores
from ._multilevel import FactorMeans, LevelCoder, LevelPairs, LevelSums
from ._multiway import MultiwayGroupedStats, cluster_statistics
from ._irls import ClusterSums, IRLSPass, LikelihoodSums
from ._outer import LeverageOuterProducts, OuterProductStats
from ._sparse import as_dense, check_sparse_finite, dense_row_blocks, is_sparse
from ._representatives import BlockSums, ChunkSums, Representatives, RepresentativeSets
from ._travel import decode_statistics, encode_statistics

__all__ = [
    "decode_statistics",
    "encode_statistics",
    "GramStats",
    "QRStats",
    "TriangularSystem",
    "GroupedGramStats",
    "FoldStatistics",
    "SplitStatistics",
    "LevelMeans",
    "PoissonEffectsPass",
    "PoissonScores",
    "FactorMeans",
    "LevelCoder",
    "LevelPairs",
    "LevelSums",
    "MultiwayGroupedStats",
    "cluster_statistics",
    "ClusterSums",
    "IRLSPass",
    "LikelihoodSums",
    "OuterProductStats",
    "LeverageOuterProducts",
    "ChunkStatistics",
    "BlockSums",
    "ChunkSums",
    "Representatives",
    "RepresentativeSets",
    "accumulator_for",
    "as_dense",
    "check_sparse_finite",
    "dense_row_blocks",
    "is_sparse",
    "label_kind",
]

_ACCUMULATORS = {"gram": GramStats, "qr": QRStats}


def accumulator_for(solver):
    """The statistics class behind ``solver="gram"`` or ``solver="qr"``."""
    try:
        return _ACCUMULATORS[solver]
    except KeyError:
        raise ValueError(f"solver must be 'gram' or 'qr', got {solver!r}.") from None
