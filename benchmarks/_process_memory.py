"""Peak memory of this process and every process it started (Spark's JVM, Python workers).

Linux only (``/proc``). Each process's peak resident set is its kernel
high-water mark (``VmHWM``), so a peak between two samples is not missed;
:meth:`ProcessTreePeaks.reset` sets every mark back to the current RSS
(``/proc/<pid>/clear_refs``), so one measurement covers one fit. A sampler
thread (every ``interval`` seconds) walks the process tree, so processes
started during the fit (forked Python workers) are found, and records the
largest *sum* of current RSS per kind of process (summed RSS counts pages
that forked workers share with their parent once per process: an upper
bound on what they really use together).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field

import psutil

MIB = 2 ** 20
KINDS = ("driver (Python)", "JVM", "Python workers")


def _kind(proc, root_pid):
    """``"driver (Python)"``, ``"JVM"`` or ``"Python workers"`` (None: not counted)."""
    if proc.pid == root_pid:
        return KINDS[0]
    try:
        name = proc.name()
    except psutil.Error:
        return None
    if name == "java":
        return KINDS[1]
    return KINDS[2] if name.startswith("python") else None


def _high_water_mark(pid):
    """``VmHWM`` of ``pid`` in bytes (0 if the process is gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _clear_high_water_mark(pid):
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        pass


@dataclass
class Peaks:
    """Per kind of process: the largest single-process peak, and the largest summed RSS."""

    process: dict = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    total: dict = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    count: dict = field(default_factory=lambda: dict.fromkeys(KINDS, 0))

    def line(self):
        return "  ".join(
            f"{kind} {self.process[kind] / MIB:5.0f} MiB"
            + (f" (max of {self.count[kind]}, sum <= {self.total[kind] / MIB:4.0f})"
               if kind == KINDS[2] else "")
            for kind in KINDS)


class ProcessTreePeaks:
    """Context manager measuring :class:`Peaks` of this process's tree while it is open."""

    def __init__(self, interval=0.2):
        self.interval = interval
        self.root = psutil.Process(os.getpid())
        self.peaks = Peaks()
        self._seen = set()
        self._stop = threading.Event()

    def _tree(self):
        try:
            return [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return [self.root]

    def reset(self):
        for proc in self._tree():
            _clear_high_water_mark(proc.pid)

    def _sample(self):
        totals = dict.fromkeys(KINDS, 0)
        for proc in self._tree():
            kind = _kind(proc, self.root.pid)
            if kind is None:
                continue
            try:
                rss = proc.memory_info().rss
            except psutil.Error:
                continue
            self._seen.add((kind, proc.pid))
            totals[kind] += rss
            mark = max(_high_water_mark(proc.pid), rss)
            self.peaks.process[kind] = max(self.peaks.process[kind], mark)
        for kind in KINDS:
            self.peaks.total[kind] = max(self.peaks.total[kind], totals[kind])

    def _run(self):
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self):
        self.reset()
        self._sample()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self.peaks

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()
        for kind in KINDS:
            self.peaks.count[kind] = sum(seen == kind for seen, _ in self._seen)
        return False
