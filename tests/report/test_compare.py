"""geokeras compare: one row per metric, one column per run."""

from __future__ import annotations

import json

import pytest

from geokeras.errors import GeokerasInputError
from geokeras.report.compare import compare_runs, flatten_metrics, without_timings


def test_flatten_metrics():
    assert flatten_metrics({"a": {"b": 1, "c": {"d": 2.5}}, "e": [1, 2], "f": None}) == {
        "a.b": 1,
        "a.c.d": 2.5,
        "f": None,
    }


def test_compare_table(tmp_path):
    for name, loss, extra in (("one", 0.125, {}), ("two", 1 / 3, {"reconstruction": {"mse": 0.5}})):
        (tmp_path / name).mkdir()
        metrics = {"spec": {"name": name, "hash": "h"}, "training": {"epochs": 3, "final_loss": loss}, **extra}
        (tmp_path / name / "metrics.json").write_text(json.dumps(metrics))
    table = compare_runs([tmp_path / "one", tmp_path / "two"]).splitlines()
    assert table[0] == "| metric | one | two |"
    assert "| training.final_loss | 0.125 | 0.333333 |" in table
    assert "| reconstruction.mse | - | 0.5 |" in table
    assert not any("spec.hash" in row for row in table)


def test_without_timings_drops_exactly_the_wall_time_fields():
    metrics = {
        "training": {"epochs": 3, "seconds": 1.5, "samples_per_second": 9.0},
        "ot": {"tv": 0.1, "seconds": 2.0, "generate": {"seconds": 0.5, "samples": 4}},
        "ot_quality": {"transport_cost": 0.2},
        "reconstruction": {"mse": 0.3, "per_point": [1, 2]},
    }
    assert without_timings(metrics) == {
        "training": {"epochs": 3},
        "ot": {"tv": 0.1, "generate": {"samples": 4}},
        "ot_quality": {"transport_cost": 0.2},
        "reconstruction": {"mse": 0.3, "per_point": [1, 2]},
    }


def test_metrics_that_are_not_a_json_object_are_bad_input(tmp_path):
    (tmp_path / "metrics.json").write_text("[1, 2]")
    with pytest.raises(GeokerasInputError, match=r"to hold a JSON object of metric sections. Received a JSON list."):
        compare_runs([tmp_path])
