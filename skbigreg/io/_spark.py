"""Spark DataFrames as sources of rows: the columns a fit reads, checked on the driver.

The drivers in :mod:`skbigreg.parallel` map each partition to statistics on
the executors (``mapInArrow``); only the statistics come back to the driver.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._chunks import LABEL_NAMES

# Spark SQL types whose values are numbers (checked by name: no pyspark import).
_NUMERIC_TYPES = frozenset({
    "ByteType", "ShortType", "IntegerType", "LongType", "FloatType", "DoubleType",
    "DecimalType", "BooleanType",
})


def is_spark_dataframe(obj):
    """True for a ``pyspark.sql.DataFrame`` (classic or Connect), without importing pyspark."""
    return type(obj).__module__.startswith("pyspark.sql") and type(obj).__name__ == "DataFrame"


@dataclass(frozen=True)
class SparkSource:
    """A Spark DataFrame and the roles of its columns, from :func:`read_spark`.

    ``features`` are the design's columns, in order; ``target`` the response;
    ``sample_weight`` and each row label (``clusters``, ``partitions``,
    ``groups``, ``entities``, ``periods``: one column each) optional column
    names.
    """

    frame: object
    target: str
    features: tuple
    sample_weight: str | None = None
    clusters: str | None = None
    partitions: str | None = None
    groups: str | None = None
    entities: str | None = None
    periods: str | None = None

    @property
    def feature_names(self):
        return list(self.features)

    @property
    def labels(self):
        """``{label name: column}`` of the row labels the source has."""
        return {name: getattr(self, name) for name in LABEL_NAMES
                if getattr(self, name) is not None}

    def columns(self, labels=None):
        """The columns the map reads, in order: features, target, weight, ``labels``.

        ``labels`` names the row labels to read (default: all the source has).
        """
        labels = self.labels if labels is None else labels
        weight = [] if self.sample_weight is None else [self.sample_weight]
        return [*self.features, self.target, *weight, *(self.labels[name] for name in labels)]

    def selected(self, labels=None):
        """The frame reduced to :meth:`columns`, in order.

        The columns are first renamed by position (``toDF``) to plain
        ``_c<i>`` names, so a user's column name is never parsed by Spark.
        """
        position = {name: i for i, name in enumerate(self.frame.columns)}
        plain = self.frame.toDF(*[f"_c{i}" for i in range(len(position))])
        return plain.select(*[f"_c{position[name]}" for name in self.columns(labels)])


def read_spark(frame, target, features=None, sample_weight=None, clusters=None, *,
               partitions=None, groups=None, entities=None, periods=None):
    """A Spark DataFrame as a source for ``fit_chunks``: statistics computed on the executors.

    Each partition is mapped to the model's statistics where it lives (with
    ``mapInArrow``); only those -- ``K x K`` numbers, and per-cluster,
    per-fold or per-level ones where the model keeps them -- travel to the
    driver, which merges them. Multi-pass fits (HC errors, IRLS) map the
    partitions again at the current coefficients. Every cumulative
    estimator's ``fit_chunks`` takes the source (see :ref:`scaling_out`).

    Parameters
    ----------
    frame : pyspark.sql.DataFrame
    target : str
        The response column.
    features : list of str, optional
        Feature columns, in order; by default every column that has no
        other role.
    sample_weight : str, optional
        Column of non-negative row weights.
    clusters : str, optional
        Column of cluster labels (numbers or strings), for ``cov_type="cluster"``.
    partitions, groups, entities, periods : str, optional
        Columns of the other row labels (numbers or strings), with their
        one meaning each: natural blocks (grouped models), cross-validation
        groups, the absorbed factor's levels, time periods.

    Returns
    -------
    SparkSource

    Raises
    ------
    ValueError
        A named column that the frame does not have, a feature, target or
        weight column that is not numeric, or a column given two roles.

    Examples
    --------
    >>> from skbigreg.io import read_spark
    >>> read_spark("not a frame", target="y")
    Traceback (most recent call last):
    ...
    TypeError: read_spark needs a pyspark.sql.DataFrame, got str.
    """
    if not is_spark_dataframe(frame):
        raise TypeError(f"read_spark needs a pyspark.sql.DataFrame, got {type(frame).__name__}.")
    types = {field.name: type(field.dataType).__name__ for field in frame.schema.fields}
    if len(types) != len(frame.schema.fields):
        raise ValueError("The Spark DataFrame has two columns of one name: rename one.")
    roles = {"target": target, "sample_weight": sample_weight, "clusters": clusters,
             "partitions": partitions, "groups": groups, "entities": entities,
             "periods": periods}
    for role, name in roles.items():
        if name is not None and name not in types:
            raise ValueError(f"The Spark DataFrame has no column {name!r} (the {role}).")
    others = {name for name in roles.values() if name is not None}
    if features is None:
        features = [name for name in types if name not in others]
    features = [str(name) for name in features]
    if not features:
        raise ValueError("read_spark needs at least one feature column.")
    for name in features:
        if name not in types:
            raise ValueError(f"The Spark DataFrame has no column {name!r} (a feature).")
        if name in others:
            raise ValueError(f"Column {name!r} is both a feature and another role.")
    if len(set(features)) != len(features):
        raise ValueError("A feature column is named twice.")
    if len(others) != sum(name is not None for name in roles.values()):
        raise ValueError("One column is given two roles among the target, the weights and "
                         "the row labels.")
    for name in [*features, target, *([sample_weight] if sample_weight else [])]:
        if types[name] not in _NUMERIC_TYPES:
            raise ValueError(f"Column {name!r} has Spark type {types[name]}, not a number.")
    return SparkSource(frame, target, tuple(features), sample_weight, clusters, partitions,
                       groups, entities, periods)
