r"""The user's own network: any :class:`equinox.Module` that fits the backbone contract.

``fieldlab.train(problem, my_module, recipe)`` trains ``my_module`` itself (its initial weights are
the module's, not redrawn from the recipe's seed). The module must be one of:

- **pointwise** (the backbone contract, preferred): ``module(z)`` maps one coordinate vector ``z`` of
  shape ``(d,)`` (the problem's coordinates in order) to the raw fields, shape ``(m,)``;
- **batched**: ``module(Z)`` maps ``(n, d)`` to ``(n, m)``; it is wrapped in :class:`Batched`, which
  calls it on a batch of one point, so every derivative is still exact (forward mode through the
  batch of one), at some cost in speed.

The contract is checked with :func:`equinox.filter_eval_shape` (no computation) before training;
a module that fits neither is one sentence saying what it returned. The module sees the raw
coordinates: built-in backbones scale them from the domain's bounding box to ``[-1, 1]^d`` with
:func:`fieldlab.models.scale_inputs`, and a user module usually should too.

Trainable arrays are the module's floating-point arrays (``eqx.is_inexact_array``); everything else
(activation functions, integers, static fields) is kept as it is. A run directory records the
module's class and array shapes in ``model.json`` and its weights in the checkpoint, but not its
code: reloading (``load_run(dir, model=skeleton)``, ``resume(dir, model=skeleton)``) needs a module
of the same structure (built the same way, any weights), whose arrays are replaced by the saved ones.
"""

from __future__ import annotations

import json

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..errors import FieldlabError

PREFIX = "user:"
FILE = "model.json"


class Batched(eqx.Module):
    """A batched module ``(n, d) -> (n, m)`` seen as a pointwise backbone ``(d,) -> (m,)``."""

    module: eqx.Module

    def __call__(self, z):
        return self.module(z[None, :])[0]


def name_of(module) -> str:
    """The config's model name for a user module: ``"user:<class name>"``."""
    inner = module.module if isinstance(module, Batched) else module
    return PREFIX + type(inner).__qualname__


def is_user(name: str) -> bool:
    return name.startswith(PREFIX)


def _shape_of(module, shape):
    try:
        out = eqx.filter_eval_shape(module, jax.ShapeDtypeStruct(shape, jnp.float32))
    except Exception as e:  # whatever the user's code raises on this input
        first = str(e).splitlines()[0].strip().rstrip(".") if str(e).strip() else ""
        return None, f"raised {type(e).__name__}" + (f" ({first})" if first else "")
    if not isinstance(out, jax.ShapeDtypeStruct):
        return None, f"returned {type(out).__name__}, not one array"
    if not jnp.issubdtype(out.dtype, jnp.floating):
        return None, f"returned an array of dtype {out.dtype}, not floating point"
    return out.shape, f"returned shape {out.shape}"


def adapt(module, in_dim: int, out_dim: int, label: str = "the model"):
    """``module`` as a pointwise backbone for ``in_dim`` coordinates and ``out_dim`` fields, or one sentence."""
    if not isinstance(module, eqx.Module):
        raise FieldlabError(f"{label} must be a backbone name (see `fieldlab models`) or an equinox.Module; "
                            f"got {type(module).__name__}.")
    if not jax.tree_util.tree_leaves(eqx.filter(module, eqx.is_inexact_array)):
        raise FieldlabError(f"{type(module).__name__} has no floating-point arrays to train; give a module with "
                            "weights (such as equinox.nn.MLP).")
    shape, said = _shape_of(module, (in_dim,))
    if shape == (out_dim,):
        return module
    n = 3
    bshape, bsaid = _shape_of(module, (n, in_dim))
    if bshape == (n, out_dim):
        return Batched(module)
    raise FieldlabError(
        f"{type(module).__name__} does not fit this problem's {in_dim} coordinate(s) and {out_dim} field(s): a model "
        f"maps one point ({in_dim},) to ({out_dim},), or a batch ({n}, {in_dim}) to ({n}, {out_dim}), but given "
        f"({in_dim},) it {said} and given ({n}, {in_dim}) it {bsaid}."
    )


def structure(module) -> dict:
    """What a run directory records of a user module: its class and the shapes of its trainable arrays."""
    leaves = jax.tree_util.tree_leaves(eqx.filter(module, eqx.is_inexact_array))
    inner = module.module if isinstance(module, Batched) else module
    return {"class": f"{type(inner).__module__}.{type(inner).__qualname__}", "batched": isinstance(module, Batched),
            "shapes": [list(np.shape(x)) for x in leaves]}


def to_json(module) -> str:
    return json.dumps(structure(module), indent=2)


def check_same(stored: dict, module, directory) -> None:
    """Refuse a skeleton whose trainable arrays differ from the ones the run saved."""
    given = structure(module)
    if stored.get("shapes") != given["shapes"]:
        n_s, n_g = len(stored.get("shapes", [])), len(given["shapes"])
        what = (f"{n_s} arrays, the module given {n_g}" if n_s != n_g else
                "arrays of other shapes than the module given")
        raise FieldlabError(f"{directory} was trained with a {stored.get('class', 'module')} of {what}; build the "
                            "module the same way it was built for training (same sizes), then pass it as model=.")
