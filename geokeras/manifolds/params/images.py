"""Parameters of the image data sets (digits, MNIST, Fashion-MNIST).

A data set is a finite sample of an unknown image manifold; its measure is the empirical
measure (every image of the split equally likely), so ``measure`` takes ``volume`` or
``parameter`` (both mean the empirical measure) and no density, and ``noise`` is isotropic
only (a data set has no tangent space to be normal to). Implementations in
:mod:`geokeras.manifolds.images`.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Optional

from pydantic import Field, ValidationInfo, field_validator

from geokeras.limits import SampleCount
from geokeras.manifolds.params.common import DistributionParams
from geokeras.registry import MANIFOLDS

__all__ = ["DigitsParams", "FashionMnistParams", "ImageDataParams", "MnistParams"]

_IMAGES = "geokeras.manifolds.images"

DigitClass = Annotated[int, Field(ge=0, le=9)]


def image_shape_is_not_embedded(value: str, info: ValidationInfo) -> str:
    """``shape: image`` keeps the pixels on their grid: refused with an embedding that moves them."""
    embed = info.data.get("embed")
    if value == "image" and embed is not None and (embed.type != "isometric" or embed.ambient_dim is not None):
        raise ValueError(
            f"expected shape: flat with an embedding (images of shape [H, W, C] are the "
            f"pixels themselves). Received: shape=image with embed type={embed.type!r}, "
            f"ambient_dim={embed.ambient_dim!r}."
        )
    return value


class ImageDataParams(DistributionParams):
    """Keys shared by the image data sets."""

    measure_name: ClassVar[str] = "the empirical measure of the data set"

    shape: Literal["flat", "image"] = Field(
        "flat",
        description="flat: each sample a vector of H*W*C pixels (for MLPs); image: [H, W, C] (for conv models).",
    )
    classes: Optional[list[DigitClass]] = Field(
        None, min_length=1, description="Class labels (0-9) to keep; null keeps all ten."
    )
    split: Literal["train", "test"] = Field("train", description="Which split of the data set to draw from.")

    @field_validator("classes")
    @classmethod
    def _distinct(cls, value: Optional[list[int]]) -> Optional[list[int]]:
        if value is not None and len(set(value)) != len(value):
            raise ValueError(f"expected distinct class labels. Received: classes={value}.")
        return value

    _image_shape_is_not_embedded = field_validator("shape")(image_shape_is_not_embedded)


@MANIFOLDS.register("digits", implementation=f"{_IMAGES}:Digits")
class DigitsParams(ImageDataParams):
    """scikit-learn's 8x8 handwritten digits (1797 images, ships with scikit-learn; offline).

    Pixels scaled from 0..16 to [0, 1]. Split: train = the first 1438 images, test = the
    last 359 (a fixed 80/20 cut of scikit-learn's order).
    """

    type: Literal["digits"] = "digits"
    samples: SampleCount = Field(
        1438, description="Number of training samples drawn (1438 = every image of the train split once)."
    )


@MANIFOLDS.register("mnist", implementation=f"{_IMAGES}:Mnist")
class MnistParams(ImageDataParams):
    """MNIST, 28x28 handwritten digits (60000 train / 10000 test), via keras.datasets.

    Pixels scaled from 0..255 to [0, 1]. Read from the Keras cache
    ($KERAS_HOME or ~/.keras)/datasets/mnist.npz, downloaded there when missing.
    """

    type: Literal["mnist"] = "mnist"
    samples: SampleCount = Field(10000, description="Number of training samples drawn.")


@MANIFOLDS.register("fashion_mnist", implementation=f"{_IMAGES}:FashionMnist")
class FashionMnistParams(ImageDataParams):
    """Fashion-MNIST, 28x28 clothing images in 10 classes (60000 / 10000), via keras.datasets.

    Pixels scaled from 0..255 to [0, 1]. Read from the Keras cache
    ($KERAS_HOME or ~/.keras)/datasets/fashion-mnist/, downloaded there when missing.
    """

    type: Literal["fashion_mnist"] = "fashion_mnist"
    samples: SampleCount = Field(10000, description="Number of training samples drawn.")
