"""geokeras compare: the differing spec keys first, labelled columns, sweep folders, filters, formats."""

from __future__ import annotations

import csv
import io
import json

import pytest

from geokeras.cli import main
from geokeras.errors import GeokerasInputError
from geokeras.report.compare import (
    compare,
    compare_runs,
    flatten_metrics,
    flatten_spec,
    raw_value,
    readable_value,
    without_timings,
)
from tests.conftest import fake_run_dir


def spiral_spec(turns, seed=7, encoder=(8, 8), decoder=(8, 8)) -> dict:
    return {
        "name": "spiral",
        "seed": seed,
        "manifold": {"type": "archimedean_spiral", "turns": turns, "noise": None},
        "model": {"encoder": {"type": "mlp", "widths": list(encoder)}, "decoder": {"widths": list(decoder)}},
        "evaluate": [{"type": "reconstruction", "samples": 32}],
        "report": {"figures": True},
    }


def spiral_metrics(loss, mse=0.5) -> dict:
    return {
        "spec": {"name": "spiral", "hash": "f" * 64},
        "training": {"epochs": 3, "final_loss": loss},
        "reconstruction": {"mse": mse, "exact": True, "reason": None},
    }


@pytest.fixture
def three_runs(tmp_path):
    """turns 1, 2, 2 and seeds 7, 7, 8: the second and third share all but the seed."""
    return [
        fake_run_dir(tmp_path, "spiral-aaa", spiral_metrics(0.125), spiral_spec(1)),
        fake_run_dir(tmp_path, "spiral-bbb", spiral_metrics(1 / 3), spiral_spec(2)),
        fake_run_dir(tmp_path, "spiral-ccc", spiral_metrics(0.25, mse=0.75), spiral_spec(2, seed=8)),
    ]


def markdown_rows(text: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in text.splitlines()]


def test_flatten_metrics():
    assert flatten_metrics({"a": {"b": 1, "c": {"d": 2.5}}, "e": [1, 2], "f": None}) == {
        "a.b": 1,
        "a.c.d": 2.5,
        "f": None,
    }


def test_flatten_spec_writes_keys_as_overrides_do():
    assert flatten_spec(spiral_spec(1.5)) == {
        "name": "spiral",
        "seed": 7,
        "manifold.type": "archimedean_spiral",
        "manifold.turns": 1.5,
        "manifold.noise": None,
        "model.encoder.type": "mlp",
        "model.encoder.widths": [8, 8],
        "model.decoder.widths": [8, 8],
        "evaluate.0.type": "reconstruction",
        "evaluate.0.samples": 32,
        "report.figures": True,
    }
    assert flatten_spec({"a": {}, "b": []}) == {"a": {}, "b": []}


def test_differing_spec_keys_come_first_and_label_the_columns(three_runs):
    rows = markdown_rows(compare_runs(three_runs))
    assert rows[0] == ["key", "seed=7, turns=1", "seed=7, turns=2", "seed=8, turns=2"]
    assert rows[1] == ["---|---:|---:|---:"]
    assert rows[2:6] == [
        ["**spec**", "", "", ""],
        ["seed", "7", "7", "8"],
        ["manifold.turns", "1", "2", "2"],
        ["**metrics**", "", "", ""],
    ]
    assert ["training.final_loss", "0.125", "0.333333", "0.25"] in rows
    assert ["reconstruction.exact", "true", "true", "true"] in rows
    assert ["reconstruction.reason", "—", "—", "—"] in rows
    assert rows[-1] == ["run", "spiral-aaa", "spiral-bbb", "spiral-ccc"]
    assert not any("spec.hash" in row for row in rows)


def test_labels_use_the_shortest_unambiguous_key(tmp_path):
    runs = [
        fake_run_dir(tmp_path, "a", spiral_metrics(0.1), spiral_spec(1, encoder=(8,), decoder=(4,))),
        fake_run_dir(tmp_path, "b", spiral_metrics(0.2), spiral_spec(1, encoder=(16,), decoder=(4, 4))),
    ]
    comparison = compare(runs)
    assert comparison.labels == ("encoder.widths=[8], decoder.widths=[4]", "encoder.widths=[16], decoder.widths=[4, 4]")
    assert [row.key for row in comparison.rows if row.kind == "spec"] == [
        "model.encoder.widths",
        "model.decoder.widths",
    ]


def test_a_type_key_keeps_its_parent_in_the_label(tmp_path):
    circle = {**spiral_spec(1), "manifold": {"type": "circle"}}
    runs = [fake_run_dir(tmp_path, "a", {}, spiral_spec(1)), fake_run_dir(tmp_path, "b", {}, circle)]
    assert compare(runs).labels == ("manifold.type=archimedean_spiral, turns=1", "manifold.type=circle, turns=—")


def test_run_names_label_the_columns_when_nothing_differs_or_the_label_is_too_long(tmp_path):
    same = [fake_run_dir(tmp_path, name, spiral_metrics(0.1), spiral_spec(1)) for name in ("x-1", "x-2")]
    comparison = compare(same)
    assert comparison.labels == ("x-1", "x-2")
    assert [row.kind for row in comparison.rows].count("spec") == 0
    assert markdown_rows(comparison.markdown())[2] == ["spec.name", "spiral", "spiral"]  # no part headings

    long_name = {**spiral_spec(1), "name": "a-name-much-too-long-to-be-part-of-a-column-label"}
    runs = [fake_run_dir(tmp_path, "y-1", {}, long_name), fake_run_dir(tmp_path, "y-2", {}, spiral_spec(2))]
    assert compare(runs).labels == ("y-1", "name=spiral, turns=2")


