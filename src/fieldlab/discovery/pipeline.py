r"""The discovery pipeline: data -> closures by several methods -> validation -> report.

Methods (``METHODS``), all for the structure :math:`u_t = (D(u) u_x)_x + R(u)`:

``strong-poly``
    polynomial regression on finite-difference derivatives (:func:`~.poly.strong_poly`);
``weak-poly``
    polynomial regression on the weak form: the terms chosen by BIC (:func:`~.poly.weak_poly`),
    their coefficients re-estimated by bias-compensated GLS over five test-function widths where
    the data are noisy (:func:`~.poly.weak_gls`);
``weak-poly-refit``
    weak-poly's terms, their coefficients fitted to the data by re-simulating them with the initial
    condition estimated too (:func:`refit_poly`): the polynomial under the same output-error fit
    as ``neural-symbolic-refit``, so that the two differ only in the families;
``neural``
    neural surrogates trained on the weak form with :math:`D > 0` (:func:`~.neural.fit_neural`);
``neural-symbolic``
    the neural surrogates compressed into symbolic families chosen by AIC/BIC on the weak
    form (:func:`~.symbolic.compress`);
``neural-symbolic-refit``
    the same families with every coefficient refitted on the weak form, starting from the
    compressed values; the leading pairs then fitted to the data by re-simulation with the initial
    condition estimated, and the pair chosen by AIC/BIC on that misfit (:func:`~.symbolic.refine`).

``neural-symbolic`` and ``neural-symbolic-refit`` need ``neural``, and ``neural`` takes its scales from a weak
polynomial fit (on the wider test functions of :data:`~.weak.WIDE_WIDTHS`, which the networks and the
compression use; the polynomial and refit regressions use the narrower defaults): they are
run when needed even if not asked for (only the asked ones are reported).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import sympy as sp

from ..errors import FieldlabError
from . import poly, symbolic, validate
from .data import Dataset
from .neural import SMOOTH_PER_RESIDUAL, fit_neural
from .solver import simulate1d
from .weak import WIDE_WIDTHS, WeakSystem, default_widths, weak_system

METHODS = ("strong-poly", "weak-poly", "weak-poly-refit", "neural", "neural-symbolic", "neural-symbolic-refit")
STRUCTURES = ("reaction-diffusion",)


@dataclasses.dataclass
class Found:
    """One method's closures: numpy callables, and formulas where the method has them."""

    method: str
    D: Callable
    R: Callable
    D_expr: str | None
    R_expr: str | None
    family: dict | None
    seconds: float
    info: dict = dataclasses.field(default_factory=dict)

    def record(self) -> dict:
        latex = {k: (sp.latex(sp.sympify(v, locals={"u": symbolic.U})) if v else None)
                 for k, v in (("D", self.D_expr), ("R", self.R_expr))}
        return {"family": self.family, "D": self.D_expr, "R": self.R_expr, "D_latex": latex["D"],
                "R_latex": latex["R"], "seconds": round(self.seconds, 3), **self.info}


def _parse_methods(methods: Sequence[str] | str | None) -> tuple[str, ...]:
    if methods is None:
        return METHODS
    if isinstance(methods, str):
        methods = [m.strip() for m in methods.split(",") if m.strip()]
    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        raise FieldlabError(f"unknown method(s) {bad}; choose from: {', '.join(METHODS)}.")
    return tuple(dict.fromkeys(methods))


