"""Coupled fields, several equations, 1-D domains, trainable parameters from data, metrics."""

import jax.numpy as jnp
import numpy as np
import pytest

import fieldlab
from fieldlab import metrics
from fieldlab.geometry import Interval, TimeInterval
from fieldlab.reference import heat_exact


@pytest.mark.slow  # a training: run with -m slow
def test_two_coupled_fields_train():
    # u' = v, v' = -u on [0, pi], u(0) = 0, v(0) = 1  ->  u = sin x, v = cos x.
    pb = fieldlab.Problem(
        name="oscillator", coords=("x",), fields=("u", "v"), domain=Interval(0.0, np.pi),
        equations={"du": lambda F, p: F.d("u", "x") - F.v, "dv": lambda F, p: F.d("v", "x") + F.u},
        conditions={"u0": fieldlab.Dirichlet("u", 0.0, where=lambda x: np.isclose(x, 0.0)),
                    "v0": fieldlab.Dirichlet("v", 1.0, where=lambda x: np.isclose(x, 0.0))},
    )
    recipe = {"sampling": {"interior": 128, "boundary": 4},
              "stages": [{"optimizer": "adam", "steps": 300, "lr": 1e-2}, {"optimizer": "lbfgs", "steps": 300}]}
    run = fieldlab.train(pb, "mlp", recipe, progress=False, width=16, depth=2)
    assert set(run.history[-1]) >= {"loss_du", "loss_dv", "loss_u0", "loss_v0"}
    x = np.linspace(0, np.pi, 50)[:, None]
    pred = run.predict(x)
    assert pred.shape == (50, 2)
    np.testing.assert_allclose(pred, np.hstack([np.sin(x), np.cos(x)]), atol=1e-2)


def test_trainable_parameter_identified_from_data():
    # Heat equation with unknown diffusivity: recover alpha = 0.4 from clean interior data.
    x, t = np.linspace(0, 1, 21), np.linspace(0, 0.5, 11)
    X, T = np.meshgrid(x, t)
    data = fieldlab.Data(np.stack([X.ravel(), T.ravel()], -1), heat_exact(x, t, 0.4).ravel())
    pb = fieldlab.Problem(
        name="heat-inverse", coords=("x", "t"), fields=("u",), domain=Interval(0, 1) * TimeInterval(0, 0.5),
        equations={"pde": lambda F, p: F.d("u", "t") - p["alpha"] * F.d("u", "x", "x")},
        conditions={"data": data}, params={"alpha": 0.1}, trainable=("alpha",),
    )
    recipe = {"sampling": {"interior": 400},
              "stages": [{"optimizer": "adam", "steps": 500, "lr": 5e-3}, {"optimizer": "lbfgs", "steps": 500}]}
    run = fieldlab.train(pb, "mlp", recipe, progress=False, width=16, depth=2)
    assert run.params["alpha"] == pytest.approx(0.4, rel=0.02)


def test_metrics_on_known_arrays():
    ref = np.array([[1.0, 0.0], [0.0, 2.0]])
    pred = ref + np.array([[0.1, 0.0], [0.0, -0.3]])
    m = metrics.all_metrics(pred, ref, ("u", "v"))
    assert m["mse"] == pytest.approx((0.01 + 0.09) / 4)
    assert m["rmse"] == pytest.approx(np.sqrt(0.1 / 4))
    assert m["mae"] == pytest.approx(0.4 / 4)
    assert m["max_ae"] == pytest.approx(0.3)
    assert m["rel_l2"] == pytest.approx(np.sqrt(0.1) / np.sqrt(5))
    assert m["rel_l2_u"] == pytest.approx(0.1) and m["rel_l2_v"] == pytest.approx(0.15)


def test_reference_grid_layout():
    from fieldlab import problems

    ref = problems.get("burgers").reference()
    assert ref.points.shape == (256 * 101, 2) and ref.flat.shape == (256 * 101, 1)
    # C order over (x, t): the second point has the same x and the next t.
    assert ref.points[1, 0] == ref.points[0, 0] and ref.points[1, 1] > ref.points[0, 1]
    i = 5 * 101 + 7
    np.testing.assert_allclose(ref.flat[i, 0], ref.values[5, 7, 0])
    at_t0 = ref.points[:, 1] == 0.0
    np.testing.assert_allclose(ref.flat[at_t0, 0], -np.sin(np.pi * ref.points[at_t0, 0]), atol=1e-15)
