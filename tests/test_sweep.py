"""``geokeras sweep``: grid parsing, validation before running, reuse, and a killed point."""

from __future__ import annotations

import csv
import json
import signal
import sys
import textwrap
from pathlib import Path

import pytest

import geokeras.sweep as sweep_module
from geokeras.cli import main
from geokeras.errors import GeokerasInputError, SpecError
from geokeras.sweep import DONE, FAILED, REUSED, parse_grid, sweep
from geokeras.sweep_values import split_values

SPEC = """\
spec_version: 1
name: sweep-spec
manifold: {type: circle, samples: 64}
model: {latent_dim: 1, encoder: {type: mlp, widths: [4]}}
train: {epochs: 1, batch_size: 32, verbose: 0}
evaluate: [{type: reconstruction, samples: 32}]
report: {figures: false}
"""


@pytest.fixture
def spec_path(tmp_path: Path) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(textwrap.dedent(SPEC), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1,2,3", ["1", "2", "3"]),
        ("[8,8],[16]", ["[8,8]", "[16]"]),
        ("{a: 1, b: [2, 3]}, x", ["{a: 1, b: [2, 3]}", "x"]),
        ("relu", ["relu"]),
    ],
)
def test_split_values_keeps_commas_inside_brackets(text, expected):
    assert split_values(text) == expected


def test_parse_grid_axes_in_order():
    axes = parse_grid(["manifold.radius=1,2", "model.encoder.widths=[4],[8,8]", "seed=3"])
    assert [(axis.key, axis.values) for axis in axes] == [
        ("manifold.radius", ("1", "2")),
        ("model.encoder.widths", ("[4]", "[8,8]")),
        ("seed", ("3",)),
    ]


@pytest.mark.parametrize(
    "assignments, message",
    [
        (["manifold.radius"], "key.path=value1,value2"),
        (["manifold.radius=1,,2"], "no empty value"),
        (["=1"], "key.path=value1"),
        (["seed=1", "seed=2"], "Received 'seed' twice"),
        ([], "Received none"),
    ],
)
def test_parse_grid_rejects_malformed_axes(assignments, message):
    with pytest.raises(GeokerasInputError, match=message):
        parse_grid(assignments)


def test_bad_value_at_any_point_fails_before_anything_runs(spec_path, tmp_path):
    runs_root = tmp_path / "runs"
    with pytest.raises(SpecError) as caught:
        sweep(spec_path, ["manifold.radius=1,-2"], runs_root=runs_root)
    assert "manifold.radius" in str(caught.value) and "-2" in str(caught.value)
    assert not runs_root.exists()


def test_cli_bad_grid_exits_2_without_traceback(spec_path, tmp_path, capsys):
    assert main(["sweep", str(spec_path), "manifold.radius", "--runs-root", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert "key.path=value1,value2" in err and "Traceback" not in err
    assert not (tmp_path / "runs").exists()


def test_sweep_runs_reuses_and_survives_a_killed_point(spec_path, tmp_path, monkeypatch):
    runs_root = tmp_path / "runs"
    first = sweep(spec_path, ["manifold.radius=1,2"], runs_root=runs_root)
    assert [point.status for point in first.points] == [DONE, DONE]
    assert all((point.run_dir / "metrics.json").is_file() for point in first.points)
    assert first.points[0].run_dir != first.points[1].run_dir
    assert json.loads((first.points[1].run_dir / "metrics.json").read_text())["spec"]["name"] == "sweep-spec"

    # Grow the grid: the two finished points are reused; the new one is killed by SIGKILL.
    run_point_command = sweep_module.point_command

    def killed_for_radius_3(spec, point):
        if point.values["manifold.radius"] == "3":
            return [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"]
        return run_point_command(spec, point)

    monkeypatch.setattr(sweep_module, "point_command", killed_for_radius_3)
    second = sweep(spec_path, ["manifold.radius=1,2,3"], runs_root=runs_root)
    assert [point.status for point in second.points] == [REUSED, REUSED, FAILED]
    assert second.failed[0].detail.startswith(f"exit status {-signal.SIGKILL}")
    assert not second.points[2].run_dir.exists()
    assert second.points[0].metrics == first.points[0].metrics

    with open(second.sweep_dir / "summary.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(row["manifold.radius"], row["status"]) for row in rows] == [("1", REUSED), ("2", REUSED), ("3", FAILED)]
    assert float(rows[0]["training.final_loss"]) == first.points[0].metrics["training.final_loss"]
    summary = (second.sweep_dir / "summary.md").read_text()
    assert summary.count("\n") == 2 + 3 and "| failed |" in summary
    assert not (second.sweep_dir / "phase.png").exists()  # one swept key: no phase diagram


def test_two_key_sweep_draws_the_phase_diagram_and_checks_the_metric(spec_path, tmp_path, monkeypatch):
    monkeypatch.setattr(
        sweep_module, "point_command", lambda spec, point: [sys.executable, "-c", "raise SystemExit(2)"]
    )
    result = sweep(spec_path, ["manifold.radius=1,2", "seed=0,1"], runs_root=tmp_path / "runs")
    log = result.sweep_dir / "logs" / f"{result.points[0].spec.run_name}.log"
    assert len(result.failed) == 4 and result.failed[0].detail == f"exit status 2: no output (log: {log})"
    assert (result.sweep_dir / "phase.png").stat().st_size > 0
    assert (
        main(["sweep", str(spec_path), "manifold.radius=1,2", "seed=0,1", "--runs-root", str(tmp_path / "runs")]) == 1
    )


def test_points_with_one_resolved_spec_run_once(spec_path, tmp_path, monkeypatch):
    commands = []

    def record(spec, point):
        commands.append(point.overrides)
        return [sys.executable, "-c", "raise SystemExit(2)"]

    monkeypatch.setattr(sweep_module, "point_command", record)
    result = sweep(spec_path, ["seed=7,0x7,8"], runs_root=tmp_path / "runs")
    assert commands == [["seed=7"], ["seed=8"]]
    assert result.points[0].run_dir == result.points[1].run_dir != result.points[2].run_dir
    assert [point.status for point in result.points] == [FAILED, FAILED, FAILED]
    assert result.points[1].detail == "same resolved spec as seed=7: run once"
    assert len(list((result.sweep_dir / "logs").iterdir())) == 2


@pytest.mark.parametrize(
    "metric, hint",
    [("trainng.final_loss", "Did you mean 'training.final_loss'"), ("training.mse", ""), ("ot.tv", "")],
)
def test_an_unknown_metric_section_is_refused_before_anything_runs(spec_path, tmp_path, capsys, metric, hint):
    runs_root = tmp_path / "runs"
    arguments = ["sweep", str(spec_path), "manifold.radius=1,2", "seed=0,1", "--runs-root", str(runs_root)]
    assert main([*arguments, "--metric", metric]) == 2
    error = capsys.readouterr().err
    assert f"Received: {metric!r}" in error and "(reconstruction, training)" in error and hint in error
    assert not runs_root.exists()
