r"""Diagnostics after training: warnings for results that a small loss does not make right.

A physics-informed loss can be small at a wrong answer: a network that satisfies the equation
trivially (a constant solves many PDEs) while one condition term carries the whole loss, or a
time-dependent solution that fits its initial condition and then collapses to zero. Each check
returns a finding with a hint; :func:`diagnose` runs them all.

Checks, with :math:`L_k` the final mean square of term ``k`` (unweighted):

- ``dominant-condition``: a condition term holds more than 90 % of the total, is itself above
  ``1e-4`` (an RMS misfit above 1e-2 in the field's units), and the PDE terms are under 1 % of it:
  the equation is met, the condition is not, the classic trivial solution.
- ``near-constant``: every field's spread over the domain, :math:`\operatorname{std}(u) / \max|u|`,
  is under ``flat`` (1e-3), although the problem's conditions are not all zero.
- ``collapse``: for time-dependent problems, the RMS of the fields over the last quarter of the time
  interval is under ``collapse`` (1e-3) times the RMS over the first quarter.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

DOMINANCE, SMALL, FLOOR, FLAT, COLLAPSE = 0.9, 1e-2, 1e-4, 1e-3, 1e-3


def _finding(kind: str, message: str, hint: str) -> dict[str, str]:
    return {"kind": kind, "message": message, "hint": hint}


def loss_balance(terms: Mapping[str, float], equations) -> list[dict[str, str]]:
    """``dominant-condition`` from the final per-term losses (``equations``: the PDE term names)."""
    vals = {k: float(v) for k, v in terms.items() if np.isfinite(v)}
    total = sum(vals.values())
    if total <= 0:
        return []
    pde = sum(v for k, v in vals.items() if k in equations)
    out = []
    for k, v in vals.items():
        if k not in equations and v > DOMINANCE * total and v > FLOOR and pde < SMALL * v:
            out.append(_finding(
                "dominant-condition",
                f"the condition '{k}' holds {v / total:.0%} of the final loss ({v:.2e}) while the PDE residual is "
                f"{pde:.2e}: the network may satisfy the equation trivially and ignore '{k}'",
                f"raise the weight of '{k}' ([recipe.weights]), add points on it, or balance the terms "
                "([[recipe.strategies]] kind = \"gradnorm\" or \"relobralo\")"))
    return out


def field_shape(values: np.ndarray, points: np.ndarray, time_index: int | None, fields) -> list[dict[str, str]]:
    """``near-constant`` and ``collapse`` from predictions ``values`` (n, m) at ``points`` (n, d)."""
    values = np.asarray(values, np.float64)
    out = []
    peak = np.max(np.abs(values), axis=0)
    spread = np.std(values, axis=0) / np.maximum(peak, np.finfo(float).tiny)
    if values.size and np.all(spread < FLAT):
        out.append(_finding(
            "near-constant",
            f"the solution is nearly constant over the domain ({', '.join(f'{f} = {values[0, i]:.3g}' for i, f in enumerate(fields))}, "
            f"relative spread under {FLAT:g})",
            "check that the conditions are trained (weights, points per condition) and not all satisfied by a "
            "constant; a loss-balancing strategy often helps"))
    if time_index is not None and values.size:
        t = points[:, time_index]
        lo, hi = np.min(t), np.max(t)
        early = values[t <= lo + 0.25 * (hi - lo)]
        late = values[t >= hi - 0.25 * (hi - lo)]
        if len(early) and len(late):
            e, l_ = np.sqrt(np.mean(early**2)), np.sqrt(np.mean(late**2))
            if e > 0 and l_ < COLLAPSE * e:
                out.append(_finding(
                    "collapse",
                    f"the solution collapses over the last quarter of time (RMS {l_:.2e} against {e:.2e} over the first "
                    "quarter)",
                    "if the true solution does not decay that much, train causally ([[recipe.strategies]] kind = "
                    "\"causal\") or march in time (kind = \"time-marching\")"))
    return out


def diagnose(problem, terms: Mapping[str, float], values: np.ndarray, points: np.ndarray) -> list[dict[str, str]]:
    """All findings for a trained run: final per-term losses and predictions at points of the domain."""
    time_index = len(problem.coords) - 1 if hasattr(problem.domain, "sample_initial") else None
    return loss_balance(terms, tuple(problem.equations)) + field_shape(values, points, time_index, problem.fields)
