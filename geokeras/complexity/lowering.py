"""Lowering a Keras ReLU network to a chain of float64 affine maps and activations.

Lei, Luo, Yau, Gu (2018, section 2) write a ReLU network as
phi = T_{k+1} o sigma o T_k o ... o sigma o T_1 with affine maps T_i. Every exact count in
:mod:`geokeras.complexity` works on that form, so a Keras model is first *lowered* to a
:class:`LoweredNetwork`: a tuple of :class:`AffineLayer` ``x -> act(x W + b)`` in float64
(row vectors, as Keras' ``Dense``).

What is lowered (inference behaviour):

* ``Dense`` (with its ``activation=`` argument) and ``Conv2D`` (its explicit linear map,
  computed by convolving the standard basis of the input; channels_last or first);
* ``ReLU`` (``max_value`` None, ``threshold`` 0; a ``negative_slope`` makes it leaky),
  ``LeakyReLU``, ``Activation`` / ``activation=`` with ``relu``, ``leaky_relu``, ``linear``;
* ``BatchNormalization`` folded into the preceding affine map with its moving statistics:
  y = gamma (x - mean) / sqrt(var + epsilon) + beta;
* ``Dropout``, ``SpatialDropout*``, ``GaussianNoise``, ``GaussianDropout``, ``AlphaDropout``,
  ``ActivityRegularization`` and ``InputLayer`` as the identity (their inference behaviour);
* ``Flatten`` and ``Reshape`` as the identity on the row-major flattened vector (Keras'
  own memory order, so a ``Conv2D -> Flatten -> Dense`` chain composes exactly);
* nested functional and Sequential models (an encoder inside an autoencoder) are lowered layer
  by layer; a subclassed model is refused (its ``call`` may combine its layers in any way).

Consecutive affine maps with no activation between them are composed into one, so
``widths`` are those of the lowered chain (a ``Dense(linear)`` followed by ``Dense(relu)``
is one layer). Anything else (``Add`` and other multi-input layers, ``sigmoid``, ``tanh``,
``MaxPooling2D``, ...) raises :class:`UnsupportedLayerError` naming the layer and its class:
residual ``Add`` blocks are refused rather than lowered approximately, because passing an
identity branch through a ReLU chain needs extra units (x = relu(x) - relu(-x)) that would
add hyperplanes and change the very cell counts this package reports.

Activation pattern (Lei et al. 2018, section 2, made precise): a unit is *active* when its
pre-activation is > 0; exactly 0 counts as inactive. The pattern ranges over the units of
every layer whose activation is not ``linear`` (a linear output layer has no units in it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from geokeras.errors import GeokerasInputError

Activation = Literal["relu", "leaky_relu", "linear"]
MAX_CONV_MATRIX_ENTRIES = 1 << 27
"""A Conv2D whose explicit [inputs, outputs] matrix would have more entries is refused."""
_ACTIVATIONS = ("relu", "leaky_relu", "linear")


class UnsupportedLayerError(GeokerasInputError, ValueError):
    """A Keras layer that has no exact affine + ReLU lowering (the user's model to change)."""


@dataclass(frozen=True)
class AffineLayer:
    """x -> act(x W + b) for row vectors x, in float64.

    Attributes:
        weight: shape=[n_in, n_out], float64.
        bias: shape=[n_out], float64.
        activation: ``"relu"`` (max(z, 0)), ``"leaky_relu"`` (z if z > 0 else
            negative_slope * z) or ``"linear"`` (z).
        negative_slope: the slope of ``leaky_relu`` for z <= 0 (0 for the others).
    """

    weight: np.ndarray
    bias: np.ndarray
    activation: Activation = "linear"
    negative_slope: float = 0.0

    def __post_init__(self) -> None:
        weight = np.array(self.weight, dtype=np.float64)
        bias = np.array(self.bias, dtype=np.float64).reshape(-1)
        if weight.ndim != 2 or bias.shape != (weight.shape[1],):
            raise ValueError(
                f"Expected weight of shape [n_in, n_out] and bias of shape [n_out]. "
                f"Received: weight.shape={list(weight.shape)}, bias.shape={list(bias.shape)}."
            )
        if not (np.all(np.isfinite(weight)) and np.all(np.isfinite(bias))):
            raise ValueError("Expected finite weights and biases. Received NaN or infinite entries.")
        if self.activation not in _ACTIVATIONS:
            raise ValueError(f"Expected activation in {_ACTIVATIONS}. Received: activation={self.activation!r}.")
        slope = float(self.negative_slope) if self.activation == "leaky_relu" else 0.0
        weight.setflags(write=False)
        bias.setflags(write=False)
        object.__setattr__(self, "weight", weight)
        object.__setattr__(self, "bias", bias)
        object.__setattr__(self, "negative_slope", slope)

    @property
    def n_in(self) -> int:
        return int(self.weight.shape[0])

    @property
    def n_out(self) -> int:
        return int(self.weight.shape[1])

    @property
    def is_piecewise(self) -> bool:
        """True when the activation has a kink at 0 (its units enter the activation pattern)."""
        return self.activation != "linear"

    def activate(self, pre_activation: np.ndarray) -> np.ndarray:
        """act(z), elementwise (z > 0 is the active side)."""
        if self.activation == "linear":
            return pre_activation
        if self.activation == "relu":
            return np.where(pre_activation > 0, pre_activation, 0.0)
        return np.where(pre_activation > 0, pre_activation, self.negative_slope * pre_activation)

    def slope(self, pre_activation: np.ndarray) -> np.ndarray:
        """act'(z) on the side of z: 1 where z > 0, else 0 (relu) / negative_slope / 1 (linear)."""
        if self.activation == "linear":
            return np.ones_like(pre_activation)
        return np.where(pre_activation > 0, 1.0, self.negative_slope)


@dataclass(frozen=True)
class LoweredNetwork:
    """A ReLU network as a chain of :class:`AffineLayer`, evaluated in float64 with numpy.

    Attributes:
        layers: the chain, first layer first; each layer's ``n_in`` is the previous ``n_out``.
        name: the name of the model it was lowered from (for messages and titles).
    """

    layers: tuple[AffineLayer, ...]
    name: str = "network"
    _offsets: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        layers = tuple(self.layers)
        if not layers:
            raise ValueError("Expected at least one layer. Received: layers=().")
        for index, layer in enumerate(layers):
            if not isinstance(layer, AffineLayer):
                raise TypeError(
                    f"Expected AffineLayer entries. Received: layers[{index}] of type {type(layer).__name__}."
                )
            if index and layer.n_in != layers[index - 1].n_out:
                raise ValueError(
                    f"Expected layers[{index}].n_in == layers[{index - 1}].n_out. Received: "
                    f"{layer.n_in} != {layers[index - 1].n_out}."
                )
        offsets = [0]
        for layer in layers:
            offsets.append(offsets[-1] + (layer.n_out if layer.is_piecewise else 0))
        object.__setattr__(self, "layers", layers)
        object.__setattr__(self, "_offsets", tuple(offsets))

    @property
    def input_dim(self) -> int:
        return self.layers[0].n_in

    @property
    def output_dim(self) -> int:
        return self.layers[-1].n_out

    @property
    def widths(self) -> list[int]:
        """[n_0, n_1, ..., n_out]: the input dimension, then every layer's output width."""
        return [self.input_dim] + [layer.n_out for layer in self.layers]

    @property
    def hidden_units(self) -> int:
        """Units that enter the activation pattern (layers with a non-linear activation)."""
        return self._offsets[-1]

    @property
    def pattern_slices(self) -> list[slice]:
        """For each layer, its columns in :meth:`activation_pattern` (empty for linear layers)."""
        return [slice(self._offsets[i], self._offsets[i + 1]) for i in range(len(self.layers))]

    def _inputs(self, x: Any) -> np.ndarray:
        array = np.asarray(x, dtype=np.float64)
        array = array.reshape(array.shape[0], -1) if array.ndim > 1 else array.reshape(1, -1)
        if array.shape[1] != self.input_dim:
            raise ValueError(f"Expected inputs of shape [n, {self.input_dim}]. Received: shape={list(np.shape(x))}.")
        return array

    def pre_activations(self, x: Any) -> list[np.ndarray]:
        """z_l = h_{l-1} W_l + b_l for every layer, each shape=[n, n_l], float64."""
        h = self._inputs(x)
        result = []
        for layer in self.layers:
            z = h @ layer.weight + layer.bias
            result.append(z)
            h = layer.activate(z)
        return result

    def __call__(self, x: Any) -> np.ndarray:
        """The network's outputs, shape=[n, output_dim], float64."""
        h = self._inputs(x)
        for layer in self.layers:
            h = layer.activate(h @ layer.weight + layer.bias)
        return h

    def activation_pattern(self, x: Any) -> np.ndarray:
        """z > 0 for every unit of every non-linear layer, shape=[n, hidden_units], bool."""
        pieces = [z > 0 for z, layer in zip(self.pre_activations(x), self.layers) if layer.is_piecewise]
        if not pieces:
            return np.zeros((self._inputs(x).shape[0], 0), dtype=bool)
        return np.concatenate(pieces, axis=1)

    def affine_maps(self, patterns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The affine map x -> x A + c of the whole network on the cell of each pattern.

        Args:
            patterns: shape=[k, hidden_units], bool (rows of :meth:`activation_pattern`).

        Returns:
            ``(A, c)``, shape=[k, input_dim, output_dim] and [k, output_dim], float64.
        """
        patterns = np.asarray(patterns, dtype=bool)
        if patterns.ndim != 2 or patterns.shape[1] != self.hidden_units:
            raise ValueError(
                f"Expected patterns of shape [k, {self.hidden_units}]. Received: shape={list(patterns.shape)}."
            )
        count = patterns.shape[0]
        linear = np.broadcast_to(np.eye(self.input_dim), (count, self.input_dim, self.input_dim))
        offset = np.zeros((count, self.input_dim))
        for layer, columns in zip(self.layers, self.pattern_slices):
            linear = linear @ layer.weight
            offset = offset @ layer.weight + layer.bias
            if layer.is_piecewise:
                slopes = np.where(patterns[:, columns], 1.0, layer.negative_slope)
                linear = linear * slopes[:, None, :]
                offset = offset * slopes
        return linear, offset


def lower(model: Any) -> LoweredNetwork:
    """Lower a Keras model (Sequential or functional chain) to a :class:`LoweredNetwork`.

    A :class:`LoweredNetwork` is returned unchanged, so every counting function accepts
    either. See the module docstring for the layers handled.

    Raises:
        UnsupportedLayerError: for a layer with no exact lowering, naming it and its class.
        TypeError: for anything that is neither a Keras model nor a LoweredNetwork.
    """
    if isinstance(model, LoweredNetwork):
        return model
    builder = _ChainBuilder(_single_input_shape(model))
    builder.add_model(model)
    return LoweredNetwork(builder.finish(), name=str(model.name))


def check_lowerable(model: Any) -> None:
    """Raise what :func:`lower` would raise for ``model``, reading its layers only (no weights).

    Cheap enough to run before training (a Conv2D's matrix is not computed), so that a model an
    exact evaluator cannot lower is refused before the run starts.

    Raises:
        UnsupportedLayerError: for the first layer with no exact lowering.
    """
    _ChainBuilder(_single_input_shape(model), dry_run=True).add_model(model)


def _single_input_shape(model: Any) -> tuple[int, ...]:
    """The input shape of one sample of a built single-output Keras model."""
    import keras

    if not isinstance(model, keras.Model):
        raise TypeError(f"Expected a keras.Model or a LoweredNetwork. Received: {type(model).__name__}.")
    input_shape = tuple(int(d) for d in model.inputs[0].shape[1:]) if _has_inputs(model) else None
    if input_shape is None or any(d is None for d in input_shape):
        raise ValueError(
            f"Expected a built model with a fully known input shape. Received: model "
            f"{model.name!r} with inputs {getattr(model, 'inputs', None)!r}."
        )
    if len(model.outputs) != 1:
        raise UnsupportedLayerError(
            f"Expected a model with one output. Received: model {model.name!r} with {len(model.outputs)} outputs."
        )
    return input_shape


def _has_inputs(model: Any) -> bool:
    try:
        return bool(model.inputs)
    except (AttributeError, ValueError):
        return False


_IDENTITY_LAYERS = (
    "InputLayer",
    "Dropout",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "GaussianNoise",
    "GaussianDropout",
    "AlphaDropout",
    "ActivityRegularization",
)


class _ChainBuilder:
    """Accumulates a pending affine map; an activation closes it into an AffineLayer.

    With ``dry_run`` only the shapes are followed: every layer is checked, no weight is read.
    """

    def __init__(self, input_shape: Sequence[int], dry_run: bool = False):
        self.dry_run = dry_run
        self.shape = tuple(int(d) for d in input_shape)
        size = int(np.prod(self.shape))
        self.weight: np.ndarray | None = None  # None: the identity, never materialised unless needed
        self.bias = np.zeros(size)
        self.layers: list[AffineLayer] = []

    # ------------------------------------------------------------------ plumbing
    def add_model(self, model: Any) -> None:
        import keras
        from keras.src.models.functional import Functional

        if type(model) not in (Functional, keras.Sequential):  # a call() of its own: not a readable chain
            raise UnsupportedLayerError(
                f"Cannot lower model {model.name!r} of class {type(model).__name__}: a subclassed model's call() "
                f"may combine its layers in any way. Expected a functional or Sequential model."
            )
        for layer in model.layers:
            self._check_single_input(layer, model)
            if isinstance(layer, keras.Model):
                self.add_model(layer)
            else:
                self.add_layer(layer)

    @staticmethod
    def _check_single_input(layer: Any, model: Any) -> None:
        nodes = getattr(layer, "_inbound_nodes", None) or []
        for node in nodes:
            tensors = getattr(node, "input_tensors", None)
            if tensors is not None and len(tensors) > 1:
                raise UnsupportedLayerError(
                    f"Cannot lower layer {layer.name!r} of class {type(layer).__name__} in model "
                    f"{model.name!r}: it takes {len(tensors)} inputs. Expected a chain of "
                    f"single-input layers (residual Add blocks are not lowered: see "
                    f"geokeras.complexity.lowering)."
                )

    def _materialised_weight(self) -> np.ndarray:
        return np.eye(self.bias.size) if self.weight is None else self.weight

    def _compose(self, weight: np.ndarray, bias: np.ndarray) -> None:
        self.weight = weight.copy() if self.weight is None else self.weight @ weight
        self.bias = self.bias @ weight + bias

    def _close(self, activation: str, negative_slope: float = 0.0) -> None:
        if self.dry_run:
            return
        self.layers.append(AffineLayer(self._materialised_weight(), self.bias, activation, negative_slope))
        self.weight = None
        self.bias = np.zeros(self.layers[-1].n_out)

    def finish(self) -> tuple[AffineLayer, ...]:
        if not self.layers or self.weight is not None or np.any(self.bias):
            self._close("linear")
        return tuple(self.layers)

    # ------------------------------------------------------------------ layers
    def add_layer(self, layer: Any) -> None:
        kind = type(layer).__name__
        config = layer.get_config()
        if kind in _IDENTITY_LAYERS:
            return
        if kind == "Flatten":
            self.shape = (int(np.prod(self.shape)),)
            return
        if kind == "Reshape":
            target = tuple(int(d) for d in config["target_shape"])
            if -1 in target:
                known = int(np.prod([d for d in target if d != -1]))
                target = tuple(int(np.prod(self.shape)) // known if d == -1 else d for d in target)
            self.shape = target
            return
        if kind == "Dense":
            self._dense(layer)
            self._activation(layer, config.get("activation", "linear"))
            return
        if kind == "Conv2D":
            self._conv2d(layer, config)
            self._activation(layer, config.get("activation", "linear"))
            return
        if kind == "BatchNormalization":
            self._batch_norm(layer, config)
            return
        if kind == "Activation":
            self._activation(layer, config["activation"])
            return
        if kind == "ReLU":
            if config.get("max_value") is not None or float(config.get("threshold", 0.0)) != 0.0:
                raise self._unsupported(layer, "a ReLU with max_value or threshold is not lowered")
            slope = float(config.get("negative_slope", 0.0))
            self._close("leaky_relu" if slope else "relu", slope)
            return
        if kind == "LeakyReLU":
            slope = float(config.get("negative_slope", config.get("alpha", 0.3)))
            self._close("leaky_relu", slope)
            return
        raise self._unsupported(
            layer,
            "expected one of Dense, Conv2D, ReLU, LeakyReLU, Activation (relu, leaky_relu, "
            "linear), BatchNormalization, Dropout, Flatten, Reshape, InputLayer",
        )

    @staticmethod
    def _unsupported(layer: Any, why: str) -> UnsupportedLayerError:
        return UnsupportedLayerError(f"Cannot lower layer {layer.name!r} of class {type(layer).__name__}: {why}.")

    def _activation(self, layer: Any, activation: Any) -> None:
        name = activation if isinstance(activation, str) else getattr(activation, "__name__", str(activation))
        if isinstance(activation, dict):  # a serialized activation
            name = activation.get("config", activation).get("name", str(activation))
        if name in (None, "linear"):
            return
        if name == "relu":
            self._close("relu")
            return
        if name == "leaky_relu":
            # keras.activations.leaky_relu's default slope.
            self._close("leaky_relu", 0.2)
            return
        raise self._unsupported(
            layer,
            f"activation {name!r} is not piecewise linear; expected relu, leaky_relu or linear",
        )

    def _dense(self, layer: Any) -> None:
        if len(self.shape) != 1:
            raise self._unsupported(
                layer,
                f"a Dense layer on inputs of shape {list(self.shape)} (rank > 1) is not lowered; "
                f"put a Flatten before it",
            )
        if self.dry_run:
            self.shape = (int(layer.units),)
            return
        weights = layer.get_weights()
        kernel = np.asarray(weights[0], dtype=np.float64)
        bias = np.asarray(weights[1], dtype=np.float64) if len(weights) > 1 else np.zeros(kernel.shape[1])
        self._compose(kernel, bias)
        self.shape = (kernel.shape[1],)

    def _batch_norm(self, layer: Any, config: dict) -> None:
        axis = config.get("axis", -1)
        axis = axis[0] if isinstance(axis, (list, tuple)) and len(axis) == 1 else axis
        if not isinstance(axis, int):
            raise self._unsupported(layer, f"BatchNormalization over axes {axis!r}")
        rank = len(self.shape) + 1  # with the batch axis
        axis = axis % rank
        if axis == 0:
            raise self._unsupported(layer, "BatchNormalization over the batch axis")
        channels = self.shape[axis - 1]
        if self.dry_run:
            return
        gamma = np.asarray(layer.gamma.numpy(), np.float64) if layer.gamma is not None else np.ones(channels)
        beta = np.asarray(layer.beta.numpy(), np.float64) if layer.beta is not None else np.zeros(channels)
        mean = np.asarray(layer.moving_mean.numpy(), np.float64)
        variance = np.asarray(layer.moving_variance.numpy(), np.float64)
        scale = gamma / np.sqrt(variance + float(config.get("epsilon", 1e-3)))
        shift = beta - mean * scale
        # Broadcast the per-channel scale over the (row-major) flattened vector.
        shape = [1] * len(self.shape)
        shape[axis - 1] = channels
        scale_full = np.broadcast_to(scale.reshape(shape), self.shape).reshape(-1)
        shift_full = np.broadcast_to(shift.reshape(shape), self.shape).reshape(-1)
        self.weight = self._materialised_weight() * scale_full
        self.bias = self.bias * scale_full + shift_full

    def _check_conv_matrix_size(self, layer: Any, size: int, out_size: int) -> None:
        if size * out_size > MAX_CONV_MATRIX_ENTRIES:
            raise self._unsupported(
                layer,
                f"its explicit matrix would be {size} x {out_size} = {size * out_size} entries, more "
                f"than MAX_CONV_MATRIX_ENTRIES = {MAX_CONV_MATRIX_ENTRIES} (1 GiB of float64)",
            )

    def _conv2d(self, layer: Any, config: dict) -> None:
        """The convolution's matrix: row i is the (flattened) image of the i-th basis input."""
        import tensorflow as tf

        if len(self.shape) != 3:
            raise self._unsupported(layer, f"Conv2D on inputs of shape {list(self.shape)}")
        if int(config.get("groups", 1)) != 1:
            raise self._unsupported(layer, "grouped Conv2D")
        channels_first = config.get("data_format") == "channels_first"
        size = int(np.prod(self.shape))
        strides = tuple(config.get("strides", (1, 1)))
        dilations = tuple(config.get("dilation_rate", (1, 1)))
        padding = str(config.get("padding", "valid")).upper()
        if padding not in ("VALID", "SAME"):
            raise self._unsupported(layer, f"padding {config.get('padding')!r}")
        if self.dry_run:
            out_shape = tuple(int(d) for d in layer.compute_output_shape((1, *self.shape))[1:])
            self._check_conv_matrix_size(layer, size, int(np.prod(out_shape)))
            self.shape = out_shape
            return
        kernel = tf.constant(np.asarray(layer.kernel.numpy(), np.float64))

        def images_of(first: int, count: int) -> Any:
            """The layer's linear part applied to basis vectors first..first+count-1 (NHWC)."""
            basis = tf.one_hot(tf.range(first, first + count), size, dtype=tf.float64)
            basis = tf.reshape(basis, (count,) + self.shape)
            if channels_first:  # convolve in NHWC (what TF's CPU kernels take), then back
                basis = tf.transpose(basis, [0, 2, 3, 1])
            images = tf.nn.conv2d(basis, kernel, strides=strides, padding=padding, dilations=dilations)
            return tf.transpose(images, [0, 3, 1, 2]) if channels_first else images

        out_shape = tuple(int(d) for d in images_of(0, 1).shape[1:])
        out_size = int(np.prod(out_shape))
        self._check_conv_matrix_size(layer, size, out_size)
        chunk = max(1, (1 << 22) // max(out_size, 1))  # basis images computed 32 MiB at a time
        matrix = np.concatenate(
            [
                tf.reshape(images_of(first, min(chunk, size - first)), (-1, out_size)).numpy()
                for first in range(0, size, chunk)
            ]
        )
        bias = np.zeros(matrix.shape[1])
        if getattr(layer, "bias", None) is not None:
            channel_bias = np.asarray(layer.bias.numpy(), np.float64)
            shape = [1, 1, 1]
            shape[0 if channels_first else 2] = channel_bias.size
            bias = np.broadcast_to(channel_bias.reshape(shape), out_shape).reshape(-1).copy()
        self._compose(matrix, bias)
        self.shape = out_shape
