r"""Validation of discovered closures: errors against the truth and forward re-simulation.

* :func:`closure_error`: :math:`\mathrm{Err}_f = \lVert \hat f - f \rVert_2 / \lVert f \rVert_2` on an
  equispaced grid of the observed range of :math:`u` (the only range the data can speak for).
* :func:`rollout`: simulate the PDE forward with the discovered closure from an initial condition
  and compare with a reference trajectory: relative L2 error at every output time,
  :math:`\lVert \hat u(t) - u(t) \rVert / \lVert u(t) \rVert`, and over the whole space-time grid.
  A closure that makes the solver fail (for instance a D that turns negative) gets an infinite
  error and the reason, rather than an exception: a failed rollout is a result.
* Bias inheritance ratio :math:`\mathrm{BIR}_f = \mathrm{Err}_f(\text{symbolic}) / \mathrm{Err}_f(\text{neural})`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import FieldlabError
from .solver import simulate1d


def closure_error(f: Callable, truth: Callable, lo: float, hi: float, n: int = 256) -> float:
    u = np.linspace(lo, hi, n)
    ref = truth(u)
    return float(np.linalg.norm(f(u) - ref) / np.linalg.norm(ref))


def rollout(D: Callable, R: Callable, u0: np.ndarray, x: np.ndarray, t: np.ndarray, reference: np.ndarray,
            bc: str = "neumann") -> dict:
    """Re-simulate with (D, R) from ``u0``; errors against ``reference`` (nt, nx)."""
    try:
        u = simulate1d(D, R, u0, x, t, bc=bc)
    except FieldlabError as e:
        return {"rel_l2": float("inf"), "rel_l2_t": [float("inf")] * len(t), "error": str(e), "u": None}
    per_t = np.linalg.norm(u - reference, axis=1) / np.maximum(np.linalg.norm(reference, axis=1), 1e-300)
    total = float(np.linalg.norm(u - reference) / np.linalg.norm(reference))
    return {"rel_l2": total, "rel_l2_t": per_t.tolist(), "error": None, "u": u}


def bir(err_symbolic: float, err_neural: float) -> float:
    return float(err_symbolic / err_neural) if err_neural > 0 else float("nan")
