"""Where a researcher's own data files are, and their sha256: the data's identity in the spec.

A path in a spec is resolved against the directory of the spec file (the file given to
``geokeras run``; for a spec given as a Python mapping or a parameter model, the current
directory). The spec layer passes that directory to pydantic as the validation context
``{"spec_dir": Path}``; :func:`spec_dir_of` reads it.

The content hash of a run must identify its data without depending on where the data lies on
disk, so a spec keeps the path as written (relative) and the resolved spec carries the data's
sha256 (:func:`data_sha256`): of the file's bytes, or for a folder of images,

    sha256( concat over the image files f, sorted by relative POSIX path:
            utf8(relative path of f) + b"\\0" + size of f as 8 bytes big-endian + bytes of f )

Files are read in chunks of :data:`CHUNK_BYTES`; a digest is remembered for a path whose size and
modification time have not changed, so a sweep hashes its data once. No numpy, no TensorFlow.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Optional

from geokeras.files import file_sha256

CHUNK_BYTES = 1 << 20
"""Files are hashed 1 MiB at a time."""

IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
"""The image files of an image folder (those ``keras.utils.image_dataset_from_directory`` reads)."""

_DIGESTS: dict[Any, str] = {}


def spec_dir_of(context: Optional[dict]) -> Path:
    """The directory relative paths are resolved against: the spec file's, else the current one."""
    spec_dir = (context or {}).get("spec_dir")
    return Path(spec_dir).absolute() if spec_dir is not None else Path.cwd()


def checks_files(context: Optional[dict]) -> bool:
    """False when the spec is a resolved one read back from a run directory: paths are not looked up."""
    return bool((context or {}).get("check_files", True))


def resolve_data_path(path: str, spec_dir: Path) -> Path:
    """``path`` (``~`` expanded) against ``spec_dir`` when relative."""
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else spec_dir / candidate


def image_files(folder: Path) -> list[tuple[str, Optional[str]]]:
    """``(relative POSIX path, class name or None)`` of every image of ``folder``, sorted by path.

    Images directly in ``folder`` have no class; images anywhere under a subfolder belong to the
    class named by that subfolder. Hidden files and folders (names starting with ``.``) are skipped.

    Raises:
        ValueError: images both directly in the folder and in subfolders (ambiguous labels).
    """
    found: list[tuple[str, Optional[str]]] = []
    for item in sorted(folder.rglob("*")):
        relative = item.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if item.suffix.lower() in IMAGE_SUFFIXES and item.is_file():
            found.append((relative.as_posix(), relative.parts[0] if len(relative.parts) > 1 else None))
    top_level = [name for name, label in found if label is None]
    if top_level and len(top_level) < len(found):
        raise ValueError(
            f"expected images either all directly in the folder (no labels) or all in class subfolders. "
            f"Received both, e.g. {top_level[0]!r} and {next(name for name, label in found if label)!r}."
        )
    return sorted(found)


def data_sha256(path: Path) -> str:
    """The sha256 of a file's bytes, or of a folder's images (module docstring), as 64 hex digits."""
    if path.is_dir():
        files = [path / name for name, _ in image_files(path)]
        key: Any = ("folder", str(path), tuple((str(item), _signature(item)) for item in files))
    else:
        files = [path]
        key = ("file", str(path), _signature(path))
    if key not in _DIGESTS and not path.is_dir():
        _DIGESTS[key] = file_sha256(path)
    if key not in _DIGESTS:
        digest = hashlib.sha256()
        for item in files:
            digest.update(item.relative_to(path).as_posix().encode("utf-8") + b"\0")
            digest.update(item.stat().st_size.to_bytes(8, "big"))
            with open(item, "rb") as handle:
                for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):  # noqa: B023
                    digest.update(chunk)
        _DIGESTS[key] = digest.hexdigest()
    return _DIGESTS[key]


def _signature(path: Path) -> tuple[int, int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns, stat.st_ino
