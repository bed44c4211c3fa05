"""The learnability evaluator: sampled numbers with closed forms, exact verdicts of hand-built encoders."""

from __future__ import annotations

import math
from pathlib import Path

import keras
import numpy as np
import pytest

from geokeras.evaluate import learnability
from geokeras.evaluate.encoding_map import (
    ENCODED,
    NOT_ENCODED,
    PROVABLY_NOT_ENCODABLE,
    UNDECIDED,
    arc_length_distances,
    arc_length_points,
    distortion,
)
from geokeras.manifolds import make


def unit_circle_points(count: int) -> tuple[np.ndarray, np.ndarray]:
    angles = 2 * math.pi * np.arange(count) / count
    return np.stack([np.cos(angles), np.sin(angles)], axis=1), angles


def test_arc_length_points_on_a_square_are_equally_spaced():
    square = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    points, positions, length = arc_length_points(square, closed=True, count=8)
    assert length == 4.0
    np.testing.assert_allclose(positions, np.arange(8) * 0.5)
    np.testing.assert_allclose(points[:4], [[0, 0], [0.5, 0], [1, 0], [1, 0.5]])
    open_points, open_positions, open_length = arc_length_points(square, closed=False, count=4)
    assert open_length == 3.0
    np.testing.assert_allclose(open_points, square)
    distances = arc_length_distances(positions, length, closed=True)
    assert distances[0, 7] == 0.5 and distances[0, 4] == 2.0  # the short way round


def test_distortion_of_the_identity_on_a_circle_is_chord_over_arc():
    # e = chord / arc = sin(a / 2) / (a / 2): largest for neighbours (a = 2 pi / n), smallest
    # (2 / pi) for antipodal points, so max e / min e = (pi / 2) sin(pi / n) / (pi / n).
    count = 64
    points, angles = unit_circle_points(count)
    geodesic = arc_length_distances(angles, 2 * math.pi, closed=True)
    result = distortion(geodesic, points)
    expected = (math.pi / 2) * math.sin(math.pi / count) / (math.pi / count)
    assert result["bi_lipschitz"] == pytest.approx(expected, rel=1e-12)
    assert result["coincident_pairs"] == 0 and result["pairs"] == count * (count - 1) // 2
    assert result["expansion_quantiles"]["q00"] == pytest.approx(
        2
        / math.pi
        / np.median(
            np.sin(arc_length_distances(angles, 2 * math.pi, True)[np.triu_indices(count, 1)] / 2)
            / (arc_length_distances(angles, 2 * math.pi, True)[np.triu_indices(count, 1)] / 2)
        ),
        rel=1e-12,
    )


def test_distortion_of_an_injective_map_with_slopes_1_and_1_50_is_50():
    # An arc s in [0, 2] mapped by slope 1 on [0, 1] and 1/50 on [1, 2]: injective, e in [1/50, 1].
    s = np.linspace(0.0, 2.0, 201)
    codes = np.where(s <= 1.0, s, 1.0 + (s - 1.0) / 50)[:, None]
    geodesic = arc_length_distances(s, 2.0, closed=False)
    assert distortion(geodesic, codes)["bi_lipschitz"] == pytest.approx(50.0, rel=1e-9)


def test_shared_codes_have_no_finite_distortion():
    s = np.arange(9) / 8  # dyadic, so |s - 1/2| is exact
    codes = np.abs(s - 0.5)[:, None]  # a fold: s and 1 - s share a code
    result = distortion(arc_length_distances(s, 1.0, closed=False), codes)
    assert result["bi_lipschitz"] is None and result["coincident_pairs"] == 4


# ----------------------------------------------------------------------------- hand-built encoders
def relu_chain(*layers: tuple, input_dim: int = 2) -> keras.Model:
    """A Dense chain with exactly these float32 weights: ReLU on every layer but the last."""
    inputs = keras.Input(shape=(input_dim,))
    outputs, dense_layers = inputs, []
    for index, (kernel, _) in enumerate(layers):
        dense = keras.layers.Dense(np.shape(kernel)[1], activation="relu" if index < len(layers) - 1 else None)
        outputs = dense(outputs)
        dense_layers.append(dense)
    model = keras.Model(inputs, outputs)
    for dense, (kernel, bias) in zip(dense_layers, layers):
        dense.set_weights([np.asarray(kernel, "float32"), np.asarray(bias, "float32")])
    return model


