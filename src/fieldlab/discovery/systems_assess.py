r"""Does a discovered system generalise? Support, ensemble bands and forecast flags for 2-D and two-species data.

The counterpart of :mod:`.assess` for the data kinds of :mod:`.systems` (one species in 2-D, two
species in 1-D or 2-D), with the same thresholds (:data:`~.assess.FLAG_SPREAD`,
:data:`~.assess.FLAG_EXCURSION`) and the same words in the report. Only the weak polynomial methods
(:func:`~.species.fit_system`) have these kinds, so there are no structural alternatives: the
ensemble is made of parametric members of the chosen structure.

**Support** (:func:`support`). Per species :math:`s`, the range of its values over which the data
speak: for :math:`R_s`, the 1 % to 99 % quantiles of the observed values of :math:`s` (every datum
weighs the same); for :math:`D_s`, the same quantiles with every datum weighted by
:math:`|\nabla s|^2` of the lightly smoothed data (a 3-point running mean along t and each space
axis): diffusion acts only where the field varies. The reactions depend on all species jointly, so
their bands are computed at the observed states :math:`(u, v)` themselves, never on a grid that
leaves the observed region of the state plane.

**Ensemble** (:func:`ensemble`). The chosen terms (the non-zero coefficients of every species' law)
are refitted by least squares on unit-norm columns (:func:`refit`) on perturbed weak systems
(:func:`~.species.weak_library`): the five test-function sets of :data:`~.poly.GLS_SCALES` (the
space scale applied to every space half-width) and :data:`~.assess.RESAMPLES` parametric bootstrap
resamples of the data (white noise of each species' estimated level, :func:`~.poly.noise_sigma`,
added again). Members whose diffusivity is negative somewhere on its species' observed range are
left out. **Bands** (:func:`bands`): per species, for :math:`D_s` on an equispaced grid of the
observed range and for :math:`R_s` at (a subsample of) the observed states, the members' mean
:math:`\pm` ``BAND_SD = 3`` of their standard deviations, widened where needed to hold every member
and the chosen law; the *width* is the band's largest width relative to the largest
:math:`|{\rm chosen}|`. (The members' extremes alone, eight of them, missed the true law on most of
the support in the built-in cases at 1 % noise: the spread of a handful of members under-estimates
the estimator's, and all members share the weak form's bias.)

**Forecast flags** (:func:`forecast_check`). The chosen system and every member forecast initial
conditions the data did not see (for a built-in case, its validation initial conditions on the data
grid; otherwise :func:`probe_ics`) by :func:`~.coupled.simulate_system` on the data's uniform grid,
over the data's time span and twice it. The *spread* is the largest relative L2 distance (all
species, nodes and times) of a member's forecast from the members' mean forecast. The *excursion*
(:func:`joint_excursion`) asks whether the chosen forecast, over the data's span, visits states
the data never visited. With one species it is how far the forecast leaves the observed range, as a
share of that range (the largest over nodes and times), as in 1-D (:func:`~.assess.forecast_check`).
With two species the reactions :math:`R_s(u, v)` depend on the state jointly, and the observed
states of one run fill a thin region of the range box (a curve thickened by the noise), not the box:
a forecast can stay inside every species' range and still pair ``u`` and ``v`` as the data never
did. Each species is scaled by its observed range, :math:`z_s = (s - \min s) / (\max s - \min s)`,
so the observed states lie in the unit square; the distance of a forecast state :math:`z` to the
data is :math:`d(z) = \min_j \lVert z - z_j \rVert_2` over the observed states :math:`z_j` (a
:class:`scipy.spatial.cKDTree` on the observed states rounded to a grid of ``EXCURSION_GRID =
1e-3``, which moves every distance by at most :math:`\sqrt{2}\cdot 5\cdot 10^{-4}`); the excursion
is the ``EXCURSION_QUANTILE = 0.99`` quantile of :math:`d` over the forecast's nodes and times.

Why this definition. (i) It refines the range test: a state whose species :math:`s` overshoots its
range by :math:`\delta` (as a share of it) lies at distance :math:`\ge\delta` from the unit square,
hence from every observed state, so the threshold keeps its meaning in the same unit (a share of
the range) and stays :data:`~.assess.FLAG_EXCURSION`. Nothing measured asks for another: on the
built-in two-species cases (``docs/results/discovery-systems.md``) the flagged forecasts lie at 0.05
to 1.4 and all of them forecast within 1.3e-3 of the truth, as the unflagged ones do. Their reactions
are polynomials that the weak-poly method finds exactly, so their extrapolations are right; a measure
of support cannot tell a right extrapolation from a wrong one, and a threshold raised to clear these
false alarms would be tuned to the matched cases. (ii) A quantile and not the largest distance: the
forecast's error is measured in relative L2 over space-time, and a reaction error :math:`\delta R`
confined to a share :math:`q` of the space-time states forces the error equation with an L2 norm of at
most :math:`\sqrt{q}\,\sup|\delta R|\,|\Omega|^{1/2}`, a tenth for :math:`q = 1\%` of what the same
error everywhere would give. States visited that briefly (typically a probe's first instants: its
species' shapes are paired arbitrarily, and the dynamics soon bring it near the observed states) are
left to the spread and failure tests instead of flagging on their own; on the predator-prey probes at
1 % noise (seed 0) the largest distance (0.16 to 0.19, at the first instant) fell to 0.02 to 0.03 at
the 99th percentile. (iii) With one species the observed values of a continuous field fill their
range without gaps, so the nearest-state distance is the overshoot beyond the range, and the largest
one is kept so that one-species data read the same in 1-D (:mod:`.assess`) and 2-D. Each forecast
also reports ``range_excursion``, the largest per-species range overshoot (the one-species definition
applied to each species); state by state the distance is at least the overshoot, so the joint
excursion is at least the overshoots' 99th percentile, though it can be below their largest value.

A forecast is flagged as not supported by the data when the spread exceeds
:data:`~.assess.FLAG_SPREAD`, the excursion exceeds :data:`~.assess.FLAG_EXCURSION`, a member's
simulation fails, or no member could be refitted. The experiment that separates the members most is
proposed by :func:`~.assess.propose_experiment`.

As in 1-D, this is a parametric bootstrap over the noise and a sweep over the test functions (Efron &
Tibshirani 1993, ch. 6), not a posterior: members share the structure's bias, so the spread bounds
the forecast error from below.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import numpy as np

from ..errors import FieldlabError
from .assess import FLAG_EXCURSION, FLAG_SPREAD, QUANTILES, RESAMPLES, flag_reasons, propose_experiment, spread_statistic
from .data import Dataset
from .poly import GLS_SCALES, noise_sigma
from .species import SystemFit, weak_library
from .weak2d import default_widths_nd

BAND_SD = 3.0  # half-width of the bands in members' standard deviations
EXCURSION_QUANTILE = 0.99  # the quantile of the forecast states' distances to the data (two species)
EXCURSION_GRID = 1e-3  # observed states rounded to this grid of the range-scaled state space before the KD-tree

__all__ = ["BAND_SD", "EXCURSION_GRID", "EXCURSION_QUANTILE", "FLAG_EXCURSION", "FLAG_SPREAD", "assess_system",
           "assessment_markdown", "bands", "ensemble", "forecast_check", "joint_excursion", "observed_states",
           "probe_ics", "refit", "support"]


def _axes(ds: Dataset) -> tuple[np.ndarray, ...]:
    return (ds.x,) if ds.y is None else (ds.x, ds.y)


def _field(ds: Dataset, name: str) -> np.ndarray:
    """One species' data as ``(runs, nt, *space)``."""
    return getattr(ds, name).reshape((-1, ds.t.size) + ds.space_shape)


