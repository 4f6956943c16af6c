"""Machine description shared by the benchmark scripts (run as ``python benchmarks/<script>.py``)."""

from __future__ import annotations

import contextlib
import os
import platform
import time
from pathlib import Path


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def busy_cores(seconds: float = 1.0) -> float | None:
    """Cores' worth of CPU time used by all processes over ``seconds`` (from /proc/stat), or None."""
    def sample():
        fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        return sum(fields[:8]), fields[3] + fields[4]  # total (guest time is inside user), idle + iowait

    try:
        (t0, i0), _ = sample(), time.sleep(seconds)
        t1, i1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    return (1 - (i1 - i0) / max(t1 - t0, 1)) * (os.cpu_count() or 1)


@contextlib.contextmanager
def worker_pool(workers: int):
    """A spawned process pool of ``workers`` workers, each on one thread (XLA and BLAS) when there are several,
    so that one worker per core does not oversubscribe the cores with the libraries' own thread pools."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from fieldlab.bench.executors import cell_env, environment

    with environment(cell_env(1, 0) if workers > 1 else {}), \
            ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        yield pool


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def write_keeping(page: Path, text: str, *keep: str) -> None:
    """Write a generated results page, keeping the old page from the first of the ``keep`` markers found
    (a hand-written reading, another script's section) to its end: the scripts regenerate only their part."""
    page = Path(page)
    old = page.read_text() if page.exists() else ""
    starts = [old.index(m) for m in keep if m in old]
    page.write_text(text.rstrip("\n") + "\n" + ("\n" + old[min(starts):] if starts else ""))
