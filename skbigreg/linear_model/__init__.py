"""Estimators: thin scikit-learn classes on top of statistics and solvers."""

from ._coordinate_descent import (
    CumulativeElasticNet,
    CumulativeElasticNetCV,
    CumulativeLasso,
    CumulativeLassoCV,
)
from ._cumulative import CumulativeLinearRegression
from ._debiased import DebiasedDistributedLasso, DebiasedDistributedLogisticRegression
from ._ridge import CumulativeRidge, CumulativeRidgeCV
from ._smr import SMRGLM, SMRLogisticRegression, SMRPoissonRegressor

__all__ = [
    "CumulativeElasticNet",
    "CumulativeElasticNetCV",
    "CumulativeLasso",
    "CumulativeLassoCV",
    "CumulativeLinearRegression",
    "CumulativeRidge",
    "CumulativeRidgeCV",
    "DebiasedDistributedLasso",
    "DebiasedDistributedLogisticRegression",
    "SMRGLM",
    "SMRLogisticRegression",
    "SMRPoissonRegressor",
]

from ._iv import CumulativeIVRegression  # noqa: E402

__all__ += ["CumulativeIVRegression"]

from ._grouped import GroupedLinearRegression  # noqa: E402

__all__ += ["GroupedLinearRegression"]

from ._fixed_effects import CumulativeFixedEffectsRegression  # noqa: E402

__all__ += ["CumulativeFixedEffectsRegression"]

from ._glm_irls import CumulativeGLM, CumulativeLogisticRegression, SeparationWarning  # noqa: E402

__all__ += ["CumulativeGLM", "CumulativeLogisticRegression", "SeparationWarning"]
