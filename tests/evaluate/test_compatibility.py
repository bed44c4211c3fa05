"""Evaluators that cannot apply to the manifold are refused before training, at their keys."""

from __future__ import annotations

import pytest

from geokeras.errors import SpecError
from geokeras.evaluate.compatibility import check_evaluators
from geokeras.manifolds import make
from geokeras.spec import spec_from_mapping


def check(manifold: dict, evaluator: dict) -> None:
    spec = spec_from_mapping({"name": "c", "manifold": manifold, "model": {"latent_dim": 2}, "evaluate": [evaluator]})
    check_evaluators(spec.evaluate, make(spec.manifold))


MIXTURE = {"type": "gaussian_mixture", "samples": 64}
DESCRIBED = "manifold type 'gaussian_mixture' (intrinsic_dim=2)"


@pytest.mark.parametrize(
    "manifold, evaluator, path, message",
    [
        (
            MIXTURE,
            {"type": "rlc_on_manifold", "method": "exact"},
            (0, "method"),
            f"method: exact needs a manifold with exact geometry (a curve, surface or mesh); {DESCRIBED} has none: "
            f"neither a polyline nor a mesh. Expected method: sampled or auto (the sampled count, a lower bound). "
            f"Received: method=exact.",
        ),
        (
            MIXTURE,
            {"type": "rlc_on_manifold", "samples": 0},
            (0, "samples"),
            f"expected samples > 0: without an exact count on {DESCRIBED} the sampled count is the only one. "
            f"Received: samples=0.",
        ),
        (
            {"type": "sphere"},
            {"type": "manifold_rlc", "resolution": 4096},
            (0, "resolution"),
            "expected a mesh resolution of at most 2,048 on a surface (the mesh has 2 x resolution^2 triangles). "
            "Received: resolution=4096.",
        ),
        (
            MIXTURE,
            {"type": "denoising", "noise": {"std": 0.1, "direction": "normal"}},
            (0, "noise", "direction"),
            f"expected noise direction 'isotropic' for the denoising evaluator: {DESCRIBED} has no tangent space "
            f"for noise normal to it. Received: direction='normal'.",
        ),
    ],
)
def test_incompatible_evaluators_are_refused(manifold, evaluator, path, message):
    with pytest.raises(SpecError) as caught:
        check(manifold, evaluator)
    assert (caught.value.path, caught.value.message) == (path, message)


@pytest.mark.parametrize(
    "manifold, evaluator",
    [
        ({"type": "circle"}, {"type": "rlc_on_manifold", "method": "exact", "samples": 0}),
        ({"type": "sphere"}, {"type": "manifold_rlc", "resolution": 2048}),
        ({"type": "circle"}, {"type": "denoising", "noise": {"std": 0.1, "direction": "normal"}}),
        (MIXTURE, {"type": "rlc_on_manifold", "method": "sampled"}),
    ],
)
def test_compatible_evaluators_pass(manifold, evaluator):
    check(manifold, evaluator)


def test_exact_evaluators_are_refused_on_a_point_cloud_with_the_reason():
    points = {"type": "points", "path": "specs/data/trefoil.npy", "samples": 64}
    with pytest.raises(SpecError) as caught:
        check(points, {"type": "rlc_on_manifold", "method": "exact"})
    assert caught.value.path == (0, "method")
    assert caught.value.message.startswith(
        "method: exact needs a manifold with exact geometry (a curve, surface or mesh); manifold type 'points' "
        "(intrinsic_dim=None) has none"
    )


TANH_LAYERS = {
    "type": "keras_layers",
    "layers": [{"class_name": "Dense", "config": {"units": 2, "activation": "tanh"}}],
}


@pytest.mark.parametrize(
    "model, evaluator, path, which",
    [
        ({"encoder": {"type": "mlp", "activation": "tanh"}}, {"type": "rlc_bounds"}, (0, "network"), "encoder"),
        (
            {"encoder": {"type": "mlp", "widths": [4]}, "decoder": {"type": "mlp", "activation": "tanh"}},
            {"type": "rlc_on_manifold", "network": "autoencoder"},
            (0, "network"),
            "autoencoder",
        ),
        (
            {"encoder": TANH_LAYERS},
            {"type": "manifold_rlc"},
            (0, "certificate"),
            "encoder",
        ),
    ],
)
def test_networks_an_exact_evaluator_cannot_lower_are_refused_untrained(model, evaluator, path, which):
    from geokeras.evaluate.compatibility import check_lowerable_networks
    from geokeras.models.builder import build_autoencoder

    model = {"latent_dim": 2, "decoder": {"type": "mlp"}, **model}
    spec = spec_from_mapping({"name": "c", "manifold": {"type": "circle"}, "model": model, "evaluate": [evaluator]})
    bundle = build_autoencoder(spec.model, (2,))
    with pytest.raises(SpecError) as caught:
        check_lowerable_networks(spec.evaluate, bundle)
    assert caught.value.path == path
    assert caught.value.message.startswith(f"expected an {which} that the {evaluator['type']} evaluator can lower")
    assert "activation 'tanh' is not piecewise linear" in caught.value.message


def test_lowerable_networks_and_other_evaluators_pass():
    from geokeras.evaluate.compatibility import check_lowerable_networks
    from geokeras.models.builder import build_autoencoder

    evaluate = ["rlc_bounds", {"type": "rlc_on_manifold", "network": "autoencoder"}, "manifold_rlc", "learnability"]
    spec = spec_from_mapping(
        {"name": "c", "manifold": {"type": "circle"}, "model": {"latent_dim": 2}, "evaluate": evaluate}
    )
    check_lowerable_networks(spec.evaluate, build_autoencoder(spec.model, (2,)))
    tanh = spec_from_mapping(
        {
            "name": "c",
            "manifold": {"type": "circle"},
            "model": {"latent_dim": 2, "encoder": {"type": "mlp", "activation": "tanh"}},
        }
    )
    check_lowerable_networks([*tanh.evaluate, *spec.evaluate[3:]], build_autoencoder(tanh.model, (2,)))
