"""Run directories as small transactional stores: checkpoints, their history, a manifest and a lock. No pickle.

Every file is written to a temporary name (``.NAME.tmpPID``) and renamed, so a crash never leaves a
half-written file; a failed write removes its temporary file and raises one sentence.

A checkpoint is ``checkpoint-<step>.npz`` (the arrays, plus the training history up to that step
as CSV text) and ``checkpoint.json``, the manifest, replaced last: the single commit point. The
manifest records the SHA-256 of the array file, of the run's ``config.toml`` and ``problem.json``
and of its own content, so an edited or damaged file is refused when the run is loaded. The
history is committed with the arrays it belongs to; ``history.csv`` is a copy for people and
plotting tools, rewritten from the checkpoint.

A run is written under :class:`RunLock`, an exclusive ``flock`` on ``.lock`` held by one process for
the whole run; the kernel drops it when that process dies, so a stale lock is simply taken over.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import json
import math
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FieldlabError

META = "checkpoint.json"
CONFIG = "config.toml"
PROBLEM = "problem.json"
HISTORY = "history.csv"
LOCK = ".lock"
MANIFEST_FILES = (CONFIG, PROBLEM)
_HISTORY_KEY = "history_csv"


# -- files -----------------------------------------------------------------------------------------
def os_error_sentence(e: OSError, path: Path | str, verb: str = "write") -> str:
    """One sentence for a failed file operation, with what the user can do about it."""
    if e.errno == errno.ENOSPC or e.errno == errno.EDQUOT:
        return f"cannot {verb} {path}: no space left on the device; free some space and try again."
    if e.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return f"cannot {verb} {path}: {e.strerror or 'permission denied'}; choose a writable location."
    if e.errno == errno.ENOENT:
        return f"cannot {verb} {path}: its directory does not exist; create it or choose another path."
    if e.errno == errno.EISDIR:
        return f"cannot {verb} {path}: it is a directory; give a file name."
    return f"cannot {verb} {path}: {e.strerror or e}; check the path and the disk."


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename; on failure nothing is left behind."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise FieldlabError(os_error_sentence(e, path)) from None
    except BaseException:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def read_text(path: Path, what: str | None = None) -> str:
    """The UTF-8 text of ``path``; a missing, unreadable or non-UTF-8 file is one sentence."""
    path = Path(path)
    what = what or str(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise FieldlabError(os_error_sentence(e, path, "read")) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise FieldlabError(f"{what} is not valid UTF-8 text; the file is damaged (restore it from a copy).") from None


def sha256_file(path: Path) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError as e:
        raise FieldlabError(os_error_sentence(e, path, "read")) from None


def is_temporary(name: str) -> bool:
    """Whether ``name`` is a temporary file of :func:`atomic_write_bytes` (``.NAME.tmpPID``)."""
    if not name.startswith("."):
        return False
    head, sep, pid = name.rpartition(".tmp")
    return bool(sep) and pid.isdigit() and len(head) > 1


def remove_stale_temporaries(directory: Path) -> None:
    """Remove temporary files left in ``directory`` by processes that are no longer alive."""
    for p in Path(directory).iterdir():
        if is_temporary(p.name):
            pid = int(p.name.rpartition(".tmp")[2])
            if pid != os.getpid() and not _alive(pid):
                p.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


# -- history ---------------------------------------------------------------------------------------
def history_csv(rows: list[dict[str, Any]]) -> str:
    """The history rows as CSV text (columns in order of first appearance; floats round-trip exactly)."""
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=keys, restval="", lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def parse_history(text: str, what: str = "the history") -> list[dict[str, Any]]:
    """Rows of :func:`history_csv` text: ``optimizer`` as text, every other value a float (NaN if empty)."""
    try:
        return [{k: (v if k == "optimizer" else float(v) if v != "" else math.nan) for k, v in r.items()}
                for r in csv.DictReader(io.StringIO(text))]
    except (ValueError, TypeError, csv.Error):
        raise FieldlabError(f"{what} is not a readable history table; the file is damaged.") from None


def read_history(path: Path) -> list[dict[str, Any]]:
    """The rows of a ``history.csv`` (empty if there is none)."""
    path = Path(path)
    if not path.exists():
        return []
    return parse_history(read_text(path), str(path))


# -- checkpoints -----------------------------------------------------------------------------------
def _meta_digest(meta: dict[str, Any]) -> str:
    body = {k: v for k, v in meta.items() if k != "meta_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def save(directory: Path, arrays: dict[str, list[np.ndarray]], meta: dict[str, Any],
         history: list[dict[str, Any]] | None = None) -> Path:
    """Save groups of arrays (``{"theta": [...], "opt": [...]}``), metadata and the history up to now.

    The arrays and history go to ``checkpoint-<step>.npz``; ``checkpoint.json`` (the manifest, with
    the checksums of the array file, of ``config.toml`` and ``problem.json`` where present, and of
    itself) is replaced last. ``history.csv`` is rewritten after the commit. Returns the npz path.
    """
    directory = Path(directory)
    flat = {f"{group}_{i:05d}": np.asarray(a) for group, items in arrays.items() for i, a in enumerate(items)}
    text = history_csv(history) if history is not None else None
    if text is not None:
        flat[_HISTORY_KEY] = np.frombuffer(text.encode(), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **flat)
    data = buf.getvalue()
    name = f"checkpoint-{int(meta['step'])}.npz"
    atomic_write_bytes(directory / name, data)
    files = {f: sha256_file(directory / f) for f in MANIFEST_FILES if (directory / f).exists()}
    full = {**meta, "arrays": name, "sha256": hashlib.sha256(data).hexdigest(),
            "groups": {g: len(v) for g, v in arrays.items()}, "history_rows": None if history is None else len(history),
            "files": files}
    full["meta_sha256"] = _meta_digest(full)
    atomic_write_text(directory / META, json.dumps(full, indent=2))
    if text is not None:
        atomic_write_text(directory / HISTORY, text)
    for old in directory.glob("checkpoint-*.npz"):
        if old.name != name:
            old.unlink(missing_ok=True)
    return directory / name


def read_meta(directory: Path) -> dict[str, Any]:
    """The verified manifest ``checkpoint.json`` of ``directory``.

    Checks its own checksum and those of ``config.toml`` and ``problem.json``; any mismatch, or a
    file that cannot be read, is one sentence naming the file.
    """
    directory = Path(directory)
    meta_path = directory / META
    if not meta_path.exists():
        raise FieldlabError(f"{directory} holds no checkpoint ({META} is missing), so it is not a complete fieldlab run directory.")
    text = read_text(meta_path)
    try:
        meta = json.loads(text)
    except json.JSONDecodeError:
        raise FieldlabError(f"{meta_path} is not valid JSON; the checkpoint is damaged.") from None
    if not isinstance(meta, dict) or not {"arrays", "sha256", "groups", "step"} <= meta.keys():
        raise FieldlabError(f"{meta_path} lacks checkpoint fields; the checkpoint is damaged.")
    if "meta_sha256" in meta and meta["meta_sha256"] != _meta_digest(meta):
        raise FieldlabError(f"{meta_path} was changed after it was written (its checksum does not match); "
                            "restore the original file or start a new run.")
    for name, digest in (meta.get("files") or {}).items():
        path = directory / name
        if not path.exists():
            raise FieldlabError(f"{path} is missing but the checkpoint depends on it; restore it or start a new run.")
        if sha256_file(path) != digest:
            raise FieldlabError(f"{path} was changed after training (its checksum does not match {META}); "
                                "restore the original file or start a new run.")
    return meta


def load(directory: Path) -> tuple[dict[str, list[np.ndarray]], dict[str, Any]]:
    """Load the arrays and metadata saved by :func:`save`, verifying every checksum.

    The history saved with the arrays is returned as ``meta["history"]`` (a list of rows; for a
    checkpoint written without history, the rows of ``history.csv``).
    """
    directory = Path(directory)
    for attempt in range(3):  # a live run may replace its checkpoint between the two reads: read again
        meta = read_meta(directory)
        arrays_path = directory / str(meta["arrays"])
        if Path(str(meta["arrays"])).name != str(meta["arrays"]):
            raise FieldlabError(f"{directory / META} names an array file outside the run directory; the checkpoint is damaged.")
        if arrays_path.exists() or attempt == 2 or read_meta(directory) == meta:
            break
    try:
        data = arrays_path.read_bytes()
    except OSError as e:
        raise FieldlabError(f"the checkpoint in {directory} cannot be read ({os_error_sentence(e, arrays_path, 'read')[:-1]}); "
                            "it may be damaged.") from None
    if hashlib.sha256(data).hexdigest() != meta["sha256"]:
        raise FieldlabError(f"the checkpoint in {directory} fails its checksum; the file is damaged.")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            arrays = {g: [z[f"{g}_{i:05d}"] for i in range(int(n))] for g, n in meta["groups"].items()}
            history_bytes = z[_HISTORY_KEY].tobytes() if _HISTORY_KEY in z.files else None
    except (ValueError, KeyError, OSError, AttributeError, TypeError):
        raise FieldlabError(f"the checkpoint in {directory} does not hold the arrays its metadata lists; it is damaged.") from None
    if history_bytes is not None:
        try:
            rows = parse_history(history_bytes.decode("utf-8"), f"the history in {arrays_path}")
        except UnicodeDecodeError:
            raise FieldlabError(f"the history in {arrays_path} is not UTF-8 text; the checkpoint is damaged.") from None
        if meta.get("history_rows") is not None and len(rows) != meta["history_rows"]:
            raise FieldlabError(f"the history in {arrays_path} does not have the rows {META} records; the checkpoint is damaged.")
    else:
        rows = read_history(directory / HISTORY)
    meta["history"] = rows
    return arrays, meta


# -- signals ---------------------------------------------------------------------------------------
def interrupt_handler(request_stop: Callable[[], None]) -> Callable[[int, Any], None]:
    """A SIGINT handler for a training loop: the first Ctrl-C calls ``request_stop`` (the loop saves
    a checkpoint at its next chunk boundary) and hands SIGINT back to the system default, so that a
    second Ctrl-C ends the process at once, even inside compiled code, without raising into it.
    The last checkpoint on disk survives that: every file is replaced atomically and the run
    directory holds a checkpoint from step 0 on."""

    def handler(signum, frame):
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        request_stop()
        try:
            os.write(2, b"\nstopping at the next chunk boundary to save a checkpoint; "
                        b"press Ctrl-C again to stop at once (the last checkpoint is kept)\n")
        except OSError:
            pass

    return handler


# -- the lock --------------------------------------------------------------------------------------
class RunLock:
    """An exclusive lock on a run directory, held from ``__enter__`` to ``__exit__`` (creates the directory).

    A second holder is refused with one sentence naming the holder's pid. The lock is an ``flock``
    on ``DIR/.lock``: it disappears with its process, so a lock left by a killed run is taken over.
    On systems without ``fcntl`` no lock is taken.
    """

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            return self
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.directory / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise FieldlabError(os_error_sentence(e, self.directory / LOCK)) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise FieldlabError(f"{self.directory} is in use by another fieldlab process (pid {holder}); "
                                "wait for it to finish or stop it first.") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd
        remove_stale_temporaries(self.directory)
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)
            except OSError:
                pass
            os.close(self._fd)  # closing drops the flock
            self._fd = None
