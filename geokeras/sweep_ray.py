"""``geokeras sweep --executor ray``: the grid's points as Ray tasks, on one machine or a cluster.

Each distinct point that is not reused becomes one task (``num_cpus=1``, ``num_gpus`` from
``--gpus-per-point``, ``max_retries=1``) that runs the same command as the local pool,
``python -m geokeras.cli run SPEC overrides -o DIR``, in a subprocess, so each point's TensorFlow
lives and dies in its own process. The driver waits with ``ray.wait`` and reports every point as
it finishes, exactly as the local pool does (:mod:`geokeras.sweep`).

Where the run directory goes depends on whether the worker sees the driver's runs root:

* **shared filesystem** (one machine, or NFS-style storage mounted at the same path): the driver
  writes a marker file with a random token into the sweep folder; a task that reads the same token
  at the same path writes the run, and the point's log, where the driver will look. Nothing is copied.
* **no shared filesystem**: the task runs the point into a temporary runs root of its own, packs
  the finished run directory into a tar archive and returns its bytes with the log text; the driver
  unpacks it beside its run directories and renames it into place (one rename: a run directory is
  whole or absent). The task removes its temporary folder; nothing else is left on the worker.

A worker that dies (killed, out of memory) is retried once by Ray; a second death reports the
point as failed with Ray's reason, and the other points complete.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence

from geokeras.errors import GeokerasInputError

EXECUTORS = ("local", "ray")
DRIVER_MARKER = ".ray-driver"
"""The sweep folder's marker file: a task that reads the driver's token there shares its filesystem."""
ASSUME_SHARED_FILESYSTEM: Optional[bool] = None
"""None: each task finds out through the marker file; False: every task returns its run directory
as an archive, True: none does (the tests force the copying path with False on one machine)."""


def import_ray() -> Any:
    """``ray``, or an input error that says how to install it (Ray is the optional extra ``geokeras[ray]``)."""
    try:
        import ray
    except ImportError as error:
        raise GeokerasInputError(
            "expected Ray to be installed for --executor ray: pip install 'geokeras[ray]'. "
            f"Received: ImportError: {error}."
        ) from None
    return ray


def check_executor(executor: str, address: Optional[str], gpus_per_point: Any) -> None:
    """Refuse an unknown executor, ``--address`` or GPUs without Ray, and a GPU count that is not an integer >= 0."""
    if executor not in EXECUTORS:
        raise GeokerasInputError(f"expected --executor to be one of {', '.join(EXECUTORS)}. Received: {executor!r}.")
    if isinstance(gpus_per_point, bool) or not isinstance(gpus_per_point, int) or gpus_per_point < 0:
        raise GeokerasInputError(f"expected --gpus-per-point to be an integer >= 0. Received: {gpus_per_point!r}.")
    if executor == "local" and (address is not None or gpus_per_point):
        raise GeokerasInputError(
            "expected --address and --gpus-per-point only with --executor ray. "
            f"Received: --executor local with address={address!r}, gpus_per_point={gpus_per_point!r}."
        )
    if executor == "ray":
        import_ray()


@dataclass(frozen=True)
class PointOutcome:
    """What a task reports: the command's exit status and wall time; the log text and the run directory
    as tar bytes when the driver cannot see the worker's files (None otherwise)."""

    returncode: int
    seconds: float
    log_text: Optional[str] = None
    archive: Optional[bytes] = None


def shares_driver_filesystem(marker: str, token: str) -> bool:
    try:
        return Path(marker).read_text(encoding="utf-8") == token
    except OSError:
        return False


