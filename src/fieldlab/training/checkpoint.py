"""Checkpoints: arrays in ``.npz`` plus JSON metadata with a SHA-256 checksum. No pickle.

Every file is written to a temporary name and renamed, so a crash never leaves a half-written
file. The arrays go to ``checkpoint-<step>.npz``; ``checkpoint.json`` names the current one and is
replaced last, so it always points to a complete array file. Older array files are removed after.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FieldlabError

META = "checkpoint.json"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def save(directory: Path, arrays: dict[str, list[np.ndarray]], meta: dict[str, Any]) -> Path:
    """Save groups of arrays (``{"theta": [...], "opt": [...]}``) and metadata; returns the npz path."""
    directory = Path(directory)
    flat = {f"{group}_{i:05d}": np.asarray(a) for group, items in arrays.items() for i, a in enumerate(items)}
    buf = io.BytesIO()
    np.savez(buf, **flat)
    data = buf.getvalue()
    name = f"checkpoint-{int(meta['step'])}.npz"
    atomic_write_bytes(directory / name, data)
    full = {**meta, "arrays": name, "sha256": hashlib.sha256(data).hexdigest(),
            "groups": {g: len(v) for g, v in arrays.items()}}
    atomic_write_text(directory / META, json.dumps(full, indent=2))
    for old in directory.glob("checkpoint-*.npz"):
        if old.name != name:
            old.unlink(missing_ok=True)
    return directory / name


def load(directory: Path) -> tuple[dict[str, list[np.ndarray]], dict[str, Any]]:
    """Load the arrays and metadata saved by :func:`save`, verifying the checksum."""
    directory = Path(directory)
    meta_path = directory / META
    if not meta_path.exists():
        raise FieldlabError(f"{directory} holds no checkpoint ({META} is missing); is it a fieldlab run directory?")
    try:
        meta = json.loads(meta_path.read_text())
        data = (directory / meta["arrays"]).read_bytes()
    except (OSError, KeyError, json.JSONDecodeError) as e:
        raise FieldlabError(f"the checkpoint in {directory} cannot be read ({e}); it may be damaged.") from None
    if hashlib.sha256(data).hexdigest() != meta["sha256"]:
        raise FieldlabError(f"the checkpoint in {directory} fails its checksum; the file is damaged.")
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        arrays = {g: [z[f"{g}_{i:05d}"] for i in range(n)] for g, n in meta["groups"].items()}
    return arrays, meta
