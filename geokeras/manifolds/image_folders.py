"""``type: image_folder``: a researcher's own images, read with Pillow (as ``keras.utils.load_img`` reads them).

Like the image data sets (:mod:`geokeras.manifolds.images`): natural space R^(H W C), pixels
scaled from 0..255 to [0, 1], the empirical measure of the images, parameters shape=[n, 2]
(label, index), samples flat ([n, H W C]) or images ([n, H, W, C], ``shape: image``), figures
show image grids. The images are those of
:func:`~geokeras.manifolds.params.data_files.image_files`, in sorted order: class subfolders give
the labels (0, 1, ... for the sorted folder names), images directly in the folder have label 0.
Each is read in ``color_mode`` and resized to ``size`` (bilinear), so images of mixed sizes are
fine. ``test_fraction`` holds out a fixed seeded share of the images as the test split, from
which evaluators draw held-out samples (as for ``points``).
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from geokeras.errors import SpecError
from geokeras.manifolds.base import Manifold
from geokeras.manifolds.capabilities import LabelledData
from geokeras.manifolds.images import PixelGrid
from geokeras.manifolds.params import ImageFolderParams
from geokeras.manifolds.params.data_files import image_files
from geokeras.manifolds.point_clouds import (
    SplitRows,
    check_sample_count,
    draw_rows,
    row_indices,
    split_rows,
    with_noise_keeping_data,
)


class ImageFolder(PixelGrid, Manifold, LabelledData, SplitRows):
    """The images of a folder with their empirical measure (module docstring)."""

    params_type = ImageFolderParams
    parameter_names = ("label", "index")
    smooth_parameterisation = False
    analytic = False

    def __init__(self, params: Optional[ImageFolderParams] = None, *, embedding_seed: Optional[int] = None):
        if params is None:
            raise SpecError("expected the parameters of an image folder (a path). Received none.", ())
        pixels, labels, classes = load_image_folder(params)
        pixels.setflags(write=False)
        labels.setflags(write=False)
        self._pixels, self._labels, self.class_names = pixels, labels, classes
        self._rows = split_rows(labels.size, params.test_fraction, params.split)
        super().__init__(params, embedding_seed=embedding_seed)
        check_sample_count(params, self.size, "the folder's", "images")

    @property
    def height(self) -> int:
        return int(self.params.size[0])

    @property
    def width(self) -> int:
        return int(self.params.size[1])

    @property
    def channels(self) -> int:
        return 1 if self.params.color_mode == "grayscale" else 3

    @property
    def intrinsic_dim(self) -> Optional[int]:  # type: ignore[override]
        return self.params.intrinsic_dim

    @property
    def parameter_dim(self) -> int:
        return 2

    def _row_count(self) -> int:
        return int(self._labels.size)

    def with_noise(self, noise: Any) -> "ImageFolder":
        """The same images (not read again) with another ``noise:`` model."""
        return with_noise_keeping_data(self, noise)

    def _sample_parameters(self, n: int, rng: np.random.Generator) -> np.ndarray:
        indices = self._rows[draw_rows(self.size, n, self.params.replace, rng)]
        return np.stack([self._labels[indices].astype(np.float64), indices.astype(np.float64)], axis=1)

    def _embed_natural(self, parameters: np.ndarray) -> np.ndarray:
        return self._pixels[row_indices(parameters[:, 1], self._labels.size)].astype(np.float64) / 255.0


def load_image_folder(params: ImageFolderParams) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """``(pixels uint8 shape=[N, H W C], labels int64 shape=[N], class names)`` of the folder.

    Raises:
        SpecError: at ``path`` for a file that is not a readable image (named in the message).
    """
    from PIL import Image  # what keras.utils.load_img wraps; Pillow does not import TensorFlow

    folder = params.resolved_path
    files = image_files(folder)
    classes = tuple(sorted({label for _, label in files if label is not None}))
    height, width = params.size
    mode = "L" if params.color_mode == "grayscale" else "RGB"
    pixels, labels = [], []
    for name, label in files:
        try:
            with Image.open(folder / name) as image:
                resized = image.convert(mode).resize((width, height), Image.BILINEAR)
            array = np.asarray(resized, dtype=np.float32)
        except Exception as error:  # PIL raises UnidentifiedImageError, OSError, SyntaxError, ...
            raise SpecError(
                f"expected readable images. Received {name!r} in {params.path!r}, which fails to load "
                f"({type(error).__name__}: {str(error)[:120]}).",
                ("path",),
            ) from None
        pixels.append(np.clip(np.rint(array), 0, 255).astype(np.uint8).reshape(-1))
        labels.append(classes.index(label) if label is not None else 0)
    return np.stack(pixels), np.asarray(labels, dtype=np.int64), classes
