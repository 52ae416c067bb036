"""Parquet and CSV sources: record batches read with pyarrow, bounded memory."""

from __future__ import annotations

import glob
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._chunks import Chunk, ChunkSource
from ._file_columns import ColumnError, FileColumns, check_columns, check_scan_options, csv_schema

_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".txt": "csv"}


@dataclass
class ScanReport:
    """What a pass over a file source saw: rows read, and rows dropped as missing."""

    rows_read: int = 0
    rows_dropped: int = 0
    dropped_by_column: dict = field(default_factory=dict)


def read_files(
    path,
    *,
    target,
    features=None,
    sample_weight=None,
    clusters=None,
    partitions=None,
    groups=None,
    entities=None,
    periods=None,
    categorical=None,
    drop_first=True,
    batch_rows=65_536,
    file_format=None,
    missing="raise",
    verbose=False,
):
    """Stream chunks (X, y, sample weights and row labels) from parquet or CSV files.

    Rows are read in record batches with :mod:`pyarrow.dataset`, selecting only
    the named columns, so memory is bounded by ``batch_rows`` whatever the
    size of the data. The source is re-iterable (each pass re-reads the files).

    Parameters
    ----------
    path : str, path-like or list of them
        One file, a list of files, a glob pattern (``"data/*.parquet"``) or a
        directory of files.
    target : str or None
        Column of the response; None for prediction-only sources (``y`` is
        then None in every chunk).
    features : list of str, optional
        Feature columns; default: every column not used otherwise.
    sample_weight, clusters, partitions, groups, entities, periods : str, optional
        Columns holding weights and row labels (``entities``: the levels of an
        absorbed fixed effect; ``periods``: each row's time period, numbers
        or dates, for Driscoll-Kraay errors). ``clusters`` may be a list of
        two or more columns: multi-way clusters (each chunk's clusters are
        then a DataFrame of them); so may ``entities``: two or more absorbed
        factors (each chunk's entities a DataFrame of them).
    categorical : list of str or dict, optional
        Columns to one-hot encode. A dict ``{column: [levels]}`` declares the
        levels; a list discovers them in a first pass over those columns
        (sorted). The encoding is the same for every chunk; a level not
        declared raises ``ValueError``.
    drop_first : bool, default=True
        Drop each categorical column's first level (the reference level), so
        the dummies are not collinear with the intercept.
    batch_rows : int, default=65536
        Rows per record batch (per chunk).
    file_format : {"parquet", "csv"}, optional
        Inferred from the file extension when not given.
    missing : {"raise", "drop"}, default="raise"
        Rows with a missing (null or NaN) value in a used column: raise a
        ``ValueError`` naming the column, or drop them; the source's
        ``report`` counts rows read and dropped (per column) in the last pass.
    verbose : bool, default=False
        Show a progress bar (rows/s) with tqdm.

    Returns
    -------
    FileSource

    Raises
    ------
    ColumnError
        A ``ValueError`` naming the argument, the column and the file, raised
        before any row is read when a named column is missing from some file,
        a target, weight or feature column is not numeric in some file (dates
        and times are refused, never cast: write them as numbers, or declare a
        date feature categorical), a label or categorical column changes kind
        of type between files (e.g. integers in one, strings in the next), or
        the target is also listed as a feature.

    Examples
    --------
    >>> import numpy as np, pandas as pd, tempfile, os
    >>> from skbigreg.io import read_files
    >>> folder = tempfile.mkdtemp()
    >>> frame = pd.DataFrame({"x": np.arange(10.0), "y": 2 * np.arange(10.0)})
    >>> frame.to_csv(os.path.join(folder, "part0.csv"), index=False)
    >>> source = read_files(folder, target="y", batch_rows=4)
    >>> [chunk.n_rows for chunk in source]
    [4, 4, 2]
    >>> source.feature_names
    ['x']
    """
    batch_rows = check_scan_options(missing, batch_rows)
    paths, file_format = _resolve_paths(path, file_format)
    columns = FileColumns(target, features, sample_weight,
                          {"clusters": clusters, "partitions": partitions, "groups": groups,
                           "entities": entities, "periods": periods},
                          categorical)
    return FileSource(paths, file_format, columns, drop_first, batch_rows, missing, verbose)


def _label_values(batch, column):
    """A label's values; multi-way clusters (a tuple of columns) as a DataFrame."""
    if isinstance(column, str):
        return np.asarray(batch.column(column).to_numpy(zero_copy_only=False))
    return pd.DataFrame({name: _label_values(batch, name) for name in column}, copy=False)


