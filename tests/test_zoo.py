"""Every registered backbone: builds, sizes to a parameter budget, exact derivatives, both dtypes."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fieldlab import models
from fieldlab.models.base import Backbone
from fieldlab.operators import partial

ALL = models.available()


def _cast(net, dtype):
    return jax.tree_util.tree_map(lambda a: a.astype(dtype) if eqx.is_inexact_array(a) else a, net)


def test_the_zoo_is_complete():
    assert set(ALL) >= {"mlp", "resnet", "modified-mlp", "fourier", "lstm", "plstm", "lnn", "xlstm", "ra", "kan",
                        "pirate", "pig", "transformer"}


@pytest.mark.parametrize("name", ALL)
@pytest.mark.usefixtures("x64")
def test_backbone_contract(name):
    net = models.build(name, 2, 2, key=jax.random.PRNGKey(0), lo=[0, -1], hi=[1, 1], width=8, depth=2)
    assert isinstance(net, Backbone) and models.count_params(net) > 0
    sized = models.build(name, 2, 1, key=jax.random.PRNGKey(0), lo=[0, 0], hi=[1, 1], budget=2500)
    assert 0.5 * 2500 < models.count_params(sized) <= 2500
    # exact second and mixed derivatives against central differences, in float64 (each check
    # compiled as one function: op by op, this file took 126 s instead of 108 s, 2026-12-03)
    net64 = _cast(net, jnp.float64)
    z, h = jnp.array([0.3, 0.2]), 1e-4
    ex, et = jnp.array([1.0, 0.0]), jnp.array([0.0, 1.0])
    steps = jnp.stack([h * ex, 0 * ex, -h * ex, h * (ex + et), h * (ex - et), -h * (ex - et), -h * (ex + et)])
    (xx, xt), v = eqx.filter_jit(lambda n: ((partial(n, z, 0, 0), partial(n, z, 0, 1)), jax.vmap(n)(z + steps)))(net64)
    np.testing.assert_allclose(xx, (v[0] - 2 * v[1] + v[2]) / h**2, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(xt, (v[3] - v[4] - v[5] + v[6]) / (4 * h**2), rtol=1e-4, atol=1e-4)
    # the batched derivative path agrees with nested jvp
    Z = jnp.asarray(np.random.default_rng(0).uniform(-1, 1, (4, 2)))
    idx = [(), (0,), (1,), (0, 0), (0, 1)]
    fast, slow = eqx.filter_jit(lambda n: (n.taylor(Z, idx), Backbone.taylor(n, Z, idx)))(net64)
    for k in idx:
        np.testing.assert_allclose(fast[k], slow[k], rtol=1e-9, atol=1e-10)
    # jit-compiles in both dtypes and keeps the dtype
    for dtype in (jnp.float32, jnp.float64):
        out = jax.jit(jax.vmap(_cast(net, dtype)))(jnp.zeros((3, 2), dtype))
        assert out.shape == (3, 2) and out.dtype == dtype and bool(jnp.all(jnp.isfinite(out)))
