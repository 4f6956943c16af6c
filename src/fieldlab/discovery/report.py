"""``report.md`` of a discovery: the methods' closures and metrics, their closest alternatives and
ties, and the generalisation assessment (:mod:`.assess`): which closure held-out validation
chose, over which range of ``u`` the data support each law, how wide the ensemble's bands are,
which forecasts of unseen initial conditions are not supported by the data, and the experiment
that would best separate the candidates. Works on the JSON-ready ``result`` of
:func:`~.pipeline.run_discovery` alone.
"""

from __future__ import annotations

import numpy as np


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
    lines += assessment_markdown(result.get("assessment"))
    tied = any(r.get("ties") for r in result["methods"].values())
    lines += ["", "Figures: `closures.png` (learned against true laws), `rollout.png` (rollout error against time), "
              "`error_map.png` (space-time error of each method's rollout)"
              + (", `generalisation.png` (the chosen closure's ensemble bands and supported ranges)"
                 if (result.get("assessment") or {}).get("bands") else "")
              + (", `ties.png` (how the forecasts of the pairs the data do not tell apart part)." if tied else "."), ""]
    return "\n".join(lines)


def assessment_markdown(a: dict | None) -> list[str]:
    """The generalisation section of the report (empty without an assessment)."""
    if not a or not a.get("chosen"):
        return []
    sup, ho = a["support"], a["holdout"]
    lines = ["", "## Does it generalise?", "",
             f"Held-out validation ({ho['split']}): relative L2 of each candidate, refitted on the rest, on the held-out "
             "data: " + ", ".join(f"{m} {_g(e)}" for m, e in ho["errors"].items())
             + (f"; the data's noise alone gives {_g(ho['noise_floor'])}, so the errors beyond it are "
                + ", ".join(f"{m} {_g(e)}" for m, e in ho["excess"].items()) if "excess" in ho else "")
             + f". **Chosen: {a['chosen']}** ("
             + ("the smallest held-out error beyond the noise" if a.get("chosen_by", "held-out validation")
                == "held-out validation" else a["chosen_by"]) + ").", "",
             f"Support: the data pin R(u) down for u in [{sup['R'][0]:.3g}, {sup['R'][1]:.3g}] (1 % to 99 % of the "
             f"observed states) and D(u) for u in [{sup['D'][0]:.3g}, {sup['D'][1]:.3g}] (the same, weighted by u_x^2: "
             "diffusion acts where the field varies). Outside these ranges the laws are extrapolations."]
    if a.get("bands"):
        b = a["bands"]
        lines += ["", f"Ensemble ({a['members']} members: the chosen structure refitted on other test-function sets and "
                  "on bootstrap resamples of the data's noise, and the other candidates that forecast the held-out data "
                  "within 3 times as well"
                  + (f", here {', '.join(a['structural'])}" if a.get("structural") else ", here none")
                  + _network_seed_text(a.get("network_seeds")) + "): over the "
                  f"observed range the members' D(u) spread by up to {b['D_width']:.2%} and R(u) by up to "
                  f"{b['R_width']:.2%} of their largest value."]
    intro = (f"Forecasts of initial conditions the data did not see ({a.get('ics', '')}); spread: the largest "
             "relative L2 distance over the data's time span between the refitted members' forecasts and their "
             "mean, or between an alternative closure's forecast and the chosen one's; excursion: how far the forecast leaves the observed range of u, as a share of that range.")
    lines += forecast_lines(a.get("forecasts") or {}, a.get("experiment"), intro, "u range",
                            lambda r: "-" if r is None else f"[{r[0]:.3g}, {r[1]:.3g}]")
    return lines


def _network_seed_text(ns: dict | None) -> str:
    """The ensemble sentence's clause on the network-seed members (empty when none were asked for)."""
    if not ns:
        return ""
    seeds = ", ".join(str(s) for s in ns["seeds"])
    if not ns["computed"]:
        return f"; network seeds {seeds} asked for, but no neural-symbolic method was run, so 0 network-seed members"
    return (f"; {ns['members']} network-seed member(s): of the {ns['computed']} closures of the neural-symbolic "
            f"methods re-run with network seeds {seeds}, those within the same held-out bar")


def forecast_lines(fc: dict, ex: dict | None, intro: str, range_header: str, range_text) -> list[str]:
    """The forecasts' part of an assessment's report section: ``intro``, the table of the forecast checks ``fc``
    (``range_header``: the title of the range column, ``range_text``: a check's ``"range"`` as text), the verdict,
    and the proposed experiment ``ex`` (none when ``None``)."""
    lines = []
    if fc:
        actual = any("actual" in c for c in fc.values())
        lines += ["", intro, "", f"| initial condition | {range_header} | spread | spread at 2x the span | excursion | "
                  "supported |" + (" actual error |" if actual else ""),
                  "| --- | --- | ---: | ---: | ---: | --- |" + (" ---: |" if actual else "")]
        for name, c in fc.items():
            lines.append(f"| {name} | {range_text(c['range'])} | {_g(c['spread'])} | {_g(c['spread_long'])} | "
                         f"{_g(c['excursion'])} | " + ("**no**: " + c["why"] if c["flag"] else "yes") + " |"
                         + (f" {_g(c.get('actual'))} |" if actual else ""))
        flagged = [n for n, c in fc.items() if c["flag"]]
        lines += ["", (f"**Not supported by the data**: the forecasts of {', '.join(flagged)} should not be trusted to "
                       "1e-2." if flagged else "Every checked forecast is supported by the data (spread and excursion "
                       "below the flag thresholds).")]
    if ex:
        lines += ["", f"Next experiment: observe from the `{ex['initial_condition']}` initial condition over t in "
                  f"[{ex['window'][0]:.3g}, {ex['window'][1]:.3g}]: there the ensemble's forecasts differ by "
                  f"{_g(ex['separation'])}, the most of the probed experiments, so it separates the candidate closures "
                  "best."]
    return lines
