"""Estimators: thin scikit-learn classes on top of statistics and solvers."""

from ._cumulative import CumulativeLinearRegression
from ._smr import SMRGLM, SMRLogisticRegression, SMRPoissonRegressor

__all__ = [
    "CumulativeLinearRegression",
    "SMRGLM",
    "SMRLogisticRegression",
    "SMRPoissonRegressor",
]
