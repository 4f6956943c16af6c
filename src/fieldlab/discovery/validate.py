r"""Validation of discovered closures: errors against the truth and forward re-simulation.

* :func:`closure_error`: :math:`\mathrm{Err}_f = \lVert \hat f - f \rVert_2 / \lVert f \rVert_2` on an
  equispaced grid of the observed range of :math:`u` (the only range the data can speak for).
* :func:`rollout`: simulate the PDE forward with the discovered closure from an initial condition
  and compare with a reference trajectory: relative L2 error at every output time,
  :math:`\lVert \hat u(t) - u(t) \rVert / \lVert u(t) \rVert`, and over the whole space-time grid.
  A closure that makes the solver fail (for instance a D that turns negative) gets an infinite
  error and the reason, rather than an exception: a failed rollout is a result.
* :func:`data_rollout`: re-simulate the data's own first snapshot (of every run) over the data's times (used to
  choose among refitted closures by their misfit to the data, where the noise is independent
  from one observation to the next and the likelihood is honest).
* :func:`forecast_divergence`: how far the forecasts of two closures part beyond the data's time
  window (for closures that fit the data equally well).
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
            bc: str = "neumann", bc_values=None) -> dict:
    """Re-simulate with (D, R) from ``u0``; errors against ``reference`` (nt, nx).

    ``bc_values``: Dirichlet end values (default: the ends of ``u0``, which the reference keeps).
    """
    bc_values = (u0[0], u0[-1]) if bc_values is None else bc_values
    try:
        u = simulate1d(D, R, u0, x, t, bc=bc, bc_values=bc_values)
    except FieldlabError as e:
        return {"rel_l2": float("inf"), "rel_l2_t": [float("inf")] * len(t), "error": str(e), "u": None}
    per_t = np.linalg.norm(u - reference, axis=1) / np.maximum(np.linalg.norm(reference, axis=1), 1e-300)
    total = float(np.linalg.norm(u - reference) / np.linalg.norm(reference))
    return {"rel_l2": total, "rel_l2_t": per_t.tolist(), "error": None, "u": u}


def bir(err_symbolic: float, err_neural: float) -> float:
    return float(err_symbolic / err_neural) if err_neural > 0 else float("nan")


def simulation_start(x: np.ndarray, first: np.ndarray, bc: str = "neumann",
                     min_nodes: int = 301) -> tuple[np.ndarray, np.ndarray]:
    """The grid ``xs`` and initial values on it from which :func:`data_rollout` re-simulates the data.

    ``first``: the first snapshot of every run, ``(runs, nx)``; the values are ``(runs, len(xs))``.

    The solver needs a uniform grid: the data grid itself when it is uniform with at least
    ``min_nodes`` nodes, else ``max(min_nodes, nx)`` uniform nodes over the same interval, with the
    first snapshot interpolated by a cubic spline (zero end slopes for zero flux): on coarse data
    a linear interpolant of the first snapshot adds an error that can decide which closure fits
    best. For the same reason the default ``min_nodes`` is 301: the solver's discretisation error
    (second order in the spacing) must stay well below the misfits that choose between closures,
    because an output-error fit inherits it. Periodic data repeat the first position at the end (as
    :func:`~.solver.simulate1d` wants); noise makes the two differ, so both get their mean.
    """
    from scipy.interpolate import CubicSpline

    x, first = np.asarray(x, float), np.array(first, float)
    if bc == "periodic":
        first[..., 0] = first[..., -1] = (first[..., 0] + first[..., -1]) / 2
    if np.allclose(np.diff(x), x[1] - x[0], rtol=1e-6) and len(x) >= min_nodes:
        return x, first
    xs = np.linspace(x[0], x[-1], max(min_nodes, len(x)))
    kind = {"neumann": "clamped", "periodic": "periodic"}.get(bc, "not-a-knot")
    return xs, CubicSpline(x, first, axis=-1, bc_type=kind)(xs)


def start_modes(xs: np.ndarray, k: int, bc: str = "neumann") -> np.ndarray:
    r"""``k`` smooth corrections of an initial condition on ``xs``, as columns ``(len(xs), k)``.

    With :math:`s = (x - x_0)/L`: :math:`\cos(j\pi s)`, :math:`j = 0 .. k-1`, for zero flux (each
    satisfies it); :math:`\sin(j\pi s)`, :math:`j = 1 .. k`, for Dirichlet ends (which stay put);
    for periodic ends 1 and then :math:`\cos(2\pi j s), \sin(2\pi j s)` in turn.
    """
    s = (np.asarray(xs, float) - xs[0]) / (xs[-1] - xs[0])
    if bc == "dirichlet":
        cols = [np.sin(j * np.pi * s) for j in range(1, k + 1)]
    elif bc == "periodic":
        cols = [np.ones_like(s)]
        for j in range(1, k):
            cols += [np.cos(2 * np.pi * j * s), np.sin(2 * np.pi * j * s)]
    else:
        cols = [np.cos(j * np.pi * s) for j in range(k)]
    return np.stack(cols[:k], axis=1) if k else np.zeros((len(s), 0))


def data_rollout(D: Callable, R: Callable, x: np.ndarray, t: np.ndarray, u: np.ndarray, bc: str = "neumann",
                 min_nodes: int = 301, rtol: float = 1e-7, start: tuple | None = None) -> np.ndarray:
    """Simulate every run of the data ``u`` (runs, nt, nx) from its own first snapshot and return the
    fields at the data's nodes, ``(runs, nt, nx)``.

    ``start``: ``(xs, u0)``, the simulation grid and initial values, ``(runs, len(xs))`` (default
    :func:`simulation_start` of the first snapshots; an estimated initial condition replaces it). A
    grid other than the data's is interpolated back linearly. Dirichlet ends keep the first
    snapshot's end values. Raises :class:`FieldlabError` when the solver fails.
    """
    x, t, u = np.asarray(x, float), np.asarray(t, float), np.asarray(u, float)
    xs, u0 = simulation_start(x, u[:, 0, :], bc, min_nodes) if start is None else start
    same = len(xs) == len(x) and np.allclose(xs, x)
    out = []
    for run, v0 in zip(u, u0):
        sim = simulate1d(D, R, v0, xs, t, bc=bc, bc_values=(run[0, 0], run[0, -1]), rtol=rtol)
        out.append(sim if same else np.stack([np.interp(x, xs, row) for row in sim]))
    return np.stack(out)


def forecast_divergence(first: tuple, others: list, start: tuple, t: np.ndarray, bc: str = "neumann",
                        bc_values=(0.0, 0.0), horizon: float = 2.0, points: int = 21) -> list[dict]:
    r"""How far the forecasts of the closures ``others`` (each ``(D, R)``) part from that of ``first``,
    all simulated from ``start`` = ``(xs, u0)`` (a uniform grid and initial values on it); one dict
    per closure of ``others``, ``first`` simulated once.

    The relative L2 difference :math:`\lVert u_2(t) - u_1(t) \rVert / \lVert u_1(t) \rVert` at
    ``points`` equally spaced times from ``t[0]`` to ``t[0] + horizon (t[-1] - t[0])`` and at the
    data's last time ``t[-1]``: ``times``, ``difference``, and the values at the last observed
    time (``at_end``) and at the horizon (``at_horizon``, time ``t_horizon``); infinite where a
    simulation fails. Two closures that fit the data equally well but part soon after the window
    tell the user to observe longer.
    """
    xs, u0 = start
    t0, t1 = float(t[0]), float(t[-1])
    times = t0 + (t1 - t0) * np.union1d(np.linspace(0.0, horizon, points), [1.0])
    end = int(np.argmin(np.abs(times - t1)))

    def run(closure):
        try:
            return simulate1d(*closure, u0, xs, times, bc=bc, bc_values=bc_values, rtol=1e-7)
        except FieldlabError:
            return None

    a, out = (run(first) if others else None), []
    for closure in others:
        b = None if a is None else run(closure)
        rel = (np.full(len(times), np.inf) if b is None else
               np.linalg.norm(b - a, axis=1) / np.maximum(np.linalg.norm(a, axis=1), 1e-300))
        out.append({"at_end": float(rel[end]), "at_horizon": float(rel[-1]), "t_horizon": float(times[-1]),
                    "times": times.tolist(), "difference": rel.tolist()})
    return out
