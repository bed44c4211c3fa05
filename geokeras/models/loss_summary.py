"""The training section of metrics.json: what the loss curve did, in a few numbers.

The last epoch's loss alone can sit on a spike of a noisy curve, so next to it come the best
epoch and the mean of the last epochs. Pure Python (no TensorFlow): report and sweep code use it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

LAST_EPOCHS = 5
"""Epochs averaged by ``loss_mean_last_5`` (all epochs when fewer ran)."""

LOSS_SUMMARY_KEYS = ("final_loss", "loss_mean_last_5", "best_loss", "best_epoch")
"""Keys :func:`loss_summary` writes for ``loss`` (and with the ``val_`` prefix for ``val_loss``)."""


def loss_summary(losses: Sequence[float], prefix: str = "") -> dict[str, Any]:
    """``final_loss``, ``loss_mean_last_5``, ``best_loss`` and ``best_epoch`` of a loss curve.

    With ``L_1 .. L_E`` the per-epoch losses: final_loss = L_E (the last epoch, whatever it was);
    loss_mean_last_5 = mean(L_{E-k+1} .. L_E) with k = min(5, E); best_loss = min_e L_e and
    best_epoch = the first (1-based) epoch reaching it, as Keras numbers epochs. NaN losses are
    never best. No epoch: NaN losses and best_epoch None. ``prefix`` is put before each key
    (``"val_"`` for the validation loss).
    """
    values = [float(value) for value in losses]
    finite = [(value, epoch) for epoch, value in enumerate(values, start=1) if not math.isnan(value)]
    best_loss, best_epoch = min(finite, key=lambda pair: (pair[0], pair[1])) if finite else (math.nan, None)
    last = values[-LAST_EPOCHS:]
    summary = {
        "final_loss": values[-1] if values else math.nan,
        "loss_mean_last_5": math.fsum(last) / len(last) if last else math.nan,
        "best_loss": best_loss,
        "best_epoch": best_epoch,
    }
    return {f"{prefix}{key}": value for key, value in summary.items()}


def training_metrics(history: Mapping[str, Sequence[float]], epochs: int, seconds: float, samples_per_second: float):
    """metrics.json's ``training`` section, in report order.

    ``epochs``, the :func:`loss_summary` of ``history["loss"]`` and, with a validation split, of
    ``history["val_loss"]`` (``val_final_loss``, ...), then ``seconds`` and ``samples_per_second``.
    """
    metrics: dict[str, Any] = {"epochs": int(epochs), **loss_summary(history.get("loss", []))}
    if history.get("val_loss"):
        metrics.update(loss_summary(history["val_loss"], prefix="val_"))
    metrics.update(seconds=float(seconds), samples_per_second=float(samples_per_second))
    return metrics
