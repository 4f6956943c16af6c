"""Weak SINDy (PySINDy's ``WeakPDELibrary`` + ``STLSQ``) on data sets written by discovery_vs_pysindy.py.

Runs with the interpreter of the PySINDy virtual environment (``benchmarks/.venv-pysindy``), never
with fieldlab's: it needs only numpy and pysindy. Usage::

    python _pysindy_child.py MANIFEST.json RESULTS.json

The manifest holds ``settings`` (``threshold``, ``alpha``, ``p``; ``sweep`` and ``sweep_alphas``: the
STLSQ thresholds and ridge parameters to try on the ``tune`` jobs) and ``jobs``: one per data set,
with ``id``, ``file`` (an ``.npz`` with ``x`` (nx,), ``t`` (nt,), ``u`` (nt, nx)), ``seed`` (seeds NumPy's global generator, which places PySINDy's random
test-function subdomains), ``hx``, ``ht`` (subdomain half-widths), ``K`` (number of subdomains) and
optionally ``truth_d``, ``truth_r`` (true coefficients: the relative residual of the truth in the
weak equations is reported, outside the timed part).

**Mapping.** The model ``u_t = (D(u) u_x)_x + R(u)`` with ``D = d0 + d1 u + d2 u^2`` and
``R = r0 + r1 u + r2 u^2 + r3 u^3`` is ``u_t = sum_k d_k g_k(u)_xx + R(u)`` with
``g_k = u^(k+1)/(k+1)``. PySINDy gets three input channels ``[g_0, g_1, g_2] = [u, u^2/2, u^3/3]``
(shape (nx, nt, 3), time last) and a ``WeakPDELibrary`` with

- ``include_bias=True``: the column ``1`` (-> r0),
- ``function_library=IdentityLibrary()``: the columns ``g_0, g_1, g_2`` = ``u, u^2/2, u^3/3``
  with coefficients ``c_1, c_2, c_3`` (-> ``r_k = c_k / k``),
- pure spatial second derivatives of every channel, ``(g_k)_xx`` (-> d_k directly), which PySINDy
  integrates by parts twice onto the test function (no derivative of the data is ever taken),
- ``include_interaction=False`` (no ``f(u) * derivative`` products, which PySINDy would evaluate by
  finite differences of the data) and only the multi-index ``[2]`` (no first-derivative terms), so
  the library is exactly our 7 terms.

Only the first target (the weak ``u_t`` of channel 0 = u) is read; PySINDy also fits the other two
channels' time derivatives, which are discarded.

pysindy 2.1.0 raises ``UnboundLocalError`` when ``multiindices`` is passed to ``WeakPDELibrary``;
the library is then built with ``derivative_order=2`` (multi-indices [1] and [2]) and reduced to
[2] by setting ``multiindices``/``num_derivatives`` and recomputing its weights.
"""

from __future__ import annotations

import json
import platform
import sys
import time
import warnings

import numpy as np
import pysindy as ps


def make_library(x, t, hx, ht, K, p, seed):
    """A ``WeakPDELibrary`` for channels [u, u^2/2, u^3/3]: 1, the channels, their x-second derivatives."""
    X, T = np.meshgrid(x, t, indexing="ij")
    grid = np.stack([X, T], axis=-1)  # (nx, nt, 2), time last
    kw = dict(function_library=ps.IdentityLibrary(), spatiotemporal_grid=grid, include_bias=True,
              include_interaction=False, K=K, H_xt=[hx, ht], p=p)
    np.random.seed(seed)
    try:
        lib = ps.WeakPDELibrary(derivative_order=2, multiindices=[np.array([2])], **kw)
        patched = False
    except UnboundLocalError:  # pysindy 2.1.0 bug with user multiindices
        lib = ps.WeakPDELibrary(derivative_order=2, **kw)
        lib.multiindices = [np.array([2])]
        lib.num_derivatives = 1
        np.random.seed(seed)
        lib._set_up_weights()
        patched = True
    return lib, patched


def channels(u):
    U = np.asarray(u, float).T  # (nx, nt)
    return np.stack([U, U**2 / 2, U**3 / 3], axis=-1)


def truth_residual(lib, feats, d, r):
    """||Theta c_true - y|| / ||y|| in the library's own weak equations for u_t (its discretisation error)."""
    F = ps.AxesArray(feats, {"ax_spatial": 0, "ax_time": 1, "ax_coord": 2})
    theta = np.asarray(lib.transform([F])[0])
    y = np.asarray(lib.convert_u_dot_integral(F))[:, 0]
    c = np.array([r[0], r[1], 2 * r[2], 3 * r[3], d[0], d[1], d[2]])
    return float(np.linalg.norm(theta @ c - y) / np.linalg.norm(y))


def fit(lib, feats, t, threshold, alpha):
    opt = ps.STLSQ(threshold=threshold, alpha=alpha, normalize_columns=True)
    model = ps.SINDy(optimizer=opt, feature_library=lib)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(feats, t=t)
    c = np.asarray(model.coefficients())[0]  # equation for channel 0 (u)
    names = model.get_feature_names()
    # columns: 1, x0, x1, x2 (= u, u^2/2, u^3/3), x0_11, x1_11, x2_11
    expected = ["1", "x0", "x1", "x2", "x0_11", "x1_11", "x2_11"]
    if list(names) != expected:
        raise RuntimeError(f"unexpected PySINDy feature names {names}; expected {expected}")
    r = [c[0], c[1], c[2] / 2, c[3] / 3]
    d = [c[4], c[5], c[6]]
    return [float(v) for v in d], [float(v) for v in r]


def main(manifest_path, results_path):
    manifest = json.loads(open(manifest_path).read())
    s = manifest["settings"]
    out = {"versions": {"pysindy": ps.__version__, "numpy": np.__version__, "python": platform.python_version()},
           "results": [], "sweep": []}
    for job in manifest["jobs"]:
        data = np.load(job["file"], allow_pickle=False)
        x, t, u = data["x"], data["t"], data["u"]
        feats = channels(u)
        t0 = time.perf_counter()
        lib, patched = make_library(x, t, job["hx"], job["ht"], job["K"], s["p"], job["seed"])
        d, r = fit(lib, feats, t, s["threshold"], s["alpha"])
        seconds = time.perf_counter() - t0
        res = truth_residual(lib, feats, job["truth_d"], job["truth_r"]) if "truth_d" in job else None
        out["results"].append({"id": job["id"], "d": d, "r": r, "seconds": seconds, "patched_multiindices": patched,
                               "truth_residual": res})
        print(f"  pysindy {job['id']}: {seconds:.2f} s", flush=True)
        if job.get("tune"):
            for alpha in s["sweep_alphas"]:
                for thr in s["sweep"]:
                    d, r = fit(lib, feats, t, thr, alpha)
                    out["sweep"].append({"id": job["id"], "alpha": alpha, "threshold": thr, "d": d, "r": r})
    with open(results_path, "w") as fh:
        json.dump(out, fh)


if __name__ == "__main__":
    main(*sys.argv[1:3])
