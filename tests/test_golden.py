"""Golden results: refactors must not move a metric, a run hash or a seed.

Each case runs a shipped spec with small sizes (overrides) and compares its metrics.json,
minus the wall-time fields, with ``tests/golden/<case>.json``: ints, strings and bools
exactly, floats to a relative 1e-9. ``tests/golden/spec_hashes.json`` pins the content hash
of every spec under ``specs/``. Both are written by ``scripts/update_golden.py``; rerun it
only for a change that is meant to move results, and say so in the commit.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

import geokeras  # noqa: E402
from geokeras.registry import EVALUATORS  # noqa: E402
from geokeras.report.compare import without_timings  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).resolve().parent / "golden"
SPEC_HASHES = GOLDEN / "spec_hashes.json"
FLOAT_RTOL = 1e-9

_SMALL_CURVE = ["manifold.samples=256", "train.epochs=2", "report.figures=false"]
_SMALL_AEOT = [
    "manifold.samples=128",
    "train.epochs=2",
    "latent_ot.generate.samples=128",
    "report.dpi=30",
    "report.max_points=100",
]

CASES: dict[str, tuple[str, list[str]]] = {
    # name: (spec under specs/, overrides)
    "quickstart": ("quickstart.yaml", ["manifold.samples=256", "train.epochs=2", "report.dpi=30"]),
    "curve_evaluators": (
        "quickstart.yaml",
        [
            *_SMALL_CURVE,
            "evaluate=[{type: reconstruction, samples: 128}, {type: manifold_stats, samples: 128},"
            " {type: learnability, points: 64, resolution: 256}, {type: denoising, samples: 128, resolution: 256},"
            " rlc_bounds, {type: rlc_on_manifold, resolution: 256, samples: 256}, {type: manifold_rlc, "
            "resolution: 256}]",
        ],
    ),
    "aeot_newton": (
        "ot/aeot_gaussians.yaml",
        [
            *_SMALL_AEOT,
            "latent_ot.max_codes=64",
            "evaluate=[{type: ot_quality, samples: 4096}, {type: generation, samples: 128, projections: 16, modes: 8}]",
        ],
    ),
    "aeot_monte_carlo": (
        "ot/aeot_gaussians.yaml",
        [
            *_SMALL_AEOT,
            "latent_ot.solver={type: monte_carlo_adam, tol: 0.1, max_steps: 30, samples: 1024}",
            "evaluate=[{type: ot_quality, samples: 4096}, {type: generation, samples: 128, projections: 16}]",
            "report.figures=false",
        ],
    ),
}
"""Every registered evaluator appears in some case (``test_every_evaluator_is_pinned``)."""


def run_case(name: str, out_dir: Path) -> dict[str, Any]:
    """metrics.json of case ``name`` (run into ``out_dir``) minus its wall-time fields."""
    spec, overrides = CASES[name]
    result = geokeras.run(ROOT / "specs" / spec, out_dir=out_dir, overrides=overrides)
    return without_timings(result.metrics)


def spec_hashes() -> dict[str, str]:
    """``{path under specs/: content hash}`` of every shipped spec."""
    return {
        path.relative_to(ROOT / "specs").as_posix(): geokeras.load_spec(path).content_hash
        for path in sorted((ROOT / "specs").rglob("*.yaml"))
    }


def mismatches(expected: Any, received: Any, where: str = "metrics") -> list[str]:
    """Where ``received`` differs from ``expected``: types and non-floats exactly, floats to FLOAT_RTOL."""
    if type(expected) is not type(received):
        return [f"{where}: expected {expected!r} ({type(expected).__name__}). Received: {received!r}."]
    if isinstance(expected, dict):
        if list(expected) != list(received):
            return [f"{where}: expected keys {list(expected)}. Received: {list(received)}."]
        return [line for key in expected for line in mismatches(expected[key], received[key], f"{where}.{key}")]
    if isinstance(expected, list):
        if len(expected) != len(received):
            return [f"{where}: expected {len(expected)} items. Received: {len(received)}."]
        return [line for i, pair in enumerate(zip(expected, received)) for line in mismatches(*pair, f"{where}[{i}]")]
    if isinstance(expected, float):
        same = expected == received or (math.isnan(expected) and math.isnan(received))
        if same or math.isclose(expected, received, rel_tol=FLOAT_RTOL, abs_tol=0.0):
            return []
    elif expected == received:
        return []
    return [f"{where}: expected {expected!r}. Received: {received!r}."]


@pytest.mark.parametrize("name", sorted(CASES))
def test_metrics_match_the_golden_file(name, tmp_path):
    expected = json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
    assert mismatches(expected, run_case(name, tmp_path / name)) == []


def test_every_evaluator_is_pinned():
    pinned = set()
    for name in CASES:
        pinned.update(json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8")))
    assert set(EVALUATORS.names()) <= pinned


def test_spec_hashes_match_the_golden_file():
    assert spec_hashes() == json.loads(SPEC_HASHES.read_text(encoding="utf-8"))


def test_mismatches_reports_types_keys_and_float_tolerance():
    assert mismatches({"a": 1.0, "b": [1, "x"]}, {"a": 1.0 + 1e-12, "b": [1, "x"]}) == []
    assert mismatches({"a": 1.0}, {"a": 1.0 + 1e-6}) == ["metrics.a: expected 1.0. Received: 1.000001."]
    assert mismatches({"a": 1}, {"a": 1.0}) == ["metrics.a: expected 1 (int). Received: 1.0."]
    assert mismatches({"a": True}, {"b": True}) == ["metrics: expected keys ['a']. Received: ['b']."]
