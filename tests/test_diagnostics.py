"""Diagnostics after training: trivial solutions and collapses are reported, good runs are not."""

import numpy as np

import fieldlab
from fieldlab import problems
from fieldlab.config import resolve
from fieldlab.diagnostics import field_shape, loss_balance


def test_a_dominant_condition_with_a_vanishing_residual_is_reported():
    found = loss_balance({"pde": 1e-9, "boundary": 0.25, "initial": 1e-3}, ("pde",))
    assert [f["kind"] for f in found] == ["dominant-condition"] and "'boundary'" in found[0]["message"]
    assert "gradnorm" in found[0]["hint"]
    assert loss_balance({"pde": 1e-3, "boundary": 2e-3, "initial": 1e-3}, ("pde",)) == []
    assert loss_balance({"pde": 1e-2, "boundary": 0.25}, ("pde",)) == []  # the residual is not small: no trivial fit
    assert loss_balance({"pde": 1e-9, "boundary": 1e-6}, ("pde",)) == []  # both tiny: a converged run


def test_near_constant_and_collapsing_fields_are_reported():
    rng = np.random.default_rng(0)
    z = rng.random((400, 2))
    flat = np.full((400, 1), 0.5) + 1e-6 * rng.standard_normal((400, 1))
    assert [f["kind"] for f in field_shape(flat, z, None, ("u",))] == ["near-constant"]
    decaying = (np.sin(np.pi * z[:, 0]) * np.exp(-40 * z[:, 1]))[:, None]  # e^-30 by the last quarter
    assert [f["kind"] for f in field_shape(decaying, z, 1, ("u",))] == ["collapse"]
    heat = (np.sin(np.pi * z[:, 0]) * np.exp(-0.4 * np.pi**2 * z[:, 1]))[:, None]  # decays, but only to 2 %
    assert field_shape(heat, z, 1, ("u",)) == []


def test_a_trivial_fit_is_flagged_in_the_metrics():
    """heat1d with its initial condition switched off: u = 0 solves the rest, and the run says so."""
    recipe = {"sampling": {"interior": 200, "boundary": 32, "initial": 32}, "weights": {"initial": 0.0},
              "stages": [{"optimizer": "adam", "steps": 200, "lr": 1e-2}], "chunk": 50}
    cfg = resolve(problems.defaults("heat1d"), {"model": {"name": "mlp", "width": 8, "depth": 2}, "recipe": recipe})
    run = fieldlab.solve(cfg, None, progress=False)
    kinds = {d["kind"] for d in run.metrics["diagnostics"]}
    assert "dominant-condition" in kinds
    assert set(run.metrics["loss_terms"]) == {"pde", "boundary", "initial"}


def test_figures_leave_the_matplotlib_backend_alone(tmp_path):
    """Writing a run's figures must not switch a notebook's backend (issue 19)."""
    import matplotlib

    from fieldlab.report.figures import curves, field_maps

    before = matplotlib.get_backend()
    matplotlib.use("svg")  # a non-Agg backend, as a notebook would have its own
    try:
        x, t = np.linspace(0, 1, 5), np.linspace(0, 1, 4)
        grid = np.zeros((5, 4, 1))
        paths = field_maps(tmp_path, ("x", "t"), ("u",), (x, t), grid + 1.0, grid)
        curves(tmp_path, [{"step": 1, "time": 0.1, "loss": 1.0, "rel_l2": 0.5}, {"step": 2, "time": 0.2, "loss": 0.5, "rel_l2": 0.25}])
        assert matplotlib.get_backend().lower() == "svg"
        assert paths and all(p.stat().st_size > 0 for p in paths)
        assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"
    finally:
        matplotlib.use(before)
