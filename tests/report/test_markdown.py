"""report.md rendering: every metric, every image link, provenance; no matplotlib."""

from __future__ import annotations

import math

import numpy as np
import pytest

from geokeras.report.markdown import format_value, render_report

METRICS = {  # the layout of metrics.json (docs/run-directory.md)
    "spec": {"name": "spiral-3-turns", "hash": "ab" * 32},
    "training": {
        "epochs": 200,
        "final_loss": 0.000123456789,
        "seconds": 31.25,
        "samples_per_second": 130912.5,
        "best_epoch": 187,
    },
    "reconstruction": {"samples": 2000, "mse": 1.23456789e-05, "chamfer": 0.0312345678, "hausdorff": 0.25},
    "custom_section": {"learnable": True, "regions": {"cells": 12, "pieces": 9}},
    "timing": {"evaluate_seconds": 2.5},
    "total_seconds": 40,
}
FIGURES = [("Training loss", "figures/loss.png"), ("Reconstruction [held-out]", "figures/reconstruction.png")]
PROVENANCE = {
    "command": "geokeras run specs/quickstart.yaml",
    "versions": {"geokeras": "0.1.0", "tensorflow": "2.21.0", "keras": "3.15.1"},
    "devices": [{"name": "/physical_device:CPU:0", "device_type": "CPU"}],
    "git_commit": None,
}


def report() -> str:
    return render_report(
        spec_name="spiral-3-turns", spec_hash="ab" * 32, metrics=METRICS, figures=FIGURES, provenance=PROVENANCE
    )


def test_title_hash_and_training_summary():
    text = report()
    assert text.startswith("# spiral-3-turns\n")
    assert "ab" * 32 in text and f"spiral-3-turns-{'ab' * 6}" in text
    for row in (
        "| epochs | 200 |",
        "| final_loss | 0.000123457 |",
        "| seconds | 31.25 |",
        "| samples_per_second | 130912 |",
        "| best_epoch | 187 |",
    ):
        assert row in text
    summary = text.split("## Training summary")[1].split("##")[0]
    assert (
        summary.index("epochs")
        < summary.index("final_loss")
        < summary.index("seconds")
        < summary.index("samples_per_second")
    )


def test_every_evaluator_metric_is_a_table_row():
    text = report()
    assert "## Evaluator: reconstruction" in text and "## custom_section" in text and "## timing" in text
    assert "## spec" not in text and "## Other metrics" in text
    for row in (
        "| samples | 2000 |",
        "| mse | 1.23457e-05 |",
        "| chamfer | 0.0312346 |",
        "| hausdorff | 0.25 |",
        "| learnable | true |",
        "| regions.cells | 12 |",
        "| regions.pieces | 9 |",
        "| evaluate_seconds | 2.5 |",
        "| total_seconds | 40 |",
    ):
        assert row in text


def test_nested_layout_train_and_evaluate_is_accepted():
    metrics = {"train": {"epochs": 3}, "evaluate": {"reconstruction": {"mse": 0.5}, "other": {"x": 1}}}
    text = render_report(spec_name="x", spec_hash="0" * 64, metrics=metrics, figures=[], provenance={})
    assert "| epochs | 3 |" in text and "| mse | 0.5 |" in text
    assert "## Evaluator: reconstruction" in text and "## Evaluator: other" in text


def test_figures_are_relative_image_links():
    text = report()
    assert "![Training loss](figures/loss.png)" in text
    assert "![Reconstruction (held-out)](figures/reconstruction.png)" in text
    with pytest.raises(ValueError, match="relative"):
        render_report(spec_name="x", spec_hash="0" * 64, metrics={}, figures=[("a", "/abs/a.png")], provenance={})
    spaced = render_report(
        spec_name="x", spec_hash="0" * 64, metrics={}, figures=[("a", "my figs/a.png")], provenance={}
    )
    assert "![a](<my figs/a.png>)" in spaced


def test_provenance_block_lists_versions_and_devices_first():
    text = report()
    provenance = text.split("## Provenance")[1]
    assert provenance.index("**versions**") < provenance.index("**devices**") < provenance.index("**command**")
    assert "geokeras 0.1.0, tensorflow 2.21.0, keras 3.15.1" in provenance
    assert "/physical_device:CPU:0" in provenance and "**git_commit**: —" in provenance


def test_empty_inputs_render_placeholders():
    text = render_report(spec_name="x", spec_hash="0" * 64, metrics={}, figures=[], provenance={})
    assert "No training metrics" in text and "No provenance" in text and "## Figures" not in text


@pytest.mark.parametrize(
    "value, text",
    [
        (1 / 3, "0.333333"),
        (np.float32(2.5), "2.5"),
        (123456789, "123456789"),
        (1234567.891, "1.23457e+06"),
        (math.nan, "NaN"),
        (-math.inf, "-inf"),
        (np.bool_(False), "false"),
        (None, "—"),
        ("a|b", "a|b"),
        (list(range(12)), "[0, 1, 2, 3, 4, 5, 6, 7, … (12 values)]"),
    ],
)
def test_format_value(value, text):
    assert format_value(value) == text


def test_pipes_in_cells_are_escaped():
    text = render_report(
        spec_name="x", spec_hash="0" * 64, metrics={"train": {"note": "a|b"}}, figures=[], provenance={}
    )
    assert "| note | a\\|b |" in text