def _resolve_paths(path, file_format):
    items = path if isinstance(path, (list, tuple)) else [path]
    paths = []
    for item in items:
        item = os.fspath(item)
        if os.path.isdir(item):
            found = sorted(
                os.path.join(item, name) for name in os.listdir(item)
                if os.path.splitext(name)[1].lower() in _FORMATS
            )
        elif any(ch in item for ch in "*?["):
            found = sorted(glob.glob(item))
        else:
            found = [item] if os.path.exists(item) else []
        if not found:
            raise FileNotFoundError(f"No data files found at {item!r}.")
        paths.extend(found)
    if file_format is None:
        kinds = {_FORMATS.get(os.path.splitext(p)[1].lower()) for p in paths}
        if len(kinds) != 1 or None in kinds:
            raise ValueError(
                f"Cannot infer the file format of {paths[:3]}: pass file_format='parquet' or 'csv'."
            )
        file_format = kinds.pop()
    if file_format not in ("parquet", "csv"):
        raise ValueError(f"file_format must be 'parquet' or 'csv', got {file_format!r}.")
    return paths, file_format


class FileSource(ChunkSource):
    """A re-iterable chunk source over parquet/CSV files (see :func:`read_files`).

    Attributes
    ----------
    paths : list of str
    feature_names : list of str
        Columns of ``X`` after one-hot encoding (``"col[level]"`` for dummies).
    categories : dict
        The levels of each categorical column.
    report : ScanReport
        Rows read and dropped in the last complete pass.
    """

    def __init__(self, paths, file_format, columns, drop_first, batch_rows, missing, verbose):
        self.paths = paths
        self.file_format = file_format
        self.batch_rows = batch_rows
        self.missing = missing
        self.verbose = verbose
        self.report = ScanReport()
        self._dataset = _open_dataset(paths, file_format)
        types = check_columns(columns, self._dataset)
        if file_format == "csv":
            self._dataset = _open_dataset(paths, file_format, csv_schema(self._dataset, types))
        self._columns = columns
        self.categories = _categories(self._dataset, self._columns)
        self._drop_first = drop_first
        self.feature_names = _feature_names(self._columns, self.categories, drop_first)
        super().__init__(self._batches, reiterable=True)

    def _batches(self):
        report = ScanReport()
        progress = _progress(self) if self.verbose else None
        for batch in self._record_batches():
            if batch.num_rows == 0:
                continue
            chunk = self._to_chunk(batch, report)
            if progress is not None:
                progress.update(batch.num_rows)
            if chunk.n_rows:
                yield chunk
        if progress is not None:
            progress.close()
        self.report = report

    def _record_batches(self):
        """Arrow record batches of the used columns, ``batch_rows`` rows at most."""
        columns = self._columns.used()
        if self.file_format == "csv":
            # One file and two batches ahead (pyarrow's defaults: 4 files, 16
            # batches). The scanner queues batches a slower consumer has not
            # taken yet (see _parquet_batches); CSV parsing is usually slower
            # than the map, so the queue stays short -- not measured at scale.
            return self._dataset.to_batches(
                columns=columns, batch_size=self.batch_rows, batch_readahead=2, fragment_readahead=1,
            )
        return _read_ahead(_parquet_batches(self.paths, columns, self.batch_rows))

    def _to_chunk(self, batch, report):
        cols = self._columns
        report.rows_read += batch.num_rows
        keep = _complete_rows(batch, cols.used(), self.missing, report)
        if keep is not None:
            batch = batch.filter(keep)
        X = self._design(batch)
        y = _numeric(batch.column(cols.target)) if cols.target else None
        w = _numeric(batch.column(cols.weight)) if cols.weight else None
        labels = {key: _label_values(batch, col) for key, col in cols.labels.items()
                  if col is not None}
        frame = pd.DataFrame(X, columns=self.feature_names, copy=False)
        return Chunk(frame, y, w, labels)

    def _design(self, batch):
        """``X`` as the transpose of one (features, rows) buffer filled column by column.

        Each column is one contiguous copy out of Arrow (no per-column
        arrays stacked afterwards), and the Gram map reads the column-major
        ``X`` in contiguous column segments.
        """
        buffer = np.empty((len(self.feature_names), batch.num_rows))
        row = 0
        for name in self._columns.features:
            values = batch.column(name)
            if name in self.categories:
                row += _one_hot_into(buffer[row:], values, self.categories[name], name, self._drop_first)
            else:
                buffer[row] = values.to_numpy(zero_copy_only=False)  # cast in place
                row += 1
        return buffer.T


def _open_dataset(paths, file_format, schema=None):
    try:
        import pyarrow.dataset as ds
    except ImportError as exc:  # pragma: no cover - depends on the extra
        raise ImportError("Reading parquet/CSV needs pyarrow: pip install 'skbigreg[parquet]'.") from exc
    return ds.dataset(paths, format=file_format, schema=schema)


