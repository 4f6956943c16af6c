r"""Benchmark closures, observation regimes and initial conditions for closure discovery.

Each case is a true pair of closures in ``u_t = (D(u) u_x)_x + R(u)``:

============  ==========================================  ======================================
case          D(u)                                        R(u)
============  ==========================================  ======================================
case_a        ``0.01 + 0.05*u``                           ``u*(1 - u)``
case_b        ``0.01 + 0.03*u**2``                        ``u - 1.5*u**2 + 0.5*u**3``
case_c        ``0.01 + 0.08*u**2/(1 + 4*u**2)``           ``u/(1 + u) - 0.2*u``
case_exp      ``0.01 + 0.035*(1 - exp(-2.5*u))``          ``u*(1.1*exp(-1.4*u) - 0.22)``
case_allee    ``0.01 + 0.03*u``                           ``2*u*(1 - u)*(u - 0.2)``
case_porous   ``0.06*u**1.5``                             ``u*(1 - u)``
case_sigmoid  ``0.01 + 0.04/(1 + exp(-(u - 0.5)/0.08))``  ``0.8*u*(1 - u)``
case_sign     ``0.015 + 0.02*u``                          ``u*(1.2*exp(-2.5*u) - 0.35)``
============  ==========================================  ======================================

The first four (:data:`PAPER_CASES`) are the paper's; the last four (:data:`NEW_CASES`) test
generalisation: a bistable (strong Allee) reaction, whose fate depends on the threshold 0.2 (matched
by the cubic polynomial); a porous-medium diffusivity :math:`D_0 u^m`, degenerate at ``u = 0``
(the ``power`` family); a sigmoidal diffusivity (the ``sigmoid`` family); and a reaction whose sign
changes at ``u = 0.49``, inside the observed range (the ``exp`` family). The last three lie outside
the polynomial library (mismatched for ``strong-poly`` and ``weak-poly``).

**Setup** (all cases): ``x`` in ``[0, 1]`` with zero-flux (Neumann) ends, ``t`` in ``[0, T_END]``
with ``T_END = 3``. Over that time a bump of width 0.07 spreads by ``sqrt(2 D T)`` of 0.2 to 0.6
and the background grows by a factor of several, so diffusion and reaction both act visibly. The
truth is simulated by :func:`~fieldlab.discovery.solver.simulate1d` on ``NX_FINE = 401`` nodes
(``rtol = 1e-8``) and observed on every ``FINE_PER_OBS = 4``-th node (``NX_OBS = 101`` nodes,
spacing 0.01) at ``NT_OBS = 101`` equally spaced times (spacing 0.03): the observed nodes are
solver nodes, nothing is interpolated. Doubling the solver resolution changes the observed field
by less than ``1e-4``, far below the 1 % noise level (about 2e-3).

**Training initial condition** (:func:`training_ic`): a background of 0.05 with two Gaussian bumps,
heights 0.9 (at 0.25, width 0.07) and 0.5 (at 0.7, width 0.1), so the observed ``u`` spans about
``[0.05, 0.95]``. Data of several runs (``make_dataset(..., runs=k)``, at most ``len(TRAINING_ICS)``)
add further training initial conditions (:data:`TRAINING_ICS`, :func:`training_ics`): a ``step``
high on the right, ``0.1 + 0.8 (1 + tanh((x - 0.55)/0.06))/2``, a ``ripple`` of two full waves,
``0.5 + 0.35 cos(4 pi x)``, and a ``spike``, ``0.05 + 0.9 g(0.4, 0.04)``; each run is simulated and
observed like the first, and its states reach other levels at other times (the step and the ripple
start at a higher mean, so the reaction acts at higher ``u`` from the start).

**Validation initial conditions** (:func:`validation_ics`), never seen in training, all inside
``[0.05, 0.85]``: ``bump`` (one wide bump off-centre, at 0.6), ``front`` (a smooth tanh step, high
on the left), ``cosine`` (``0.25 + 0.2 cos(3 pi x)``, three half waves) and ``two_bumps`` (narrow
bumps near both ends over a background of 0.1). Their initial mass is close to the training one, so
over ``[0, T_END]`` their true trajectories stay inside the range the training data observe (for
every case, to within 0.01), where the discovered closures can be trusted.

**Regimes** (:data:`REGIMES`): the observed field is thinned to every ``x_stride``-th position and
every ``t_stride``-th time (both ends kept), then additive Gaussian noise is added, independently at
every observation, with standard deviation ``noise * std(u_clean)`` where ``std(u_clean)`` is the
standard deviation of the clean, thinned field over the whole data set. The noise comes from
``numpy.random.default_rng(seed)``: the same seed gives the same draws, so ``noise1`` and ``noise5``
with one seed differ only in scale.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ..errors import FieldlabError
from .data import Dataset
from .solver import simulate1d

__all__ = ["CASES", "NEW_CASES", "PAPER_CASES", "FINE_PER_OBS", "NT_OBS", "NX_FINE", "NX_OBS", "REGIMES", "TRAINING_ICS", "T_END", "Closure",
           "Regime", "fine_grid", "make_dataset", "observation_grid", "simulate_truth", "training_ic", "training_ics",
           "validation_ics"]

T_END = 3.0
NX_FINE = 401
FINE_PER_OBS = 4
NX_OBS = (NX_FINE - 1) // FINE_PER_OBS + 1  # 101
NT_OBS = 101
BC = "neumann"


# --------------------------------------------------------------------------------------- closures


@functools.lru_cache(maxsize=256)
def _parse(text: str):
    import sympy

    u = sympy.Symbol("u")
    try:
        expr = sympy.sympify(text, locals={"u": u})
    except (sympy.SympifyError, SyntaxError, TypeError, AttributeError) as e:
        raise FieldlabError(f"cannot parse closure '{text}' ({type(e).__name__}); write it in u with +, -, *, /, "
                            "** and functions such as exp, log, tanh.") from None
    if not isinstance(expr, sympy.Expr):
        raise FieldlabError(f"closure '{text}' is not an expression in u.")
    extra = sorted(str(s) for s in expr.free_symbols if s != u)
    if extra:
        raise FieldlabError(f"closure '{text}' uses unknown symbol(s) {', '.join(extra)}; only u is allowed.")
    return expr


def _numpy_fn(text: str):
    import sympy

    expr = _parse(text)
    f = sympy.lambdify(sympy.Symbol("u"), expr, modules="numpy")

    def fn(u):
        u = np.asarray(u, dtype=np.float64)
        v = np.asarray(f(u), dtype=np.float64)
        return v if v.shape == u.shape else np.full(u.shape, v)

    fn.__doc__ = f"{text} (vectorised in u)"
    return fn


@dataclass(frozen=True)
class Closure:
    """A pair of closures: ``D`` and ``R`` as SymPy-parsable strings in the variable ``u``."""

    name: str
    D: str
    R: str
    description: str = ""

    def __post_init__(self):
        _parse(self.D)
        _parse(self.R)

    @property
    def D_expr(self):
        """``D`` as a SymPy expression in the symbol ``u``."""
        return _parse(self.D)

    @property
    def R_expr(self):
        """``R`` as a SymPy expression in the symbol ``u``."""
        return _parse(self.R)

    def D_fn(self):
        """``D`` as a NumPy callable: an array of ``u`` in, an array of the same shape out."""
        return _numpy_fn(self.D)

    def R_fn(self):
        """``R`` as a NumPy callable: an array of ``u`` in, an array of the same shape out."""
        return _numpy_fn(self.R)


CASES: dict[str, Closure] = {c.name: c for c in (
    Closure("case_a", "0.01 + 0.05*u", "u*(1 - u)",
            "linear diffusivity, logistic growth (Fisher-KPP with porous-medium-like D)"),
    Closure("case_b", "0.01 + 0.03*u**2", "u - 1.5*u**2 + 0.5*u**3",
            "quadratic diffusivity, cubic reaction 0.5 u (1 - u)(2 - u), stable state u = 1"),
    Closure("case_c", "0.01 + 0.08*u**2/(1 + 4*u**2)", "u/(1 + u) - 0.2*u",
            "saturating rational diffusivity, Monod-type growth with linear loss (stable state u = 4)"),
    Closure("case_exp", "0.01 + 0.035*(1 - exp(-2.5*u))", "u*(1.1*exp(-1.4*u) - 0.22)",
            "exponentially saturating diffusivity, Ricker-type growth with loss (stable state u = ln(5)/1.4)"),
    Closure("case_allee", "0.01 + 0.03*u", "2*u*(1 - u)*(u - 0.2)",
            "linear diffusivity, bistable (strong Allee) reaction: u = 0 and u = 1 stable, threshold u = 0.2"),
    Closure("case_porous", "0.06*u**1.5", "u*(1 - u)",
            "porous-medium diffusivity D0 u^m with m = 1.5 (degenerate at u = 0), logistic growth"),
    Closure("case_sigmoid", "0.01 + 0.04/(1 + exp(-(u - 0.5)/0.08))", "0.8*u*(1 - u)",
            "sigmoidal diffusivity switching from 0.01 to 0.05 around u = 0.5, logistic growth"),
    Closure("case_sign", "0.015 + 0.02*u", "u*(1.2*exp(-2.5*u) - 0.35)",
            "linear diffusivity, a reaction that changes sign inside the observed range (at u = ln(24/7)/2.5 = 0.49)"),
)}

PAPER_CASES = ("case_a", "case_b", "case_c", "case_exp")  # the four cases of the discovery suite
NEW_CASES = ("case_allee", "case_porous", "case_sigmoid", "case_sign")  # the generalisation cases (issue 22)


# ---------------------------------------------------------------------------------------- regimes


@dataclass(frozen=True)
class Regime:
    """How the clean field is observed: relative noise level and thinning strides in x and t."""

    name: str
    noise: float
    x_stride: int
    t_stride: int
    description: str = ""


REGIMES: dict[str, Regime] = {r.name: r for r in (
    Regime("clean", 0.0, 1, 1, "full observation grid, no noise"),
    Regime("noise1", 0.01, 1, 1, "full grid, Gaussian noise at 1 % of std(u)"),
    Regime("noise5", 0.05, 1, 1, "full grid, Gaussian noise at 5 % of std(u)"),
    Regime("sparse_x", 0.0, 4, 1, "every 4th position (26 of 101), all times, no noise"),
    Regime("sparse_t", 0.0, 1, 4, "all positions, every 4th time (26 of 101), no noise"),
    Regime("sparse_xt", 0.0, 4, 4, "every 4th position and time (26 x 26), no noise"),
)}


# ----------------------------------------------------------------------------- initial conditions


def _bump(x, centre, width):
    return np.exp(-(((x - centre) / width) ** 2))


def training_ic(x) -> np.ndarray:
    """``0.05 + 0.9 g(0.25, 0.07) + 0.5 g(0.7, 0.1)`` with ``g(c, w) = exp(-((x - c)/w)^2)``."""
    x = np.asarray(x, dtype=np.float64)
    return 0.05 + 0.9 * _bump(x, 0.25, 0.07) + 0.5 * _bump(x, 0.7, 0.1)


TRAINING_ICS = ("training", "step", "ripple", "spike")  # the initial conditions of runs 0, 1, 2, 3


def _run_names(runs: int) -> tuple[str, ...]:
    if not 1 <= runs <= len(TRAINING_ICS):
        raise FieldlabError(f"the built-in cases have 1 to {len(TRAINING_ICS)} runs ({', '.join(TRAINING_ICS)}); "
                            f"got {runs}.")
    return TRAINING_ICS[:runs]


def training_ics(x, runs: int = 1) -> dict[str, np.ndarray]:
    """The first ``runs`` initial conditions of :data:`TRAINING_ICS` on ``x`` (see the module notes)."""
    names = _run_names(runs)
    x = np.asarray(x, dtype=np.float64)
    ics = {
        "training": training_ic(x),
        "step": 0.1 + 0.8 * 0.5 * (1.0 + np.tanh((x - 0.55) / 0.06)),
        "ripple": 0.5 + 0.35 * np.cos(4.0 * np.pi * x),
        "spike": 0.05 + 0.9 * _bump(x, 0.4, 0.04),
    }
    return {name: ics[name] for name in names}


def validation_ics(x) -> dict[str, np.ndarray]:
    """Unseen initial conditions on ``x`` (for ``[0, 1]``), all within ``[0.05, 0.85]``.

    - ``bump``: ``0.05 + 0.8 g(0.6, 0.12)``, one wide bump where training had a valley;
    - ``front``: ``0.05 + 0.75 (1 - tanh((x - 0.15)/0.04)) / 2``, a smooth step, high on the left;
    - ``cosine``: ``0.25 + 0.2 cos(3 pi x)``, three half waves, flat at both ends;
    - ``two_bumps``: ``0.1 + 0.6 g(0.15, 0.05) + 0.75 g(0.88, 0.06)``, narrow bumps near the ends.
    """
    x = np.asarray(x, dtype=np.float64)
    return {
        "bump": 0.05 + 0.8 * _bump(x, 0.6, 0.12),
        "front": 0.05 + 0.75 * 0.5 * (1.0 - np.tanh((x - 0.15) / 0.04)),
        "cosine": 0.25 + 0.2 * np.cos(3.0 * np.pi * x),
        "two_bumps": 0.1 + 0.6 * _bump(x, 0.15, 0.05) + 0.75 * _bump(x, 0.88, 0.06),
    }


# ---------------------------------------------------------------------------------------- data


def fine_grid() -> np.ndarray:
    """The solver grid: ``NX_FINE`` nodes on ``[0, 1]``."""
    return np.linspace(0.0, 1.0, NX_FINE)


def observation_grid() -> tuple[np.ndarray, np.ndarray]:
    """``(x, t)`` of the full observation grid: every ``FINE_PER_OBS``-th solver node, ``NT_OBS`` times."""
    return fine_grid()[::FINE_PER_OBS], np.linspace(0.0, T_END, NT_OBS)


def simulate_truth(closure: Closure, u0, x, t, bc: str = BC, **kwargs) -> np.ndarray:
    """Roll ``closure`` forward from ``u0`` with :func:`~fieldlab.discovery.solver.simulate1d`."""
    return simulate1d(closure.D_fn(), closure.R_fn(), u0, x, t, bc=bc, **kwargs)


def _lookup(table: dict, name: str, kind: str):
    if name not in table:
        raise FieldlabError(f"unknown {kind} '{name}'; choose one of {', '.join(table)}.")
    return table[name]


@functools.lru_cache(maxsize=None)
def _clean(case: str, ic: str = "training") -> np.ndarray:
    """The clean field from the training initial condition ``ic`` on the full observation grid,
    ``(NT_OBS, NX_OBS)``, read-only (cached)."""
    xf = fine_grid()
    _, t = observation_grid()
    u0 = training_ics(xf, len(TRAINING_ICS))[ic]
    u = simulate_truth(CASES[case], u0, xf, t)[:, ::FINE_PER_OBS]
    u.setflags(write=False)
    return u


def make_dataset(case: str, regime: str = "clean", seed: int = 0, runs: int = 1, noise: float | None = None) -> Dataset:
    """The observed data set of ``case`` under ``regime``: thinned, with seeded noise (see the module notes).

    ``runs > 1``: ``u`` of shape ``(runs, nt, nx)``, run ``j`` from the initial condition
    ``TRAINING_ICS[j]``; the noise level is relative to the standard deviation over all runs. The
    first run's clean field is the one-run data set's, and with one seed so are its standard normal noise
    draws (scaled by the standard deviation over all runs). ``noise``: a relative noise level in place
    of the regime's (for example to keep the information of ``runs`` runs that of one:
    ``0.01 * sqrt(runs)``)."""
    from .system_cases import SYSTEM_CASES, make_system_dataset

    if case in SYSTEM_CASES:  # 2-D and two-species cases
        return make_system_dataset(case, regime, seed, runs, noise)
    closure = _lookup(CASES, case, "case")
    reg = _lookup(REGIMES, regime, "regime")
    names = list(_run_names(runs))
    x, t = observation_grid()
    x, t = x[:: reg.x_stride], t[:: reg.t_stride]
    u = np.array([_clean(case, ic)[:: reg.t_stride, :: reg.x_stride] for ic in names])
    level = reg.noise if noise is None else float(noise)
    if not level >= 0:
        raise FieldlabError(f"the noise level must be >= 0; got {noise}.")
    sigma = level * float(np.std(u))
    if sigma > 0:
        u = u + np.random.default_rng(seed).normal(0.0, sigma, size=u.shape)
    meta = {
        "case": case, "regime": regime, "seed": int(seed),
        "noise": level, "noise_sigma": sigma, "x_stride": reg.x_stride, "t_stride": reg.t_stride,
        "T": T_END, "D": closure.D, "R": closure.R, "bc": BC, "initial_condition": names[0] if runs == 1 else names,
        "nx_solver": NX_FINE,
    }
    return Dataset(x, t, u, meta)
