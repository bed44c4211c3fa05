"""geokeras compare: one row per metric, one column per run."""

from __future__ import annotations

import json

from geokeras.report.compare import compare_runs, flatten_metrics


def test_flatten_metrics():
    assert flatten_metrics({"a": {"b": 1, "c": {"d": 2.5}}, "e": [1, 2], "f": None}) == {"a.b": 1, "a.c.d": 2.5, "f": None}


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