def _categories(dataset, columns):
    import pyarrow.compute as pc

    declared = columns.categorical
    if not declared:
        return {}
    if isinstance(declared, dict):
        return {name: list(levels) for name, levels in declared.items()}
    found = {name: set() for name in declared}
    for batch in dataset.to_batches(columns=list(declared)):
        for name in declared:
            found[name].update(v for v in pc.unique(batch.column(name)).to_pylist() if v is not None)
    return {name: sorted(levels, key=str) for name, levels in found.items()}


def _feature_names(columns, categories, drop_first):
    names = []
    for name in columns.features:
        if name in categories:
            levels = categories[name][1:] if drop_first else categories[name]
            names.extend(f"{name}[{level}]" for level in levels)
        else:
            names.append(name)
    return names


# Bytes per read from a parquet file: column chunks are streamed through a
# buffer this size instead of being read whole (a row group at a time).
_READ_BUFFER = 2**20


def _parquet_batches(paths, columns, batch_rows, read_dictionary=None):
    """Record batches of ``columns`` from each file in turn, read only when asked.

    Pull-based on purpose: pyarrow's dataset scanner keeps decoding ahead of a
    slower consumer whatever its readahead settings (360 MB queued after 60
    batches of 65,536 x 21 at 30 ms each, and growing), so its memory grew
    with the time the map took, not with ``batch_rows``.
    """
    import pyarrow.parquet as pq

    for path in paths:
        with pq.ParquetFile(path, pre_buffer=False, buffer_size=_READ_BUFFER,
                            read_dictionary=read_dictionary) as reader:
            yield from reader.iter_batches(batch_size=batch_rows, columns=columns)


def _read_ahead(batches):
    """Yield from ``batches`` while the next item is read in a background thread.

    Exactly one read is in flight (pyarrow decodes without the GIL), so the
    read overlaps the map of the previous batch and memory stays bounded.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="skbigreg-read") as pool:
        pending = pool.submit(next, batches, None)
        while (batch := pending.result()) is not None:
            pending = pool.submit(next, batches, None)
            yield batch


def _complete_rows(batch, names, missing, report):
    """Boolean mask of rows with no null/NaN in the used columns (None: all complete).

    With ``missing="raise"`` only the nulls counted in the batch metadata are
    checked here (free); a NaN reaches the estimator, whose finiteness check
    (read off the chunk's statistics) raises ``Input X contains NaN``.
    """
    import pyarrow.compute as pc

    bad = None
    for name in names:
        values = batch.column(name)
        if missing == "raise":
            if values.null_count:
                raise ColumnError(None, name, f"has {values.null_count} missing value(s) in a batch",
                                  remedy="missing")
            continue
        invalid = pc.is_null(values, nan_is_null=True)
        count = pc.sum(invalid).as_py() or 0
        if count == 0:
            continue
        report.dropped_by_column[name] = report.dropped_by_column.get(name, 0) + count
        bad = invalid if bad is None else pc.or_(bad, invalid)
    if bad is None:
        return None
    report.rows_dropped += pc.sum(bad).as_py()
    return pc.invert(bad)


def _numeric(values):
    """A float64 column; zero-copy (read-only) when Arrow already holds float64 without nulls."""
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)


def _one_hot_into(out, values, levels, name, drop_first):
    """Write the dummies of ``values`` into the first rows of ``out`` (one row per
    kept level); return how many rows were written."""
    import pyarrow as pa
    import pyarrow.compute as pc

    codes = pc.index_in(values, value_set=pa.array(levels, type=values.type))
    if codes.null_count:
        first = values.filter(pc.is_null(codes))[0].as_py()
        raise ValueError(f"Column {name!r} has level {first!r}, not among its categories {levels}.")
    codes = codes.to_numpy()
    width = len(levels) - (1 if drop_first else 0)
    dummies = out[:width]
    dummies[:] = 0.0
    if drop_first:
        kept = codes > 0
        dummies[codes[kept] - 1, np.flatnonzero(kept)] = 1.0
    else:
        dummies[codes, np.arange(len(codes))] = 1.0
    return width


def _progress(source):
    try:
        from tqdm.auto import tqdm
    except ImportError as exc:  # pragma: no cover - depends on the extra
        raise ImportError("verbose progress bars need tqdm: pip install 'skbigreg[progress]'.") from exc
    total = source._dataset.count_rows() if source.file_format == "parquet" else None
    return tqdm(total=total, unit=" rows", unit_scale=True, desc="skbigreg")

