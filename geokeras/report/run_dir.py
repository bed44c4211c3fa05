"""The run directory: written to a staging sibling, renamed into place only on success.

Layout (see docs/run-directory.md)::

    runs/<name>-<hash12>/
      spec.yaml  resolved.yaml  overrides.yaml  provenance.json  metrics.json  report.md
      figures/*.png (or .svg, .pdf: report.format)  models/{encoder,decoder,autoencoder}.keras  logs/ (TensorBoard)

While a run is in progress everything goes to ``.<final name>.partial`` beside the final
path. A run that fails on bad input (a spec error, a diverging loss) removes its staging
directory; a run that is interrupted or crashes keeps it, so that ``--resume`` can continue
from its checkpoints. Either way nothing ever appears at the final path half-written.

A staging directory belongs to one live process (an OS lock, see ``run_lock``), ``--resume``
continues only a run of the same resolved spec, and symlinks are never followed. ``--force``
(``replace=True``) lets a new run replace a finished run directory; the old one is moved aside
only once the new one is complete, and removed after the new one is in place.
"""

from __future__ import annotations

import errno
import itertools
import json
import os
import shutil
import sys
from pathlib import Path
from types import TracebackType
from typing import Any, Optional

from geokeras.errors import GeokerasInputError
from geokeras.report.run_lock import OWNER_FILE, RunDirectoryBusy, RunLock, busy_message, is_locked

TRAINING_METRICS = (
    "epochs",
    "final_loss",
    "loss_mean_last_5",
    "best_loss",
    "best_epoch",
    "val_final_loss",
    "val_loss_mean_last_5",
    "val_best_loss",
    "val_best_epoch",
    "seconds",
    "samples_per_second",
)
"""The keys of metrics.json's ``training`` section, in report order (the ``val_`` ones only with a
validation split; see :func:`geokeras.models.loss_summary.training_metrics`)."""

RESOLVED_SPEC = "resolved.yaml"
HASH_LINE = "# sha256: "
"""``resolved.yaml`` starts with this comment line followed by the spec's content hash."""


def staging_path(final_path: Path) -> Path:
    """Where the run directory for ``final_path`` is written until it is complete."""
    return final_path.parent / f".{final_path.name}.partial"


def recorded_spec_hash(run_folder: Path) -> Optional[str]:
    """The content hash in ``resolved.yaml`` of a (staging) run folder; None if it has none yet."""
    try:
        with open(Path(run_folder) / RESOLVED_SPEC, encoding="utf-8") as file:
            for line in itertools.islice(file, 4):
                if line.startswith(HASH_LINE):
                    return line[len(HASH_LINE) :].strip()
    except (OSError, UnicodeDecodeError):
        return None
    return None


class RunDirectoryExists(GeokerasInputError):
    """The final run directory is already there: runs are never overwritten."""


class ResumeMismatch(GeokerasInputError):
    """``--resume`` was asked to continue a run of another resolved spec."""


