"""Inference from statistics: covariance types and summary tables."""

from ._bootstrap import BootstrapResults, cluster_bootstrap, resample_clusters
from ._covariance import COV_TYPES, cluster_meat, hc_scores
from ._results import RegressionResults, regression_results

__all__ = [
    "COV_TYPES",
    "BootstrapResults",
    "RegressionResults",
    "cluster_bootstrap",
    "cluster_meat",
    "hc_scores",
    "regression_results",
    "resample_clusters",
]
