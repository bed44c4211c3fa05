"""The training section's loss summary from known loss curves."""

from __future__ import annotations

import math

from geokeras.models.loss_summary import loss_summary, training_metrics
from geokeras.report.run_dir import TRAINING_METRICS


def test_final_is_the_last_epoch_and_best_the_minimum():
    summary = loss_summary([3.0, 1.0, 2.0, 2.0, 2.0, 2.0, 5.0])
    assert summary == {"final_loss": 5.0, "loss_mean_last_5": 2.6, "best_loss": 1.0, "best_epoch": 2}


def test_first_epoch_reaching_the_best_wins_and_short_curves_average_all_epochs():
    assert loss_summary([4.0, 1.0, 1.0]) == {
        "final_loss": 1.0,
        "loss_mean_last_5": 2.0,
        "best_loss": 1.0,
        "best_epoch": 2,
    }


def test_nan_is_never_best():
    summary = loss_summary([float("nan"), 2.0, 3.0])
    assert summary["best_loss"] == 2.0 and summary["best_epoch"] == 2


def test_no_epoch():
    summary = loss_summary([])
    assert math.isnan(summary["final_loss"]) and math.isnan(summary["best_loss"]) and summary["best_epoch"] is None


def test_training_metrics_add_validation_keys_only_with_a_split():
    plain = training_metrics({"loss": [2.0, 1.0]}, 2, 4.0, 100.0)
    assert list(plain) == [
        "epochs",
        "final_loss",
        "loss_mean_last_5",
        "best_loss",
        "best_epoch",
        "seconds",
        "samples_per_second",
    ]
    split = training_metrics({"loss": [2.0, 1.0], "val_loss": [0.5, 0.75]}, 2, 4.0, 100.0)
    assert split["val_final_loss"] == 0.75 and split["val_best_loss"] == 0.5 and split["val_best_epoch"] == 1
    assert split["val_loss_mean_last_5"] == 0.625
    assert [key for key in TRAINING_METRICS if key in split] == list(split)
