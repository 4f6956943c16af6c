r"""Does a discovered closure generalise? Held-out validation, an ensemble, support and forecast flags.

A closure that reproduces the observed run can still forecast another initial condition badly:
one run pins a reaction law down only near the states it visits often, and a diffusivity only
where the field has gradients. This module measures that, with numbers, for every discovery.

**Support** (:func:`support`). The range of ``u`` over which the data speak for each law: for
:math:`R`, the 1 % to 99 % quantiles of the observed states (every datum weighs the same: the
reaction acts everywhere); for :math:`D`, the same quantiles with every datum weighted by
:math:`u_x^2` of the lightly smoothed data (diffusion acts only where the field varies).

**Held-out validation** (:func:`holdout`). Every candidate closure (a method's result that has a
formula) keeps its *structure* (its polynomial terms, or its pair of symbolic families) and has its
coefficients refitted on the weak equations of part of the data only
(:func:`~.symbolic.refit`, variable projection): for one run, the first ``HEAD = 75 %`` of the time
window; for several runs, all runs but the last. The refitted closure re-simulates the data
(:func:`~.validate.data_rollout`) and is scored on what it did not see: the last quarter of the
window, or the held-out run (relative L2 against the data, with the part that the data's own noise
explains removed in quadrature: noisy data put a floor under every candidate's error). The candidate
with the smallest held-out error is *chosen*; the fit criterion alone does not decide.

**Ensemble** (:func:`ensemble`). The chosen structure is refitted on perturbed weak systems
(*parametric members*): five test-function sets (the half-widths scaled as in
:data:`~.poly.GLS_SCALES`) and ``RESAMPLES = 3`` parametric bootstrap resamples of the data (white
noise of the estimated level added again). The other candidates whose held-out error is within
``PLAUSIBLE = 3`` times the best (plus a fifth of the noise floor) are *structural alternatives*.
*Network seeds* (opt-in, ``network_seeds = K > 0``; :func:`network_seed_members`): the neural methods
are re-run with the network seeds ``seed + 1, ..., seed + K`` (new initial weights of the surrogates,
and the seeds of the compression and of the refit's starts), and the symbolic closures of
``neural-symbolic`` and ``neural-symbolic-refit`` (those of the two that were run) join as further
structural alternatives under the same rule: each one's held-out error is measured like the
candidates' and it is admitted when within ``PLAUSIBLE`` times the best. They sample the variance of
the neural route over its random initialisation, which the refits of one structure cannot see (a
different seed can land on another family). Each costs a full neural training, compression and refit
(minutes on a CPU), hence the default ``K = 0``.
Bands for :math:`D(u)` and :math:`R(u)` are the spread of all members over the observed range. (A
jackknife over time blocks was tried and dropped: the blocks are not exchangeable, the first one
holds most of the information on high states, and a member without it disagreed by 1e-2 on the
matched ``case_a`` whose forecasts are right to 3e-4.)

**Forecast flags** (:func:`forecast_check`). Every member and the chosen closure forecast initial
conditions that the data did not see (for a built-in case, its validation initial conditions;
otherwise :func:`probe_ics`, four shapes mapped onto the observed range) over the data's time span
and twice it. For each, the *spread* is the larger of two relative L2 distances over space-time: the
parametric members' dispersion (the largest distance of one from their mean forecast; the chosen
closure is left out, so that the difference between its estimator and the weak-form refits, a bias
they all share, does not count) and the structural disagreement (the largest distance between the
chosen forecast and an alternative's, network-seed members included). The *excursion* is how far the
chosen forecast leaves the observed range of ``u`` (a fraction of that range: there both laws are
extrapolations). A forecast is flagged as not supported by the data when the spread exceeds
``FLAG_SPREAD`` or the excursion exceeds ``FLAG_EXCURSION``, or a member's simulation fails, or no
member could be refitted (no refit of the chosen structure keeps D positive: nothing vouches for the
forecast). The ensemble spread estimates the error from below (the parametric members share the
chosen structure's bias), so the threshold, ``FLAG_SPREAD = 5e-3``, is half the accuracy one usually
asks for (1e-2). It was set after a first measurement on the built-in cases (3e-3 flagged matched
cases whose forecasts were right to 3e-4): calibrated on them, not validated independently;
``docs/results/discovery-generalisation.md``.

**Experiment design** (:func:`propose_experiment`). Of the probed initial conditions and the two
time windows, the one over which the ensemble's forecasts differ most is proposed as the next
observation: it separates the candidate closures best (the shorter window where it reaches 80 % of
the longer one's spread).

This is an ensemble in the sense of a parametric bootstrap over the data's noise and a sweep over the
weak-form test functions (Efron & Tibshirani 1993, ch. 6), plus model-form alternatives (and, when
asked, the neural route re-run with other network seeds), not a Bayesian posterior.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import numpy as np

from ..errors import FieldlabError
from . import poly, symbolic
from .data import Dataset
from .estimators import Pair, VariableProjection
from .forms import System, WeakForm
from .poly import GLS_SCALES, noise_sigma
from .validate import data_rollout, simulation_start
from .weak import default_widths

HEAD = 0.75
RESAMPLES = 3
PLAUSIBLE = 3.0
FLAG_SPREAD = 5e-3
FLAG_EXCURSION = 0.05
QUANTILES = (0.01, 0.99)
NEURAL_SYMBOLIC = ("neural-symbolic", "neural-symbolic-refit")  # the methods re-run with other network seeds


@dataclasses.dataclass
class Structure:
    """A candidate's structure: the family of each law and a fit of it (the starting coefficients)."""

    method: str
    FD: symbolic.Family
    fd: symbolic.SymbolicFit
    FR: symbolic.Family
    fr: symbolic.SymbolicFit

    @property
    def pair(self) -> Pair:
        return Pair(self.FD, self.fd, self.FR, self.fr)

    def refit(self, system: System, seed: int = 0):
        """``(D, R)`` numpy callables refitted on a weak-form ``system`` (:class:`~.estimators.VariableProjection`
        from the structure's coefficients only), or ``None``."""
        out = VariableProjection(starts=0, seed=seed).fit(system, self.pair)
        return None if out is None else out.laws()


