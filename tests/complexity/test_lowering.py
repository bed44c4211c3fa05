"""Lowering Keras models to float64 affine + ReLU chains (geokeras.complexity.lowering)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from geokeras.complexity.lowering import (
    AffineLayer,
    LoweredNetwork,
    UnsupportedLayerError,
    check_lowerable,
    lower,
)
from geokeras.errors import GeokerasInputError

F64 = "float64"


def _randomise_batch_norm(layer: keras.layers.BatchNormalization, rng: np.random.Generator) -> None:
    size = layer.gamma.shape[0]
    layer.gamma.assign(rng.normal(size=size))
    layer.beta.assign(rng.normal(size=size))
    layer.moving_mean.assign(rng.normal(size=size))
    layer.moving_variance.assign(rng.uniform(0.5, 2.0, size=size))


def test_dense_batch_norm_leaky_relu_dropout_chain_reproduces_the_model_in_float64():
    keras.utils.set_random_seed(1)
    inputs = keras.Input((3,), dtype=F64)
    x = keras.layers.Dense(6, activation="relu", dtype=F64)(inputs)
    x = keras.layers.Dense(5, dtype=F64)(x)
    x = keras.layers.BatchNormalization(dtype=F64)(x)
    x = keras.layers.LeakyReLU(negative_slope=0.125, dtype=F64)(x)  # 0.125: exact in float32 too
    x = keras.layers.Dropout(0.5, dtype=F64)(x)
    x = keras.layers.Dense(4, dtype=F64)(x)  # linear, composed with the next one
    x = keras.layers.Dense(2, dtype=F64)(x)
    model = keras.Model(inputs, x)
    _randomise_batch_norm(model.layers[3], np.random.default_rng(0))

    network = lower(model)
    assert network.widths == [3, 6, 5, 2]
    assert [layer.activation for layer in network.layers] == ["relu", "leaky_relu", "linear"]
    assert network.layers[1].negative_slope == 0.125
    assert network.hidden_units == 11
    points = np.random.default_rng(1).normal(size=(200, 3))
    expected = np.asarray(model(points))  # predict would cast the inputs to float32
    np.testing.assert_allclose(network(points), expected, rtol=1e-12, atol=1e-12)


def test_conv2d_is_lowered_to_its_explicit_linear_map():
    keras.utils.set_random_seed(2)
    inputs = keras.Input((6, 5, 2), dtype=F64)
    x = keras.layers.Conv2D(3, 3, strides=2, padding="same", activation="relu", dtype=F64)(inputs)
    x = keras.layers.BatchNormalization(dtype=F64)(x)
    x = keras.layers.Conv2D(2, 2, padding="valid", dtype=F64)(x)
    x = keras.layers.ReLU(dtype=F64)(x)
    x = keras.layers.Flatten(dtype=F64)(x)
    x = keras.layers.Dense(2, dtype=F64)(x)
    model = keras.Model(inputs, x)
    _randomise_batch_norm(model.layers[2], np.random.default_rng(3))

    network = lower(model)
    # 6x5x2 -> (same, stride 2) 3x3x3 -> BN folded -> (valid 2x2) 2x2x2 -> 2
    assert network.widths == [60, 27, 8, 2]
    images = np.random.default_rng(4).normal(size=(16, 6, 5, 2))
    np.testing.assert_allclose(network(images.reshape(16, -1)), np.asarray(model(images)), rtol=1e-11, atol=1e-11)


def test_sequential_and_nested_models_and_identity_layers():
    keras.utils.set_random_seed(3)
    encoder = keras.Sequential(
        [keras.Input((2,)), keras.layers.Dense(4), keras.layers.ReLU(), keras.layers.Dense(1)], name="encoder"
    )
    inputs = keras.Input((2,))
    codes = keras.layers.ActivityRegularization(l1=0.1)(encoder(inputs))
    outer = keras.Model(inputs, keras.layers.Dense(3, activation="relu")(codes))
    assert lower(encoder).widths == [2, 4, 1]
    network = lower(outer)
    assert network.widths == [2, 4, 3]  # encoder's linear output composed with the Dense(3)
    assert network.layers[-1].activation == "relu"
    points = np.random.default_rng(5).normal(size=(50, 2))
    np.testing.assert_allclose(network(points), outer.predict(points, verbose=0), rtol=1e-5, atol=1e-5)


def test_a_lowered_network_is_returned_unchanged():
    network = LoweredNetwork((AffineLayer(np.eye(2), np.zeros(2), "relu"), AffineLayer(np.ones((2, 1)), np.zeros(1))))
    assert lower(network) is network


@pytest.mark.parametrize(
    "build, named",
    [
        (lambda x: keras.layers.Add(name="skip")([x, keras.layers.Dense(2)(x)]), "'skip' of class Add"),
        (lambda x: keras.layers.Dense(2, activation="tanh", name="squash")(x), "'squash' of class Dense"),
        (lambda x: keras.layers.ReLU(max_value=6.0, name="relu6")(x), "'relu6' of class ReLU"),
    ],
)
def test_unsupported_layers_are_named_in_the_error(build, named):
    inputs = keras.Input((2,))
    model = keras.Model(inputs, build(inputs))
    with pytest.raises(UnsupportedLayerError, match=named):
        lower(model)
    with pytest.raises(UnsupportedLayerError, match=named):
        check_lowerable(model)
    assert issubclass(UnsupportedLayerError, GeokerasInputError)


def test_pooling_is_unsupported_and_names_the_class():
    inputs = keras.Input((4, 4, 1))
    x = keras.layers.MaxPooling2D(name="pool")(inputs)
    model = keras.Model(inputs, keras.layers.Flatten()(x))
    with pytest.raises(UnsupportedLayerError, match="'pool' of class MaxPooling2D"):
        lower(model)


def test_zero_pre_activation_is_inactive_and_affine_maps_reproduce_outputs():
    # z = x1 - x2: zero on the diagonal; the pattern there is inactive (z > 0 is active).
    network = LoweredNetwork(
        (
            AffineLayer(np.array([[1.0, 2.0], [-1.0, 0.5]]), np.array([0.0, -1.0]), "relu"),
            AffineLayer(np.array([[3.0], [-2.0]]), np.array([0.5])),
        )
    )
    pattern = network.activation_pattern(np.array([[1.0, 1.0], [2.0, 1.0], [0.0, 3.0]]))
    np.testing.assert_array_equal(pattern, [[False, True], [True, True], [False, True]])
    points = np.random.default_rng(6).normal(size=(100, 2)) * 3
    linear, offset = network.affine_maps(network.activation_pattern(points))
    np.testing.assert_allclose(np.einsum("ni,nio->no", points, linear) + offset, network(points), atol=1e-13)
    pre = network.pre_activations(points)
    assert [z.shape for z in pre] == [(100, 2), (100, 1)]


def test_affine_layer_and_network_validation_messages():
    with pytest.raises(ValueError, match=r"Received: weight.shape=\[2, 3\], bias.shape=\[2\]"):
        AffineLayer(np.zeros((2, 3)), np.zeros(2))
    with pytest.raises(ValueError, match="Received: activation='tanh'"):
        AffineLayer(np.zeros((2, 3)), np.zeros(3), "tanh")
    with pytest.raises(ValueError, match=r"layers\[1\].n_in == layers\[0\].n_out. Received: 4 != 3"):
        LoweredNetwork((AffineLayer(np.zeros((2, 3)), np.zeros(3)), AffineLayer(np.zeros((4, 1)), np.zeros(1))))
    network = LoweredNetwork((AffineLayer(np.zeros((2, 3)), np.zeros(3)),))
    with pytest.raises(ValueError, match=r"Expected inputs of shape \[n, 2\]. Received: shape=\[5, 3\]"):
        network(np.zeros((5, 3)))
    with pytest.raises(TypeError, match="Received: str"):
        lower("model")


def test_channels_first_conv2d_and_the_size_guard(monkeypatch):
    from geokeras.complexity import lowering

    # TF's CPU kernels refuse NCHW, so the oracle is the same convolution in NHWC, with the
    # input and output transposed to channels-first order.
    keras.utils.set_random_seed(4)
    first = keras.Input((2, 5, 4), dtype=F64)
    conv_first = keras.layers.Conv2D(3, 2, data_format="channels_first", dtype=F64)
    channels_first = keras.Model(first, keras.layers.Flatten(dtype=F64)(conv_first(first)))
    last = keras.Input((5, 4, 2), dtype=F64)
    conv_last = keras.layers.Conv2D(3, 2, dtype=F64)
    channels_last = keras.Model(last, conv_last(last))
    conv_last.set_weights(conv_first.get_weights())  # kernels are [kh, kw, in, out] in both formats
    images = np.random.default_rng(7).normal(size=(8, 2, 5, 4))
    expected = np.transpose(np.asarray(channels_last(np.transpose(images, (0, 2, 3, 1)))), (0, 3, 1, 2)).reshape(8, -1)
    network = lower(channels_first)
    assert network.widths == [40, 36]  # 3 channels x 4 x 3
    np.testing.assert_allclose(network(images.reshape(8, -1)), expected, rtol=1e-11, atol=1e-11)
    monkeypatch.setattr(lowering, "MAX_CONV_MATRIX_ENTRIES", 1000)
    with pytest.raises(
        UnsupportedLayerError, match=r"40 x 36 = 1440 entries, more than MAX_CONV_MATRIX_ENTRIES = 1000"
    ):
        lower(channels_first)


def test_check_lowerable_follows_shapes_without_reading_weights(monkeypatch):
    from geokeras.complexity import lowering

    inputs = keras.Input((6, 6, 1))
    x = keras.layers.Conv2D(2, 3, strides=2, padding="same")(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU()(keras.layers.Flatten()(x))  # 3 x 3 x 2 = 18 inputs to the Dense layer
    model = keras.Model(inputs, keras.layers.Dense(2)(x))
    check_lowerable(model)
    monkeypatch.setattr(lowering, "MAX_CONV_MATRIX_ENTRIES", 100)
    with pytest.raises(UnsupportedLayerError, match=r"36 x 18 = 648 entries, more than MAX_CONV_MATRIX_ENTRIES"):
        check_lowerable(model)
    flat = keras.Input((4, 4, 1))
    unflattened = keras.Model(flat, keras.layers.Dense(2, name="no_flatten")(flat))
    with pytest.raises(UnsupportedLayerError, match="'no_flatten' of class Dense: a Dense layer on inputs of shape"):
        check_lowerable(unflattened)


def test_a_subclassed_model_is_refused_even_nested():
    class Residual(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = keras.layers.Dense(2, activation="relu")

        def call(self, x):
            return x + self.dense(x)

    inputs = keras.Input((2,))
    model = keras.Model(inputs, Residual(name="skip")(inputs))
    message = "Cannot lower model 'skip' of class Residual: a subclassed model's call"
    with pytest.raises(UnsupportedLayerError, match=message):
        lower(model)
    with pytest.raises(UnsupportedLayerError, match=message):
        check_lowerable(model)