def test_only_differing_keeps_the_rows_that_differ(three_runs):
    comparison = compare(three_runs, only_differing=True)
    assert [(row.kind, row.key) for row in comparison.rows] == [
        ("spec", "seed"),
        ("spec", "manifold.turns"),
        ("metric", "training.final_loss"),
        ("metric", "reconstruction.mse"),
        ("run", "run"),
    ]
    assert main(["compare", *map(str, three_runs), "--diff"]) == 0


def test_csv_round_trips_the_exact_values(three_runs, capsys):
    assert main(["compare", *map(str, three_runs), "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert list(rows[0]) == ["kind", "key", "seed=7, turns=1", "seed=7, turns=2", "seed=8, turns=2"]
    by_key = {row["key"]: row for row in rows}
    assert float(by_key["training.final_loss"]["seed=7, turns=2"]) == 1 / 3
    assert by_key["seed"]["kind"] == "spec" and by_key["seed"]["seed=8, turns=2"] == "8"
    assert by_key["reconstruction.exact"]["seed=7, turns=1"] == "true"
    assert by_key["reconstruction.reason"]["seed=7, turns=1"] == ""
    assert by_key["run"]["seed=8, turns=2"] == str(three_runs[2])


@pytest.mark.parametrize(
    "value, raw, readable",
    [
        (None, "", "—"),
        (True, "true", "true"),
        (1 / 3, "0.3333333333333333", "0.333333"),
        (float("nan"), "nan", "NaN"),
        (10**40, str(10**40), str(10**40)),
        ([8, 8], "[8, 8]", "[8, 8]"),
        ({}, "{}", "{}"),
        ("encoded", "encoded", "encoded"),
    ],
)
def test_raw_and_readable_values(value, raw, readable):
    assert raw_value(value) == raw and readable_value(value) == readable


def write_sweep_folder(runs_root, points):
    """A sweep folder as geokeras.sweep writes it: sweep.json lists the points in grid order."""
    folder = runs_root / "sweep-spiral-000000000000"
    folder.mkdir()
    (folder / "sweep.json").write_text(json.dumps(points), encoding="utf-8")
    return folder


def test_a_sweep_folder_stands_for_its_runs_in_sweep_order(tmp_path, capsys):
    runs_root = tmp_path / "runs"
    first = fake_run_dir(runs_root, "spiral-bbb", spiral_metrics(0.2), spiral_spec(2))
    second = fake_run_dir(runs_root, "spiral-aaa", spiral_metrics(0.1), spiral_spec(1))
    folder = write_sweep_folder(
        runs_root,
        [
            {"values": {"manifold.turns": "2"}, "status": "done", "run_dir": "elsewhere/spiral-bbb", "detail": ""},
            {"values": {"manifold.turns": "1"}, "status": "reused", "run_dir": str(second), "detail": ""},
            {"values": {"manifold.turns": "3"}, "status": "failed", "run_dir": "runs/spiral-ccc", "detail": "x"},
        ],
    )
    comparison = compare([folder])
    assert comparison.run_dirs == (first, second)
    assert comparison.labels == ("turns=2", "turns=1")
    assert comparison.notes == (f"{folder}: point manifold.turns=3 left out (failed: no finished run).",)

    extra = fake_run_dir(tmp_path, "spiral-ddd", spiral_metrics(0.3), spiral_spec(4))
    mixed = compare([extra, folder, second])
    assert mixed.run_dirs == (extra, first, second)
    assert mixed.notes[-1] == f"{second}: named more than once; shown once."

    assert main(["compare", str(folder)]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0] == "| key | turns=2 | turns=1 |"
    assert "geokeras: note: " in captured.err and "manifold.turns=3 left out" in captured.err


def test_a_run_without_resolved_yaml_shows_its_metrics_with_a_note(tmp_path, capsys):
    old = fake_run_dir(tmp_path, "old-run", spiral_metrics(0.5))
    new = [fake_run_dir(tmp_path, f"new-{turns}", spiral_metrics(0.1), spiral_spec(turns)) for turns in (1, 2)]
    comparison = compare([old, *new])
    assert comparison.labels == ("old-run", "turns=1", "turns=2")
    assert comparison.rows[0].key == "manifold.turns" and comparison.rows[0].values == (None, 1, 2)
    assert comparison.notes == (
        f"{old} has no resolved.yaml (a run of an older geokeras): its spec values are unknown.",
    )
    assert main(["compare", str(old)]) == 0
    captured = capsys.readouterr()
    assert "| training.final_loss | 0.5 |" in captured.out and "has no resolved.yaml" in captured.err


@pytest.mark.parametrize("make", ["empty_folder", "missing", "staging"])
def test_a_folder_that_is_neither_a_run_nor_a_sweep_exits_2_naming_it(tmp_path, capsys, make):
    path = tmp_path / "target"
    if make == "empty_folder":
        path.mkdir()
    elif make == "staging":
        path.mkdir()
        (path / "resolved.yaml").write_text("name: x\n")
    assert main(["compare", str(path)]) == 2
    error = capsys.readouterr().err
    assert f"Received: {str(path)!r}" in error and "Traceback" not in error
    assert ("does not exist" in error) == (make == "missing")


def test_a_sweep_folder_without_finished_runs_is_bad_input(tmp_path):
    folder = write_sweep_folder(tmp_path, [{"values": {"seed": "1"}, "status": "failed", "run_dir": "r/x"}])
    with pytest.raises(GeokerasInputError, match="expected at least one finished run"):
        compare([folder])
    (folder / "sweep.json").write_text('{"points": 3}')
    with pytest.raises(GeokerasInputError, match="to hold a JSON list of sweep points"):
        compare([folder])


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
