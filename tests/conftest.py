import pytest


@pytest.fixture
def tiny_recipe():
    """A short recipe for heat1d that still trains to a useful accuracy."""
    return {
        "sampling": {"interior": 500, "boundary": 64, "initial": 64},
        "stages": [
            {"optimizer": "adam", "steps": 300, "lr": 5e-3},
            {"optimizer": "lbfgs", "steps": 400},
        ],
        "chunk": 50,
        "eval_every": 100,
    }


@pytest.fixture
def x64():
    """Run one test with 64-bit JAX and restore the previous setting afterwards.

    Use it only where a test needs float64 (tolerances near 1e-12, float64 arrays); never switch
    ``jax_enable_x64`` for the whole process, which would change every later test's dtypes and
    random draws.
    """
    import jax

    with jax.enable_x64(True):
        yield
