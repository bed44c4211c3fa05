"""specs/paper/surface.yaml and surface_closed.yaml: the paper's surface experiment.

Lei, Luo, Yau, Gu 2018 encode a genus-0 surface with boundary (a Buddha scan) into R^2 with the
ReLU autoencoder 3-768-384-192-96-48-2 (mirrored decoder, Adam 8e-5, batch 256, 400 epochs);
Theorem 4.12: a surface encoded into R^2 must be genus 0 with boundary. Every assertion here
is a known answer (the spec's settings, the mesh's topology, closed forms, and consequences of
invariance of domain and of Stokes' theorem), never a number a training run happens to reach.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import geokeras
from geokeras.complexity.bounds import lei2018_bound
from geokeras.complexity.surface_rlc import surface_rlc
from geokeras.manifolds import make

ROOT = Path(__file__).resolve().parents[2]
SURFACE = ROOT / "specs" / "paper" / "surface.yaml"
CLOSED = ROOT / "specs" / "paper" / "surface_closed.yaml"
PAPER_WIDTHS = [768, 384, 192, 96, 48]
TINY = ["train.epochs=1", "manifold.samples=256"]


@pytest.mark.parametrize("path", [SURFACE, CLOSED])
def test_specs_resolve_to_the_papers_network_and_training(path):
    assert path.read_text(encoding="utf-8").startswith(
        "# yaml-language-server: $schema=../../schema/geokeras.schema.json\n"
    )
    spec = geokeras.load_spec(path)
    assert spec.model.latent_dim == 2
    assert spec.model.encoder.type == "mlp" and spec.model.encoder.activation == "relu"
    assert list(spec.model.encoder.widths) == PAPER_WIDTHS
    assert spec.model.decoder.type == "mirror"
    assert spec.train.optimizer.type == "adam" and spec.train.optimizer.learning_rate == 8.0e-5
    assert spec.train.batch_size == 256 and spec.train.epochs == 400


def test_the_closed_counterpart_is_a_sphere_at_the_cups_scale():
    surface, closed = geokeras.load_spec(SURFACE), geokeras.load_spec(CLOSED)
    assert surface.manifold.type == "mesh" and surface.manifold.path == "specs/data/bumpy_cup.obj"
    assert surface.manifold.normalise  # bounding-box diagonal 1
    assert closed.manifold.type == "sphere" and closed.manifold.dim == 2
    # The sphere's bounding box [-r, r]^3 has diagonal 2 r sqrt(3) = 1, the normalised cup's.
    assert 2 * closed.manifold.radius * math.sqrt(3) == pytest.approx(1.0, rel=1e-12)
    assert closed.manifold.samples == surface.manifold.samples
    assert closed.evaluate == surface.evaluate and closed.seed == surface.seed


def test_the_architecture_bound_is_theorem_4_5_as_printed():
    # N(N) <= prod_i sum_{j=0}^{w_(i-1)} C(w_i, j) over all six affine layers: ~1.7e225.
    widths = [3, *PAPER_WIDTHS, 2]
    product = 1
    for previous, width in zip(widths[:-1], widths[1:]):
        product *= sum(math.comb(width, j) for j in range(previous + 1))
    assert lei2018_bound(widths) == product
    assert math.log10(product) == pytest.approx(math.log10(1.7e225), abs=0.02)


def test_the_cup_is_a_disk_and_the_sphere_is_closed():
    cup = make({"type": "mesh", "path": str(ROOT / "specs" / "data" / "bumpy_cup.obj")})
    topology = cup.topology
    assert topology.vertices - topology.edges + topology.faces == topology.euler_characteristic == 1
    assert topology.genus == 0 and topology.boundary_loops == 1 and topology.components == 1
    assert topology.orientable and cup.intrinsic_dim == 2 and cup.ambient_dim == 3
    # chi = 2 - 2g - b: genus 0 with one boundary circle, the surfaces Theorem 4.12 allows in R^2.
    assert 2 - 2 * topology.genus - topology.boundary_loops == 1
    sphere = make(geokeras.load_spec(CLOSED).manifold.model_dump())
    assert sphere.boundary_components == 0 and sphere.euler_characteristic == 2


def test_neither_surface_is_one_linear_chart():
    # The cup p = r (sin t cos f, sin t sin f, -1.3 cos t), t <= 0.58 pi > pi / 2, reaches past
    # its equator, so for every direction v one of +-v is a normal: the Gauss map covers RP^2
    # and no affine map is a chart (Lemma 4.13): N(R^3, cup) >= 2, as for the closed sphere.
    cup = make({"type": "mesh", "path": str(ROOT / "specs" / "data" / "bumpy_cup.obj")})
    cup_rlc = surface_rlc(*cup.mesh())
    assert cup_rlc["lower"] == 2 and cup_rlc["gauss_map_covers"] and not cup_rlc["closed"]
    sphere = make(geokeras.load_spec(CLOSED).manifold.model_dump())
    sphere_rlc = surface_rlc(*sphere.mesh(12))
    assert sphere_rlc["lower"] == 2 and sphere_rlc["closed"]


def test_a_tiny_run_on_the_sphere_is_provably_never_encoded(tmp_path):
    overrides = [*TINY, "evaluate=[{type: learnability, points: 100, mesh_resolution: 12}]"]
    result = geokeras.run(CLOSED, out_dir=tmp_path / "closed", overrides=overrides)
    learnability = result.metrics["learnability"]
    # Invariance of domain: a closed 2-manifold has no injective continuous map into R^2,
    # whatever the weights: decided for the sphere itself, before any mesh is cut.
    assert learnability["verdict"] == "provably_not_encodable" and learnability["holds_for"] == "manifold"
    obstruction = learnability["certificate"]["obstruction"]
    assert "closed 2-manifold" in obstruction["reason"] and "invariance of domain" in obstruction["reason"]
    assert learnability["injectivity"] is None  # nothing left to decide on the mesh


def test_a_tiny_run_on_the_cup_has_no_obstruction(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)  # the spec's mesh path is relative to the repository root
    overrides = [*TINY, "evaluate=[rlc_bounds, {type: learnability, points: 100, max_regions: 2000}, manifold_rlc]"]
    result = geokeras.run(SURFACE, out_dir=tmp_path / "surface", overrides=overrides)
    metrics = result.metrics
    assert metrics["rlc_bounds"]["widths"] == [3, *PAPER_WIDTHS, 2]
    assert metrics["rlc_bounds"]["lei2018"] == lei2018_bound([3, *PAPER_WIDTHS, 2])
    # A disk embeds in R^2: nothing topological forbids a chart, whatever the training reached.
    learnability = metrics["learnability"]
    assert learnability["certificate"]["obstruction"] is None
    assert learnability["certificate"]["status"] == "not_excluded"
    # The full-width encoder cuts the 4536-triangle cup into far more than 2000 pieces: the
    # exact decision stops at the budget and says so.
    assert learnability["verdict"] == "undecided" and "max_regions" in learnability["reason"]
    assert metrics["manifold_rlc"]["lower"] == 2 and metrics["manifold_rlc"]["triangles"] == 4536
    assert metrics["manifold_rlc"]["certificate"]["status"] == "not_excluded"
