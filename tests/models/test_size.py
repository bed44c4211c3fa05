"""Parameter counts from the spec alone: equal to Keras' count of the built models, and the cap."""

from __future__ import annotations

import pytest

from geokeras.errors import SpecError
from geokeras.models.builder import build_autoencoder
from geokeras.models.params import ModelSpec
from geokeras.models.size import check_parameter_budget, parameter_counts

CASES = [
    ({"latent_dim": 2, "encoder": {"type": "mlp", "widths": [16, 8], "batch_norm": True}}, (3,)),
    (
        {"latent_dim": 2, "encoder": {"type": "mlp", "widths": [16, 8]}, "decoder": {"type": "mlp", "widths": [5]}},
        (8, 8, 1),
    ),
    ({"latent_dim": 3, "encoder": {"type": "conv", "filters": [4, 6], "dense": [7], "batch_norm": True}}, (9, 7, 2)),
    ({"latent_dim": 3, "encoder": {"type": "conv", "filters": [4], "strides": 3, "kernel_size": 2}}, (8, 8, 1)),
    (
        {"latent_dim": 2, "encoder": {"type": "mlp", "widths": [4]}, "decoder": {"type": "conv", "filters": [3]}},
        (8, 8, 1),
    ),
]


@pytest.mark.parametrize("sections, input_shape", CASES)
def test_counts_equal_the_built_models(sections, input_shape):
    spec = ModelSpec.model_validate(sections)
    bundle = build_autoencoder(spec, input_shape)
    assert parameter_counts(spec, input_shape) == {
        "encoder": bundle.encoder.count_params(),
        "decoder": bundle.decoder.count_params(),
    }


def test_mlp_count_by_hand():
    spec = ModelSpec.model_validate({"latent_dim": 2, "encoder": {"type": "mlp", "widths": [10]}})
    # encoder 3*10+10 + 10*2+2 = 62; mirror decoder 2*10+10 + 10*3+3 = 63
    assert parameter_counts(spec, (3,)) == {"encoder": 62, "decoder": 63}


def test_keras_layers_are_not_counted_from_the_spec():
    spec = ModelSpec.model_validate(
        {
            "latent_dim": 2,
            "encoder": {"type": "keras_layers", "layers": [{"class_name": "Dense", "config": {"units": 2}}]},
            "decoder": {"type": "mlp", "widths": [4]},
        }
    )
    assert parameter_counts(spec, (3,)) == {"encoder": None, "decoder": 2 * 4 + 4 + 4 * 3 + 3}


def test_the_cap_is_checked_before_building_with_the_real_input_shape():
    spec = ModelSpec.model_validate({"latent_dim": 2, "encoder": {"type": "mlp", "widths": [30000]}})
    check_parameter_budget(spec, (10,))  # 2*(10*30000) + ...: about 0.7 million, accepted
    with pytest.raises(SpecError) as caught:
        build_autoencoder(spec, (1000,))  # refused before a single layer exists
    assert caught.value.path == ("encoder", "widths")
    assert caught.value.message == (
        "expected an autoencoder of at most 50,000,000 parameters (the weights, their gradients and the "
        "optimizer's moments must fit in memory). Received: 60,181,002 parameters for samples of shape [1000] "
        "(encoder 30,090,002, decoder 30,091,000); use smaller widths."
    )


def test_an_explicit_decoder_past_the_cap_is_named():
    spec = ModelSpec.model_validate(
        {
            "latent_dim": 2,
            "encoder": {"type": "mlp", "widths": [4]},
            "decoder": {"type": "conv", "filters": [8], "dense": [65536]},
        }
    )
    with pytest.raises(SpecError) as caught:
        check_parameter_budget(spec, (28, 28, 1))
    assert caught.value.path == ("decoder", "dense")
