r"""Data-parallel training: the collocation points split across devices, everything else replicated.

With ``D`` devices (GPUs, or CPU host devices), the trainer lays them out as a one-dimensional mesh
with the axis ``"points"`` (:class:`jax.sharding.Mesh`). Every array of points whose count is a
multiple of ``D`` is split into ``D`` equal blocks along that axis
(``NamedSharding(mesh, P("points"))``); the network, the trainable parameters, the optimiser state
and the strategies' states are replicated (``P()``). The compiled chunk is the same function as on
one device: XLA partitions it (GSPMD), and each device evaluates the residuals and their gradients
at its own block of points, and the means over points become sums of per-device partial sums,

.. math::

    \frac1n \sum_{i=1}^{n} r_i^2 = \frac1n \sum_{d=1}^{D} \sum_{i \in B_d} r_i^2,

followed by one all-reduce of the gradient. The residuals, which are pointwise, are evaluated
inside :func:`jax.shard_map` (:meth:`Placement.pointwise`), so each device works on its own points
without communication. The loss is mathematically the one of a single device;
only the order of the floating-point additions changes, so the histories agree to round-off.

An array of points whose count is not a multiple of ``D`` is replicated: every device evaluates all
of it, which is correct but gains nothing (choose point counts that are multiples of ``D``).
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from ..errors import FieldlabError

AXIS = "points"


def select_devices(devices: int | Sequence | None = None) -> list:
    """``None``: every device of JAX's default backend; an int ``k``: its first ``k``; or a list of devices."""
    available = jax.local_devices()
    if devices is None:
        return list(available)
    if isinstance(devices, int):
        if not 1 <= devices <= len(available):
            raise FieldlabError(f"devices={devices} asks for {devices} device(s), but JAX sees {len(available)} "
                                f"({available[0].platform}); give a number from 1 to {len(available)}.")
        return list(available[:devices])
    return list(devices)


class Placement:
    """Where the training arrays live: one device (a no-op) or a mesh that splits the points."""

    def __init__(self, devices: int | Sequence | None = None):
        self.devices = select_devices(devices)
        self.mesh = Mesh(np.array(self.devices), (AXIS,)) if len(self.devices) > 1 else None

    @property
    def size(self) -> int:
        return len(self.devices)

    def replicate(self, tree):
        """``tree`` with every array on every device (unchanged on one device)."""
        if self.mesh is None or tree is None:
            return tree
        return jax.device_put(tree, NamedSharding(self.mesh, P()))

    def split(self, tree, axis: int = 0):
        """``tree`` with each array split along ``axis`` across the devices where its length there
        is a multiple of their number, replicated otherwise (unchanged on one device)."""
        if self.mesh is None:
            return tree
        split = NamedSharding(self.mesh, P(*([None] * axis), AXIS))
        whole = NamedSharding(self.mesh, P())

        def put(a):
            ok = a.ndim > axis and a.shape[axis] % self.size == 0
            return jax.device_put(a, split if ok else whole)

        return jax.tree_util.tree_map(put, tree)

    def pointwise(self, residuals, equations: Sequence[str]):
        """``residuals(theta, batch, overrides) -> {term: (n_k, c_k)}`` evaluated by each device on its own points.

        The residuals are pointwise, so each device can evaluate them at its block of points with no
        communication (:func:`jax.shard_map`): a group of points (the interior, each condition's
        items) whose count is a multiple of the number of devices is split, another is evaluated
        whole on every device. The means over points that follow, and the gradient's sum over the
        devices, are left to XLA. Left to itself, XLA's partitioner re-distributes the points
        inside the network's derivatives at every step, which costs more than it saves.
        """
        if self.mesh is None:
            return residuals
        mesh, size = self.mesh, self.size
        equations = tuple(equations)

        def sharded(theta, batch, overrides=None):
            split = {g: all(a.ndim and a.shape[0] % size == 0 for a in jax.tree_util.tree_leaves(v)) for g, v in batch.items()}
            spec = {g: P(AXIS) if ok else P() for g, ok in split.items()}
            in_batch = {g: jax.tree_util.tree_map(lambda _, g=g: spec[g], v) for g, v in batch.items()}
            out = {**{k: spec["interior"] for k in equations}, **{g: spec[g] for g in batch if g != "interior"}}
            return jax.shard_map(residuals, mesh=mesh, in_specs=(P(), in_batch, P()), out_specs=out)(theta, batch, overrides)

        return sharded


__all__ = ["AXIS", "Placement", "select_devices"]
