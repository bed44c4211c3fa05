"""``geokeras sweep --executor ray``: the same outcomes as the local pool, a dead worker, runs copied back.

One local Ray (2 CPUs) serves the whole module; the points are fake commands (no TensorFlow).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import ray  # the optional extra geokeras[ray]: requirements-test.txt installs it

import geokeras.sweep as sweep_module
import geokeras.sweep_ray as sweep_ray
from geokeras.cli import main
from geokeras.errors import GeokerasInputError
from geokeras.sweep import DONE, FAILED, REUSED, sweep
from tests.conftest import SWEEP_SPEC

GRID = ["manifold.radius=1,2,3", "seed=0,1"]

FAKE_RUN = """\
import os, pathlib, sys
run_dir, metrics, attempts, kill = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4] == "kill"
with open(attempts, "a") as log:
    log.write("attempt\\n")
if kill:  # kill the Ray worker running the point's task (our parent); in the local pool, only this process
    os.kill(os.getppid() if os.getppid() != int(sys.argv[5]) else os.getpid(), 9)
    raise SystemExit(3)
print("stage: fake run", flush=True)
run_dir.mkdir(parents=True)
(run_dir / "metrics.json").write_text(metrics)
(run_dir / "report.md").write_text("# report\\n")
(run_dir / "figures").mkdir()
(run_dir / "figures" / "bytes.bin").write_bytes(bytes(range(256)) * 3)
"""


@pytest.fixture(scope="module")
def local_ray():
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield ray
    ray.shutdown()


@pytest.fixture
def spec_path(tmp_path: Path) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(SWEEP_SPEC, encoding="utf-8")
    return path


@pytest.fixture
def fake_points(tmp_path, monkeypatch):
    """Points "run" as a script that writes a small run directory; radius 3, seed 1 kills its worker.
    Every attempt of a point appends a line to attempts/<run name>."""
    attempts = tmp_path / "attempts"
    attempts.mkdir()

    def command(spec, point):
        radius = float(point.values["manifold.radius"])
        metrics = json.dumps({"training": {"final_loss": radius / 3}, "reconstruction": {"mse": radius / 7}})
        kill = "kill" if point.values == {"manifold.radius": "3", "seed": "1"} else "run"
        attempts_file = attempts / point.spec.run_name
        return [sys.executable, "-c", FAKE_RUN, str(point.run_dir), metrics, str(attempts_file), kill, str(os.getpid())]

    monkeypatch.setattr(sweep_module, "point_command", command)
    return attempts


def attempts_of(attempts: Path) -> dict[str, int]:
    return {path.name: len(path.read_text().splitlines()) for path in attempts.iterdir()}


def run_files(run_dir: Path) -> dict[str, bytes]:
    return {path.relative_to(run_dir).as_posix(): path.read_bytes() for path in run_dir.rglob("*") if path.is_file()}


def test_ray_sweep_matches_the_local_pool_reuses_and_survives_a_dead_worker(
    local_ray, spec_path, tmp_path, fake_points, capsys
):
    local = sweep(spec_path, GRID, runs_root=tmp_path / "local", jobs=2)
    on_ray = sweep(spec_path, GRID, runs_root=tmp_path / "ray", executor="ray")

    statuses = [DONE, DONE, DONE, DONE, DONE, FAILED]
    assert [point.status for point in on_ray.points] == statuses
    assert [point.status for point in local.points] == statuses
    assert [point.metrics for point in on_ray.points] == [point.metrics for point in local.points]
    killed = on_ray.points[5]
    assert killed.detail.startswith("Ray worker died (retried once): ")
    assert killed.detail.endswith(f"(log: {(on_ray.sweep_dir / 'logs' / killed.spec.run_name).resolve()}.log)")
    assert local.points[5].detail.startswith("exit status -9: ")  # the local pool's own process was killed
    assert attempts_of(fake_points)[killed.spec.run_name] == 2 + 1  # Ray's first try and its retry; the local run
    assert sorted(attempts_of(fake_points).values()) == [2, 2, 2, 2, 2, 3]

    for name in ("summary.md", "summary.csv", "sweep.json"):  # the same files but for the runs root and the detail
        local_text = (local.sweep_dir / name).read_text().replace(local.points[5].detail, "DETAIL")
        ray_text = (on_ray.sweep_dir / name).read_text().replace(killed.detail, "DETAIL")
        assert ray_text.replace(str(tmp_path / "ray"), "ROOT") == local_text.replace(str(tmp_path / "local"), "ROOT")
    assert (on_ray.sweep_dir / "logs" / f"{on_ray.points[0].spec.run_name}.log").read_text() == "stage: fake run\n"
    assert not (on_ray.sweep_dir / sweep_ray.DRIVER_MARKER).exists()
    lines = [line for line in capsys.readouterr().err.splitlines() if "/6  manifold.radius" in line]
    ray_lines = lines[6:]
    assert sorted(line.split()[2] for line in ray_lines) == [f"{number}/6" for number in range(1, 7)]
    assert sum(" failed  " in line and "Ray worker died" in line for line in ray_lines) == 1

    before = attempts_of(fake_points)
    assert main(["sweep", str(spec_path), *GRID, "--runs-root", str(tmp_path / "ray"), "--executor", "ray"]) == 1
    again = json.loads((on_ray.sweep_dir / "sweep.json").read_text())
    assert [point["status"] for point in again] == [REUSED] * 5 + [FAILED]
    assert attempts_of(fake_points)[killed.spec.run_name] == before[killed.spec.run_name] + 2  # only it runs again
    assert {name: count for name, count in attempts_of(fake_points).items() if name != killed.spec.run_name} == {
        name: count for name, count in before.items() if name != killed.spec.run_name
    }


def test_without_a_shared_filesystem_the_run_dir_comes_back_byte_for_byte(
    local_ray, spec_path, tmp_path, fake_points, monkeypatch
):
    grid = ["manifold.radius=1,2", "seed=0"]
    local = sweep(spec_path, grid, runs_root=tmp_path / "local")
    monkeypatch.setattr(sweep_ray, "ASSUME_SHARED_FILESYSTEM", False)  # tasks write into their own runs root
    copied = sweep(spec_path, grid, runs_root=tmp_path / "copied", executor="ray")

    assert [point.status for point in copied.points] == [DONE, DONE]
    for local_point, copied_point in zip(local.points, copied.points):
        assert copied_point.run_dir.name == local_point.run_dir.name
        files = run_files(copied_point.run_dir)
        assert sorted(files) == ["figures/bytes.bin", "metrics.json", "report.md"]
        assert files == run_files(local_point.run_dir)
    assert sorted(path.name for path in (tmp_path / "copied").iterdir()) == sorted(
        [*(point.run_dir.name for point in copied.points), copied.sweep_dir.name]
    )  # no staging folder left behind
    log = copied.sweep_dir / "logs" / f"{copied.points[0].spec.run_name}.log"
    assert log.read_text() == "stage: fake run\n"  # the log came back with the run


def test_pack_and_unpack_round_trip_and_keep_a_finished_run(tmp_path):
    source = tmp_path / "worker" / "spec-abc"
    (source / "figures").mkdir(parents=True)
    (source / "metrics.json").write_text("{}")
    (source / "figures" / "x.bin").write_bytes(bytes(range(256)))
    target = tmp_path / "driver" / "spec-abc"
    sweep_ray.unpack_run_dir(sweep_ray.pack_run_dir(source), target)
    assert run_files(target) == run_files(source)
    (target / "metrics.json").write_text('{"kept": true}')
    sweep_ray.unpack_run_dir(sweep_ray.pack_run_dir(source), target)  # a finished run there is kept
    assert (target / "metrics.json").read_text() == '{"kept": true}'
    with pytest.raises(GeokerasInputError, match="holding only other-name/"):
        sweep_ray.unpack_run_dir(sweep_ray.pack_run_dir(source), tmp_path / "driver" / "other-name")


@pytest.mark.parametrize(
    "options, message",
    [
        ({"executor": "dask"}, "expected --executor to be one of local, ray. Received: 'dask'."),
        ({"address": "auto"}, "only with --executor ray"),
        ({"executor": "ray", "gpus_per_point": -1}, "expected --gpus-per-point to be an integer >= 0"),
    ],
)
def test_bad_executor_options_are_refused_before_anything_is_written(spec_path, tmp_path, options, message):
    with pytest.raises(GeokerasInputError, match=message.replace(".", r"\.").replace("(", r"\(")):
        sweep(spec_path, GRID, runs_root=tmp_path / "runs", **options)
    assert not (tmp_path / "runs").exists()


def test_missing_ray_says_how_to_install_it(spec_path, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    arguments = ["sweep", str(spec_path), *GRID, "--runs-root", str(tmp_path / "runs"), "--executor", "ray"]
    assert main(arguments) == 2
    error = capsys.readouterr().err
    assert "pip install 'geokeras[ray]'" in error and "Traceback" not in error
    assert not (tmp_path / "runs").exists()
