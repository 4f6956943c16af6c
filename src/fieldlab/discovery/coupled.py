r"""Forward solver for coupled reaction-diffusion systems (several species, 1-D or 2-D).

Solves, for species :math:`s = 1..S` with fields :math:`w = (w_1, .., w_S)`,

.. math::  \partial_t w_s = \nabla\cdot\big(D_s(w_s)\,\nabla w_s\big) + R_s(w)

by the method of lines of :mod:`.solver`: node-centred conservative finite volumes (face
diffusivity the mean of the two nodes' values, second order in the spacing), applied along each axis;
zero-flux (half cells at the ends), Dirichlet (boundary nodes keep the values of ``w0``) or periodic
(the last node duplicates the first) boundaries; ``scipy.integrate.solve_ivp`` (BDF or Radau) with a
sparse Jacobian pattern. The unknowns are ordered species first, then space (row-major ``x[, y]``):
the pattern is the block matrix :math:`\mathbf{1}_{S\times S} \otimes I_N + I_S \otimes P`, the
reactions coupling the species at one node, :math:`P` the three- or five-point stencil of the
diffusion.

Unlike :func:`~.solver.simulate2d` (rows ``y``), 2-D fields here are indexed ``(x, y)``, as in the
data sets of :mod:`.data`. Failures raise :class:`~fieldlab.errors.FieldlabError`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import scipy.sparse as sp

from ..errors import FieldlabError
from .solver import _div_last, _eval, _grid, _integrate, _options, _pattern1d, _periodic_ends, _times

__all__ = ["simulate_system"]


def simulate_system(D: Sequence[Callable], R: Callable, w0, axes, t, bc: str = "neumann", rtol: float = 1e-8,
                    atol: float = 1e-10, method: str = "BDF") -> np.ndarray:
    """Solve the system on the uniform grids ``axes`` (``(x,)`` or ``(x, y)``, ends included).

    Args:
        D: one vectorised callable per species, ``D[s](w_s)``.
        R: the reactions, ``R(w)`` for fields stacked on the first axis, ``(S, ...)`` in and out.
        w0: initial fields, ``(S, len(x)[, len(y)])``.
        axes: the uniform space grids.
        t: strictly increasing output times, ``t[0]`` the initial time.
        bc: ``"neumann"``, ``"dirichlet"`` or ``"periodic"`` on every edge.
        rtol: the integrator's relative tolerance.
        atol: the integrator's absolute tolerance.
        method: ``"BDF"`` or ``"Radau"``.

    Returns:
        ``w`` of shape ``(len(t), S, len(x)[, len(y)])``, float64, with ``w[0] = w0``.
    """
    _options(bc, method, rtol, atol)
    grids = [_grid(z, name) for z, name in zip(axes, ("x", "y"))]
    if not 1 <= len(grids) <= 2:
        raise FieldlabError(f"axes must be (x,) or (x, y); got {len(axes)} grids.")
    t = _times(t)
    w0 = np.array(w0, dtype=np.float64)
    S = len(D)
    shape = (S,) + tuple(z.size for z, _ in grids)
    if w0.shape != shape:
        raise FieldlabError(f"w0 must have shape (species, len(x)[, len(y)]) = {shape}; got {w0.shape}.")
    if not np.all(np.isfinite(w0)):
        raise FieldlabError("w0 contains NaN or infinite values.")
    periodic = bc == "periodic"
    if periodic:
        for a, name in enumerate(("x", "y")[:len(grids)]):
            _periodic_ends(w0, a + 1, name)
        w0 = w0[(slice(None),) + (slice(0, -1),) * len(grids)]
    shape = w0.shape
    try:
        with np.errstate(all="ignore"):
            r0 = np.asarray(R(w0), dtype=np.float64)
            d0 = [_eval(f, w) for f, w in zip(D, w0)]
    except Exception as e:  # a user callable: any failure is theirs to fix
        raise FieldlabError(f"the closures failed on the initial condition ({type(e).__name__}: {e}).") from None
    if r0.shape != shape or not np.all(np.isfinite(r0)) or not all(np.all(np.isfinite(d)) for d in d0):
        raise FieldlabError(f"R(w) must return finite values of shape {shape}, and D finite values, on the initial condition.")
    if min(float(d.min()) for d in d0) < 0:
        raise FieldlabError("a diffusivity is negative on the initial condition; diffusion must be non-negative.")

    def rhs(_t, flat):
        w = flat.reshape(shape)
        out = np.asarray(R(w), dtype=np.float64).copy()
        for s in range(S):
            d = _eval(D[s], w[s])
            for a, (_, h) in enumerate(grids):
                out[s] += np.moveaxis(_div_last(np.moveaxis(w[s], a, -1), np.moveaxis(d, a, -1), h, bc), -1, a)
        if bc == "dirichlet":
            for a in range(len(grids)):
                edge = [slice(None)] * (len(grids) + 1)
                edge[a + 1] = [0, -1]
                out[tuple(edge)] = 0.0
        return out.ravel()

    stencils = [_pattern1d(m, periodic) for m in shape[1:]]
    if len(stencils) == 1:
        space = stencils[0]
    else:
        space = sp.kron(stencils[0], sp.identity(shape[2])) + sp.kron(sp.identity(shape[1]), stencils[1])
    n = int(np.prod(shape[1:]))
    pattern = (sp.kron(np.ones((S, S)), sp.identity(n)) + sp.kron(sp.identity(S), space)).tocsr()
    sol = _integrate(rhs, w0.ravel(), t, pattern, method, rtol, atol).reshape((t.size,) + shape)
    if bc == "dirichlet":  # exact, not up to the integrator's rounding
        for a in range(len(grids)):
            edge = [slice(None)] * (len(grids) + 2)
            edge[a + 2] = [0, -1]
            sol[tuple(edge)] = w0[tuple(edge[1:])][None]
    elif periodic:
        for a in range(len(grids)):
            sol = np.concatenate([sol, np.take(sol, [0], axis=a + 2)], axis=a + 2)
    return sol
