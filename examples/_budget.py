"""Shared by the example scripts: the step budget and the output folder, from the environment.

``FIELDLAB_EXAMPLE_STEPS`` scales each script's training budget down (the tests use a few dozen
steps so that every script runs in seconds); ``FIELDLAB_EXAMPLE_OUT`` is the folder the scripts
write to (default ``examples-out/``).
"""

import os
from pathlib import Path


def steps(default: int) -> int:
    """The training budget: ``FIELDLAB_EXAMPLE_STEPS`` if set, else ``default``."""
    return int(os.environ.get("FIELDLAB_EXAMPLE_STEPS", default))


def out_dir(name: str) -> Path:
    """A fresh output folder ``$FIELDLAB_EXAMPLE_OUT/name`` (an earlier one is replaced)."""
    import shutil

    path = Path(os.environ.get("FIELDLAB_EXAMPLE_OUT", "examples-out")) / name
    if path.exists():
        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
