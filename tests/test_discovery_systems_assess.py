"""Support, ensemble bands and forecast flags for two-species and 2-D discovery (fieldlab.discovery.systems_assess)."""

import dataclasses
import json

import numpy as np
import pytest

from fieldlab.discovery import system_cases as sc
from fieldlab.discovery import systems_assess as sa
from fieldlab.discovery.data import Dataset
from fieldlab.discovery.species import fit_system


@pytest.fixture(scope="module")
def prey():
    """predator_prey at 1 % noise (one run), its fit, support and ensemble."""
    ds = sc.make_system_dataset("predator_prey", "noise1", seed=0)
    fit = fit_system(ds)
    return ds, fit, sa.support(ds), sa.ensemble(fit, ds)


def test_bands_contain_the_true_law_on_the_support(prey):
    ds, fit, sup, members = prey
    assert len(members) == 8  # five test-function sets, three noise resamples
    states = sa._states(ds, 400)
    b = sa.bands(members, fit, ds, states)
    truth = sc.SYSTEM_CASES["predator_prey"]
    D_true, R_true = truth.D_fns(), truth.R_fn()(states)
    inside = np.all([(states[i] >= sup[k]["R"][0]) & (states[i] <= sup[k]["R"][1]) for i, k in enumerate(ds.species)], 0)
    for i, k in enumerate(ds.species):
        s = np.array(b[k]["s"])
        on = (s >= sup[k]["D"][0]) & (s <= sup[k]["D"][1])
        d = D_true[i](s)[on]
        assert np.all((np.array(b[k]["D_lo"])[on] <= d) & (d <= np.array(b[k]["D_hi"])[on])), k
        r = R_true[i][inside]
        assert np.all((np.array(b[k]["R_lo"])[inside] <= r) & (r <= np.array(b[k]["R_hi"])[inside])), k
        assert 0 < b[k]["D_width"] < 0.05 and 0 < b[k]["R_width"] < 0.05  # informative, not vacuous
    # diffusion is supported where the field varies: a narrower range than the observed one
    assert sup["u"]["observed"][0] <= sup["u"]["D"][0] < sup["u"]["D"][1] <= sup["u"]["observed"][1]


def test_forecast_flags_follow_the_range_and_the_true_error(prey):
    ds, fit, sup, members = prey
    probes = sa.probe_ics(ds, sup)
    lo, hi = sup["u"]["observed"]
    far = probes["cosine"].copy()
    far[0] = hi + 2.0 * (far[0] - lo)  # the prey far above anything observed
    ics = {"inside": probes["cosine"], "far": far}
    check = sa.forecast_check(fit, members, ics, (ds.x,), ds.t, sup, observed=sa.observed_states(ds))
    assert not check["inside"]["flag"] and check["inside"]["spread"] < sa.FLAG_SPREAD
    assert check["inside"]["excursion"] < sa.FLAG_EXCURSION and check["inside"]["range_excursion"] < sa.FLAG_EXCURSION
    assert check["far"]["flag"] and check["far"]["excursion"] > sa.FLAG_EXCURSION
    assert check["far"]["range_excursion"] > sa.FLAG_EXCURSION
    assert "1% of the forecast's states (u, v) lie farther than" in check["far"]["why"]
    for name, w0 in ics.items():  # the true error of the chosen closure's forecast over the data's span
        true = sc.simulate_case("predator_prey", w0, (ds.x,), ds.t)
        mine = sa._simulate(fit, w0, (ds.x,), ds.t, "neumann")
        err = float(np.linalg.norm(mine - true) / np.linalg.norm(true))
        assert err <= 1e-2 or check[name]["flag"], (name, err)


def test_joint_excursion_sees_states_off_the_observed_cloud_inside_the_range_box():
    r = np.linspace(0.0, 1.0, 2001)
    observed = np.stack([2.0 + 4.0 * r, -1.0 + r])  # a thin cloud: the diagonal of the box [2, 6] x [-1, 0]
    ranges = [(2.0, 6.0), (-1.0, 0.0)]
    s = np.linspace(0.0, 1.0, 4001)
    off = np.stack([2.0 + 4.0 * s, -s])  # the anti-diagonal: inside both ranges, off the cloud
    on = np.stack([2.0 + 4.0 * s, -1.0 + s + 0.01])  # the diagonal shifted by 1 % of v's range
    # scaled states: the anti-diagonal's distance to the diagonal is |2 s - 1| / sqrt(2), uniform over
    # [0, 1 / sqrt(2)]; its 99th percentile 0.99 / sqrt(2). The shifted diagonal lies 0.01 / sqrt(2) away.
    assert sa.joint_excursion(off, observed, ranges) == pytest.approx(0.99 / np.sqrt(2), abs=2e-3)
    assert sa.joint_excursion(on, observed, ranges) == pytest.approx(0.01 / np.sqrt(2), abs=1e-3)
    assert sa.joint_excursion(off, observed, ranges) > sa.FLAG_EXCURSION > sa.joint_excursion(on, observed, ranges)
    z = (off - np.array([[2.0], [-1.0]])) / np.array([[4.0], [1.0]])
    assert sa._range_excursion(z) == 0.0  # the range test sees nothing
    # one species: the overshoot beyond the observed range, the largest one (as in 1-D)
    u = np.array([[1.0, 2.5, 3.2]])
    assert sa.joint_excursion(u, np.array([[1.0, 3.0]]), [(1.0, 3.0)]) == pytest.approx(0.1)


