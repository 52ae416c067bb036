"""Timing helpers shared by the benchmarks: medians of repeated runs and one report line."""

from __future__ import annotations

import gc
import statistics
import time


def median_time(func, repeat):
    """Median wall time of ``repeat`` calls of ``func`` (garbage collected before each)."""
    return median_time_and_result(func, repeat)[0]


def median_time_and_result(func, repeat):
    """:func:`median_time`, and what the last call returned (to check the answers)."""
    times = []
    for _ in range(repeat):
        result = None  # the previous run's result is freed before the next run
        gc.collect()
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def median_times(funcs, repeat):
    """Median wall time of each function, the runs interleaved (a change of load hits all)."""
    times = {func.__name__: [] for func in funcs}
    for _ in range(repeat):
        for func in funcs:
            gc.collect()
            start = time.perf_counter()
            func()
            times[func.__name__].append(time.perf_counter() - start)
    return [statistics.median(found) for found in times.values()]


def report(name, ours, theirs, target=None):
    """Print ``theirs / ours`` (above 1: ours is faster), with the target's verdict."""
    ratio = theirs / ours
    verdict = "" if target is None else f"  (target >= {target:g}x: {'met' if ratio >= target else 'MISSED'})"
    print(f"  {name:<60} ours {ours:8.3f} s  theirs {theirs:8.3f} s  {ratio:7.2f}x{verdict}")
