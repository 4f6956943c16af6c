"""Beyond one device: the points split across devices (data parallel), and mini-batches of points."""

import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

import fieldlab
from fieldlab import problems
from fieldlab.config import resolve
from fieldlab.errors import FieldlabError
from fieldlab.training.trainer import Interrupted, slice_indices

SRC = Path(__file__).resolve().parents[1] / "src"

# Two simulated CPU devices: the flag must be set before JAX starts, hence a fresh process.
SHARDED = r"""
import json, sys
import jax
import fieldlab
from fieldlab.training import sharding

split = []
original = sharding.Placement.split
def spy(self, tree, axis=0):
    out = original(self, tree, axis)
    split.extend(str(tuple(a.sharding.spec)) for a in jax.tree_util.tree_leaves(out) if hasattr(a.sharding, "spec"))
    return out
sharding.Placement.split = spy

out = {"devices": len(jax.devices())}
for batch, stages in json.loads(sys.argv[1]):
    recipe = {"sampling": {"interior": 256, "boundary": 32, "initial": 33, "batch": batch}, "stages": stages,
              "chunk": 10, "eval_every": 10}
    for d in (1, 2):
        split.clear()
        run = fieldlab.train("heat1d", "mlp", recipe, width=16, depth=2, progress=False, devices=d)
        out[f"{batch}/{d}"] = {"loss": [r["loss"] for r in run.history], "rel_l2": run.metrics["rel_l2"],
                               "theta": [float(abs(x).sum()) for x in jax.tree_util.tree_leaves(run.theta)],
                               "split": sorted(set(split))}
print("RESULT", json.dumps(out))
"""


# slices of 64 of the 256 interior points, a new one each step (a chunk's slices stacked); 33 initial points
CASES = [(64, [{"optimizer": "adam", "steps": 40, "lr": 5e-3}])]


def test_two_devices_match_one_to_round_off():
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2", "JAX_PLATFORMS": "cpu",
           "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", SHARDED, json.dumps(CASES)], env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads([ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1][len("RESULT "):])
    assert out["devices"] == 2
    for batch, _ in CASES:
        one, two = out[f"{batch}/1"], out[f"{batch}/2"]
        assert not any("points" in p for p in one["split"])  # one device: nothing split
        assert "('points',)" in two["split"]  # two: the points are split across the devices
        assert "(None, 'points')" in two["split"]  # a chunk's stacked slices, along the points
        assert "()" in two["split"]  # 33 initial points: not a multiple of 2, evaluated whole on each device
        a, b = np.array(one["loss"]), np.array(two["loss"])
        assert a.shape == b.shape and a[-1] < 0.9 * a[0]  # it trains
        np.testing.assert_allclose(b, a, rtol=1e-5)  # the same history, up to float32 round-off
        np.testing.assert_allclose(two["theta"], one["theta"], rtol=1e-4)
        assert two["rel_l2"] == pytest.approx(one["rel_l2"], rel=1e-3)


def test_slices_cover_every_point_once_per_epoch():
    idx = slice_indices(10, 3, seed=0, draw=0, steps=range(7))  # 3 slices of 3 per epoch, 1 point left over
    assert idx.shape == (7, 3)
    first, second = idx[:3].ravel(), idx[3:6].ravel()
    assert len(set(first)) == 9 and len(set(second)) == 9  # no point twice within an epoch
    assert not np.array_equal(first, second)  # a new order each epoch
    np.testing.assert_array_equal(slice_indices(10, 3, 0, 0, [4, 5]), idx[4:6])  # a function of the step only
    assert not np.array_equal(slice_indices(10, 3, 1, 0, range(3)), idx[:3])  # and of the seed


def _minibatch_config():
    return resolve(problems.defaults("heat1d"), {
        "model": {"name": "mlp", "width": 16, "depth": 2},
        "recipe": {"sampling": {"interior": 300, "boundary": 32, "initial": 32, "batch": 64},
                   "stages": [{"optimizer": "adam", "steps": 60, "lr": 5e-3}, {"optimizer": "lbfgs", "steps": 10}],
                   "chunk": 10, "eval_every": 20}})


@pytest.mark.slow  # a training: run with -m slow
def test_minibatch_trains_and_resumes_exactly(tmp_path):
    cfg = _minibatch_config()
    full = fieldlab.solve(cfg, tmp_path / "full", progress=False)
    losses = [r["loss"] for r in full.history]
    assert full.metrics["steps"] == 70 and losses[-1] < 0.5 * losses[0]
    with pytest.raises(Interrupted):
        fieldlab.solve(cfg, tmp_path / "cut", progress=False, stop_after=30)  # inside the Adam stage, mid-epoch
    resumed = fieldlab.resume(tmp_path / "cut", progress=False)
    assert [r["loss"] for r in resumed.history] == losses  # the same slices after the resume
    for x, y in zip(jax.tree_util.tree_leaves(full.theta), jax.tree_util.tree_leaves(resumed.theta)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_minibatch_refusals():
    with pytest.raises(FieldlabError, match="smaller than sampling.interior"):
        resolve(problems.defaults("heat1d"), {"recipe": {"sampling": {"interior": 100, "batch": 100}}})
    cfg = resolve(problems.defaults("heat1d"), {
        "recipe": {"sampling": {"interior": 100, "batch": 50}, "strategies": [{"kind": "rba"}],
                   "stages": [{"optimizer": "adam", "steps": 10}]}})
    with pytest.raises(FieldlabError, match="rba needs whole"):
        fieldlab.solve(cfg, None, progress=False)
    with pytest.raises(FieldlabError, match="JAX sees 1"):
        fieldlab.train("heat1d", "mlp", {"stages": [{"optimizer": "adam", "steps": 10}]}, progress=False, devices=3)
