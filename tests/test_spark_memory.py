"""The low-memory Spark configuration: its sizes checked against a real JVM, and a fit with it.

The fast tests check the settings and the smallest heap against the JVM's
own ``Runtime.maxMemory()`` (the value Spark's ``UnifiedMemoryManager``
checks). The slow test starts a fresh Spark with the settings in a
subprocess (the test session's JVM is already running), fits on it, and
compares with the local fit and the JVM's peak resident set.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from skbigreg.io import spark_low_memory_config
from skbigreg.io._spark_memory import LOW_MEMORY_JAVA_OPTIONS, SPARK_MIN_HEAP

needs_java = pytest.mark.skipif(shutil.which("java") is None, reason="needs java on PATH")

_MAX_MEMORY = "public class M { public static void main(String[] a) { " \
              "System.out.println(Runtime.getRuntime().maxMemory()); } }"


def _jvm_max_memory(tmp_path, heap, options):
    """``Runtime.maxMemory()`` of a JVM started with ``-Xmx<heap>`` and ``options``."""
    source = tmp_path / "M.java"
    source.write_text(_MAX_MEMORY)
    out = subprocess.run(["java", *options, f"-Xmx{heap}", str(source)],
                         capture_output=True, text=True, check=True, timeout=120)
    return int(out.stdout.strip())


def test_the_settings_name_the_heap_and_the_options_for_driver_and_executors():
    config = spark_low_memory_config("1g", java_options=["-Xss512k"])
    assert config["spark.driver.memory"] == "1g"
    assert config["spark.ui.enabled"] == "false"
    options = config["spark.driver.extraJavaOptions"].split()
    assert options == [*LOW_MEMORY_JAVA_OPTIONS, "-Xss512k"]  # the user's last: it wins
    assert config["spark.executor.extraJavaOptions"] == config["spark.driver.extraJavaOptions"]
    assert spark_low_memory_config(java_options="-Xss512k -Da=b")[
        "spark.driver.extraJavaOptions"].endswith("-Xss512k -Da=b")


@pytest.mark.parametrize("memory", ["400m", "453m", "0.5g", "lots", "-512m", 300])
def test_a_heap_spark_refuses_or_not_a_size_is_a_value_error_naming_memory(memory):
    with pytest.raises(ValueError, match="memory="):
        spark_low_memory_config(memory)


@needs_java
def test_the_smallest_accepted_heap_passes_sparks_check_in_a_real_jvm(tmp_path):
    # Spark compares Runtime.maxMemory() with 1.5 x its 300 MiB reserve.
    assert SPARK_MIN_HEAP == int(1.5 * 300 * 2 ** 20)
    config = spark_low_memory_config("454m")  # the smallest accepted
    options = [o for o in config["spark.driver.extraJavaOptions"].split() if o.startswith("-XX:")]
    assert _jvm_max_memory(tmp_path, "454m", options) >= SPARK_MIN_HEAP
    # ... and the serial collector's maxMemory() really is the heap less a survivor space:
    assert _jvm_max_memory(tmp_path, "450m", options) < SPARK_MIN_HEAP


_FIT_ON_LOW_MEMORY_SPARK = r"""
import json, os, sys, psutil
import numpy as np
import pandas as pd
from pyspark.sql import SparkSession
from skbigreg.io import read_spark, spark_low_memory_config
from skbigreg.linear_model import CumulativeLinearRegression

rng = np.random.default_rng(0)
n = 200_000
frame = pd.DataFrame(rng.standard_normal((n, 3)), columns=["a", "b", "c"])
frame["y"] = frame @ np.array([1.0, -2.0, 0.5]) + rng.standard_normal(n)
spark = (SparkSession.builder.master("local[2]")
         .config(map=spark_low_memory_config()).getOrCreate())
sdf = spark.createDataFrame(frame).repartition(4)
fit = CumulativeLinearRegression(cov_type="HC1").fit_chunks(
    read_spark(sdf, target="y", features=["a", "b", "c"]))
jvm = [p for p in psutil.Process().children(recursive=True) if p.name() == "java"][0]
with open(f"/proc/{jvm.pid}/status") as status:
    hwm = [int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:")][0]
results = fit.results()
print(json.dumps({"params": results.params.tolist(), "bse": results.bse.tolist(),
                  "jvm_peak": hwm}))
spark.stop()
"""


@pytest.mark.slow
@needs_java
def test_a_fit_on_a_low_memory_spark_equals_the_local_fit_in_a_small_jvm():
    pytest.importorskip("pyspark")
    import pandas as pd
    import statsmodels.api as sm

    import skbigreg

    env = {"PYSPARK_PYTHON": sys.executable,
           "PYTHONPATH": str(Path(skbigreg.__file__).parent.parent)}
    out = subprocess.run([sys.executable, "-c", _FIT_ON_LOW_MEMORY_SPARK],
                         capture_output=True, text=True, timeout=600,
                         env={**os.environ, **env}, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.standard_normal((200_000, 3)), columns=["a", "b", "c"])
    y = X @ np.array([1.0, -2.0, 0.5]) + rng.standard_normal(200_000)
    oracle = sm.OLS(y, sm.add_constant(X)).fit(cov_type="HC1")
    np.testing.assert_allclose(result["params"], oracle.params, rtol=1e-9)
    np.testing.assert_allclose(result["bse"], oracle.bse, rtol=1e-8)
    assert result["jvm_peak"] < 512 * 2 ** 20
