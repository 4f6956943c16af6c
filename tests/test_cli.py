"""The command line: solve / eval / resume, and one clear sentence for every bad input."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from fieldlab.cli import app

runner = CliRunner()

TINY = """
[model]
name = "mlp"
width = 12
depth = 2

[recipe]
chunk = 20
eval_every = 40

[recipe.sampling]
interior = 200
boundary = 32
initial = 32

[[recipe.stages]]
optimizer = "adam"
steps = 60
lr = 0.005

[[recipe.stages]]
optimizer = "lbfgs"
steps = 40
"""


def _invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def _error_line(result):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "error:" in result.output
    return result.output


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    cfg = root / "tiny.toml"
    cfg.write_text(TINY)
    out = root / "run"
    result = _invoke("solve", "heat1d", "--config", cfg, "--out", out, "--quiet", "--seed", "3")
    assert result.exit_code == 0, result.output
    return root, out


def test_solve_writes_run_directory(solved):
    root, out = solved
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["steps"] == 100
    assert metrics["rel_l2"] < 0.2  # 100 steps of a 12-wide net: trained well beyond the initial ~1
    text = (out / "config.toml").read_text()
    assert "seed = 3" in text and "width = 12" in text
    assert (out / "error.png").stat().st_size > 1000


def test_eval_predicts_points(solved):
    root, out = solved
    pts = np.array([[0.5, 0.0], [0.5, 0.5], [0.1, 0.9]])
    np.save(root / "pts.npy", pts)
    result = _invoke("eval", out, "--points", root / "pts.npy", "--out", root / "pred.npy")
    assert result.exit_code == 0, result.output
    pred = np.load(root / "pred.npy")
    assert pred.shape == (3, 1)
    exact = np.exp(-0.4 * np.pi**2 * pts[:, 1]) * np.sin(np.pi * pts[:, 0])
    assert np.abs(pred[:, 0] - exact).max() < 0.2


def test_eval_bad_points(solved):
    root, out = solved
    np.save(root / "bad.npy", np.zeros((5, 3)))
    assert "shape (n, 2)" in _error_line(_invoke("eval", out, "--points", root / "bad.npy", "--out", root / "p.npy"))
    np.save(root / "nan.npy", np.array([[0.1, np.nan]]))
    assert "NaN" in _error_line(_invoke("eval", out, "--points", root / "nan.npy", "--out", root / "p.npy"))
    (root / "junk.npy").write_text("not an array")
    assert "not a readable" in _error_line(_invoke("eval", out, "--points", root / "junk.npy", "--out", root / "p.npy"))
    assert not (root / "p.npy").exists()


def test_solve_into_existing_run_is_refused_and_keeps_it(solved):
    root, out = solved
    before = (out / "metrics.json").read_text()
    assert "already holds a run" in _error_line(_invoke("solve", "heat1d", "--out", out, "--steps", "10"))
    assert (out / "metrics.json").read_text() == before


def test_resume_interrupted_run(tmp_path):
    from fieldlab import problems, solve
    from fieldlab.config import resolve
    from fieldlab.training.trainer import Interrupted

    cfg = resolve(problems.defaults("heat1d"), {
        "model": {"name": "mlp", "width": 8, "depth": 2},
        "recipe": {"sampling": {"interior": 100, "boundary": 16, "initial": 16}, "chunk": 10,
                   "stages": [{"optimizer": "adam", "steps": 60}]}})
    with pytest.raises(Interrupted):
        solve(cfg, tmp_path / "r", progress=False, stop_after=30)
    assert not (tmp_path / "r" / "metrics.json").exists()
    result = _invoke("resume", tmp_path / "r", "--quiet")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "r" / "metrics.json").read_text())["steps"] == 60


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["solve", "nosuch"], "unknown problem 'nosuch'"),
        (["solve", "heat1d", "--model", "nosuch"], "unknown model 'nosuch'"),
        (["solve", "heat1d", "--steps", "10", "--time", "5"], "either --steps or --time"),
        (["solve", "heat1d", "--config", "/nonexistent.toml"], "does not exist"),
        (["resume", "/nonexistent-run"], "not a fieldlab run directory"),
    ],
)
def test_bad_command_lines(args, fragment, tmp_path):
    assert fragment in _error_line(_invoke(*args, "--out", tmp_path / "o") if args[0] == "solve" else _invoke(*args))
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("[recipe\nseed = 1", "not valid TOML"),
        ("[recipe]\nsed = 1", "'recipe.sed': unknown key"),
        ("[recipe]\ndtype = 'float16'", "recipe.dtype"),
        ("[[recipe.stages]]\noptimizer = 'sgd'", "recipe.stages.0.optimizer"),
        ("[model]\nname = 'mlp'\nwidht = 3", "no option(s) ['widht']"),
        ("problem = 'burgers'", "is for problem 'burgers'"),
    ],
)
def test_bad_config_files(text, fragment, tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    assert fragment in _error_line(_invoke("solve", "heat1d", "--config", cfg, "--out", tmp_path / "o"))
    assert not (tmp_path / "o").exists()


def test_non_finite_loss_at_the_command_line(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[[recipe.stages]]\noptimizer = 'adam'\nsteps = 200\nlr = 1e30\n[recipe]\nchunk = 20\n")
    result = _invoke("solve", "heat1d", "--config", cfg, "--out", tmp_path / "o", "--quiet")
    assert "non-finite" in _error_line(result)
    assert (tmp_path / "o" / "checkpoint.json").exists()


def test_problems_and_models_listing():
    result = _invoke("problems")
    assert result.exit_code == 0 and "burgers" in result.output and "u_t + u u_x" in result.output
    result = _invoke("models")
    assert result.exit_code == 0 and "mlp" in result.output and "width=32" in result.output


def test_ctrl_c_saves_and_exits_cleanly(tmp_path):
    """A real SIGINT during training: exit 130, a checkpoint on disk, and resume instructions."""
    import signal
    import subprocess
    import sys
    import time

    cfg = tmp_path / "long.toml"
    cfg.write_text("[recipe]\nchunk = 10\n[recipe.sampling]\ninterior = 200\n[[recipe.stages]]\noptimizer = 'adam'\nsteps = 1000000\n")
    proc = subprocess.Popen([sys.executable, "-m", "fieldlab.cli", "solve", "heat1d", "--config", str(cfg),
                             "--out", str(tmp_path / "run"), "--quiet"], stderr=subprocess.PIPE, text=True)
    assert "solving" in proc.stderr.readline()
    time.sleep(6)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=180)
    assert proc.returncode == 130, stderr
    assert "fieldlab resume" in stderr and "Traceback" not in stderr
    from fieldlab.training import checkpoint

    arrays, meta = checkpoint.load(tmp_path / "run")  # checksum verified
    assert meta["stage"] == 0 and meta["step"] % 10 == 0  # saved at a chunk boundary (step 0 if still compiling)
    assert all(np.isfinite(a).all() for a in arrays["theta"])


def test_summary_shows_every_field_and_the_problems_own_metrics():
    from types import SimpleNamespace

    from fieldlab import cli

    metrics = {"rel_l2": 1e-3, "mse": 1e-6, "rmse": 1e-3, "mae": 8e-4, "max_ae": 3e-3, "rel_l2_u": 2e-4,
               "rel_l2_p": 9e-4, "mse_u": 1e-8, "p_mean_error": 5.8e-7, "wall_time_s": 12.0, "final_loss": 1e-5,
               "steps": 100, "n_params": 3000, "stops": [], "params": {}, "diagnostics": []}
    run = SimpleNamespace(metrics=metrics, problem=SimpleNamespace(fields=("u", "p")), dir="runs/x")
    with cli.out.capture() as cap:
        cli._summary(run)
    text = cap.get()
    assert "relative L2 per field: u 2.00e-04, p 9.00e-04" in text
    assert "p_mean_error 5.800e-07" in text and "mse_u" not in text and "final_loss" not in text
