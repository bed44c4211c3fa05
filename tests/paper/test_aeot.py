"""specs/paper/aeot.yaml: AE-OT on 25 Gaussians against the Gaussian-latent decoder (Lei et al. 2018, section 5)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import geokeras

SPEC = Path(__file__).resolve().parents[2] / "specs" / "paper" / "aeot.yaml"
TINY = [
    "train.epochs=2",
    "manifold.samples=300",
    "latent_ot.generate.samples=300",
    "evaluate.0.samples=200",
    "evaluate.1.samples=16384",
    "evaluate.2.samples=300",
]


def test_spec_transports_onto_every_code_of_25_modes_with_the_exact_solver():
    assert SPEC.read_text(encoding="utf-8").startswith(
        "# yaml-language-server: $schema=../../schema/geokeras.schema.json\n"
    )
    spec = geokeras.load_spec(SPEC)
    assert spec.manifold.type == "gaussian_mixture" and spec.manifold.layout == "grid"
    assert spec.manifold.grid_size**2 == 25 and spec.model.latent_dim == 2
    assert spec.latent_ot.max_codes is None and spec.latent_ot.solver.type == "newton"
    assert [item.type for item in spec.evaluate] == ["reconstruction", "ot_quality", "generation"]


def test_tiny_run_solves_ot_exactly_and_counts_modes_against_the_baseline(tmp_path):
    result = geokeras.run(SPEC, out_dir=tmp_path / "run", overrides=TINY)
    ot = result.metrics["ot"]
    # Newton on exact power cells: every one of the 300 codes gets mass 1/300 to the tolerance.
    assert ot["solver"] == "newton" and ot["targets"] == 300 and ot["converged"]
    assert ot["max_rel_mass_error"] <= 1e-6 and ot["empty_cells"] == 0
    generation = result.metrics["generation"]
    assert generation["modes"] == 25 and generation["baseline_modes"] == 25
    assert generation["generated"] == 300 and generation["held_out"] == 300
    for key in ("mode_coverage", "baseline_mode_coverage", "off_manifold_rate", "baseline_off_manifold_rate"):
        assert 0.0 <= generation[key] <= 1.0
    assert np.isclose(generation["mode_coverage"], generation["modes_covered"] / 25)
    assert (tmp_path / "run" / "figures" / "generation.png").is_file()
