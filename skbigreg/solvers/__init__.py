"""Solvers: pure functions from statistics to estimates (they never see rows)."""

from ._least_squares import LeastSquaresSolution, solve_least_squares

__all__ = ["LeastSquaresSolution", "solve_least_squares"]
