"""Image data sets as manifolds: digits (offline), MNIST and Fashion-MNIST (keras.datasets).

The manifold hypothesis (Lei, Luo, Yau, Gu 2018, section 2; docs/paper-notes section 1):
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
    80/20 cut of scikit-learn's order, which runs writer by writer).
``mnist``, ``fashion_mnist``
    the files ``keras.datasets`` uses, read from the Keras cache ``$KERAS_HOME/datasets`` (or
    ``~/.keras/datasets``): ``mnist.npz``; ``fashion-mnist/{train,t10k}-{images-idx3,
    labels-idx1}-ubyte.gz``. When missing they are downloaded by
    ``keras.datasets.<name>.load_data()``; when that fails too, a
    :class:`~geokeras.errors.SpecError` at ``manifold.type`` says where the files are
    expected and how to get them. Data are loaded on first use, not when the manifold is
    built, and cached per process.
"""

from __future__ import annotations

import abc
import functools
import gzip
import os
import zipfile
from pathlib import Path
from typing import Any, ClassVar, Optional

import numpy as np

from geokeras.errors import SpecError
from geokeras.manifolds.base import MANIFOLD_KEY, Manifold
from geokeras.manifolds.params import DigitsParams, FashionMnistParams, MnistParams

DIGITS_TRAIN_SIZE = 1438
"""The digits' train split is the first 1438 of scikit-learn's 1797 images; test the rest."""

KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
FASHION_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def keras_home() -> Path:
    """The Keras cache root: ``$KERAS_HOME`` if set, else ``~/.keras`` (as Keras resolves it)."""
    configured = os.environ.get("KERAS_HOME")
    return Path(configured) if configured else Path.home() / ".keras"


