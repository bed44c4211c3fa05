"""The learnability evaluator: sampled numbers with closed forms, exact verdicts of hand-built encoders."""

from __future__ import annotations

import math
from pathlib import Path

import keras
import numpy as np
import pytest

from geokeras.evaluate import EvaluationContext
from geokeras.evaluate.encoding_map import (
    ENCODED,
    NOT_ENCODED,
    PROVABLY_NOT_ENCODABLE,
    arc_length_distances,
    arc_length_points,
    distortion,
    evaluate_learnability,
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
    assert result["expansion_quantiles"]["q00"] == pytest.approx(2 / math.pi / np.median(
        np.sin(arc_length_distances(angles, 2 * math.pi, True)[np.triu_indices(count, 1)] / 2)
        / (arc_length_distances(angles, 2 * math.pi, True)[np.triu_indices(count, 1)] / 2)), rel=1e-12)


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
