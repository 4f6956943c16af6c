"""Output-error refits: the Jacobian from forward sensitivities against one re-simulation per parameter.

    python benchmarks/discovery_refit_cost.py [--seed 0] [--doc docs/results/discovery-refit-cost.md]

The output-error estimator (:class:`fieldlab.discovery.estimators.OutputError`, i.e.
:func:`fieldlab.discovery.symbolic.polish_pair`) fits the laws' coefficients and 8 smooth corrections
of the first snapshot to the data by re-simulating them. Its Gauss-Newton steps need the Jacobian of
the misfit: ``differences`` re-simulates once per parameter (forward differences), ``sensitivities``
integrates the forward sensitivities with the simulation
(:func:`fieldlab.discovery.solver.simulate1d_sensitivities`). For each problem below both run from
the same start with the same budget of evaluations; reported: wall time, the misfit reached, the
coefficients' largest relative difference between the two, and their error against the truth.

Problems (1 % noise, one run, seed ``--seed``): the ``weak-poly-refit`` method's refit of weak-poly's
terms on ``case_a`` and ``case_b`` (:func:`fieldlab.discovery.pipeline.refit_poly`), and the true
families of ``case_exp`` (exp-saturation D, exp R: nonlinear parameters too) started 20 % off.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import busy_cores, cpu_model  # noqa: E402

JACOBIANS = ("differences", "sensitivities")
TRUTH = {"case_a": ([0.01, 0.05, 0.0], [0.0, 1.0, -1.0, 0.0]), "case_b": ([0.01, 0.0, 0.03], [0.0, 1.0, -1.5, 0.5])}


def poly_problem(case: str, seed: int):
    from fieldlab.discovery import pipeline
    from fieldlab.discovery.cases import make_dataset

    ds = make_dataset(case, "noise1", seed)
    fit, _ = pipeline.weak_poly_fit(ds.x, ds.t, ds.u)
    d, r = (np.asarray(v, float) for v in TRUTH[case])

    def solve(jacobian):
        out = pipeline.refit_poly(fit, ds.x, ds.t, ds.u, ds.meta.get("bc", "neumann"), jacobian=jacobian)
        return out.rss, np.concatenate([out.d, out.r])

    truth = np.concatenate([d, r])
    return f"{case}: weak-poly's terms ({np.count_nonzero(fit.d) + np.count_nonzero(fit.r)} coefficients)", solve, truth


def exp_problem(seed: int):
    from fieldlab.discovery import symbolic
    from fieldlab.discovery.cases import make_dataset
    from fieldlab.discovery.estimators import OutputError, Pair
    from fieldlab.discovery.forms import TrajectoryForm

    ds = make_dataset("case_exp", "noise1", seed)
    FD, FR = symbolic._family("exp-saturation", symbolic.D_FAMILIES), symbolic._family("exp", symbolic.R_FAMILIES)
    truth = np.array([0.01, 0.035, 2.5, 1.1, -0.22, 1.4])
    off = truth * 1.2
    pair = Pair(FD, symbolic._make_fit(FD, off[:2], off[2:3], None, float("nan")), FR,
                symbolic._make_fit(FR, off[3:5], off[5:], None, float("nan")))
    system = TrajectoryForm().system(ds)

    def solve(jacobian):
        P = OutputError(jacobian=jacobian).fit(system, pair)
        return P.sse, np.array([*P.D.a, *P.D.q, *P.R.a, *P.R.q])

    return "case_exp: exp-saturation D and exp R started 20 % off (6 coefficients)", solve, truth


def jacobian_accuracy(seed: int) -> dict:
    """At weak-poly's start on case_a (1 % noise), each Jacobian's largest column-wise error relative to the
    column's largest entry, against central differences of relative step 1e-3 (law columns, start columns)."""
    from scipy.optimize import _numdiff

    from fieldlab.discovery import pipeline, symbolic
    from fieldlab.discovery.cases import make_dataset
    from fieldlab.discovery.estimators import Pair

    ds = make_dataset("case_a", "noise1", seed)
    fit, _ = pipeline.weak_poly_fit(ds.x, ds.t, ds.u)
    pair, grid, seen = Pair.of_poly(fit), np.linspace(ds.u.min(), ds.u.max(), 256), {}
    real = symbolic.least_squares

    def spy(fun, p0, jac, **kwargs):
        seen["J"], seen["ref"] = jac(p0), _numdiff.approx_derivative(fun, p0, rel_step=1e-3, method="3-point")
        raise StopIteration

    out = {}
    symbolic.least_squares = spy
    try:
        for jac in JACOBIANS:
            try:
                symbolic.polish_pair(pair.fd, pair.fr, ds.x, ds.t, ds.u, "neumann", grid, 30, modes=symbolic.START_MODES,
                                     families=(pair.FD, pair.FR), jacobian=jac)
            except StopIteration:
                pass
            err = np.max(np.abs(seen["J"] - seen["ref"]), axis=0) / np.max(np.abs(seen["ref"]), axis=0)
            n_law = len(pair.fd.a) + len(pair.fr.a)
            out[jac] = (float(err[:n_law].max()), float(err[n_law:].max()))
    finally:
        symbolic.least_squares = real
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--doc", default="docs/results/discovery-refit-cost.md")
    args = ap.parse_args()
    load0, busy0 = os.getloadavg(), busy_cores()
    problems = [poly_problem("case_a", args.seed), poly_problem("case_b", args.seed), exp_problem(args.seed)]
    rows = []
    for title, solve, truth in problems:
        res = {}
        for jac in JACOBIANS:
            t0 = time.perf_counter()
            sse, coef = solve(jac)
            res[jac] = (time.perf_counter() - t0, sse, coef)
            print(f"{title} [{jac}]: {res[jac][0]:.1f} s, SSE {sse:.6g}", flush=True)
        a, b = res["differences"][2], res["sensitivities"][2]
        big = truth != 0
        rel = lambda c: float(np.max(np.abs(c[big] - truth[big]) / np.abs(truth[big])))  # noqa: E731
        diff = float(np.max(np.abs(a - b) / np.maximum(np.abs(a), 1e-12)))
        rows.append((title, res, diff, rel(a), rel(b)))
    accuracy = jacobian_accuracy(args.seed)
    load1 = os.getloadavg()
    lines = [
        "# Discovery: cost of the output-error refit",
        "",
        "Output-error refits (the `weak-poly-refit` method and the polished pairs of `neural-symbolic-refit`) fit",
        "the laws' coefficients and 8 smooth corrections of the first snapshot to the data by re-simulating",
        "them; each Gauss-Newton step needs the Jacobian of the misfit. Two ways to get it "
        "(`fieldlab.discovery.symbolic.polish_pair`, option `jacobian`):",
        "",
        "- **differences**: one re-simulation per parameter (forward differences, relative step 1e-5);",
        "- **sensitivities**: the forward sensitivities $S_k = \\partial u/\\partial\\theta_k$ integrated with the "
        "simulation, $\\dot S_k = J S_k + \\partial F/\\partial\\theta_k$ "
        "(`fieldlab.discovery.solver.simulate1d_sensitivities`), at a looser tolerance (1e-5) than the misfit's (1e-7).",
        "",
        "Both run from the same start with the same budget of evaluations; 1 % noise, one run, seed "
        f"{args.seed}, 301 simulation nodes.",
        "",
        "| problem | differences: s | sensitivities: s | speed-up | SSE differences | SSE sensitivities "
        "| coefficients apart | error vs truth (diff. / sens.) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for title, res, diff, ea, eb in rows:
        (ta, sa, _), (tb, sb, _) = res["differences"], res["sensitivities"]
        lines.append(f"| {title} | {ta:.1f} | {tb:.1f} | {ta / tb:.2f} | {sa:.6g} | {sb:.6g} | {diff:.2g} | "
                     f"{ea:.3g} / {eb:.3g} |")
    lines += [
        "",
        "*Coefficients apart*: the largest relative difference between the two fits' coefficients; *error vs truth*:",
        "the largest relative error of the nonzero true coefficients.",
        "",
        "The Jacobians themselves, at weak-poly's start on case_a: each column's largest error against central "
        "differences of relative step 1e-3, relative to the column's largest entry (worst column):",
        "",
        "| Jacobian | law coefficients | start corrections |",
        "|---|---|---|",
        *[f"| {jac} | {law:.2g} | {start:.2g} |" for jac, (law, start) in accuracy.items()],
        "",
        "Forward differences of step 1e-5 over simulations whose own error control is at 1e-7 carry that error "
        "divided by the step; the sensitivities carry only their integration error (tolerance 1e-5).",
        "",
        f"Machine: {cpu_model()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; Python "
        f"{platform.python_version()}; {datetime.date.today().isoformat()}. Load average at the start "
        f"{load0[0]:.2f}, at the end {load1[0]:.2f}"
        + (f"; {busy0:.1f} cores busy before the run" if busy0 is not None else "")
        + ": other processes shared the cores, so the wall times are inflated; the two ways ran one after the other "
        "under that load, and their ratio is the comparison (it moves with the load).",
        "",
        "Regenerate: `python benchmarks/discovery_refit_cost.py`.",
    ]
    Path(args.doc).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.doc}")


if __name__ == "__main__":
    main()
