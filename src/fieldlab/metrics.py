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


def all_metrics(pred, ref, fields: tuple[str, ...] | None = None) -> dict[str, float]:
    """MSE, RMSE, MAE, MaxAE and relative L2 over all fields, and relative L2 per field."""
    pred, ref = np.asarray(pred, np.float64), np.asarray(ref, np.float64)
    out = {"mse": mse(pred, ref), "rmse": rmse(pred, ref), "mae": mae(pred, ref),
           "max_ae": max_ae(pred, ref), "rel_l2": rel_l2(pred, ref)}
    if fields is not None and len(fields) > 1:
        for k, name in enumerate(fields):
            out[f"rel_l2_{name}"] = rel_l2(pred[:, k], ref[:, k])
    return out
