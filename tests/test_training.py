"""Training: accuracy on heat 1D, checkpoints, resume equivalence, stopping rules, bad states."""

import json

import jax
import numpy as np
import pytest

import fieldlab
from fieldlab import problems
from fieldlab.config import resolve
from fieldlab.errors import FieldlabError, NonFiniteLossError
from fieldlab.training import checkpoint
from fieldlab.training.trainer import Interrupted


def _config(recipe, **model):
    return resolve(problems.defaults("heat1d"), {"model": {"name": "mlp", "width": 16, "depth": 2, **model}, "recipe": recipe})


@pytest.mark.slow  # a training: run with -m slow
def test_heat1d_trains_below_stated_error(tmp_path, tiny_recipe):
    run = fieldlab.solve(_config(tiny_recipe), tmp_path / "run", progress=False)
    # 300 Adam + 400 L-BFGS steps on 500 points reach ~1e-3; the untrained network is at ~1.
    assert run.metrics["rel_l2"] < 5e-3
    assert run.metrics["steps"] == 700
    assert run.stops == ["adam: steps after 300 steps", "lbfgs: steps after 400 steps"]
    for name in ("config.toml", "metrics.json", "history.csv", "checkpoint.json", "prediction.png",
                 "reference.png", "error.png", "curves.png"):
        assert (tmp_path / "run" / name).exists(), name
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["rel_l2"] == pytest.approx(run.metrics["rel_l2"])
    assert metrics["mse"] <= metrics["max_ae"] ** 2
    assert run.history[-1]["rel_l2"] == pytest.approx(run.metrics["rel_l2"], rel=1e-3)
    assert run.metrics["diagnostics"] == []  # a good run raises no warning
    config = (tmp_path / "run" / "config.toml").read_text()
    assert 'act = "tanh"' in config  # every network option written out, defaults included


def test_interrupted_then_resumed_equals_uninterrupted(tmp_path, tiny_recipe):
    cfg = _config(tiny_recipe)
    full = fieldlab.solve(cfg, tmp_path / "full", progress=False)
    with pytest.raises(Interrupted, match="fieldlab resume"):
        fieldlab.solve(cfg, tmp_path / "cut", progress=False, stop_after=350)  # inside the L-BFGS stage
    meta = json.loads((tmp_path / "cut" / "checkpoint.json").read_text())
    assert meta["step"] == 350 and meta["stage"] == 1
    resumed = fieldlab.resume(tmp_path / "cut", progress=False)
    assert resumed.metrics["steps"] == 700
    a = jax.tree_util.tree_leaves(full.theta)
    b = jax.tree_util.tree_leaves(resumed.theta)
    for x, y in zip(a, b):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-5, atol=1e-7)
    assert resumed.metrics["rel_l2"] == pytest.approx(full.metrics["rel_l2"], rel=1e-3)


def test_checkpoint_round_trip_and_corruption(tmp_path):
    arrays = {"theta": [np.arange(6.0).reshape(2, 3), np.float32(2.5)], "opt": [np.int32(7)]}
    checkpoint.save(tmp_path, arrays, {"step": 12})
    back, meta = checkpoint.load(tmp_path)
    assert meta["step"] == 12
    np.testing.assert_array_equal(back["theta"][0], arrays["theta"][0])
    assert back["opt"][0] == 7
    checkpoint.save(tmp_path, arrays, {"step": 13})
    assert sorted(p.name for p in tmp_path.glob("checkpoint-*.npz")) == ["checkpoint-13.npz"]
    path = tmp_path / "checkpoint-13.npz"
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(FieldlabError, match="checksum"):
        checkpoint.load(tmp_path)
    with pytest.raises(FieldlabError, match="no checkpoint"):
        checkpoint.load(tmp_path / "nowhere")