def _read_only(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    for array in arrays:
        array.setflags(write=False)
    return arrays


@functools.lru_cache(maxsize=8)
def load_digits_split(split: str) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits: (pixels uint8 shape=[N, 8, 8, 1] in 0..16, labels shape=[N])."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    pixels = np.rint(bunch.images).astype(np.uint8)[..., None]
    labels = np.asarray(bunch.target, dtype=np.int64)
    cut = slice(0, DIGITS_TRAIN_SIZE) if split == "train" else slice(DIGITS_TRAIN_SIZE, None)
    return _read_only(np.ascontiguousarray(pixels[cut]), np.ascontiguousarray(labels[cut]))  # type: ignore[return-value]


def _keras_load_data(name: str) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``keras.datasets.<name>.load_data()``: downloads into the Keras cache when missing."""
    import keras

    return getattr(keras.datasets, name).load_data()


_KERAS_NAMES = {"MNIST": "mnist", "Fashion-MNIST": "fashion_mnist"}


def _missing_data_error(display: str, expected: list[Path], origin: list[str], error: BaseException) -> SpecError:
    files = ", ".join(str(path) for path in expected)
    urls = ", ".join(origin)
    return SpecError(
        f"could not load the {display} data set: it is not in the Keras cache (expected "
        f"{files}) and downloading it with keras.datasets failed ({type(error).__name__}: "
        f"{error}). To get it, download {urls} into {expected[0].parent} (or run "
        f"`python -c \"import keras; keras.datasets.{_KERAS_NAMES[display]}.load_data()\"` on a "
        f"machine with internet and copy the same files from its Keras cache into "
        f"{expected[0].parent}), or point KERAS_HOME at a folder whose datasets/ holds them "
        f"(type: digits needs no download).",
        (MANIFOLD_KEY, "type"),
    )


@functools.lru_cache(maxsize=8)
def load_mnist_split(split: str, cache_root: str) -> tuple[np.ndarray, np.ndarray]:
    """MNIST: (pixels uint8 shape=[N, 28, 28, 1], labels shape=[N]) from ``cache_root``.

    Raises:
        SpecError: at ``manifold.type`` when the file is missing and cannot be downloaded.
    """
    path = Path(cache_root) / "datasets" / "mnist.npz"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as archive:
                pixels, labels = archive[f"x_{split}"], archive[f"y_{split}"]
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
            raise _unreadable_error("MNIST", path, error) from None
    else:
        try:
            train, test = _keras_load_data("mnist")
        except Exception as error:  # any failure to download: report it as missing input
            raise _missing_data_error("MNIST", [path], [f"{KERAS_ORIGIN}mnist.npz"], error) from None
        pixels, labels = train if split == "train" else test
    return _read_only(
        np.ascontiguousarray(np.asarray(pixels, dtype=np.uint8)[..., None]),
        np.asarray(labels, dtype=np.int64),
    )  # type: ignore[return-value]


def _unreadable_error(display: str, path: Path, error: BaseException) -> SpecError:
    return SpecError(
        f"could not read the {display} file {path} from the Keras cache "
        f"({type(error).__name__}: {error}). Expected the file keras.datasets downloads; delete "
        f"it to download it again.",
        (MANIFOLD_KEY, "type"),
    )


def _read_idx(path: Path, offset: int) -> np.ndarray:
    with gzip.open(path, "rb") as stream:
        return np.frombuffer(stream.read(), np.uint8, offset=offset)


@functools.lru_cache(maxsize=8)
def load_fashion_mnist_split(split: str, cache_root: str) -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST: (pixels uint8 shape=[N, 28, 28, 1], labels shape=[N]) from ``cache_root``.

    Raises:
        SpecError: at ``manifold.type`` when the files are missing and cannot be downloaded.
    """
    folder = Path(cache_root) / "datasets" / "fashion-mnist"
    image_file, label_file = FASHION_MNIST_FILES[split]
    image_path, label_path = folder / image_file, folder / label_file
    if image_path.is_file() and label_path.is_file():
        try:
            labels = _read_idx(label_path, offset=8)
            pixels = _read_idx(image_path, offset=16).reshape(len(labels), 28, 28)
        except (OSError, ValueError, EOFError) as error:
            raise _unreadable_error("Fashion-MNIST", image_path.parent, error) from None
    else:
        try:
            train, test = _keras_load_data("fashion_mnist")
        except Exception as error:  # any failure to download: report it as missing input
            expected = [folder / name for files in FASHION_MNIST_FILES.values() for name in files]
            raise _missing_data_error(
                "Fashion-MNIST", expected, [f"{KERAS_ORIGIN}{path.name}" for path in expected], error
            ) from None
        pixels, labels = train if split == "train" else test
    return _read_only(
        np.ascontiguousarray(np.asarray(pixels, dtype=np.uint8)[..., None]),
        np.asarray(labels, dtype=np.int64),
    )  # type: ignore[return-value]


class ImageDataSet(Manifold):
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
    def natural_dim(self) -> int:  # type: ignore[override]
        return self.height * self.width * self.channels

    @property
    def parameter_dim(self) -> int:
        return 2

    @property
    def sample_shape(self) -> tuple[int, ...]:
        if self.params.shape == "image":
            return (self.height, self.width, self.channels)
        return (self.ambient_dim,)

    @property
    def image_shape(self) -> Optional[tuple[int, int, int]]:
        """(H, W, C) unless an embedding moved the samples off the pixel grid."""
        if self.embedding.is_identity:
            return (self.height, self.width, self.channels)
        return None

    # ----------------------------------------------------------------- the data
    @abc.abstractmethod
    def _load_split(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """(pixels uint8 shape=[N, H, W, C], labels int shape=[N]) of one split."""

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        """(pixels uint8 shape=[N, H W C], labels int64 shape=[N]) after the class filter.

        Loaded on first use; raises SpecError at ``manifold.type`` when the files are
        missing and cannot be downloaded.
        """
        if self._data is None:
            pixels, labels = self._load_split(self.params.split)
            pixels = pixels.reshape(pixels.shape[0], -1)
            if self.params.classes is not None:
                keep = np.isin(labels, np.asarray(self.params.classes))
                pixels, labels = pixels[keep], labels[keep]
            if labels.size == 0:
                raise SpecError(
                    f"expected classes present in the {self.params.split} split. Received: "
                    f"classes={self.params.classes}, which leave no image.",
                    (MANIFOLD_KEY, "classes"),
                )
            self._data = (pixels, labels)
        return self._data

    @property
    def size(self) -> int:
        """N, the number of images in the split after the class filter."""
        return int(self.data()[1].size)

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
        return pixels[indices].astype(np.float64) * (1.0 / self.pixel_scale)


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
        return load_mnist_split(split, str(keras_home()))


class FashionMnist(ImageDataSet):
    """Fashion-MNIST, 28x28, pixels / 255, through the Keras cache (module docstring)."""

    params_type = FashionMnistParams
    height = 28
    width = 28
    pixel_scale = 255.0

    def _load_split(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        return load_fashion_mnist_split(split, str(keras_home()))
