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
_ROOT = "root"
_SCALARS = {"float": float, "int": int, "bool": bool}


def _encode(value, path, arrays):
    """Write ``value`` under ``path`` into ``arrays`` (None is written as nothing)."""
    if value is None:
        return
    name = type(value).__name__
    if name in _SAVED and isinstance(value, _SAVED[name]):
        arrays[f"{path}/{_TYPE}"] = np.asarray(name)
        arrays.update({f"{path}/{key}": array for key, array in value.to_dict().items()})
    elif name in _CONTAINERS and isinstance(value, _CONTAINERS[name]):
        arrays[f"{path}/{_TYPE}"] = np.asarray(name)
        for item in dataclasses.fields(value):
            _encode(getattr(value, item.name), f"{path}/{item.name}", arrays)
    elif isinstance(value, tuple):
        arrays[f"{path}/{_TYPE}"] = np.asarray("tuple")
        arrays[f"{path}/length"] = np.asarray(len(value))
        for i, item in enumerate(value):
            _encode(item, f"{path}/{i}", arrays)
    elif isinstance(value, (bool, np.bool_, int, np.integer, float, np.floating)):
        kind = "bool" if isinstance(value, (bool, np.bool_)) else (
            "int" if isinstance(value, (int, np.integer)) else "float")
        arrays[f"{path}/{_TYPE}"] = np.asarray(kind)
        arrays[f"{path}/value"] = np.asarray(value)
    elif isinstance(value, np.ndarray) and (not value.dtype.hasobject or _all_text(value)):
        arrays[f"{path}/{_TYPE}"] = np.asarray("array")
        # text labels travel as fixed-width strings (object arrays would need pickle)
        arrays[f"{path}/value"] = value.astype(str) if value.dtype.hasobject else value
    else:
        raise TypeError(f"Statistics of type {name} do not travel between processes.")


def _all_text(values):
    return all(isinstance(item, str) for item in values.ravel())


def _decode(arrays, path):
    """The value written under ``path`` by :func:`_encode` (None when absent)."""
    kind = arrays.get(f"{path}/{_TYPE}")
    if kind is None:
        return None
    kind = str(kind)
    if kind in _SAVED:
        prefix = f"{path}/"
        return _SAVED[kind].from_dict({key[len(prefix):]: value for key, value in arrays.items()
                                       if key.startswith(prefix) and key != f"{path}/{_TYPE}"})
    if kind in _CONTAINERS:
        cls = _CONTAINERS[kind]
        return cls(**{item.name: _decode(arrays, f"{path}/{item.name}")
                      for item in dataclasses.fields(cls)})
    if kind == "tuple":
        return tuple(_decode(arrays, f"{path}/{i}") for i in range(int(arrays[f"{path}/length"])))
    if kind in _SCALARS:
        return _SCALARS[kind](arrays[f"{path}/value"])
    if kind == "array":
        return arrays[f"{path}/value"]
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
    value = _decode(arrays, _ROOT)
    if value is None:
        raise ValueError("Statistics from another process are empty.")
    return value
