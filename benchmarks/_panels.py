"""What the out-of-core panel benchmarks share (bench_hdfe, bench_fepois).

Each writes its panel's columns to raw files once, times every fit in its
own child process (so the peak RSS is that fit's alone) with the runs of
ours and pyfixest's interleaved, and prints the medians side by side.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys

import numpy as np


def write_columns(folder, columns, dtypes):
    """Write each column of ``columns`` (name -> array) to ``folder/name.bin``."""
    for name, values in columns.items():
        values.astype(dtypes[name]).tofile(folder / f"{name}.bin")


def read_rows(folder, dtypes, names, start, count):
    """Rows ``start:start + count`` of the columns ``names``, read from their files."""
    return {name: np.fromfile(folder / f"{name}.bin", dtype=dtypes[name], count=count,
                              offset=start * np.dtype(dtypes[name]).itemsize)
            for name in names}


def print_child_result(result):
    """A child's last line: its result and its peak RSS, as JSON."""
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def in_child(script, arguments):
    """Run ``script`` with ``arguments`` in a fresh process; its JSON result."""
    out = subprocess.run([sys.executable, script, *map(str, arguments)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def print_medians(runs):
    """Median seconds and peak RSS of ours and pyfixest's runs, and their ratios."""
    print(f"{'':10s} {'seconds':>9s} {'peak RSS MB':>12s} {'passes':>7s}")
    summary = {}
    for which, results in runs.items():
        seconds = float(np.median([r["seconds"] for r in results]))
        rss = float(np.median([r["peak_rss_mb"] for r in results]))
        summary[which] = (seconds, rss)
        print(f"{which:10s} {seconds:9.2f} {rss:12.0f} {str(results[0]['passes']):>7s}")
    (t_ours, m_ours), (t_pf, m_pf) = summary["ours"], summary["pyfixest"]
    print(f"time ours / pyfixest = {t_ours / t_pf:.2f}; peak RSS ours / pyfixest = {m_ours / m_pf:.3f}")
