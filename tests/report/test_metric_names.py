"""One meaning per metric name: the golden runs' leaf names, and older names read as current ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from geokeras.report.compare import compare_runs
from geokeras.report.metric_names import (
    RENAMED_METRICS,
    ambiguous_names,
    current_metric_name,
    current_metric_names,
    leaf_sections,
)

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
GOLDEN_RUNS = sorted(path for path in GOLDEN.glob("*.json") if path.name != "spec_hashes.json")


@pytest.mark.parametrize("path", GOLDEN_RUNS, ids=lambda path: path.stem)
def test_a_leaf_name_shared_by_sections_has_one_meaning(path):
    assert ambiguous_names(json.loads(path.read_text(encoding="utf-8"))) == {}


def test_sections_of_all_golden_runs_together_share_no_name_with_two_meanings():
    together: dict = {}
    for path in GOLDEN_RUNS:
        for section, values in json.loads(path.read_text(encoding="utf-8")).items():
            together.setdefault(section, {}).update(values)
    assert ambiguous_names(together) == {}


def test_the_rule_catches_a_name_with_two_meanings():
    metrics = {
        "ot": {"max_rel_mass_error": 1e-9, "samples": 0},
        "ot_quality": {"max_rel_mass_error": 0.1, "samples": 9},
    }
    assert ambiguous_names(metrics) == {"max_rel_mass_error": ["ot", "ot_quality"]}
    assert leaf_sections({"spec": {"name": "x"}, "a": {"b": {"c": 1}}}) == {"c": {"a"}}


def test_no_golden_run_writes_a_renamed_metric():
    for path in GOLDEN_RUNS:
        metrics = json.loads(path.read_text(encoding="utf-8"))
        for old in RENAMED_METRICS:
            section, key = old.split(".", 1)
            assert key not in metrics.get(section, {}), f"{path.name}: {old}"


def test_older_names_are_read_as_the_current_ones(tmp_path):
    old = {
        "spec": {"name": "x", "hash": "h"},
        "ot": {"steps": 7, "max_rel_mass_error": 5e-9},
        "ot_quality": {"max_rel_mass_error": 0.1, "tv": 0.01, "targets": 64, "steps": 7, "seconds": 2.0},
    }
    assert current_metric_names(old) == {
        "spec": {"name": "x", "hash": "h"},
        "ot": {"steps": 7, "max_rel_mass_error": 5e-9, "seconds": 2.0},
        "ot_quality": {"sampled_max_rel_mass_error": 0.1, "sampled_tv": 0.01, "distinct_targets": 64},
    }
    assert old["ot_quality"]["tv"] == 0.01  # the input is left as it was
    assert current_metric_name("ot_quality.max_rel_mass_error") == "ot_quality.sampled_max_rel_mass_error"
    assert current_metric_name("ot.tv") == "ot.tv"
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.json").write_text(json.dumps(old), encoding="utf-8")
    table = compare_runs([run])
    assert "| ot_quality.sampled_max_rel_mass_error | 0.1 |" in table and "ot_quality.tv " not in table
