#!/usr/bin/env python
"""Training throughput of fieldlab against DeepXDE (PyTorch backend) on DeepXDE's Burgers setup.

Both libraries train the same problem in the same run on the same machine, interleaved
(fieldlab, DeepXDE, fieldlab, DeepXDE, ...), and the script reports steady-state Adam steps
per second of each, their medians and the ratio, on stdout and as a Markdown file.

Problem (DeepXDE's ``burgers.py`` example): u_t + u u_x = (0.01/pi) u_xx on x in [-1, 1],
t in [0, 1]; soft Dirichlet u(+-1, t) = 0 and initial u(x, 0) = -sin(pi x); a 2 -> 3 x 20
tanh -> 1 network with Glorot-normal weights; 2540 interior, 80 boundary and 160 initial
points; Adam with lr 1e-3; float32.

DeepXDE runs in a virtual environment of its own (``benchmarks/.venv-deepxde`` by default),
which the script creates on first use with ``python -m venv`` and
``pip install torch==2.13.0`` then ``pip install deepxde``. This interpreter must have fieldlab
installed.

Usage::

    python benchmarks/throughput_vs_deepxde.py                      # 3000 steps, 2 repeats
    python benchmarks/throughput_vs_deepxde.py --steps 500 --repeats 1
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from _machine import cpu_model, busy_cores, venv_python  # noqa: E402 - benchmarks/ is on sys.path when a script runs

REPO = Path(__file__).resolve().parents[1]
DEFAULT_VENV = REPO / "benchmarks" / ".venv-deepxde"
DEFAULT_OUT = REPO / "docs" / "results" / "benchmarks-throughput.md"
PROTECTED = REPO / "docs" / "results" / "benchmarks.md"
TORCH_VERSION = "2.13.0"
CHUNK = 100  # fieldlab steps per compiled call

N_INTERIOR, N_BOUNDARY, N_INITIAL = 2540, 80, 160
WIDTH, DEPTH, LR = 20, 3, 1e-3

# The DeepXDE timing program, run with the benchmark venv's interpreter. argv: steps warmup seed.
# Its last stdout line is a JSON object.
DEEPXDE_PROGRAM = textwrap.dedent(
    """
    import json, os, sys, time
    os.environ.setdefault("DDE_BACKEND", "pytorch")
    import numpy as np
    import torch
    torch.set_num_threads(os.cpu_count())
    import deepxde as dde

    steps, warmup, seed = (int(a) for a in sys.argv[1:4])
    dde.config.set_default_float("float32")
    dde.config.set_random_seed(seed)
    nu = 0.01 / np.pi

    def pde(x, y):
        u_x = dde.grad.jacobian(y, x, i=0, j=0)
        u_t = dde.grad.jacobian(y, x, i=0, j=1)
        u_xx = dde.grad.hessian(y, x, i=0, j=0)
        return u_t + y * u_x - nu * u_xx

    geomtime = dde.geometry.GeometryXTime(dde.geometry.Interval(-1, 1), dde.geometry.TimeDomain(0, 1))
    bc = dde.icbc.DirichletBC(geomtime, lambda x: 0, lambda _, on_boundary: on_boundary)
    ic = dde.icbc.IC(geomtime, lambda x: -np.sin(np.pi * x[:, 0:1]), lambda _, on_initial: on_initial)
    data = dde.data.TimePDE(geomtime, pde, [bc, ic], num_domain=%(interior)d,
                            num_boundary=%(boundary)d, num_initial=%(initial)d)
    net = dde.nn.FNN([2] + [%(width)d] * %(depth)d + [1], "tanh", "Glorot normal")
    model = dde.Model(data, net)
    model.compile("adam", lr=%(lr)r)
    quiet = 10**9
    model.train(iterations=warmup, display_every=quiet, verbose=0)
    t0 = time.perf_counter()
    model.train(iterations=steps, display_every=quiet, verbose=0)
    seconds = time.perf_counter() - t0
    print(json.dumps({
        "steps": steps, "seconds": seconds, "steps_per_s": steps / seconds, "warmup": warmup,
        "n_train_points": int(len(data.train_x)), "n_pde_points": int(len(data.train_x_all)),
        "torch": torch.__version__, "deepxde": dde.__version__, "numpy": np.__version__,
        "torch_threads": torch.get_num_threads(), "dtype": str(dde.config.real(torch)),
        "final_loss": float(np.sum(model.train_state.loss_train)),
    }))
    """
) % {"interior": N_INTERIOR, "boundary": N_BOUNDARY, "initial": N_INITIAL, "width": WIDTH, "depth": DEPTH, "lr": LR}


# -- machine and environment ------------------------------------------------------------------------
def _cpu_seconds() -> tuple[float, float] | None:
    """(CPU seconds used by the whole machine, by this process and its finished children)."""
    import resource

    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return None
    machine = (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")  # all but idle, iowait
    own = sum(getattr(resource.getrusage(w), a) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
              for a in ("ru_utime", "ru_stime"))
    return machine, own


def others_busy(fn, *args, **kwargs) -> tuple[dict, float | None]:
    """Run ``fn``; also return the cores' worth of CPU that other processes used meanwhile."""
    a, t0 = _cpu_seconds(), time.perf_counter()
    result = fn(*args, **kwargs)
    b, wall = _cpu_seconds(), time.perf_counter() - t0
    if a is None or b is None:
        return result, None
    return result, max((b[0] - a[0]) - (b[1] - a[1]), 0.0) / wall