def test_load_run_predicts(tmp_path, tiny_recipe):
    run = fieldlab.solve(_config(tiny_recipe), tmp_path / "r", progress=False)
    loaded = fieldlab.load_run(tmp_path / "r")
    pts = np.array([[0.5, 0.0], [0.25, 0.5], [0.0, 1.0]])
    np.testing.assert_allclose(loaded.predict(pts), run.predict(pts), rtol=1e-6)
    exact = np.exp(-0.4 * np.pi**2 * pts[:, 1]) * np.sin(np.pi * pts[:, 0])
    np.testing.assert_allclose(loaded.predict(pts)[:, 0], exact, atol=1e-2)
    with pytest.raises(FieldlabError, match="shape"):
        loaded.predict(np.zeros((4, 3)))


def test_lbfgs_stops_at_tolerance_and_says_so():
    recipe = {"sampling": {"interior": 200, "boundary": 32, "initial": 32},
              "stages": [{"optimizer": "lbfgs", "steps": 5000, "tol": 1e-3}], "chunk": 25}
    run = fieldlab.solve(_config(recipe), None, progress=False)
    assert run.metrics["steps"] < 5000
    assert run.stops[0].startswith("lbfgs: tolerance")


def test_lbfgs_runs_its_full_budget_without_tolerance():
    recipe = {"sampling": {"interior": 200, "boundary": 32, "initial": 32},
              "stages": [{"optimizer": "lbfgs", "steps": 300}], "chunk": 100}
    run = fieldlab.solve(_config(recipe), None, progress=False)
    assert run.stops == ["lbfgs: steps after 300 steps"]


def test_time_budget_is_respected():
    recipe = {"sampling": {"interior": 200, "boundary": 32, "initial": 32}, "time": 3.0,
              "stages": [{"optimizer": "adam", "steps": 1}], "chunk": 20}
    run = fieldlab.solve(_config(recipe), None, progress=False)
    assert run.stops[0].startswith("adam: time")
    assert run.metrics["wall_time_s"] >= 3.0  # the budget, not the stage's single step, ended it
    assert run.metrics["steps"] > 1 and run.metrics["steps"] % 20 == 0  # whole chunks, as many as fit


def test_non_finite_loss_is_a_clear_error_and_keeps_checkpoint(tmp_path):
    recipe = {"sampling": {"interior": 200, "boundary": 32, "initial": 32},
              "stages": [{"optimizer": "adam", "steps": 400, "lr": 1e30}], "chunk": 20}
    with pytest.raises(NonFiniteLossError, match="non-finite"):
        fieldlab.solve(_config(recipe), tmp_path / "nan", progress=False)
    arrays, meta = checkpoint.load(tmp_path / "nan")
    assert all(np.isfinite(a).all() for a in arrays["theta"])


def test_float64_training_keeps_dtype():
    recipe = {"sampling": {"interior": 100, "boundary": 16, "initial": 16}, "dtype": "float64",
              "stages": [{"optimizer": "adam", "steps": 20}], "chunk": 10}
    run = fieldlab.solve(_config(recipe), None, progress=False)
    assert all(x.dtype == np.float64 for x in jax.tree_util.tree_leaves(run.theta))


@pytest.mark.parametrize("model", ["mlp", "lstm"])
def test_the_initial_network_does_not_depend_on_64_bit_mode(model):
    """A float64 run switches JAX to 64 bits for the process; a later run with the same seed must
    start from the same network as in a fresh process."""
    from fieldlab.run import _build_model

    cfg = resolve(problems.defaults("heat1d"), {"model": {"name": model}})
    pb = problems.get("heat1d")
    with jax.enable_x64(True):
        wide = jax.tree_util.tree_leaves(_build_model(pb, cfg))
    with jax.enable_x64(False):
        narrow = jax.tree_util.tree_leaves(_build_model(pb, cfg))
    assert len(wide) == len(narrow) > 2
    for a, b in zip(wide, narrow):
        if hasattr(a, "dtype") and np.issubdtype(a.dtype, np.floating):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
