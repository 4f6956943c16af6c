r"""The discovery pipeline: data -> closures by several methods -> validation -> assessment -> report.

The methods are registered in :mod:`.registry` (the one list, ``METHODS``, with what each needs)
and implemented in :mod:`.methods` (one ``run(ctx)`` each); :func:`discover` runs the asked ones
through a :class:`~.methods.Context`. After validation, :func:`run_discovery` assesses whether the
closures generalise (:mod:`.assess`) and writes the report (:mod:`.report`).

Methods, all for the structure :math:`u_t = (D(u) u_x)_x + R(u)`:

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

``neural-symbolic`` and ``neural-symbolic-refit`` need ``neural`` (and the refit ``weak-poly``'s weak
system), and ``neural`` takes its scales from a weak polynomial fit (on the wider test functions of
:data:`~.weak.WIDE_WIDTHS`, which the networks and the compression use; the polynomial and refit
regressions use the narrower defaults): the registry declares these needs, and they are run when
needed even if not asked for (only the asked ones are reported).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ..errors import FieldlabError
from . import poly, symbolic, validate
from .data import Dataset
from .estimators import BestSubset, CompensatedGLS, OutputError
from .forms import TrajectoryForm, WeakForm
from .methods import Context, Found, poly_found, symbolic_found
from .registry import REGISTRY, for_data
from .solver import simulate1d
from .weak import WeakSystem

STRUCTURES = ("reaction-diffusion",)


def _parse_methods(methods: Sequence[str] | str | None) -> tuple[str, ...]:
    if methods is None:
        return tuple(REGISTRY)
    if isinstance(methods, str):
        methods = [m.strip() for m in methods.split(",") if m.strip()]
    bad = [m for m in methods if m not in REGISTRY]
    if bad or not methods:
        raise FieldlabError(f"unknown method(s) {bad}; choose from: {', '.join(REGISTRY)}.")
    return tuple(dict.fromkeys(methods))


def discover(ds: Dataset, methods=None, *, criterion: str = "bic", seed: int = 0, bc: str | None = None,
             log: Callable[[str], None] = lambda s: None) -> dict[str, Found]:
    """Run the requested methods on a data set; returns ``{method: Found}`` in the registry's order
    (:data:`~.registry.METHODS`). Each method runs through a :class:`~.methods.Context`, which runs
    the methods it needs first (:mod:`.registry`); only the requested ones are returned.

    A data set of several runs (``ds.u`` of shape ``(runs, nt, nx)``) is fitted as one: the weak
    equations of all runs together, and every run re-simulated from its own estimated start.

    ``bc``: the data's boundary condition, for the re-simulations of ``weak-poly-refit`` and ``neural-symbolic-refit``
    (default: the data's meta ``bc``, else ``neumann``).
    """
    wanted = _parse_methods(methods)
    wanted = for_data(wanted, ds.kind, default=methods is None or set(wanted) == set(REGISTRY))
    if criterion not in ("aic", "bic"):
        raise FieldlabError(f"criterion must be 'aic' or 'bic', not '{criterion}'.")
    ctx = Context(ds, wanted, criterion=criterion, seed=seed, bc=bc, log=log)
    for name in REGISTRY:
        if name in wanted:
            ctx.get(name)
    return {m: ctx.found[m] for m in REGISTRY if m in wanted}


def weak_poly_fit(x: np.ndarray, t: np.ndarray, u: np.ndarray) -> tuple[poly.PolyFit, WeakSystem]:
    """The ``weak-poly`` method's fit on data ``u`` (runs, nt, nx) and the weak equations it selected its terms
    on: weak form, terms by best subset (BIC), coefficients re-estimated by bias-compensated GLS where the
    data are noisy (:class:`~.estimators.CompensatedGLS`)."""
    system = WeakForm().system(Dataset(x, t, u))
    return CompensatedGLS().fit(system, BestSubset().fit(system)), system.equations


def refit_poly(fit: poly.PolyFit, x: np.ndarray, t: np.ndarray, u: np.ndarray, bc: str = "neumann",
               jacobian: str | None = None) -> poly.PolyFit:
    """The terms of ``fit`` with their coefficients fitted to the data ``u`` (runs, nt, nx) by re-simulation
    (:class:`~.estimators.OutputError`: :data:`~.symbolic.START_MODES` corrections of the first
    snapshot and ``2 * POLISH_STEPS`` evaluations, as the leading pair of :func:`~.symbolic.refine`).
    The criteria are those of the data misfit."""
    return OutputError(bc=bc, jacobian=jacobian).fit_poly(TrajectoryForm().system(Dataset(x, t, u)), fit)


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
    start = xs, u0[0]
    tied = sel.ties(criterion, within)
    others = [(P.D.fn(), P.R.fn()) for _, P in tied]
    forecasts = validate.forecast_divergence(chosen, others, start, t, bc, bc_values)
    return [{"D": P.D.text, "R": P.R.text, "family": {"D": P.D.family, "R": P.R.family},
             "delta": float(row[criterion] - best), "weight": row["weight"],
             "differs_D": validate.closure_error(other[0], chosen[0], lo, hi),
             "differs_R": validate.closure_error(other[1], chosen[1], lo, hi), "forecast": forecast}
            for (row, P), other, forecast in zip(tied, others, forecasts)]


_symbolic_found, _poly_found = symbolic_found, poly_found  # the names before the registry


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
        names = ["data"] if ds.runs == 1 else [f"run{j}" for j in range(ds.runs)]
        x, t = ds.x, ds.t
        ics, references = {n: r[0] for n, r in zip(names, ds.u)}, dict(zip(names, ds.u))
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
                  ics=None, x=None, t=None, bc: str | None = None, figures: bool = True, assess: bool = True,
                  network_seeds: int = 0, log: Callable[[str], None] = lambda s: None) -> dict:
    """Discover, evaluate, assess (held-out choice, ensemble, support, forecast flags:
    :func:`~.assess.assess`; ``assess=False`` skips it) and (with ``out``) write ``closures.json``,
    ``report.md`` and figures. With a truth, the forecasts checked are those of ``ics`` (on the data grid).
    ``network_seeds``: how many other network seeds the assessment re-runs the neural-symbolic methods with, their
    closures joining its ensemble (:func:`~.assess.network_seed_members`; 1-D data of one species only)."""
    if network_seeds and ds.kind != "1d":
        raise FieldlabError(f"network seeds re-run the neural methods, which handle 1-D data of one species; these "
                            f"data are {ds.kind}: leave network_seeds at 0.")
    if ds.kind != "1d":  # 2-D data and two species: their own validation and report
        from .systems import run_system_discovery

        return run_system_discovery(ds, out, methods=methods, criterion=criterion, seed=seed, truth=truth, ics=ics,
                                    x=x, t=t, bc=bc, assess=assess, log=log)
    found = discover(ds, methods, criterion=criterion, seed=seed, bc=bc, log=log)
    checked = evaluate(found, ds, truth=truth, ics=ics, x=x, t=t, bc=bc)
    assessment = None
    if assess:
        from .assess import assess as _assess

        own = None
        if ics and x is not None and np.allclose(np.diff(ds.x), ds.x[1] - ds.x[0], rtol=1e-6):
            own = {k: np.interp(ds.x, x, v) for k, v in ics.items()}
        assessment = _assess(found, ds, ics=own, bc=bc, seed=seed, network_seeds=network_seeds, criterion=criterion,
                             log=log)
        chosen = assessment.get("chosen")
        if chosen is not None and "rollout" in checked.metrics.get(chosen, {}) and truth is not None:
            for name, c in assessment["forecasts"].items():
                if name in checked.metrics[chosen]["rollout"]:
                    c["actual"] = checked.metrics[chosen]["rollout"][name]
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
        "assessment": assessment,
    }
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "closures.json").write_text(json.dumps(_jsonable(result), indent=1))
        (out / "report.md").write_text(report_markdown(result))
        if figures:
            from .figures import write_figures

            write_figures(out, found, ds, truth, checked, assessment)
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


from .report import report_markdown  # noqa: E402,F401  (the report lives in its own module)