def structure_of(found) -> Structure | None:
    """The structure of a :class:`~.pipeline.Found` (``None`` for a law without a formula, e.g. a network)."""
    s = found.info.get("_structure")
    if s is not None:
        return Structure(found.method, *s)
    coef = found.info.get("coefficients")
    if coef is not None:
        p = Pair.of_poly(poly.PolyFit(np.asarray(coef["D"]), np.asarray(coef["R"]), 0.0, 0, 0.0, 0.0))
        return Structure(found.method, p.FD, p.fd, p.FR, p.fr)
    return None


def support(x: np.ndarray, t: np.ndarray, u: np.ndarray, quantiles=QUANTILES) -> dict:
    """The ranges of ``u`` the data support, ``{"R": [lo, hi], "D": [lo, hi], "observed": [min, max]}``
    (see the module notes); ``u`` of shape ``(runs, nt, nx)``."""
    u = np.asarray(u, float)
    smooth = u.copy()  # a 3 x 3 running mean: noise differentiated would otherwise weigh flat regions
    smooth[:, 1:-1, :] = (u[:, :-2, :] + u[:, 1:-1, :] + u[:, 2:, :]) / 3
    smooth[:, :, 1:-1] = (smooth[:, :, :-2] + smooth[:, :, 1:-1] + smooth[:, :, 2:]) / 3
    w = np.gradient(smooth, x, axis=2) ** 2

    def wq(values, weights):
        order = np.argsort(values)
        c = np.cumsum(weights[order])
        c = c / c[-1]
        return [float(values[order][np.searchsorted(c, q)]) for q in quantiles]

    flat = u.ravel()
    return {"R": wq(flat, np.ones_like(flat)), "D": wq(flat, w.ravel()), "observed": [float(flat.min()), float(flat.max())]}


def _table(x, t, u, hx, ht, lo, hi) -> System:
    """The weak-form system of ``u`` (runs, nt, nx) with half-widths ``hx``, ``ht``, its laws over ``[lo, hi]``."""
    return WeakForm(half_widths=(hx, ht)).system(Dataset(x, t, u), range=(lo, hi))


