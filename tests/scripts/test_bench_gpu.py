"""scripts/bench_gpu.sh: the smoke run on the CPU exercises every part and its parser, so the GPU script never rots."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench_gpu():
    spec = importlib.util.spec_from_file_location("bench_gpu", ROOT / "scripts" / "bench_gpu.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def test_smoke_run_measures_every_part(tmp_path):
    completed = subprocess.run(
        ["bash", "scripts/bench_gpu.sh", "--smoke", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    report = json.loads((tmp_path / "bench_gpu.json").read_text())
    assert report["smoke"] is True
    assert sorted(report["parts"]) == ["ot", "regions", "training"]

    training = report["parts"]["training"][0]["result"]
    assert training["samples"] == 512 and training["rounds"] == 1
    assert training["ratio"] == pytest.approx(training["spec_samples_per_s"] / training["hand_samples_per_s"])

    ot = report["parts"]["ot"][0]["result"]
    assert (ot["memory"]["targets"], ot["memory"]["dim"], ot["memory"]["steps"]) == (256, 4, 5)
    assert ot["throughput"]["samples"] == 1 << 12
    assert ot["converge"][0]["eval_samples"] == 1 << 16

    regions = report["parts"]["regions"][0]["result"]
    assert [row["width"] for row in regions["rows"]] == [8, 12]
    for row in regions["rows"]:  # both counters, one exact count
        assert sorted(row["regions"]) == ["geokeras", "geokeras_tf"]
        assert len(set(row["regions"].values())) == 1, row["regions"]
    assert regions["identical_counts"] is True

    text = (tmp_path / "bench_gpu.md").read_text()
    assert text.startswith("# geokeras GPU benchmark (smoke")
    assert text.count("\n## ") == 3
    assert "| smoke | MLP AE 3-256-256-256-2 mirrored | 512 |" in text
    assert "| N=256, d=4 |" in text


def test_a_failed_part_is_a_row_and_its_command(bench_gpu):
    report = {
        "smoke": False,
        "date": "2026-01-01 00:00 UTC",
        "devices": ["GPU 0"],
        "commit": "abc1234",
        "python": "3.11",
        "tensorflow": "2.21",
        "load_average": "0.0",
        "parts": {"training": [{"part": "training", "case": "batch 256", "command": "python x", "error": "exit 1"}]},
    }
    text = bench_gpu.markdown(report)
    assert "| batch 256 | failed: exit 1 | | | | |" in text
    assert "    python x" in text


def test_unknown_part_is_refused(bench_gpu):
    with pytest.raises(ValueError, match="Expected a part among"):
        bench_gpu.part_commands("lasers", smoke=True)
    with pytest.raises(SystemExit) as raised:
        bench_gpu.main(["--parts", "training,lasers"])
    assert raised.value.code == 2


def test_full_run_without_a_gpu_writes_nothing(bench_gpu, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(bench_gpu, "environment", lambda smoke: {"gpu": False, "devices": ["/physical_device:CPU:0"]})
    assert bench_gpu.main(["--out", str(tmp_path / "out")]) == 3
    assert "sees no GPU" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
