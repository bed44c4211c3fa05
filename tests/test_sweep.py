"""``geokeras sweep``: grid parsing, validation before running, reuse, and a killed point."""

from __future__ import annotations

import csv
import json
import signal
import sys

import pytest

import geokeras.sweep as sweep_module
from geokeras.cli import main
from geokeras.errors import GeokerasInputError, SpecError
from geokeras.sweep import DONE, FAILED, REUSED, parse_grid, sweep
from geokeras.sweep_values import split_values


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


def test_bad_value_at_any_point_fails_before_anything_runs(sweep_spec_path, tmp_path):
    runs_root = tmp_path / "runs"
    with pytest.raises(SpecError) as caught:
        sweep(sweep_spec_path, ["manifold.radius=1,-2"], runs_root=runs_root)
    assert "manifold.radius" in str(caught.value) and "-2" in str(caught.value)
    assert not runs_root.exists()


def test_cli_bad_grid_exits_2_without_traceback(sweep_spec_path, tmp_path, capsys):
    assert main(["sweep", str(sweep_spec_path), "manifold.radius", "--runs-root", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert "key.path=value1,value2" in err and "Traceback" not in err
    assert not (tmp_path / "runs").exists()


def test_sweep_runs_reuses_and_survives_a_killed_point(sweep_spec_path, tmp_path, monkeypatch):
    runs_root = tmp_path / "runs"
    first = sweep(sweep_spec_path, ["manifold.radius=1,2"], runs_root=runs_root)
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
    second = sweep(sweep_spec_path, ["manifold.radius=1,2,3"], runs_root=runs_root)
    assert [point.status for point in second.points] == [REUSED, REUSED, FAILED]
    assert second.failed[0].detail.startswith(f"exit status {-signal.SIGKILL}")
    assert not second.points[2].run_dir.exists()
    assert second.points[0].metrics == first.points[0].metrics

    with open(second.sweep_dir / "summary.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(row["manifold.radius"], row["status"]) for row in rows] == [("1", REUSED), ("2", REUSED), ("3", FAILED)]
    assert float(rows[0]["training.final_loss"]) == first.points[0].metrics["training.final_loss"]
    summary = (second.sweep_dir / "summary.md").read_text()
    assert summary.count("\n|") == 2 + 3 and "| failed |" in summary
    assert not (second.sweep_dir / "phase.png").exists()  # one swept key: no phase diagram


def test_two_key_sweep_draws_the_phase_diagram_and_checks_the_metric(sweep_spec_path, tmp_path, monkeypatch):
    monkeypatch.setattr(
        sweep_module, "point_command", lambda spec, point: [sys.executable, "-c", "raise SystemExit(2)"]
    )
    result = sweep(sweep_spec_path, ["manifold.radius=1,2", "seed=0,1"], runs_root=tmp_path / "runs")
    log = result.sweep_dir / "logs" / f"{result.points[0].spec.run_name}.log"
    assert len(result.failed) == 4 and result.failed[0].detail == f"exit status 2: no output (log: {log})"
    assert (result.sweep_dir / "phase.png").stat().st_size > 0
    assert (
        main(["sweep", str(sweep_spec_path), "manifold.radius=1,2", "seed=0,1", "--runs-root", str(tmp_path / "runs")])
        == 1
    )


def test_seeds_are_aggregated_and_the_diagram_takes_the_base_spec_format(sweep_spec_path, tmp_path, monkeypatch):
    sweep_spec_path.write_text(sweep_spec_path.read_text().replace("report: {figures: false}", "report: {format: svg}"))
    monkeypatch.setattr(
        sweep_module, "point_command", lambda spec, point: [sys.executable, "-c", "raise SystemExit(2)"]
    )
    import geokeras.report.phase_diagram as phase_diagram

    calls = []
    original = phase_diagram.plot_phase_diagram

    def record(cells, keys, metric, path, dpi=110, **options):
        calls.append((cells, keys, path.name))
        return original(cells, keys, metric, path, dpi, **options)

    monkeypatch.setattr(phase_diagram, "plot_phase_diagram", record)
    result = sweep(sweep_spec_path, ["seed=0,1", "manifold.radius=1,2"], runs_root=tmp_path / "runs")
    # The seed is no axis: one row over the radius, two runs (seeds) per cell.
    assert calls == [
        ([("1", "failed"), ("2", "failed"), ("1", "failed"), ("2", "failed")], ["manifold.radius"], "phase.svg")
    ]
    assert (result.sweep_dir / "phase.svg").read_bytes().startswith(b"<?xml")


def test_points_with_one_resolved_spec_run_once(sweep_spec_path, tmp_path, monkeypatch):
    commands = []

    def record(spec, point):
        commands.append(point.overrides)
        return [sys.executable, "-c", "raise SystemExit(2)"]

    monkeypatch.setattr(sweep_module, "point_command", record)
    result = sweep(sweep_spec_path, ["seed=7,0x7,8"], runs_root=tmp_path / "runs")
    assert commands == [["seed=7"], ["seed=8"]]
    assert result.points[0].run_dir == result.points[1].run_dir != result.points[2].run_dir
    assert [point.status for point in result.points] == [FAILED, FAILED, FAILED]
    assert result.points[1].detail == "same resolved spec as seed=7: run once"
    assert len(list((result.sweep_dir / "logs").iterdir())) == 2


@pytest.mark.parametrize(
    "metric, hint",
    [("trainng.final_loss", "Did you mean 'training.final_loss'"), ("training.mse", ""), ("ot.tv", "")],
)
def test_an_unknown_metric_section_is_refused_before_anything_runs(sweep_spec_path, tmp_path, capsys, metric, hint):
    runs_root = tmp_path / "runs"
    arguments = ["sweep", str(sweep_spec_path), "manifold.radius=1,2", "seed=0,1", "--runs-root", str(runs_root)]
    assert main([*arguments, "--metric", metric]) == 2
    error = capsys.readouterr().err
    assert f"Received: {metric!r}" in error and "(reconstruction, training)" in error and hint in error
    assert not runs_root.exists()


FAKE_RUN = """\
import json, pathlib, sys
run_dir = pathlib.Path(sys.argv[1])
run_dir.mkdir(parents=True)
(run_dir / "metrics.json").write_text(sys.argv[2])
(run_dir / "resolved.yaml").write_text(sys.argv[3])
(run_dir / "report.md").write_text("# report")
"""


def fake_point_metrics(point) -> dict:
    """Metrics that a point's radius determines, with the value kinds report.md formats: None, booleans, a verdict."""
    radius = float(point.values["manifold.radius"])
    return {
        "spec": {"name": "sweep-spec", "hash": point.spec.content_hash},
        "training": {"epochs": 1, "final_loss": radius / 3, "seconds": 0.5},
        "reconstruction": {"samples": 32, "mse": radius / 7, "chamfer": radius * 1e-9, "hausdorff": None},
        "learnability": {"verdict": "encoded", "reason": None, "injectivity": {"closed": True}},
    }


@pytest.fixture
def fake_runs(monkeypatch):
    """Points "run" in a subprocess that writes metrics.json, resolved.yaml and report.md; radius 3 fails."""

    def command(spec, point):
        if point.values["manifold.radius"] == "3":
            return [sys.executable, "-c", "raise SystemExit(1)"]
        metrics = json.dumps(fake_point_metrics(point))
        return [sys.executable, "-c", FAKE_RUN, str(point.run_dir), metrics, point.spec.to_yaml()]

    monkeypatch.setattr(sweep_module, "point_command", command)


def markdown_table_rows(text: str) -> list[list[str]]:
    lines = [line for line in text.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines]


def test_summary_md_is_the_short_readable_table(sweep_spec_path, tmp_path, fake_runs):
    result = sweep(
        sweep_spec_path,
        ["manifold.radius=1,2,3", "seed=5"],
        runs_root=tmp_path / "runs",
        metric="reconstruction.chamfer",
    )
    summary = (result.sweep_dir / "summary.md").read_text(encoding="utf-8")
    assert summary.startswith("# Sweep of sweep-spec\n\n3 points, 1 failed. Every metric of every point: [summary.csv]")
    rows = markdown_table_rows(summary)
    assert rows[0] == [
        "manifold.radius",
        "seed",
        "status",
        "reconstruction.chamfer",
        "learnability.verdict",
        "training.final_loss",
        "reconstruction.mse",
        "reconstruction.hausdorff",
        "report",
        "detail",
    ]
    assert rows[1] == ["---|---|---|---:|---:|---:|---:|---:|---:|---:"]
    first = result.points[0]
    link = f"[report](../{first.run_dir.name}/report.md)"
    assert rows[2] == ["1", "5", DONE, "1e-09", "encoded", "0.333333", "0.142857", "—", link, "—"]
    assert rows[4][:9] == ["3", "5", FAILED, "—", "—", "—", "—", "—", "—"]
    assert rows[4][9].startswith("exit status 1: no output")
    assert (result.sweep_dir / f"../{first.run_dir.name}/report.md").is_file()
    cells = [cell for row in rows for cell in row]
    assert not {"None", "True", "False", ""} & set(cells)


def test_summary_csv_holds_every_metric_as_raw_values(sweep_spec_path, tmp_path, fake_runs):
    result = sweep(sweep_spec_path, ["manifold.radius=1,2,3"], runs_root=tmp_path / "runs")
    with open(result.sweep_dir / "summary.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == [
        "manifold.radius",
        "status",
        "run_dir",
        "training.epochs",
        "training.final_loss",
        "training.seconds",
        "reconstruction.samples",
        "reconstruction.mse",
        "reconstruction.chamfer",
        "reconstruction.hausdorff",
        "learnability.verdict",
        "learnability.reason",
        "learnability.injectivity.closed",
        "detail",
    ]
    expected = fake_point_metrics(result.points[1])
    assert float(rows[1]["training.final_loss"]) == expected["training"]["final_loss"] == 2 / 3
    assert float(rows[1]["reconstruction.chamfer"]) == 2e-9
    assert rows[1]["reconstruction.samples"] == "32" and rows[1]["learnability.verdict"] == "encoded"
    assert rows[1]["learnability.injectivity.closed"] == "true"
    assert rows[1]["reconstruction.hausdorff"] == "" and rows[1]["learnability.reason"] == ""
    assert rows[1]["run_dir"] == str(result.points[1].run_dir)
    assert rows[2]["status"] == FAILED and rows[2]["training.final_loss"] == ""


def test_the_sweep_folder_compares_as_its_runs(sweep_spec_path, tmp_path, fake_runs, capsys):
    from geokeras.report.compare import compare

    result = sweep(sweep_spec_path, ["manifold.radius=2,1,3"], runs_root=tmp_path / "runs")
    comparison = compare([result.sweep_dir])
    assert comparison.run_dirs == (result.points[0].run_dir, result.points[1].run_dir)
    assert comparison.labels == ("radius=2", "radius=1")
    assert comparison.rows[0].key == "manifold.radius" and comparison.rows[0].values == (2.0, 1.0)
    assert main(["compare", str(result.sweep_dir), "--diff"]) == 0
    captured = capsys.readouterr()
    assert "manifold.radius=3 left out (failed: no finished run)" in captured.err
    assert "| training.final_loss | 0.666667 | 0.333333 |" in captured.out
    assert "| reconstruction.samples |" not in captured.out


def test_the_sweep_writes_the_hparams_columns_for_tensorboard(sweep_spec_path, tmp_path, fake_runs):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    result = sweep(
        sweep_spec_path, ["manifold.radius=1,2,3", "model.encoder.widths=[4],[8,8]", "seed=5"], runs_root=tmp_path
    )
    events = EventAccumulator(str(result.sweep_dir / "tensorboard"))
    events.Reload()
    content = events.PluginTagToContent("hparams")["_hparams_/experiment"]
    experiment = plugin_data_pb2.HParamsPluginData.FromString(content).experiment
    assert [info.name for info in experiment.hparam_infos] == ["manifold.radius", "model.encoder.widths"]
    assert list(experiment.hparam_infos[1].domain_discrete) == ["[4]", "[8, 8]"]
    assert [(info.name.group, info.name.tag) for info in experiment.metric_infos] == [
        ("", "training/final_loss"),
        ("", "reconstruction/mse"),
        ("", "verdicts/learned_a_chart_learnability"),
        ("train", "epoch_loss"),
    ]
