"""skbigreg: regression on data too big for one machine.

Every estimator is *map -> merge -> solve*: a chunk of rows becomes a small
statistics object (:mod:`skbigreg.stats`), statistics objects add up in any
order on any engine (:mod:`skbigreg.parallel`), and solvers
(:mod:`skbigreg.solvers`) turn the merged statistics into coefficients,
standard errors and cross-validation scores.
"""

__version__ = "0.1.0.dev0"

__all__ = ["__version__"]
