"""Exact derivatives against analytic ones, up to fourth order and mixed."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fieldlab import operators as op
from fieldlab.errors import FieldlabError
from fieldlab.problem import Fields


def f(z):
    x, y = z[0], z[1]
    return jnp.stack([jnp.sin(2 * x) * jnp.exp(0.5 * y), x**3 * y**2])


Z = np.array([0.3, -0.7], dtype=np.float64)  # float64 under the x64 fixture
x, y = 0.3, -0.7


@pytest.mark.parametrize(
    "index, expected",
    [
        ((0,), [2 * np.cos(2 * x) * np.exp(0.5 * y), 3 * x**2 * y**2]),
        ((1,), [0.5 * np.sin(2 * x) * np.exp(0.5 * y), 2 * x**3 * y]),
        ((0, 0), [-4 * np.sin(2 * x) * np.exp(0.5 * y), 6 * x * y**2]),
        ((0, 1), [np.cos(2 * x) * np.exp(0.5 * y), 6 * x**2 * y]),
        ((1, 0), [np.cos(2 * x) * np.exp(0.5 * y), 6 * x**2 * y]),
        ((0, 0, 0), [-8 * np.cos(2 * x) * np.exp(0.5 * y), 6 * y**2]),
        ((0, 0, 0, 0), [16 * np.sin(2 * x) * np.exp(0.5 * y), 0.0]),
        ((0, 0, 1, 1), [-np.sin(2 * x) * np.exp(0.5 * y), 12 * x]),
        ((1, 1, 1, 1), [0.0625 * np.sin(2 * x) * np.exp(0.5 * y), 0.0]),
    ],
)
@pytest.mark.usefixtures("x64")
def test_partials(index, expected):
    np.testing.assert_allclose(op.partial(f, Z, *index), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.usefixtures("x64")
def test_grad_laplacian_divergence():
    g = op.grad(lambda z: f(z)[1], Z)
    np.testing.assert_allclose(g, [3 * x**2 * y**2, 2 * x**3 * y], rtol=1e-12)
    lap = op.laplacian(lambda z: f(z)[0], Z)
    np.testing.assert_allclose(lap, (-4 + 0.25) * np.sin(2 * x) * np.exp(0.5 * y), rtol=1e-12)
    div = op.divergence(f, Z)  # d/dx f0 + d/dy f1
    np.testing.assert_allclose(div, 2 * np.cos(2 * x) * np.exp(0.5 * y) + 2 * x**3 * y, rtol=1e-12)


@pytest.mark.usefixtures("x64")
def test_batched_and_jitted():
    pts = jnp.array(np.random.default_rng(0).uniform(-1, 1, (17, 2)))
    d = jax.jit(jax.vmap(lambda z: op.partial(f, z, 0, 1)))(pts)
    expected = np.stack([np.cos(2 * pts[:, 0]) * np.exp(0.5 * pts[:, 1]), 6 * pts[:, 0] ** 2 * pts[:, 1]], -1)
    np.testing.assert_allclose(d, expected, rtol=1e-12)


@pytest.mark.usefixtures("x64")
def test_fields_view():
    F = Fields(f, Z, ("x", "y"), ("u", "v"))
    u = F.u
    assert F.d(u, "x") == pytest.approx(2 * np.cos(2 * x) * np.exp(0.5 * y))
    assert F.d("v", "x", "y") == pytest.approx(6 * x**2 * y)
    assert F.x == pytest.approx(x)
    assert F.laplacian("v", ("x", "y")) == pytest.approx(6 * x * y**2 + 2 * x**3)
    with pytest.raises(FieldlabError, match="not an expression"):
        F.d(u * 2, "x")
    with pytest.raises(FieldlabError, match="unknown coordinate"):
        F.d(u, "z")
    with pytest.raises(FieldlabError, match="neither a field"):
        F.w
