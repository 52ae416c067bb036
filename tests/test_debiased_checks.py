"""scikit-learn's common estimator checks for the debiased distributed estimators.

The instances keep the default ``n_partitions=1``: with automatic contiguous
splits, integer sample weights cannot equal repeated rows (the repeated rows
move the split points), so sklearn's weight-equivalence check only holds for
one partition. Multi-partition behaviour is tested in ``test_debiased.py``.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skbigreg.linear_model import (
    DebiasedDistributedLasso,
    DebiasedDistributedLogisticRegression,
)


@parametrize_with_checks(
    [
        DebiasedDistributedLasso(),
        DebiasedDistributedLasso(nodewise="split"),
        DebiasedDistributedLasso(family="poisson"),
        DebiasedDistributedLogisticRegression(),
    ]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