def holdout(structures: list[Structure], x, t, u, bc: str = "neumann", head: float = HEAD, seed: int = 0) -> dict:
    r"""Held-out error of every structure (see the module notes): ``"errors"``, ``{method: error}`` (inf where
    the refit or the simulation fails); ``"noise_floor"``, the relative L2 that the data's own noise
    (:func:`~.poly.noise_sigma`) gives a perfect closure on the held-out data; ``"excess"``, each error with
    that floor removed in quadrature, :math:`\sqrt{\max(e^2 - e_0^2, 0)}`; and how the data were split
    (``"split"``)."""
    u = np.asarray(u, float)
    lo, hi = float(u.min()), float(u.max())
    hx, ht = default_widths(x, t)
    if u.shape[0] > 1:
        fit_u, test_u, cut, split = u[:-1], u[-1:], 0, f"runs 0-{u.shape[0] - 2} fitted, run {u.shape[0] - 1} held out"
        fit_t = t
    else:
        cut = max(int(np.ceil(head * len(t))), 2)
        while t[cut - 1] - t[0] < 2 * ht and cut < len(t) - 1:  # the head must hold a test function
            cut += 1
        fit_u, test_u, fit_t = u[:, :cut], u, t[:cut]
        split = f"t <= {t[cut - 1]:.4g} fitted, t > {t[cut - 1]:.4g} held out"
    try:
        table = _table(x, fit_t, fit_u, hx, ht, lo, hi)
    except FieldlabError as e:
        return {"split": f"no held-out validation ({e})", "errors": {s.method: float("nan") for s in structures}}
    errors = {}
    for s in structures:
        laws = s.refit(table, seed)
        if laws is None:
            errors[s.method] = float("inf")
            continue
        try:
            sim = data_rollout(*laws, x, t, test_u, bc)
        except FieldlabError:
            errors[s.method] = float("inf")
            continue
        a, b = sim[:, cut:], test_u[:, cut:]
        errors[s.method] = float(np.linalg.norm(a - b) / np.linalg.norm(b))
    b = test_u[:, cut:]
    floor = noise_sigma(u) * np.sqrt(b.size) / float(np.linalg.norm(b))
    excess = {m: float(np.sqrt(max(e**2 - floor**2, 0.0))) if np.isfinite(e) else e for m, e in errors.items()}
    return {"split": split, "errors": errors, "noise_floor": float(floor), "excess": excess}


def ensemble(chosen: Structure, x, t, u, seed: int = 0, scales=GLS_SCALES, resamples: int = RESAMPLES) -> list[tuple]:
    """``(label, D, R)`` members: ``chosen`` refitted on each test-function set of ``scales`` and on ``resamples``
    parametric bootstrap resamples of the data, ``u + e`` with ``e`` white noise of the standard deviation the
    data's own noise is estimated to have (:func:`~.poly.noise_sigma`); members whose D is not positive are
    left out."""
    u = np.asarray(u, float)
    lo, hi = float(u.min()), float(u.max())
    hx, ht = default_widths(x, t)
    members = []
    for sx, st in scales:
        try:
            table = _table(x, t, u, sx * hx, st * ht, lo, hi)
        except FieldlabError:
            continue
        laws = chosen.refit(table, seed)
        if laws is not None:
            members.append((f"widths x{sx:g}, t x{st:g}", *laws))
    sigma = noise_sigma(u)
    rng = np.random.default_rng(seed)
    for k in range(resamples if sigma > 0 else 0):
        v = u + rng.normal(0.0, sigma, size=u.shape)
        laws = chosen.refit(_table(x, t, v, hx, ht, float(v.min()), float(v.max())), seed)
        if laws is not None:
            members.append((f"noise resample {k}", *laws))
    return members


