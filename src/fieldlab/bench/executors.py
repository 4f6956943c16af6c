"""Where bench cells run: a local process pool (the default) or tasks on a Ray cluster.

Both executors run the same :func:`~fieldlab.bench.runner.compute_cell` and hand its result back to
the driver, which writes ``cells/<key>.json`` and ``<key>.npz``; so the result files, resumption,
tables and figures do not depend on the executor, and a Ray cluster needs no shared file system.

**The environment of a cell** (:func:`cell_env`) is set in its worker before JAX starts:

- a cell that owns one CPU core runs XLA on one thread (``--xla_cpu_multi_thread_eigen=false
  intra_op_parallelism_threads=1``) and NumPy's BLAS on one thread (``OMP_NUM_THREADS=1``), so that
  the cells do not fight over the cores; the local pool's workers and Ray tasks of one CPU get the
  same settings, hence the same floating-point results;
- a cell that gets a fraction ``g < 1`` of a GPU allocates on demand
  (``XLA_PYTHON_CLIENT_PREALLOCATE=false``) up to ``XLA_PYTHON_CLIENT_MEM_FRACTION = 0.9 g`` of the
  GPU's memory, so that ``1 / g`` cells share one GPU without running out of memory (each process
  also holds its own CUDA context, a few hundred MB, outside that fraction).

**Failures.** A cell whose training fails in a way a user can fix (a non-finite loss, a bad option)
is a result: the ``diverged`` or ``error`` record is kept. A cell whose worker dies (out of memory,
a preempted node, a killed process, an unexpected exception) is resubmitted up to ``retries`` times;
after the last attempt it is recorded with status ``lost`` and the reason, so it appears in the
table as failed, never silently missing; a resumed bench runs a ``lost`` cell again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from pathlib import Path
from typing import Any

ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
GPU_MEMORY_SHARE = 0.9  # of a GPU's memory, split between the cells that share it
EXECUTORS = ("local", "ray")

Result = tuple[dict[str, Any], bytes | None]  # (record, npz bytes of the prediction or None)


@dataclasses.dataclass(frozen=True)
class Resources:
    """What one cell needs: CPU cores, GPUs (a fraction shares one), memory in bytes (Ray only)."""

    cpus: float = 1.0
    gpus: float = 0.0
    memory: int | None = None


def visible_gpus() -> list[str]:
    """The CUDA GPUs JAX would use in a worker, found without starting JAX (which would claim them).

    None when JAX has no CUDA plugin or ``JAX_PLATFORMS`` excludes it; else ``CUDA_VISIBLE_DEVICES``
    if set, else the GPUs that ``nvidia-smi -L`` lists.
    """
    platforms = os.environ.get("JAX_PLATFORMS", "").lower()
    if platforms and not any(p in platforms for p in ("cuda", "gpu")):
        return []
    from importlib import metadata

    if not any((d.metadata["Name"] or "").lower().startswith(("jax-cuda", "jax_cuda")) for d in metadata.distributions()):
        return []
    cvd = os.environ.get("CUDA_VISIBLE_DEVICES")
    if cvd is not None:
        return [d.strip() for d in cvd.split(",") if d.strip() and d.strip() != "-1"]
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        lines = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=20).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(ln for ln in lines if ln.startswith("GPU "))]


def default_workers(gpus: list[str] | None = None) -> int:
    """One worker per GPU on a GPU machine, else one per CPU core this process may use."""
    gpus = visible_gpus() if gpus is None else gpus
    if gpus:
        return len(gpus)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def cell_env(cpus: float, gpus: float, base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment variables a cell's worker sets before JAX starts (see the module docstring).

    ``base`` is the environment it starts from (default ``os.environ``); an ``XLA_FLAGS`` or memory
    setting the user made there is kept.
    """
    base = dict(os.environ if base is None else base)
    env: dict[str, str] = {}
    if cpus <= 1 and not gpus:
        env["XLA_FLAGS"] = base.get("XLA_FLAGS", ONE_THREAD)
        env["OMP_NUM_THREADS"] = base.get("OMP_NUM_THREADS", "1")  # NumPy's BLAS, as Ray sets it for one CPU
    if 0 < gpus < 1:
        env["XLA_PYTHON_CLIENT_PREALLOCATE"] = base.get("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
        env["XLA_PYTHON_CLIENT_MEM_FRACTION"] = base.get("XLA_PYTHON_CLIENT_MEM_FRACTION", f"{GPU_MEMORY_SHARE * gpus:.3g}")
    return env


def gpu_slots(workers: int, gpus: list[str]) -> list[dict[str, str]]:
    """The environment of each local worker on a GPU machine: worker ``i`` on GPU ``i mod G``, and
    the workers that share a GPU split its memory equally."""
    out = []
    for i in range(workers):
        sharing = len(range(i % len(gpus), workers, len(gpus)))  # workers on this worker's GPU
        out.append({"CUDA_VISIBLE_DEVICES": gpus[i % len(gpus)], **cell_env(1, 1 / sharing)})
    return out


def lost(cell, attempts: int, error: BaseException) -> dict[str, Any]:
    """The record of a cell whose worker failed ``attempts`` times."""
    cause = getattr(error, "cause", None) or error  # a Ray task error wraps the exception the task raised
    text = str(cause).strip().splitlines()
    reason = f"{type(cause).__name__}: {text[-1] if text else 'no message'}"
    return {**dataclasses.asdict(cell), "key": cell.key, "status": "lost", "attempts": attempts,
            "message": f"worker failed {attempts} time(s), last: {reason[:300]}"}


# -- the local process pool ------------------------------------------------------------------------
def _pool_init(slots) -> None:
    if slots is not None:  # read by JAX when it starts its backend, after this
        os.environ.update(slots.get())


@contextlib.contextmanager
def environment(env: dict[str, str]):
    """``env`` set in this process (so that spawned workers start with it, before they import NumPy), then restored.

    With :func:`cell_env`, the way to give a spawned process pool one core per worker::

        with environment(cell_env(1, 0)), ProcessPoolExecutor(2, mp_context=get_context("spawn")) as pool: ...
    """
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_local(spec, todo: list, workers: int, compute: Callable, retries: int = 1) -> Iterator[tuple[Any, Result]]:
    """Yield ``(cell, result)`` as the cells of ``todo`` finish in ``workers`` processes.

    One worker runs the cells in this process (the environment is left as it is). On a GPU machine
    each worker is pinned to one GPU (:func:`gpu_slots`); on CPU each gets :func:`cell_env` for one
    core. A worker that dies breaks the pool: its unfinished cells are run again in a new pool, up
    to ``retries`` more times each.
    """
    if workers == 1:
        for cell in todo:
            yield cell, compute(spec, cell)
        return
    gpus = visible_gpus()
    attempts = {c.key: 0 for c in todo}
    left = list(todo)
    while left:
        ctx = get_context("spawn")
        slots = None
        if gpus:
            slots = ctx.Queue()
            for s in gpu_slots(workers, gpus):
                slots.put(s)
        env = {} if gpus else cell_env(1, 0)
        broken: BaseException | None = None
        with environment(env), ProcessPoolExecutor(workers, mp_context=ctx, initializer=_pool_init, initargs=(slots,)) as pool:
            futures = {pool.submit(compute, spec, c): c for c in left}
            for c in left:
                attempts[c.key] += 1
            pending = set(futures)
            while pending:
                ready, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in ready:
                    cell = futures[fut]
                    try:
                        result = fut.result()
                    except BrokenProcessPool as e:
                        broken = e
                        continue
                    except Exception as e:  # noqa: BLE001 - an unexpected failure of one cell is reported
                        if attempts[cell.key] <= retries:
                            attempts[cell.key] += 1
                            new = pool.submit(compute, spec, cell)
                            futures[new] = cell
                            pending.add(new)
                            continue
                        result = (lost(cell, attempts[cell.key], e), None)
                    left.remove(cell)
                    yield cell, result
        if broken is not None:
            for cell in list(left):
                if attempts[cell.key] > retries:
                    left.remove(cell)
                    yield cell, (lost(cell, attempts[cell.key], broken), None)


# -- Ray --------------------------------------------------------------------------------------------
def _source_path() -> str:
    """The directory this fieldlab is imported from, so that a local Ray worker imports the same code."""
    import fieldlab

    return str(Path(fieldlab.__file__).resolve().parents[1])


def run_ray(spec, todo: list, compute: Callable, *, address: str | None = None, resources: Resources = Resources(),
            retries: int = 2, workers: int | None = None) -> Iterator[tuple[Any, Result]]:
    """Yield ``(cell, result)`` as the cells of ``todo`` finish as Ray tasks.

    ``address``: an existing cluster (``"auto"``, ``"ray://host:10001"``, ``"host:6379"``); its nodes
    need fieldlab installed and, for problem files, the files at the same path. Without it a local
    Ray instance of ``workers`` CPUs is started for the bench and shut down after it (a Ray already
    initialised in this process is used as it is). Each task declares ``resources``; a task that
    fails (its worker died, its node was lost, an exception) is resubmitted up to ``retries`` times.
    """
    from ..errors import FieldlabError

    try:
        import ray
    except ImportError:
        raise FieldlabError('--executor ray needs Ray; install it with: pip install "fieldlab[ray]"') from None
    started = False
    if not ray.is_initialized():
        try:
            if address:
                ray.init(address=address, log_to_driver=False)
            else:
                ray.init(num_cpus=workers or default_workers([]), include_dashboard=False, log_to_driver=False,
                         logging_level=logging.WARNING)
        except (ConnectionError, RuntimeError, ValueError) as e:
            raise FieldlabError(f"could not connect to the Ray cluster at {address or 'a new local instance'}: "
                                f"{str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__}") from None
        started = True
    try:
        env = cell_env(resources.cpus, resources.gpus)
        if not address:  # a local cluster runs the fieldlab this process imported
            env["PYTHONPATH"] = os.pathsep.join(p for p in (_source_path(), os.environ.get("PYTHONPATH", "")) if p)
        options: dict[str, Any] = {"num_cpus": resources.cpus, "num_gpus": resources.gpus, "max_retries": 0,
                                   "runtime_env": {"env_vars": env}}
        if resources.memory:
            options["memory"] = int(resources.memory)
        task = ray.remote(compute).options(**options)
        pending = {task.remote(spec, c): (c, 1) for c in todo}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            cell, attempt = pending.pop(ready[0])
            try:
                result = ray.get(ready[0])
            except Exception as e:  # noqa: BLE001 - RayTaskError, WorkerCrashedError, NodeDiedError, ...
                if attempt <= retries:
                    pending[task.remote(spec, cell)] = (cell, attempt + 1)
                    continue
                result = (lost(cell, attempt, e), None)
            else:
                result[0]["attempts"] = attempt
            yield cell, result
    finally:
        if started:
            ray.shutdown()


def parse_memory(text: str | None) -> int | None:
    """``"4"`` or ``"4G"`` (GiB), ``"512M"`` (MiB) as bytes; None for None."""
    from ..errors import FieldlabError

    if text is None:
        return None
    t = text.strip().upper().removesuffix("B")
    scale = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}.get(t[-1:], None)
    try:
        value = float(t[:-1] if scale else t) * (scale or 2**30)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise FieldlabError(f"--memory-per-cell must be a size such as 4G or 512M; got '{text}'.")
    return int(value)


__all__ = ["EXECUTORS", "GPU_MEMORY_SHARE", "ONE_THREAD", "Resources", "cell_env", "default_workers", "gpu_slots",
           "parse_memory", "run_local", "run_ray", "visible_gpus"]