def _weighted_quantiles(values, weights, quantiles) -> list[float]:
    order = np.argsort(values)
    c = np.cumsum(weights[order])
    c = c / c[-1]
    return [float(values[order][min(np.searchsorted(c, q), len(c) - 1)]) for q in quantiles]


def support(ds: Dataset, quantiles=QUANTILES) -> dict[str, dict]:
    """Per species ``{"R": [lo, hi], "D": [lo, hi], "observed": [min, max]}`` (see the module notes)."""
    out = {}
    for name in ds.species:
        f = _field(ds, name)
        smooth = f.copy()
        for a in range(1, f.ndim):  # 3-point running mean along t and every space axis
            inner = [slice(None)] * f.ndim
            inner[a] = slice(1, -1)
            lo, hi = list(inner), list(inner)
            lo[a], hi[a] = slice(None, -2), slice(2, None)
            smooth[tuple(inner)] = (smooth[tuple(lo)] + smooth[tuple(inner)] + smooth[tuple(hi)]) / 3
        w = sum(np.gradient(smooth, z, axis=2 + a) ** 2 for a, z in enumerate(_axes(ds)))
        flat = f.ravel()
        weights = w.ravel() if np.sum(w) > 0 else np.ones_like(flat)
        out[name] = {"R": _weighted_quantiles(flat, np.ones_like(flat), quantiles),
                     "D": _weighted_quantiles(flat, weights, quantiles),
                     "observed": [float(flat.min()), float(flat.max())]}
    return out


