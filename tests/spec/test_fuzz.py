"""A seeded mutation fuzzer over every shipped spec: each load ends in a Spec or a located SpecError.

The fuzzer itself is ``scripts/fuzz_specs.py`` (run it for thousands of mutants); this test runs
a few hundred within a time bound per mutant (a hang detector), a tracemalloc bound per mutant,
and a planted secret that no ``extends`` error may quote.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from geokeras.spec import yaml_source

ROOT = Path(__file__).resolve().parents[2]
MUTANTS = 400


@pytest.fixture(scope="module")
def fuzzer():
    spec = importlib.util.spec_from_file_location("fuzz_specs", ROOT / "scripts" / "fuzz_specs.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def test_every_mutant_loads_or_fails_with_a_located_error(fuzzer, monkeypatch):
    # A bomb stopped at the real cap of 100,000 values costs about a second under tracemalloc; a tenth
    # of it keeps this test fast (test_loader_limits times and measures a bomb at the real cap).
    monkeypatch.setattr(yaml_source, "MAX_NODES", 10_000)
    counts, failures = fuzzer.fuzz(MUTANTS, seed=20240601, seconds=5.0, megabytes=200.0)
    report = [
        f"mutant {mutant.index} ({mutant.origin}; {', '.join(mutant.mutations)}): {outcome.kind}: "
        f"{outcome.detail[:500]}"
        for mutant, outcome in failures
    ]
    assert report == []
    assert counts["spec"] + counts["error"] == MUTANTS
    assert counts["spec"] > 0 and counts["error"] > 0
    assert all(counts[f"mutation {name}"] >= 3 for name in fuzzer.MUTATIONS)  # every mutation was exercised
    assert counts["peak_mb"] < 200
    assert counts["slowest_ms"] < 5000


def test_the_fuzzer_reports_what_it_is_there_to_find(fuzzer, monkeypatch, tmp_path):
    """Let ``!!binary`` through and its bytes crash the hash: the fuzzer reports a crash."""
    tree, _ = fuzzer.spec_tree(tmp_path)
    origin = Path("specs/quickstart.yaml")
    overrides = [
        "model.encoder={type: keras_layers, layers: [{class_name: Dense, config: {units: 8}}]}",
        "model.decoder={type: mlp, widths: [8]}",
        "model.encoder.layers.0.config.units=!!binary gICA",
    ]
    mutant = fuzzer.Mutant(0, origin, (ROOT / origin).read_bytes(), overrides)
    outcome = fuzzer.load_mutant(mutant, tree, 5.0, 200.0)
    assert (outcome.kind, outcome.detail) == (
        "error",
        "<command line> 'model.encoder.layers.0.config.units=!!binary gICA': "
        "model.encoder.layers[0].config.units: the value of this override is not valid at line 1, column 1: "
        "malformed YAML: unsupported tag 'tag:yaml.org,2002:binary'; a spec holds plain mappings, lists and "
        "strings, numbers, booleans and null only.",
    )
    monkeypatch.setitem(yaml_source._SCALAR_TAGS, "tag:yaml.org,2002:binary", "binary data")
    outcome = fuzzer.load_mutant(mutant, tree, 5.0, 200.0)
    assert outcome.kind == "crash" and "invalid utf-8" in outcome.detail.lower()


def test_mutants_are_reproducible(fuzzer):
    originals = sorted(path.relative_to(ROOT) for path in (ROOT / "specs").rglob("*.yaml"))
    texts = [(ROOT / path).read_bytes() for path in originals]
    first = fuzzer.make_mutant(17, 5, originals, texts)
    again = fuzzer.make_mutant(17, 5, originals, texts)
    assert (first.origin, first.data, first.overrides, first.mutations) == (
        again.origin,
        again.data,
        again.overrides,
        again.mutations,
    )
    assert first.data != fuzzer.make_mutant(18, 5, originals, texts).data