def deepxde_env() -> dict[str, str]:
    return {**os.environ, "DDE_BACKEND": "pytorch"}


def venv_ready(venv: Path) -> bool:
    py = venv_python(venv)
    if not py.exists():
        return False
    check = f"import torch, deepxde; assert torch.__version__.split('+')[0] == {TORCH_VERSION!r}, torch.__version__"
    return subprocess.run([str(py), "-c", check], env=deepxde_env(), capture_output=True).returncode == 0


def ensure_deepxde_venv(venv: Path) -> Path:
    """Create ``venv`` with torch==TORCH_VERSION and deepxde unless it already has them."""
    if venv_ready(venv):
        return venv_python(venv)
    print(f"[setup] installing torch=={TORCH_VERSION} and deepxde into {venv} (first run only; may take minutes)",
          flush=True)
    venv.mkdir(parents=True, exist_ok=True)
    log = venv / "install.log"
    steps = []
    if not venv_python(venv).exists():
        steps.append([sys.executable, "-m", "venv", str(venv)])
    pip = [str(venv_python(venv)), "-m", "pip", "install"]
    steps += [pip + [f"torch=={TORCH_VERSION}"], pip + ["deepxde"]]  # torch first, so deepxde cannot pick another
    with log.open("w") as fh:
        for cmd in steps:
            fh.write(f"$ {shlex.join(cmd)}\n")
            fh.flush()
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, env=deepxde_env())
            fh.write(f"[exit {proc.returncode} after {time.perf_counter() - t0:.0f} s]\n")
            fh.flush()
            if proc.returncode != 0:
                tail = "".join(log.read_text().splitlines(keepends=True)[-30:])
                sys.exit(f"[setup] failed: {shlex.join(cmd)}\n--- last lines of {log} ---\n{tail}")
    if not venv_ready(venv):
        sys.exit(f"[setup] {venv} still lacks torch=={TORCH_VERSION} or deepxde after installing; see {log}")
    print(f"[setup] done (log: {log})", flush=True)
    return venv_python(venv)


