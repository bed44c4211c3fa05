"""Spec -> Keras models: shapes, parameter counts by hand, mirroring, safety, serialization."""

from __future__ import annotations

import copy

import keras
import numpy as np
import pydantic
import pytest
from keras.src.saving.serialization_lib import SafeModeScope

from geokeras.errors import SpecError
from geokeras.models.builder import (
    CODE_PENALTY_LAYER,
    Autoencoder,
    build_autoencoder,
    build_keras_layers,
    build_mirror,
    conv_feature_map_size,
    deserialize_keras_layer,
    layer_parameter_estimate,
)
from geokeras.models.params import (
    KerasLayerConfig,
    KerasLayersParams,
    MirrorParams,
    ModelSpec,
)
from geokeras.registry import DECODERS, ENCODERS


def model_spec(**sections) -> ModelSpec:
    return ModelSpec.model_validate(sections)


def dense_layers(model: keras.Model) -> list[keras.layers.Dense]:
    return [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]


def random_inputs(shape, count=5, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(count, *shape)).astype(np.float32)


def outputs(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """Inference outputs (a direct call: no predict-function tracing, dropout off)."""
    return keras.ops.convert_to_numpy(model(x, training=False))


def randomize_weights(model: keras.Model, seed: int = 1) -> None:
    """Move every weight (batch-norm statistics included) off its initial value."""
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        shape = tuple(variable.shape)
        if "variance" in variable.path:
            variable.assign(rng.uniform(0.5, 1.5, size=shape).astype(np.float32))
        else:
            variable.assign(rng.normal(scale=0.3, size=shape).astype(np.float32))


# ------------------------------------------------------------------------------ registry
def test_every_model_type_resolves_to_a_builder():
    for registry in (ENCODERS, DECODERS):
        for name in registry.names():
            assert callable(registry[name].load())


# ------------------------------------------------------------------------------ mlp
def test_mlp_parameter_count_by_hand():
    spec = model_spec(latent_dim=1, encoder={"type": "mlp", "widths": [4, 3]})
    bundle = build_autoencoder(spec, (2,))
    # encoder 2-4-3-1: (2*4+4) + (4*3+3) + (3*1+1) = 12 + 15 + 4
    assert bundle.encoder.count_params() == 31
    # mirrored decoder 1-3-4-2: (1*3+3) + (3*4+4) + (4*2+2) = 6 + 16 + 10
    assert bundle.decoder.count_params() == 32
    assert bundle.autoencoder.count_params() == 63
    assert [model.name for model in (bundle.encoder, bundle.decoder, bundle.autoencoder)] == [
        "encoder",
        "decoder",
        "autoencoder",
    ]
    assert bundle.input_shape == (2,) and bundle.latent_dim == 1 and bundle.code_l1 == 0.0


def test_mlp_output_shapes_and_values_are_composition():
    spec = model_spec(latent_dim=2, encoder={"type": "mlp", "widths": [8]})
    bundle = build_autoencoder(spec, (5,))
    x = random_inputs((5,))
    codes = outputs(bundle.encoder, x)
    assert codes.shape == (5, 2)
    reconstructions = outputs(bundle.autoencoder, x)
    assert reconstructions.shape == (5, 5)
    np.testing.assert_allclose(reconstructions, outputs(bundle.decoder, codes), rtol=1e-6)


def test_mlp_layers_are_affine_then_separate_activation():
    spec = model_spec(
        latent_dim=2,
        encoder={"type": "mlp", "widths": [6, 5], "activation": "tanh", "output_activation": "sigmoid"},
    )
    encoder = build_autoencoder(spec, (3,)).encoder
    assert all(layer.get_config()["activation"] == "linear" for layer in dense_layers(encoder))
    assert [layer.name for layer in encoder.layers[1:]] == [
        "encoder_dense_0",
        "encoder_dense_activation_0",
        "encoder_dense_1",
        "encoder_dense_activation_1",
        "encoder_output",
        "encoder_output_activation",
    ]
    assert encoder.get_layer("encoder_dense_activation_0").get_config()["activation"] == "tanh"
    assert encoder.get_layer("encoder_output_activation").get_config()["activation"] == "sigmoid"
    codes = outputs(encoder, random_inputs((3,)))
    assert np.all((codes > 0) & (codes < 1))


def test_mirror_reverses_widths_and_keeps_options():
    spec = model_spec(
        latent_dim=2,
        encoder={
            "type": "mlp",
            "widths": [16, 8, 4],
            "activation": "leaky_relu",
            "negative_slope": 0.3,
            "batch_norm": True,
            "dropout": 0.25,
            "kernel_initializer": "he_normal",
            "output_activation": "tanh",
        },
        decoder={"type": "mirror"},
    )
    bundle = build_autoencoder(spec, (3,))
    assert [layer.units for layer in dense_layers(bundle.encoder)] == [16, 8, 4, 2]
    assert [layer.units for layer in dense_layers(bundle.decoder)] == [4, 8, 16, 3]
    decoder = bundle.decoder
    leaky = [layer for layer in decoder.layers if isinstance(layer, keras.layers.LeakyReLU)]
    assert [layer.negative_slope for layer in leaky] == pytest.approx([0.3, 0.3, 0.3])
    assert sum(isinstance(layer, keras.layers.BatchNormalization) for layer in decoder.layers) == 3
    assert [layer.rate for layer in decoder.layers if isinstance(layer, keras.layers.Dropout)] == [0.25] * 3
    assert all(layer.get_config()["kernel_initializer"]["class_name"] == "HeNormal" for layer in dense_layers(decoder))
    # The encoder's output activation shapes the codes; the mirrored decoder ends linear.
    assert bundle.encoder.get_layer("encoder_output_activation").get_config()["activation"] == "tanh"
    assert decoder.layers[-1].name == "decoder_output"


def test_mlp_on_images_flattens_and_reshapes():
    spec = model_spec(latent_dim=3, encoder={"type": "mlp", "widths": [10]})
    bundle = build_autoencoder(spec, (4, 4, 2))
    assert bundle.encoder.output_shape == (None, 3)
    assert bundle.autoencoder.output_shape == (None, 4, 4, 2)
    # encoder 32-10-3: 330 + 33; decoder 3-10-32: 40 + 352
    assert bundle.encoder.count_params() == 363
    assert bundle.decoder.count_params() == 392


# ------------------------------------------------------------------------------ conv
def test_conv_parameter_count_by_hand():
    spec = model_spec(
        latent_dim=3,
        encoder={"type": "conv", "filters": [2], "kernel_size": 3, "strides": 2},
    )
    bundle = build_autoencoder(spec, (4, 4, 1))
    # Conv2D 3*3*1*2 + 2 = 20 -> map 2x2x2 = 8 -> Dense 8*3 + 3 = 27
    assert bundle.encoder.count_params() == 47
    # Dense 3 -> 2*2*2: 3*8 + 8 = 32; Conv2DTranspose 3*3*2*2 + 2 = 38; Conv2D 3*3*2*1 + 1 = 19
    assert bundle.decoder.count_params() == 89


@pytest.mark.parametrize(
    "image_shape, filters, strides",
    [((8, 8, 1), [4, 8], 2), ((28, 28, 1), [4, 8], 2), ((28, 28, 1), [2, 2, 2], 2), ((7, 5, 3), [4], 3)],
)
def test_conv_autoencoder_reconstructs_the_input_shape(image_shape, filters, strides):
    conv = {"type": "conv", "filters": filters, "strides": strides, "dense": [8]}
    spec = model_spec(latent_dim=4, encoder=conv, decoder={**conv, "output_activation": "sigmoid"})
    bundle = build_autoencoder(spec, image_shape)
    assert bundle.encoder.output_shape == (None, 4)
    assert bundle.autoencoder.output_shape == (None, *image_shape)
    reconstructions = outputs(bundle.autoencoder, random_inputs(image_shape, count=2))
    assert reconstructions.shape == (2, *image_shape)
    assert np.all((reconstructions >= 0) & (reconstructions <= 1))
    transposed = [layer for layer in bundle.decoder.layers if isinstance(layer, keras.layers.Conv2DTranspose)]
    assert [layer.filters for layer in transposed] == list(reversed(filters))


def test_conv_decoder_crops_when_strides_do_not_divide():
    # 28 -> 14 -> 7 -> 4 with three stride-2 convolutions; 4 * 8 = 32, so crop 2 + 2.
    assert conv_feature_map_size(28, 2, 3) == 4
    spec = model_spec(latent_dim=2, encoder={"type": "conv", "filters": [2, 2, 2]})
    decoder = build_autoencoder(spec, (28, 28, 1)).decoder
    crop = decoder.get_layer("decoder_crop")
    assert crop.cropping == ((2, 2), (2, 2))


def test_conv_rejects_vector_data_with_path():
    spec = model_spec(latent_dim=2, encoder={"type": "conv"})
    with pytest.raises(SpecError) as caught:
        build_autoencoder(spec, (3,))
    assert caught.value.path == ("encoder", "type")
    assert "[3]" in caught.value.message and "mlp" in caught.value.message


def test_conv_decoder_rejects_vector_data_with_path():
    spec = model_spec(latent_dim=2, encoder={"type": "mlp"}, decoder={"type": "conv"})
    with pytest.raises(SpecError) as caught:
        build_autoencoder(spec, (3,))
    assert caught.value.path == ("decoder", "type")


def test_conv_without_filters_is_a_spec_error():
    spec = model_spec(latent_dim=2, encoder={"type": "conv", "filters": []})
    with pytest.raises(SpecError) as caught:
        build_autoencoder(spec, (8, 8, 1))
    assert caught.value.path == ("encoder", "filters")


# ------------------------------------------------------------------------------ mirror
def test_mirror_of_keras_layers_encoder_is_a_spec_error():
    """Refused by the spec's validation (so by ``geokeras validate``), and by the builder itself."""
    import pydantic

    encoder = {"type": "keras_layers", "layers": [{"class_name": "Dense", "config": {"units": 2}}]}
    with pytest.raises(pydantic.ValidationError) as refused:
        model_spec(latent_dim=2, encoder=encoder, decoder={"type": "mirror"})
    assert [error["loc"] for error in refused.value.errors()] == [("decoder", "type")]
    with pytest.raises(SpecError) as caught:
        build_mirror(
            MirrorParams(),
            input_shape=(2,),
            output_shape=(3,),
            role="decoder",
            encoder_params=model_spec(latent_dim=2, encoder=encoder, decoder={"type": "mlp"}).encoder,
        )
    assert caught.value.path == ("type",)
    assert "keras_layers" in caught.value.message and "explicit decoder" in caught.value.message


def test_mirror_is_not_an_encoder():
    with pytest.raises(SpecError) as caught:
        build_mirror(MirrorParams(), input_shape=(3,), output_shape=(2,), role="encoder")
    assert caught.value.path == ("type",)


# ------------------------------------------------------------------------------ keras_layers
def keras_layers_spec(layers, latent_dim=2):
    return model_spec(
        latent_dim=latent_dim,
        encoder={"type": "keras_layers", "layers": layers},
        decoder={"type": "keras_layers", "layers": [{"class_name": "Dense", "config": {"units": 3}}]},
    )


def test_keras_layers_build_the_given_chain():
    spec = keras_layers_spec(
        [
            {"class_name": "Dense", "config": {"units": 5, "activation": "relu"}},
            {"class_name": "BatchNormalization", "config": {}},
            {"class_name": "Dense", "config": {"units": 2}},
        ]
    )
    bundle = build_autoencoder(spec, (3,))
    # 3*5+5 + 4*5 (gamma, beta, moving mean, moving variance) + 5*2+2; decoder 2*3+3
    assert bundle.encoder.count_params() == 20 + 20 + 12
    assert bundle.decoder.count_params() == 9
    assert bundle.autoencoder.output_shape == (None, 3)


def test_forbidden_layers_are_refused_by_the_spec_and_the_builder():
    with pytest.raises(pydantic.ValidationError, match="Lambda"):
        KerasLayerConfig.model_validate({"class_name": "Lambda", "config": {}})
    # A params object that bypassed validation is still refused when built.
    params = KerasLayersParams.model_construct(
        type="keras_layers",
        layers=[
            KerasLayerConfig(class_name="Dense", config={"units": 4}),
            KerasLayerConfig.model_construct(class_name="Lambda", config={"function": "abs"}),
        ],
    )
    with pytest.raises(SpecError) as caught:
        build_keras_layers(params, input_shape=(3,), output_shape=(2,), role="encoder")
    assert caught.value.path == ("layers", 1, "class_name")
    assert "Lambda" in caught.value.message


FORBIDDEN_MESSAGE = (
    "expected a Keras layer that carries no code (forbidden: Lambda, TFSMLayer, TorchModuleWrapper, JaxLayer, "
    "FlaxLayer: they can run arbitrary code). Received: class_name='Lambda'."
)


def test_a_lambda_inside_time_distributed_is_refused_by_the_builder():
    # Bypassing the spec's validation: the builder searches wrapped layers itself.
    params = KerasLayersParams.model_construct(
        type="keras_layers",
        layers=[
            KerasLayerConfig(class_name="Reshape", config={"target_shape": [1, 3]}),
            KerasLayerConfig.model_construct(
                class_name="TimeDistributed",
                config={"layer": {"module": "keras.layers", "class_name": "Lambda", "config": {"function": "abs"}}},
            ),
        ],
    )
    with pytest.raises(SpecError) as caught:
        build_keras_layers(params, input_shape=(3,), output_shape=(2,), role="encoder")
    assert caught.value.path == ("layers", 1, "config", "layer", "class_name")
    assert caught.value.message == FORBIDDEN_MESSAGE


def test_wide_keras_layers_are_refused_before_they_are_built():
    spec = keras_layers_spec(
        [
            {"class_name": "Dense", "config": {"units": 65536}},
            {"class_name": "Dense", "config": {"units": 65536}},
            {"class_name": "Dense", "config": {"units": 2}},
        ]
    )
    with pytest.raises(SpecError) as caught:
        build_autoencoder(spec, (3,))
    assert caught.value.path == ("encoder", "layers", 1, "config")
    assert caught.value.message == (
        "expected at most 50,000,000 parameters in the encoder (the weights, their gradients and the optimizer's "
        "moments must fit in memory). Received: about 4,295,294,976 parameters up to this layer, on inputs of "
        "shape (None, 65536)."
    )


@pytest.mark.parametrize(
    "class_name, config, input_shape",
    [
        ("Dense", {"units": 5}, (None, 3)),
        ("Conv2D", {"filters": 4, "kernel_size": [3, 2]}, (None, 8, 8, 2)),
        ("Conv2DTranspose", {"filters": 4, "kernel_size": 3}, (None, 8, 8, 2)),
        ("Embedding", {"input_dim": 10, "output_dim": 3}, (None, 4)),
        ("BatchNormalization", {}, (None, 6)),
        (
            "TimeDistributed",
            {"layer": {"module": "keras.layers", "class_name": "Dense", "config": {"units": 5}}},
            (None, 2, 3),
        ),
        ("LSTM", {"units": 4}, (None, 2, 3)),
        (
            "Bidirectional",
            {"layer": {"module": "keras.layers", "class_name": "LSTM", "config": {"units": 4}}},
            (None, 2, 3),
        ),
    ],
)
def test_layer_parameter_estimate_equals_the_built_layer(class_name, config, input_shape):
    layer = deserialize_keras_layer(class_name, config)
    estimate = layer_parameter_estimate(layer, input_shape)
    layer(keras.Input(batch_shape=input_shape))
    assert estimate == layer.count_params()


def test_unknown_layer_class_names_the_path_and_suggests():
    """Refused by the spec's validation (static list), and by the builder (asking Keras)."""
    import pydantic

    with pytest.raises(pydantic.ValidationError) as refused:
        keras_layers_spec([{"class_name": "Dnse", "config": {"units": 2}}])
    [error] = refused.value.errors()
    assert error["loc"] == ("encoder", "keras_layers", "layers", 0, "class_name")
    assert "'Dnse': did you mean 'Dense'?" in error["msg"]
    with pytest.raises(SpecError) as caught:
        deserialize_keras_layer("Dnse", {"units": 2}, path=("layers", 0))
    assert caught.value.path == ("layers", 0, "class_name")
    assert "'Dnse'" in caught.value.message and "Did you mean 'Dense'?" in caught.value.message


@pytest.mark.parametrize(
    "config, fragment",
    [({"units": -3}, "units"), ({"unitz": 3}, "unitz"), ({"units": 2, "activation": "nonsense"}, "nonsense")],
)
def test_bad_layer_config_names_the_path(config, fragment):
    spec = keras_layers_spec(
        [{"class_name": "Dense", "config": {"units": 4}}, {"class_name": "Dense", "config": config}]
    )
    with pytest.raises(SpecError) as caught:
        build_autoencoder(spec, (3,))
    assert caught.value.path == ("encoder", "layers", 1, "config")
    assert fragment in caught.value.message and "Received" in caught.value.message


def test_serialized_python_lambda_is_refused_even_when_unsafe_mode_is_on():
    lambda_activation = {"class_name": "__lambda__", "config": {"value": "print('pwned')"}}
    with SafeModeScope(False):  # what keras.config.enable_unsafe_deserialization() does
        with pytest.raises(SpecError) as caught:
            deserialize_keras_layer(
                "Dense", {"units": 2, "activation": lambda_activation}, path=("encoder", "layers", 0)
            )
    assert caught.value.path == ("encoder", "layers", 0, "config")
    assert "lambda" in caught.value.message.lower()


def test_wrong_output_width_is_a_spec_error_with_both_shapes():
    spec = keras_layers_spec([{"class_name": "Dense", "config": {"units": 5}}], latent_dim=2)
    with pytest.raises(SpecError) as caught:
        build_autoencoder(spec, (3,))
    assert caught.value.path == ("encoder", "layers")
    assert "(None, 2)" in caught.value.message and "(None, 5)" in caught.value.message


def test_layer_that_cannot_take_its_input_names_the_layer():
    spec = keras_layers_spec([{"class_name": "Conv2D", "config": {"filters": 2, "kernel_size": 3}}])
    with pytest.raises(SpecError) as caught:
        build_autoencoder(spec, (3,))
    assert caught.value.path == ("encoder", "layers", 0, "config")
    assert "Conv2D" in caught.value.message


# ------------------------------------------------------------------------------ serialization
SERIALIZATION_CASES = {
    "mlp_bn_dropout_l1": (
        {
            "latent_dim": 2,
            "encoder": {
                "type": "mlp",
                "widths": [8, 6],
                "batch_norm": True,
                "dropout": 0.2,
                "activation": "leaky_relu",
            },
            "decoder": {"type": "mirror"},
        },
        (3,),
        0.01,
    ),
    "conv": (
        {"latent_dim": 3, "encoder": {"type": "conv", "filters": [2, 4], "batch_norm": True, "dense": [6]}},
        (8, 8, 1),
        0.0,
    ),
    "keras_layers": (
        {
            "latent_dim": 2,
            "encoder": {
                "type": "keras_layers",
                "layers": [
                    {"class_name": "Dense", "config": {"units": 6, "activation": "elu"}},
                    {"class_name": "Dropout", "config": {"rate": 0.1}},
                    {"class_name": "Dense", "config": {"units": 2}},
                ],
            },
            "decoder": {"type": "mlp", "widths": [5], "activation": "gelu"},
        },
        (4,),
        0.0,
    ),
}


@pytest.mark.parametrize("case", sorted(SERIALIZATION_CASES))
def test_save_and_load_give_identical_outputs(case, tmp_path):
    sections, shape, code_l1 = SERIALIZATION_CASES[case]
    bundle = build_autoencoder(ModelSpec.model_validate(sections), shape, code_l1=code_l1)
    x = random_inputs(shape, count=16)
    randomize_weights(bundle.autoencoder)
    for name in ("encoder", "decoder", "autoencoder"):
        model = getattr(bundle, name)
        inputs = x if name != "decoder" else outputs(bundle.encoder, x)
        path = tmp_path / f"{name}.keras"
        model.save(path)
        loaded = keras.models.load_model(path)
        np.testing.assert_array_equal(outputs(loaded, inputs), outputs(model, inputs))
    reloaded = Autoencoder.from_autoencoder(keras.models.load_model(tmp_path / "autoencoder.keras"))
    assert reloaded.code_l1 == pytest.approx(code_l1)
    np.testing.assert_array_equal(outputs(reloaded.encoder, x), outputs(bundle.encoder, x))


@pytest.mark.parametrize("case", sorted(SERIALIZATION_CASES))
def test_get_config_from_config_round_trip(case):
    sections, shape, code_l1 = SERIALIZATION_CASES[case]
    model = build_autoencoder(ModelSpec.model_validate(sections), shape, code_l1=code_l1).autoencoder
    config = model.get_config()
    rebuilt = keras.Model.from_config(copy.deepcopy(config))  # from_config consumes its argument
    assert rebuilt.get_config() == config
    rebuilt.set_weights(model.get_weights())
    x = random_inputs(shape)
    np.testing.assert_array_equal(outputs(rebuilt, x), outputs(model, x))


# ------------------------------------------------------------------------------ code penalty
def test_code_l1_adds_lambda_times_mean_l1_norm_of_codes():
    spec = model_spec(latent_dim=2, encoder={"type": "mlp", "widths": [4]})
    bundle = build_autoencoder(spec, (3,), code_l1=0.5)
    layer = bundle.autoencoder.get_layer(CODE_PENALTY_LAYER)
    assert isinstance(layer, keras.layers.ActivityRegularization) and layer.l1 == 0.5
    x = random_inputs((3,), count=7)
    bundle.autoencoder(x)
    codes = outputs(bundle.encoder, x)
    expected = 0.5 * np.abs(codes).sum(axis=1).mean()
    (penalty,) = bundle.autoencoder.losses
    np.testing.assert_allclose(keras.ops.convert_to_numpy(penalty), expected, rtol=1e-5)


def test_invalid_arguments_are_rejected_eagerly():
    spec = model_spec(latent_dim=2)
    with pytest.raises(ValueError, match="code_l1"):
        build_autoencoder(spec, (3,), code_l1=-1.0)
    with pytest.raises(ValueError, match="input_shape"):
        build_autoencoder(spec, (3, 3))
    with pytest.raises(ValueError, match="input_shape"):
        build_autoencoder(spec, (0,))


# ------------------------------------------------------------------------------ precision
def test_mixed_precision_models_output_float32():
    keras.mixed_precision.set_global_policy("mixed_float16")
    for sections, shape in [
        ({"latent_dim": 2, "encoder": {"type": "mlp", "widths": [4]}}, (3,)),
        ({"latent_dim": 2, "encoder": {"type": "conv", "filters": [2]}}, (4, 4, 1)),
        (
            {
                "latent_dim": 2,
                "encoder": {"type": "keras_layers", "layers": [{"class_name": "Dense", "config": {"units": 2}}]},
                "decoder": {"type": "mlp", "widths": [4]},
            },
            (3,),
        ),
    ]:
        bundle = build_autoencoder(ModelSpec.model_validate(sections), shape)
        hidden = bundle.encoder.layers[1]
        assert hidden.compute_dtype == "float16"
        for model in (bundle.encoder, bundle.decoder, bundle.autoencoder):
            assert model.outputs[0].dtype == "float32"
