"""The run directory: written to a staging sibling, renamed into place only on success.

Layout (see docs/run-directory.md)::

    runs/<name>-<hash12>/
      spec.yaml  resolved.yaml  overrides.yaml  provenance.json  metrics.json  report.md
      figures/*.png  models/{encoder,decoder,autoencoder}.keras  logs/ (TensorBoard)

While a run is in progress everything goes to ``.<final name>.partial`` beside the final
path. A run that fails on bad input (a spec error, a diverging loss) removes its staging
directory; a run that is interrupted or crashes keeps it, so that ``--resume`` can continue
from its checkpoints. Either way nothing ever appears at the final path half-written.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from types import TracebackType
from typing import Any, Optional

from geokeras.errors import GeokerasInputError


def staging_path(final_path: Path) -> Path:
    """Where the run directory for ``final_path`` is written until it is complete."""
    return final_path.parent / f".{final_path.name}.partial"


class RunDirectoryExists(GeokerasInputError):
    """The final run directory is already there: runs are never overwritten."""


class StagedRunDirectory:
    """Context manager: yields the staging directory, renames it to ``final_path`` on success.

    Args:
        final_path: where the finished run directory goes.
        resume: reuse an interrupted run's staging directory (and its checkpoints).
    """

    def __init__(self, final_path: Path, resume: bool = False):
        self.final_path = Path(final_path)
        self.staging = staging_path(self.final_path)
        self.resume = resume
        self.resumed = False

    def check_available(self) -> None:
        """Raise :class:`RunDirectoryExists` if a finished run is already at the final path."""
        if self.final_path.exists():
            raise RunDirectoryExists(
                f"the run directory {str(self.final_path)!r} already exists: this exact spec "
                f"has been run. Read its results, delete it to run again, or write elsewhere "
                f"with -o DIR."
            )

    def __enter__(self) -> Path:
        self.check_available()
        if self.staging.exists():
            if self.resume:
                self.resumed = True
            else:
                shutil.rmtree(self.staging)
        elif self.resume:
            print(
                f"geokeras: nothing to resume at {self.staging}; starting a new run.",
                file=sys.stderr,
            )
        self.staging.mkdir(parents=True, exist_ok=True)
        return self.staging

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> bool:
        if exc_type is None:
            self.check_available()
            self.staging.rename(self.final_path)
        elif issubclass(exc_type, GeokerasInputError):
            shutil.rmtree(self.staging, ignore_errors=True)
        else:
            print(
                f"geokeras: the run stopped; its partial state is kept in {self.staging}. "
                f"Continue it with --resume.",
                file=sys.stderr,
            )
        return False


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON (NaN and infinity are refused: they are not JSON)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=False, allow_nan=False) + "\n", encoding="utf-8")