def fold_map(fold_width: float, direction=(0.0, 1.0), offset: float = 0.0, latent_dim: int = 2) -> keras.Model:
    """x -> (u·x, g(v·x - m)) (or g alone into R^1), u ⊥ v, g(s) = s + 2 min(relu(-s), relu(s + ε)).

    g is the identity outside [-ε, 0] and -s on [-ε/2, 0]: the stretch [-ε/2, 0] folds onto
    [0, ε/2], whatever ε > 0. Layer 1: relu(±u·x), relu(±s), relu(s + ε); layer 2 passes them on
    and adds relu(relu(-s) - relu(s + ε)); out: u·x = r1 - r2, g(s) = r3 + r4 - 2 r6.
    """
    v = np.asarray(direction, dtype=np.float64)
    u = np.array([v[1], -v[0]])
    first = np.stack([u, -u, v, -v, v], axis=1), np.array([0, 0, -offset, offset, fold_width - offset])
    second = np.concatenate([np.eye(5), np.array([[0, 0, 0, 1, -1]]).T], axis=1), np.zeros(6)
    out = np.array([[1, -1, 0, 0, 0, 0], [0, 0, 1, 1, 0, -2]], dtype=np.float64).T[:, 2 - latent_dim :]
    return relu_chain(first, second, (out, np.zeros(latent_dim)))


def monotone_map(direction, offset: float, slope_after: float) -> keras.Model:
    """x -> s - (1 - slope_after) relu(s - m), s = v·x: strictly increasing in s, slopes 1 then slope_after."""
    v = np.asarray(direction, dtype=np.float64)
    first = np.stack([v, -v, v], axis=1), np.array([0.0, 0.0, -offset])
    return relu_chain(first, (np.array([[1.0], [-1.0], [-(1.0 - slope_after)]]), np.zeros(1)))


def linear_decoder(latent_dim: int, ambient_dim: int = 2) -> keras.Model:
    return relu_chain((np.eye(latent_dim, ambient_dim), np.zeros(ambient_dim)), input_dim=latent_dim)


def learnability_of(manifold, encoder, **params) -> dict:
    decoder = linear_decoder(encoder.output_shape[-1], encoder.input_shape[-1])
    return learnability(manifold, encoder, decoder, **{"points": 120, **params})


# The first fifth of a turn of the spiral (a + b θ) e^{iθ}, θ in (0, 0.4 π]: its tangent turns
# from 68 to 147 degrees, so s = v·x with v at 107.5 degrees is strictly increasing along it
# (v·tangent >= cos 39.5 degrees), and along its polyline (chords average the tangents).
ARC = {"type": "archimedean_spiral", "a": 0.5, "b": 0.2, "turns": 0.2}
ARC_DIRECTION = (math.cos(math.radians(107.5)), math.sin(math.radians(107.5)))


def arc_midpoint_height() -> float:
    vertices, _ = make(ARC).polyline(64)
    heights = vertices @ np.asarray(ARC_DIRECTION)
    return float(np.float32((heights.min() + heights.max()) / 2))


# ----------------------------------------------------------------------------- curves
def test_identity_encodes_the_circle_in_the_plane():
    section = learnability_of({"type": "circle"}, fold_map(0.0))
    assert section["verdict"] == ENCODED, section
    assert section["failed"] == [] and section["latent_dim"] == 2
    sampled = section["sampled"]
    assert sampled["geodesics"] == "arc_length" and sampled["points"] == 120
    assert sampled["relative_reconstruction_error"] < 1e-6
    # 120 points on the 120-gon: chord over polygon arc is 1 for neighbours, 1 / (60 sin(π/120)) opposite.
    assert sampled["distortion"]["bi_lipschitz"] == pytest.approx(60 * math.sin(math.pi / 120), rel=1e-6)
    assert section["certificate"]["status"] == "not_excluded"


@pytest.mark.parametrize("share", [0.1, 0.01, 1e-4, 1e-6])
def test_planted_folds_of_every_size_on_the_circle_are_never_encoded(share):
    # ε = share x 2π: a stretch of the circle's length share x 2π / 2 at (1, 0) and at (-1, 0)
    # folds onto its neighbour.
    section = learnability_of({"type": "circle"}, fold_map(2 * math.pi * share))
    assert section["verdict"] == NOT_ENCODED, section
    assert section["failed"] and section["injectivity"]


@pytest.mark.parametrize("share", [0.1, 0.01, 1e-4, 1e-6])
def test_planted_folds_of_every_size_on_an_arc_into_the_line_are_never_encoded(share):
    length = make(ARC).length
    encoder = fold_map(share * length, ARC_DIRECTION, arc_midpoint_height(), latent_dim=1)
    section = learnability_of(ARC, encoder)
    assert section["verdict"] == NOT_ENCODED, section
    assert section["failed"]


