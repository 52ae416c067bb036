"""The one module that imports scikit-learn's private names.

Every other module imports them from here, so a change in scikit-learn's
private API is mended in one place.
"""

import inspect

import numpy as np
from sklearn.base import _fit_context
from sklearn.linear_model._cd_fast import enet_coordinate_descent_gram
from sklearn.utils._param_validation import HasMethods, Interval, Options, StrOptions
from sklearn.utils.validation import _check_sample_weight as _sklearn_check_sample_weight
from sklearn.utils.validation import _num_samples, validate_data

# scikit-learn < 1.8 has no allow_all_zero_weights (and accepts all-zero weights).
_ZERO_WEIGHTS_OPTION = "allow_all_zero_weights" in inspect.signature(
    _sklearn_check_sample_weight).parameters


def _check_sample_weight(sample_weight, X, *, dtype=None, ensure_non_negative=False,
                         allow_all_zero_weights=False):
    """scikit-learn's ``_check_sample_weight`` with ``allow_all_zero_weights`` on
    every supported version (all-zero weights refused unless allowed)."""
    weights = _sklearn_check_sample_weight(
        sample_weight, X, dtype=dtype, ensure_non_negative=ensure_non_negative,
        **({"allow_all_zero_weights": True} if _ZERO_WEIGHTS_OPTION else {}),
    )
    if not allow_all_zero_weights and weights.size and not np.any(weights):
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return weights


__all__ = [
    "HasMethods",
    "Interval",
    "Options",
    "StrOptions",
    "_check_sample_weight",
    "_fit_context",
    "_num_samples",
    "enet_coordinate_descent_gram",
    "validate_data",
]
