"""Shared machinery of the mergeable statistics: serialisation and checks."""

from __future__ import annotations

import numpy as np

SCHEMA_KEY = "__schema__"
VERSION_KEY = "__version__"


def check_same_shape(left, right, what="statistics"):
    """Raise ``ValueError`` naming both shapes when two statistics cannot merge."""
    if type(left) is not type(right):
        raise ValueError(
            f"Cannot merge {type(left).__name__} with {type(right).__name__}."
        )
    if left.shape != right.shape:
        raise ValueError(
            f"Cannot merge {what} of shape {left.shape} (n_features, n_targets) "
            f"with {what} of shape {right.shape}."
        )


def pack(schema, version, fields):
    """Plain-array dictionary with the schema name and version recorded."""
    out = {SCHEMA_KEY: np.asarray(schema), VERSION_KEY: np.asarray(version)}
    for name, value in fields.items():
        out[name] = np.array(value, dtype=np.float64)
    return out


def unpack(data, schema, version, names):
    """Read the arrays written by :func:`pack`, checking schema and version.

    Only plain numeric arrays are read: nothing in ``data`` is executed.
    """
    found = str(np.asarray(data.get(SCHEMA_KEY, "")))
    if found != schema:
        raise ValueError(f"Expected statistics of schema {schema!r}, got {found!r}.")
    found_version = int(np.asarray(data.get(VERSION_KEY, -1)))
    if found_version != version:
        raise ValueError(
            f"{schema} schema version {found_version} is not supported "
            f"(this skbigreg reads version {version})."
        )
    missing = [name for name in names if name not in data]
    if missing:
        raise ValueError(f"{schema} data lack the arrays {missing}.")
    return {name: np.array(data[name], dtype=np.float64) for name in names}


def save_npz(stats, path):
    """Write ``stats.to_dict()`` to an ``.npz`` file (no pickles)."""
    np.savez(path, **stats.to_dict())


def load_npz(cls, path):
    """Read statistics saved by :func:`save_npz`; pickled objects are refused."""
    with np.load(path, allow_pickle=False) as data:
        return cls.from_dict({key: data[key] for key in data.files})
