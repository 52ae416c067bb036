"""Inference from statistics: one results type, covariances and summary tables."""

from ._bootstrap import BootstrapResults, cluster_bootstrap, resample_clusters
from ._wild import WildBootstrapResults, wild_cluster_bootstrap
from ._compare import ModelComparison, compare, significance_stars
from ._covariance import (
    COV_TYPES,
    LEVERAGE_COV_TYPES,
    PANEL_COV_TYPES,
    cluster_meat,
    kernel_meat,
    small_sample_factor,
)
from ._least_squares import regression_results
from ._prediction import PredictionResults
from ._restrictions import restriction_matrix
from ._results import RegressionResults, pick_target_name, target_name
from ._summary import Summary, format_summary
from ._tests import ContrastResults

__all__ = [
    "COV_TYPES",
    "LEVERAGE_COV_TYPES",
    "PANEL_COV_TYPES",
    "BootstrapResults",
    "PredictionResults",
    "ContrastResults",
    "ModelComparison",
    "RegressionResults",
    "Summary",
    "cluster_bootstrap",
    "cluster_meat",
    "compare",
    "format_summary",
    "kernel_meat",
    "pick_target_name",
    "regression_results",
    "resample_clusters",
    "restriction_matrix",
    "significance_stars",
    "small_sample_factor",
    "target_name",
    "WildBootstrapResults",
    "wild_cluster_bootstrap",
]
