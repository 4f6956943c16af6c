"""Weak-form polynomial regression at 1 % noise: test-function widths and estimator variants.

    python benchmarks/weak_widths.py [--seeds 20] [--doc docs/results/discovery-weak-widths.md]

For the matched cases (case_a, case_b: the truth lies in the polynomial library) at 1 % noise, over
``--seeds`` noise draws, the largest relative error over the true nonzero coefficients of
``weak_poly`` (a wrong set of terms counts as a miss) for

- a grid of half-widths ``(hx, ht)`` as fractions of the x and t spans (the default,
  :data:`fieldlab.discovery.weak.WIDTHS`, was chosen from this table);
- three variants at the default widths, with the terms that the default fit selects:
  generalised least squares with the first-order noise covariance of the weak equations
  (two iterations, in the spirit of WENDy), the average of the fits over a 3 x 3 neighbourhood of
  widths, one regression on the stacked equations of those 9 width pairs, and weak-poly on the
  data denoised by a truncated SVD (Gavish-Donoho hard threshold for unknown noise);
- :func:`fieldlab.discovery.poly.weak_gls` on the default fit's terms (what the pipeline's weak-poly
  reports): bias-compensated GLS over the default widths and four neighbours, noise estimated; and
  the same without the bias compensation.

Writes a Markdown report to ``--doc``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import cpu_model  # noqa: E402

TRUTH = {"case_a": np.array([0.01, 0.05, 0, 0, 1, -1, 0]), "case_b": np.array([0.01, 0, 0.03, 0, 1, -1.5, 0.5])}
HX = (0.1, 0.12, 0.15, 0.18, 0.2, 0.3)
HT = (1 / 30, 0.05, 1 / 15, 0.1, 1 / 6)
NEIGHBOURS = (0.8, 1.0, 1.2)  # x the default widths, for the averaged and stacked variants


def error(coef: np.ndarray, truth: np.ndarray) -> float:
    nz = truth != 0
    if np.any((coef != 0) != nz):
        return float("inf")
    return float(np.max(np.abs(coef[nz] - truth[nz]) / np.abs(truth[nz])))


def _coef(fit) -> np.ndarray:
    return np.concatenate([fit.d, fit.r])


def gls(system, x, t, coef: np.ndarray, iterations: int = 2) -> np.ndarray:
    """Refit the nonzero terms of ``coef`` by GLS with the linearised noise covariance of the rows."""
    from fieldlab.discovery.weak import operators

    u = system.u
    cols = [system.W_xx @ (u ** (k + 1) / (k + 1)) for k in range(3)] + [system.W_0 @ u**k for k in range(4)]
    X = np.stack(cols, axis=1)
    support = np.nonzero(coef)[0]
    W_t = operators(x, t, system.hx, system.ht)[0].toarray()
    P = np.polynomial.polynomial
    for _ in range(iterations):
        D = P.polyval(u, coef[:3])
        dR = P.polyval(u, P.polyder(coef[3:]))
        L = W_t + system.W_xx * D[None, :] + system.W_0 * dR[None, :]  # d(residual)/d(noise)
        C = L @ L.T
        C += 1e-10 * np.trace(C) / len(C) * np.eye(len(C))
        chol = np.linalg.cholesky(C)
        a, *_ = np.linalg.lstsq(np.linalg.solve(chol, X[:, support]), np.linalg.solve(chol, system.b), rcond=None)
        coef = np.zeros(7)
        coef[support] = a
    return coef


def svd_denoise(u: np.ndarray) -> np.ndarray:
    """``u`` with the singular values below the Gavish-Donoho threshold for unknown noise dropped."""
    beta = min(u.shape) / max(u.shape)
    omega = 0.56 * beta**3 - 0.95 * beta**2 + 1.82 * beta + 1.43
    U, s, Vt = np.linalg.svd(u, full_matrices=False)
    r = int(np.sum(s > omega * np.median(s)))
    return (U[:, :r] * s[:r]) @ Vt[:r]


def main(argv=None) -> int:
    from fieldlab.discovery import cases, poly
    from fieldlab.discovery.weak import WIDTHS, WeakSystem, default_widths, weak_system

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--doc", default="docs/results/discovery-weak-widths.md")
    args = ap.parse_args(argv)
    load, t0 = os.getloadavg()[0], time.perf_counter()
    grid = {}  # (case, hx, ht) -> errors
    variants = {}  # (case, name) -> errors
    for case in TRUTH:
        for seed in range(args.seeds):
            ds = cases.make_dataset(case, "noise1", seed)
            span_x, span_t = ds.x[-1] - ds.x[0], ds.t[-1] - ds.t[0]
            for hx, ht in itertools.product(HX, HT):
                fit = poly.weak_poly(weak_system(ds.x, ds.t, ds.u, hx * span_x, ht * span_t))
                grid.setdefault((case, hx, ht), []).append(error(_coef(fit), TRUTH[case]))
            base = weak_system(ds.x, ds.t, ds.u, *default_widths(ds.x, ds.t))
            fit = poly.weak_poly(base)
            variants.setdefault((case, "default (OLS)"), []).append(error(_coef(fit), TRUTH[case]))
            variants.setdefault((case, "GLS, 2 iterations"), []).append(error(gls(base, ds.x, ds.t, _coef(fit)), TRUTH[case]))
            variants.setdefault((case, "bias-compensated GLS, 5 widths (weak_gls: the pipeline's weak-poly)"), []).append(
                error(_coef(poly.weak_gls(fit, ds.x, ds.t, ds.u)), TRUTH[case]))
            variants.setdefault((case, "GLS, 5 widths, not bias-compensated"), []).append(
                error(_coef(poly.weak_gls(fit, ds.x, ds.t, ds.u, compensate=False)), TRUTH[case]))
            systems = [weak_system(ds.x, ds.t, ds.u, WIDTHS[0] * a * span_x, WIDTHS[1] * b * span_t)
                       for a, b in itertools.product(NEIGHBOURS, NEIGHBOURS)]
            fits = [_coef(poly.weak_poly(s)) for s in systems]
            variants.setdefault((case, "average of 9 widths"), []).append(error(np.mean(fits, axis=0), TRUTH[case]))
            scale = [np.linalg.norm(s.b) for s in systems]
            stacked = WeakSystem(np.concatenate([s.W_xx / c for s, c in zip(systems, scale)]),
                                 np.concatenate([s.W_0 / c for s, c in zip(systems, scale)]),
                                 np.concatenate([s.b / c for s, c in zip(systems, scale)]), base.u, base.hx, base.ht,
                                 base.n_independent)
            variants.setdefault((case, "stacked 9 widths"), []).append(error(_coef(poly.weak_poly(stacked)), TRUTH[case]))
            denoised = weak_system(ds.x, ds.t, svd_denoise(ds.u[0])[None], *default_widths(ds.x, ds.t))
            variants.setdefault((case, "SVD-denoised data"), []).append(error(_coef(poly.weak_poly(denoised)), TRUTH[case]))
        print(f"{case} done ({time.perf_counter() - t0:.0f} s)", flush=True)

    def pct(v, digits):
        return f"{v:.{digits}%}" if np.isfinite(v) else "wrong terms"

    def cell(e):
        e = np.asarray(e)
        return f"{pct(np.median(e), 2)} / {pct(np.max(e), 1)} / {int(np.sum(e <= 0.02))}"

    lines = ["# Weak-form polynomial regression at 1 % noise: test-function widths", "",
             "Produced by `benchmarks/weak_widths.py` (see its docstring); do not edit by hand.", "",
             f"Measured {time.strftime('%Y-%m-%d %H:%M')} on {cpu_model()}, {os.cpu_count()} cores (shared; load average "
             f"{load:.1f} at start), Python {platform.python_version()}; {(time.perf_counter() - t0) / 60:.1f} min. "
             f"Command: `python benchmarks/weak_widths.py --seeds {args.seeds}`.", "",
             f"Each cell: median / worst / number of seeds (of {args.seeds}) within 2 % of the largest relative "
             "coefficient error of weak-poly on the noise1 data (seeds 0 to "
             f"{args.seeds - 1}); a wrong set of terms counts as infinite. Rows: hx as a fraction of the x span; "
             f"columns: ht as a fraction of the t span. Default: ({WIDTHS[0]}, {WIDTHS[1]}).", ""]
    for case in TRUTH:
        lines += [f"## {case}", "", "| hx \\ ht | " + " | ".join(f"{ht:.3g}" for ht in HT) + " |",
                  "| --- | " + " | ".join("---:" for _ in HT) + " |"]
        for hx in HX:
            lines.append(f"| {hx:g} | " + " | ".join(cell(grid[case, hx, ht]) for ht in HT) + " |")
        lines.append("")
    lines += ["## Estimator variants at the default widths", "", "| variant | " + " | ".join(TRUTH) + " |",
              "| --- | " + " | ".join("---:" for _ in TRUTH) + " |"]
    for name in dict.fromkeys(n for _, n in variants):
        lines.append(f"| {name} | " + " | ".join(cell(variants[c, name]) for c in TRUTH) + " |")
    lines.append("")
    Path(args.doc).write_text("\n".join(lines))
    print(f"wrote {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