def test_forecast_inside_the_ranges_but_off_the_cloud_is_flagged(prey):
    ds, fit, sup, members = prey
    w0 = sa.probe_ics(ds, sup)["cosine"]
    w = sa._simulate(fit, w0, (ds.x,), ds.t, "neumann")  # (nt, 2, nx)
    states = np.moveaxis(w, 1, 0).reshape(2, -1)
    box = {k: {**sup[k], "observed": [float(states[i].min()), float(states[i].max())]}
           for i, k in enumerate(ds.species)}
    lo, hi = box["v"]["observed"]
    mirrored = states * 1.0
    mirrored[1] = lo + hi - states[1]  # the same ranges, v paired with u the other way round
    inside = sa.forecast_check(fit, members[:2], {"cosine": w0}, (ds.x,), ds.t, box, observed=states)["cosine"]
    off = sa.forecast_check(fit, members[:2], {"cosine": w0}, (ds.x,), ds.t, box, observed=mirrored)["cosine"]
    assert inside["range_excursion"] == off["range_excursion"] == 0.0
    assert inside["excursion"] < 1e-3 and not inside["flag"]
    assert off["excursion"] > 2 * sa.FLAG_EXCURSION and off["flag"] and "from every observed state" in off["why"]


def test_a_member_that_fails_flags_the_forecast(prey):
    ds, fit, sup, members = prey
    w0 = sa.probe_ics(ds, sup)["front"]
    bad = dataclasses.replace(fit.laws[0], d=-np.abs(fit.laws[0].d))  # a negative diffusivity: the solver refuses
    broken = dataclasses.replace(fit, laws=(bad,) + fit.laws[1:])
    check = sa.forecast_check(fit, members[:2] + [("broken", broken)], {"front": w0}, (ds.x,), ds.t, sup,
                              observed=sa.observed_states(ds))
    assert check["front"]["flag"] and not np.isfinite(check["front"]["spread"])
    assert "1 member(s) fail" in check["front"]["why"]


def test_probe_ics_in_2d_lie_in_each_species_observed_range():
    rng = np.random.default_rng(0)
    x, y, t = np.linspace(0, 1, 9), np.linspace(0, 2, 11), np.linspace(0, 1, 5)
    ds = Dataset(x, t, 0.2 + 0.5 * rng.random((5, 9, 11)), {}, y=y, v=3.0 + rng.random((5, 9, 11)))
    sup = sa.support(ds)
    probes = sa.probe_ics(ds, sup)
    assert len(probes) == 4
    for w0 in probes.values():
        assert w0.shape == (2, 9, 11)
        for s, k in enumerate(ds.species):
            lo, hi = sup[k]["observed"]
            assert lo - 1e-12 <= w0[s].min() and w0[s].max() <= hi + 1e-12
            assert w0[s].max() - w0[s].min() > 0.3 * (hi - lo)  # a shape, not a constant


def test_discovery_report_holds_the_assessment(tmp_path):
    from fieldlab.discovery.systems import run_system_discovery

    ds = sc.make_system_dataset("predator_prey", "noise1", seed=1)
    axes = sc.fine_axes("predator_prey")
    run_system_discovery(ds, tmp_path, truth=sc.SYSTEM_CASES["predator_prey"],
                         ics=sc.system_ics("predator_prey", axes, "validation"), x=axes)
    a = json.loads((tmp_path / "closures.json").read_text())["assessment"]
    assert a["chosen"] == "weak-poly-species" and a["members"] == 8
    assert set(a["forecasts"]) == {"front", "cosine"} and set(a["support"]) == {"u", "v"}
    for c in a["forecasts"].values():  # the actual error is the fine-grid forecast's, and flags are right
        assert 0 < c["actual"] < 1e-2 or c["flag"]
    assert a["experiment"]["initial_condition"] in a["forecasts"]
    report = (tmp_path / "report.md").read_text()
    assert "## Does it generalise?" in report and "| actual error |" in report
    assert "D_v(v) for v in" in report and "Next experiment" in report
