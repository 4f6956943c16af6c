r"""What a demographer wants from a population run: indicators per year, a CSV table and figures.

For the population built-ins (``population-tao2025``, ``population-china2024``, each with
``:policy=...``), from a trained run or from the reference (method of characteristics):

- per year ``t = 2024, ..., 2054`` (see :func:`fieldlab.reference.population.indicators`):
  total population ``N = int_0^100 p da``, births ``B = int beta p da``, deaths ``D = int mu p da``,
  old-age dependency ratio ``OADR = 100 int_65^100 p / int_15^65 p`` and the share aged 65+;
- their errors against the reference: ``|N - N_ref| / N_ref``, ``|B - B_ref| / B_ref`` and
  ``|OADR - OADR_ref|`` in percentage points, each year;
- figures: population pyramids (persons per year of age at 2024, 2034, 2044, 2054) and the
  trajectories of N, B, D and OADR per scenario.

A run's network is evaluated on ages ``0, 1/16, ..., 100`` at every year and integrated with the
trapezoid rule, the grid and rule of the reference (``h = 1/16``), so that the comparison measures the
network alone (the rule's own error, ~1e-6 relative, is far below the errors reported). From the command line::

    fieldlab demography runs/china-three runs/china-two --out demography/
    fieldlab demography population-china2024 --out demography/   # the reference, all three policies

writes ``demography.csv`` (one row per scenario, source and year), ``errors.csv`` (runs only),
``trajectories.png`` and ``pyramids-<scenario>.png``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from .errors import FieldlabError

__all__ = ["COLUMNS", "PYRAMID_YEARS", "errors", "from_predict", "from_reference", "from_run", "scenario_names", "write_report"]

COLUMNS = ("total", "births", "deaths", "oadr", "share65")
PYRAMID_YEARS = (2024, 2034, 2044, 2054)
AGE_STEP = 1.0 / 16  # the reference grid, so that both are integrated by the same rule


def _split(name: str) -> tuple[str, str]:
    from .problems import parse_options
    from .problems.population import MODELS, POLICIES

    base, opts = parse_options(name)
    if base not in MODELS:
        raise FieldlabError(f"'{base}' is not a population problem; demography works on "
                            f"{', '.join(sorted(MODELS))} (with :policy=...).")
    return base, opts.get("policy", POLICIES[0])


def scenario_names(name: str) -> list[str]:
    """The problem names a target stands for: one policy if given, else all three."""
    from .problems.population import POLICIES

    base, _ = _split(name)
    if ":policy=" in name:
        return [name]
    return [base if p == POLICIES[0] else f"{base}:policy={p}" for p in POLICIES]


def from_reference(name: str) -> dict:
    """Indicators and the age profile of the reference: ``{"year", COLUMNS..., "ages", "p"}``, persons."""
    from .problems.population import MODELS, reference_solution
    from .reference.population import indicators

    base, policy = _split(name)
    ages, years, p = reference_solution(base, policy)
    return {**indicators(MODELS[base][0](policy), ages, years, p), "ages": ages, "p": p}


def from_run(run) -> dict:
    """Indicators and the age profile of a trained run of a population problem, in persons."""
    k = run.problem.fields.index("p")
    return from_predict(run.config.problem, lambda z: run.predict(z)[:, k])


def from_predict(name: str, predict) -> dict:
    """Indicators and the age profile, in persons, of ``predict(z (n, 2)) -> p (n,)`` in the units of
    problem ``name`` (persons divided by its scale), evaluated on the reference's age grid every year."""
    from .problems.population import MODELS
    from .reference.population import indicators

    base, policy = _split(name)
    model, scale = MODELS[base][0](policy), MODELS[base][1]
    ages = np.linspace(*model.ages, int(round((model.ages[1] - model.ages[0]) / AGE_STEP)) + 1)
    years = np.arange(model.years[0], model.years[1] + 0.5)
    grid = np.stack(np.meshgrid(ages, years, indexing="ij"), -1).reshape(-1, 2)
    p = np.asarray(predict(grid), np.float64).reshape(len(ages), len(years)) * scale
    return {**indicators(model, ages, years, p), "ages": ages, "p": p}


def errors(pred: Mapping, ref: Mapping) -> dict[str, np.ndarray]:
    """Per-year errors: relative for total and births, percentage points for the OADR."""
    return {"year": np.asarray(ref["year"]),
            "total": np.abs(pred["total"] - ref["total"]) / ref["total"],
            "births": np.abs(pred["births"] - ref["births"]) / ref["births"],
            "deaths": np.abs(pred["deaths"] - ref["deaths"]) / ref["deaths"],
            "oadr": np.abs(pred["oadr"] - ref["oadr"])}


