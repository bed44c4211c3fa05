"""Spec -> Keras 3 functional models: the encoder (chart), the decoder (parameterisation).

The encoder plays the chart phi_theta: R^n -> R^m of the data manifold, the decoder its
parameterisation psi_theta: R^m -> R^n, and the autoencoder psi_theta o phi_theta (Lei, Luo,
Yau, Gu, *Geometric Understanding of Deep Learning*, arXiv:1805.10451, section 1).

Every model is a functional ``keras.Model`` built only from built-in Keras layers, so it
survives ``model.save("x.keras")`` / ``keras.models.load_model`` and ``get_config`` /
``from_config`` without custom objects.

Layer conventions (the complexity module reads them to lower a network into affine maps and
activations):

* a ``Dense`` / ``Conv2D`` / ``Conv2DTranspose`` layer never carries an activation
  (``activation=None``): it is the affine map T_i;
* an optional ``BatchNormalization`` follows it (affine at inference time);
* the nonlinearity is its own layer: ``Activation(name)`` or ``LeakyReLU(negative_slope)``;
* an optional ``Dropout`` follows (the identity at inference time);
* the last affine layer is named ``<role>_output`` and computes in float32 (so that the
  outputs are float32 under the ``mixed_float16`` policy); its activation, when not linear,
  is ``<role>_output_activation``.

Hidden layers are named ``<role>_dense_<i>``, ``<role>_conv_<i>``, ``<role>_batch_norm_<i>``,
``<role>_activation_<i>``, ``<role>_dropout_<i>``, ``<role>`` being ``encoder`` or ``decoder``.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence, Union

import keras

# Keras exports no public way to *force* safe mode: ``keras.config.enable_unsafe_deserialization``
# flips a process-wide flag that overrides ``safe_mode=True`` arguments. SafeModeScope (the scope
# Keras itself uses in ``load_model``) sets the flag for the duration of a block and restores it.
from keras.src.saving.serialization_lib import SafeModeScope

from geokeras.errors import KeyPath, SpecError
from geokeras.limits import MAX_PARAMETERS
from geokeras.models.params import (
    FORBIDDEN_KERAS_LAYERS,
    ConvParams,
    DenseStackParams,
    KerasLayersParams,
    MirrorParams,
    MLPParams,
    ModelSpec,
    forbidden_message,
    is_forbidden,
    nested_config_problem,
)
from geokeras.models.size import check_parameter_budget, width_key
from geokeras.registry import DECODERS, ENCODERS, did_you_mean

Shape = tuple[int, ...]
ROLES = ("encoder", "decoder")
CODE_PENALTY_LAYER = "code_l1_penalty"
"""Name of the ActivityRegularization layer on the codes inside the autoencoder."""


@dataclass(frozen=True)
class Autoencoder:
    """The three functional models of one autoencoder.

    Attributes:
        encoder: phi, inputs ``shape=[batch, *input_shape]`` -> codes ``shape=[batch, latent_dim]``.
        decoder: psi, codes ``shape=[batch, latent_dim]`` -> ``shape=[batch, *input_shape]``.
        autoencoder: psi o phi (with the L1 penalty on the codes when ``code_l1 > 0``); it
            shares its layers and weights with ``encoder`` and ``decoder``.
    """

    encoder: keras.Model
    decoder: keras.Model
    autoencoder: keras.Model

    @property
    def input_shape(self) -> Shape:
        """The shape of one sample, e.g. ``(3,)`` or ``(28, 28, 1)``."""
        return tuple(self.encoder.inputs[0].shape[1:])

    @property
    def latent_dim(self) -> int:
        """m, the dimension of the codes."""
        return int(self.encoder.outputs[0].shape[-1])

    @property
    def code_l1(self) -> float:
        """Weight of the L1 penalty on the codes (0.0 when the autoencoder has none)."""
        try:
            return float(self.autoencoder.get_layer(CODE_PENALTY_LAYER).l1)
        except ValueError:
            return 0.0

    @classmethod
    def from_autoencoder(cls, autoencoder: keras.Model) -> "Autoencoder":
        """Recover the bundle from a (loaded) autoencoder model built by this module."""
        return cls(
            encoder=autoencoder.get_layer("encoder"),
            decoder=autoencoder.get_layer("decoder"),
            autoencoder=autoencoder,
        )


# ------------------------------------------------------------------------------ entry point
def build_autoencoder(model_spec: ModelSpec, input_shape: Sequence[int], *, code_l1: float = 0.0) -> Autoencoder:
    """Build the encoder, decoder and autoencoder that ``model_spec`` describes.

    Build inside ``strategy.scope()`` (see :func:`geokeras.models.runtime.configure_runtime`)
    so that the variables live where the model trains.

    Args:
        model_spec: the ``model:`` section of a spec.
        input_shape: the shape of one sample: ``(n,)`` for points of R^n, ``(H, W, C)`` for
            images.
        code_l1: weight lambda of the L1 penalty lambda * mean_i |phi(x_i)|_1 on the codes
            (``train.loss.code_l1``); it is added by a ``keras.layers.ActivityRegularization``
            layer named ``code_l1_penalty`` between encoder and decoder.

    Returns:
        An :class:`Autoencoder`; its models are named ``encoder``, ``decoder``, ``autoencoder``.

    Raises:
        SpecError: the spec asks for a model that cannot be built (the error's ``path`` names
            the key of ``model_spec``, e.g. ``("decoder", "type")``).
    """
    input_shape = _checked_shape(input_shape, "input_shape")
    if not (isinstance(code_l1, (int, float)) and math.isfinite(code_l1) and code_l1 >= 0):
        raise ValueError(
            f"Received an invalid value for `code_l1`: expected a finite number >= 0. Received: code_l1={code_l1!r}"
        )
    latent_shape = (int(model_spec.latent_dim),)
    check_parameter_budget(model_spec, input_shape)  # before any layer allocates its weights

    encoder = ENCODERS.build(
        model_spec.encoder, input_shape=input_shape, output_shape=latent_shape, role="encoder", key_path=("encoder",)
    )
    decoder = DECODERS.build(
        model_spec.decoder,
        input_shape=latent_shape,
        output_shape=input_shape,
        role="decoder",
        encoder_params=model_spec.encoder,
        key_path=("decoder",),
    )

    inputs = keras.Input(shape=input_shape, name="autoencoder_input")
    codes = encoder(inputs)
    if code_l1 > 0:
        codes = keras.layers.ActivityRegularization(l1=float(code_l1), name=CODE_PENALTY_LAYER, dtype="float32")(codes)
    reconstructions = decoder(codes)
    autoencoder = keras.Model(inputs, reconstructions, name="autoencoder")
    _check_built_size(model_spec, encoder, decoder)
    return Autoencoder(encoder=encoder, decoder=decoder, autoencoder=autoencoder)


def _check_built_size(model_spec: ModelSpec, encoder: keras.Model, decoder: keras.Model) -> None:
    """The built networks within MAX_PARAMETERS (keras_layers chains were only estimated)."""
    counts = {"encoder": encoder.count_params(), "decoder": decoder.count_params()}
    total = sum(counts.values())
    if total > MAX_PARAMETERS:
        role = max(counts, key=counts.get)
        raise SpecError(
            f"expected an autoencoder of at most {MAX_PARAMETERS:,} parameters (the weights, their "
            f"gradients and the optimizer's moments must fit in memory). Received: {total:,} parameters "
            f"(encoder {counts['encoder']:,}, decoder {counts['decoder']:,}); use smaller widths.",
            width_key(model_spec, role),
        )


# ------------------------------------------------------------------------------ mlp
def build_mlp(
    params: MLPParams,
    *,
    input_shape: Sequence[int],
    output_shape: Sequence[int],
    role: str,
    encoder_params: Any = None,
) -> keras.Model:
    """A multilayer perceptron R^{w_0} -> R^{w_{k+1}}.

    phi = T_{k+1} o sigma o T_k o ... o sigma o T_1, with T_i affine (``Dense``), each hidden
    T_i optionally followed by BatchNormalization, then the activation sigma, then Dropout.
    Image inputs (``[H, W, C]``) are flattened first; image outputs are produced by a Dense
    layer of width H*W*C and a Reshape.

    Args:
        params: hidden ``widths`` (input side first), activation, batch_norm, dropout, ...
        input_shape: one input sample's shape, ``(w_0,)`` or ``(H, W, C)``.
        output_shape: one output's shape, ``(latent_dim,)`` or the data shape.
        role: ``"encoder"`` or ``"decoder"``; names the model and prefixes its layer names.
        encoder_params: unused (the signature is shared by every builder).
    """
    role = _checked_role(role)
    input_shape = _checked_shape(input_shape, "input_shape")
    output_shape = _checked_shape(output_shape, "output_shape")

    inputs = keras.Input(shape=input_shape, name=f"{role}_input")
    x = inputs
    if len(input_shape) > 1:
        x = keras.layers.Flatten(name=f"{role}_flatten")(x)
    for index, width in enumerate(params.widths):
        x = _hidden_block(x, keras.layers.Dense, width, params, role, index, kind="dense")
    x = _output_layers(x, keras.layers.Dense, math.prod(output_shape), params, role)
    if len(output_shape) > 1:
        x = keras.layers.Reshape(output_shape, name=f"{role}_reshape", dtype="float32")(x)
    return keras.Model(inputs, x, name=role)


# ------------------------------------------------------------------------------ conv
def build_conv(
    params: ConvParams,
    *,
    input_shape: Sequence[int],
    output_shape: Sequence[int],
    role: str,
    encoder_params: Any = None,
) -> keras.Model:
    """A convolutional encoder [H, W, C] -> R^m, or its transpose R^m -> [H, W, C].

    Encoder: ``Conv2D(filters[i], kernel_size, strides, padding="same")`` for each filter
    count (each with optional BatchNormalization, the activation, optional Dropout), Flatten,
    the optional ``dense`` hidden layers, then ``Dense(latent_dim)``.

    Decoder (the same parameters, read in the encoder's order and applied in reverse):
    the ``dense`` widths reversed, a Dense layer to the smallest feature map
    [h_L, w_L, filters[-1]] with h_L = ceil(H / s^L) (what L "same" convolutions of stride s
    leave of H), Reshape, ``Conv2DTranspose`` with filters[L-1], ..., filters[0] (each
    multiplies the size by s), a centred Cropping2D when h_L * s^L > H, and a final
    ``Conv2D(C, kernel_size, padding="same")`` with ``output_activation``.

    Args:
        params: filters, kernel_size, strides, dense widths and the shared stack options.
        input_shape: ``(H, W, C)`` for the encoder, ``(latent_dim,)`` for the decoder.
        output_shape: ``(latent_dim,)`` for the encoder, ``(H, W, C)`` for the decoder.
        role: ``"encoder"`` or ``"decoder"``.
        encoder_params: unused.
    """
    role = _checked_role(role)
    input_shape = _checked_shape(input_shape, "input_shape")
    output_shape = _checked_shape(output_shape, "output_shape")
    image_shape = input_shape if role == "encoder" else output_shape
    if len(image_shape) != 3:
        raise SpecError(
            f"type conv needs image data of shape [H, W, C]. Received data of shape "
            f"{list(image_shape)}. Expected type: mlp (or keras_layers) for vector data.",
            path=("type",),
        )
    if not params.filters:
        raise SpecError(
            "expected at least one convolution for type conv. Received: filters=[]. "
            "Use type: mlp for a network without convolutions.",
            path=("filters",),
        )
    if role == "encoder":
        return _conv_encoder(params, input_shape, output_shape)
    return _conv_decoder(params, input_shape, output_shape)


def _conv_encoder(params: ConvParams, image_shape: Shape, code_shape: Shape) -> keras.Model:
    role = "encoder"
    inputs = keras.Input(shape=image_shape, name=f"{role}_input")
    x = inputs
    for index, filters in enumerate(params.filters):
        convolution = _conv_layer(keras.layers.Conv2D, params)
        x = _hidden_block(x, convolution, filters, params, role, index, kind="conv")
    x = keras.layers.Flatten(name=f"{role}_flatten")(x)
    for index, width in enumerate(params.dense):
        x = _hidden_block(x, keras.layers.Dense, width, params, role, index, kind="dense")
    x = _output_layers(x, keras.layers.Dense, math.prod(code_shape), params, role)
    if len(code_shape) > 1:
        x = keras.layers.Reshape(code_shape, name=f"{role}_reshape", dtype="float32")(x)
    return keras.Model(inputs, x, name=role)


def conv_feature_map_size(size: int, strides: int, convolutions: int) -> int:
    """Side of the feature map left by ``convolutions`` "same" convolutions of stride s.

    ceil(... ceil(ceil(size / s) / s) ... / s), applied ``convolutions`` times.
    """
    for _ in range(convolutions):
        size = -(-size // strides)
    return size


def _conv_decoder(params: ConvParams, code_shape: Shape, image_shape: Shape) -> keras.Model:
    role = "decoder"
    height, width, channels = image_shape
    count = len(params.filters)
    map_height = conv_feature_map_size(height, params.strides, count)
    map_width = conv_feature_map_size(width, params.strides, count)
    upsampled_height = map_height * params.strides**count
    upsampled_width = map_width * params.strides**count

    inputs = keras.Input(shape=code_shape, name=f"{role}_input")
    x = inputs
    if len(code_shape) > 1:
        x = keras.layers.Flatten(name=f"{role}_flatten")(x)
    dense_widths = list(reversed(params.dense)) + [map_height * map_width * params.filters[-1]]
    for index, units in enumerate(dense_widths):
        x = _hidden_block(x, keras.layers.Dense, units, params, role, index, kind="dense")
    x = keras.layers.Reshape((map_height, map_width, params.filters[-1]), name=f"{role}_reshape")(x)
    transposed = _conv_layer(keras.layers.Conv2DTranspose, params)
    for index, filters in enumerate(reversed(params.filters)):
        x = _hidden_block(x, transposed, filters, params, role, index, kind="conv_transpose")
    crop_height, crop_width = upsampled_height - height, upsampled_width - width
    if crop_height or crop_width:
        x = keras.layers.Cropping2D(
            ((crop_height // 2, crop_height - crop_height // 2), (crop_width // 2, crop_width - crop_width // 2)),
            name=f"{role}_crop",
        )(x)
    final_conv = _conv_layer(keras.layers.Conv2D, params, strides=1)
    x = _output_layers(x, final_conv, channels, params, role)
    if tuple(x.shape[1:]) != tuple(image_shape):  # a bug, not a spec problem
        raise AssertionError(f"conv decoder produced {tuple(x.shape[1:])}, expected {image_shape}")
    return keras.Model(inputs, x, name=role)


def _conv_layer(layer_class: type, params: ConvParams, strides: Optional[int] = None) -> Any:
    def make(units: int, **kwargs: Any) -> keras.layers.Layer:
        return layer_class(
            units,
            kernel_size=params.kernel_size,
            strides=params.strides if strides is None else strides,
            padding="same",
            **kwargs,
        )

    return make


# ------------------------------------------------------------------------------ mirror
def build_mirror(
    params: MirrorParams,
    *,
    input_shape: Sequence[int],
    output_shape: Sequence[int],
    role: str,
    encoder_params: Any = None,
) -> keras.Model:
    """The decoder that mirrors the encoder.

    mlp encoder with hidden widths [w_1, ..., w_k] -> mlp decoder with widths [w_k, ..., w_1]
    and the encoder's activation, negative_slope, batch_norm, dropout and initializer; conv
    encoder -> conv decoder with the same filters, kernel, strides and dense widths (the
    conv decoder applies them in reverse). The decoder's last layer is linear: the data live
    in R^n (write the decoder out for, e.g., a sigmoid on images in [0, 1]).
    """
    role = _checked_role(role)
    if role != "decoder":
        raise SpecError(
            "type mirror is a decoder type: it mirrors the encoder. Received it as the encoder.",
            path=("type",),
        )
    if encoder_params is None:
        raise ValueError("build_mirror needs `encoder_params`, the encoder's parameters.")
    if isinstance(encoder_params, MLPParams):
        mirrored = encoder_params.model_copy(
            update={
                "widths": list(reversed(encoder_params.widths)),
                "output_activation": "linear",
            }
        )
        return build_mlp(mirrored, input_shape=input_shape, output_shape=output_shape, role=role)
    if isinstance(encoder_params, ConvParams):
        mirrored = encoder_params.model_copy(update={"output_activation": "linear"})
        return build_conv(mirrored, input_shape=input_shape, output_shape=output_shape, role=role)
    received = getattr(encoder_params, "type", type(encoder_params).__name__)
    raise SpecError(
        f"decoder type mirror needs an mlp or conv encoder to mirror. Received encoder type "
        f"{received!r}. Expected an explicit decoder, e.g. decoder: {{type: keras_layers, "
        f"layers: [...]}} or decoder: {{type: mlp, widths: [...]}}.",
        path=("type",),
    )


# ------------------------------------------------------------------------------ keras_layers
def build_keras_layers(
    params: KerasLayersParams,
    *,
    input_shape: Sequence[int],
    output_shape: Sequence[int],
    role: str,
    encoder_params: Any = None,
) -> keras.Model:
    """A chain of Keras layers, each given as Keras serializes it (``class_name``, ``config``).

    Each layer is deserialized with Keras safe mode forced on (no Python lambdas), from the
    built-in ``keras.layers`` namespace or the registered Keras serializables only; the
    layers in :data:`~geokeras.models.params.FORBIDDEN_KERAS_LAYERS` are refused. The chain
    must map ``input_shape`` to ``output_shape`` exactly. Under mixed precision a float32
    ``Activation("linear")`` named ``<role>_float32_output`` is appended when the last layer
    does not already compute in float32.
    """
    role = _checked_role(role)
    input_shape = _checked_shape(input_shape, "input_shape")
    output_shape = _checked_shape(output_shape, "output_shape")
    inputs = keras.Input(shape=input_shape, name=f"{role}_input")
    x = inputs
    weights = 0
    for index, layer_spec in enumerate(params.layers):
        path = ("layers", index)
        layer = deserialize_keras_layer(layer_spec.class_name, layer_spec.config, path=path)
        weights += layer_parameter_estimate(layer, tuple(x.shape))
        if weights > MAX_PARAMETERS:  # checked before the layer is built: building allocates
            raise SpecError(
                f"expected at most {MAX_PARAMETERS:,} parameters in the {role} (the weights, their gradients "
                f"and the optimizer's moments must fit in memory). Received: about {weights:,} parameters "
                f"up to this layer, on inputs of shape {shape_text(x.shape)}.",
                path=path + ("config",),
            )
        try:
            x = layer(x)
        except Exception as error:  # the user's layer rejected its input: a spec problem
            raise SpecError(
                f"Keras layer {layer_spec.class_name} cannot be applied to inputs of shape "
                f"{shape_text(x.shape)}: {first_line(error)}",
                path=path + ("config",),
            ) from error
    received = tuple(x.shape[1:])
    if received != tuple(output_shape):
        what = "latent_dim" if role == "encoder" else "the shape of one data sample"
        raise SpecError(
            f"expected the last layer to output shape {shape_text((None,) + tuple(output_shape))} "
            f"({what}). Received: output shape {shape_text(x.shape)}.",
            path=("layers",),
        )
    if x.dtype != "float32":
        x = keras.layers.Activation("linear", dtype="float32", name=f"{role}_float32_output")(x)
    try:
        return keras.Model(inputs, x, name=role)
    except ValueError as error:  # e.g. two layers given the same name
        raise SpecError(first_line(error), path=("layers",)) from error


def deserialize_keras_layer(class_name: str, config: Mapping[str, Any], *, path: KeyPath = ()) -> keras.layers.Layer:
    """Instantiate the Keras layer ``class_name`` from ``config``, with safe mode forced on.

    Args:
        class_name: a layer of ``keras.layers`` (``Dense``, ``Conv2D``, ...) or a name
            registered with ``keras.saving.register_keras_serializable``.
        config: the constructor arguments, as ``layer.get_config()`` writes them; nested
            Keras objects (initializers, regularizers) in their serialized form.
        path: the spec key path of this layer, for error messages.

    Raises:
        SpecError: at ``path + ("class_name",)`` for a forbidden or unknown class, at
            ``path + ("config",)`` for arguments the layer rejects.
    """
    if is_forbidden(class_name):
        raise SpecError(forbidden_message(class_name), path=path + ("class_name",))
    nested = nested_config_problem(config) if isinstance(config, Mapping) else None
    if nested is not None:
        raise SpecError(nested[1], path=path + ("config",) + nested[0])
    layer_class = _keras_layer_class(class_name)
    if layer_class is None:
        raise SpecError(
            f"Unknown Keras layer class_name {class_name!r}. Expected a layer of keras.layers "
            f"(e.g. Dense, Conv2D, BatchNormalization, LeakyReLU) or a registered Keras "
            f"serializable.{did_you_mean(class_name, _keras_layer_names())}",
            path=path + ("class_name",),
        )
    if not isinstance(config, Mapping):
        raise SpecError(
            f"expected config to be a mapping of constructor arguments. Received: {config!r}",
            path=path + ("config",),
        )
    with SafeModeScope(True):
        try:
            layer = layer_class.from_config(dict(config))
        except Exception as error:  # any constructor complaint is the spec's to fix
            raise SpecError(
                f"Received an invalid config for Keras layer {class_name}: {first_line(error)} "
                f"Expected the constructor arguments of keras.layers.{class_name}. "
                f"Received: config={dict(config)!r}",
                path=path + ("config",),
            ) from error
    if not isinstance(layer, keras.layers.Layer):
        raise SpecError(
            f"{class_name} did not produce a Keras layer. Received: {type(layer).__name__}.",
            path=path + ("class_name",),
        )
    for inner in layer._flatten_layers(include_self=False, recursive=True):  # wrapped layers
        if is_forbidden(type(inner).__name__):
            raise SpecError(forbidden_message(type(inner).__name__), path=path + ("config",))
    return layer


def layer_parameter_estimate(layer: keras.layers.Layer, input_shape: Shape) -> int:
    """The weights an unbuilt layer will allocate on inputs of ``input_shape`` (batch axis first).

    Exact for Dense, the convolutions, Embedding and the normalizations, an estimate for the
    recurrent layers (4 gates, as LSTM), 0 for layers without weights or of unknown kinds. Wrappers
    (TimeDistributed, Bidirectional) count their wrapped layers.
    """
    channels = input_shape[-1] if input_shape and input_shape[-1] is not None else 1
    if isinstance(layer, keras.layers.Bidirectional):
        return 2 * layer_parameter_estimate(layer.forward_layer, input_shape)
    if isinstance(layer, keras.layers.TimeDistributed):
        return layer_parameter_estimate(layer.layer, input_shape[:1] + tuple(input_shape[2:]))
    if isinstance(layer, keras.layers.Embedding):
        return int(layer.input_dim) * int(layer.output_dim)
    if isinstance(layer, (keras.layers.BatchNormalization, keras.layers.LayerNormalization)):
        return 4 * int(channels)
    filters, kernel_size = getattr(layer, "filters", None), getattr(layer, "kernel_size", None)
    if isinstance(filters, int) and kernel_size is not None:
        return math.prod(kernel_size) * int(channels) * filters + filters
    units = getattr(layer, "units", None)
    if isinstance(layer, keras.layers.RNN) or hasattr(layer, "cell"):
        units = getattr(getattr(layer, "cell", layer), "units", units)
        return 4 * (int(channels) + int(units) + 1) * int(units) if isinstance(units, int) else 0
    if isinstance(units, int):
        return (int(channels) + 1) * units
    return 0


def _keras_layer_class(class_name: str) -> Optional[type]:
    if class_name.startswith("_"):
        return None
    candidate = getattr(keras.layers, class_name, None)
    if candidate is None:
        candidate = keras.saving.get_registered_object(class_name)
    if isinstance(candidate, type) and issubclass(candidate, keras.layers.Layer):
        if issubclass(candidate, keras.Model):
            return None
        return candidate
    return None


def _keras_layer_names() -> list[str]:
    return [
        name
        for name in dir(keras.layers)
        if not name.startswith("_")
        and name not in FORBIDDEN_KERAS_LAYERS
        and isinstance(getattr(keras.layers, name), type)
        and issubclass(getattr(keras.layers, name), keras.layers.Layer)
    ]


# ------------------------------------------------------------------------------ blocks
def _hidden_block(
    x: Any,
    make_affine: Any,
    units: int,
    params: DenseStackParams,
    role: str,
    index: int,
    *,
    kind: str,
) -> Any:
    """affine (no activation) -> [BatchNormalization] -> activation -> [Dropout]."""
    x = make_affine(
        units,
        activation=None,
        kernel_initializer=params.kernel_initializer,
        name=f"{role}_{kind}_{index}",
    )(x)
    if params.batch_norm:
        x = keras.layers.BatchNormalization(name=f"{role}_{kind}_batch_norm_{index}")(x)
    activation_name = f"{role}_{kind}_activation_{index}"
    x = _activation_layer(params.activation, params.negative_slope, activation_name)(x)
    if params.dropout > 0:
        x = keras.layers.Dropout(params.dropout, name=f"{role}_{kind}_dropout_{index}")(x)
    return x


def _output_layers(x: Any, make_affine: Any, units: int, params: DenseStackParams, role: str) -> Any:
    """The last affine layer and its activation, both computing in float32."""
    x = make_affine(
        units,
        activation=None,
        kernel_initializer=params.kernel_initializer,
        name=f"{role}_output",
        dtype="float32",
    )(x)
    if params.output_activation != "linear":
        x = _activation_layer(
            params.output_activation,
            params.negative_slope,
            f"{role}_output_activation",
            dtype="float32",
        )(x)
    return x


def _activation_layer(
    activation: str, negative_slope: float, name: str, dtype: Optional[str] = None
) -> keras.layers.Layer:
    if activation == "leaky_relu":
        return keras.layers.LeakyReLU(negative_slope=float(negative_slope), name=name, dtype=dtype)
    return keras.layers.Activation(activation, name=name, dtype=dtype)


# ------------------------------------------------------------------------------ checks
def _checked_role(role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"Received an invalid value for `role`: expected one of {ROLES}. Received: role={role!r}")
    return role


def _checked_shape(shape: Union[Sequence[int], Any], name: str) -> Shape:
    try:
        dims = tuple(operator.index(d) for d in shape if not isinstance(d, bool))
        if len(dims) != len(tuple(shape)):
            dims = None
    except TypeError:
        dims = None
    if dims is None or len(dims) not in (1, 3) or not all(d > 0 for d in dims):
        raise ValueError(
            f"Received an invalid value for `{name}`: expected (n,) for vectors or (H, W, C) "
            f"for images, with positive integer sizes. Received: {name}={shape!r}"
        )
    return dims


def shape_text(shape: Sequence[Any]) -> str:
    """``(None, 3)``, ``(2,)``: a shape as Python writes a tuple, for messages."""
    dims = ["None" if d is None else str(d) for d in shape]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def first_line(error: BaseException) -> str:
    """The first line of an exception's message (its type's name when empty), for messages."""
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]
