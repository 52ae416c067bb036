"""Every source a formula reads, as a re-iterable stream of pandas frames.

A formula needs the raw columns (strings, categories, numbers before any
encoding), so formula sources yield pandas DataFrames holding only the
columns the formula uses, whatever the data is: a pandas, polars or pyarrow
frame (read through narwhals, sliced into chunks), parquet/CSV files (the
record batches of :func:`skbigreg.io.read_files`, only the used columns), a
Dask DataFrame (one partition at a time), or an iterable of frames.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator

from ..io import is_dask_collection
from ..io._files import _open_dataset, _parquet_batches, _read_ahead, _resolve_paths

#: Rows per chunk when an in-memory frame is sliced.
DEFAULT_CHUNK_ROWS = 65_536


class FrameSource:
    """pandas frames of chosen columns, one chunk at a time.

    ``frames(columns)`` starts a pass; ``reiterable`` says whether a second
    pass is possible (a generator of frames allows one pass only).
    ``names`` are the source's columns when known before reading (files,
    frames), else None.
    """

    def __init__(self, factory, names, reiterable, dictionary_factory=None):
        self._factory = factory
        self._dictionary_factory = dictionary_factory
        self.names = names
        self.reiterable = reiterable
        self._passes = 0

    def frames(self, columns):
        """One pass of pandas frames holding ``columns``."""
        for batch in self.batches(columns):
            yield _pandas(batch)

    def batches(self, columns, dictionary=()):
        """One pass of ``columns`` as the source holds them: Arrow for files and Arrow tables.

        pyarrow ``RecordBatch``/``Table`` chunks stay in Arrow (a pass that
        only needs distinct values need not build pandas strings); other
        chunks are pandas frames. Parquet string columns named in
        ``dictionary`` are read dictionary-encoded, as the files store them
        (no string is decoded per row).
        """
        if self._passes and not self.reiterable:
            raise ValueError(
                "The data is a one-shot iterator of frames and has been read once; "
                "a formula whose levels are not declared reads it twice (levels, then "
                "statistics): pass a list of frames, a callable returning a fresh "
                "iterator, or declare the levels with levels={column: [...]}."
            )
        self._passes += 1
        columns = list(columns)
        if dictionary and self._dictionary_factory is not None:
            frames = self._dictionary_factory(columns, list(dictionary))
        else:
            frames = self._factory(columns)
        for frame in frames:
            yield _select_native(frame, columns)

    def head(self, columns):
        """The first frame, or None; not a pass (a one-shot source keeps it for its pass)."""
        columns = list(columns)
        frames = self._factory(columns)
        first = next(iter(frames), None)
        if self.reiterable:
            getattr(frames, "close", lambda: None)()
        else:
            kept = [] if first is None else [first]
            self._factory = lambda _: itertools.chain(kept, frames)
        return None if first is None else _select(first, columns)


def _select(frame, columns):
    return _select_native(_pandas(frame), columns)


def _select_native(frame, columns):
    """``columns`` of a chunk, kept in Arrow when it is Arrow, else as a pandas frame."""
    if not is_arrow(frame):
        frame = _pandas(frame)
    names = list(frame.schema.names if is_arrow(frame) else frame.columns)
    missing = [name for name in columns if name not in names]
    if missing:
        raise ValueError(f"The data has no column {missing[0]!r} (columns: {names}).")
    return frame.select(columns) if is_arrow(frame) else frame[columns]


def is_arrow(frame):
    """Is ``frame`` a pyarrow ``RecordBatch`` or ``Table``?"""
    import pyarrow as pa

    return isinstance(frame, (pa.RecordBatch, pa.Table))


def frame_source(data, chunk_rows=None):
    """A :class:`FrameSource` over ``data`` (see the module's docstring)."""
    rows = DEFAULT_CHUNK_ROWS if chunk_rows is None else int(chunk_rows)
    if rows < 1:
        raise ValueError(f"chunk_rows must be a positive integer, got {chunk_rows}.")
    if isinstance(data, FrameSource):
        return data
    if isinstance(data, (str, os.PathLike)) or (
        isinstance(data, (list, tuple)) and data and isinstance(data[0], (str, os.PathLike))
    ):
        return _file_source(data, rows)
    if is_dask_collection(data):
        return FrameSource(lambda columns: _dask_frames(data, columns), list(data.columns), True)
    frame = _eager_frame(data)
    if frame is not None:
        return FrameSource(lambda columns: _slices(frame, columns, rows), list(frame.columns), True)
    if callable(data):
        return FrameSource(lambda columns: data(), None, True)
    if isinstance(data, Iterator):
        return FrameSource(lambda columns: data, None, False)
    if isinstance(data, Iterable):
        return FrameSource(lambda columns: iter(data), None, True)
    raise TypeError(
        f"Cannot read a formula's rows from {type(data).__name__}: pass a pandas/polars/pyarrow "
        "DataFrame, a parquet/CSV path or glob, a Dask DataFrame or an iterable of frames."
    )


def _eager_frame(data):
    """A narwhals eager frame over a pandas/polars/pyarrow table, or None."""
    import narwhals.stable.v2 as nw

    try:
        return nw.from_native(data, eager_only=True)
    except TypeError:
        return None


def _pandas(frame):
    """One chunk as a pandas DataFrame (pandas frames are kept as they are)."""
    import pandas as pd

    if isinstance(frame, pd.DataFrame):
        return frame
    if is_arrow(frame):
        return frame.to_pandas()
    eager = _eager_frame(frame)
    if eager is None:
        raise TypeError(f"A chunk of a formula's data must be a DataFrame, got {type(frame).__name__}.")
    return eager.to_pandas()


def _slices(frame, columns, rows):
    selected = frame.select(columns)
    for start in range(0, len(selected), rows):
        yield selected[start:start + rows].to_native()


def _dask_frames(data, columns):
    for i in range(data.npartitions):
        yield data.partitions[i][columns].compute()


def _file_source(path, rows):
    paths, file_format = _resolve_paths(path, None)
    dataset = _open_dataset(paths, file_format)
    names = list(dataset.schema.names)

    def batches(columns, dictionary=None):
        if file_format == "csv":
            found = dataset.to_batches(columns=columns, batch_size=rows, batch_readahead=2,
                                       fragment_readahead=1)
        else:
            found = _read_ahead(_parquet_batches(paths, columns, rows, dictionary))
        for batch in found:
            if batch.num_rows:
                yield batch  # Arrow: converted to pandas only by passes that need pandas

    def dictionary_batches(columns, dictionary):
        strings = [name for name in dictionary if _is_string(dataset.schema.field(name).type)]
        return batches(columns, strings or None)

    return FrameSource(batches, names, True, dictionary_batches)


def _is_string(arrow_type):
    import pyarrow as pa

    return (pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)
            or pa.types.is_string_view(arrow_type))
