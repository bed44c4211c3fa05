"""``geokeras sweep`` on the console: a line per point as it finishes, a summary line, quiet child processes."""

from __future__ import annotations

import io
import re
import sys
import time

import pytest
from rich.console import Console

import geokeras.sweep as sweep_module
from geokeras.console import RunConsole, use_console
from geokeras.sweep import DONE, FAILED, sweep


def test_each_point_is_reported_as_it_finishes_then_a_summary(sweep_spec_path, tmp_path, monkeypatch):
    buffer = io.StringIO()
    seen_when_second_started: list[bool] = []

    def fake_run_point(point, spec, sweep_dir, verbose=False):
        point.seconds = 2.5
        if point.values["manifold.radius"] == "2":
            # The first point's line must come out while this point runs (not after the whole grid).
            deadline = time.monotonic() + 10
            while "1/4" not in buffer.getvalue() and time.monotonic() < deadline:
                time.sleep(0.01)
            seen_when_second_started.append("1/4" in buffer.getvalue())
            point.status, point.detail = FAILED, "exit status 1: boom (log: x.log)"
        else:
            point.status, point.metrics = DONE, {"training.final_loss": 0.5}

    monkeypatch.setattr(sweep_module, "_run_point", fake_run_point)
    with use_console(RunConsole(Console(file=buffer, width=80))):
        result = sweep(sweep_spec_path, ["manifold.radius=1,2", "seed=7,0x7"], runs_root=tmp_path / "runs")

    assert seen_when_second_started == [True]
    *points, summary = buffer.getvalue().splitlines()
    assert points == [
        f"  ✓ done    1/4  manifold.radius=1, seed=7  2.5 s  {result.points[0].run_dir}",
        "  ✓ done    2/4  manifold.radius=1, seed=0x7  same resolved spec as manifold.radius=1, seed=7: run once",
        "  ✗ failed  3/4  manifold.radius=2, seed=7  2.5 s  exit status 1: boom (log: x.log)",
        "  ✗ failed  4/4  manifold.radius=2, seed=0x7  same resolved spec as manifold.radius=2, seed=7: run once",
    ]
    assert re.fullmatch(r"sweep: 4 points: 2 done, 2 failed in \d+\.\d s", summary)


def test_reused_points_show_no_time(sweep_spec_path, tmp_path, monkeypatch):
    buffer = io.StringIO()

    def reused(point, spec, sweep_dir, verbose=False):
        point.status, point.metrics = sweep_module.REUSED, {"training.final_loss": 0.5}

    monkeypatch.setattr(sweep_module, "_run_point", reused)
    with use_console(RunConsole(Console(file=buffer, width=80))):
        result = sweep(sweep_spec_path, ["manifold.radius=3"], runs_root=tmp_path / "runs")
    lines = buffer.getvalue().splitlines()
    assert lines[0] == f"  ✓ reused  1/1  manifold.radius=3  {result.points[0].run_dir}"
    assert lines[1].startswith("sweep: 1 points: 1 reused in ")


@pytest.mark.parametrize("verbose", [False, True])
def test_points_run_quietly_unless_verbose(sweep_spec_path, tmp_path, monkeypatch, verbose):
    # The child prints its arguments and how rich would see its output: never as a terminal.
    child = "import os, sys; print(sys.argv[1:], os.environ.get('TTY_COMPATIBLE'))"
    monkeypatch.setattr(sweep_module, "point_command", lambda spec, point: [sys.executable, "-c", child])
    monkeypatch.setenv("FORCE_COLOR", "1")
    with use_console(RunConsole(Console(file=io.StringIO()))):
        result = sweep(sweep_spec_path, ["manifold.radius=1"], runs_root=tmp_path / "runs", verbose=verbose)
    log = result.sweep_dir / "logs" / f"{result.points[0].spec.run_name}.log"
    assert log.read_text() == ("['-v'] 0\n" if verbose else "[] 0\n")
