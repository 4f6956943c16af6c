r"""Built-in cases beyond one species in 1-D: a 2-D closure and two-species systems.

===============  ====  =========================  ===========================================
case             dim   D                          R
===============  ====  =========================  ===========================================
fisher2d         2     ``0.005 + 0.02*u``         ``u*(1 - u)``
predator_prey    1     ``0.004 + 0.006*u``;       ``u - u**2 - u*v``;
                       ``0.003``                  ``0.8*u*v - 0.4*v``
brusselator      1     ``0.01``; ``0.004``        ``1 - 2.8*u + u**2*v``; ``1.8*u - u**2*v``
schnakenberg2d   2     ``0.002``; ``0.008``       ``0.1 - u + u**2*v``; ``0.9 - u**2*v``
===============  ====  =========================  ===========================================

``fisher2d`` is Fisher-KPP with a linear (porous-medium-like) diffusivity on the unit square:
the bumps grow to 1 and spread. ``predator_prey`` is a Lotka-Volterra system with logistic prey
``u`` and predator ``v`` (coexistence state ``(0.5, 0.5)``, a damped oscillation), the prey's
diffusivity growing with its density. ``brusselator`` is the Brusselator with ``A = 1`` and
``B = 1.8`` (below the Hopf threshold ``1 + A^2``: a damped oscillation towards ``(A, B/A)``),
whose ``u^2 v`` term couples the species at degree 3. ``schnakenberg2d`` is the Schnakenberg
system on the unit square (``a = 0.1``, ``b = 0.9``: a damped oscillation towards ``(1, 0.9)``;
the diffusivities' ratio 4 is below the Turing threshold). All have zero-flux (Neumann) boundaries.

**Data** (:func:`make_system_dataset`): the truth is simulated on a fine grid (1-D: 401 nodes on
``[0, 1]`` by :func:`~.coupled.simulate_system`; 2-D: 97 x 97 nodes on ``[0, 1]^2`` by
:func:`~.solver.simulate2d`, two species in 2-D 65 x 65 by :func:`~.coupled.simulate_system`) and
observed on every 4th (1-D: 101 nodes), 3rd or 2nd node (2-D: 33 x 33), at :data:`NT_OBS` equally spaced times over ``[0, T]``; nothing is interpolated. Noise as
in :mod:`.cases`: Gaussian, independent at every observation, with standard deviation ``noise``
times the standard deviation of that species' clean field, from ``numpy.random.default_rng(seed)``.
Only the regimes without thinning (``clean``, ``noise1``, ``noise5``) apply.

**Initial conditions**: each case has training initial conditions (runs 0, 1, ...; one by default)
and validation ones never seen in training (:func:`system_ics`), smooth, inside the range the
training runs visit.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ..errors import FieldlabError
from .data import Dataset

__all__ = ["NT_OBS", "SYSTEM_CASES", "SystemCase", "fine_axes", "make_system_dataset", "system_ics"]

NT_OBS = {1: 81, 2: 81}
FINE = {1: (401, 4), 2: (97, 3)}  # fine nodes per axis, observed every k-th (by dimension; FINE_CASE overrides)
FINE_CASE = {"schnakenberg2d": (65, 2)}
BC = "neumann"


@functools.lru_cache(maxsize=64)
def _parse(text: str, names: tuple[str, ...]):
    import sympy

    symbols = {n: sympy.Symbol(n) for n in names}
    try:
        expr = sympy.sympify(text, locals=symbols)
    except (sympy.SympifyError, SyntaxError, TypeError, AttributeError) as e:
        raise FieldlabError(f"cannot parse law '{text}' ({type(e).__name__}).") from None
    extra = sorted(str(s) for s in expr.free_symbols if str(s) not in names)
    if extra:
        raise FieldlabError(f"law '{text}' uses unknown symbol(s) {', '.join(extra)}; allowed: {', '.join(names)}.")
    return expr


def _lambdify(text: str, names: tuple[str, ...]):
    import sympy

    f = sympy.lambdify([sympy.Symbol(n) for n in names], _parse(text, names), modules="numpy")

    def fn(*w):
        w = [np.asarray(a, dtype=np.float64) for a in w]
        return np.broadcast_to(np.asarray(f(*w), dtype=np.float64), np.broadcast(*w).shape).copy()

    return fn


@dataclass(frozen=True)
class SystemCase:
    """A true system: per species, ``D`` in that species' symbol and ``R`` in all species' symbols."""

    name: str
    dim: int
    D: tuple[str, ...]
    R: tuple[str, ...]
    T: float
    description: str = ""

    @property
    def species(self) -> tuple[str, ...]:
        return ("u", "v")[:len(self.D)]

    def D_fns(self) -> list:
        """One NumPy callable per species: its diffusivity at its own values."""
        return [_lambdify(d, (n,)) for d, n in zip(self.D, self.species)]

    def R_fn(self):
        """The reactions for fields stacked on the first axis, ``(S, ...)`` in and out."""
        fns = [_lambdify(r, self.species) for r in self.R]
        return lambda w: np.stack([f(*w) for f in fns])

    def coefficients(self) -> list[dict[str, float]]:
        """Per species ``{"D:<term>": c, "R:<term>": c}``, the keys of :meth:`~.species.SpeciesLaw.coefficients`
        (raises for a law that is not a polynomial)."""
        import sympy

        from .species import monomial_text

        out = []
        for name, d, r in zip(self.species, self.D, self.R):
            entry = {}
            for kind, text, names in (("D", d, (name,)), ("R", r, self.species)):
                poly = sympy.Poly(sympy.expand(_parse(text, names)), *[sympy.Symbol(n) for n in names])
                for e, c in poly.terms():
                    entry[f"{kind}:{monomial_text(e, names) or '1'}"] = float(c)
            out.append(entry)
        return out


SYSTEM_CASES: dict[str, SystemCase] = {c.name: c for c in (
    SystemCase("fisher2d", 2, ("0.005 + 0.02*u",), ("u*(1 - u)",), 2.0,
               "Fisher-KPP on the unit square with a linear (porous-medium-like) diffusivity"),
    SystemCase("predator_prey", 1, ("0.004 + 0.006*u", "0.003"), ("u - u**2 - u*v", "0.8*u*v - 0.4*v"), 10.0,
               "Lotka-Volterra predator-prey with logistic prey and density-dependent prey diffusivity"),
    SystemCase("brusselator", 1, ("0.01", "0.004"), ("1 - 2.8*u + u**2*v", "1.8*u - u**2*v"), 6.0,
               "Brusselator, A = 1, B = 1.8 (damped oscillation towards (1, 1.8))"),
    SystemCase("schnakenberg2d", 2, ("0.002", "0.008"), ("0.1 - u + u**2*v", "0.9 - u**2*v"), 5.0,
               "Schnakenberg on the unit square, a = 0.1, b = 0.9 (damped oscillation towards (1, 0.9))"),
)}


def _g(z, c, w):
    return np.exp(-(((z - c) / w) ** 2))


def system_ics(case: str, axes, kind: str = "training") -> dict[str, np.ndarray]:
    """Initial conditions of ``case`` on ``axes`` (``(x,)`` or ``(x, y)``, within ``[0, 1]``), each ``(S, *space)``:
    ``kind="training"`` (in run order) or ``"validation"`` (never seen in training)."""
    c = _lookup(case)
    if kind not in ("training", "validation"):
        raise FieldlabError(f"kind must be 'training' or 'validation'; got '{kind}'.")
    if case == "schnakenberg2d":
        x, y = np.meshgrid(*axes, indexing="ij")
        sets = {"training": {"bumps": (1.0 + 0.6 * _g(x, 0.3, 0.12) * _g(y, 0.35, 0.12), 0.9 - 0.4 * _g(x, 0.65, 0.15) * _g(y, 0.6, 0.15)),
                             "waves": (1.0 - 0.4 * np.cos(np.pi * x) * np.cos(np.pi * y), 0.9 + 0.3 * np.cos(2 * np.pi * y))},
                "validation": {"front": (0.7 + 0.6 * 0.5 * (1 + np.tanh((x - y) / 0.1)), 0.9 + 0.3 * _g(x, 0.3, 0.15) * _g(y, 0.7, 0.15)),
                               "cosine": (1.0 + 0.3 * np.cos(2 * np.pi * x), 0.9 - 0.3 * np.cos(np.pi * x) * np.cos(np.pi * y))}}
        return {k: np.stack(v) for k, v in sets[kind].items()}
    if c.dim == 2:
        x, y = np.meshgrid(*axes, indexing="ij")
        sets = {"training": {"two_bumps": 0.05 + 0.9 * _g(x, 0.3, 0.1) * _g(y, 0.3, 0.1) + 0.5 * _g(x, 0.7, 0.12) * _g(y, 0.65, 0.12),
                             "stripe": 0.1 + 0.7 * 0.5 * (1 + np.tanh((x - 0.4) / 0.06)) * _g(y, 0.5, 0.3)},
                "validation": {"bump": 0.05 + 0.8 * _g(x, 0.6, 0.14) * _g(y, 0.35, 0.14),
                               "front": 0.05 + 0.75 * 0.5 * (1 - np.tanh((x + y - 0.5) / 0.08)),
                               "cosine": 0.25 + 0.2 * np.cos(2 * np.pi * x) * np.cos(np.pi * y)}}
        return {k: v[None] for k, v in sets[kind].items()}
    (x,) = axes
    if case == "predator_prey":
        sets = {"training": {"bumps": (0.3 + 0.6 * _g(x, 0.25, 0.08), 0.2 + 0.4 * _g(x, 0.7, 0.1)),
                             "waves": (0.6 + 0.3 * np.cos(2 * np.pi * x), 0.5 - 0.3 * np.cos(3 * np.pi * x))},
                "validation": {"front": (0.2 + 0.6 * 0.5 * (1 - np.tanh((x - 0.4) / 0.06)), 0.3 + 0.3 * _g(x, 0.8, 0.1)),
                               "cosine": (0.5 + 0.25 * np.cos(np.pi * x), 0.45 + 0.25 * np.cos(2 * np.pi * x))}}
    else:
        sets = {"training": {"bumps": (1.0 + 0.8 * _g(x, 0.3, 0.08), 1.8 - 0.8 * _g(x, 0.65, 0.1)),
                             "waves": (1.2 - 0.5 * np.cos(2 * np.pi * x), 1.5 + 0.5 * np.cos(3 * np.pi * x))},
                "validation": {"front": (0.6 + 0.8 * 0.5 * (1 + np.tanh((x - 0.5) / 0.06)), 1.8 + 0.4 * _g(x, 0.2, 0.1)),
                               "cosine": (1.0 + 0.4 * np.cos(np.pi * x), 1.8 - 0.4 * np.cos(2 * np.pi * x))}}
    return {k: np.stack(v) for k, v in sets[kind].items()}


def _lookup(case: str) -> SystemCase:
    if case not in SYSTEM_CASES:
        raise FieldlabError(f"unknown system case '{case}'; choose one of {', '.join(SYSTEM_CASES)}.")
    return SYSTEM_CASES[case]


def fine_axes(case: str) -> tuple[np.ndarray, ...]:
    """The solver grid of ``case``: ``(x,)`` or ``(x, y)`` on ``[0, 1]`` (see the module notes)."""
    c = _lookup(case)
    return (np.linspace(0.0, 1.0, _fine(case)[0]),) * c.dim


def _fine(case: str) -> tuple[int, int]:
    return FINE_CASE.get(case, FINE[_lookup(case).dim])


def observation_times(case: str) -> np.ndarray:
    c = _lookup(case)
    return np.linspace(0.0, c.T, NT_OBS[c.dim])


def simulate_case(case: str, w0: np.ndarray, axes, t) -> np.ndarray:
    """The true trajectory from ``w0`` (``(S, *space)``), ``(nt, S, *space)``: by :func:`~.solver.simulate2d` for one
    species in 2-D (rows transposed to ``(x, y)``), else by :func:`~.coupled.simulate_system`."""
    c = _lookup(case)
    if c.dim == 2 and len(c.species) == 1:
        from .solver import simulate2d

        D, R = c.D_fns()[0], c.R_fn()
        return simulate2d(D, lambda u: R(u[None])[0], w0[0].T, axes[0], axes[1], t, bc=BC).transpose(0, 2, 1)[:, None]
    from .coupled import simulate_system

    return simulate_system(c.D_fns(), c.R_fn(), w0, axes, t, bc=BC)


@functools.lru_cache(maxsize=None)
def _clean(case: str, ic: str) -> np.ndarray:
    axes = fine_axes(case)
    k = _fine(case)[1]
    w = simulate_case(case, system_ics(case, axes)[ic], axes, observation_times(case))
    w = w[(slice(None), slice(None)) + (slice(None, None, k),) * len(axes)]
    w.setflags(write=False)
    return w


def make_system_dataset(case: str, regime: str = "clean", seed: int = 0, runs: int = 1,
                        noise: float | None = None) -> Dataset:
    """The observed data set of a system case (see the module notes): ``u`` (and ``v``) of shape
    ``(nt, nx[, ny])``, or ``(runs, nt, nx[, ny])`` for ``runs > 1``; ``noise`` overrides the regime's level."""
    from .cases import REGIMES

    c = _lookup(case)
    if regime not in REGIMES or REGIMES[regime].x_stride != 1 or REGIMES[regime].t_stride != 1:
        raise FieldlabError(f"system cases take the regimes clean, noise1 or noise5; got '{regime}'.")
    names = list(system_ics(case, fine_axes(case)))
    if not 1 <= runs <= len(names):
        raise FieldlabError(f"case {case} has 1 to {len(names)} runs ({', '.join(names)}); got {runs}.")
    w = np.stack([_clean(case, ic) for ic in names[:runs]], axis=2)  # (nt, S, runs, *space)
    w = np.moveaxis(w, 1, 0)  # (S, nt, runs, *space)
    w = np.moveaxis(w, 2, 1)  # (S, runs, nt, *space)
    level = REGIMES[regime].noise if noise is None else float(noise)
    if not level >= 0:
        raise FieldlabError(f"the noise level must be >= 0; got {noise}.")
    sigmas = [level * float(np.std(s)) for s in w]
    rng = np.random.default_rng(seed)
    fields = [s + rng.normal(0.0, sig, size=s.shape) if sig > 0 else np.array(s) for s, sig in zip(w, sigmas)]
    fields = [f[0] if runs == 1 else f for f in fields]
    k = _fine(case)[1]
    axes = [a[::k] for a in fine_axes(case)]
    meta = {"case": case, "regime": regime, "seed": int(seed), "noise": level, "noise_sigma": sigmas, "T": c.T,
            "D": list(c.D), "R": list(c.R), "bc": BC, "initial_condition": names[0] if runs == 1 else names[:runs],
            "fine_nodes": _fine(case)[0]}
    return Dataset(axes[0], observation_times(case), fields[0], meta, y=axes[1] if c.dim == 2 else None,
                   v=fields[1] if len(fields) > 1 else None)
