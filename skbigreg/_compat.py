"""The one module that imports scikit-learn's private names.

Every other module imports them from here, so a change in scikit-learn's
private API is mended in one place.
"""

from sklearn.base import _fit_context
from sklearn.linear_model._cd_fast import enet_coordinate_descent_gram
from sklearn.utils._param_validation import HasMethods, Interval, Options, StrOptions
from sklearn.utils.validation import _check_sample_weight, _num_samples, validate_data

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
