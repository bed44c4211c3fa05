"""Image data sets as manifolds: digits (offline), MNIST and Fashion-MNIST (keras.datasets).

The manifold hypothesis (Lei, Luo, Yau, Gu 2018, section 2):
natural images of H x W pixels concentrate near a low-dimensional manifold Σ in
R^(H W C). A data set is a finite sample of Σ; as a geokeras manifold it is

* natural space R^(H W C), the pixels in [0, 1] (digits: value / 16; MNIST: value / 255);
* measure: the empirical measure of the chosen split (and classes): ``sample(n, seed)`` draws
  n images uniformly *without* replacement while n <= the number of images N, and i.i.d.
  uniformly (*with* replacement) when n > N; ``volume`` and ``parameter`` both mean this;
* parameters shape=[n, 2]: (class label, index of the image in the split after the class
  filter); figures colour by the label, and ``points_at(parameters)`` returns the images;
* ``intrinsic_dim`` is ``None``: it is unknown. The ``manifold_stats`` evaluator estimates it
  (TwoNN, Levina-Bickel MLE) and reports ``true_dim: null``;
* samples are vectors shape=[n, H W C] (``shape: flat``, for MLPs; an ``embed`` may lift them
  into R^D) or images shape=[n, H, W, C] (``shape: image``, for conv models).

Data:

``digits``
    scikit-learn's ``load_digits`` (1797 8x8 images, 10 classes, ships with scikit-learn:
    works offline). Splits: ``train`` the first 1438 images, ``test`` the last 359 (a fixed
    80/20 cut of scikit-learn's order).
``mnist``, ``fashion_mnist``
    ``keras.datasets.<name>.load_data()``, which reads the Keras cache
    ``$KERAS_HOME/datasets`` (default ``~/.keras/datasets``: ``mnist.npz``;
    ``fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz``) and downloads the files
    there when they are missing. When that fails (no cached file and no network), a
    :class:`~geokeras.errors.SpecError` at ``type`` says where the files are expected
    and how to put them there. The data are loaded on first use (the first sample), not when
    the manifold is built, and kept by the manifold object.
"""

from __future__ import annotations

import abc
import functools
import os
from pathlib import Path
from typing import Any, ClassVar, Optional

import numpy as np

from geokeras.errors import SpecError
from geokeras.manifolds.base import Manifold
from geokeras.manifolds.capabilities import LabelledData, SplitData
from geokeras.manifolds.params import DigitsParams, FashionMnistParams, MnistParams

DIGITS_TRAIN_SIZE = 1438
"""The digits' train split is the first 1438 of scikit-learn's 1797 images; test the rest."""

KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
"""Where keras.datasets downloads MNIST and Fashion-MNIST from (named in the error message)."""

KERAS_DATA_FILES = {
    "mnist": ("mnist.npz",),
    "fashion_mnist": tuple(
        f"fashion-mnist/{name}"
        for name in (
            "train-images-idx3-ubyte.gz",
            "train-labels-idx1-ubyte.gz",
            "t10k-images-idx3-ubyte.gz",
            "t10k-labels-idx1-ubyte.gz",
        )
    ),
}
"""The files keras.datasets keeps under ``<Keras home>/datasets/`` for each data set."""


def keras_home() -> Path:
    """The Keras cache root: ``$KERAS_HOME`` if set, else ``~/.keras`` (as Keras resolves it)."""
    configured = os.environ.get("KERAS_HOME")
    return Path(configured) if configured else Path.home() / ".keras"