def discover(ds: Dataset, methods=None, *, criterion: str = "bic", seed: int = 0, bc: str | None = None,
             log: Callable[[str], None] = lambda s: None) -> dict[str, Found]:
    """Run the requested methods on a data set; returns ``{method: Found}`` in ``METHODS`` order.

    A data set of several runs (``ds.u`` of shape ``(runs, nt, nx)``) is fitted as one: the weak
    equations of all runs together, and every run re-simulated from its own estimated start.

    ``bc``: the data's boundary condition, for the re-simulations of ``weak-poly-refit`` and ``neural-symbolic-refit``
    (default: the data's meta ``bc``, else ``neumann``).
    """
    wanted = _parse_methods(methods)
    if criterion not in ("aic", "bic"):
        raise FieldlabError(f"criterion must be 'aic' or 'bic', not '{criterion}'.")
    x, t, u = ds.x, ds.t, ds.u
    lo, hi = float(u.min()), float(u.max())
    grid = np.linspace(lo, hi, 256)
    out: dict[str, Found] = {}
    if "strong-poly" in wanted:
        t0 = time.perf_counter()
        fit = poly.strong_poly(x, t, u)
        out["strong-poly"] = _poly_found("strong-poly", fit, time.perf_counter() - t0)
        log(f"strong-poly: D = {out['strong-poly'].D_expr}, R = {out['strong-poly'].R_expr}")
    if not {"weak-poly", "weak-poly-refit", "neural", "neural-symbolic", "neural-symbolic-refit"} & set(wanted):
        return out
    t0 = time.perf_counter()
    fit, system = weak_poly_fit(x, t, u)
    weak = _poly_found("weak-poly", fit, time.perf_counter() - t0)
    weak.info |= {"test_functions": system.n, "weighting": fit.weighting, "noise_share": fit.noise_share}
    if "weak-poly" in wanted:
        out["weak-poly"] = weak
        log(f"weak-poly: D = {weak.D_expr}, R = {weak.R_expr} ({system.n} test functions)")
    bc = bc or ds.meta.get("bc", "neumann")
    if "weak-poly-refit" in wanted:
        t0 = time.perf_counter()
        out["weak-poly-refit"] = _poly_found("weak-poly-refit", refit_poly(fit, x, t, u, bc),
                                             time.perf_counter() - t0 + weak.seconds)
        log(f"weak-poly-refit: D = {out['weak-poly-refit'].D_expr}, R = {out['weak-poly-refit'].R_expr}")
    if not {"neural", "neural-symbolic", "neural-symbolic-refit"} & set(wanted):
        return out
    t0 = time.perf_counter()
    wide = weak_system(x, t, u, *default_widths(x, t, WIDE_WIDTHS))  # the networks fit the noise of narrow supports
    wide_fit = poly.weak_poly(wide)
    d_scale = float(np.mean(np.abs(wide_fit.D(grid)))) or 1e-2
    r_scale = float(np.mean(np.abs(wide_fit.R(grid) / np.where(np.abs(grid) > 1e-12, grid, 1e-12)))) or 1e-2
    noise_proxy = wide_fit.rss / float(wide.b @ wide.b)  # relative weak residual of the polynomial fit
    nf = fit_neural(wide, lo, hi, d_scale, r_scale, seed=seed, smooth=SMOOTH_PER_RESIDUAL * noise_proxy)
    neural = Found("neural", nf.D, nf.R, None, None, None, time.perf_counter() - t0,
                   {"loss": nf.loss, "steps": nf.steps})
    if "neural" in wanted:
        out["neural"] = neural
        log(f"neural: weak-form loss {nf.loss:.3e} after {nf.steps} steps ({neural.seconds:.1f} s)")
    if not {"neural-symbolic", "neural-symbolic-refit"} & set(wanted):
        return {m: out[m] for m in METHODS if m in out}
    t0 = time.perf_counter()
    sel = symbolic.compress(nf.D, nf.R, wide, lo, hi, criterion=criterion, seed=seed)
    seconds = time.perf_counter() - t0 + neural.seconds
    if "neural-symbolic" in wanted:
        out["neural-symbolic"] = _symbolic_found("neural-symbolic", sel, criterion, seconds)
        log(f"neural-symbolic: D = {sel.D.text} ({sel.D.family}), R = {sel.R.text} ({sel.R.family})")
    if "neural-symbolic-refit" in wanted:
        t0 = time.perf_counter()
        ref = symbolic.refine(sel, system, lo, hi, x, t, u, criterion=criterion, bc=bc, seed=seed)
        found = _symbolic_found("neural-symbolic-refit", ref, criterion, 0.0)
        first = u[..., 0, :].reshape(-1, x.size)[0]  # (the first run's) first snapshot
        found.info["ties"] = ties(ref, criterion, lo, hi, t, bc, (float(first[0]), float(first[-1])))
        found.seconds = seconds + time.perf_counter() - t0
        out["neural-symbolic-refit"] = found
        log(f"neural-symbolic-refit: D = {ref.D.text} ({ref.D.family}), R = {ref.R.text} ({ref.R.family})")
        for tie in found.info["ties"]:
            log(f"  not decided by the data: {tie['family']['D']} / {tie['family']['R']} ({criterion.upper()} "
                f"+{tie['delta']:.1f}); forecasts differ by {tie['forecast']['at_horizon']:.2g} at t = "
                f"{tie['forecast']['t_horizon']:.3g}")
    return {m: out[m] for m in METHODS if m in out}


