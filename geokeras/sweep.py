"""``geokeras sweep``: run a spec over a grid of overrides and tabulate the results.

    geokeras sweep specs/paper/spiral.yaml manifold.turns=1,2,3 model.encoder.widths=[8],[16,16]

Each ``key=v1,v2,...`` assignment is one axis of the grid (commas inside brackets or braces
belong to the value, so ``[8,8],[16]`` is two values); the grid is their Cartesian product,
in the order given, the last key varying fastest. Every point is a normal run directory,
``<runs root>/<name>-<hash12>`` (the hash of the point's resolved spec), so:

* a point whose run directory already holds a finished run is **reused**, never run again;
* every point runs in its own process (``python -m geokeras.cli run ...``): a point that
  crashes, diverges or is killed is reported as **failed** with its exit status and the last
  line of its log, and the rest of the grid completes. An interrupted point's staging folder
  stays behind, so ``geokeras run ... --resume`` can continue it;
* points run one after another by default; ``--jobs N`` runs up to N at once.

Every point's spec is resolved (and validated) before anything runs, and so is ``--metric``'s
section: a bad value anywhere in the grid is reported with its key path and nothing is written.
Points whose resolved specs are identical (``seed=7,0x7``) share one run directory and run once. The sweep writes
``<runs root>/sweep-<name>-<hash12>/`` with ``summary.csv`` and ``summary.md`` (one row per
point: the swept values, the status, the run directory and the scalar metrics of its
metrics.json), ``sweep.json``, ``logs/<run name>.log`` and, when exactly two keys take more
than one value, ``phase.png``: the chosen metric over the two-key grid (categorical metrics
such as a verdict as coloured classes, numbers as a heat map with the values printed).
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence, Union

from geokeras.errors import GeokerasInputError
from geokeras.report.compare import flatten_metrics
from geokeras.report.metric_names import current_metric_name, current_metric_names
from geokeras.report.run_dir import TRAINING_METRICS
from geokeras.spec import Spec, load_spec

DEFAULT_METRIC = "training.final_loss"
PREFERRED_METRICS = ("learnability.verdict", DEFAULT_METRIC)
"""The phase diagram shows the first of these a run reports, unless ``metric`` names one."""

REUSED, DONE, FAILED = "reused", "done", "failed"


@dataclass(frozen=True)
class GridAxis:
    """One swept key and the override values (YAML text) it takes."""

    key: str
    values: tuple[str, ...]


@dataclass
class SweepPoint:
    """One point of the grid: its overrides, its resolved spec, and what became of it."""

    values: dict[str, str]
    spec: Spec
    run_dir: Path
    status: str = ""
    detail: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    same_as: Optional["SweepPoint"] = None
    """An earlier point whose resolved spec is identical (``seed=7`` and ``seed=0x7``): it runs once."""

    @property
    def overrides(self) -> list[str]:
        return [f"{key}={value}" for key, value in self.values.items()]


@dataclass(frozen=True)
class SweepResult:
    """What :func:`sweep` returns: the points (in grid order) and the summary folder."""

    points: list[SweepPoint]
    sweep_dir: Path

    @property
    def failed(self) -> list[SweepPoint]:
        return [point for point in self.points if point.status == FAILED]


def split_values(text: str) -> list[str]:
    """``"1,[2,3],{a: 1, b: 2}"`` -> ``["1", "[2,3]", "{a: 1, b: 2}"]``: commas at bracket depth 0."""
    values, depth, current = [], 0, []
    for character in text:
        if character in "[{(":
            depth += 1
        elif character in "]})":
            depth -= 1
        if character == "," and depth == 0:
            values.append("".join(current).strip())
            current = []
        else:
            current.append(character)
    values.append("".join(current).strip())
    return values


def parse_grid(assignments: Sequence[str]) -> list[GridAxis]:
    """``["a.b=1,2", "c=x"]`` -> the grid axes; every key once, every value non-empty."""
    axes: list[GridAxis] = []
    for assignment in assignments:
        key, separator, values_text = assignment.partition("=")
        key = key.strip()
        values = split_values(values_text)
        if not separator or not key or any(value == "" for value in values):
            raise GeokerasInputError(
                f"expected a grid axis of the form key.path=value1,value2,... with no empty value. "
                f"Received: {assignment!r}."
            )
        if any(axis.key == key for axis in axes):
            raise GeokerasInputError(f"expected each key once in the grid. Received {key!r} twice.")
        axes.append(GridAxis(key, tuple(values)))
    if not axes:
        raise GeokerasInputError("expected at least one grid axis key.path=value1,value2,... Received none.")
    return axes


def plan(spec_path: Union[str, Path], axes: Sequence[GridAxis], runs_root: Union[str, Path]) -> list[SweepPoint]:
    """Resolve every point of the grid (all validation happens here, before any run)."""
    points: list[SweepPoint] = []
    first_by_hash: dict[str, SweepPoint] = {}
    for combination in itertools.product(*(axis.values for axis in axes)):
        values = {axis.key: value for axis, value in zip(axes, combination)}
        spec = load_spec(spec_path, [f"{key}={value}" for key, value in values.items()])
        point = SweepPoint(values, spec, Path(runs_root) / spec.run_name, same_as=first_by_hash.get(spec.content_hash))
        first_by_hash.setdefault(spec.content_hash, point)
        points.append(point)
    return points


def check_metric_section(points: Sequence[SweepPoint], metric: str) -> None:
    """Refuse, before anything runs, a ``metric`` no point can report.

    A metric is ``<section>.<key>``: the section is ``training``, ``ot`` (with ``latent_ot``) or
    an evaluator's type, known from the specs; ``training``'s keys are fixed. Keys inside an
    evaluator's section are checked after the runs (which are kept and reused on a re-run).
    """
    from geokeras.registry import did_you_mean

    known = {f"training.{name}" for name in TRAINING_METRICS}
    sections = {"training"}
    for point in points:
        sections.update(item.type for item in point.spec.evaluate)
        if point.spec.latent_ot is not None:
            sections.add("ot")
    section = metric.partition(".")[0]
    if section not in sections or (section == "training" and metric not in known):
        candidates = sorted(known | (sections - {"training"}))
        raise GeokerasInputError(
            f"expected --metric to be <section>.<key> with a section the runs write ("
            f"{', '.join(sorted(sections))}). Received: {metric!r}.{did_you_mean(metric, candidates)}"
        )


def sweep(
    spec_path: Union[str, Path],
    assignments: Sequence[str],
    *,
    runs_root: Union[str, Path] = "runs",
    jobs: int = 1,
    metric: Optional[str] = None,
) -> SweepResult:
    """Run the grid of ``assignments`` over the spec at ``spec_path`` (see the module docstring).

    Args:
        spec_path: the spec file every point starts from.
        assignments: ``"key.path=v1,v2,..."`` strings, one per grid axis.
        runs_root: where the points' run directories and the sweep folder go.
        jobs: how many points run at once (separate processes).
        metric: the flattened metrics.json key drawn in ``phase.png`` (e.g.
            ``reconstruction.mse``); default the first of :data:`PREFERRED_METRICS` reported.

    Raises:
        GeokerasInputError: a malformed axis, a bad value at any point (with its key path),
            ``jobs`` < 1 or an unknown ``metric``; nothing is run or written then.
    """
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise GeokerasInputError(f"expected --jobs to be an integer >= 1. Received: {jobs!r}.")
    axes = parse_grid(assignments)
    points = plan(spec_path, axes, runs_root)
    if metric is not None:
        metric = current_metric_name(metric)  # an older name of a renamed metric still works
        check_metric_section(points, metric)
    sweep_dir = Path(runs_root) / _sweep_name(points)
    (sweep_dir / "logs").mkdir(parents=True, exist_ok=True)

    distinct = [point for point in points if point.same_as is None]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(lambda point: _run_point(point, Path(spec_path), sweep_dir), distinct))
    for point in points:
        if point.same_as is not None:
            first = point.same_as
            point.status, point.metrics = first.status, first.metrics
            point.detail = f"same resolved spec as {', '.join(first.overrides)}: run once"

    swept = [axis.key for axis in axes if len(axis.values) > 1]
    _write_summary(points, [axis.key for axis in axes], sweep_dir)
    if len(swept) == 2:
        chosen = metric or _first_reported(points, PREFERRED_METRICS)
        _check_metric(points, chosen)
        from geokeras.report.phase_diagram import plot_phase_diagram

        plot_phase_diagram(
            [(point.values[swept[0]], point.values[swept[1]], _metric_value(point, chosen)) for point in points],
            swept,
            chosen,
            sweep_dir / "phase.png",
        )
    elif metric is not None:
        _check_metric(points, metric)
    return SweepResult(points, sweep_dir)


def point_command(spec_path: Path, point: SweepPoint) -> list[str]:
    """The command line that runs one point in its own process."""
    return [sys.executable, "-m", "geokeras.cli", "run", str(spec_path), *point.overrides, "-o", str(point.run_dir)]


def _run_point(point: SweepPoint, spec_path: Path, sweep_dir: Path) -> None:
    metrics_file = point.run_dir / "metrics.json"
    if metrics_file.is_file():
        point.status, point.metrics = REUSED, _read_metrics(metrics_file)
        return
    log_path = sweep_dir / "logs" / f"{point.spec.run_name}.log"
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3")}
    with open(log_path, "w", encoding="utf-8") as log:
        finished = subprocess.run(
            point_command(spec_path, point), check=False, stdout=log, stderr=subprocess.STDOUT, env=environment
        )
    if finished.returncode == 0 and metrics_file.is_file():
        point.status, point.metrics = DONE, _read_metrics(metrics_file)
        return
    point.status = FAILED
    lines = [line for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    reason = lines[-1].strip() if lines else "no output"
    point.detail = f"exit status {finished.returncode}: {reason} (log: {log_path})"


def _read_metrics(path: Path) -> dict[str, Any]:
    metrics = current_metric_names(json.loads(path.read_text(encoding="utf-8")))
    metrics.pop("spec", None)
    return flatten_metrics(metrics)


def _sweep_name(points: Sequence[SweepPoint]) -> str:
    digest = hashlib.sha256("\n".join(point.spec.content_hash for point in points).encode()).hexdigest()
    return f"sweep-{points[0].spec.name}-{digest[:12]}"


def _first_reported(points: Sequence[SweepPoint], names: Sequence[str]) -> str:
    for name in names:
        if any(name in point.metrics for point in points):
            return name
    return names[-1]


def _check_metric(points: Sequence[SweepPoint], metric: str) -> None:
    reported = sorted({name for point in points for name in point.metrics})
    if reported and metric not in reported:
        from geokeras.registry import did_you_mean

        raise GeokerasInputError(
            f"expected --metric to name a metric the runs report{did_you_mean(metric, reported)}. "
            f"Received: {metric!r}. Reported: {', '.join(reported)}."
        )


def _metric_value(point: SweepPoint, metric: str) -> Any:
    return FAILED if point.status == FAILED else point.metrics.get(metric)


def _write_summary(points: Sequence[SweepPoint], keys: Sequence[str], sweep_dir: Path) -> None:
    metric_names: list[str] = []
    for point in points:
        metric_names.extend(name for name in point.metrics if name not in metric_names)
    header = [*keys, "status", "run_dir", *metric_names, "detail"]
    rows = [
        [
            *(point.values[key] for key in keys),
            point.status,
            str(point.run_dir),
            *(point.metrics.get(name, "") for name in metric_names),
            point.detail,
        ]
        for point in points
    ]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    (sweep_dir / "summary.csv").write_text(buffer.getvalue(), encoding="utf-8")

    def cell(value: Any) -> str:
        text = f"{value:.6g}" if isinstance(value, float) else str(value)
        return text.replace("|", "\\|") or "-"

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    (sweep_dir / "summary.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    record = [
        {"values": point.values, "status": point.status, "run_dir": str(point.run_dir), "detail": point.detail}
        for point in points
    ]
    (sweep_dir / "sweep.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