def network_seed_members(found: dict, ds, seeds, *, criterion: str = "bic", bc: str = "neumann",
                         log: Callable[[str], None] = lambda s: None) -> list:
    """The closures of the methods of :data:`NEURAL_SYMBOLIC` in ``found`` re-run on ``ds`` with each network seed
    of ``seeds`` (a fresh :class:`~.methods.Context` per seed: the networks, their compression and the refit's
    starts all take the seed; ``weak-poly``, which does not depend on it, is reused from ``found``): a list of
    :class:`~.methods.Found`, their ``method`` renamed ``"<method> (network seed <s>)"``. Empty when no such method
    was run."""
    from .methods import Context

    names = [m for m in NEURAL_SYMBOLIC if m in found]
    out = []
    for s in seeds if names else ():
        ctx = Context(ds, (), criterion=criterion, seed=int(s), bc=bc)
        if "weak-poly" in found:
            ctx.found["weak-poly"] = found["weak-poly"]
        for m in names:
            try:
                f = ctx.get(m)
            except FieldlabError as e:  # a seed whose route fails adds no member; say so
                log(f"  network seed {s}: {m} failed ({e})")
                continue
            out.append(dataclasses.replace(f, method=f"{m} (network seed {s})"))
            log(f"  network seed {s}: {m}: D = {f.D_expr}, R = {f.R_expr}")
    return out


def probe_ics(x: np.ndarray, lo: float, hi: float) -> dict[str, np.ndarray]:
    """Four initial conditions the data did not see, the shapes of :func:`~.cases.validation_ics` mapped
    from ``[0.05, 0.85]`` onto ``[lo, lo + 0.9 (hi - lo)]`` and from ``[0, 1]`` onto ``[x[0], x[-1]]``."""
    from .cases import validation_ics

    s = (np.asarray(x, float) - x[0]) / (x[-1] - x[0])
    return {k: lo + 0.9 * (hi - lo) * (v - 0.05) / 0.8 for k, v in validation_ics(s).items()}


def bands(members: list[tuple], chosen: tuple, lo: float, hi: float, n: int = 101) -> dict:
    """The members' spread of D and R over ``[lo, hi]``: the largest member - chosen difference at every
    ``u``, relative to the largest ``|chosen|`` there; ``{"u", "D_lo", "D_hi", "R_lo", "R_hi", "D_width",
    "R_width"}`` (widths: the largest relative spread over the range)."""
    g = np.linspace(lo, hi, n)
    out = {"u": g.tolist()}
    for k, i in (("D", 0), ("R", 1)):
        vals = np.array([m[1 + i](g) for m in members] + [chosen[i](g)])
        scale = float(np.max(np.abs(chosen[i](g)))) or 1.0
        out[f"{k}_lo"], out[f"{k}_hi"] = vals.min(0).tolist(), vals.max(0).tolist()
        out[f"{k}_width"] = float(np.max(vals.max(0) - vals.min(0)) / scale)
    return out


def forecast_check(chosen: tuple, members: list[tuple], ics: dict, x: np.ndarray, t: np.ndarray, sup: dict,
                   bc: str = "neumann", horizon: float = 2.0, structural=()) -> dict:
    """Forecast spread and excursion per initial condition (see the module notes): ``{name: {"spread",
    "spread_long", "excursion", "range", "flag", "why"}}``; ``spread_long`` over ``[t0, t0 + horizon
    (t1 - t0)]``. ``structural``: the labels of the members that are alternative closures rather than
    refits of the chosen one."""
    from .solver import simulate1d

    t0, t1 = float(t[0]), float(t[-1])
    n_short = len(t)
    times = np.concatenate([t, t1 + (t - t0)[1:] * (horizon - 1)])
    lo_r, hi_r = sup["observed"]
    span = max(sup["observed"][1] - sup["observed"][0], 1e-12)
    out = {}
    for name, u0 in ics.items():
        bcv = (u0[0], u0[-1])
        try:
            ref = simulate1d(*chosen, u0, x, times, bc=bc, bc_values=bcv, rtol=1e-7)
        except FieldlabError as e:
            out[name] = {"spread": float("inf"), "spread_long": float("inf"), "excursion": float("inf"),
                         "range": None, "flag": True, "why": f"the chosen closure's forecast fails ({e})"}
            continue
        sims, kinds, failed = [], [], []
        for label, D, R in members:
            try:
                sims.append(simulate1d(D, R, u0, x, times, bc=bc, bc_values=bcv, rtol=1e-7))
                kinds.append(label in structural)
            except FieldlabError:
                failed.append(label)

        def rel(a, b, n=None):
            return float(np.linalg.norm(a[:n] - b[:n]) / np.linalg.norm(b[:n]))

        # parametric members: their dispersion about their own mean (the chosen closure left out: the difference
        # between its estimator and their weak-form refits is a bias they share); structural ones: against the chosen
        par = [m for m, k in zip(sims, kinds) if not k]
        mean = np.mean(par, axis=0) if par else ref
        spreads = [rel(m, mean, n_short) if not k else rel(m, ref, n_short) for m, k in zip(sims, kinds)]
        longs = [rel(m, mean) if not k else rel(m, ref) for m, k in zip(sims, kinds)]
        to_chosen = [rel(m, ref, n_short) for m in sims]
        short = ref[:n_short]
        excursion = max(0.0, lo_r - float(short.min()), float(short.max()) - hi_r) / span
        spread = float("inf") if failed or not members else spread_statistic(spreads)  # no member: nothing vouches
        why = flag_reasons(spread, excursion)
        out[name] = {"spread": spread, "spread_long": float("inf") if failed else spread_statistic(longs),
                     "member_spreads": [float(v) for v in spreads], "member_to_chosen": [float(v) for v in to_chosen],
                     "excursion": excursion, "range": [float(short.min()), float(short.max())],
                     "flag": bool(why), "why": "; ".join(why) + (f" ({len(failed)} member(s) fail to simulate it)"
                                                                  if failed else "")}
    return out