def weak_poly_fit(x: np.ndarray, t: np.ndarray, u: np.ndarray) -> tuple[poly.PolyFit, WeakSystem]:
    """The ``weak-poly`` method's fit and the weak system it selected its terms on: terms by BIC on
    the default test functions (:func:`~.poly.weak_poly`), coefficients re-estimated by
    bias-compensated GLS where the data are noisy (:func:`~.poly.weak_gls`)."""
    system = weak_system(x, t, u)
    return poly.weak_gls(poly.weak_poly(system), x, t, u), system


def refit_poly(fit: poly.PolyFit, x: np.ndarray, t: np.ndarray, u: np.ndarray, bc: str = "neumann") -> poly.PolyFit:
    """The terms of ``fit`` with their coefficients fitted to the data by re-simulation
    (:func:`~.symbolic.polish_pair` with :data:`~.symbolic.START_MODES` corrections of the first
    snapshot and ``2 * POLISH_STEPS`` evaluations, as the leading pair of :func:`~.symbolic.refine`).
    The criteria are those of the data misfit."""
    (FD, fd), (FR, fr) = symbolic.polynomial(fit.d), symbolic.polynomial(fit.r)
    grid = np.linspace(float(u.min()), float(u.max()), 256)
    P = symbolic.polish_pair(fd, fr, x, t, u, bc, grid, 2 * symbolic.POLISH_STEPS, modes=symbolic.START_MODES,
                             families=(FD, FR))
    d, r = np.zeros_like(fit.d), np.zeros_like(fit.r)
    d[fit.d != 0], r[fit.r != 0] = P.D.a, P.R.a
    aic, bic = poly.information(P.sse, u.size, fd.n_params + fr.n_params)
    return poly.PolyFit(d=d, r=r, rss=P.sse, n=int(u.size), bic=bic, aic=aic)


def ties(sel: symbolic.Selection, criterion: str, lo: float, hi: float, t: np.ndarray, bc: str,
         bc_values: tuple, within: float | None = None) -> list[dict]:
    """The pairs that fit the data as well as the chosen one (:meth:`~.symbolic.Selection.ties`): their
    laws, criterion difference and share of the evidence, how far their laws differ from the chosen
    ones over the observed range (relative L2), and how far their forecasts part from the estimated
    initial condition (of the first run, for data of several runs) at the end of the data and at
    twice their time span (:func:`~.validate.forecast_divergence`). ``within``: the criterion
    difference counted as a tie (default :data:`~.symbolic.TIE`)."""
    chosen = sel.D.fn(), sel.R.fn()
    best, (xs, u0) = sel.polished[0][0][criterion], sel.polished[0][1].start
    start = xs, np.asarray(u0).reshape(-1, len(xs))[0]
    tied = sel.ties(criterion, within)
    others = [(P.D.fn(), P.R.fn()) for _, P in tied]
    forecasts = validate.forecast_divergence(chosen, others, start, t, bc, bc_values)
    return [{"D": P.D.text, "R": P.R.text, "family": {"D": P.D.family, "R": P.R.family},
             "delta": float(row[criterion] - best), "weight": row["weight"],
             "differs_D": validate.closure_error(other[0], chosen[0], lo, hi),
             "differs_R": validate.closure_error(other[1], chosen[1], lo, hi), "forecast": forecast}
            for (row, P), other, forecast in zip(tied, others, forecasts)]


def _symbolic_found(name: str, sel: symbolic.Selection, criterion: str, seconds: float) -> Found:
    return Found(name, sel.D.fn(), sel.R.fn(), sel.D.text, sel.R.text, {"D": sel.D.family, "R": sel.R.family}, seconds,
                 {"criterion": criterion, "aic": sel.aic, "bic": sel.bic,
                  "candidates": sorted(sel.table, key=lambda r: r[criterion])[:10]})


def _poly_found(name: str, fit: poly.PolyFit, seconds: float) -> Found:
    d_expr, r_expr = fit.expressions()
    return Found(name, fit.D, fit.R, d_expr, r_expr, {"D": f"polynomial (degree <= {len(fit.d) - 1})",
                 "R": f"polynomial (degree <= {len(fit.r) - 1})"}, seconds,
                 {"coefficients": {"D": fit.d.tolist(), "R": fit.r.tolist()}, "bic": fit.bic, "aic": fit.aic})


