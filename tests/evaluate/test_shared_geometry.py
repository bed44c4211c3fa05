"""One manifold RLC per run: learnability and manifold_rlc share the context's exact geometry and count."""

from __future__ import annotations

import importlib

import keras
import numpy as np

from geokeras.evaluate import EvaluationContext, run_evaluators
from geokeras.manifolds import make
from geokeras.manifolds.curves import Circle

manifold_rlc_module = importlib.import_module("geokeras.complexity.manifold_rlc")  # the package shadows its name
SHARED_KEYS = (
    "status",
    "regions_lower",
    "architecture_bound",
    "bound_name",
    "manifold_rlc_lower",
    "regions_lower_method",
)


def identity_encoder() -> keras.Model:
    """x -> relu(x) - relu(-x) = x on R^2, a two-layer affine + ReLU chain."""
    inputs = keras.Input(shape=(2,))
    hidden = keras.layers.Dense(4, activation="relu")
    out = keras.layers.Dense(2)
    model = keras.Model(inputs, out(hidden(inputs)))
    hidden.set_weights([np.array([[1, -1, 0, 0], [0, 0, 1, -1]], "float32"), np.zeros(4, "float32")])
    out.set_weights([np.array([[1, 0], [-1, 0], [0, 1], [0, -1]], "float32"), np.zeros(2, "float32")])
    return model


def evaluate(specs: list, encoder: keras.Model) -> dict:
    context = EvaluationContext(
        manifold=make({"type": "circle"}),
        encoder=encoder,
        decoder=None,
        autoencoder=None,
        x_train=np.zeros((0, 2)),
        seed=0,
    )
    return run_evaluators(specs, context)


def test_learnability_and_manifold_rlc_compute_the_manifold_rlc_once(monkeypatch):
    encoder = identity_encoder()
    alone = {
        **evaluate([{"type": "learnability", "points": 60, "resolution": 64}], encoder),
        **evaluate(["manifold_rlc"], encoder),
    }

    counts = {"curve_rlc": 0, "polyline_1024": 0}
    curve_rlc, polyline = manifold_rlc_module.curve_rlc, Circle.polyline

    def counted_curve_rlc(*args, **kwargs):
        counts["curve_rlc"] += 1
        return curve_rlc(*args, **kwargs)

    def counted_polyline(self, resolution):
        counts["polyline_1024"] += resolution == 1024  # the default resolution of the manifold's RLC
        return polyline(self, resolution)

    monkeypatch.setattr(manifold_rlc_module, "curve_rlc", counted_curve_rlc)
    monkeypatch.setattr(Circle, "polyline", counted_polyline)
    both = evaluate([{"type": "learnability", "points": 60, "resolution": 64}, "manifold_rlc"], encoder)

    assert counts == {"curve_rlc": 1, "polyline_1024": 1}
    assert both == alone  # sharing moves no number
    learned, counted = both["learnability"]["certificate"], both["manifold_rlc"]["certificate"]
    assert {key: learned[key] for key in SHARED_KEYS} == {key: counted[key] for key in SHARED_KEYS}
    # A circle into R^2: not linear rectifiable (2 pieces); with latent_dim 2 > 1 nothing bounds the
    # regions of an encoding map from below (1), so a 2-4-2 encoder is not excluded.
    assert both["manifold_rlc"]["pieces"] == learned["manifold_rlc_lower"] == 2
    assert learned["regions_lower"] == 1 and learned["status"] == "not_excluded"


def test_the_context_remembers_each_geometry_once_per_resolved_resolution():
    context = EvaluationContext(
        manifold=make({"type": "circle"}),
        encoder=None,
        decoder=None,
        autoencoder=None,
        x_train=np.zeros((0, 2)),
        seed=0,
    )
    default = context.exact_geometry()
    assert default is context.exact_geometry(1024, 7)  # a curve: the mesh resolution plays no part
    assert default.resolution == 1024 and context.exact_geometry(64).vertices.shape == (64, 2)
