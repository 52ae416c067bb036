"""Model selection from per-fold statistics: hashed folds, fold-aggregate search."""

from ._accumulation import FoldAccumulationMixin
from ._folds import (
    FoldStatistics,
    SplitStatistics,
    chunk_fold_statistics,
    fold_statistics,
    hash_folds,
)
from ._scoring import SCORERS, FoldScores, cv_results, fold_scores
from ._search import FoldGridSearchCV

__all__ = [
    "FoldAccumulationMixin",
    "FoldGridSearchCV",
    "FoldScores",
    "FoldStatistics",
    "SCORERS",
    "SplitStatistics",
    "chunk_fold_statistics",
    "cv_results",
    "fold_scores",
    "fold_statistics",
    "hash_folds",
]