@dataclasses.dataclass
class Validation:
    """What :func:`evaluate` measured: metrics per method (JSON-ready) and the trajectories behind them."""

    metrics: dict[str, dict]
    references: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)  # name -> (nt, nx)
    rollouts: dict[str, dict] = dataclasses.field(default_factory=dict)  # method -> name -> (nt, nx) or None
    x: np.ndarray | None = None
    t: np.ndarray | None = None


def evaluate(found: dict[str, Found], ds: Dataset, *, truth=None, ics: dict | None = None, x=None, t=None,
             bc: str | None = None) -> Validation:
    """Metrics per method: closure errors (with a truth), BIR, and rollouts.

    With ``truth`` (a :class:`~.cases.Closure`) and ``ics`` (name -> initial condition on ``x``),
    every method re-simulates each initial condition over ``t`` and is compared with the true
    closure's trajectory. Without a truth, the rollout starts from the data's first snapshot and is
    compared with the data themselves (a consistency check on seen data, not a validation), for
    data of several runs each run's (named ``run0``, ``run1``, ...); data on a non-uniform grid get
    no rollout.
    """
    bc = bc or ds.meta.get("bc", "neumann")
    lo, hi = float(ds.u.min()), float(ds.u.max())
    metrics: dict[str, dict] = {m: {} for m in found}
    if truth is not None:
        D_true, R_true = truth.D_fn(), truth.R_fn()
        for m, f in found.items():
            metrics[m]["ErrD"] = validate.closure_error(f.D, D_true, lo, hi)
            metrics[m]["ErrR"] = validate.closure_error(f.R, R_true, lo, hi)
        for m in ("neural-symbolic", "neural-symbolic-refit"):  # the refit's ratio shows how much the data repair
            if "neural" in found and m in found:
                for k in ("D", "R"):
                    metrics[m][f"BIR_{k}"] = validate.bir(metrics[m][f"Err{k}"], metrics["neural"][f"Err{k}"])
        if not ics:
            raise FieldlabError("validation against a truth needs initial conditions (ics).")
        references = {name: simulate1d(D_true, R_true, u0, x, t, bc=bc, bc_values=(u0[0], u0[-1])) for name, u0 in ics.items()}
    else:
        if not np.allclose(np.diff(ds.x), ds.x[1] - ds.x[0], rtol=1e-6):
            return Validation(metrics)
        runs = ds.u.reshape(-1, ds.t.size, ds.x.size)
        names = ["data"] if ds.u.ndim == 2 else [f"run{j}" for j in range(len(runs))]
        x, t = ds.x, ds.t
        ics, references = {n: r[0] for n, r in zip(names, runs)}, dict(zip(names, runs))
    out = Validation(metrics, references, {}, x, t)
    for m, f in found.items():
        rolls = {name: validate.rollout(f.D, f.R, u0, x, t, references[name], bc) for name, u0 in ics.items()}
        metrics[m]["rollout"] = {name: r["rel_l2"] for name, r in rolls.items()}
        metrics[m]["rollout_mean"] = float(np.mean([r["rel_l2"] for r in rolls.values()]))
        metrics[m]["rollout_t"] = {name: r["rel_l2_t"] for name, r in rolls.items()}
        failures = {name: r["error"] for name, r in rolls.items() if r["error"]}
        if failures:
            metrics[m]["rollout_failures"] = failures
        out.rollouts[m] = {name: r["u"] for name, r in rolls.items()}
    return out


def run_discovery(ds: Dataset, out: Path | None, *, methods=None, criterion: str = "bic", seed: int = 0, truth=None,
                  ics=None, x=None, t=None, bc: str | None = None, figures: bool = True,
                  log: Callable[[str], None] = lambda s: None) -> dict:
    """Discover, evaluate and (with ``out``) write ``closures.json``, ``report.md`` and figures."""
    found = discover(ds, methods, criterion=criterion, seed=seed, bc=bc, log=log)
    checked = evaluate(found, ds, truth=truth, ics=ics, x=x, t=t, bc=bc)
    result = {
        "structure": "reaction-diffusion",
        "data": {**ds.meta, "nx": int(ds.x.size), "nt": int(ds.t.size), "runs": ds.runs,
                 "u_range": [float(ds.u.min()), float(ds.u.max())]},
        "criterion": criterion,
        "seed": seed,
        "truth": None if truth is None else {"D": truth.D, "R": truth.R},
        "validation": "unseen initial conditions against the true closure" if truth is not None
        else "rollout from the first snapshot against the data (no truth available)",
        "methods": {m: {**f.record(), "metrics": checked.metrics[m]} for m, f in found.items()},
    }
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "closures.json").write_text(json.dumps(_jsonable(result), indent=1))
        (out / "report.md").write_text(report_markdown(result))
        if figures:
            from .figures import write_figures

            write_figures(out, found, ds, truth, checked)
    return result


