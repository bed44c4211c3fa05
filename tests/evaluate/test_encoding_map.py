"""The learnability evaluator: closed forms of its criteria, planted folds, the verdicts."""

from __future__ import annotations

import math
from pathlib import Path

import keras
import numpy as np
import pytest

from geokeras.evaluate import EvaluationContext
from geokeras.evaluate.learnability import (
    ENCODED,
    NOT_ENCODED,
    arc_length_distances,
    arc_length_points,
    curve_turns,
    evaluate_learnability,
    fold_statistics,
    folded_triangle_share,
    topological_obstruction,
    turning_points,
)
from geokeras.evaluate.params import LearnabilityParams
from geokeras.manifolds import make
from geokeras.report.params import ReportSpec


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


def test_identity_on_the_circle_has_worst_ratio_one():
    # ratio = (chord / 2) / (angle / pi) = pi sin(angle / 2) / angle, smallest (= 1) at angle pi.
    points, angles = unit_circle_points(64)
    geodesic = arc_length_distances(angles, 2 * math.pi, closed=True)
    folds = fold_statistics(geodesic, points, far_fraction=0.25, fold_ratio=0.05)
    assert folds["worst_ratio"] == pytest.approx(1.0, abs=1e-12)
    assert folds["fold_share"] == 0.0 and folds["fold_pairs"] == 0


def test_a_planted_fold_is_found():
    # (x, y) -> (|x|, y) maps the left half onto the right half: point k meets its mirror image.
    points, angles = unit_circle_points(64)
    geodesic = arc_length_distances(angles, 2 * math.pi, closed=True)
    folded = np.stack([np.abs(points[:, 0]), points[:, 1]], axis=1)
    folds = fold_statistics(geodesic, folded, far_fraction=0.25, fold_ratio=0.05)
    assert folds["worst_ratio"] == pytest.approx(0.0, abs=1e-12)
    # Mirror pairs (k, 32 - k) are at least a quarter of the circle apart for |16 - k| >= 4.
    assert folds["fold_pairs"] >= 24 and folds["fold_share"] >= 0.75


@pytest.mark.parametrize(
    "codes, closed, expected",
    [
        ([0, 1, 2, 3], False, 0),
        ([0, 1, 1, 1, 2], False, 0),  # flat steps are not turns
        ([0, 1, 2, 1, 0], False, 1),
        ([0, 2, 1, 3], False, 2),
        (np.sin(2 * math.pi * np.arange(50) / 50), True, 2),
        ([0, 1, 2, 3], True, 2),  # up, then the closing step down
    ],
)
def test_turning_points(codes, closed, expected):
    assert turning_points(np.asarray(codes, dtype=float), closed) == expected


def tent_with_end_fold() -> tuple[np.ndarray, np.ndarray]:
    """Codes c(s) = min(s, 1.8 - s) on s = 0, 0.01, ..., 1: up to 0.9 at s = 0.9, back to 0.8."""
    positions = np.linspace(0.0, 1.0, 101)
    return np.minimum(positions, 1.8 - positions), positions


def test_curve_turns_measure_the_fold_of_a_planted_turn():
    # The fold maps [0.8, 0.9] and [0.9, 1.0] onto the same codes [0.8, 0.9]: amplitude 0.1,
    # largest fibre {0.8, 1.0}, extent 0.2.
    codes, positions = tent_with_end_fold()
    (turn,) = curve_turns(codes, closed=False, positions=positions)
    assert turn["index"] == 90
    assert turn["amplitude"] == pytest.approx(0.1, abs=1e-9)
    assert turn["extent"] == pytest.approx(0.2, abs=1e-9)
    # The geodesic diameter is 1: the fold counts at tolerance 0.19 and not at 0.25.
    assert turning_points(codes, False, positions, tolerance=0.19) == 1
    assert turning_points(codes, False, positions, tolerance=0.25) == 0
    assert turning_points(codes, False, positions) == 1  # tolerance 0: every turn


def test_a_slow_reversal_is_a_turn_and_float_noise_is_not():
    # Steps of 5e-6 x range each, below the flat step, add up to a reversal of 1e-2.
    slow = np.concatenate([np.linspace(0.0, 1.0, 1000), np.linspace(1.0, 0.99, 2001)[1:]])
    assert turning_points(slow, closed=False) == 1
    noisy = np.linspace(0.0, 1.0, 1000) + 1e-8 * np.random.default_rng(0).standard_normal(1000)
    assert turning_points(noisy, closed=False) == 0


def test_the_folds_of_a_circle_projected_on_a_line_span_its_diameter():
    # x = cos(angle): the maximum and the minimum each identify antipodal points (Borsuk-Ulam),
    # fibres of diameter pi = the circle's geodesic diameter, so any tolerance < 1 counts both.
    points, angles = unit_circle_points(64)
    turns = curve_turns(points[:, 0], closed=True, positions=angles, length=2 * math.pi)
    assert sorted(turn["index"] for turn in turns) == [0, 32]
    assert all(turn["extent"] == pytest.approx(math.pi) for turn in turns)
    assert turning_points(points[:, 0], True, angles, 2 * math.pi, tolerance=0.99) == 2


def test_folded_triangle_share_of_a_flipped_half():
    # Four triangles of equal area around the origin; mirroring x -> -x on the left half
    # flips the orientation of the two left triangles (half the area).
    vertices = np.array([[0, 0], [1, 0], [0, 1], [-1, 0], [0, -1]], dtype=float)
    faces = np.array([[0, 1, 2], [0, 2, 3], [0, 3, 4], [0, 4, 1]])
    assert folded_triangle_share(vertices, faces) == 0.0
    assert folded_triangle_share(vertices * [-1, 1], faces) == 0.0  # a reflection of all is fine
    assert folded_triangle_share(np.abs(vertices) * [1, 1], faces) == 0.5
    assert folded_triangle_share(np.zeros_like(vertices), faces) == 1.0