def _read_only(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    for array in arrays:
        array.setflags(write=False)
    return arrays


@functools.lru_cache(maxsize=2)
def load_digits_split(split: str) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits: (pixels uint8 shape=[N, 8, 8, 1] in 0..16, labels int64 shape=[N])."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    pixels = np.rint(bunch.images).astype(np.uint8)[..., None]
    labels = np.asarray(bunch.target, dtype=np.int64)
    cut = slice(0, DIGITS_TRAIN_SIZE) if split == "train" else slice(DIGITS_TRAIN_SIZE, None)
    return _read_only(np.ascontiguousarray(pixels[cut]), np.ascontiguousarray(labels[cut]))  # type: ignore[return-value]


def missing_keras_data_error(name: str, display: str, error: BaseException) -> SpecError:
    """The SpecError at ``type`` for a keras.datasets set that could not be loaded."""
    folder = keras_home() / "datasets"
    files = [folder / relative for relative in KERAS_DATA_FILES[name]]
    urls = ", ".join(KERAS_ORIGIN + Path(relative).name for relative in KERAS_DATA_FILES[name])
    return SpecError(
        f"could not load the {display} data set (type {name!r}): keras.datasets.{name}.load_data() "
        f"found no cached copy and could not download one ({type(error).__name__}: {error}). "
        f"Expected the file(s) {', '.join(str(path) for path in files)}. To provide them: "
        f'download {urls} into {files[0].parent}; or run `python -c "import keras; '
        f'keras.datasets.{name}.load_data()"` on a machine with internet and copy its '
        f"~/.keras/datasets folder here; or set KERAS_HOME to a folder whose datasets/ holds "
        f"them. (type: digits needs no download.)",
        ("type",),
    )


def load_keras_split(name: str, display: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """One split of ``keras.datasets.<name>``: (pixels uint8 shape=[N, H, W, 1], labels int64 [N]).

    Keras reads its cache and downloads only what is missing (checking MNIST's sha256).

    Raises:
        SpecError: at ``type`` when the data is neither cached nor downloadable.
    """
    try:
        import keras

        train, test = getattr(keras.datasets, name).load_data()
    except Exception as error:  # Keras raises a bare Exception for a failed download
        raise missing_keras_data_error(name, display, error) from None
    pixels, labels = train if split == "train" else test
    pixels = np.asarray(pixels, dtype=np.uint8)
    if pixels.ndim == 3:
        pixels = pixels[..., None]
    return _read_only(np.ascontiguousarray(pixels), np.asarray(labels, dtype=np.int64).reshape(-1))  # type: ignore[return-value]


class PixelGrid:
    """Images of H x W pixels with C channels as samples: natural space R^(H W C), samples flat
    (``shape: flat``) or [H, W, C] (``shape: image``). The class provides ``height``, ``width``,
    ``channels`` and the Manifold attributes ``params``, ``ambient_dim`` and ``embedding``."""

    @property
    def natural_dim(self) -> int:  # type: ignore[override]
        return self.height * self.width * self.channels

    @property
    def sample_shape(self) -> tuple[int, ...]:
        if self.params.shape == "image":
            return (self.height, self.width, self.channels)
        return (self.ambient_dim,)

    @property
    def image_shape(self) -> Optional[tuple[int, int, int]]:
        """(H, W, C) unless an embedding moved the samples off the pixel grid."""
        return (self.height, self.width, self.channels) if self.embedding.is_identity else None


class ImageDataSet(PixelGrid, Manifold, LabelledData, SplitData):
    """An image data set with its empirical measure (module docstring).

    Subclasses set ``params_type``, ``height``, ``width``, ``channels``, ``pixel_scale`` and
    implement :meth:`_load_split`.
    """

    intrinsic_dim: ClassVar[Optional[int]] = None
    parameter_names: ClassVar[tuple[str, ...]] = ("label", "index")
    smooth_parameterisation: ClassVar[bool] = False
    analytic: ClassVar[bool] = False
    height: ClassVar[int]
    width: ClassVar[int]
    channels: ClassVar[int] = 1
    pixel_scale: ClassVar[float]
    """Raw pixel values are divided by this to land in [0, 1]."""

    def __init__(self, params: Any = None, *, embedding_seed: Optional[int] = None):
        super().__init__(params, embedding_seed=embedding_seed)
        self._data: Optional[tuple[np.ndarray, np.ndarray]] = None

    @property
    def parameter_dim(self) -> int:
        return 2

    # ----------------------------------------------------------------- the data
    @abc.abstractmethod
    def _load_split(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """(pixels uint8 shape=[N, H, W, C], labels int shape=[N]) of one split."""

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        """(pixels uint8 shape=[N, H W C], labels int64 shape=[N]) after the class filter.

        Loaded on first use; raises SpecError at ``type`` when the files are
        missing and cannot be downloaded.
        """
        if self._data is None:
            pixels, labels = self._load_split(self.params.split)
            expected = (self.height, self.width, self.channels)
            if tuple(pixels.shape[1:]) != expected or labels.shape != (pixels.shape[0],):
                raise SpecError(
                    f"the {self.params.type} data on disk has an unexpected shape. Expected "
                    f"images of shape [N, {', '.join(map(str, expected))}] and N labels. "
                    f"Received: images {list(pixels.shape)}, labels {list(labels.shape)}. "
                    f"Delete the cached files to download them again.",
                    ("type",),
                )
            pixels = pixels.reshape(pixels.shape[0], -1)
            if self.params.classes is not None:
                keep = np.isin(labels, np.asarray(self.params.classes))
                pixels, labels = pixels[keep], labels[keep]
            if labels.size == 0:
                raise SpecError(
                    f"expected classes present in the {self.params.split} split. Received: "
                    f"classes={self.params.classes}, which leave no image.",
                    ("classes",),
                )
            self._data = (pixels, labels)
        return self._data

    @property
    def split(self) -> str:
        """The split the samples are drawn from (``train`` or ``test``)."""
        return str(self.params.split)

    @property
    def size(self) -> int:
        """N, the number of images in the split after the class filter."""
        return int(self.data()[1].size)

    def with_split(self, split: str) -> "ImageDataSet":
        """The same data set (classes, shape, noise, embedding frame) on another split.

        For held-out evaluation: ``manifold.with_split("test")`` draws images the training
        split does not contain.
        """
        if split not in ("train", "test"):
            raise ValueError(f"Expected split 'train' or 'test'. Received: split={split!r}.")
        return type(self)(self.params.model_copy(update={"split": split}), embedding_seed=self._embedding_seed)

    # ----------------------------------------------------------------- sampling
    def _sample_parameters(self, n: int, rng: np.random.Generator) -> np.ndarray:
        _, labels = self.data()
        size = labels.size
        if n <= size:
            indices = rng.choice(size, size=n, replace=False)
        else:
            indices = rng.integers(0, size, size=n)
        return np.stack([labels[indices].astype(np.float64), indices.astype(np.float64)], axis=1)

    def _embed_natural(self, parameters: np.ndarray) -> np.ndarray:
        pixels, _ = self.data()
        column = np.asarray(parameters, dtype=np.float64)[:, 1]
        indices = column.astype(np.int64)
        if np.any(indices != column) or np.any(indices < 0) or np.any(indices >= pixels.shape[0]):
            raise ValueError(
                f"Expected image indices (parameters[:, 1]) that are integers in "
                f"[0, {pixels.shape[0] - 1}]. Received values in [{column.min()!r}, {column.max()!r}]."
            )
        return pixels[indices].astype(np.float64) / self.pixel_scale


class Digits(ImageDataSet):
    """scikit-learn's 8x8 digits, pixels / 16 (module docstring)."""

    params_type = DigitsParams
    height = 8
    width = 8
    pixel_scale = 16.0

    def _load_split(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        return load_digits_split(split)


class Mnist(ImageDataSet):
    """MNIST, 28x28, pixels / 255, through the Keras cache (module docstring)."""

    params_type = MnistParams
    height = 28
    width = 28
    pixel_scale = 255.0

    def _load_split(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        return load_keras_split("mnist", "MNIST", split)


class FashionMnist(ImageDataSet):
    """Fashion-MNIST, 28x28, pixels / 255, through the Keras cache (module docstring)."""

    params_type = FashionMnistParams
    height = 28
    width = 28
    pixel_scale = 255.0

    def _load_split(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        return load_keras_split("fashion_mnist", "Fashion-MNIST", split)
