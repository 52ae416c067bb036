"""Warnings and errors raised by skbigreg."""

from sklearn.exceptions import ConvergenceWarning

__all__ = [
    "CollinearityWarning",
    "DegreesOfFreedomWarning",
    "PerfectFitWarning",
    "IllConditionedWarning",
    "MissingPassError",
    "SeparationWarning",
]


class CollinearityWarning(UserWarning):
    """The design is rank deficient; a minimum-norm solution is returned."""


class DegreesOfFreedomWarning(UserWarning):
    """No residual degrees of freedom: standard errors and tests are NaN."""


class IllConditionedWarning(UserWarning):
    """The design is ill-conditioned for the chosen accumulator.

    The message estimates how many digits survive and names the QR solver.
    """


class PerfectFitWarning(UserWarning):
    """The model fits every row exactly: standard errors are 0 and F is infinite."""


class MissingPassError(RuntimeError):
    """A quantity needs a streamed pass over the data that has not been made.

    For example heteroskedasticity-robust (HC) standard errors of a streamed
    fit need a second pass over the same chunks at the final coefficients.
    """


class SeparationWarning(ConvergenceWarning):
    """Fitted means reach the boundary of the support: (quasi-)complete separation."""
