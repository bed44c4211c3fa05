"""``geokeras sweep``: run a spec over a grid of overrides and tabulate the results.

    geokeras sweep specs/paper/spiral.yaml manifold.turns=1,2,3 model.encoder.widths=[8],[16,16]
    geokeras sweep specs/quickstart.yaml 'seed=range(0,4)' 'manifold.turns=linspace(0.5,2,4)'

Each ``key=v1,v2,...`` assignment is one axis of the grid (commas inside brackets or braces
belong to the value, so ``[8,8],[16]`` is two values; ``key=[1,2,3]``, ``range(1,4)``,
``linspace(0.5,2,4)`` and ``logspace(-3,-1,3)`` also give values: :mod:`geokeras.sweep_values`,
at most :data:`~geokeras.limits.MAX_SWEEP_POINTS` points); the grid is their Cartesian product,
in the order given, the last key varying fastest. Every point is a normal run directory,
``<runs root>/<name>-<hash12>`` (the hash of the point's resolved spec), so:

* a point whose run directory already holds a finished run is **reused**, never run again;
* every point runs in its own process (``python -m geokeras.cli run ...``): a point that
  crashes, diverges or is killed is reported as **failed** with its exit status and the last
  line of its log, and the rest of the grid completes. An interrupted point's staging folder
  stays behind, so ``geokeras run ... --resume`` can continue it;
* points run one after another by default; ``--jobs N`` runs up to N at once; ``executor="ray"``
  (``--executor ray``) runs them as Ray tasks on one machine or a cluster (:mod:`geokeras.sweep_ray`);
* as each point finishes, a line on stderr gives its status, values, wall time and run
  directory (or why it failed), and a last line sums the grid up; on a terminal a bar over the
  points shows the ETA. The points' own output (their stage lines, no bars) goes to their logs.

Every point's spec is resolved (and validated) before anything runs, and so is ``--metric``'s
section: a bad value anywhere in the grid is reported with its key path and nothing is written.
Points whose resolved specs are identical (``seed=7,0x7``) share one run directory and run once. The sweep writes
``<runs root>/sweep-<name>-<hash12>/`` with ``summary.md`` (one row per point: the swept values,
the status, the headline metrics of :func:`summary_columns` as report.md writes them and a link to
the run's report.md), ``summary.csv`` (the same rows with the run directory and every scalar metric
of its metrics.json, raw values), ``sweep.json``, ``logs/<run name>.log`` and ``phase.<format>`` (the base
spec's ``report.format``) when exactly two keys take more than one value, or when ``seed`` and one or two
other keys do: the chosen metric over the grid of the keys other than the seed, the seeds
aggregated per cell (categorical metrics such as a verdict as coloured classes, the majority with
its share; numbers as a heat map of the mean ± standard deviation, values printed).
With a ``tracking:`` section, the finished sweep is logged as a parent run with a child run per
point, read from the points' run directories (:mod:`geokeras.tracking`, docs/scale-out.md).
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import math
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence, Union

from geokeras.console import RunConsole, current_console, format_seconds
from geokeras.errors import GeokerasInputError
from geokeras.limits import MAX_SWEEP_POINTS
from geokeras.report.compare import SWEEP_RECORD, flatten_metrics, markdown_table, raw_value, readable_value
from geokeras.report.figures import figure_path
from geokeras.report.metric_names import current_metric_name, current_metric_names
from geokeras.report.run_dir import TRAINING_METRICS
from geokeras.report.tensorboard import write_sweep_hparams_config
from geokeras.spec import Spec, load_spec
from geokeras.sweep_values import axis_values, flow_list_items
from geokeras.tracking.track import TRACKING_ENV, check_tracker_installed, track_sweep

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
    seconds: float = 0.0
    """Wall time of its run (0 when reused)."""

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


def parse_grid(assignments: Sequence[str]) -> list[GridAxis]:
    """``["a.b=1,2", "c=range(1,4)"]`` -> the grid axes (ranges expanded, :mod:`geokeras.sweep_values`);
    every key once, every value non-empty, at most MAX_SWEEP_POINTS points."""
    axes: list[GridAxis] = []
    for assignment in assignments:
        key, separator, values_text = assignment.partition("=")
        key = key.strip()
        values = axis_values(values_text)
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
    check_grid_size(axes)
    return axes


def check_grid_size(axes: Sequence[GridAxis]) -> None:
    """Refuse a grid of more than MAX_SWEEP_POINTS points before any is resolved."""
    points = math.prod(len(axis.values) for axis in axes)
    if points > MAX_SWEEP_POINTS:
        sizes = " x ".join(str(len(axis.values)) for axis in axes)
        raise GeokerasInputError(
            f"expected a grid of at most {MAX_SWEEP_POINTS:,} points (each is a run). Received {sizes} = {points:,}."
        )


def lists_as_values(spec_path: Union[str, Path], axes: Sequence[GridAxis]) -> list[GridAxis]:
    """An axis written as one flow list, ``key=[1, 2, 3]``, is the values 1, 2, 3, unless the key holds
    a list in the spec (``model.encoder.widths=[8,8]`` is one value, as in ``geokeras run``)."""
    listed = [axis for axis in axes if len(axis.values) == 1 and axis.values[0].startswith("[")]
    if not listed:
        return list(axes)
    resolved = load_spec(spec_path).to_dict()
    expanded = []
    for axis in axes:
        if axis in listed and axis.values[0].endswith("]") and not isinstance(_value_at(resolved, axis.key), list):
            items = flow_list_items(axis.values[0])
            if not items or any(item == "" for item in items):
                raise GeokerasInputError(
                    f"expected a list of at least one value, none empty. Received {axis.key}={axis.values[0]}."
                )
            axis = GridAxis(axis.key, tuple(items))
        expanded.append(axis)
    check_grid_size(expanded)
    return expanded


def _value_at(data: Any, key: str) -> Any:
    """The value at the override key path ``key`` in resolved spec data; None where there is none."""
    from geokeras.spec.resolve import parse_override

    for part in parse_override(f"{key}=")[0]:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and -len(data) <= part < len(data):
            data = data[part]
        else:
            return None
    return data


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
    jobs: Optional[int] = None,
    metric: Optional[str] = None,
    verbose: bool = False,
    executor: str = "local",
    address: Optional[str] = None,
    gpus_per_point: int = 0,
) -> SweepResult:
    """Run the grid of ``assignments`` over the spec at ``spec_path`` (see the module docstring).

    Args:
        spec_path: the spec file every point starts from.
        assignments: ``"key.path=v1,v2,..."`` strings, one per grid axis.
        runs_root: where the points' run directories and the sweep folder go.
        jobs: how many points run at once (separate processes); default 1 with the local pool, and
            with Ray the CPUs of the local Ray it starts (all of the machine's when None).
        metric: the flattened metrics.json key drawn in the phase diagram (e.g.
            ``reconstruction.mse``); default the first of :data:`PREFERRED_METRICS` reported.
        verbose: the points' logs keep TensorFlow's logs and warnings (``geokeras run -v``).
        executor: ``"local"`` (a process pool on this machine) or ``"ray"`` (a Ray task per point).
        address: with Ray, the cluster to join (``"auto"``, ``"ray://host:10001"``, ``"host:6379"``);
            None starts a local Ray for the sweep (unless this process already initialised one).
        gpus_per_point: with Ray, the GPUs each point's task asks for (0 or 1 in practice).

    Raises:
        GeokerasInputError: a malformed axis, a bad value at any point (with its key path),
            ``jobs`` < 1, an unknown ``metric`` or ``executor``, or Ray chosen but not installed;
            nothing is run or written then.
    """
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise GeokerasInputError(f"expected --jobs to be an integer >= 1. Received: {jobs!r}.")
    from geokeras.sweep_ray import check_executor

    check_executor(executor, address, gpus_per_point)
    axes = lists_as_values(spec_path, parse_grid(assignments))
    points = plan(spec_path, axes, runs_root)
    if metric is not None:
        metric = current_metric_name(metric)  # an older name of a renamed metric still works
        check_metric_section(points, metric)
    check_tracker_installed(points[0].spec)
    sweep_dir = Path(runs_root) / _sweep_name(points)
    (sweep_dir / "logs").mkdir(parents=True, exist_ok=True)

    ray_options = {"address": address, "gpus_per_point": gpus_per_point} if executor == "ray" else None
    _run_points(points, Path(spec_path), sweep_dir, jobs=jobs, verbose=verbose, ray_options=ray_options)

    swept = [axis.key for axis in axes if len(axis.values) > 1]
    _write_summary(points, [axis.key for axis in axes], sweep_dir, metric)
    finished = [point.run_dir for point in points if point.status in (DONE, REUSED)]
    specs = [point.spec.to_dict() for point in points]
    write_sweep_hparams_config(sweep_dir, swept, specs, finished, summary_columns(points, metric))
    from geokeras.report.phase_diagram import phase_axes, plot_phase_diagram

    drawn = phase_axes(swept)
    if drawn is not None:
        chosen = metric or _first_reported(points, PREFERRED_METRICS)
        _check_metric(points, chosen)
        report = points[0].spec.report  # report.format and dpi: the base spec's, unless swept
        plot_phase_diagram(
            [(*(point.values[key] for key in drawn), _metric_value(point, chosen)) for point in points],
            drawn,
            chosen,
            figure_path(sweep_dir, "phase", report.format),
            report.dpi,
        )
    elif metric is not None:
        _check_metric(points, metric)
    grid = {axis.key: list(axis.values) for axis in axes}
    track_sweep(points[0].spec, sweep_dir, points, grid)  # a parent run, a child run per point
    return SweepResult(points, sweep_dir)


def point_command(spec_path: Path, point: SweepPoint) -> list[str]:
    """The command line that runs one point in its own process."""
    return [sys.executable, "-m", "geokeras.cli", "run", str(spec_path), *point.overrides, "-o", str(point.run_dir)]


def _run_points(
    points: Sequence[SweepPoint],
    spec_path: Path,
    sweep_dir: Path,
    *,
    jobs: Optional[int],
    verbose: bool,
    ray_options: Optional[dict[str, Any]] = None,
) -> None:
    """Run the distinct points, ``jobs`` at a time (as Ray tasks with ``ray_options``); report each point
    on the console as it finishes.

    A point whose resolved spec repeats an earlier one's takes its outcome, reported with it.
    """
    console = current_console()
    started = time.perf_counter()
    copies: dict[int, list[SweepPoint]] = {}
    for point in points:
        if point.same_as is not None:
            copies.setdefault(id(point.same_as), []).append(point)
    reported = 0
    distinct = [point for point in points if point.same_as is None]
    with console.progress("sweep", len(points), unit="points") as bar:
        for first in _finished_points(distinct, spec_path, sweep_dir, jobs, verbose, ray_options):
            for point in [first, *copies.get(id(first), [])]:
                if point is not first:
                    point.status, point.metrics = first.status, first.metrics
                    point.detail = f"same resolved spec as {', '.join(first.overrides)}: run once"
                reported += 1
                _report_point(console, point, reported, len(points))
            bar.update(reported)
    _report_sweep(console, points, time.perf_counter() - started)


def _finished_points(
    points: Sequence[SweepPoint],
    spec_path: Path,
    sweep_dir: Path,
    jobs: Optional[int],
    verbose: bool,
    ray_options: Optional[dict[str, Any]],
) -> Iterator[SweepPoint]:
    """Run ``points`` (reusing finished ones) and yield each as it finishes, its status set."""
    if ray_options is None:
        with ThreadPoolExecutor(max_workers=jobs or 1) as pool:
            running = {pool.submit(_run_point, point, spec_path, sweep_dir, verbose): point for point in points}
            for future in as_completed(running):
                future.result()
                yield running[future]
        return
    from geokeras.sweep_ray import run_on_ray

    to_run = []
    for point in points:
        if (point.run_dir / "metrics.json").is_file():
            point.status, point.metrics = REUSED, _read_metrics(point.run_dir / "metrics.json")
            yield point
        else:
            to_run.append(point)
    yield from run_on_ray(
        to_run,
        spec_path,
        sweep_dir,
        command_of=point_command,
        record_outcome=_record_outcome,
        failed=_record_failure,
        variables=POINT_VARIABLES,
        jobs=jobs,
        verbose=verbose,
        **ray_options,
    )


def _report_point(console: RunConsole, point: SweepPoint, number: int, total: int) -> None:
    """``✓ done    3/12  manifold.turns=1, seed=7  12.3 s  runs/spiral-1a2b3c4d5e6f``."""
    values = ", ".join(f"{key}={value}" for key, value in point.values.items())
    parts = [f"{point.status:<7} {number}/{total}", values]
    if point.status != REUSED and point.same_as is None:
        parts.append(format_seconds(point.seconds))
    parts.append(point.detail or str(point.run_dir))
    mark = console.marks[1] if point.status == FAILED else console.marks[0]
    console.line(f"  {mark} " + "  ".join(parts), style="red" if point.status == FAILED else None)


def _report_sweep(console: RunConsole, points: Sequence[SweepPoint], seconds: float) -> None:
    """``sweep: 12 points: 10 done, 1 reused, 1 failed in 3 min 02 s``."""
    counts = [
        f"{sum(point.status == status for point in points)} {status}"
        for status in (DONE, REUSED, FAILED)
        if any(point.status == status for point in points)
    ]
    console.line(f"sweep: {len(points)} points: {', '.join(counts)} in {format_seconds(seconds)}")


def _run_point(point: SweepPoint, spec_path: Path, sweep_dir: Path, verbose: bool = False) -> None:
    metrics_file = point.run_dir / "metrics.json"
    if metrics_file.is_file():
        point.status, point.metrics = REUSED, _read_metrics(metrics_file)
        return
    log_path = sweep_dir / "logs" / f"{point.spec.run_name}.log"
    environment = point_environment()
    started = time.perf_counter()
    with open(log_path, "w", encoding="utf-8") as log:
        finished = subprocess.run(
            [*point_command(spec_path, point), *(["-v"] if verbose else [])],
            check=False,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
        )
    point.seconds = time.perf_counter() - started
    _record_outcome(point, finished.returncode, log_path)


POINT_VARIABLES = {"TTY_COMPATIBLE": "0", TRACKING_ENV: "off"}
"""Set for a point's process on any executor: its log is a file (plain stage lines, no bars or
escape codes, whatever FORCE_COLOR says), and the sweep logs its points to the tracker itself, as
child runs, so the point's run does not."""


