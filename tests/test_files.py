"""Files a spec names: found relative to the spec's directory, pinned by the sha256 of their bytes."""

from __future__ import annotations

import hashlib
from typing import ClassVar, Optional

import pytest
from pydantic import BaseModel, PrivateAttr

from geokeras.errors import SpecError
from geokeras.files import file_sha256, pin_files, resolve_spec_file, spec_directory


class FileRef(BaseModel, frozen=True):
    file_suffixes: ClassVar[tuple[str, ...]] = (".bin",)
    path: str
    sha256: Optional[str] = None
    _file: Optional[object] = PrivateAttr(None)


class Holder(BaseModel, frozen=True):
    name: str = "h"
    files: list[FileRef] = []


def test_pin_files_fills_each_reference_in_lists_and_leaves_the_rest(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.bin").write_bytes(b"abc")
    holder = Holder(files=[FileRef(path="data/a.bin"), FileRef(path=str(tmp_path / "data" / "a.bin"))])
    pinned = pin_files(holder, tmp_path)
    digest = hashlib.sha256(b"abc").hexdigest()
    assert [ref.sha256 for ref in pinned.files] == [digest, digest]
    assert pinned.files[0].path == "data/a.bin" and pinned.files[0]._file == tmp_path / "data" / "a.bin"
    assert holder.files[0].sha256 is None  # frozen models: the pinned parts are copies
    assert pin_files(Holder(), tmp_path) == Holder()


def test_a_changed_file_is_refused_at_its_sha256_key(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"new")
    with pytest.raises(SpecError) as caught:
        pin_files(Holder(files=[FileRef(path="a.bin", sha256="0" * 64)]), tmp_path)
    assert caught.value.path == ("files", 0, "sha256")
    assert caught.value.message == (
        f"expected the bytes of {str(tmp_path / 'a.bin')!r} to have sha256 {'0' * 64}. Received a file with sha256 "
        f"{file_sha256(tmp_path / 'a.bin')}: the file changed since the spec was written (remove sha256 to accept it)."
    )


@pytest.mark.parametrize(
    "name, message",
    [
        ("a.txt", "expected a file ending in .bin. Received: 'a.txt'."),
        ("bad\x00.bin", "expected a file path. Received a path holding a NUL byte."),
        ("folder.bin", "expected a regular file. Received: '{root}/folder.bin'."),
        ("none.bin", "expected an existing file (relative to '{root}'). Received: '{root}/none.bin'."),
    ],
)
def test_unusable_paths_are_refused_at_the_key(tmp_path, name, message):
    (tmp_path / "folder.bin").mkdir()
    with pytest.raises(SpecError) as caught:
        resolve_spec_file(tmp_path, name, ("path",), (".bin",))
    assert (caught.value.path, caught.value.message) == (("path",), message.format(root=tmp_path))


def test_spec_directory_is_the_spec_files_folder_or_the_current_one(tmp_path, monkeypatch):
    assert spec_directory(tmp_path / "spec.yaml") == tmp_path.resolve()
    monkeypatch.chdir(tmp_path)
    assert spec_directory(None) == tmp_path
