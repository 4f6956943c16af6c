"""A bench worker that dies on its first attempt at each cell, for the local pool's test (a module of
its own, so that the pool's workers import nothing heavy to unpickle it)."""

import os
from pathlib import Path


def crash_once(spec, cell):
    marker = Path(os.environ["FIELDLAB_TEST_MARKERS"]) / cell.key
    if not marker.exists():
        marker.write_text("x")
        os._exit(1)
    return {"key": cell.key, "status": "ok", "xla": os.environ.get("XLA_FLAGS"), "omp": os.environ.get("OMP_NUM_THREADS")}, None
