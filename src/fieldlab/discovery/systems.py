r"""Discovery for 2-D data and two-species systems: the methods' results, forecasts, ``closures.json`` and ``report.md``.

:func:`~.pipeline.run_discovery` hands a data set whose :attr:`~.data.Dataset.kind` is not ``"1d"``
to :func:`run_system_discovery`, which

1. runs the registered methods that support the data's kind (:func:`~.pipeline.discover`);
2. validates every method's closures by forward re-simulation:

   - with a truth (a built-in case of :mod:`.system_cases`): coefficient errors against the true
     polynomial laws (per species, for ``D`` and ``R``: :math:`\lVert \hat c - c\rVert_2 / \lVert c\rVert_2`
     over the union of the terms, and the largest relative error of a true term), law errors over the
     observed states (:math:`\lVert \hat f - f\rVert_2 / \lVert f\rVert_2`, ``D`` on an equispaced grid
     of each species' observed range, ``R`` at the observed states), and **forecasts** of the
     case's validation initial conditions, never seen in training: the discovered system and the true
     one simulated on the case's fine grid over the data's time window, relative L2 over all times,
     species and nodes;
   - without a truth (a data file): a rollout of every run from its first snapshot on the data grid
     (uniform grids only), compared with the data (a consistency check on seen data);

3. validates on a held-out window (:func:`holdout`: refitted on the first 75 % of the time window,
   forecasting the rest of it from each run's first snapshot), for every data set on a uniform grid;
4. assesses whether the closures generalise (:mod:`.systems_assess`, the counterpart of :mod:`.assess`):
   support per species, ensemble bands, forecast flags of unseen initial conditions (a built-in case's
   validation ones, with their actual error) and a proposed experiment;
5. writes ``closures.json`` (the laws, their coefficients, the metrics and the ``"assessment"``) and
   ``report.md`` (with the assessment's "Does it generalise?" section).

Re-simulation: one species in 2-D by :func:`~.solver.simulate2d` (the data's ``(x, y)`` layout
transposed to its rows-are-``y`` one), systems by :func:`~.coupled.simulate_system`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import FieldlabError
from .data import Dataset
from .methods import Found

__all__ = ["SystemFound", "coefficient_errors", "run_system_discovery", "simulate_found", "system_report"]


@dataclasses.dataclass
class SystemFound(Found):
    """A :class:`~.methods.Found` for several species: ``D`` one callable per species, ``R`` the stacked reactions
    (``(S, ...)`` in and out), and the laws (:class:`~.species.SpeciesLaw`) with their formulas."""

    laws: tuple = ()

    @classmethod
    def of(cls, name: str, fit, seconds: float) -> SystemFound:
        """From a :class:`~.species.SystemFit`."""
        family = {"D": "polynomial in the own species", "R": "polynomial in all species"}
        return cls(name, tuple(law.D for law in fit.laws), fit.reaction, None, None, family, seconds,
                   {"test_functions": fit.rows, "independent": fit.n_independent, "_fit": fit}, laws=fit.laws)

    def record(self) -> dict:
        info = {k: v for k, v in self.info.items() if not k.startswith("_")}
        species = {law.name: {"D": law.D_expr, "R": law.R_expr, "coefficients": law.coefficients(), "bic": law.bic,
                              "aic": law.aic} for law in self.laws}
        return {"family": self.family, "species": species, "seconds": round(self.seconds, 3), **info}


def coefficients_of(found: Found, names: tuple[str, ...]) -> list[dict[str, float]]:
    """Per species ``{"D:<term>": c, "R:<term>": c}`` of a method's polynomial laws (keys as
    :meth:`~.species.SpeciesLaw.coefficients`)."""
    if isinstance(found, SystemFound):
        return [law.coefficients() for law in found.laws]
    c = found.info.get("coefficients")
    if c is None:
        raise FieldlabError(f"method {found.method} has no polynomial coefficients to compare.")
    from .species import monomial_text

    term = lambda k: monomial_text((k,), names[:1]) or "1"  # noqa: E731
    return [{f"D:{term(k)}": float(v) for k, v in enumerate(c["D"]) if v != 0}
            | {f"R:{term(k)}": float(v) for k, v in enumerate(c["R"]) if v != 0}]


def coefficient_errors(found: list[dict], truth: list[dict]) -> list[dict]:
    """Per species: relative L2 error of the ``D`` and ``R`` coefficients over the union of the terms, the largest
    relative error of a true term (``max_true``), and the terms found that the truth lacks (``spurious``)."""
    out = []
    for f, tr in zip(found, truth):
        entry = {}
        for kind in ("D", "R"):
            keys = sorted({k for k in f | tr if k.startswith(kind + ":")})
            a, b = np.array([f.get(k, 0.0) for k in keys]), np.array([tr.get(k, 0.0) for k in keys])
            entry[kind] = float(np.linalg.norm(a - b) / np.linalg.norm(b))
        entry["max_true"] = max(abs(f.get(k, 0.0) - c) / abs(c) for k, c in tr.items())
        entry["spurious"] = sorted(k for k in f if k not in tr)
        out.append(entry)
    return out


def simulate_found(found: Found, w0: np.ndarray, axes, t, bc: str = "neumann") -> np.ndarray:
    """Re-simulate a method's closures from ``w0`` (``(S, *space)``): ``(nt, S, *space)``."""
    if isinstance(found, SystemFound):
        from .coupled import simulate_system

        return simulate_system(list(found.D), found.R, w0, axes, t, bc=bc)
    if len(axes) == 2:
        from .solver import simulate2d

        return simulate2d(found.D, found.R, w0[0].T, axes[0], axes[1], t, bc=bc).transpose(0, 2, 1)[:, None]
    raise FieldlabError(f"method {found.method} gives a 1-D scalar closure; the 1-D pipeline re-simulates it.")


