"""Backbones: registry, options, parameter counts, exact derivatives through them, dtypes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fieldlab import models
from fieldlab.errors import FieldlabError
from fieldlab.operators import partial


def _mlp(**options):
    return models.build("mlp", 2, 3, key=jax.random.PRNGKey(0), lo=[-1, 0], hi=[1, 2], **options)


def test_registry_and_options():
    assert "mlp" in models.available()
    assert models.options_of("mlp") == {"width": 32, "depth": 4, "act": "tanh"}
    with pytest.raises(FieldlabError, match="unknown model 'nope'"):
        models.build("nope", 2, 1, key=jax.random.PRNGKey(0), lo=[0, 0], hi=[1, 1])
    with pytest.raises(FieldlabError, match=r"no option\(s\) \['widht'\]"):
        _mlp(widht=3)
    with pytest.raises(FieldlabError, match="unknown activation"):
        _mlp(act="relu6")


def test_parameter_count_and_glorot_init():
    net = _mlp(width=10, depth=2)
    assert models.count_params(net) == (2 * 10 + 10) + (10 * 10 + 10) + (10 * 3 + 3)
    big = models.build("mlp", 2, 1, key=jax.random.PRNGKey(1), lo=[0, 0], hi=[1, 1], width=400, depth=2)
    w = np.asarray(big.weights[1])
    assert np.std(w) == pytest.approx(np.sqrt(2.0 / 800), rel=0.02)
    assert np.all(np.asarray(big.biases[0]) == 0)


def test_input_scaling_maps_domain_to_unit_box():
    net = _mlp(width=4, depth=1)
    z = jnp.array([1.0, 2.0])  # upper corner of [-1,1] x [0,2] -> (1, 1) after scaling
    h = np.tanh(np.asarray(net.weights[0]) @ np.array([1.0, 1.0]) + np.asarray(net.biases[0]))
    expected = np.asarray(net.weights[1]) @ h + np.asarray(net.biases[1])
    np.testing.assert_allclose(net(z), expected, rtol=1e-5)


@pytest.mark.usefixtures("x64")
def test_derivatives_through_mlp_match_finite_differences():
    net = jax.tree_util.tree_map(lambda a: a.astype(jnp.float64) if eqx_inexact(a) else a, _mlp(width=8, depth=2))
    z = jnp.array([0.2, 0.7])
    h = 1e-4
    e = jnp.array([0.0, 1.0])
    fd = (net(z + h * e) - 2 * net(z) + net(z - h * e)) / h**2
    np.testing.assert_allclose(partial(net, z, 1, 1), fd, rtol=1e-5, atol=1e-7)


def eqx_inexact(a):
    return hasattr(a, "dtype") and jnp.issubdtype(a.dtype, jnp.inexact)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
@pytest.mark.usefixtures("x64")
def test_jit_in_both_dtypes(dtype):
    net = jax.tree_util.tree_map(lambda a: a.astype(dtype) if eqx_inexact(a) else a, _mlp(width=8, depth=2))
    out = jax.jit(jax.vmap(net))(jnp.zeros((5, 2), dtype))
    assert out.shape == (5, 3) and out.dtype == dtype


@pytest.mark.usefixtures("x64")
def test_mlp_taylor_fast_path_equals_nested_jvp():
    from fieldlab.models.base import Backbone

    net = jax.tree_util.tree_map(lambda a: a.astype(jnp.float64) if eqx_inexact(a) else a, _mlp(width=8, depth=3))
    Z = jnp.asarray(np.random.default_rng(0).uniform(-1, 1, (7, 2)))
    for indices in ([(), (0,), (1,), (0, 0), (0, 1), (1, 1)], [(), (1,)], [(), (0,), (0, 0), (0, 0, 0)]):
        fast, slow = net.taylor(Z, indices), Backbone.taylor(net, Z, indices)
        assert set(fast) == set(indices)
        for k in indices:
            np.testing.assert_allclose(fast[k], slow[k], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["burgers", "heat1d", "poisson2d"])
@pytest.mark.usefixtures("x64")
def test_loss_with_fast_derivatives_equals_direct_autodiff(name):
    """The planned, batched derivative path gives the same PDE residuals as plain nested jvp."""
    from fieldlab import problems
    from fieldlab.training.losses import make_loss, parameters, solution
    from fieldlab.training.trainer import init_theta

    pb = problems.get(name)
    lo, hi = pb.domain.bounds()
    net = models.build("mlp", 2, 1, key=jax.random.PRNGKey(2), lo=lo, hi=hi, width=8, depth=2)
    theta, static = init_theta(pb, net, jnp.float64)
    Z = jnp.asarray(pb.domain.sample_interior(50, seed=1))
    batch = {"interior": {"z": Z}}
    batch.update({k: {kk: jnp.asarray(v) for kk, v in c.sample(pb, 8, 0, "random").items()}
                  for k, c in pb.trained_conditions.items()})
    _, terms = make_loss(pb, static, {}, jnp.float64)(theta, batch)
    u, p = solution(pb, theta, static), parameters(pb, theta, jnp.float64)
    direct = jax.vmap(lambda z: pb.equations["pde"](pb.fields_at(u, z), p))(Z)
    np.testing.assert_allclose(terms["pde"], np.mean(np.asarray(direct) ** 2), rtol=1e-10)


def test_parameter_budget_sizing():
    net = models.build("mlp", 2, 1, key=jax.random.PRNGKey(0), lo=[0, 0], hi=[1, 1], depth=3, budget=3000)
    n = models.count_params(net)
    w = net.weights[0].shape[0]
    assert n <= 3000
    bigger = models.build("mlp", 2, 1, key=jax.random.PRNGKey(0), lo=[0, 0], hi=[1, 1], depth=3, width=w + 1)
    assert models.count_params(bigger) > 3000
    with pytest.raises(FieldlabError, match="too small"):
        models.build("mlp", 2, 1, key=jax.random.PRNGKey(0), lo=[0, 0], hi=[1, 1], budget=3)
