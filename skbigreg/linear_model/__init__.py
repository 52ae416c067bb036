"""Estimators: thin scikit-learn classes on top of statistics and solvers."""

from ._coordinate_descent import (
    CumulativeElasticNet,
    CumulativeElasticNetCV,
    CumulativeLasso,
    CumulativeLassoCV,
)
from ._cumulative import CumulativeLinearRegression
from ._debiased import DebiasedDistributedLasso, DebiasedDistributedLogisticRegression
from ._fixed_effects import CumulativeFixedEffectsRegression
from ._fepois import CumulativePoissonFixedEffects
from ._glm_irls import CumulativeGLM, CumulativeLogisticRegression, SeparationWarning
from ._grouped import GroupedLinearRegression
from ._iv import CumulativeIVRegression
from ._ridge import CumulativeRidge, CumulativeRidgeCV
from ._smr import SMRGLM, SMRLogisticRegression, SMRPoissonRegressor

__all__ = [
    "CumulativeElasticNet",
    "CumulativeElasticNetCV",
    "CumulativeFixedEffectsRegression",
    "CumulativePoissonFixedEffects",
    "CumulativeGLM",
    "CumulativeIVRegression",
    "CumulativeLasso",
    "CumulativeLassoCV",
    "CumulativeLinearRegression",
    "CumulativeLogisticRegression",
    "CumulativeRidge",
    "CumulativeRidgeCV",
    "DebiasedDistributedLasso",
    "DebiasedDistributedLogisticRegression",
    "GroupedLinearRegression",
    "SMRGLM",
    "SMRLogisticRegression",
    "SMRPoissonRegressor",
    "SeparationWarning",
]