def _rel(a, b) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def _forecast(found: Found, w0, axes, t, bc, reference) -> dict:
    try:
        w = simulate_found(found, w0, axes, t, bc)
    except FieldlabError as e:
        return {"rel_l2": float("inf"), "species": None, "error": str(e)}
    return {"rel_l2": _rel(w, reference), "species": [_rel(w[:, s], reference[:, s]) for s in range(w.shape[1])],
            "error": None}


def _states(ds: Dataset, most: int = 20000) -> np.ndarray:
    """Observed states ``(S, n)``, at most ``most`` of them (every k-th)."""
    w = np.stack([getattr(ds, k).ravel() for k in ds.species])
    return w[:, :: max(1, w.shape[1] // most)]


def evaluate_systems(found: dict[str, Found], ds: Dataset, truth=None, ics=None, axes=None, t=None,
                     bc: str = "neumann") -> dict[str, dict]:
    """Metrics per method (see the module notes): with ``truth`` (a :class:`~.system_cases.SystemCase`), ``ics``
    (name -> ``(S, *space)`` on ``axes``) and ``t``; without, rollouts of the data's runs."""
    metrics = {m: {} for m in found}
    if truth is not None:
        if not ics:
            raise FieldlabError("validation against a truth needs initial conditions (ics).")
        from .system_cases import simulate_case

        true_coef, states = truth.coefficients(), _states(ds)
        D_true, R_true = truth.D_fns(), truth.R_fn()
        references = {name: simulate_case(truth.name, w0, axes, t) for name, w0 in ics.items()}
        for m, f in found.items():
            mt = metrics[m]
            mt["coefficients"] = coefficient_errors(coefficients_of(f, ds.species), true_coef)
            D_hat = list(f.D) if isinstance(f, SystemFound) else [f.D]
            R_hat = f.R(states) if isinstance(f, SystemFound) else f.R(states[0])[None]
            grids = [np.linspace(s.min(), s.max(), 256) for s in states]
            mt["ErrD"] = [_rel(Dh(g), Dt(g)) for Dh, Dt, g in zip(D_hat, D_true, grids)]
            mt["ErrR"] = [_rel(a, b) for a, b in zip(R_hat, R_true(states))]
            mt["forecast"] = {name: _forecast(f, ics[name], axes, t, bc, ref) for name, ref in references.items()}
            mt["forecast_mean"] = float(np.mean([c["rel_l2"] for c in mt["forecast"].values()]))
        return metrics
    axes = (ds.x,) if ds.y is None else (ds.x, ds.y)
    if not all(np.allclose(np.diff(z), z[1] - z[0], rtol=1e-6) for z in axes):
        return metrics
    data = np.stack([getattr(ds, k).reshape((ds.runs, ds.t.size) + ds.space_shape) for k in ds.species], axis=2)
    for m, f in found.items():
        rolls = {f"run{j}": _forecast(f, run[0], axes, ds.t, bc, run) for j, run in enumerate(data)}
        metrics[m]["rollout"] = rolls
        metrics[m]["rollout_mean"] = float(np.mean([r["rel_l2"] for r in rolls.values()]))
    return metrics


HOLDOUT = 0.75  # share of the time window the held-out refit sees


def holdout(methods, ds: Dataset, bc: str = "neumann", share: float = HOLDOUT, criterion: str = "bic") -> dict:
    """Held-out validation: every method refitted on the first ``share`` of the time window (all runs), each run
    re-simulated from its first snapshot over the whole window on the data grid, and the relative L2 distance to
    the data over the held-out times (the data's noise included). ``{method: error}`` (infinite where a simulation
    fails); ``{}`` on a non-uniform grid or a window too short to split."""
    from .pipeline import discover

    axes = (ds.x,) if ds.y is None else (ds.x, ds.y)
    k = int(round(share * (ds.t.size - 1)))
    if not all(np.allclose(np.diff(z), z[1] - z[0], rtol=1e-6) for z in axes) or k >= ds.t.size - 1:
        return {}
    fields = {name: getattr(ds, name).reshape((ds.runs, ds.t.size) + ds.space_shape) for name in ds.species}
    part = Dataset(ds.x, ds.t[:k + 1], fields["u"][:, :k + 1], ds.meta, y=ds.y,
                   v=fields["v"][:, :k + 1] if "v" in fields else None)
    try:
        refit = discover(part, list(methods), criterion=criterion, bc=bc)
    except FieldlabError:  # the shorter window does not hold enough test functions
        return {}
    data = np.stack(list(fields.values()), axis=2)  # (runs, nt, S, *space)
    out = {}
    for m, f in refit.items():
        errors = []
        for run in data:
            try:
                w = simulate_found(f, run[0], axes, ds.t, bc)
                errors.append(_rel(w[k + 1:], run[k + 1:]))
            except FieldlabError:
                errors.append(float("inf"))
        out[m] = float(np.mean(errors))
    return out


def run_system_discovery(ds: Dataset, out: Path | None, *, methods=None, criterion: str = "bic", seed: int = 0,
                         truth=None, ics=None, x=None, t=None, bc: str | None = None, assess: bool = True,
                         log: Callable[[str], None] = lambda s: None, **_ignored) -> dict:
    """Discover, validate, assess (:func:`~.systems_assess.assess_system`; ``assess=False`` skips it) and (with
    ``out``) write ``closures.json`` and ``report.md`` for 2-D or two-species data.

    ``truth``, ``ics``, ``x`` (the fine space grids, ``(x,)`` or ``(x, y)``) and ``t``: the true system and its
    validation initial conditions (see :func:`evaluate_systems`)."""
    from .pipeline import _jsonable, discover

    bc = bc or ds.meta.get("bc", "neumann")
    found = discover(ds, methods, criterion=criterion, seed=seed, bc=bc, log=log)
    metrics = evaluate_systems(found, ds, truth, ics, x, ds.t if t is None else t, bc)
    held = holdout(found, ds, bc, criterion=criterion)
    for m, e in held.items():
        metrics[m]["holdout"] = e
    assessment = _assessment(found, ds, metrics, truth, bc, seed, held, log) if assess else None
    ranges = {k: [float(getattr(ds, k).min()), float(getattr(ds, k).max())] for k in ds.species}
    result = {
        "structure": "reaction-diffusion" + ("" if len(ds.species) == 1 else f" system of {len(ds.species)} species"),
        "data": {**ds.meta, "kind": ds.kind, "dim": ds.dim, "species": list(ds.species), "nx": int(ds.x.size),
                 "ny": None if ds.y is None else int(ds.y.size), "nt": int(ds.t.size), "runs": ds.runs, "ranges": ranges},
        "criterion": criterion,
        "seed": seed,
        "truth": None if truth is None else {"D": list(truth.D), "R": list(truth.R)},
        "validation": "forecasts of unseen initial conditions against the true system" if truth is not None
        else "rollout of every run from its first snapshot against the data (no truth available)",
        "methods": {m: {**f.record(), "metrics": metrics[m]} for m, f in found.items()},
        "assessment": assessment,
    }
    files = {} if out is None else {"closures.json": json.dumps(_jsonable(result), indent=1),
                                    "report.md": system_report(result)}
    for name, text in files.items():
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / name).write_text(text)
    return result


def _assessment(found, ds: Dataset, metrics: dict, truth, bc: str, seed: int, held: dict, log) -> dict | None:
    """:func:`~.systems_assess.assess_system` of the methods' closures: the method with the smallest held-out error
    chosen; with a truth, the case's validation initial conditions on the data grid, each forecast given its
    ``"actual"`` error (the chosen closure's forecast on the fine grid against the true system, of
    :func:`evaluate_systems`); ``None`` on a non-uniform grid."""
    from .systems_assess import assess_system

    ics = None
    if truth is not None:
        from .system_cases import system_ics

        ics = system_ics(truth.name, (ds.x,) if ds.y is None else (ds.x, ds.y), "validation")
    try:
        a = assess_system(found, ds, ics=ics, bc=bc, seed=seed, prefer=held, log=log)
    except FieldlabError as e:
        log(f"no assessment: {e}")
        return None
    actual = (metrics.get(a["chosen"]) or {}).get("forecast") or {}
    for name, c in a["forecasts"].items():
        if name in actual:
            c["actual"] = actual[name]["rel_l2"]
    return a


def _g(v) -> str:
    return "-" if v is None else "failed" if not np.isfinite(v) else f"{v:.3g}"


def system_report(result: dict) -> str:
    """``report.md`` of :func:`run_system_discovery`'s JSON-ready result."""
    d = result["data"]
    names = d["species"]
    grid = f"{d['nx']} x {d['ny']}" if d["dim"] == 2 else f"{d['nx']}"
    eq = ("s_t = div(D_s(s) grad s) + R_s(" + ", ".join(names) + ") for s in " + ", ".join(names)
          if len(names) > 1 else "u_t = div(D(u) grad u) + R(u)")
    lines = ["# Closure discovery: " + d["kind"], "",
             f"Structure: {eq}, in {d['dim']}-D. Data: {d['nt']} times x {grid} positions"
             + (f" in each of {d['runs']} runs" if d["runs"] > 1 else "") + "; "
             + ", ".join(f"{k} in [{r[0]:.3g}, {r[1]:.3g}]" for k, r in d["ranges"].items())
             + (f"; case {d.get('case')}, regime {d.get('regime')}, seed {d.get('seed')}" if d.get("case") else "") + ".",
             f"Validation: {result['validation']}. Term selection: {result['criterion'].upper()}.", ""]
    if result["truth"]:
        lines += ["True laws: " + "; ".join(f"D_{k} = `{D}`, R_{k} = `{R}`" for k, D, R in
                                            zip(names, result["truth"]["D"], result["truth"]["R"])) + ".", ""]
    lines += ["| method | species | D | R | coef. error D | coef. error R | ErrD | ErrR |",
              "| --- | --- | --- | --- | ---: | ---: | ---: | ---: |"]
    for m, r in result["methods"].items():
        mt = r["metrics"]
        laws = r.get("species") or {names[0]: {"D": r.get("D"), "R": r.get("R")}}
        for i, (k, law) in enumerate(laws.items()):
            ce = (mt.get("coefficients") or [{}] * len(names))[i]
            err = [(mt.get(e) or [None] * len(names))[i] for e in ("ErrD", "ErrR")]
            lines.append(f"| {m} | {k} | `{law['D']}` | `{law['R']}` | {_g(ce.get('D'))} | {_g(ce.get('R'))} | "
                         f"{_g(err[0])} | {_g(err[1])} |")
    for m, r in result["methods"].items():
        mt = r["metrics"]
        runs = mt.get("forecast") or mt.get("rollout")
        if not runs:
            continue
        what = "Forecasts of unseen initial conditions" if "forecast" in mt else "Rollouts of the observed runs"
        lines += ["", f"{what} by `{m}` ({r['seconds']:.1f} s to fit), relative L2 over the time window"
                  " (all species, then per species):", "",
                  "| initial condition | relative L2 | " + " | ".join(names) + " |",
                  "| --- | ---: | " + " | ".join("---:" for _ in names) + " |"]
        for name, c in runs.items():
            per = c.get("species") or [None] * len(names)
            lines.append(f"| {name} | {_g(c['rel_l2'])} | " + " | ".join(_g(v) for v in per) + " |"
                         + (f" failed: {c['error']}" if c.get("error") else ""))
    held = {m: r["metrics"]["holdout"] for m, r in result["methods"].items() if "holdout" in r["metrics"]}
    if held:
        lines += ["", f"Held-out window: each method refitted on the first {HOLDOUT * 100:.0f} % of the time window, every run "
                  "re-simulated from its first snapshot, relative L2 to the data over the remaining times (the "
                  "data's noise included): " + ", ".join(f"{m} {_g(e)}" for m, e in held.items()) + "."]
    from .systems_assess import assessment_markdown

    lines += assessment_markdown(result.get("assessment"))
    lines.append("")
    return "\n".join(lines)
