"""The staged run directory: renamed into place on success, never half-written."""

from __future__ import annotations

import json
import math

import pytest

from geokeras.errors import GeokerasInputError, TrainingDivergedError
from geokeras.report.run_dir import RunDirectoryExists, StagedRunDirectory, staging_path, write_json


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
            (staging / "checkpoint").write_text("epoch 5")
            raise RuntimeError("power cut")
    assert not final.exists()
    assert "--resume" in capsys.readouterr().err
    resumed = StagedRunDirectory(final, resume=True)
    with resumed as staging:
        assert (staging / "checkpoint").read_text() == "epoch 5"
    assert resumed.resumed and (final / "checkpoint").exists()


def test_without_resume_a_stale_staging_is_discarded(tmp_path):
    final = tmp_path / "run"
    staging_path(final).mkdir()
    (staging_path(final) / "stale").write_text("old")
    with StagedRunDirectory(final) as staging:
        assert list(staging.iterdir()) == []


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
