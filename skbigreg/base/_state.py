"""Fitted state: reset and all-or-nothing updates."""

from __future__ import annotations

from contextlib import contextmanager

# Private attributes that belong to a fit (cleared by ``reset`` with the
# public fitted attributes, whose names end in ``_``).
PRIVATE_STATE = ("_y_1d", "_solution", "_label_kinds", "_within", "_first_stage", "_columns",
                 "_unsolved", "_solution_names")


def reset(estimator, keep=()):
    """Forget every fitted attribute; keep the parameters (and metadata requests).

    ``keep`` names fitted attributes set before the fit on purpose (e.g.
    ``classes_`` given to ``fit_chunks``).
    """
    for name in list(vars(estimator)):
        fitted = name.endswith("_") and not name.startswith("__")
        if (fitted or name in PRIVATE_STATE) and name not in keep:
            delattr(estimator, name)


@contextmanager
def rollback_on_error(estimator):
    """Restore every attribute of ``estimator`` if the block raises.

    Fitted attributes are only ever replaced, never mutated in place, so a
    shallow snapshot of ``vars`` is an exact copy of the fitted state.
    """
    snapshot = dict(vars(estimator))
    try:
        yield
    except BaseException:
        vars(estimator).clear()
        vars(estimator).update(snapshot)
        raise
