"""The bench harness: identical recipes, resumable cells, tables, learning-rate windows, figures."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from fieldlab import metrics
from fieldlab.bench.report import lr_windows, write_figures, write_html, write_tables
from fieldlab.bench.runner import BenchSpec, run_grid
from fieldlab.cli import app
from fieldlab.errors import FieldlabError

FAST = dict(steps=200)


def _tiny(spec_kwargs):
    return BenchSpec(problems=("heat1d",), models=("mlp",), **spec_kwargs)


def test_identical_recipe_for_every_model():
    names = ("mlp", "resnet", "kan")
    spec = BenchSpec(problems=("burgers",), models=names, seeds=2, steps=100, lrs=(1e-3, 1e-2), budget=2000)
    cells = spec.cells()
    assert len(cells) == 3 * 2 * 2 and {c.seed for c in cells} == {0, 1}
    configs = {(c.model, c.seed, c.lr): spec.config(c) for c in cells}
    for seed in (0, 1):
        for lr in (1e-3, 1e-2):
            recipes = [configs[(m, seed, lr)].recipe.model_dump() for m in names]
            assert recipes[1:] == recipes[:-1]  # the same recipe, whatever the model
            assert [configs[(m, seed, lr)].model.name for m in names] == list(names)
            assert all(configs[(m, seed, lr)].model.options["budget"] == 2000 for m in names)
            a = configs[("mlp", seed, lr)].recipe
            assert a.total_steps == 100 and a.seed == seed
            assert [s.lr for s in a.stages if s.optimizer == "adam"] == [lr]
    # the recipe differs only where the grid says so
    assert configs[("kan", 0, 1e-3)].recipe != configs[("kan", 1, 1e-3)].recipe


def test_grid_runs_resumes_and_reports(tmp_path):
    spec = _tiny(dict(seeds=2, lrs=(5e-3, 1e30), **FAST))
    seen = []
    results = run_grid(spec, tmp_path, workers=1, on_done=lambda rec, k, n: seen.append(rec["key"]))
    assert len(results) == 4 and len(seen) == 4
    assert {r["status"] for r in results} == {"ok", "diverged"}
    ok = [r for r in results if r["status"] == "ok"]
    assert all(r["steps"] == 200 and r["n_params"] > 0 and r["final_loss"] < r["first_loss"] for r in ok)
    assert all(r["coords"] == ["x", "t"] and r["timed"] for r in ok)  # the error maps put t across, x up
    for r in ok:  # the recorded error is the error of the saved prediction
        saved = np.load(tmp_path / "cells" / f"{r['key']}.npz")
        assert r["rel_l2"] == pytest.approx(metrics.rel_l2(saved["pred"], saved["ref"]), rel=1e-9)
    assert all(np.isclose(r["spec_low"] ** 2 + r["spec_mid"] ** 2 + r["spec_high"] ** 2, r["rel_l2"] ** 2, rtol=0.5)
               for r in ok)
    # a second run recomputes nothing; a missing cell is recomputed alone
    seen.clear()
    run_grid(spec, tmp_path, workers=1, on_done=lambda rec, k, n: seen.append(rec["key"]))
    assert seen == []
    (tmp_path / "cells" / f"{ok[0]['key']}.json").unlink()
    partial = run_grid(spec, tmp_path, workers=1, run=False)  # a report of what is finished runs nothing
    assert len(partial) == 3 and ok[0]["key"] not in {r["key"] for r in partial}
    run_grid(spec, tmp_path, workers=1, on_done=lambda rec, k, n: seen.append(rec["key"]))
    assert seen == [ok[0]["key"]]

    rows = write_tables(tmp_path, results)
    good = [r for r in rows if r["lr"] == 5e-3][0]
    assert good["seeds"] == 2 and good["failed"] == 0 and good["rel_l2_std"] > 0
    assert good["rel_l2"] == pytest.approx(np.mean([r["rel_l2"] for r in ok]))
    md = (tmp_path / "table.md").read_text()
    assert "heat1d" in md and "±" in md and "diverged" in md
    payload = json.loads((tmp_path / "results.json").read_text())
    assert payload["lr_windows"]["heat1d/mlp"]["verdicts"] == {"0.005": "stable", "1e+30": "diverged"}
    figures = write_figures(tmp_path, results)
    assert {p.name for p in figures} == {"error_vs_time_heat1d.png", "error_maps_heat1d.png", "spectra_heat1d.png"}
    assert "error_maps_heat1d.png" in write_html(tmp_path, "fieldlab bench ...", figures).read_text()


def test_lr_window_verdicts():
    base = {"problem": "p", "model": "m", "status": "ok", "first_loss": 1.0}
    results = [{**base, "lr": 1e-4, "final_loss": 0.5}, {**base, "lr": 1e-3, "final_loss": 1e-3},
               {**base, "lr": 1e-2, "final_loss": 1e-4}, {**base, "lr": 1e-1, "status": "diverged"}]
    w = lr_windows(results)[("p", "m")]
    assert w["window"] == (1e-3, 1e-2)
    assert w["verdicts"] == {1e-4: "stalled", 1e-3: "stable", 1e-2: "stable", 1e-1: "diverged"}


@pytest.mark.slow  # a training: run with -m slow
def test_parallel_workers(tmp_path):
    results = run_grid(_tiny(dict(seeds=2, steps=20)), tmp_path, workers=2)
    assert [r["status"] for r in results] == ["ok", "ok"]
    assert results[0]["rel_l2"] != results[1]["rel_l2"]  # different seeds, different runs


def test_spectral_error_and_time_to_threshold():
    x = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    ref = np.sin(x)[:, None]
    pred = ref + 0.01 * np.sin(30 * x)[:, None]
    s = metrics.spectral_error(pred, ref)
    assert s["spec_high"] > 100 * max(s["spec_low"], s["spec_mid"])
    assert np.sqrt(sum(v**2 for v in s.values())) == pytest.approx(metrics.rel_l2(pred, ref), rel=1e-10)
    t = metrics.time_to_threshold([1, 2, 3], [0.5, 0.05, 0.005], (0.1, 0.01, 0.001))
    assert t["t_0.1"] == 2 and t["t_0.01"] == 3 and np.isnan(t["t_0.001"])


@pytest.mark.parametrize("args, fragment", [
    (["--models", "nosuch"], "unknown model 'nosuch'"),
    (["--models", "mlp", "--lrs", "a,b"], "--lrs must be"),
    (["--models", "mlp", "--steps", "5", "--time", "3"], "either --steps or --time"),
    (["--models", "mlp", "--address", "auto"], "add --executor ray"),
    (["--models", "mlp", "--executor", "slurm"], "unknown --executor 'slurm'"),
    (["--models", "mlp", "--executor", "ray", "--memory-per-cell", "lots"], "--memory-per-cell must be"),
])
def test_bench_bad_input(args, fragment, tmp_path):
    result = CliRunner().invoke(app, ["bench", "--problems", "heat1d", *args, "--out", str(tmp_path / "b")])
    assert result.exit_code == 2 and fragment in result.output and "Traceback" not in result.output


def test_recipe_axis_compares_training_methods(tmp_path):
    from fieldlab.training import presets

    spec = BenchSpec(problems=("heat1d",), models=("mlp",), seeds=1, steps=60, recipes=("plain", "causal", "ssbfgs64"))
    cells = spec.cells()
    assert [c.key for c in cells] == ["heat1d__mlp__plain__s0", "heat1d__mlp__causal__s0", "heat1d__mlp__ssbfgs64__s0"]
    plain, causal, ss = (spec.config(c) for c in cells)
    assert plain.recipe.strategies == [] and [s.kind for s in causal.recipe.strategies] == ["causal"]
    assert [s.optimizer for s in ss.recipe.stages] == ["adam", "ssbfgs"] and ss.recipe.stages[1].dtype == "float64"
    assert plain.recipe.sampling == causal.recipe.sampling and plain.recipe.total_steps == ss.recipe.total_steps == 60
    recipe_file = tmp_path / "mine.toml"
    recipe_file.write_text('[recipe]\nstrategies = [{kind = "rba"}]\n')
    mine = BenchSpec(problems=("heat1d",), models=("mlp",), recipes=(str(recipe_file),))
    assert mine.cells()[0].key == "heat1d__mlp__mine__s0"
    assert [s.kind for s in mine.config(mine.cells()[0]).recipe.strategies] == ["rba"]
    with pytest.raises(Exception, match="unknown recipe 'fancy'"):
        presets.check("fancy")
    results = run_grid(BenchSpec(problems=("heat1d",), models=("mlp",), steps=40, recipes=("plain", "gradnorm")), tmp_path / "b", workers=1)
    rows = write_tables(tmp_path / "b", results)
    assert sorted(r["recipe"] for r in rows) == ["gradnorm", "plain"]
    assert "| gradnorm |" in (tmp_path / "b" / "table.md").read_text()



def test_presets_compose_left_to_right_and_default_backbone_is_the_problems():
    from fieldlab import problems
    from fieldlab.training import presets

    spec = BenchSpec(problems=("burgers",), models=("default",), recipes=("plain+rad", "rad+lbfgs32", "plain+fancy"))
    with pytest.raises(Exception, match="unknown recipe 'fancy'"):
        spec.config(spec.cells()[2])
    on, swapped = spec.config(spec.cells()[0]), spec.config(spec.cells()[1])
    assert spec.cells()[0].key == "burgers__default__plain+rad__s0"
    assert [(s.kind, s.every) for s in on.recipe.strategies] == [("rad", 500)]  # RAD's own options, nothing else
    assert [s.optimizer for s in swapped.recipe.stages] == ["adam", "lbfgs"] and swapped.recipe.stages[1].dtype == "float32"
    assert presets.label("plain+/x/mine.toml") == "plain+mine"
    default = problems.defaults("burgers")["model"]
    assert (on.model.name, on.model.width, on.model.depth) == (default["name"], default["width"], default["depth"])


def test_with_steps_scales_step_schedules_alike():
    from fieldlab.training.recipe import Recipe

    r = Recipe(stages=[{"optimizer": "adam", "steps": 4000, "decay_steps": 1000, "decay_rate": 0.5, "warmup": 200},
                       {"optimizer": "lbfgs", "steps": 3000}],
               strategies=[{"kind": "rad", "every": 1000}, {"kind": "continuation", "param": "nu", "start": 1.0, "steps": 700},
                           {"kind": "gradnorm", "every": 1},
                           {"kind": "continuation", "param": "k", "mode": "staged", "values": [1.0, 2.0], "milestones": [500, 2000]}])
    short = r.with_steps(700)  # f = 0.1
    assert [s.steps for s in short.stages] == [400, 300]
    assert (short.stages[0].decay_steps, short.stages[0].warmup) == (100, 20)
    assert [getattr(s, "every") for s in short.strategies] == [100, 1, 1, 1]  # at least 1
    assert short.strategies[1].steps == 70 and short.strategies[3].milestones == (50, 200)
    assert r.with_steps(7000) == r  # the full budget changes nothing
    tiny = Recipe(stages=[{"optimizer": "adam", "steps": 1}] * 6, sampling={"resample_every": 100})
    assert [s.steps for s in tiny.with_steps(9).stages] == [2, 2, 2, 1, 1, 1]  # every stage >= 1, sum 9
    assert tiny.with_steps(60).sampling.resample_every == 1000  # redraws scale like the other schedules
    assert Recipe(stages=[{"optimizer": "adam", "steps": 10}]).with_steps(5).sampling.resample_every == 0
    with pytest.raises(FieldlabError, match="cannot be shared by the recipe's 6 stages"):
        tiny.with_steps(5)

def test_local_pool_reruns_cells_of_a_dead_worker(tmp_path, monkeypatch):
    from _crash_worker import crash_once

    from fieldlab.bench.executors import ONE_THREAD, run_local

    monkeypatch.setenv("FIELDLAB_TEST_MARKERS", str(tmp_path))
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    cells = _tiny(dict(seeds=2)).cells()
    # a dead worker breaks the pool, so each crash may cost every unfinished cell an attempt: 2 retries suffice here
    out = {c.key: rec for c, (rec, _) in run_local(None, cells, 2, crash_once, retries=2)}
    assert sorted(out) == sorted(c.key for c in cells) and all(r["status"] == "ok" for r in out.values())
    assert all(r["xla"] == ONE_THREAD and r["omp"] == "1" for r in out.values())  # set before the workers started
    for p in tmp_path.iterdir():
        p.unlink()
    lost = [rec for _, (rec, _) in run_local(None, cells, 2, crash_once, retries=0)]
    assert len(lost) == 2 and any(r["status"] == "lost" for r in lost)
    assert all("BrokenProcessPool" in r["message"] for r in lost if r["status"] == "lost")


def test_throughput_counts_every_stage_in_its_share():
    from fieldlab.bench.runner import throughput

    # first record (compilation) at 2 s after 50 steps; then 3 Adam chunks at 50 steps/s and
    # 2 quasi-Newton chunks of 50 steps at 10 steps/s: 250 steps in 13 s
    hist = [{"step": 50, "time": 2.0, "steps_per_s": 25.0}]
    for dt in (1.0, 1.0, 1.0, 5.0, 5.0):
        hist.append({"step": hist[-1]["step"] + 50, "time": hist[-1]["time"] + dt, "steps_per_s": 50 / dt})
    assert throughput(hist) == pytest.approx(250 / 13)  # the chunks' median would say 50
    assert throughput(hist[:1]) == 25.0


def test_time_to_threshold_says_how_many_seeds_reached_it(tmp_path):
    from fieldlab.bench.report import markdown_table

    base = {"problem": "heat1d", "model": "mlp", "status": "ok", "n_params": 10, "rel_l2": 1e-3}
    results = [{**base, "seed": 0, "t_0.001": float("nan")}, {**base, "seed": 1, "t_0.001": 12.0},
               {**base, "seed": 2, "t_0.001": 14.0}]
    rows = write_tables(tmp_path, results)
    assert rows[0]["t_0.001"] == 13.0 and rows[0]["t_0.001_reached"] == 2
    assert "(2/3 reached)" in markdown_table(rows)
    all_reached = write_tables(tmp_path, results[1:])
    assert "reached)" not in markdown_table(all_reached)
