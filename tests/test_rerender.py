"""geokeras report RUN_DIR: figures and report.md of a finished run again, metrics.json untouched."""

from __future__ import annotations

import json
import shutil

import pytest

import geokeras
from geokeras import report_stage as stage
from geokeras.cli import main
from geokeras.errors import GeokerasInputError
from geokeras.report.run_lock import RunDirectoryBusy, RunLock
from tests.conftest import write

TINY = """\
name: tiny-circle
seed: 3
manifold: {type: circle, samples: 64}
model:
  latent_dim: 1
  encoder: {widths: [8]}
train: {epochs: 2, batch_size: 32, verbose: 0}
evaluate: [{type: reconstruction, samples: 64}]
report: {dpi: 30, max_points: 50}
"""
STANDARD = ("training_loss", "manifold", "latent_codes", "reconstruction")


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("rerender")
    return geokeras.run(write(root, "tiny.yaml", TINY), runs_root=root / "runs").run_dir


@pytest.fixture
def run_copy(finished_run, tmp_path):
    copy = tmp_path / finished_run.name
    shutil.copytree(finished_run, copy)
    return copy


def test_svg_round_trip_keeps_metrics_json_byte_for_byte(run_copy, capsys):
    metrics_before = (run_copy / "metrics.json").read_bytes()
    models_before = (run_copy / "models" / "encoder.keras").read_bytes()
    assert main(["report", str(run_copy), "--format", "svg", "--dpi", "50"]) == 0
    assert f"geokeras: rewrote {run_copy}/report.md and 4 figure(s)" in capsys.readouterr().out
    assert (run_copy / "metrics.json").read_bytes() == metrics_before
    assert (run_copy / "models" / "encoder.keras").read_bytes() == models_before
    assert sorted(path.name for path in (run_copy / "figures").iterdir()) == sorted(f"{n}.svg" for n in STANDARD)
    assert (run_copy / "figures" / "manifold.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")
    report = (run_copy / "report.md").read_text(encoding="utf-8")
    for name in STANDARD:
        assert f"(figures/{name}.svg)" in report
    assert ".png" not in report
    resolved = geokeras.load_spec(run_copy / "resolved.yaml")
    assert resolved.report.format == "svg" and resolved.report.dpi == 50
    assert run_copy.name.endswith(resolved.content_hash[:12])  # display-only: the same run
    assert sorted(path.name for path in run_copy.parent.iterdir()) == [run_copy.name]  # no staging left


def test_differing_evaluator_metrics_warn_and_metrics_json_is_kept(run_copy, capsys):
    metrics = json.loads((run_copy / "metrics.json").read_text(encoding="utf-8"))
    metrics["reconstruction"]["mse"] = 123.0
    (run_copy / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    before = (run_copy / "metrics.json").read_bytes()
    result = geokeras.rerender(run_copy)
    assert result.differing == ("reconstruction.mse",)
    assert "computed 1 metric(s) differently from metrics.json (reconstruction.mse)" in capsys.readouterr().err
    assert (run_copy / "metrics.json").read_bytes() == before
    assert "| mse | 123 |" in (run_copy / "report.md").read_text(encoding="utf-8")


def test_an_interrupted_rerender_leaves_the_run_as_it_was(run_copy, monkeypatch):
    report_before = (run_copy / "report.md").read_bytes()

    def fail(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(stage, "write_report", fail)
    with pytest.raises(KeyboardInterrupt):
        geokeras.rerender(run_copy, format="pdf")
    assert (run_copy / "report.md").read_bytes() == report_before
    assert sorted(path.name for path in (run_copy / "figures").iterdir()) == sorted(f"{n}.png" for n in STANDARD)
    assert sorted(path.name for path in run_copy.parent.iterdir()) == [run_copy.name]
    assert not (run_copy / ".owner").exists()


def test_a_run_recorded_with_the_hash_of_every_key_is_accepted(run_copy):
    """Runs written before display-only keys left the hash recorded the hash of every key."""
    from geokeras.report.run_dir import HASH_LINE
    from geokeras.report_rerender import _hash_of_every_key

    spec = geokeras.load_spec(run_copy / "resolved.yaml")
    resolved = run_copy / "resolved.yaml"
    text = resolved.read_text(encoding="utf-8").replace(spec.content_hash, _hash_of_every_key(spec))
    resolved.write_text(text, encoding="utf-8")
    assert f"{HASH_LINE}{_hash_of_every_key(spec)}" in text and _hash_of_every_key(spec) != spec.content_hash
    assert geokeras.rerender(run_copy).differing == ()
    edited = resolved.read_text(encoding="utf-8").replace("seed: 3", "seed: 4")
    resolved.write_text(edited, encoding="utf-8")
    with pytest.raises(GeokerasInputError, match="to resolve to its recorded hash"):
        geokeras.rerender(run_copy)


def test_a_locked_run_is_refused(run_copy):
    lock = RunLock(run_copy)
    lock.acquire()
    try:
        with pytest.raises(RunDirectoryBusy, match="is being written by process"):
            geokeras.rerender(run_copy)
    finally:
        lock.release()


def test_what_is_not_a_finished_run_is_refused_with_exit_status_2(run_copy, tmp_path, capsys):
    (run_copy / "metrics.json").unlink()
    assert main(["report", str(run_copy)]) == 2
    assert "expected a finished run directory with metrics.json" in capsys.readouterr().err
    partial = tmp_path / ".tiny.partial"
    partial.mkdir()
    with pytest.raises(GeokerasInputError, match="staging folder of a run in progress"):
        geokeras.rerender(partial)
    with pytest.raises(GeokerasInputError, match="not a directory"):
        geokeras.rerender(tmp_path / "absent")