def refit(fit: SystemFit, ds: Dataset, widths=None) -> SystemFit | None:
    """``fit``'s terms (its non-zero coefficients, per species) refitted by least squares on unit-norm columns on
    the weak equations of ``ds`` with half-widths ``widths`` (``((h_x[, h_y]), h_t)``, default those of
    :func:`~.weak2d.default_widths_nd`); ``None`` when a refitted diffusivity is negative on its species' observed
    range. The laws keep ``fit``'s criteria (``rss``, ``bic``, ``aic``); ``widths`` are the new ones."""
    deg_d = len(fit.laws[0].d) - 1
    deg_r = max(sum(e) for e in fit.laws[0].exponents)
    systems, _, _, hw = weak_library(ds, deg_d, deg_r, widths)
    laws = []
    for law, (X, b) in zip(fit.laws, systems):
        keep = np.nonzero(np.concatenate([law.d, law.r]))[0]
        A = X[:, keep]
        norms = np.linalg.norm(A, axis=0)
        norms = np.where(norms > 0, norms, 1.0)
        c, *_ = np.linalg.lstsq(A / norms, b, rcond=None)
        full = np.zeros(X.shape[1])
        full[keep] = c / norms
        new = dataclasses.replace(law, d=full[:deg_d + 1], r=full[deg_d + 1:])
        s = getattr(ds, law.name)
        if float(np.min(new.D(np.linspace(float(s.min()), float(s.max()), 64)))) < 0:
            return None
        laws.append(new)
    return dataclasses.replace(fit, laws=tuple(laws), widths=hw)


def ensemble(fit: SystemFit, ds: Dataset, seed: int = 0, scales=GLS_SCALES, resamples: int = RESAMPLES) -> list[tuple]:
    """``(label, member)`` pairs, each member a :class:`~.species.SystemFit`: ``fit``'s terms refitted
    (:func:`refit`) on each test-function set of ``scales`` (``(space, time)`` factors of the default half-widths)
    and on ``resamples`` parametric bootstrap resamples of the data (each species plus white noise of its estimated
    standard deviation, :func:`~.poly.noise_sigma`); members whose diffusivity is not positive are left out."""
    hs, ht = default_widths_nd(_axes(ds), ds.t)
    members = []
    for sx, st in scales:
        try:
            m = refit(fit, ds, (tuple(sx * h for h in hs), st * ht))
        except FieldlabError:  # too few test functions at these widths
            continue
        if m is not None:
            members.append((f"widths x{sx:g}, t x{st:g}", m))
    sigmas = {k: noise_sigma(getattr(ds, k).reshape((-1,) + getattr(ds, k).shape[-2:])) for k in ds.species}
    rng = np.random.default_rng(seed)
    for k in range(resamples if max(sigmas.values()) > 0 else 0):
        noisy = {n: getattr(ds, n) + rng.normal(0.0, s, size=getattr(ds, n).shape) for n, s in sigmas.items()}
        m = refit(fit, dataclasses.replace(ds, **noisy))
        if m is not None:
            members.append((f"noise resample {k}", m))
    return members


