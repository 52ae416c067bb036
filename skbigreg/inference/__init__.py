"""Inference from statistics: covariance types and summary tables."""

from ._covariance import COV_TYPES, cluster_meat, hc_scores
from ._results import RegressionResults, regression_results

__all__ = [
    "COV_TYPES",
    "RegressionResults",
    "cluster_meat",
    "hc_scores",
    "regression_results",
]
