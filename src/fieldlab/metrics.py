"""Error metrics of a prediction against a reference, both ``(n, m)`` (points x fields)."""

from __future__ import annotations

import numpy as np


def mse(pred, ref) -> float:
    return float(np.mean((np.asarray(pred) - np.asarray(ref)) ** 2))


def rmse(pred, ref) -> float:
    return float(np.sqrt(mse(pred, ref)))


def mae(pred, ref) -> float:
    return float(np.mean(np.abs(np.asarray(pred) - np.asarray(ref))))


def max_ae(pred, ref) -> float:
    return float(np.max(np.abs(np.asarray(pred) - np.asarray(ref))))


def rel_l2(pred, ref) -> float:
    """``||pred - ref||_2 / ||ref||_2`` over all points and fields."""
    ref = np.asarray(ref)
    return float(np.linalg.norm(np.asarray(pred) - ref) / max(np.linalg.norm(ref), 1e-300))


PER_FIELD = ("rel_l2", "mse", "rmse", "mae", "max_ae")


def all_metrics(pred, ref, fields: tuple[str, ...] | None = None) -> dict[str, float]:
    """MSE, RMSE, MAE, MaxAE and relative L2 over all fields, and each of them per field.

    Per-field keys are ``<metric>_<field>`` (``rel_l2_u``, ``mse_p``, ``max_ae_T``), for problems
    with several fields. Fields of very different sizes make the pooled numbers meaningless; the
    per-field relative L2 is the one to compare.
    """
    pred, ref = np.asarray(pred, np.float64), np.asarray(ref, np.float64)
    out = {"mse": mse(pred, ref), "rmse": rmse(pred, ref), "mae": mae(pred, ref),
           "max_ae": max_ae(pred, ref), "rel_l2": rel_l2(pred, ref)}
    if fields is not None and len(fields) > 1:
        funcs = {"rel_l2": rel_l2, "mse": mse, "rmse": rmse, "mae": mae, "max_ae": max_ae}
        for name in PER_FIELD:
            for k, field in enumerate(fields):
                out[f"{name}_{field}"] = funcs[name](pred[:, k], ref[:, k])
    return out


def spectral_error(pred_grid, ref_grid, axis: int = 0) -> dict[str, float]:
    """Error by wavenumber band along ``axis`` of grid-shaped arrays (e.g. ``(nx, nt, m)``).

    The error ``pred - ref`` and the reference are Fourier transformed along ``axis`` (real FFT,
    other axes kept); the non-negative wavenumbers are split into thirds, and each band reports
    ``||E_k||_band / ||U_k||_all``: how much of the error sits at low, middle and high frequencies,
    relative to the size of the reference. The three squares add up to the squared relative L2
    error (up to the periodic-extension mismatch of a non-periodic grid).
    """
    err = np.fft.rfft(np.asarray(pred_grid, np.float64) - np.asarray(ref_grid, np.float64), axis=axis)
    ref = np.fft.rfft(np.asarray(ref_grid, np.float64), axis=axis)
    err, ref = np.moveaxis(err, axis, 0), np.moveaxis(ref, axis, 0)
    n = err.shape[0]
    edges = [0, max(1, n // 3), max(2, 2 * n // 3), n]
    total = max(np.linalg.norm(ref), 1e-300)
    return {f"spec_{name}": float(np.linalg.norm(err[a:b]) / total)
            for name, a, b in zip(("low", "mid", "high"), edges[:-1], edges[1:])}


def time_to_threshold(times, errors, thresholds) -> dict[str, float]:
    """First wall time at which the error falls to or under each threshold (NaN if never)."""
    out = {}
    for th in thresholds:
        hit = [t for t, e in zip(times, errors) if np.isfinite(e) and e <= th]
        out[f"t_{th:g}"] = float(hit[0]) if hit else float("nan")
    return out
