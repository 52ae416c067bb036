"""Statistics as bytes, to travel between processes without pickle.

Each part of a :class:`ChunkStatistics` is written with its own ``to_dict``
(plain arrays) into one ``.npz`` blob, and rebuilt on the other side by the
checking ``from_dict`` loader of a type named in a fixed list: nothing in the
blob is executed.
"""

from __future__ import annotations

import io

import numpy as np

from ._accumulators import GramStats, QRStats
from ._chunk import ChunkStatistics
from ._grouped import GroupedGramStats
from ._multiway import MultiwayGroupedStats
from ._outer import LeverageOuterProducts

# The statistics types that may travel, by name: nothing else is rebuilt.
_TRAVELLING = {cls.__name__: cls for cls in (
    GramStats, QRStats, GroupedGramStats, MultiwayGroupedStats, LeverageOuterProducts)}
_PARTS = ("stats", "clusters", "extra")
_TYPE_KEY = "__type__"
_LOG_WEIGHT_KEY = "log_weight_sum"


def encode_statistics(part):
    """``part`` (a :class:`ChunkStatistics`) as ``.npz`` bytes of plain arrays."""
    if part.periods is not None:
        raise ValueError("Per-period score sums do not travel from Spark executors.")
    arrays = {}
    for name in _PARTS:
        value = getattr(part, name)
        if value is None:
            continue
        arrays[f"{name}/{_TYPE_KEY}"] = np.asarray(type(value).__name__)
        arrays.update({f"{name}/{key}": array for key, array in value.to_dict().items()})
    if part.log_weight_sum is not None:
        arrays[_LOG_WEIGHT_KEY] = np.asarray(part.log_weight_sum, dtype=np.float64)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def decode_statistics(blob):
    """The :class:`ChunkStatistics` of :func:`encode_statistics` bytes, every part checked.

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
    parts = {}
    for name in _PARTS:
        type_name = arrays.get(f"{name}/{_TYPE_KEY}")
        if type_name is None:
            continue
        cls = _TRAVELLING.get(str(type_name))
        if cls is None:
            raise ValueError(f"Statistics of unknown type {str(type_name)!r} from an executor.")
        prefix = f"{name}/"
        parts[name] = cls.from_dict({key[len(prefix):]: value for key, value in arrays.items()
                                     if key.startswith(prefix) and not key.endswith(_TYPE_KEY)})
    if "stats" not in parts:
        raise ValueError("Statistics from an executor have no totals.")
    log_weight = arrays.get(_LOG_WEIGHT_KEY)
    return ChunkStatistics(parts["stats"], parts.get("clusters"), parts.get("extra"),
                           None if log_weight is None else float(log_weight))
