"""Checks of the values of saved statistics, one function per kind of array.

Loading runs these on every array, so statistics that no accumulation could
have produced (negative or fractional counts, negative weights, NaN, an
asymmetric or indefinite co-moment, duplicate labels) are refused with a
``ValueError`` naming the array instead of silently corrupting a fit.
"""

from __future__ import annotations

import numpy as np

# Largest count a float64 holds exactly.
MAX_COUNT = 2**53
# Dimensions (feature counts) beyond this are not statistics anyone saved.
MAX_DIM = 2**31
# Relative tolerance of the symmetry, semi-definiteness and triangularity
# checks: rounding in accumulation is ~1e-16 of the largest diagonal entry,
# so 1e-8 passes every computed moment and refuses every tampered one.
MATRIX_RTOL = 1e-8


def check_values(name, kind, array, source):
    """Check ``array`` as a field of ``kind``; return it in its working dtype."""
    array = np.asarray(array)
    if array.dtype == object:
        raise ValueError(f"{source}: array {name!r} holds Python objects; pickles are refused.")
    if kind in ("labels", "tags", "text"):
        return _CHECKS[kind](name, array, source)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{source}: array {name!r} must hold real numbers, got dtype {array.dtype}.")
    return _CHECKS[kind](name, array.astype(np.float64), source)


def _text(name, array, source):
    if array.dtype.kind != "U" or array.ndim != 0:
        raise ValueError(f"{source}: array {name!r} must be a single string.")
    return str(array)


def _tags(name, array, source):
    """Labels that may repeat (e.g. the cluster of each level): numbers or strings."""
    if array.dtype.kind not in "biufU":
        raise ValueError(
            f"{source}: labels {name!r} must be numbers or strings, got dtype {array.dtype}."
        )
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ValueError(f"{source}: labels {name!r} contain NaN or infinity.")
    return array


def _labels(name, array, source):
    """Keys of grouped statistics: unique and sorted, as every merge assumes."""
    _tags(name, array, source)
    if len(array) > 1 and not (array[1:] > array[:-1]).all():
        if len(np.unique(array)) < len(array):
            raise ValueError(f"{source}: labels {name!r} contain duplicates.")
        raise ValueError(f"{source}: labels {name!r} are not sorted.")
    return array


def _finite(name, array, source):
    if not np.isfinite(array).all():
        raise ValueError(f"{source}: array {name!r} contains NaN or infinity.")
    return array


def _integers(name, array, source, upper):
    _finite(name, array, source)
    if (array < 0).any() or (array != np.round(array)).any() or (array > upper).any():
        raise ValueError(
            f"{source}: array {name!r} must hold integers between 0 and {upper}, got "
            f"{array.ravel()[:5].tolist()}{' ...' if array.size > 5 else ''}."
        )
    return array.astype(np.int64)


def _dims(name, array, source):
    return _integers(name, array, source, MAX_DIM)


def _count(name, array, source):
    return _integers(name, array, source, MAX_COUNT)


def _flag(name, array, source):
    return _integers(name, array, source, 1)


def _weight(name, array, source):
    _finite(name, array, source)
    if (array < 0).any():
        raise ValueError(f"{source}: array {name!r} holds negative weight sums.")
    return array


def _diagonal_scale(array):
    """Largest absolute diagonal entry of each matrix (the last two axes)."""
    if array.shape[-1] == 0:
        return np.zeros(array.shape[:-2])
    return np.abs(np.diagonal(array, axis1=-2, axis2=-1)).max(axis=-1)


def _comoment(name, array, source):
    """Symmetric positive semi-definite, within rounding of the largest variance."""
    _finite(name, array, source)
    tolerance = MATRIX_RTOL * _diagonal_scale(array)[..., None, None]
    if (np.abs(array - np.swapaxes(array, -1, -2)) > tolerance).any():
        raise ValueError(f"{source}: co-moment {name!r} is not symmetric.")
    if array.size:
        lowest = np.linalg.eigvalsh(array)[..., :1]
        if (lowest < -tolerance[..., 0]).any():
            raise ValueError(
                f"{source}: co-moment {name!r} is not positive semi-definite "
                f"(smallest eigenvalue {lowest.min():.3g})."
            )
    return array


def _upper(name, array, source):
    """Upper triangular: the entries below the diagonal vanish."""
    _finite(name, array, source)
    tolerance = MATRIX_RTOL * _diagonal_scale(array)[..., None, None]
    lower = np.tril(array, k=-1)
    if (np.abs(lower) > tolerance).any():
        raise ValueError(f"{source}: factor {name!r} is not upper triangular.")
    return array


_CHECKS = {
    "text": _text,
    "labels": _labels,
    "tags": _tags,
    "finite": _finite,
    "dims": _dims,
    "count": _count,
    "flag": _flag,
    "weight": _weight,
    "comoment": _comoment,
    "upper": _upper,
}


def check_moments(n_rows, weight_sum, second, source):
    """Counts, weights and second moments that belong together.

    Rows with positive weight mean at least one row; no rows mean no
    weight; no weight means no spread (the second moment is zero).
    Arrays broadcast over groups or folds (``second`` has two more axes).
    """
    if ((np.asarray(n_rows) == 0) & (np.asarray(weight_sum) > 0)).any():
        raise ValueError(f"{source}: positive weight_sum with n_rows = 0.")
    empty = np.asarray(weight_sum) == 0
    spread = np.abs(second).max(axis=(-2, -1), initial=0.0)
    if (empty & (spread > 0)).any():
        raise ValueError(
            f"{source}: statistics of zero weight_sum must have zero second moments."
        )