def spread_statistic(distances) -> float:
    """The ensemble's forecast spread from the members' distances (see :func:`forecast_check`): the largest."""
    return float(max(distances)) if len(distances) else 0.0


def flag_reasons(spread: float, excursion: float) -> list[str]:
    """Why a forecast with ensemble ``spread`` and ``excursion`` is not supported by the data (empty: it is)."""
    why = []
    if not np.isfinite(spread):
        why.append("an ensemble member's simulation fails, or no member could be refitted")
    elif spread > FLAG_SPREAD:
        why.append(f"the ensemble's forecasts differ by {spread:.2g} (relative L2) > {FLAG_SPREAD:g}")
    if excursion > FLAG_EXCURSION:
        why.append(f"the forecast leaves the observed range of u by {excursion:.0%} of it")
    return why


def propose_experiment(check: dict, t: np.ndarray, horizon: float = 2.0) -> dict | None:
    """The initial condition and window (the data's span or ``horizon`` times it) that best separate the
    ensemble (see the module notes); ``None`` when no forecast was checked."""
    if not check:
        return None
    name = max(check, key=lambda k: (check[k]["spread_long"], check[k]["spread"]))
    c = check[name]
    t0, t1 = float(t[0]), float(t[-1])
    short = c["spread"] >= 0.8 * c["spread_long"]
    return {"initial_condition": name, "window": [t0, t1 if short else t0 + horizon * (t1 - t0)],
            "separation": c["spread"] if short else c["spread_long"]}