def _states(ds: Dataset, most: int) -> np.ndarray:
    w = observed_states(ds)
    return w[:, :: max(1, w.shape[1] // most)]


def bands(members: list[tuple], chosen: SystemFit, ds: Dataset, states: np.ndarray, n: int = 101) -> dict[str, dict]:
    r"""Per species: ``"s"`` (an equispaced grid of ``n`` values over its observed range), ``"D_lo"``, ``"D_hi"`` (the
    band of the diffusivity there), ``"R_lo"``, ``"R_hi"`` (that of the reaction at ``states``, observed states
    ``(S, m)``), and ``"D_width"``, ``"R_width"`` (the band's largest width relative to the largest ``|chosen|``).
    The band at every point: the members' mean :math:`\pm` ``BAND_SD`` standard deviations of the members, widened
    where needed to hold every member and the chosen law."""
    fits = [m for _, m in members] + [chosen]
    out = {}
    for i, name in enumerate(ds.species):
        g = np.linspace(float(getattr(ds, name).min()), float(getattr(ds, name).max()), n)
        entry = {"s": g.tolist()}
        for key, vals, ref in (("D", [f.laws[i].D(g) for f in fits], chosen.laws[i].D(g)),
                               ("R", [f.laws[i].R(*states) for f in fits], chosen.laws[i].R(*states))):
            vals = np.array(vals)
            scale = float(np.max(np.abs(ref))) or 1.0
            centre, half = vals[:-1].mean(0), BAND_SD * vals[:-1].std(0, ddof=1) if len(vals) > 2 else 0.0
            lo, hi = np.minimum(vals.min(0), centre - half), np.maximum(vals.max(0), centre + half)
            entry[f"{key}_lo"], entry[f"{key}_hi"] = lo.tolist(), hi.tolist()
            entry[f"{key}_width"] = float(np.max(hi - lo) / scale)
        out[name] = entry
    return out


def probe_ics(ds: Dataset, sup: dict) -> dict[str, np.ndarray]:
    """Four initial conditions ``(S, *space)`` on the data grid, the shapes of :func:`~.cases.validation_ics` mapped
    from ``[0.05, 0.85]`` onto ``[lo, lo + 0.9 (hi - lo)]`` of each species' observed range (as
    :func:`~.assess.probe_ics`). In 1-D the shapes run along ``x``, in 2-D along the diagonal ``(x + y) / 2``
    (second species: ``(x + 1 - y) / 2``), with coordinates scaled onto ``[0, 1]``; the second species takes the
    next shape of the list (its ``bump`` pairs with the first species' ``front``...)."""
    from .cases import validation_ics

    unit = [(z - z[0]) / (z[-1] - z[0]) for z in _axes(ds)]
    grids = np.meshgrid(*unit, indexing="ij")
    coords = [grids[0]] * 2 if len(grids) == 1 else [(grids[0] + grids[1]) / 2, (grids[0] + 1 - grids[1]) / 2]
    shapes = []
    for s, name in enumerate(ds.species):
        lo, hi = sup[name]["observed"]
        v = validation_ics(coords[s])
        shapes.append({k: lo + 0.9 * (hi - lo) * (a - 0.05) / 0.8 for k, a in v.items()})
    names = list(shapes[0])
    return {k: np.stack([shapes[s][names[(j + s) % len(names)]] for s in range(len(shapes))]) for j, k in enumerate(names)}


def observed_states(ds: Dataset) -> np.ndarray:
    """Every observed state, ``(S, N)``: the species' values at every run, time and node."""
    return np.stack([getattr(ds, k).ravel() for k in ds.species])


def _range_excursion(z: np.ndarray) -> float:
    """The largest overshoot of range-scaled states ``z`` ``(S, M)`` beyond ``[0, 1]``, over species and states."""
    return float(max(0.0, -float(z.min()), float(z.max()) - 1.0))


def joint_excursion(forecast: np.ndarray, observed: np.ndarray, ranges, q: float = EXCURSION_QUANTILE,
                    grid: float = EXCURSION_GRID) -> float:
    r"""How far the states ``forecast`` ``(S, M)`` lie from the states ``observed`` ``(S, N)``, as a share of the
    observed ranges ``ranges`` (``[(lo, hi)]`` per species); see the module notes. One species: the largest overshoot
    beyond ``[lo, hi]`` relative to ``hi - lo``. Several: both sets scaled by ``(s - lo) / (hi - lo)``, the
    Euclidean distance of every forecast state to its nearest observed state (observed states rounded to ``grid``,
    a :class:`scipy.spatial.cKDTree`), and the ``q`` quantile of these distances."""
    from scipy.spatial import cKDTree

    lo = np.array([r[0] for r in ranges], float)[:, None]
    span = np.maximum(np.array([r[1] for r in ranges], float)[:, None] - lo, 1e-12)
    zf = (np.asarray(forecast, float) - lo) / span
    if zf.shape[0] == 1:
        return _range_excursion(zf)
    zo = np.unique(np.round((np.asarray(observed, float) - lo) / span / grid).astype(np.int64).T, axis=0) * grid
    d, _ = cKDTree(zo).query(zf.T)
    return float(np.quantile(d, q))


def _simulate(fit: SystemFit, w0, axes, times, bc) -> np.ndarray:
    from .coupled import simulate_system

    return simulate_system([law.D for law in fit.laws], fit.reaction, w0, axes, times, bc=bc, rtol=1e-6)


def forecast_check(chosen: SystemFit, members: list[tuple], ics: dict, axes, t: np.ndarray, sup: dict,
                   bc: str = "neumann", horizon: float = 2.0, observed: np.ndarray | None = None) -> dict:
    """Forecast spread and excursion per initial condition (see the module notes): ``{name: {"spread",
    "spread_long", "member_spreads", "excursion", "range_excursion", "range", "flag", "why"}}``, ``spread_long``
    over ``[t0, t0 + horizon (t1 - t0)]``, ``excursion`` by :func:`joint_excursion`, ``range_excursion`` the
    largest overshoot of a species' observed range (share of it) and ``range`` per species ``[min, max]`` of the
    chosen forecast. ``observed``: the observed states ``(S, N)`` (:func:`observed_states`), needed with two
    species."""
    t = np.asarray(t, float)
    times = np.concatenate([t, t[-1] + (t - t[0])[1:] * (horizon - 1)])
    n = len(t)
    names = list(sup)
    ranges = [sup[k]["observed"] for k in names]
    if len(names) > 1 and observed is None:
        raise FieldlabError("the joint excursion of a two-species forecast needs the observed states: pass "
                            "observed=observed_states(ds).")

    def rel(a, b, k=None):
        return float(np.linalg.norm(a[:k] - b[:k]) / np.linalg.norm(b[:k]))

    out = {}
    for name, w0 in ics.items():
        try:
            ref = _simulate(chosen, w0, axes, times, bc)
        except FieldlabError as e:
            out[name] = {"spread": float("inf"), "spread_long": float("inf"), "member_spreads": [],
                         "excursion": float("inf"), "range_excursion": float("inf"), "range": None, "flag": True,
                         "why": f"the chosen closure's forecast fails ({e})"}
            continue
        sims, failed = [], []
        for label, m in members:
            try:
                sims.append(_simulate(m, w0, axes, times, bc))
            except FieldlabError:
                failed.append(label)
        mean = np.mean(sims, axis=0) if sims else ref
        spreads = [rel(s, mean, n) for s in sims]
        spread = float("inf") if failed or not members else spread_statistic(spreads)
        states = np.moveaxis(ref[:n], 1, 0).reshape(len(names), -1)  # (S, nt * nodes)
        lo = np.array([r[0] for r in ranges])[:, None]
        z = (states - lo) / np.maximum(np.array([r[1] for r in ranges])[:, None] - lo, 1e-12)
        over = np.maximum(0.0, np.maximum(-z, z - 1.0)).max(axis=1)  # per species
        exc = joint_excursion(states, observed, ranges)
        why = flag_reasons(spread, 0.0)
        if exc > FLAG_EXCURSION:
            why.append(f"the forecast leaves the observed range of {names[0]} by {exc:.0%} of it" if len(names) == 1
                       else f"{1 - EXCURSION_QUANTILE:.0%} of the forecast's states ({', '.join(names)}) lie farther "
                            f"than {exc:.0%} of the observed ranges from every observed state")
        out[name] = {"spread": spread, "spread_long": float("inf") if failed else spread_statistic(
                         [rel(s, mean) for s in sims]),
                     "member_spreads": [float(v) for v in spreads], "excursion": exc,
                     "range_excursion": float(over.max()),
                     "range": {k: [float(ref[:n, s].min()), float(ref[:n, s].max())] for s, k in enumerate(names)},
                     "flag": bool(why), "why": "; ".join(why) + (f" ({len(failed)} member(s) fail to simulate it)"
                                                                 if failed else "")}
    return out


def assess_system(found: dict, ds: Dataset, *, ics: dict | None = None, bc: str | None = None, seed: int = 0,
                  prefer: dict | None = None, log: Callable[[str], None] = lambda s: None) -> dict:
    """Support, ensemble bands, forecast flags and a proposed experiment for the 2-D or two-species closures
    ``found`` (``{method: Found}`` with a :class:`~.species.SystemFit` in ``info["_fit"]``); a JSON-ready dict.

    ``ics``: unseen initial conditions ``(S, *space)`` on the data grid (default :func:`probe_ics`; the grid
    must be uniform). ``prefer``: ``{method: held-out error}``; the method with the smallest finite one is chosen
    (default: the first method with a fit)."""
    t0 = time.perf_counter()
    bc = bc or ds.meta.get("bc", "neumann")
    sup = support(ds)
    out = {"support": sup, "chosen": None, "members": 0, "member_labels": [], "bands": None, "forecasts": {},
           "experiment": None, "ics": None}
    fits = {m: f.info["_fit"] for m, f in found.items() if isinstance(f.info.get("_fit"), SystemFit)}
    if not fits:
        return out
    finite = {m: e for m, e in (prefer or {}).items() if m in fits and np.isfinite(e)}
    best = min(finite, key=finite.get) if finite else next(iter(fits))
    chosen = fits[best]
    axes = _axes(ds)
    if not all(np.allclose(np.diff(z), z[1] - z[0], rtol=1e-6) for z in axes):
        raise FieldlabError("the assessment's forecasts need a uniform data grid.")
    if ics is None:
        ics = probe_ics(ds, sup)
        out["ics"] = "probe initial conditions mapped onto the observed ranges (fieldlab.discovery.systems_assess.probe_ics)"
    else:
        out["ics"] = "the case's validation initial conditions, on the data grid"
    members = ensemble(chosen, ds, seed=seed)
    states = _states(ds, 400)
    out |= {"chosen": best, "chosen_by": "held-out validation" if finite else
            "fallback: no candidate could be scored on held-out data, so the first method with a fit",
            "members": len(members), "member_labels": [m[0] for m in members],
            "bands": bands(members, chosen, ds, states) if members else None, "band_states": states.tolist()}
    out["forecasts"] = forecast_check(chosen, members, ics, axes, ds.t, sup, bc, observed=observed_states(ds))
    out["experiment"] = propose_experiment(out["forecasts"], ds.t)
    out["seconds"] = time.perf_counter() - t0
    for name, c in out["forecasts"].items():
        log(f"  forecast {name}: spread {c['spread']:.2g}, excursion {c['excursion']:.2g}"
            + (f" -> NOT SUPPORTED: {c['why']}" if c["flag"] else ""))
    return out


def assessment_markdown(a: dict | None) -> list[str]:
    """The generalisation section of a system's ``report.md`` (the words of :func:`~.report.assessment_markdown`)."""
    from .report import forecast_lines

    if not a or not a.get("chosen"):
        return []
    sup = a["support"]
    lines = ["", "## Does it generalise?", "", f"**Chosen: {a['chosen']}** (by {a.get('chosen_by', 'held-out validation')}).", "",
             "Support: " + "; ".join(
                 f"the data pin R_{k} down for {k} in [{s['R'][0]:.3g}, {s['R'][1]:.3g}] (1 % to 99 % of the observed "
                 f"states) and D_{k}({k}) for {k} in [{s['D'][0]:.3g}, {s['D'][1]:.3g}] (the same, weighted by "
                 f"|grad {k}|^2: diffusion acts where the field varies)" for k, s in sup.items())
             + ". Outside these ranges the laws are extrapolations."]
    if a.get("bands"):
        lines += ["", f"Ensemble ({a['members']} members: the chosen structure refitted on other test-function sets and "
                  "on bootstrap resamples of the data's noise; no other candidate supports these data): over the "
                  "observed range " + "; ".join(f"the members' D_{k} spread by up to {b['D_width']:.2%} and R_{k} "
                                                f"(at the observed states) by up to {b['R_width']:.2%} of their largest "
                                                "value" for k, b in a["bands"].items()) + "."]
    intro = (f"Forecasts of initial conditions the data did not see ({a.get('ics', '')}); spread: the largest "
             "relative L2 distance over the data's time span between the refitted members' forecasts and their "
             "mean; excursion: " + ("how far the forecast leaves the observed range, as a share of that range."
                                    if len(sup) == 1 else
                                    f"the {EXCURSION_QUANTILE:.0%} quantile, over the forecast's nodes and times, of "
                                    "the distance from its state to the nearest observed state, each species scaled "
                                    "by its observed range."))
    lines += forecast_lines(a.get("forecasts") or {}, a.get("experiment"), intro, "ranges", lambda r: "-" if r is None
                            else ", ".join(f"{k} [{v[0]:.3g}, {v[1]:.3g}]" for k, v in r.items()))
    return lines
