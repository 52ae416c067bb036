"""Estimators: thin scikit-learn classes on top of statistics and solvers."""

from ._cumulative import CumulativeLinearRegression
from ._fixed_effects import CumulativeFixedEffectsRegression
from ._glm_irls import CumulativeGLM, CumulativeLogisticRegression, SeparationWarning
from ._grouped import GroupedLinearRegression
from ._iv import CumulativeIVRegression
from ._smr import SMRGLM, SMRLogisticRegression, SMRPoissonRegressor

__all__ = [
    "CumulativeFixedEffectsRegression",
    "CumulativeGLM",
    "CumulativeIVRegression",
    "CumulativeLinearRegression",
    "CumulativeLogisticRegression",
    "GroupedLinearRegression",
    "SMRGLM",
    "SMRLogisticRegression",
    "SMRPoissonRegressor",
    "SeparationWarning",
]