@pytest.mark.parametrize(
    "intrinsic, latent, closed, expected",
    [
        (1, 1, True, "closed 1-manifold"),
        (1, 2, True, None),
        (1, 1, False, None),
        (2, 2, True, "closed 2-manifold"),
        (2, 1, False, "latent_dim 1 < intrinsic dimension 2"),
        (None, 2, None, None),
    ],
)
def test_topological_obstruction(intrinsic, latent, closed, expected):
    reason = topological_obstruction(intrinsic, latent, closed)
    assert reason is None if expected is None else expected in reason


# ----------------------------------------------------------------------------- end to end
def relu_encoder(folded: bool, latent_dim: int = 2) -> keras.Model:
    """(x, y) -> (x, y), or (|x|, y) when folded, or x alone for latent_dim 1: exact ReLU nets."""
    inputs = keras.Input(shape=(2,))
    hidden = keras.layers.Dense(4, activation="relu")
    out = keras.layers.Dense(latent_dim)
    codes = out(hidden(inputs))
    # relu(x), relu(-x), relu(y), relu(-y)
    hidden.set_weights([np.array([[1, -1, 0, 0], [0, 0, 1, -1]], dtype="float32"), np.zeros(4, "float32")])
    first = [1, 1, 0, 0] if folded else [1, -1, 0, 0]
    columns = [first, [0, 0, 1, -1]][:latent_dim]
    out.set_weights([np.array(columns, dtype="float32").T, np.zeros(latent_dim, "float32")])
    return keras.Model(inputs, codes)


def linear_decoder(latent_dim: int) -> keras.Model:
    inputs = keras.Input(shape=(latent_dim,))
    layer = keras.layers.Dense(2)
    model = keras.Model(inputs, layer(inputs))
    layer.set_weights([np.eye(latent_dim, 2, dtype="float32"), np.zeros(2, "float32")])
    return model


def evaluate_on_circle(encoder: keras.Model, latent_dim: int) -> dict:
    decoder = linear_decoder(latent_dim)
    inputs = keras.Input(shape=(2,))
    autoencoder = keras.Model(inputs, decoder(encoder(inputs)))
    circle = make({"type": "circle"})
    context = EvaluationContext(
        manifold=circle, encoder=encoder, decoder=decoder, autoencoder=autoencoder,
        x_train=circle.sample(64, 0), seed=0, report=ReportSpec(figures=False),
    )
    return evaluate_learnability(LearnabilityParams(points=200), context)


def test_identity_encoder_encodes_the_circle_in_the_plane():
    metrics = evaluate_on_circle(relu_encoder(folded=False), latent_dim=2)
    assert metrics["verdict"] == ENCODED, metrics["failed"]
    assert metrics["geodesics"] == "arc_length" and metrics["points"] == 200
    assert metrics["worst_ratio"] == pytest.approx(1.0, abs=1e-3)
    assert metrics["relative_reconstruction_error"] < 1e-6
    assert metrics["trustworthiness"] > 0.99 and metrics["continuity"] > 0.99
    assert metrics["certificate"]["status"] == "not_excluded"


def test_planted_fold_is_not_encoded():
    metrics = evaluate_on_circle(relu_encoder(folded=True), latent_dim=2)
    assert metrics["verdict"] == NOT_ENCODED
    assert "injectivity" in metrics["failed"] and metrics["worst_ratio"] < 1e-3
    assert metrics["topological_obstruction"] is None


def test_a_circle_is_never_encoded_in_the_line():
    metrics = evaluate_on_circle(relu_encoder(folded=False, latent_dim=1), latent_dim=1)
    assert metrics["verdict"] == NOT_ENCODED
    assert "topological_obstruction" in metrics["failed"] and "closed 1-manifold" in metrics["topological_obstruction"]
    assert metrics["turning_points"] >= 2 and "turning_points" in metrics["failed"]
    # x on the circle folds it at its two extremes, each fold as wide as the circle's diameter.
    assert metrics["largest_fold"] == pytest.approx(1.0, abs=0.02)
    assert metrics["turn_tolerance"] == 0.01 and metrics["turns_below_tolerance"] == 0


def test_a_trained_autoencoder_encodes_the_circle_in_the_plane_and_never_in_the_line(tmp_path):
    # The shipped circle spec (2-32-32 encoder, embedded isometrically in R^3), trained
    # deterministically: into R^2 an encoding map exists and enough width finds one; into R^1
    # none exists (invariance of domain), whatever the training.
    import geokeras

    spec = Path(__file__).resolve().parents[2] / "specs" / "manifolds" / "circle.yaml"
    verdicts = {}
    for latent_dim in (2, 1):
        overrides = [
            f"model.latent_dim={latent_dim}", "manifold.samples=1024", "train.epochs=60", "train.verbose=0",
            "evaluate=[{type: learnability, points: 200}]", "report.figures=false",
        ]
        result = geokeras.run(spec, out_dir=tmp_path / f"latent{latent_dim}", overrides=overrides)
        verdicts[latent_dim] = result.metrics["learnability"]
    assert verdicts[2]["verdict"] == ENCODED, verdicts[2]["failed"]
    assert verdicts[1]["verdict"] == NOT_ENCODED and "topological_obstruction" in verdicts[1]["failed"]
