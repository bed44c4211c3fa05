"""The staged run directory: renamed into place on success, never half-written."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest

from geokeras.errors import GeokerasInputError, TrainingDivergedError
from geokeras.report.run_dir import (
    ResumeMismatch,
    RunDirectoryExists,
    StagedRunDirectory,
    staging_path,
    write_json,
)
from geokeras.report.run_lock import RunDirectoryBusy


def test_success_renames_staging_to_final(tmp_path):
    final = tmp_path / "runs" / "demo-0123456789ab"
    with StagedRunDirectory(final) as staging:
        assert staging == tmp_path / "runs" / ".demo-0123456789ab.partial"
        (staging / "metrics.json").write_text("{}")
        assert not final.exists()
    assert (final / "metrics.json").read_text() == "{}"
    assert not staging_path(final).exists()


def test_bad_input_removes_everything(tmp_path):
    final = tmp_path / "run"
    with pytest.raises(TrainingDivergedError):
        with StagedRunDirectory(final) as staging:
            (staging / "spec.yaml").write_text("x")
            raise TrainingDivergedError(epoch=3, loss=math.nan)
    assert list(tmp_path.iterdir()) == []


def test_crash_keeps_staging_for_resume(tmp_path, capsys):
    final = tmp_path / "run"
    with pytest.raises(RuntimeError):
        with StagedRunDirectory(final) as staging:
            (staging / "resolved.yaml").write_text("# resolved spec of run\n# sha256: abc\nname: run\n")
            (staging / "checkpoint").write_text("epoch 5")
            raise RuntimeError("power cut")
    assert not final.exists()
    assert "--resume" in capsys.readouterr().err
    resumed = StagedRunDirectory(final, resume=True, spec_hash="abc")
    with resumed as staging:
        assert (staging / "checkpoint").read_text() == "epoch 5"
    assert resumed.resumed and (final / "checkpoint").exists()
    assert not (final / ".owner").exists()


def test_without_resume_a_stale_staging_is_discarded(tmp_path):
    final = tmp_path / "run"
    staging_path(final).mkdir()
    (staging_path(final) / "stale").write_text("old")
    with StagedRunDirectory(final) as staging:
        assert [entry.name for entry in staging.iterdir()] == [".owner"]


def test_an_existing_run_is_never_overwritten(tmp_path):
    final = tmp_path / "run"
    final.mkdir()
    with pytest.raises(RunDirectoryExists, match="already exists"):
        with StagedRunDirectory(final):
            pass
    assert issubclass(RunDirectoryExists, GeokerasInputError)


def test_write_json_refuses_nan(tmp_path):
    write_json(tmp_path / "a" / "m.json", {"x": 1.5})
    assert json.loads((tmp_path / "a" / "m.json").read_text()) == {"x": 1.5}
    with pytest.raises(ValueError):
        write_json(tmp_path / "n.json", {"x": math.nan})


def _interrupted_run(final, spec_hash="a" * 64):
    """The staging folder of a run of ``spec_hash`` that was killed mid-training."""
    with pytest.raises(KeyboardInterrupt):
        with StagedRunDirectory(final, spec_hash=spec_hash) as staging:
            (staging / "resolved.yaml").write_text(f"# resolved spec of run\n# sha256: {spec_hash}\nseed: 7\n")
            (staging / "checkpoint").write_text("epoch 5")
            raise KeyboardInterrupt
    return staging_path(final)


def test_resume_refuses_a_run_of_another_spec_and_keeps_it(tmp_path):
    staging = _interrupted_run(tmp_path / "run")
    with pytest.raises(ResumeMismatch) as caught:
        with StagedRunDirectory(tmp_path / "run", resume=True, spec_hash="b" * 64):
            pass
    message = str(caught.value)
    assert f"sha256 {'a' * 64}" in message and f"sha256 {'b' * 64}" in message
    assert (staging / "checkpoint").read_text() == "epoch 5" and not (tmp_path / "run").exists()
    with StagedRunDirectory(tmp_path / "run", resume=True, spec_hash="a" * 64) as resumed:
        assert (resumed / "checkpoint").read_text() == "epoch 5"


def test_resume_without_a_recorded_spec_starts_afresh(tmp_path, capsys):
    staging = staging_path(tmp_path / "run")
    staging.mkdir()
    (staging / "stray").write_text("x")
    directory = StagedRunDirectory(tmp_path / "run", resume=True, spec_hash="a" * 64)
    with directory as entered:
        assert [entry.name for entry in entered.iterdir()] == [".owner"]
    assert not directory.resumed and "nothing to resume" in capsys.readouterr().err


HOLD_LOCK = """
import sys, time
from pathlib import Path
from geokeras.report.run_lock import RunLock
RunLock(Path(sys.argv[1])).acquire()
print("locked", flush=True)
time.sleep(120)
"""


def test_a_second_run_into_a_live_runs_folder_stops_and_the_first_is_intact(tmp_path):
    staging = _interrupted_run(tmp_path / "run")
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(staging)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        for resume in (False, True):
            with pytest.raises(RunDirectoryBusy, match=f"being written by process {holder.pid} on "):
                with StagedRunDirectory(tmp_path / "run", resume=resume, spec_hash="a" * 64):
                    pass
            assert (staging / "checkpoint").read_text() == "epoch 5"
    finally:
        holder.kill()  # SIGKILL: the kernel drops the lock with the process
        holder.wait()
    with StagedRunDirectory(tmp_path / "run", resume=True, spec_hash="a" * 64) as resumed:
        assert (resumed / "checkpoint").read_text() == "epoch 5"
    assert (tmp_path / "run" / "checkpoint").is_file()


def test_the_same_process_cannot_enter_one_folder_twice(tmp_path):
    with StagedRunDirectory(tmp_path / "run") as staging:
        (staging / "work").write_text("first")
        with pytest.raises(RunDirectoryBusy, match=f"process {os.getpid()} "):
            with StagedRunDirectory(tmp_path / "run"):
                pass
        assert (staging / "work").read_text() == "first"
    assert (tmp_path / "run" / "work").read_text() == "first"


def test_symlinks_are_refused_before_anything_is_written(tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "precious").write_text("keep")
    runs = tmp_path / "runs"
    runs.mkdir()
    staging_path(runs / "a").symlink_to(foreign)
    (runs / "b").symlink_to(tmp_path / "nowhere")  # dangling
    for final, resume in ((runs / "a", True), (runs / "a", False), (runs / "b", False)):
        with pytest.raises(GeokerasInputError, match="Received a symlink"):
            with StagedRunDirectory(final, resume=resume):
                pass
    assert [entry.name for entry in foreign.iterdir()] == ["precious"]
    assert sorted(entry.name for entry in runs.iterdir()) == [".a.partial", "b"]


def test_a_regular_file_at_the_final_path_is_named_as_a_file(tmp_path):
    (tmp_path / "out").write_text("notes")
    with pytest.raises(RunDirectoryExists, match="Received '.*out', which is an existing file"):
        with StagedRunDirectory(tmp_path / "out"):
            pass
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize(
    "name, reason",
    [("a" * 300, "File name too long"), ("notes.txt/run", "is not a directory"), ("bad\0name", "embedded null byte")],
)
def test_paths_the_file_system_refuses_are_bad_input_up_front(tmp_path, name, reason):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(GeokerasInputError, match=f"expected a run folder path the file system accepts.*{reason}"):
        StagedRunDirectory(tmp_path / name).check_available()
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["notes.txt"]


def _finished_run(final, marker):
    final.mkdir(parents=True)
    (final / "resolved.yaml").write_text(f"# resolved spec of run\n# sha256: {marker}\nname: run\n")
    (final / "metrics.json").write_text(marker)


def test_replace_keeps_the_old_run_until_the_new_one_is_complete(tmp_path):
    final = tmp_path / "run"
    _finished_run(final, "old")
    with StagedRunDirectory(final, replace=True) as staging:
        (staging / "metrics.json").write_text("new")
        assert (final / "metrics.json").read_text() == "old"  # still there while the new run works
    assert (final / "metrics.json").read_text() == "new"
    assert not (final / "resolved.yaml").exists()
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["run"]


def test_replace_keeps_the_old_run_when_the_new_one_fails(tmp_path):
    final = tmp_path / "run"
    _finished_run(final, "old")
    with pytest.raises(TrainingDivergedError):
        with StagedRunDirectory(final, replace=True):
            raise TrainingDivergedError(epoch=1, loss=math.nan)
    assert (final / "metrics.json").read_text() == "old"
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["run"]


def test_replace_refuses_a_folder_that_is_not_a_run_directory(tmp_path):
    final = tmp_path / "documents"
    final.mkdir()
    (final / "thesis.tex").write_text("precious")
    with pytest.raises(RunDirectoryExists, match="expected --force to replace a finished run directory"):
        with StagedRunDirectory(final, replace=True):
            pass
    assert (final / "thesis.tex").read_text() == "precious"
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["documents"]


def test_replace_and_resume_together_are_refused(tmp_path):
    with pytest.raises(GeokerasInputError, match="either --resume .* or --force"):
        StagedRunDirectory(tmp_path / "run", resume=True, replace=True)