def run_point_task(
    command: Sequence[str],
    run_dir: str,
    log_path: str,
    spec_path: str,
    spec_text: str,
    marker: str,
    token: str,
    shared: Optional[bool],
    variables: Mapping[str, str],
) -> PointOutcome:
    """The body of one point's Ray task (paths are the driver's, absolute).

    With a shared filesystem it runs ``command`` as given, its output into ``log_path``. Otherwise it
    runs it into a temporary folder: every argument equal to ``run_dir`` becomes the temporary run
    directory, ``spec_path`` (when the worker lacks it) a copy of ``spec_text``, the driver's Python
    (when the worker has no such file) the worker's; it returns the log and the run directory's archive.
    The command runs in the worker's environment with ``variables`` set (``geokeras.sweep.POINT_VARIABLES``).
    """
    environment = {**os.environ, **variables}
    if shared is None:
        shared = shares_driver_filesystem(marker, token)
    command = list(command)
    if command and command[0] != sys.executable and not Path(command[0]).exists():
        command[0] = sys.executable
    if shared:
        started = time.perf_counter()
        with open(log_path, "w", encoding="utf-8") as log:
            finished = subprocess.run(command, check=False, stdout=log, stderr=subprocess.STDOUT, env=environment)
        return PointOutcome(finished.returncode, time.perf_counter() - started)
    scratch = Path(tempfile.mkdtemp(prefix="geokeras-point-"))
    try:
        worker_run_dir = scratch / "runs" / Path(run_dir).name
        replacements = {run_dir: str(worker_run_dir)}
        if not Path(spec_path).is_file():
            copied_spec = scratch / Path(spec_path).name
            copied_spec.write_text(spec_text, encoding="utf-8")
            replacements[spec_path] = str(copied_spec)
        command = [replacements.get(argument, argument) for argument in command]
        worker_log = scratch / "point.log"
        started = time.perf_counter()
        with open(worker_log, "w", encoding="utf-8") as log:
            finished = subprocess.run(command, check=False, stdout=log, stderr=subprocess.STDOUT, env=environment)
        seconds = time.perf_counter() - started
        archive = pack_run_dir(worker_run_dir) if worker_run_dir.is_dir() else None
        log_text = worker_log.read_text(encoding="utf-8", errors="replace")
        return PointOutcome(finished.returncode, seconds, log_text, archive)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def pack_run_dir(run_dir: Path) -> bytes:
    """The run directory as an uncompressed tar archive (figures and weights barely compress), its name the root."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        archive.add(run_dir, arcname=run_dir.name)
    return buffer.getvalue()


def unpack_run_dir(archive: bytes, run_dir: Path) -> None:
    """Unpack an archive of :func:`pack_run_dir` as ``run_dir``, atomically: extracted into a hidden
    sibling, then renamed into place. A finished run already there is kept (the archive is dropped)."""
    if (run_dir / "metrics.json").is_file():
        return
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = run_dir.parent / f".{run_dir.name}.unpack-{uuid.uuid4().hex[:8]}"
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r") as opened:
            names = {member.name.split("/")[0] for member in opened.getmembers()}
            if names != {run_dir.name}:
                raise GeokerasInputError(
                    f"expected a run archive holding only {run_dir.name}/. Received top-level entries {sorted(names)}."
                )
            opened.extractall(staging, filter="data")
        os.rename(staging / run_dir.name, run_dir)  # fails on a non-empty unfinished folder: it is not ours
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def run_on_ray(
    points: Sequence[Any],
    spec_path: Path,
    sweep_dir: Path,
    *,
    command_of: Callable[[Path, Any], list[str]],
    record_outcome: Callable[[Any, int, Path], None],
    failed: Callable[[Any, str], None],
    variables: Mapping[str, str],
    jobs: Optional[int],
    address: Optional[str],
    gpus_per_point: int,
    verbose: bool,
) -> Iterator[Any]:
    """Run ``points`` (distinct, not reused) as Ray tasks; yield each as it finishes, its outcome recorded.

    ``ray.init(address=address)`` unless Ray is already initialised in this process; with no address,
    a new local Ray (``address="local"``) with ``jobs`` CPUs (all of the machine's when None), shut
    down at the end. The points' output goes to their logs, not to this process (``log_to_driver=False``).
    ``jobs`` also caps the tasks in flight.
    """
    ray = import_ray()
    started_here = not ray.is_initialized()
    if started_here:
        options: dict[str, Any] = {"address": address, "log_to_driver": False, "logging_level": "WARNING"}
        if address is None:  # "local": a new Ray of our own, even where ray.init() would join a running one
            options.update(address="local", num_cpus=jobs or os.cpu_count() or 1, include_dashboard=False)
        try:
            ray.init(**options)
        except (ConnectionError, RuntimeError, ValueError, ray.exceptions.RayError) as error:
            lines = [line.strip() for line in str(error).splitlines() if line.strip()]
            raise GeokerasInputError(
                f"expected a Ray cluster to join at --address {address} (docs/scale-out.md). "
                f"Received: {type(error).__name__}: {lines[-1] if lines else ''}"
            ) from None
    marker = (sweep_dir / DRIVER_MARKER).resolve()
    token = uuid.uuid4().hex
    marker.write_text(token, encoding="utf-8")
    spec_file = spec_path.resolve()
    spec_text = spec_file.read_text(encoding="utf-8")
    task = ray.remote(num_cpus=1, num_gpus=gpus_per_point, max_retries=1)(run_point_task)
    try:
        waiting = list(points)
        in_flight: dict[Any, tuple[Any, Path, float]] = {}
        while waiting or in_flight:
            while waiting and (jobs is None or len(in_flight) < jobs):
                point = waiting.pop(0)
                run_dir = point.run_dir.resolve()
                log_path = (sweep_dir / "logs" / f"{point.spec.run_name}.log").resolve()
                command = [*command_of(spec_file, replace(point, run_dir=run_dir)), *(["-v"] if verbose else [])]
                reference = task.remote(
                    command,
                    str(run_dir),
                    str(log_path),
                    str(spec_file),
                    spec_text,
                    str(marker),
                    token,
                    ASSUME_SHARED_FILESYSTEM,
                    dict(variables),
                )
                in_flight[reference] = (point, log_path, time.perf_counter())
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            point, log_path, submitted = in_flight.pop(ready[0])
            try:
                outcome: PointOutcome = ray.get(ready[0])
            except ray.exceptions.RayError as error:
                point.seconds = time.perf_counter() - submitted
                failed(point, task_failure(error, log_path))
                yield point
                continue
            point.seconds = outcome.seconds
            if outcome.log_text is not None:
                log_path.write_text(outcome.log_text, encoding="utf-8")
            if outcome.archive is not None:
                try:
                    unpack_run_dir(outcome.archive, point.run_dir)
                except (OSError, tarfile.TarError, GeokerasInputError) as error:
                    failed(point, f"the run directory came back but could not be unpacked: {error}")
                    yield point
                    continue
            record_outcome(point, outcome.returncode, log_path)
            yield point
    finally:
        marker.unlink(missing_ok=True)
        if started_here:
            ray.shutdown()


def task_failure(error: BaseException, log_path: Path) -> str:
    """The failed point's detail: a dead worker (retried once by Ray) or the task's own error, and the log."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    reason = lines[0] if lines else type(error).__name__
    crashed = type(error).__name__ in {"WorkerCrashedError", "OutOfMemoryError", "NodeDiedError"}
    what = "Ray worker died (retried once)" if crashed else f"Ray task failed ({type(error).__name__})"
    return f"{what}: {reason} (log: {log_path})"