class StagedRunDirectory:
    """Context manager: yields the staging directory, renames it to ``final_path`` on success.

    The staging directory is owned by one process at a time (:class:`~geokeras.report.run_lock.RunLock`):
    a second run into the same folder stops with :class:`~geokeras.report.run_lock.RunDirectoryBusy`
    before touching anything. The final and staging paths must be real directories (or absent),
    never symlinks, so a run never writes into, or renames onto, a folder it does not own.

    Args:
        final_path: where the finished run directory goes.
        resume: reuse an interrupted run's staging directory (and its checkpoints).
        spec_hash: content hash of the spec this run executes; ``resume`` refuses a staging
            directory recorded with another hash (None: no check).
        replace: a finished run directory at ``final_path`` (one holding a ``resolved.yaml`` with
            its hash) is replaced once this run is complete, instead of being an error. Anything
            else there (a file, a folder that is not a run directory) is still refused.
    """

    def __init__(
        self, final_path: Path, resume: bool = False, spec_hash: Optional[str] = None, *, replace: bool = False
    ):
        if resume and replace:
            raise GeokerasInputError(
                "expected either --resume (continue an interrupted run) or --force (replace a finished one). "
                "Received both."
            )
        self.final_path = Path(final_path)
        self.staging = staging_path(self.final_path)
        self.resume = resume
        self.replace = replace
        self.spec_hash = spec_hash
        self.resumed = False
        self._lock = RunLock(self.staging)

    def check_available(self) -> None:
        """Refuse, before any work, every state this run must not write into.

        Raises:
            RunDirectoryExists: a finished run (or any file) is at the final path.
            RunDirectoryBusy: another live process owns the staging directory.
            ResumeMismatch: ``resume`` and the staging directory holds another spec's run.
            GeokerasInputError: a symlink at the final or staging path, a staging path that
                is not a directory, or a path the file system refuses (too long, a NUL byte,
                under a file).
        """
        try:
            self._check_paths()
        except (OSError, ValueError) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
            raise GeokerasInputError(
                f"expected a run folder path the file system accepts. Received {_shown(self.final_path)}: {reason}."
            ) from None

    def _check_paths(self) -> None:
        if "\0" in str(self.final_path):
            raise ValueError("embedded null byte")  # pathlib's probes would quietly answer False
        ancestor = self.final_path.parent
        while not ancestor.exists() and ancestor != ancestor.parent:
            ancestor = ancestor.parent
        if not ancestor.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, f"{_shown(ancestor)} is not a directory")
        if not os.access(ancestor, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, f"{_shown(ancestor)} is not writable")
        for path in (self.final_path, self.staging):
            if path.is_symlink():
                raise GeokerasInputError(
                    f"expected {str(path)!r} to be absent or a real directory. Received a symlink "
                    f"(to {os.readlink(path)!r}): geokeras never writes a run through a symlink; "
                    f"remove it or write elsewhere with -o DIR."
                )
        if self.final_path.is_dir() and self.replace:
            if recorded_spec_hash(self.final_path) is None:
                raise RunDirectoryExists(
                    f"expected --force to replace a finished run directory (one holding {RESOLVED_SPEC}). "
                    f"Received {_shown(self.final_path)}, which is not one: it is left alone."
                )
        elif self.final_path.is_dir():
            raise RunDirectoryExists(
                f"the run directory {str(self.final_path)!r} already exists: this exact spec "
                f"has been run. Read its results, replace it with --force, or write elsewhere "
                f"with -o DIR."
            )
        elif self.final_path.exists():
            raise RunDirectoryExists(
                f"expected -o to name a directory to create. Received {str(self.final_path)!r}, "
                f"which is an existing file."
            )
        if self.staging.exists() and not self.staging.is_dir():
            raise GeokerasInputError(
                f"expected the staging path {str(self.staging)!r} to be absent or a directory. "
                f"Received a file; remove it or write elsewhere with -o DIR."
            )
        if self.staging.is_dir():
            if not self._lock.held and is_locked(self.staging):
                raise RunDirectoryBusy(busy_message(self.staging))
            if self.resume:
                self._check_same_spec()

    def _check_same_spec(self) -> None:
        recorded = recorded_spec_hash(self.staging)
        if self.spec_hash is not None and recorded is not None and recorded != self.spec_hash:
            raise ResumeMismatch(
                f"--resume would mix two experiments: {str(self.staging)!r} holds a run of the spec "
                f"with sha256 {recorded}, but the spec given resolves to sha256 {self.spec_hash}. "
                f"Expected the same resolved spec (file, overrides, seed). Run without --resume to "
                f"discard the interrupted run, or write elsewhere with -o DIR."
            )

    def __enter__(self) -> Path:
        self.check_available()
        try:
            self.staging.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise GeokerasInputError(
                f"cannot create the run folder {str(self.staging)!r}: {error.strerror}. Expected a "
                f"writable directory path."
            ) from None
        self._lock.acquire()
        try:
            self.check_available()  # again, now that no other process can change the folder
            if self.resume and recorded_spec_hash(self.staging) is not None:
                self.resumed = True
            else:
                if self.resume:
                    print(f"geokeras: nothing to resume at {self.staging}; starting a new run.", file=sys.stderr)
                _empty_folder(self.staging, keep=OWNER_FILE)
        except BaseException:
            self._lock.release()
            raise
        return self.staging

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> bool:
        try:
            if exc_type is None:
                if self.final_path.exists() or self.final_path.is_symlink():
                    self.check_available()
                (self.staging / OWNER_FILE).unlink(missing_ok=True)
                if self.replace and self.final_path.is_dir():
                    self._swap_in()
                else:
                    self.staging.rename(self.final_path)
            elif issubclass(exc_type, GeokerasInputError):
                shutil.rmtree(self.staging, ignore_errors=True)
            else:
                print(
                    f"geokeras: the run stopped; its partial state is kept in {self.staging}. "
                    f"Continue it with --resume.",
                    file=sys.stderr,
                )
        finally:
            self._lock.release()
        return False

    def _swap_in(self) -> None:
        """Replace the finished run at the final path by the staging directory: move the old run
        aside, rename the new one into place (restoring the old one if that fails), then delete
        the old one. The final path is absent only between two renames."""
        replaced = self.final_path.parent / f".{self.final_path.name}.replaced"
        if replaced.is_dir() and not replaced.is_symlink():
            shutil.rmtree(replaced)  # left by a replacement that was killed between its renames
        self.final_path.rename(replaced)
        try:
            self.staging.rename(self.final_path)
        except BaseException:
            replaced.rename(self.final_path)
            raise
        shutil.rmtree(replaced, ignore_errors=True)


def _shown(path: Path, limit: int = 160) -> str:
    """``repr`` of a path for messages, shortened in the middle past ``limit`` characters."""
    text = repr(str(path))
    return text if len(text) <= limit else f"{text[: limit // 2]}...{text[-limit // 2 :]}"


def _empty_folder(folder: Path, keep: str) -> None:
    """Remove everything inside ``folder`` but ``keep`` (the folder itself stays: it carries the lock)."""
    for entry in folder.iterdir():
        if entry.name == keep:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON (NaN and infinity are refused: they are not JSON)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=False, allow_nan=False) + "\n", encoding="utf-8")
