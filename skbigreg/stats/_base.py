"""Shared machinery of the mergeable statistics: merge checks and saving.

Every statistics type declares its saved arrays once, as a :class:`Layout`
(the shape of each array in terms of named dimensions, and what kind of
numbers it holds). :func:`unpack` checks a dictionary against that layout and
:func:`load_npz` checks a file against it *before* reading any array data,
so a hostile or damaged file is refused with a ``ValueError`` naming the
file, and never allocates more than its declared statistics need.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._checks import check_values
from ._npz import check_member_size, member_headers, open_npz, read_member

SCHEMA_KEY = "__schema__"
VERSION_KEY = "__version__"


def label_kind(labels):
    """``"number"``, ``"string"``, ``"boolean"`` ... of an array of group labels."""
    kind = labels.dtype.kind
    if kind in "iuf":
        return "number"
    if kind in "US":
        return "string"
    if kind == "b":
        return "boolean"
    if kind == "V" and labels.dtype.names:  # intersections of multi-way clusters
        return "(" + ", ".join(label_kind(labels[name]) for name in labels.dtype.names) + ")"
    if kind != "O":
        return labels.dtype.name
    kinds = {"string" if isinstance(v, str) else
             "number" if isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
             else type(v).__name__ for v in labels.tolist()}
    return kinds.pop() if len(kinds) == 1 else "mixed"


def check_same_labels(left, right, what):
    """Refuse to merge group labels of different kinds (``1.0`` and ``"1"`` would
    silently become two groups, or be coerced into one type)."""
    if len(left) and len(right):
        kinds = label_kind(np.asarray(left)), label_kind(np.asarray(right))
        if kinds[0] != kinds[1]:
            raise ValueError(
                f"Cannot merge {what} whose labels are of type {kinds[0]} with {what} "
                f"whose labels are of type {kinds[1]}: a label must have one type "
                "in every chunk."
            )


def check_same_shape(left, right, what="statistics", axes=" (n_features, n_targets)"):
    """Raise ``ValueError`` naming both types or shapes when two statistics cannot merge.

    Every statistics type's ``+`` calls this first, so adding a foreign
    object (another statistics type, an array) is a clear error naming both
    types rather than an ``AttributeError`` from deep inside the merge.
    """
    if type(left) is not type(right):
        raise ValueError(
            f"Cannot merge {type(left).__name__} with {type(right).__name__}."
        )
    if left.shape != right.shape:
        raise ValueError(
            f"Cannot merge {what} of shape {left.shape}{axes} "
            f"with {what} of shape {right.shape}."
        )


@dataclass(frozen=True)
class Field:
    """One saved array: its shape and the kind of numbers it holds.

    ``shape`` holds integers and dimension names (``"D"``, ``"G"`` ...);
    a name takes its size from the declared dimensions or, failing that,
    from the first array that uses it, and every other array must agree.
    ``kind`` is one of the checks of :mod:`skbigreg.stats._checks`.
    """

    shape: tuple
    kind: str
    optional: bool = False


@dataclass(frozen=True)
class Layout:
    """The saved form of one statistics type.

    Attributes
    ----------
    schema : str
        Name recorded in the saved data.
    version : int
        Schema version this code reads and writes.
    fields : dict of str to Field
        Every array the saved data holds (no other key is accepted).
    dims : callable or None
        ``dims(values)`` maps the already checked fixed-shape arrays (e.g.
        ``shape``) to dimension sizes (e.g. ``{"D": K + T}``).
    older : tuple of int
        Earlier versions still read: their data are this version's without
        some optional fields.
    """

    schema: str
    version: int
    fields: dict = field(default_factory=dict)
    dims: object = None
    older: tuple = ()

    def fixed(self):
        """Names of the fields whose shape is known without any dimension."""
        return [name for name, f in self.fields.items() if _is_fixed(f.shape)]


def _is_fixed(shape):
    return all(isinstance(size, int) for size in shape)


def pack(schema, version, fields, raw=None):
    """Plain-array dictionary with the schema name and version recorded.

    ``fields`` are stored as float64; ``raw`` arrays (labels, names) as they
    are, with object arrays turned into strings so no pickle is ever needed.
    """
    out = {SCHEMA_KEY: np.asarray(schema), VERSION_KEY: np.asarray(version)}
    for name, value in fields.items():
        out[name] = np.array(value, dtype=np.float64)
    for name, value in (raw or {}).items():
        value = np.asarray(value)
        out[name] = value.astype(str) if value.dtype == object else value
    return out


def unpack(data, layout, source=None):
    """Check ``data`` against ``layout`` and return its arrays, ready to use.

    Checked: schema and version, known keys only, every shape against the
    declared dimensions, dtypes, and the values each field's kind demands
    (integer counts, finite non-negative weights, symmetric positive
    semi-definite co-moments, unique sorted labels ...). Numeric fields come
    back as float64, label and text fields as stored. Nothing is executed.
    """
    source = source or f"{layout.schema} data"
    check_schema(layout, data.get(SCHEMA_KEY), data.get(VERSION_KEY), source)
    arrays = {k: np.asarray(v) for k, v in data.items() if k not in (SCHEMA_KEY, VERSION_KEY)}
    check_keys(layout, arrays, source)
    values = {name: check_values(name, layout.fields[name].kind, arrays[name], source)
              for name in layout.fixed() if name in arrays}
    expected = expected_shapes(layout, values, {k: a.shape for k, a in arrays.items()}, source)
    for name, array in arrays.items():
        if name not in values:
            check_shape(name, array.shape, expected[name], source)
            values[name] = check_values(name, layout.fields[name].kind, array, source)
    return values


def check_schema(layout, schema, version, source):
    """The saved schema name and version must be this type's."""
    found = "" if schema is None else str(np.asarray(schema))
    if found != layout.schema:
        raise ValueError(f"{source}: expected statistics of schema {layout.schema!r}, got {found!r}.")
    try:
        found_version = int(np.asarray(version if version is not None else -1))
    except (TypeError, ValueError):
        found_version = repr(version)
    if found_version != layout.version and found_version not in layout.older:
        raise ValueError(
            f"{source}: {layout.schema} schema version {found_version} is not supported "
            f"(this skbigreg reads version {layout.version})."
        )