# -- measurements ---------------------------------------------------------------------------------
def measure_fieldlab(steps: int, seed: int) -> dict:
    """One fresh fieldlab solve of ``steps`` Adam steps; the rate over chunks 2..last.

    fieldlab runs ``CHUNK`` steps per jitted call and records a history row (wall time since
    the start, compilation included) after each; the first chunk holds the compilation, so the
    rate is (step_last - step_first) / (time_last - time_first) over the rows.
    """
    import fieldlab
    from fieldlab import problems
    from fieldlab.config import resolve

    cfg = resolve(problems.defaults("burgers"), {
        "hard_constraints": False,
        "model": {"name": "mlp", "width": WIDTH, "depth": DEPTH},
        "recipe": {
            "sampling": {"interior": N_INTERIOR, "boundary": N_BOUNDARY // 2, "initial": N_INITIAL, "method": "random"},
            "stages": [{"optimizer": "adam", "steps": steps, "lr": LR}],
            "chunk": CHUNK, "eval_every": 10**9, "dtype": "float32", "seed": seed,
        },
    })
    t0 = time.perf_counter()
    run = fieldlab.solve(cfg, None, progress=False)
    total = time.perf_counter() - t0
    rows = run.history
    first, last = rows[0], rows[-1]
    timed_steps = last["step"] - first["step"]
    seconds = last["time"] - first["time"]
    return {"steps": int(last["step"]), "timed_steps": int(timed_steps), "seconds": seconds,
            "steps_per_s": timed_steps / seconds, "first_chunk_s": first["time"], "solve_total_s": total,
            "final_loss": float(last["loss"])}


def measure_deepxde(py: Path, steps: int, warmup: int, seed: int) -> dict:
    proc = subprocess.run([str(py), "-c", DEEPXDE_PROGRAM, str(steps), str(warmup), str(seed)],
                          env=deepxde_env(), capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"DeepXDE timing program failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip().startswith("{")]
    if not lines:
        sys.exit(f"DeepXDE timing program printed no JSON:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1])


# -- report ---------------------------------------------------------------------------------------
BUSY_THRESHOLD = 0.25  # cores busy (by others) above which the results are flagged


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f}"


def busy(info: dict) -> str:
    """'x.xx' (the largest busy-core sample) when the machine was not idle around the run, else ''."""
    samples = [info["busy_before"], info["busy_after"], *info["others_during"]]
    worst = max((v for v in samples if v is not None), default=None)
    return f"{worst:.2f}" if worst is not None and worst > BUSY_THRESHOLD else ""


def markdown(info: dict, results: list[dict], args, command: str) -> str:
    fl = [r["steps_per_s"] for r in results if r["library"] == "fieldlab"]
    dx = [r["steps_per_s"] for r in results if r["library"] == "deepxde"]
    med_fl, med_dx = statistics.median(fl), statistics.median(dx)
    dx0 = next(r for r in results if r["library"] == "deepxde")
    lines = [
        "# Training throughput: fieldlab vs DeepXDE (PyTorch) on Burgers",
        "",
        f"Date: {info['date']}",
        "",
    ]
    if busy(info):
        lines += [
            f"> **Warning:** other processes kept {busy(info)} of {info['cores']} cores busy "
            "around the measurements: these numbers are not reliable "
            "(PyTorch's OpenMP threads in particular slow down sharply when the cores are oversubscribed). "
            "Rerun on an idle machine.",
            "",
        ]
    lines += [
        "## Result",
        "",
        "| library | median steps/s | measurements (steps/s) |",
        "| --- | ---: | --- |",
        f"| fieldlab {info['fieldlab']} (JAX {info['jax']}) | {med_fl:.1f} | {', '.join(f'{v:.1f}' for v in fl)} |",
        f"| DeepXDE {info['deepxde']} (PyTorch {info['torch']}) | {med_dx:.1f} | {', '.join(f'{v:.1f}' for v in dx)} |",
        "",
        f"**Ratio fieldlab / DeepXDE (medians): {med_fl / med_dx:.2f}x**",
        "",
        "## Each measurement, in the order run",
        "",
        "| # | library | timed steps | seconds | steps/s | not timed | final loss | cores used by others |",
        "| ---: | --- | ---: | ---: | ---: | --- | ---: | ---: |",
    ]
    for i, r in enumerate(results, 1):
        if r["library"] == "fieldlab":
            untimed = f"first chunk of {CHUNK} steps incl. compilation: {r['first_chunk_s']:.2f} s"
            timed = r["timed_steps"]
        else:
            untimed = f"{r['warmup']} warm-up iterations in a first `model.train`"
            timed = r["steps"]
        lines.append(f"| {i} | {r['library']} | {timed} | {r['seconds']:.2f} | {r['steps_per_s']:.1f} | {untimed} | "
                     f"{r['final_loss']:.3g} | {_fmt(r['others_busy'])} |")
    lines += [
        "",
        "## Machine",
        "",
        f"- Platform: {info['platform']}",
        f"- CPU: {info['cpu']}",
        f"- Cores (os.cpu_count()): {info['cores']}",
        f"- CPU use by other processes just before / just after (cores busy, 1 s sample): "
        f"{_fmt(info['busy_before'])} / {_fmt(info['busy_after'])}; 1-minute load average before: {info['load_before']:.2f}",
        f"- Python: {info['python']} (both libraries)",
        f"- Versions: fieldlab {info['fieldlab']}, jax {info['jax']}, jaxlib {info['jaxlib']}, "
        f"torch {info['torch']}, deepxde {info['deepxde']}, numpy {info['numpy']} (fieldlab) / "
        f"{dx0['numpy']} (DeepXDE)",
        f"- PyTorch threads: {dx0['torch_threads']}; JAX: XLA CPU defaults "
        f"(XLA_FLAGS={os.environ.get('XLA_FLAGS', '') or 'unset'})",
        "",
        "## Configuration",
        "",
        "- Problem: u_t + u u_x = (0.01/pi) u_xx, x in [-1, 1], t in [0, 1]; u(+-1, t) = 0 and "
        "u(x, 0) = -sin(pi x), both as soft (penalty) constraints.",
        f"- Network: 2 -> {DEPTH} hidden layers of {WIDTH} tanh units -> 1, Glorot-normal weights, zero biases.",
        f"- Points: {N_INTERIOR} interior, {N_BOUNDARY} boundary, {N_INITIAL} initial, fixed during training.",
        f"- Optimiser: Adam, lr {LR:g}, constant; float32; full batch; {args.steps} steps per measurement.",
        f"- Repeats: {args.repeats}, interleaved (fieldlab, DeepXDE, fieldlab, DeepXDE, ...).",
        "",
        "## What is timed",
        "",
        f"- **fieldlab**: one fresh `fieldlab.solve` per measurement (chunk = {CHUNK} steps per jitted "
        "call, no evaluation against the reference during training). Rate = (step of last history "
        "row - step of first) / (time of last row - time of first); the first chunk, which holds "
        "the JIT compilation, is excluded. Timed: for each step the loss, its gradient and the "
        "Adam update (plus fieldlab's per-step finite-loss check), and after each chunk one extra "
        "loss evaluation for the history row and the host-side bookkeeping.",
        f"- **DeepXDE**: a fresh Python process per measurement (`DDE_BACKEND=pytorch`); the "
        f"problem is built and `model.train` runs {args.warmup} warm-up iterations untimed, then "
        "`time.perf_counter()` brackets `model.train(iterations=steps, display_every=10**9)`. "
        "Timed: for each step the loss, its gradient and the Adam update, plus DeepXDE's own "
        "train-loop bookkeeping and the test-loss evaluations `model.train` makes at its start and end.",
        "- \"cores used by others\": CPU time of the whole machine (/proc/stat) minus this script's and "
        "its children's (getrusage), over the measurement's wall time, warm-up included; near 0 on an idle machine.",
        "- Neither includes process start-up, imports, building the problem, or sampling points.",
        "- Work per step differs slightly by design of each library: DeepXDE evaluates the network and "
        f"its derivatives on all {dx0['n_train_points']} training inputs (the boundary and initial "
        f"points twice: as condition points, and among the {dx0['n_pde_points']} PDE points, whose "
        f"residual it also penalises), while fieldlab evaluates the PDE residual on the "
        f"{N_INTERIOR} interior points and only the network value on the "
        f"{N_BOUNDARY + N_INITIAL} boundary and initial points. fieldlab's MLP also rescales inputs "
        "to [-1, 1] (an affine map).",
        "- DeepXDE's example uses t in [0, 0.99]; here both use [0, 1] (no effect on cost).",
        "",
        "## Reproduce",
        "",
        "```",
        command,
        "```",
        "",
        "The script creates the DeepXDE virtual environment on first use "
        f"(`python -m venv`, `pip install torch=={TORCH_VERSION}`, `pip install deepxde`).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=3000, help="Adam steps per measurement (default 3000)")
    ap.add_argument("--repeats", type=int, default=2, help="measurements of each library, interleaved (default 2)")
    ap.add_argument("--warmup", type=int, default=300, help="untimed DeepXDE warm-up iterations (default 300)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="Markdown output (default docs/results/benchmarks-throughput.md)")
    ap.add_argument("--venv", type=Path, default=DEFAULT_VENV, help="DeepXDE venv (default benchmarks/.venv-deepxde)")
    args = ap.parse_args(argv)
    if args.steps < 3 * CHUNK or args.steps % CHUNK:
        ap.error(f"--steps must be a multiple of {CHUNK} and at least {3 * CHUNK}")
    if args.repeats < 1 or args.warmup < 1:
        ap.error("--repeats and --warmup must be positive")
    out = args.out.resolve()
    if out == PROTECTED.resolve():
        ap.error(f"refusing to overwrite {PROTECTED.relative_to(REPO)}; choose another --out")
    venv = args.venv.resolve()

    import jax
    import jaxlib
    import numpy as np

    import fieldlab

    py = ensure_deepxde_venv(venv)

    def rel(p: Path) -> str:
        try:
            return str(p.relative_to(REPO))
        except ValueError:
            return str(p)

    command = shlex.join(["python", "benchmarks/throughput_vs_deepxde.py", "--steps", str(args.steps),
                          "--repeats", str(args.repeats), "--warmup", str(args.warmup), "--out", rel(out)]
                         + (["--venv", rel(venv)] if venv != DEFAULT_VENV.resolve() else []))
    info = {
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "platform": platform.platform(), "cpu": cpu_model(), "cores": os.cpu_count(),
        "python": platform.python_version(), "fieldlab": fieldlab.__version__, "jax": jax.__version__,
        "jaxlib": jaxlib.__version__, "numpy": np.__version__, "load_before": os.getloadavg()[0],
        "busy_before": busy_cores(),
    }
    if info["busy_before"] is not None and info["busy_before"] > BUSY_THRESHOLD:
        print(f"warning: other processes are using {info['busy_before']:.2f} of {info['cores']} cores; "
              "the timings will be noisy", file=sys.stderr, flush=True)
    print(f"fieldlab vs DeepXDE, Burgers: {args.steps} steps x {args.repeats} repeats on {info['cpu']} "
          f"({info['cores']} cores)", flush=True)
    results = []
    for rep in range(args.repeats):
        r, others = others_busy(measure_fieldlab, args.steps, seed=rep)
        results.append({"library": "fieldlab", "repeat": rep + 1, "others_busy": others, **r})
        print(f"  [{rep + 1}/{args.repeats}] fieldlab: {r['steps_per_s']:8.1f} steps/s "
              f"({r['timed_steps']} steps in {r['seconds']:.2f} s)", flush=True)
        r, others = others_busy(measure_deepxde, py, args.steps, args.warmup, seed=rep)
        results.append({"library": "deepxde", "repeat": rep + 1, "others_busy": others, **r})
        print(f"  [{rep + 1}/{args.repeats}] DeepXDE:  {r['steps_per_s']:8.1f} steps/s "
              f"({r['steps']} steps in {r['seconds']:.2f} s)", flush=True)
    info["busy_after"] = busy_cores()
    info["others_during"] = [r["others_busy"] for r in results]
    dx0 = next(r for r in results if r["library"] == "deepxde")
    info["torch"], info["deepxde"] = dx0["torch"], dx0["deepxde"]

    text = markdown(info, results, args, command)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print()
    print(text)
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
