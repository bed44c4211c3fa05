"""The layer class names of ``keras.layers``, known without importing Keras (and TensorFlow).

``geokeras validate`` checks a ``keras_layers`` spec's ``class_name`` against this list, so a typo
(``Dens``) is refused with a did-you-mean before any run, in a few milliseconds instead of the seconds
``import keras`` takes. The list is generated from the Keras it names (:data:`KERAS_VERSION`) by
:func:`names_from_keras`; ``tests/models/test_keras_layer_names.py`` compares it with the installed
Keras, so it cannot fall behind unnoticed (regenerate it with ``python -m geokeras.models.keras_layer_names``).

With another Keras installed, a name missing from the list is left to the check of the run, which
asks Keras itself: a layer added by a newer Keras is never refused here.
"""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Optional

from geokeras.validation import did_you_mean

KERAS_VERSION = "3.15.1"
"""The Keras whose ``keras.layers`` :data:`KERAS_LAYER_NAMES` lists."""

KERAS_LAYER_NAMES = (
    "Activation",
    "ActivityRegularization",
    "AdaptiveAveragePooling1D",
    "AdaptiveAveragePooling2D",
    "AdaptiveAveragePooling3D",
    "AdaptiveMaxPooling1D",
    "AdaptiveMaxPooling2D",
    "AdaptiveMaxPooling3D",
    "Add",
    "AdditiveAttention",
    "AlphaDropout",
    "Attention",
    "AugMix",
    "AutoContrast",
    "Average",
    "AveragePooling1D",
    "AveragePooling2D",
    "AveragePooling3D",
    "AvgPool1D",
    "AvgPool2D",
    "AvgPool3D",
    "BatchNormalization",
    "Bidirectional",
    "CategoryEncoding",
    "CenterCrop",
    "Concatenate",
    "ContrastLimitedAdaptiveHistogramEqualization",
    "Conv1D",
    "Conv1DTranspose",
    "Conv2D",
    "Conv2DTranspose",
    "Conv3D",
    "Conv3DTranspose",
    "ConvLSTM1D",
    "ConvLSTM2D",
    "ConvLSTM3D",
    "Convolution1D",
    "Convolution1DTranspose",
    "Convolution2D",
    "Convolution2DTranspose",
    "Convolution3D",
    "Convolution3DTranspose",
    "Cropping1D",
    "Cropping2D",
    "Cropping3D",
    "CutMix",
    "Dense",
    "DepthwiseConv1D",
    "DepthwiseConv2D",
    "Discretization",
    "Dot",
    "Dropout",
    "ELU",
    "EinsumDense",
    "Embedding",
    "Equalization",
    "Flatten",
    "GRU",
    "GRUCell",
    "GaussianDropout",
    "GaussianNoise",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalAveragePooling3D",
    "GlobalAvgPool1D",
    "GlobalAvgPool2D",
    "GlobalAvgPool3D",
    "GlobalMaxPool1D",
    "GlobalMaxPool2D",
    "GlobalMaxPool3D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "GlobalMaxPooling3D",
    "GroupNormalization",
    "GroupQueryAttention",
    "HashedCrossing",
    "Hashing",
    "Identity",
    "InputLayer",
    "IntegerLookup",
    "LSTM",
    "LSTMCell",
    "Layer",
    "LayerNormalization",
    "LeakyReLU",
    "Masking",
    "MaxNumBoundingBoxes",
    "MaxPool1D",
    "MaxPool2D",
    "MaxPool3D",
    "MaxPooling1D",
    "MaxPooling2D",
    "MaxPooling3D",
    "Maximum",
    "MelSpectrogram",
    "Minimum",
    "MixUp",
    "MultiHeadAttention",
    "Multiply",
    "Normalization",
    "PReLU",
    "Permute",
    "Pipeline",
    "RMSNormalization",
    "RNN",
    "RandAugment",
    "RandomBrightness",
    "RandomColorDegeneration",
    "RandomColorJitter",
    "RandomContrast",
    "RandomCrop",
    "RandomElasticTransform",
    "RandomErasing",
    "RandomFlip",
    "RandomGaussianBlur",
    "RandomGrayscale",
    "RandomHue",
    "RandomInvert",
    "RandomPerspective",
    "RandomPosterization",
    "RandomRotation",
    "RandomSaturation",
    "RandomSharpness",
    "RandomShear",
    "RandomTranslation",
    "RandomZoom",
    "ReLU",
    "RepeatVector",
    "Rescaling",
    "Reshape",
    "Resizing",
    "ReversibleEmbedding",
    "STFTSpectrogram",
    "SeparableConv1D",
    "SeparableConv2D",
    "SeparableConvolution1D",
    "SeparableConvolution2D",
    "SimpleRNN",
    "SimpleRNNCell",
    "Softmax",
    "Solarization",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "SpectralNormalization",
    "StackedRNNCells",
    "StringLookup",
    "Subtract",
    "TextVectorization",
    "TimeDistributed",
    "UnitNormalization",
    "UpSampling1D",
    "UpSampling2D",
    "UpSampling3D",
    "Wrapper",
    "ZeroPadding1D",
    "ZeroPadding2D",
    "ZeroPadding3D",
)
"""Public classes of ``keras.layers`` that are layers and not models, forbidden ones excluded."""


def unknown_layer_message(class_name: str) -> Optional[str]:
    """Why ``class_name`` names no layer of ``keras.layers`` (with a did-you-mean), or None when it
    does, or when only Keras can tell: a registered serializable (``package>Name``) or a Keras other
    than :data:`KERAS_VERSION` installed."""
    if class_name in KERAS_LAYER_NAMES or ">" in class_name or installed_keras_version() != KERAS_VERSION:
        return None
    close = did_you_mean(class_name, list(KERAS_LAYER_NAMES)).strip()
    hint = f": {close[0].lower()}{close[1:]}" if close else "."
    return (
        f"unknown Keras layer {class_name!r}{hint} Expected a layer of keras.layers (e.g. Dense, Conv2D, "
        f"BatchNormalization, LeakyReLU) or a registered Keras serializable (package>Name). "
        f"Received: class_name={class_name!r}."
    )


def installed_keras_version() -> Optional[str]:
    """The installed Keras's version, read from its metadata (no import); None when absent."""
    try:
        return version("keras")
    except PackageNotFoundError:
        return None


def names_from_keras() -> tuple[str, ...]:
    """The names this module lists, computed from the installed Keras (imports it: seconds)."""
    import keras

    from geokeras.models.params import FORBIDDEN_KERAS_LAYERS

    return tuple(
        sorted(
            name
            for name in dir(keras.layers)
            if not name.startswith("_")
            and name not in FORBIDDEN_KERAS_LAYERS
            and isinstance(getattr(keras.layers, name), type)
            and issubclass(getattr(keras.layers, name), keras.layers.Layer)
            and not issubclass(getattr(keras.layers, name), keras.Model)
        )
    )


def _regenerate() -> None:
    """Rewrite this file's version and names from the installed Keras."""
    import keras

    path = Path(__file__)
    text = path.read_text(encoding="utf-8")
    names = "".join(f'    "{name}",\n' for name in names_from_keras())
    text = re.sub(r'KERAS_VERSION = "[^"]*"', f'KERAS_VERSION = "{keras.__version__}"', text, count=1)
    text = re.sub(r"KERAS_LAYER_NAMES = \(\n.*?\n\)", f"KERAS_LAYER_NAMES = (\n{names})", text, count=1, flags=re.S)
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    _regenerate()
