"""The parameter count of an autoencoder, from its spec alone (no TensorFlow, nothing allocated).

Keras allocates every weight the moment a layer is built, so ``widths: [1000000000]`` would
take gigabytes before any check could look at the model. :func:`parameter_counts` counts the
weights of the ``mlp``, ``conv`` and ``mirror`` networks that ``geokeras.models.builder`` would
build, exactly (``keras.Model.count_params()``, BatchNormalization's moving statistics
included), so that :func:`check_parameter_budget` refuses a model past
:data:`~geokeras.limits.MAX_PARAMETERS` before it exists. A ``keras_layers`` network is counted
layer by layer while it is built (``builder.build_keras_layers``).
"""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence

from geokeras.errors import KeyPath, SpecError
from geokeras.limits import MAX_PARAMETERS

Shape = tuple[int, ...]


def parameter_counts(model_spec: Any, input_shape: Sequence[int]) -> dict[str, Optional[int]]:
    """``{"encoder": n, "decoder": n}``: the weights of each network; None where not countable here.

    Args:
        model_spec: the ``model:`` section (:class:`~geokeras.models.params.ModelSpec`).
        input_shape: one sample's shape, ``(n,)`` or ``(H, W, C)``.
    """
    input_shape = tuple(int(size) for size in input_shape)
    latent_shape = (int(model_spec.latent_dim),)
    encoder = _count(model_spec.encoder, input_shape, latent_shape, "encoder")
    decoder_params = model_spec.decoder
    if decoder_params.type == "mirror":
        decoder_params = _mirrored(model_spec.encoder)
    decoder = None if decoder_params is None else _count(decoder_params, latent_shape, input_shape, "decoder")
    return {"encoder": encoder, "decoder": decoder}


def check_parameter_budget(
    model_spec: Any, input_shape: Sequence[int], *, limit: int = MAX_PARAMETERS, least_shape: bool = False
) -> None:
    """Refuse a model of more than ``limit`` parameters, at the key of its larger network's widths.

    ``least_shape``: ``input_shape`` is only the smallest the data can have (``geokeras validate``
    does not draw samples), so the count is a lower bound and the message says so.

    Raises:
        SpecError: at ``("encoder", "widths")`` (or ``filters``, ``dense``; the decoder's when it is
            the larger and not a mirror), naming the count, the bound and the input shape.
    """
    counts = parameter_counts(model_spec, input_shape)
    total = sum(count for count in counts.values() if count is not None)
    if total <= limit:
        return
    role = max(counts, key=lambda name: counts[name] or 0)
    raise SpecError(
        f"expected an autoencoder of at most {limit:,} parameters (the weights, their gradients and "
        f"the optimizer's moments must fit in memory). Received: {'at least ' if least_shape else ''}{total:,} "
        f"parameters for samples of {_shape_words(input_shape, least_shape)} "
        f"(encoder {_shown(counts['encoder'])}, decoder "
        f"{_shown(counts['decoder'])}); use smaller widths.",
        width_key(model_spec, role),
    )


def width_key(model_spec: Any, role: str) -> KeyPath:
    """The key of the model section holding a network's widths: ``(<role>, "widths")``, ``filters``
    or ``layers``.

    A ``mirror`` decoder's widths are the encoder's: its key is the encoder's.
    """
    if role == "decoder" and model_spec.decoder.type == "mirror":
        role = "encoder"
    params = getattr(model_spec, role)
    name = {"mlp": "widths", "conv": "filters", "keras_layers": "layers", "keras_file": "path"}.get(params.type, "type")
    if params.type == "conv" and params.dense and max(params.dense) > max(params.filters or [0]):
        name = "dense"
    return (role, name)


def _shown(count: Optional[int]) -> str:
    return "not counted before building" if count is None else f"{count:,}"


def _mirrored(encoder: Any) -> Any:
    """The decoder ``mirror`` builds: the encoder's widths reversed (conv: the same parameters)."""
    if encoder.type == "mlp":
        return encoder.model_copy(update={"widths": list(reversed(encoder.widths))})
    if encoder.type == "conv":
        return encoder
    return None


def _count(params: Any, input_shape: Shape, output_shape: Shape, role: str) -> Optional[int]:
    if params.type == "mlp":
        return _mlp(params, math.prod(input_shape), math.prod(output_shape))
    if params.type == "conv":
        image_shape = input_shape if role == "encoder" else output_shape
        if len(image_shape) != 3:
            return None  # the builder refuses conv on vector data, at its key
        return (
            _conv_encoder(params, image_shape, math.prod(output_shape))
            if role == "encoder"
            else _conv_decoder(params, math.prod(input_shape), image_shape)
        )
    return None


def _dense_stack(params: Any, inputs: int, widths: Sequence[int]) -> tuple[int, int]:
    """(parameters, last width) of the hidden Dense blocks: kernel, bias, [BatchNormalization]."""
    total = 0
    for width in widths:
        total += inputs * width + width + (4 * width if params.batch_norm else 0)
        inputs = width
    return total, inputs


def _mlp(params: Any, inputs: int, outputs: int) -> int:
    hidden, last = _dense_stack(params, inputs, params.widths)
    return hidden + last * outputs + outputs


def _convolutions(params: Any, channels: int, filters: Sequence[int]) -> tuple[int, int]:
    """(parameters, last channels) of the hidden convolution blocks (Conv2D or Conv2DTranspose)."""
    total, kernel = 0, params.kernel_size**2
    for count in filters:
        total += kernel * channels * count + count + (4 * count if params.batch_norm else 0)
        channels = count
    return total, channels


def _feature_map(params: Any, image_shape: Shape) -> int:
    """h_L * w_L: the pixels of the smallest feature map ("same" convolutions of stride s)."""
    height, width = image_shape[0], image_shape[1]
    for _ in params.filters:
        height, width = -(-height // params.strides), -(-width // params.strides)
    return height * width


def _conv_encoder(params: Any, image_shape: Shape, outputs: int) -> Optional[int]:
    if not params.filters:
        return None
    convolutions, channels = _convolutions(params, image_shape[2], params.filters)
    dense, last = _dense_stack(params, _feature_map(params, image_shape) * channels, params.dense)
    return convolutions + dense + last * outputs + outputs


def _conv_decoder(params: Any, inputs: int, image_shape: Shape) -> Optional[int]:
    if not params.filters:
        return None
    widths = list(reversed(params.dense)) + [_feature_map(params, image_shape) * params.filters[-1]]
    dense, _ = _dense_stack(params, inputs, widths)
    convolutions, channels = _convolutions(params, params.filters[-1], list(reversed(params.filters)))
    output_channels = image_shape[2]
    return dense + convolutions + params.kernel_size**2 * channels * output_channels + output_channels


def _shape_words(input_shape: Sequence[int], least_shape: bool) -> str:
    if least_shape:
        return f"at least {math.prod(input_shape)} coordinate{'s' if math.prod(input_shape) > 1 else ''}"
    return f"shape {list(input_shape)}"
