"""Statistics as bytes, to travel between processes without pickle.

A statistics object is written as one ``.npz`` blob of plain arrays: a
saved type (:class:`~skbigreg.stats.GramStats`, :class:`FoldStatistics`,
:class:`LevelMeans` ...) through its own ``to_dict``, a plain container of
them (:class:`ChunkStatistics`, :class:`IRLSPass`, :class:`ClusterSums`,
:class:`LikelihoodSums`) field by field, numbers and arrays as they are.
Every node records its type by name; the other side rebuilds only types of
a fixed list, saved ones through their checking ``from_dict`` loaders, and
reads the arrays with pickles disabled: nothing in the blob is executed.
"""

from __future__ import annotations

import dataclasses
import io

import numpy as np

from ._accumulators import GramStats, QRStats
from ._chunk import ChunkStatistics
from ._folds import FoldStatistics, SplitStatistics
from ._grouped import GroupedGramStats
from ._irls import ClusterSums, IRLSPass, LikelihoodSums
from ._levels import LevelMeans
from ._multiway import MultiwayGroupedStats
from ._outer import LeverageOuterProducts, OuterProductStats

# Types with to_dict/from_dict: rebuilt by their checking loaders.
_SAVED = {cls.__name__: cls for cls in (
    GramStats, QRStats, GroupedGramStats, MultiwayGroupedStats, LeverageOuterProducts,
    OuterProductStats, FoldStatistics, SplitStatistics, LevelMeans)}
# Frozen dataclasses of the above, arrays and numbers: rebuilt field by field.
_CONTAINERS = {cls.__name__: cls for cls in (
    ChunkStatistics, IRLSPass, ClusterSums, LikelihoodSums)}
_TYPE = "__type__"
_ROOT = ""  # the root's own keys carry no prefix: "__type__", "stats/__type__" ...
_SCALARS = {"float": float, "int": int, "bool": bool}


def _key(path, name):
    return f"{path}/{name}" if path else str(name)


def _encode(value, path, arrays):
    """Write ``value`` under ``path`` into ``arrays`` (None is written as nothing)."""
    if value is None:
        return
    name = type(value).__name__
    kind = _key(path, _TYPE)
    if name in _SAVED and isinstance(value, _SAVED[name]):
        arrays[kind] = np.asarray(name)
        arrays.update({_key(path, key): array for key, array in value.to_dict().items()})
    elif name in _CONTAINERS and isinstance(value, _CONTAINERS[name]):
        arrays[kind] = np.asarray(name)
        for item in dataclasses.fields(value):
            _encode(getattr(value, item.name), _key(path, item.name), arrays)
    elif isinstance(value, tuple):
        arrays[kind] = np.asarray("tuple")
        arrays[_key(path, "length")] = np.asarray(len(value))
        for i, item in enumerate(value):
            _encode(item, _key(path, i), arrays)
    elif isinstance(value, (bool, np.bool_, int, np.integer, float, np.floating)):
        arrays[kind] = np.asarray("bool" if isinstance(value, (bool, np.bool_)) else (
            "int" if isinstance(value, (int, np.integer)) else "float"))
        arrays[_key(path, "value")] = np.asarray(value)
    elif isinstance(value, np.ndarray) and (not value.dtype.hasobject or _all_text(value)):
        arrays[kind] = np.asarray("array")
        # text labels travel as fixed-width strings (object arrays would need pickle)
        arrays[_key(path, "value")] = value.astype(str) if value.dtype.hasobject else value
    else:
        raise TypeError(f"Statistics of type {name} do not travel between processes.")


def _all_text(values):
    return all(isinstance(item, str) for item in values.ravel())


def _decode(arrays, path, used):
    """The value written under ``path`` by :func:`_encode` (None when absent).

    Adds the keys it reads to ``used``.
    """
    kind = arrays.get(_key(path, _TYPE))
    if kind is None:
        return None
    used.add(_key(path, _TYPE))
    kind = str(kind)
    if kind in _SAVED:
        prefix = _key(path, "")
        found = {key: value for key, value in arrays.items()
                 if key.startswith(prefix) and key != _key(path, _TYPE)}
        used.update(found)
        return _SAVED[kind].from_dict({key[len(prefix):]: value for key, value in found.items()})
    if kind in _CONTAINERS:
        cls = _CONTAINERS[kind]
        return cls(**{item.name: _decode(arrays, _key(path, item.name), used)
                      for item in dataclasses.fields(cls)})
    if kind == "tuple":
        used.add(_key(path, "length"))
        return tuple(_decode(arrays, _key(path, i), used)
                     for i in range(int(arrays[_key(path, "length")])))
    if kind in _SCALARS or kind == "array":
        used.add(_key(path, "value"))
        value = arrays[_key(path, "value")]
        return _SCALARS[kind](value) if kind in _SCALARS else value
    raise ValueError(f"Statistics of unknown type {kind!r} from another process.")


def encode_statistics(part):
    """``part`` (any mergeable statistics object) as ``.npz`` bytes of plain arrays.

    Raises
    ------
    TypeError
        ``part`` holds a type that does not travel (not a statistics type).
    """
    arrays = {}
    _encode(part, _ROOT, arrays)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def decode_statistics(blob):
    """The statistics object of :func:`encode_statistics` bytes, every part checked.

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.stats import ChunkStatistics, GramStats, decode_statistics, encode_statistics
    >>> rng = np.random.default_rng(0)
    >>> part = ChunkStatistics(GramStats.from_arrays(rng.normal(size=(20, 2)), rng.normal(size=20)))
    >>> back = decode_statistics(encode_statistics(part))
    >>> bool(np.array_equal(back.stats.comoment, part.stats.comoment))
    True
    """
    with np.load(io.BytesIO(blob), allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    used = set()
    value = _decode(arrays, _ROOT, used)
    if value is None:
        raise ValueError("Statistics from another process are empty.")
    if used != arrays.keys():
        raise ValueError("Statistics from another process hold arrays of no known part: "
                         f"{sorted(arrays.keys() - used)[:5]}.")
    return value
