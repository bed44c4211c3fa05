"""One process per run folder: an exclusive OS lock on the staging directory.

The lock is ``flock(2)`` on an open descriptor of the directory itself, the way ``git`` or
``pip`` guard their working state but without a lock *file*: the kernel releases it when the
descriptor closes, so a run killed with ``kill -9`` never leaves a stale lock behind, and a
rename of the locked directory (staging to final) keeps the lock, which belongs to the inode.

Who holds a lock is written to ``.owner`` inside the directory (pid, host, start time), so a
second process can say whom it found there; ``.owner`` is read only while the lock is held by
someone else, so a stale file never blocks anything. POSIX only (Linux, macOS); on a network
file system the lock is only as good as the server's ``flock`` support.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from pathlib import Path
from typing import Optional

from geokeras.errors import GeokerasInputError
from geokeras.report.provenance import now_utc

OWNER_FILE = ".owner"


class RunDirectoryBusy(GeokerasInputError):
    """Another live process holds the run folder."""


class RunLock:
    """Exclusive, non-blocking lock on ``directory`` (which must be a real directory).

    Args:
        directory: the staging directory of a run.
    """

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self._descriptor: Optional[int] = None

    @property
    def held(self) -> bool:
        return self._descriptor is not None

    def acquire(self) -> None:
        """Take the lock and record this process as its owner, or raise :class:`RunDirectoryBusy`."""
        descriptor = _open_directory(self.directory)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            raise RunDirectoryBusy(busy_message(self.directory)) from None
        self._descriptor = descriptor
        owner = {"pid": os.getpid(), "host": socket.gethostname(), "started": now_utc()}
        (self.directory / OWNER_FILE).write_text(json.dumps(owner) + "\n", encoding="utf-8")

    def release(self) -> None:
        """Drop the lock (the owner file is left to the caller: it may have been renamed away)."""
        if self._descriptor is not None:
            os.close(self._descriptor)  # closing the only descriptor releases the flock
            self._descriptor = None


def is_locked(directory: Path) -> bool:
    """Whether another process holds ``directory``'s lock right now (probes without keeping it)."""
    descriptor = _open_directory(directory)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)
    return False


def busy_message(directory: Path) -> str:
    """Names the process that holds ``directory``, from its ``.owner`` file when readable."""
    try:
        owner = json.loads((Path(directory) / OWNER_FILE).read_text(encoding="utf-8"))
        who = f"process {owner['pid']} on {owner['host']} (started {owner['started']})"
    except (OSError, ValueError, KeyError, TypeError):
        who = "another process"
    return (
        f"{str(directory)!r} is being written by {who}. Expected a run folder no live process "
        f"owns: wait for that run to finish, or write elsewhere with -o DIR."
    )


def _open_directory(directory: Path) -> int:
    """A read-only descriptor of ``directory``; a symlink or a non-directory is refused."""
    try:
        return os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as error:
        raise GeokerasInputError(
            f"expected {str(directory)!r} to be a real directory (not a symlink or a file). Received: {error.strerror}."
        ) from None
