"""A user's own problem from a Python file goes through solve, eval, resume and bench (issue 19)."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import fieldlab
from fieldlab import problems
from fieldlab.cli import app

runner = CliRunner()

PROBLEM_FILE = '''
import jax.numpy as jnp
import numpy as np
import fieldlab
from fieldlab.geometry import Interval


def residual(F, p):
    return -F.d("u", "x", "x") - p["k"] ** 2 * jnp.sin(p["k"] * F.z[0])


def reference():
    x = np.linspace(0, np.pi, 65)
    return fieldlab.problem.Reference((x,), np.sin(x)[:, None], "exact")


poisson = fieldlab.Problem(
    name="poisson1d",  # shares a built-in's name on purpose: the file, not the built-in, must be used
    coords=("x",), fields=("u",), domain=Interval(0.0, np.pi), equations={"pde": residual},
    conditions={"ends": fieldlab.Dirichlet("u", 0.0)}, params={"k": 1.0}, reference=reference)

DEFAULTS = {"model": {"name": "mlp", "width": 8, "depth": 2},
            "recipe": {"sampling": {"interior": 64, "boundary": 8},
                       "stages": [{"optimizer": "adam", "steps": 60, "lr": 1e-2}, {"optimizer": "lbfgs", "steps": 40}],
                       "chunk": 20}}
'''


@pytest.fixture
def problem_file(tmp_path):
    path = tmp_path / "my_problem.py"
    path.write_text(PROBLEM_FILE)
    return path


def _ok(result):
    assert result.exit_code == 0, result.output
    return result.output


def test_a_problem_file_goes_through_solve_eval_export_resume_and_bench(tmp_path, problem_file, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _ok(runner.invoke(app, ["solve", "my_problem.py", "--out", "run", "--quiet"]))
    config = (tmp_path / "run" / "config.toml").read_text()
    assert str(problem_file) in config  # the absolute path: found again from any directory
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["steps"] == 100 and metrics["rel_l2"] < 0.5  # the file's DEFAULTS were used, and it trained
    pts = np.array([[0.5], [1.5], [3.0]])
    np.save(tmp_path / "pts.npy", pts)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    _ok(runner.invoke(app, ["eval", str(tmp_path / "run"), "--points", str(tmp_path / "pts.npy"), "--out", "pred.npy"]))
    pred = np.load(elsewhere / "pred.npy")
    np.testing.assert_allclose(pred, fieldlab.load_run(tmp_path / "run").predict(pts), rtol=1e-6)
    for name in ("pred.csv", "pred.nc"):  # the same predictions, with their coordinates
        _ok(runner.invoke(app, ["eval", str(tmp_path / "run"), "--points", str(tmp_path / "pts.npy"), "--out", name]))
    table = np.genfromtxt(elsewhere / "pred.csv", delimiter=",", names=True)
    np.testing.assert_array_equal(table["x"], pts[:, 0])
    np.testing.assert_array_equal(table["u"], pred[:, 0])
    import xarray as xr

    with xr.open_dataset(elsewhere / "pred.nc", engine="scipy") as ds:
        np.testing.assert_array_equal(ds["u"].values, pred[:, 0])
        np.testing.assert_array_equal(ds["x"].values, pts[:, 0])
        assert ds.attrs["problem"] == "poisson1d"
    bad = runner.invoke(app, ["eval", str(tmp_path / "run"), "--points", str(tmp_path / "pts.npy"), "--out", "pred.txt"])
    assert bad.exit_code == 2 and "must end in .npy, .csv, .nc" in bad.output
    _ok(runner.invoke(app, ["export", str(tmp_path / "run"), "--grid", "9", "--out", "grid.nc"]))
    with xr.open_dataset(elsewhere / "grid.nc") as ds:  # on the file's domain [0, pi], not the built-in's
        np.testing.assert_allclose(ds["x"].values, np.linspace(0, np.pi, 9), rtol=1e-6)
        np.testing.assert_allclose(ds["u"].values, fieldlab.load_run(tmp_path / "run").predict(ds["x"].values[:, None])[:, 0],
                                   rtol=1e-5, atol=1e-6)
    # not the built-in poisson1d of the same name: its domain is [0, 1], so 1.5 and 3.0 would be refused
    assert fieldlab.load_run(tmp_path / "run").problem.domain.bounds()[1][0] == pytest.approx(np.pi)
    # resume a run cut short
    cfg = problems.defaults(str(problem_file))
    from fieldlab.config import resolve

    with pytest.raises(fieldlab.training.trainer.Interrupted):
        fieldlab.solve(resolve(cfg, {}), tmp_path / "cut", progress=False, stop_after=40)
    _ok(runner.invoke(app, ["resume", str(tmp_path / "cut"), "--quiet"]))
    assert json.loads((tmp_path / "cut" / "metrics.json").read_text())["steps"] == 100
    out = _ok(runner.invoke(app, ["bench", "--problems", f"{problem_file}:poisson", "--models", "mlp", "--steps", "40",
                                  "--workers", "1", "--out", str(tmp_path / "bench")]))
    assert (tmp_path / "bench" / "cells" / "my_problem-poisson__mlp__s0.json").exists(), out


@pytest.mark.parametrize("text,name,fragment", [
    ("x = 1\n", "", "defines no Problem"),
    (PROBLEM_FILE, ":nothing", "defines no 'nothing'"),
    (PROBLEM_FILE, ":residual", "'residual' is not a Problem"),
    ("raise ValueError('bad line')\n", "", "fails when it is run (ValueError: bad line)"),
    (PROBLEM_FILE + "\nother = poisson\n", "", "defines several problems"),
])
def test_a_bad_problem_file_is_one_sentence(tmp_path, text, name, fragment):
    path = tmp_path / "p.py"
    path.write_text(text)
    result = runner.invoke(app, ["solve", f"{path}{name}", "--out", str(tmp_path / "r"), "--quiet"])
    assert result.exit_code == 2 and fragment in result.output and "Traceback" not in result.output
    assert not (tmp_path / "r").exists()
    missing = runner.invoke(app, ["solve", str(tmp_path / "nope.py"), "--quiet"])
    assert missing.exit_code == 2 and "does not exist" in missing.output
