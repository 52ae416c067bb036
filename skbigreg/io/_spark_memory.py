"""Spark settings that keep Spark's JVM small: a low-memory configuration, measured.

In local mode one JVM is Spark's driver and its executors. With Spark's
defaults its resident set is its whole heap (G1 commits all of
``spark.driver.memory`` and fills it before it collects) plus G1's own
tables, class metadata, compiled code, and a cache of NIO direct buffers as
large as the largest file read so far (one per reading thread). The
settings here bound each of those; class metadata (about 150 MiB for
Spark's 21,000 classes) and the heap the fit really uses stay.
``benchmarks/bench_spark.py --memory --low-memory`` measures them.
"""

from __future__ import annotations

import re

MIB = 2 ** 20

#: Spark refuses a JVM whose ``Runtime.maxMemory()`` is below 1.5 x the 300 MiB it
#: reserves (``UnifiedMemoryManager.getMaxMemory``, error ``INVALID_DRIVER_MEMORY``).
SPARK_MIN_HEAP = 450 * MIB

#: The young generation's cap. The serial collector's ``maxMemory()`` is the
#: heap less one survivor space (a tenth of the young generation), which
#: counts against :data:`SPARK_MIN_HEAP`.
_YOUNG = 32 * MIB

#: Each option's reason, in the order given to the JVM.
LOW_MEMORY_JAVA_OPTIONS = (
    # One-thread collector: no G1 regions and remembered sets (about 60 MiB on
    # a 512 MiB heap), and a heap that is committed only as it is needed.
    "-XX:+UseSerialGC",
    "-Xms32m",
    # Eden is touched whole between two collections: keep it small.
    f"-XX:MaxNewSize={_YOUNG // MIB}m",
    # Give back heap after a full collection instead of keeping it committed.
    "-XX:MinHeapFreeRatio=10",
    "-XX:MaxHeapFreeRatio=20",
    # Reading a file into a heap buffer goes through a temporary direct buffer
    # that the JDK caches per thread at its largest size (a whole Parquet
    # column chunk, tens of MiB per task thread): cache only small ones.
    "-Djdk.nio.maxCachedBufferSize=262144",
    # The client compiler only: no C2 compiler arenas and a smaller code cache.
    "-XX:TieredStopAtLevel=1",
)

_SIZE = re.compile(r"^\s*(\d+)\s*([kmgt]?)b?\s*$", re.IGNORECASE)
_UNIT = {"": MIB, "k": 2 ** 10, "m": MIB, "g": 2 ** 30, "t": 2 ** 40}


def _size_bytes(memory):
    """Bytes of a Spark memory size (``"512m"``, ``"1g"``; a bare number is MiB, as in Spark)."""
    match = _SIZE.match(str(memory))
    if match is None:
        raise ValueError(f"memory={memory!r} is not a Spark memory size such as '512m' or '1g'.")
    return int(match.group(1)) * _UNIT[match.group(2).lower()]


def spark_low_memory_config(memory="512m", java_options=()):
    """Spark settings for a small JVM: the heap Spark needs, and what it needs around it.

    In local mode Spark's driver and executors share one JVM; with these
    settings its peak resident set stays at the heap the fit really uses
    plus class metadata, instead of the whole heap and G1's tables and a
    cache of direct buffers (see :ref:`scaling_out`). On a cluster the same
    Java options go to each executor's JVM. Give the settings to the
    builder before the JVM starts (the first ``getOrCreate()`` of the
    Python process).

    Parameters
    ----------
    memory : str, default "512m"
        The JVM's largest heap, ``spark.driver.memory`` (a Spark size:
        ``"512m"``, ``"1g"``). The heap is committed only as it is used.
    java_options : sequence of str, default ()
        More JVM options, after the low-memory ones (a later option wins).

    Returns
    -------
    dict
        ``spark.driver.memory``, ``spark.driver.extraJavaOptions``,
        ``spark.executor.extraJavaOptions`` and ``spark.ui.enabled``
        (``"false"``: the web UI's threads and classes).

    Raises
    ------
    ValueError
        ``memory`` is not a size, or is below the smallest heap Spark
        accepts (450 MiB once the serial collector's survivor space is
        taken off).

    Examples
    --------
    >>> from skbigreg.io import spark_low_memory_config
    >>> config = spark_low_memory_config()
    >>> config["spark.driver.memory"]
    '512m'
    >>> "-XX:+UseSerialGC" in config["spark.driver.extraJavaOptions"]
    True

    With pyspark: ``SparkSession.builder.master("local[2]")
    .config(map=spark_low_memory_config()).getOrCreate()``.

    >>> spark_low_memory_config("400m")
    Traceback (most recent call last):
    ...
    ValueError: memory='400m' is below the smallest heap Spark accepts: 450 MiB of Runtime.maxMemory(), which is the heap less one 3.2 MiB survivor space here; ask for at least 454m.
    """
    heap = _size_bytes(memory)
    survivor = _YOUNG / 10
    if heap - survivor < SPARK_MIN_HEAP:
        smallest = -(-(SPARK_MIN_HEAP + survivor) // MIB)
        raise ValueError(
            f"memory={memory!r} is below the smallest heap Spark accepts: "
            f"{SPARK_MIN_HEAP // MIB} MiB of Runtime.maxMemory(), which is the heap less one "
            f"{survivor / MIB:.1f} MiB survivor space here; ask for at least {smallest:.0f}m.")
    if isinstance(java_options, str):
        java_options = java_options.split()
    options = " ".join([*LOW_MEMORY_JAVA_OPTIONS, *java_options])
    return {
        "spark.driver.memory": str(memory),
        "spark.driver.extraJavaOptions": options,
        "spark.executor.extraJavaOptions": options,
        "spark.ui.enabled": "false",
    }