def point_environment() -> dict[str, str]:
    """This process's environment with :data:`POINT_VARIABLES`: a point's process's environment."""
    return {**os.environ, **POINT_VARIABLES}


def _record_outcome(point: SweepPoint, returncode: int, log_path: Path) -> None:
    """``done`` when the command exited 0 and left metrics.json; else ``failed`` with the log's last line."""
    metrics_file = point.run_dir / "metrics.json"
    if returncode == 0 and metrics_file.is_file():
        point.status, point.metrics = DONE, _read_metrics(metrics_file)
        return
    lines = [line for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    reason = lines[-1].strip() if lines else "no output"
    _record_failure(point, f"exit status {returncode}: {reason} (log: {log_path})")


def _record_failure(point: SweepPoint, detail: str) -> None:
    point.status, point.detail = FAILED, detail


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


SUMMARY_METRICS = (
    "learnability.verdict",
    "manifold_rlc.certificate.status",
    "training.final_loss",
    "reconstruction.mse",
    "reconstruction.hausdorff",
    "denoising.all.ratio",
    "manifold_stats.mle",
    "rlc_on_manifold.regions",
    "manifold_rlc.pieces",
    "ot.converged",
    "ot.tv",
    "ot_quality.sampled_tv",
    "generation.mmd",
    "generation.baseline_mmd",
)
"""summary.md's metric columns, in this order, those some point reports (after ``--metric``): the verdicts,
the training loss and each evaluator's main quality number. summary.csv has every metric."""


def summary_columns(points: Sequence[SweepPoint], metric: Optional[str] = None) -> list[str]:
    """The metric columns of summary.md: ``metric`` first, then :data:`SUMMARY_METRICS` that some point reports."""
    reported = {name for point in points for name in point.metrics}
    wanted = [metric] if metric is not None else []
    wanted += [name for name in SUMMARY_METRICS if name != metric]
    return [name for name in wanted if name in reported]


def _report_link(point: SweepPoint, sweep_dir: Path) -> str:
    report = point.run_dir / "report.md"
    if point.status == FAILED or not report.is_file():
        return "—"
    target = Path(os.path.relpath(report, sweep_dir)).as_posix()
    return f"[report](<{target}>)" if any(character in target for character in " ()<>") else f"[report]({target})"


def _write_summary(
    points: Sequence[SweepPoint], keys: Sequence[str], sweep_dir: Path, metric: Optional[str] = None
) -> None:
    """summary.csv (every metric, raw values), summary.md (the short table) and sweep.json (docs/sweeps.md)."""
    metric_names: list[str] = []
    for point in points:
        metric_names.extend(name for name in point.metrics if name not in metric_names)
    header = [*keys, "status", "run_dir", *metric_names, "detail"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(
        [
            *(point.values[key] for key in keys),
            point.status,
            str(point.run_dir),
            *(raw_value(point.metrics.get(name)) for name in metric_names),
            point.detail,
        ]
        for point in points
    )
    (sweep_dir / "summary.csv").write_text(buffer.getvalue(), encoding="utf-8")

    columns = summary_columns(points, metric)
    with_detail = any(point.detail for point in points)
    table = markdown_table(
        [*keys, "status", *columns, "report", *(["detail"] if with_detail else [])],
        [
            [
                *(point.values[key] for key in keys),
                point.status,
                *(readable_value(point.metrics.get(name)) for name in columns),
                _report_link(point, sweep_dir),
                *([point.detail or "—"] if with_detail else []),
            ]
            for point in points
        ],
        right_aligned_from=len(keys) + 1,
    )
    failed = sum(point.status == FAILED for point in points)
    title = [
        f"# Sweep of {points[0].spec.name}",
        "",
        f"{len(points)} points, {failed} failed. Every metric of every point: [summary.csv](summary.csv).",
        "",
    ]
    (sweep_dir / "summary.md").write_text("\n".join(title) + "\n" + table, encoding="utf-8")
    record = [
        {"values": point.values, "status": point.status, "run_dir": str(point.run_dir), "detail": point.detail}
        for point in points
    ]
    (sweep_dir / SWEEP_RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
