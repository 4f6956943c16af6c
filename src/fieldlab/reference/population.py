r"""Age-structured population (McKendrick-von Foerster): model data and the method of characteristics.

.. math::

    p_t + p_a = -\mu(a)\, p, \qquad p(a, t_0) = p_0(a), \qquad
    p(0, t) = B(t) = \int_0^{A} \beta(a, t)\, p(a, t)\, da,

``p(a, t)`` persons per year of age at age ``a`` and time ``t`` (years), ``mu`` the mortality
(deaths per person per year), ``beta`` the fertility (births per person per year; a female share
is folded into it). No condition at ``a = A``: people older than ``A`` leave the model (outflow).

Along a characteristic ``a - t = const`` the solution decays by the survival
``exp(-(M(a) - M(a')))``, ``M(a) = int_0^a mu`` the cumulative hazard, which
:func:`characteristics` uses exactly. Only the birth integral is approximated (trapezoid rule on the
age grid), so the method is of order 2 when the integrand has no jump. Where the initial data and the
birth law disagree at the corner (``p_0(0) != B(t_0)``), the solution jumps along ``a = t - t_0``;
carrying the mean of the two one-sided limits on that characteristic (``corner="average"``) keeps
order 2 (a jump at a trapezoid node with the mean value there is integrated to ``O(h^2)``);
``corner="initial"`` (``p_0(0)``) is first order. (Method: Kim & Park 1995, "A numerical method for
age-structured population dynamics"; the corner treatment is the midpoint rule for a jump.)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

__all__ = ["PopulationModel", "characteristics", "indicators", "hermite", "pchip_slopes"]


@dataclasses.dataclass(frozen=True)
class PopulationModel:
    """The data of an age-structured population model, in persons, years of age and calendar years.

    Every function takes an array namespace ``xp`` (``numpy`` or ``jax.numpy``) as its last
    argument, so that the same formulas serve the float64 reference and the network's residuals.

    Args:
        mortality: ``mu(a, xp)``, deaths per person per year.
        cumulative_hazard: ``M(a, xp) = int_0^a mu``, for exact survival along characteristics.
        fertility: ``beta(a, t, xp)``, births per person per year, zero at ``a = 0``.
        initial: ``p0(a, xp)``, persons per year of age at ``t0``.
        ages: ``(0, A)``, the age range.
        years: ``(t0, t1)``, the time range.
        fertile: ``(lo, hi)``, an age range outside which ``beta`` vanishes (or is negligible).
    """

    mortality: Callable
    cumulative_hazard: Callable
    fertility: Callable
    initial: Callable
    ages: tuple[float, float]
    years: tuple[float, float]
    fertile: tuple[float, float]


def _trapezoid_weights(n: int, h: float) -> np.ndarray:
    w = np.full(n, h)
    w[[0, -1]] *= 0.5
    return w


def characteristics(model: PopulationModel, h: float, corner: str = "average", every: float = 1.0):
    """Solve by the method of characteristics on the grid ``da = dt = h``.

    ``p_j^{n+1} = p_{j-1}^n exp(-(M(a_j) - M(a_{j-1})))`` (exact survival) and the newborn node
    ``p_0^{n+1} = sum_j w_j beta(a_j, t_{n+1}) p_j^{n+1}`` (trapezoid; explicit since
    ``beta(0, t) = 0``). ``h`` must divide the age range, the time range and ``every``.

    Returns ``(ages (J+1,), times (K,), p (J+1, K))``, the solution at every ``every`` years
    (``t0, t0 + every, ..., t1``) on the full age grid; the column at ``t0`` is ``p0`` itself.
    """
    (a0, amax), (t0, t1) = model.ages, model.years
    J, N, stride = (int(round(v / h)) for v in (amax - a0, t1 - t0, every))
    if not (np.isclose(J * h, amax - a0) and np.isclose(N * h, t1 - t0) and np.isclose(stride * h, every)):
        raise ValueError(f"h = {h} must divide the age range, the time range and the output interval.")
    a = a0 + h * np.arange(J + 1)
    survive = np.exp(-np.diff(model.cumulative_hazard(a, np)))
    w = _trapezoid_weights(J + 1, h)
    p = model.initial(a, np).astype(np.float64)
    out = [p.copy()]  # the initial data themselves; the corner value below is the scheme's device
    if corner == "average":
        p[0] = 0.5 * (p[0] + np.sum(w * model.fertility(a, t0, np) * p))
    elif corner != "initial":
        raise ValueError("corner must be 'average' or 'initial'.")
    for n in range(1, N + 1):
        t = t0 + n * h
        p[1:] = p[:-1] * survive
        p[0] = np.sum(w[1:] * model.fertility(a[1:], t, np) * p[1:])
        if n % stride == 0:
            out.append(p.copy())
    times = t0 + every * np.arange(len(out))
    return a, times, np.stack(out, axis=1)


def indicators(model: PopulationModel, ages: np.ndarray, times: np.ndarray, p: np.ndarray) -> dict[str, np.ndarray]:
    r"""Demographic indicators from ``p (len(ages), len(times))`` on an age grid (trapezoid rule).

    - ``total`` ``N(t) = int_0^A p da`` (persons);
    - ``births`` ``B(t) = int beta(a, t) p(a, t) da`` (persons per year; the birth law, which equals
      ``p(0, t)`` for ``t > t0``, and is the law's value at ``t0`` where the initial data disagree);
    - ``deaths`` ``D(t) = int mu(a) p(a, t) da`` (persons per year, ages below ``A``);
    - ``oadr`` old-age dependency ratio ``100 int_65^A p / int_15^65 p`` (percent);
    - ``share65`` ``100 int_65^A p / N`` (percent).

    Ages 15 and 65 must be grid nodes (they are for any uniform grid with a step dividing 5).
    """
    ages = np.asarray(ages, np.float64)

    def integral(f, lo=-np.inf, hi=np.inf):
        keep = (ages >= lo - 1e-9) & (ages <= hi + 1e-9)
        return np.trapezoid(f[keep], ages[keep], axis=0)

    for edge in (15.0, 65.0):
        if not np.isclose(ages, edge).any():
            raise ValueError(f"age {edge:g} must be a node of the age grid.")
    beta = np.stack([model.fertility(ages, t, np) * np.ones_like(ages) for t in times], axis=1)
    mu = model.mortality(ages, np)[:, None]
    old, work = integral(p, 65.0), integral(p, 15.0, 65.0)
    total = integral(p)
    return {"year": np.asarray(times, np.float64), "total": total, "births": integral(beta * p),
            "deaths": integral(mu * p), "oadr": 100 * old / work, "share65": 100 * old / total}


def pchip_slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Slopes of the monotone piecewise cubic Hermite interpolant (Fritsch-Carlson, as SciPy's PCHIP)."""
    from scipy.interpolate import PchipInterpolator

    return PchipInterpolator(x, y).derivative()(x)


def hermite(x, knots: np.ndarray, values: np.ndarray, slopes: np.ndarray, xp=np):
    """The piecewise cubic Hermite interpolant through ``(knots, values)`` with ``slopes``, at ``x``;
    constant extrapolation. Works with NumPy and JAX (``xp``)."""
    k = xp.clip(xp.searchsorted(xp.asarray(knots), x, side="right") - 1, 0, len(knots) - 2)
    x0, x1 = xp.asarray(knots)[k], xp.asarray(knots)[k + 1]
    y0, y1 = xp.asarray(values)[k], xp.asarray(values)[k + 1]
    d0, d1 = xp.asarray(slopes)[k], xp.asarray(slopes)[k + 1]
    hh = x1 - x0
    s = xp.clip((x - x0) / hh, 0.0, 1.0)
    h00, h10 = (1 + 2 * s) * (1 - s) ** 2, s * (1 - s) ** 2
    h01, h11 = s**2 * (3 - 2 * s), s**2 * (s - 1)
    return h00 * y0 + h10 * hh * d0 + h01 * y1 + h11 * hh * d1
