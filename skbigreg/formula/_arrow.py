"""Encoding a chunk straight from Arrow, as the pandas path would encode it.

Files and Arrow tables arrive as record batches. Converting a whole batch
to pandas (strings above all) and looking the levels up in pandas cost
more than the statistics; here a batch is encoded in Arrow instead:
missing values are found with ``is_null`` (NaN counted, as pandas' ``isna``),
level codes come from ``index_in`` against the frozen levels (on the
dictionary alone when the column is read dictionary-encoded, then taken by
the indices), and numeric columns are copied out of Arrow into the design
block. Only column types whose values pandas would give unchanged take
this path (numbers, booleans, strings, dictionaries of strings); a batch
with any other type goes through pandas, whole.
"""

from __future__ import annotations

import numpy as np

_NUMERIC = "numeric"   # copied into the design, the response or the weights
_LABEL = "label"       # row labels: read as they are
CODED = "coded"       # only looked up in the frozen levels


def record_batch(frame):
    """``frame`` (a RecordBatch or Table) as one RecordBatch, or None if it cannot be one."""
    import pyarrow as pa

    if isinstance(frame, pa.RecordBatch):
        return frame
    try:
        batches = frame.combine_chunks().to_batches()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return batches[0] if len(batches) == 1 else None


def column_uses(spec):
    """What each used column of ``spec`` is read for: numeric, label or coded."""
    plan = spec._plan
    uses = {column: CODED for column in spec.levels}
    uses.update({column: _LABEL for column in _role_label_columns(spec.roles)})
    # columns read as values: the numeric ones, and categorical ones the numpy plan reads
    numeric = [column for column in spec.variables if column not in spec.levels]
    if plan is not None:
        numeric += [column for _, column in plan.lookups] + plan.numeric_columns
    weight = spec.roles.get("sample_weight")
    uses.update({column: _NUMERIC for column in numeric + ([weight] if weight else [])})
    return uses


def _role_label_columns(roles):
    return [column for role, given in roles.items() if role != "sample_weight"
            for column in (given if isinstance(given, (list, tuple)) else [given])]


def arrow_ready(batch, uses, coded):
    """Can ``batch`` be encoded in Arrow with the same values pandas would give?"""
    import pyarrow as pa

    for field in batch.schema:
        use = uses.get(field.name)
        if use is None:
            continue
        kind = field.type
        if pa.types.is_dictionary(kind):
            if field.name not in coded or not _is_string(kind.value_type):
                return False
        elif use == _NUMERIC:
            if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)
                    or pa.types.is_boolean(kind)):
                return False
        elif not (pa.types.is_integer(kind) or pa.types.is_floating(kind)
                  or pa.types.is_boolean(kind) or _is_string(kind)):
            return False
    return True


def value_sets(batch, levels):
    """Each categorical column's frozen levels as an Arrow array of its type, or None.

    None when some levels do not convert to the column's type (declared
    strings for a numeric column): the pandas path then decides.
    """
    import pyarrow as pa

    found = {}
    for column, values in levels.items():
        if column not in batch.schema.names:
            continue
        kind = batch.schema.field(column).type
        kind = kind.value_type if pa.types.is_dictionary(kind) else kind
        try:
            found[column] = pa.array(values, type=kind)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError,
                OverflowError):
            return None
    return found


def missing_counts(batch, columns):
    """Missing values per column (null, or NaN as pandas counts it) and the rows with any.

    Returns ``(counts, bad)``: ``counts`` in ``columns`` order, ``bad`` a
    boolean mask of rows, or None when nothing is missing.
    """
    import pyarrow.compute as pc

    counts, bad = {}, None
    for column in columns:
        array = batch.column(column)
        if array.null_count == 0 and not _may_hold_nan(array.type):
            continue
        isna = pc.is_null(array, nan_is_null=True)
        count = pc.sum(isna).as_py() or 0
        if count:
            counts[column] = count
            mask = isna.to_numpy(zero_copy_only=False)
            bad = mask if bad is None else bad | mask
    return counts, bad


def _may_hold_nan(kind):
    import pyarrow as pa

    return pa.types.is_floating(kind)


def level_codes(array, value_set):
    """Position of each value of ``array`` among the levels ``value_set``; -1 when absent."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(array.type):  # look the few distinct values up, then take
        lookup = pc.index_in(array.dictionary, value_set=value_set).fill_null(-1)
        lookup = lookup.to_numpy(zero_copy_only=False).astype(np.intp, copy=False)
        indices = array.indices.fill_null(0).to_numpy(zero_copy_only=False)
        return lookup[indices]
    found = pc.index_in(array, value_set=value_set).fill_null(-1)
    return found.to_numpy(zero_copy_only=False).astype(np.intp, copy=False)


def first_value(array, mask):
    """The first value of ``array`` where ``mask`` holds, as a Python value."""
    import pyarrow as pa

    return array.filter(pa.array(mask))[0].as_py()


def label(batch, given):
    """A role's labels from a batch: the values pandas would give (a table for a list)."""
    if isinstance(given, (list, tuple)):
        return batch.select(list(given)).to_pandas()
    return batch.column(given).to_numpy(zero_copy_only=False)


def numbers(array):
    """A numeric Arrow column as float64 (a copy only where the type is not float64)."""
    return np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.float64)


def decoded(batch):
    """``batch`` with dictionary columns decoded to their values (for the pandas path)."""
    import pyarrow as pa

    if not any(pa.types.is_dictionary(field.type) for field in batch.schema):
        return batch
    arrays = [_decode(column) if pa.types.is_dictionary(column.type) else column
              for column in batch.columns]
    return type(batch).from_arrays(arrays, names=batch.schema.names)


def _decode(column):
    import pyarrow as pa

    if isinstance(column, pa.ChunkedArray):
        return pa.chunked_array([chunk.dictionary_decode() for chunk in column.chunks],
                                type=column.type.value_type)
    return column.dictionary_decode()


def _is_string(kind):
    """Strings Arrow's ``index_in`` reads (it has no kernel for ``string_view``)."""
    import pyarrow as pa

    return pa.types.is_string(kind) or pa.types.is_large_string(kind)
