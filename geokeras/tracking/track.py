"""Where the run and the sweep hand their finished folders to the tracker of the ``tracking:`` section.

Tracking comes after the run directory (or the sweep folder) is final, and a tracking failure (a
server down, a store not writable) never fails the run: it prints a warning line and the run ends
as it would have without tracking (exit status 0). Only a tracker whose package is not installed is
an error, and it is raised before anything runs.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from geokeras.console import current_console

TRACKING_ENV = "GEOKERAS_TRACKING"
"""Set to ``off`` in a process's environment, the ``tracking:`` section is ignored there: the sweep
driver sets it for its points, whose runs it logs itself, as children of the sweep's run."""

REQUIRED_PACKAGES = {"mlflow": ("mlflow", "pip install 'geokeras[mlflow]'")}
"""Tracker type -> (the module it imports, the command that installs it)."""


def tracking_section(spec: Any) -> Optional[Any]:
    """The spec's ``tracking`` parameters, None when there are none or tracking is off in this process."""
    if os.environ.get(TRACKING_ENV, "").strip().lower() == "off":
        return None
    return spec.tracking


def check_tracker_installed(spec: Any) -> None:
    """Raise a SpecError at ``tracking.type`` when the tracker's package is not installed (before any run)."""
    section = tracking_section(spec)
    if section is None or section.type not in REQUIRED_PACKAGES:
        return
    module, install = REQUIRED_PACKAGES[section.type]
    if importlib.util.find_spec(module) is None:
        raise spec.error(
            f"expected the {module} package for tracking type {section.type!r}. Received: {module} is not "
            f"installed; install it with: {install}",
            ("tracking", "type"),
        )


def track_run(spec: Any, run_dir: Path) -> Optional[str]:
    """Log the final run directory ``run_dir`` to the spec's tracker; its run id, or None (no tracking,
    or a failure, reported as a warning line)."""
    section = tracking_section(spec)
    if section is None:
        return None
    return _tracked(section, "run", lambda tracker: tracker.log_run(Path(run_dir)))


def track_sweep(spec: Any, sweep_dir: Path, points: Sequence[Any], grid: Mapping[str, Sequence[str]]) -> Optional[str]:
    """Log a finished sweep (a parent run, a child run per point); the parent's run id, or None."""
    section = tracking_section(spec)
    if section is None:
        return None
    return _tracked(section, "sweep", lambda tracker: tracker.log_sweep(Path(sweep_dir), points, grid))


def _tracked(section: Any, what: str, log: Any) -> Optional[str]:
    from geokeras.registry import TRACKERS

    console = current_console()
    try:
        with console.stage("tracking", section.type) as stage:
            tracker = TRACKERS.build(section)
            run_id = log(tracker)
            stage.summary = f"{what} {run_id} in {tracker.description}"
    except Exception as error:  # the run directory is final: a tracking failure must not lose it
        reason = (str(error).strip().splitlines() or [""])[0][:300]
        console.line(
            f"warning: the {what} was not logged to {section.type} ({type(error).__name__}: {reason}); "
            f"its folder is complete and the exit status stays 0.",
            style="yellow",
        )
        return None
    return run_id
