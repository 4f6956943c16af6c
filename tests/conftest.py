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
