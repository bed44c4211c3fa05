"""provenance.json: what produced a run (versions, devices, command, commit, seeds, times)."""

from __future__ import annotations

import datetime as _datetime
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any, Optional

import geokeras

PACKAGES = ("tensorflow", "keras", "tensorflow-probability", "numpy", "pydantic", "scikit-learn", "matplotlib")


def package_versions() -> dict[str, Optional[str]]:
    """Installed versions of geokeras and its main dependencies (None if missing)."""
    versions: dict[str, Optional[str]] = {"geokeras": geokeras.__version__, "python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_commit(directory: Path) -> Optional[dict[str, Any]]:
    """The commit of the git checkout holding ``directory`` and whether it has local changes."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=directory, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(status.strip())}


def now_utc() -> str:
    return _datetime.datetime.now(_datetime.timezone.utc).isoformat(timespec="seconds")


def collect_provenance(
    *, seeds: dict[str, int], devices: list[str], started: str, finished: str, resumed: bool
) -> dict[str, Any]:
    """Everything needed to say how a run was produced."""
    return {
        "versions": package_versions(),
        "platform": platform.platform(),
        "devices": devices,
        "command": list(sys.argv),
        "working_directory": str(Path.cwd()),
        "git": git_commit(Path(geokeras.__file__).resolve().parent),
        "seeds": seeds,
        "resumed": resumed,
        "started": started,
        "finished": finished,
    }
