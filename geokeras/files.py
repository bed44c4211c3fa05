"""Files a spec names (a saved Keras model, say): found relative to the spec, pinned by their bytes.

The convention for every file a spec refers to:

* its path is written relative to the directory of the spec file that names it (a spec given as
  a Python mapping: the current directory); an absolute path is taken as it is;
* an optional ``sha256`` field pins the file's bytes: when given, the bytes must hash to it;
* the resolved spec always records the computed ``sha256``, so that the content hash (and the
  run directory's name) changes when the file's bytes change, but not when the same bytes are
  read from another folder.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Optional, Sequence

from pydantic import BaseModel

from geokeras.errors import KeyPath, SpecError, shortened

MAX_PATH_CHARACTERS = 4096
"""The longest file path a spec may write (Linux's PATH_MAX)."""

SHA256_PATTERN = r"^[0-9a-f]{64}$"
"""A sha256 digest as the resolved spec writes it: 64 lower-case hexadecimal digits."""


def spec_directory(spec_path: Optional[Path]) -> Path:
    """The directory a spec's relative file paths start from: the spec file's, else the current one."""
    return Path(spec_path).resolve().parent if spec_path is not None else Path.cwd()


def resolve_spec_file(base_dir: Path, name: str, key_path: KeyPath, suffixes: Sequence[str] = ()) -> Path:
    """The existing regular file that ``name`` (relative to ``base_dir``) names.

    Raises:
        SpecError: at ``key_path`` for a name that is not a usable path, a missing file, a
            directory, or a name not ending in one of ``suffixes`` (when given).
    """

    def refuse(message: str) -> SpecError:
        return SpecError(message, key_path)

    if "\x00" in name:
        raise refuse("expected a file path. Received a path holding a NUL byte.")
    if len(name) > MAX_PATH_CHARACTERS:
        raise refuse(f"expected a file path of at most {MAX_PATH_CHARACTERS} characters. Received {len(name)}.")
    if suffixes and Path(name).suffix.lower() not in suffixes:
        raise refuse(f"expected a file ending in {' or '.join(suffixes)}. Received: {shortened(repr(name), 120)}.")
    try:
        path = (Path(base_dir) / name).resolve()
        if not path.exists():
            raise refuse(f"expected an existing file (relative to {str(base_dir)!r}). Received: {str(path)!r}.")
        if not path.is_file():
            raise refuse(f"expected a regular file. Received: {str(path)!r}.")
    except (OSError, ValueError, RuntimeError) as error:
        reason = getattr(error, "strerror", None) or type(error).__name__
        raise refuse(f"expected a readable file path. Received {shortened(repr(name), 80)} ({reason}).") from None
    return path


def file_sha256(path: Path) -> str:
    """The sha256 hex digest of the file's bytes, read 1 MiB at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pinned_sha256(path: Path, expected: Optional[str], key_path: KeyPath) -> str:
    """The file's sha256, checked against ``expected`` when the spec gives one.

    Raises:
        SpecError: at ``key_path`` (the ``sha256`` key) when the bytes hash to something else.
    """
    digest = file_sha256(path)
    if expected is not None and digest != expected:
        raise SpecError(
            f"expected the bytes of {str(path)!r} to have sha256 {expected}. Received a file with sha256 "
            f"{digest}: the file changed since the spec was written (remove sha256 to accept it).",
            key_path,
        )
    return digest


def pin_files(node: Any, base_dir: Path, key_path: KeyPath = ()) -> Any:
    """``node`` (a validated spec or any part of it) with every file reference resolved and pinned.

    A file reference is a parameter model declaring ``file_suffixes`` with ``path`` and ``sha256``
    fields and a ``_file`` private attribute: its file is found from ``base_dir``, its bytes
    hashed (and checked against a given ``sha256``), the digest written into ``sha256`` and the
    absolute path kept in ``_file``. Models are frozen, so changed parts are copies.

    Raises:
        SpecError: at the reference's ``path`` or ``sha256`` key (relative to ``node``).
    """
    if isinstance(node, BaseModel):
        updates = {}
        for name in type(node).model_fields:
            value = getattr(node, name)
            pinned = pin_files(value, base_dir, key_path + (name,))
            if pinned is not value:
                updates[name] = pinned
        suffixes = getattr(type(node), "file_suffixes", None)
        file = None
        if suffixes is not None:
            file = resolve_spec_file(base_dir, node.path, key_path + ("path",), suffixes)
            digest = pinned_sha256(file, node.sha256, key_path + ("sha256",))
            if digest != node.sha256:
                updates["sha256"] = digest
        if updates:
            node = node.model_copy(update=updates)
        if file is not None:
            node._file = file
        return node
    if isinstance(node, list):
        pinned = [pin_files(item, base_dir, key_path + (index,)) for index, item in enumerate(node)]
        return node if all(new is old for new, old in zip(pinned, node)) else pinned
    return node
