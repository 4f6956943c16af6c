"""The bench on Ray: the same cells, files and results as the local pool; failed workers retried and reported.

One small local Ray instance (2 CPUs) serves the whole module.
"""

import dataclasses
import json
import os

import numpy as np
import pytest

from fieldlab.bench.executors import Resources, cell_env, gpu_slots, parse_memory, run_ray
from fieldlab.bench.report import aggregate
from fieldlab.bench.runner import BenchSpec, run_grid, write_cell
from fieldlab.errors import FieldlabError

ray = pytest.importorskip("ray")

TINY = """[recipe]
stages = [{optimizer = "adam", steps = 20, lr = 5e-3}]
sampling = {interior = 200, boundary = 32, initial = 32}
chunk = 10
"""
SAME = ("rel_l2", "mse", "max_ae", "first_loss", "final_loss", "steps", "n_params", "spec_low", "spec_high")


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    """One cell, one short Adam stage: one compilation."""
    path = tmp_path_factory.mktemp("recipe") / "tiny.toml"
    path.write_text(TINY)
    return BenchSpec(problems=("heat1d",), models=("mlp",), recipes=(str(path),))


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.mark.slow  # a training: run with -m slow
def test_ray_cells_match_the_local_pool(tmp_path, spec, cluster):
    # the defaults: a pool of one-core workers, and Ray tasks of one CPU; two seeds, two cells
    spec = dataclasses.replace(spec, seeds=2)
    local = run_grid(spec, tmp_path / "local", workers=2)
    seen = []
    remote = run_grid(spec, tmp_path / "ray", executor="ray",
                      on_done=lambda rec, k, n: seen.append((rec["key"], rec["attempts"], n)))
    keys = ["heat1d__mlp__tiny__s0", "heat1d__mlp__tiny__s1"]
    assert sorted(seen) == [(k, 1, 2) for k in keys]
    assert [r["key"] for r in local] == [r["key"] for r in remote] == keys
    assert [r["status"] for r in local] == [r["status"] for r in remote] == ["ok", "ok"]
    assert local[0]["final_loss"] != local[1]["final_loss"]  # two seeds, two different runs
    for a, b in zip(local, remote):
        for k in SAME:
            assert b[k] == a[k], k  # bit for bit
        with np.load(tmp_path / "local" / "cells" / f"{a['key']}.npz") as x, \
                np.load(tmp_path / "ray" / "cells" / f"{a['key']}.npz") as y:
            assert np.array_equal(x["pred"], y["pred"]) and np.array_equal(x["ref"], y["ref"])
    # resumption: a finished bench runs nothing again
    assert run_grid(spec, tmp_path / "ray", executor="ray", on_done=lambda *a: seen.append(a)) == remote and len(seen) == 2


def test_failed_workers_are_retried_then_reported(tmp_path, spec, cluster):
    cell = spec.cells()[0]
    marker = tmp_path / "crashed-once"

    def crash_once(spec, c):  # the worker process dies on the first attempt, as on a preempted node
        if not marker.exists():
            marker.write_text("x")
            os._exit(1)
        return {"key": c.key, "status": "ok", "pid": os.getpid(), "xla": os.environ.get("XLA_FLAGS")}, None

    def always_fails(spec, c):
        raise RuntimeError("out of luck")

    [(_, (rec, npz))] = list(run_ray(spec, [cell], crash_once, retries=2))
    assert rec["status"] == "ok" and rec["attempts"] == 2 and npz is None
    assert rec["xla"] == "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"  # one CPU: one thread
    [(_, (rec, npz))] = list(run_ray(spec, [cell], always_fails, retries=1))
    assert rec["status"] == "lost" and rec["attempts"] == 2
    assert "RuntimeError" in rec["message"] and "out of luck" in rec["message"] and "2 time(s)" in rec["message"]
    # a lost cell is in the table as failed, never missing, and the next run trains it again
    (tmp_path / "cells").mkdir()
    write_cell(tmp_path / "cells", rec, None)
    partial = run_grid(spec, tmp_path, run=False)
    assert [r["status"] for r in partial] == ["lost"]
    assert aggregate(partial)[0]["failed"] == 1
    again = run_grid(spec, tmp_path, workers=1)
    assert [r["status"] for r in again] == ["ok"]
    assert json.loads((tmp_path / "cells" / f"{cell.key}.json").read_text())["status"] == "ok"


def test_worker_environments():
    one = cell_env(1, 0, {})
    assert one["XLA_FLAGS"].startswith("--xla_cpu_multi_thread_eigen=false") and one["OMP_NUM_THREADS"] == "1"
    assert cell_env(4, 0, {}) == {}
    assert cell_env(1, 0, {"XLA_FLAGS": "--mine"})["XLA_FLAGS"] == "--mine"  # a user's flags are kept
    half = cell_env(1, 0.5, {})
    assert half == {"XLA_PYTHON_CLIENT_PREALLOCATE": "false", "XLA_PYTHON_CLIENT_MEM_FRACTION": "0.45"}
    assert cell_env(1, 1, {}) == {}  # a whole GPU: JAX's defaults
    slots = gpu_slots(5, ["0", "1"])  # 3 workers on GPU 0, 2 on GPU 1
    assert [s["CUDA_VISIBLE_DEVICES"] for s in slots] == ["0", "1", "0", "1", "0"]
    assert [s["XLA_PYTHON_CLIENT_MEM_FRACTION"] for s in slots] == ["0.3", "0.45", "0.3", "0.45", "0.3"]
    assert "XLA_PYTHON_CLIENT_MEM_FRACTION" not in gpu_slots(2, ["0", "1"])[0]
    assert parse_memory("4G") == 4 * 2**30 and parse_memory("512M") == 2**29 and parse_memory("2") == 2 * 2**30
    with pytest.raises(FieldlabError, match="--memory-per-cell"):
        parse_memory("lots")
