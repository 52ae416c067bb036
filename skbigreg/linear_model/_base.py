"""Transitional: the shared machinery lives in :mod:`skbigreg.base`."""

from ..base import CumulativeMixin, rollback_on_error, validate_chunk

__all__ = ["CumulativeMixin", "rollback_on_error", "validate_chunk"]