def _jsonable(v):
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items() if not str(k).startswith("_")}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (np.floating, float)):
        return None if not np.isfinite(v) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.ndarray):
        return _jsonable(v.tolist())
    return v


def _g(v) -> str:
    return "-" if v is None else "failed" if not np.isfinite(v) else f"{v:.3g}"


def report_markdown(result: dict) -> str:
    d = result["data"]
    lines = ["# Closure discovery", "",
             f"Structure: u_t = (D(u) u_x)_x + R(u). Data: {d['nt']} times x {d['nx']} positions"
             + (f" in each of {d['runs']} runs (initial conditions)" if d.get("runs", 1) > 1 else "") + ", "
             f"u in [{d['u_range'][0]:.3g}, {d['u_range'][1]:.3g}]"
             + (f"; case {d.get('case')}, regime {d.get('regime')}, seed {d.get('seed')}" if d.get("case") else "") + ".",
             f"Validation: {result['validation']}. Family selection: {result['criterion'].upper()}.", ""]
    if result["truth"]:
        lines += [f"True closures: D(u) = `{result['truth']['D']}`, R(u) = `{result['truth']['R']}`.", ""]
    lines += ["| method | D(u) | R(u) | ErrD | ErrR | BIR_D | BIR_R | rollout rel L2 (mean) | time [s] |",
              "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for m, r in result["methods"].items():
        mt = r["metrics"]
        lines.append(f"| {m} | `{r['D'] or '(network)'}` | `{r['R'] or '(network)'}` | {_g(mt.get('ErrD'))} | {_g(mt.get('ErrR'))} | "
                     f"{_g(mt.get('BIR_D'))} | {_g(mt.get('BIR_R'))} | {_g(mt.get('rollout_mean'))} | {r['seconds']:.1f} |")
    crit = result["criterion"]
    for m, r in result["methods"].items():
        cands = r.get("candidates")
        if not cands:
            continue
        best = cands[0][crit]
        if "sse" in cands[0]:
            basis = ("misfit of a re-simulation of the data from the estimated initial condition; the leading pairs "
                     "fitted to the data, the others at their weak-form coefficients; a difference below about 2 is no "
                     "real evidence for one family over another")
        else:
            basis = "weak-form residual; a difference below about 2 is no real evidence for one family over another"
        lines += ["", f"Closest alternatives of `{m}` ({crit.upper()} on the {basis}):", "",
                  f"| D family | R family | parameters | {crit.upper()} - best |", "| --- | --- | ---: | ---: |"]
        lines += [f"| {c['D']} | {c['R']} | {c['k']} | {c[crit] - best:.1f} |" for c in cands[:5]]
        for tie in r.get("ties") or []:
            fc = tie["forecast"]
            lines += ["", f"**Not decided by the data**: D(u) = `{tie['D']}`, R(u) = `{tie['R']}` ({tie['family']['D']} / "
                      f"{tie['family']['R']}, {crit.upper()} +{tie['delta']:.1f}, {tie['weight']:.0%} of the evidence among "
                      f"the fitted pairs) fits the data as well. Over the observed range its D differs from the chosen one "
                      f"by {tie['differs_D']:.2%} and its R by {tie['differs_R']:.2%}; from the estimated initial "
                      f"condition the two forecasts differ by {_g(fc['at_end'])} (relative L2) at the last observed time "
                      f"and by {_g(fc['at_horizon'])} at t = {fc['t_horizon']:.3g}. Observing longer, or from another "
                      "initial condition, would decide between them."]
    tied = any(r.get("ties") for r in result["methods"].values())
    lines += ["", "Figures: `closures.png` (learned against true laws), `rollout.png` (rollout error against time), "
              "`error_map.png` (space-time error of each method's rollout)"
              + (", `ties.png` (how the forecasts of the pairs the data do not tell apart part)." if tied else "."), ""]
    return "\n".join(lines)