def _table(rows: Sequence[tuple[str, str, Mapping]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["scenario", "source", "year", "total_persons", "births_per_year", "deaths_per_year",
                "old_age_dependency_ratio_percent", "share_65_plus_percent"])
    for scenario, source, ind in rows:
        for k, year in enumerate(ind["year"]):
            w.writerow([scenario, source, int(year), *(f"{ind[c][k]:.6g}" for c in COLUMNS)])
    return buf.getvalue()


def _error_table(rows: Sequence[tuple[str, Mapping]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["scenario", "year", "total_rel_error", "births_rel_error", "deaths_rel_error", "oadr_error_points"])
    for scenario, e in rows:
        for k, year in enumerate(e["year"]):
            w.writerow([scenario, int(year), *(f"{e[c][k]:.3e}" for c in ("total", "births", "deaths", "oadr"))])
    return buf.getvalue()


def _pyramids(path: Path, scenario: str, ref: Mapping, pred: Mapping | None) -> None:
    from .report.figures import Figures

    fig, axes = Figures.subplots(1, len(PYRAMID_YEARS), figsize=(3.2 * len(PYRAMID_YEARS), 4.2), sharey=True,
                                 layout="constrained")
    for ax, year in zip(axes, PYRAMID_YEARS):
        k = int(np.argmin(np.abs(ref["year"] - year)))
        ax.fill_betweenx(ref["ages"], 0, ref["p"][:, k] / 1e6, step="mid", color="#8da0cb", alpha=0.7,
                         label="reference")
        if pred is not None:
            j = int(np.argmin(np.abs(pred["year"] - year)))
            ax.plot(pred["p"][:, j] / 1e6, pred["ages"], color="#d95f02", lw=1.2, label="network")
        ax.set_title(f"{year}: {ref['total'][k] / 1e6:.0f} M")
        ax.set_xlabel("persons per year of age [M]")
        ax.set_xlim(left=0)
    axes[0].set_ylabel("age [years]")
    axes[0].legend(loc="upper right", fontsize=8)
    fig.suptitle(f"population pyramids, {scenario}")
    fig.savefig(path, dpi=110)
    Figures.close(fig)


def _trajectories(path: Path, series: Sequence[tuple[str, Mapping, Mapping | None]]) -> None:
    from .report.figures import Figures

    panels = (("total", "total population [M]", 1e-6), ("births", "births [M / year]", 1e-6),
              ("deaths", "deaths [M / year]", 1e-6), ("oadr", "old-age dependency ratio [%]", 1.0))
    fig, axes = Figures.subplots(1, 4, figsize=(16, 3.8), layout="constrained")
    colours = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02")
    for n, (scenario, ref, pred) in enumerate(series):
        c = colours[n % len(colours)]
        for ax, (key, label, f) in zip(axes, panels):
            ax.plot(ref["year"], ref[key] * f, color=c, lw=1.5, label=f"{scenario} (reference)")
            if pred is not None:
                ax.plot(pred["year"], pred[key] * f, "o", color=c, ms=3, label=f"{scenario} (network)")
            ax.set_ylabel(label)
            ax.set_xlabel("year")
    axes[0].legend(fontsize=7)
    fig.savefig(path, dpi=110)
    Figures.close(fig)


def write_report(targets: Sequence[str | Path], out: str | Path) -> dict[str, Path]:
    """Write the table and figures for ``targets`` into ``out``; returns ``{what: path}``.

    Each target is a run directory of a population problem (network and reference side by side, and
    the errors) or a population problem name (the reference; all three policies without ``:policy=``).
    """
    from .run import load_run

    series: list[tuple[str, Mapping, Mapping | None]] = []
    sources: list[str] = []  # the run directory's name, or '' for a reference
    for target in targets:
        if Path(target).is_dir():
            run = load_run(target)
            series.append((_label(run.config.problem), from_reference(run.config.problem), from_run(run)))
            sources.append(Path(target).resolve().name)
        else:
            names = scenario_names(str(target))
            series += [(_label(n), from_reference(n), None) for n in names]
            sources += [""] * len(names)
    if not series:
        raise FieldlabError("demography needs at least one run directory or population problem name.")
    series = [(lab, ref, pred) for lab, (_, ref, pred) in zip(_unique([s[0] for s in series], sources), series)]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = [(s, "reference", ref) for s, ref, _ in series] + [(s, "network", pred) for s, _, pred in series if pred]
    paths = {"table": out / "demography.csv"}
    paths["table"].write_text(_table(rows))
    errs = [(s, errors(pred, ref)) for s, ref, pred in series if pred is not None]
    if errs:
        paths["errors"] = out / "errors.csv"
        paths["errors"].write_text(_error_table(errs))
    paths["trajectories"] = out / "trajectories.png"
    _trajectories(paths["trajectories"], series)
    for s, ref, pred in series:
        paths[f"pyramids {s}"] = out / f"pyramids-{s}.png"
        _pyramids(paths[f"pyramids {s}"], s, ref, pred)
    return paths


def _unique(labels: Sequence[str], sources: Sequence[str]) -> list[str]:
    """The labels, those shared by several series told apart by their run directory (then by a number)."""
    out = [f"{lab}-{src}" if src and labels.count(lab) > 1 else lab for lab, src in zip(labels, sources)]
    seen: dict[str, int] = {}
    for i, lab in enumerate(out):
        seen[lab] = seen.get(lab, 0) + 1
        if out.count(lab) > 1 and seen[lab] > 1:
            out[i] = f"{lab}-{seen[lab]}"
    return out


def _label(name: str) -> str:
    base, policy = _split(name)
    return f"{base.removeprefix('population-')}-{policy}"