def assess(found: dict, ds, *, ics: dict | None = None, x=None, bc: str | None = None, seed: int = 0,
           network_seeds: int = 0, criterion: str = "bic", log: Callable[[str], None] = lambda s: None) -> dict:
    """Held-out choice, ensemble bands, support and forecast flags for the closures ``found``
    (``{method: Found}``) on the data set ``ds``; a JSON-ready dict (see the module notes).

    ``ics``, ``x``: the unseen initial conditions to check and their uniform grid (default
    :func:`probe_ics` on the data grid, which must then be uniform). ``network_seeds``: how many other network
    seeds (``seed + 1``, ...) the neural-symbolic methods of ``found`` are re-run with (:func:`network_seed_members`,
    with ``criterion``); ``"network_seeds"`` in the result says how many closures that gave (``"computed"``), which
    of them joined the ensemble (``"members"``, ``"labels"``), their held-out errors and the seconds spent."""
    if network_seeds < 0:
        raise FieldlabError(f"network_seeds must be 0 or more, not {network_seeds}.")
    bc = bc or ds.meta.get("bc", "neumann")
    structures = [s for s in (structure_of(f) for f in found.values()) if s is not None]
    sup = support(ds.x, ds.t, ds.u)
    out = {"support": sup, "holdout": None, "chosen": None, "members": 0, "bands": None, "forecasts": {},
           "experiment": None, "network_seeds": None}
    if not structures:
        return out
    xs = ds.x if x is None else np.asarray(x, float)
    if ics is None:
        if not np.allclose(np.diff(xs), xs[1] - xs[0], rtol=1e-6):
            xs = simulation_start(ds.x, ds.u[:, 0], bc)[0]
        ics = probe_ics(xs, *sup["observed"])
        out["ics"] = "probe initial conditions mapped onto the observed range (fieldlab.discovery.assess.probe_ics)"
    else:
        out["ics"] = "the given unseen initial conditions"
    ho = holdout(structures, ds.x, ds.t, ds.u, bc, seed=seed)
    out["holdout"] = ho
    errs = ho.get("excess", ho["errors"])
    finite = {m: e for m, e in errs.items() if np.isfinite(e)}
    best = min(finite, key=finite.get) if finite else structures[0].method
    out["chosen"] = best
    out["chosen_by"] = ("held-out validation" if finite else
                        "fallback: no candidate could be scored on held-out data, so the first structure")
    log(f"held-out validation ({ho['split']}): " + ", ".join(f"{m} {e:.3g}" for m, e in errs.items())
        + f"; chosen: {best}")
    chosen_s = next(s for s in structures if s.method == best)
    chosen = found[best].D, found[best].R
    members = ensemble(chosen_s, ds.x, ds.t, ds.u, seed=seed)
    bar = PLAUSIBLE * finite[best] + 0.2 * ho.get("noise_floor", 0.0) if best in finite else -np.inf
    for s in structures:  # plausible alternatives: other structures that forecast the held-out data nearly as well
        if s.method != best and s.method in finite and finite[s.method] <= bar:
            members.append((s.method, found[s.method].D, found[s.method].R))
    structural = [s.method for s in structures if s.method != best and s.method in [m[0] for m in members]]
    if network_seeds:  # the neural route with other seeds: more alternatives, under the same rule
        t_seeds = time.perf_counter()
        seeds = [(seed + k) % 2**32 for k in range(1, network_seeds + 1)]
        rerun = ", ".join(m for m in NEURAL_SYMBOLIC if m in found) or "no neural-symbolic method (none was run)"
        log(f"network seeds {', '.join(map(str, seeds))}: re-running {rerun}")
        extra = network_seed_members(found, ds, seeds, criterion=criterion, bc=bc, log=log)
        alt = [dataclasses.replace(s, method=f.method) for f in extra if (s := structure_of(f)) is not None]
        h = holdout(alt, ds.x, ds.t, ds.u, bc, seed=seed) if alt else {"errors": {}}
        errs_seed = h.get("excess", h["errors"])
        admitted = [f for f in extra if np.isfinite(errs_seed.get(f.method, np.inf)) and errs_seed[f.method] <= bar]
        members += [(f.method, f.D, f.R) for f in admitted]
        structural += [f.method for f in admitted]
        out["network_seeds"] = {"seeds": seeds, "computed": len(extra), "members": len(admitted),
                                "labels": [f.method for f in admitted], "holdout": errs_seed,
                                "closures": {f.method: {"D": f.D_expr, "R": f.R_expr} for f in extra},
                                "seconds": time.perf_counter() - t_seeds}
        log(f"network seeds: {len(extra)} closures, {len(admitted)} within the plausible held-out error "
            f"({out['network_seeds']['seconds']:.0f} s)")
    out["members"] = len(members)
    out["member_labels"] = [m[0] for m in members]
    lo, hi = sup["observed"]
    out["bands"] = bands(members, chosen, lo, hi) if members else None
    out["structural"] = structural
    out["forecasts"] = forecast_check(chosen, members, ics, xs, ds.t, sup, bc, structural=structural)
    out["experiment"] = propose_experiment(out["forecasts"], ds.t)
    for name, c in out["forecasts"].items():
        log(f"  forecast {name}: spread {c['spread']:.2g}, excursion {c['excursion']:.2g}"
            + (f" -> NOT SUPPORTED: {c['why']}" if c["flag"] else ""))
    return out