def check_keys(layout, names, source):
    """Refuse unknown arrays and missing required ones."""
    unknown = sorted(set(names) - set(layout.fields))
    if unknown:
        raise ValueError(
            f"{source}: unknown arrays {unknown} in {layout.schema} data "
            f"(expected {sorted(layout.fields)})."
        )
    missing = [k for k, f in layout.fields.items() if k not in names and not f.optional]
    if missing:
        raise ValueError(f"{source}: {layout.schema} data lack the arrays {missing}.")


def expected_shapes(layout, values, shapes, source):
    """The shape every field must have, from the declared dimensions.

    ``values`` are the checked fixed-shape fields; a dimension they do not
    declare takes its size from the first field (in layout order) that
    uses it. ``shapes`` maps present field names to their shapes.
    """
    for name in values:
        check_shape(name, shapes[name], layout.fields[name].shape, source)
    sizes = dict(layout.dims(values)) if layout.dims else {}
    expected = {}
    for name, f in layout.fields.items():
        if name not in shapes:
            continue
        found = shapes[name]
        if len(found) == len(f.shape):
            for size, dim in zip(found, f.shape):
                if isinstance(dim, str):
                    sizes.setdefault(dim, int(size))
        expected[name] = tuple(sizes.get(dim, dim) for dim in f.shape)
    return expected


def check_shape(name, found, expected, source):
    """Refuse an array whose shape is not the one its statistics imply."""
    if tuple(found) != tuple(expected):
        raise ValueError(
            f"{source}: array {name!r} has shape {tuple(found)}, but the "
            f"statistics' declared shape implies {tuple(expected)}."
        )


class Saved:
    """What every statistics type shares: ``merge`` (= ``+``) and ``save``/``load``
    of plain arrays through the one checking loader."""

    def merge(self, other):
        """Statistics of the union of both row sets (same as ``self + other``)."""
        return self + other

    def save(self, path):
        """Write to an ``.npz`` file of plain arrays."""
        save_npz(self, path)

    @classmethod
    def load(cls, path):
        """Read an ``.npz`` file written by :meth:`save` (pickles refused, checked)."""
        return load_npz(cls, path)


def save_npz(stats, path):
    """Write ``stats.to_dict()`` to an ``.npz`` file (no pickles)."""
    np.savez(path, **stats.to_dict())


def load_npz(cls, path):
    """Read statistics saved by :func:`save_npz`, checking the file first.

    Every member's header (shape, dtype) is checked against the layout of
    ``cls`` before its data are decompressed; pickled, unknown or oversized
    members, and files that are not ``.npz`` archives, raise ``ValueError``
    naming the file.
    """
    layout = cls._layout
    with open_npz(path) as archive:
        members = member_headers(archive, path)
        read = {}
        for key in (SCHEMA_KEY, VERSION_KEY):
            if key in members and members[key].shape == ():
                read[key] = read_member(archive, key, members[key], path)
        check_schema(layout, read.get(SCHEMA_KEY), read.get(VERSION_KEY), path)
        fields = {k: m for k, m in members.items() if k not in (SCHEMA_KEY, VERSION_KEY)}
        check_keys(layout, fields, path)
        shapes = {k: m.shape for k, m in fields.items()}
        values = {}
        for name in layout.fixed():
            if name in fields:
                check_shape(name, shapes[name], layout.fields[name].shape, path)
                read[name] = read_member(archive, name, fields[name], path)
                values[name] = check_values(name, layout.fields[name].kind, read[name], path)
        expected = expected_shapes(layout, values, shapes, path)
        for name, member in fields.items():
            check_shape(name, member.shape, expected[name], path)
            check_member_size(name, member, path)
        for name, member in fields.items():
            if name not in read:
                read[name] = read_member(archive, name, member, path)
    try:
        return cls.from_dict(read)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