@pytest.mark.parametrize("slope_after", [1.0, 0.02, 1e-4])
def test_strictly_monotone_encoders_encode_the_arc_whatever_their_slopes(slope_after):
    section = learnability_of(ARC, monotone_map(ARC_DIRECTION, arc_midpoint_height(), slope_after))
    assert section["verdict"] == ENCODED, section
    assert section["failed"] == []
    if slope_after < 1:  # uneven but injective: a large distortion, reported, deciding nothing
        assert section["sampled"]["distortion"]["bi_lipschitz"] > 0.5 / slope_after


def test_a_circle_is_provably_never_encoded_in_the_line():
    section = learnability_of({"type": "circle"}, fold_map(0.0, latent_dim=1))
    assert section["verdict"] == PROVABLY_NOT_ENCODABLE
    assert section["holds_for"] == "manifold"
    assert "invariance of domain" in section["certificate"]["obstruction"]["reason"]


# ----------------------------------------------------------------------------- surfaces
def test_identity_encodes_the_disk_and_a_fold_does_not():
    encoded = learnability_of({"type": "disk"}, fold_map(0.0), mesh_resolution=8)
    assert encoded["verdict"] == ENCODED, encoded
    folded = learnability_of({"type": "disk"}, fold_map(0.01), mesh_resolution=8)
    assert folded["verdict"] == NOT_ENCODED, folded


def test_a_sphere_is_provably_never_encoded_in_the_plane():
    sphere = {"type": "sphere", "dim": 2}
    encoder = relu_chain((np.eye(3, 2), np.zeros(2)), input_dim=3)
    section = learnability(sphere, encoder, points=60, mesh_resolution=6)
    assert section["verdict"] == PROVABLY_NOT_ENCODABLE and section["holds_for"] == "manifold"


def test_a_manifold_without_polyline_or_mesh_is_undecided_with_a_reason():
    section = learnability_of({"type": "gaussian_mixture"}, fold_map(0.0), points=60)
    assert section["verdict"] == UNDECIDED and section["holds_for"] is None
    assert "neither a polyline nor a mesh" in section["reason"]
    assert section["sampled"]["relative_reconstruction_error"] < 1e-6


def test_unknown_parameters_are_refused_by_name():
    with pytest.raises(ValueError, match="fold_ratio"):
        learnability({"type": "circle"}, fold_map(0.0), fold_ratio=0.05)


# ----------------------------------------------------------------------------- a trained run
def test_a_trained_autoencoder_in_the_plane_and_in_the_line(tmp_path):
    # The shipped circle spec (2-32-32 encoder, embedded isometrically in R^3), trained
    # deterministically. Into R^1 no encoding map exists (invariance of domain), whatever the
    # training: provably_not_encodable. Into R^2 the exact decision is made on the polyline.
    import geokeras

    spec = Path(__file__).resolve().parents[2] / "specs" / "manifolds" / "circle.yaml"
    verdicts = {}
    for latent_dim in (2, 1):
        overrides = [
            f"model.latent_dim={latent_dim}",
            "manifold.samples=1024",
            "train.epochs=60",
            "train.verbose=0",
            "evaluate=[{type: learnability, points: 100}]",
            "report.figures=false",
        ]
        result = geokeras.run(spec, out_dir=tmp_path / f"latent{latent_dim}", overrides=overrides)
        verdicts[latent_dim] = result.metrics["learnability"]
    assert verdicts[2]["verdict"] in (ENCODED, NOT_ENCODED) and verdicts[2]["holds_for"]
    assert verdicts[1]["verdict"] == PROVABLY_NOT_ENCODABLE


def test_an_architecture_too_small_for_the_curve_is_provably_never_encoded():
    # Hilbert order 4 needs at least 5 regions (line separation); a 2-2-1 encoder has at most
    # 4 for every weight, so the verdict needs no training and holds for the curve itself.
    encoder = relu_chain((np.array([[1.0, 0.5], [0.25, 1.0]]), np.zeros(2)), (np.ones((2, 1)), np.zeros(1)))
    section = learnability({"type": "hilbert", "order": 4}, encoder, points=60)
    assert section["verdict"] == PROVABLY_NOT_ENCODABLE and section["holds_for"] == "manifold"
    # Zaslavsky: 1 + 2 + 1 = 4 regions; Montufar 2017, Serra 2018 and 2^2 agree; Lei 2018 (4 x 2 = 8) does not.
    assert section["certificate"]["excluded_by"] == ["zaslavsky", "montufar2017", "serra2018", "trivial"]
    assert "below 5" in section["reason"] and section["injectivity"] is None
