"""Estimators: thin scikit-learn classes on top of statistics and solvers."""

from ._cumulative import CumulativeLinearRegression

__all__ = [
    "CumulativeLinearRegression",
]
