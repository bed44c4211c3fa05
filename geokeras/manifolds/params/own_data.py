"""Parameters of a researcher's own data: ``points`` (a point cloud file) and ``image_folder``.

Both are data sets: their measure is the empirical measure of the file's rows or the folder's
images (``measure: volume`` and ``parameter`` both mean it) and their noise is isotropic. The
``path`` is resolved against the spec file's directory and ``sha256`` identifies the data in the
content hash (see :mod:`geokeras.manifolds.params.data_files`). Everything that needs only the
file system is checked here (the file exists, its kind, its sha256); what needs its content (a
parseable table, finite values, the rows) is checked when the manifold is built, before a run
writes anything. Implementations in :mod:`geokeras.manifolds.point_clouds` and
:mod:`geokeras.manifolds.image_folders`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, ClassVar, Literal, Optional, Union

from pydantic import Field, PrivateAttr, StringConstraints, ValidationInfo, field_validator, model_validator

from geokeras.limits import Dimension, SampleCount
from geokeras.manifolds.params.common import DistributionParams
from geokeras.manifolds.params.data_files import (
    IMAGE_SUFFIXES,
    checks_files,
    data_sha256,
    image_files,
    resolve_data_path,
    spec_dir_of,
)
from geokeras.manifolds.params.images import image_shape_is_not_embedded
from geokeras.registry import MANIFOLDS

__all__ = ["DataFileParams", "ImageFolderParams", "PointsParams"]

POINT_SUFFIXES = (".npy", ".npz", ".csv")
"""The point-cloud formats ``type: points`` reads."""

Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{64}$")]

ImageSide = Annotated[int, Field(ge=1, le=4096)]


class DataFileParams(DistributionParams):
    """Keys of a type read from the researcher's files: ``path``, ``sha256``, ``replace``, ``test_fraction``,
    ``split``, ``intrinsic_dim``.

    Subclasses set ``folder`` (the path names a folder, not a file) and ``suffixes``.
    """

    measure_name: ClassVar[str] = "the empirical measure of the data"
    folder: ClassVar[bool] = False
    suffixes: ClassVar[tuple[str, ...]] = ()

    _spec_dir: Path = PrivateAttr(default_factory=Path.cwd)

    path: str = Field(
        min_length=1,
        description=(
            "The data: a relative path is resolved against the spec file's directory (from a Python "
            "mapping: the current directory)."
        ),
    )
    sha256: Optional[Sha256] = Field(
        None,
        description=(
            "sha256 of the data (a folder: of its sorted relative paths, sizes and bytes); null: computed. "
            "When given it must match; the resolved spec always carries it, so the content hash covers the data."
        ),
    )
    replace: bool = Field(
        False,
        description="Draw the training samples with replacement; false: without, so samples <= the data's rows.",
    )
    test_fraction: float = Field(
        0.0,
        ge=0.0,
        lt=1.0,
        description=(
            "Fraction of the rows (images) held out as the test split, chosen by a fixed seeded permutation; "
            "evaluators draw held-out samples from it. 0: no test split (evaluators see the training rows)."
        ),
    )
    split: Literal["train", "test"] = Field("train", description="Which split the samples are drawn from.")
    intrinsic_dim: Optional[Dimension] = Field(
        None,
        description="The data's true intrinsic dimension m, when known (used by evaluators needing it); null: unknown.",
    )

    @field_validator("path")
    @classmethod
    def _exists(cls, value: str, info: ValidationInfo) -> str:
        if not checks_files(info.context):
            return value
        resolved = resolve_data_path(value, spec_dir_of(info.context))
        kind = "folder" if cls.folder else f"file ({', '.join(cls.suffixes)})"
        if "\x00" in value or not resolved.exists():
            raise ValueError(f"expected an existing {kind}. Received: {value!r}, not found at {str(resolved)!r}.")
        if cls.folder and not resolved.is_dir():
            raise ValueError(f"expected a folder of images. Received: {value!r}, which is not a folder.")
        if not cls.folder:
            if not resolved.is_file():
                raise ValueError(f"expected a {kind}. Received: {value!r}, which is not a regular file.")
            if resolved.suffix.lower() not in cls.suffixes:
                raise ValueError(
                    f"expected a file ending in one of {', '.join(cls.suffixes)}. Received: {value!r} "
                    f"(unsupported extension {resolved.suffix or '(none)'!r})."
                )
            if resolved.stat().st_size == 0:
                raise ValueError(f"expected a non-empty file. Received: {value!r}, which is empty (0 bytes).")
        else:
            try:
                files = image_files(resolved)
            except ValueError as error:
                raise ValueError(f"{error} In: {value!r}.") from None
            if not files:
                raise ValueError(
                    f"expected a folder holding images ({', '.join(IMAGE_SUFFIXES)}), directly or in class "
                    f"subfolders. Received: {value!r}, which holds none."
                )
        return value

    @field_validator("sha256")
    @classmethod
    def _matches(cls, value: Optional[str], info: ValidationInfo) -> Optional[str]:
        path = info.data.get("path")
        if path is None or not checks_files(info.context):  # a wrong path is reported by its own key
            return value
        resolved = resolve_data_path(path, spec_dir_of(info.context))
        try:
            digest = data_sha256(resolved)
        except OSError as error:
            raise ValueError(f"expected readable data at {path!r}. Received: {error.strerror or error}.") from None
        if value is not None and value.lower() != digest:
            raise ValueError(
                f"the data at {path!r} does not match its sha256: expected {value.lower()} (as written). "
                f"Received data of sha256 {digest}. The data changed, or the spec names other data."
            )
        return digest

    @model_validator(mode="after")
    def _remember_spec_dir(self, info: ValidationInfo) -> "DataFileParams":
        self._spec_dir = spec_dir_of(info.context)
        return self

    @property
    def resolved_path(self) -> Path:
        """The data's absolute path (``path`` against the spec file's directory)."""
        return resolve_data_path(self.path, self._spec_dir)


@MANIFOLDS.register("points", implementation="geokeras.manifolds.point_clouds:PointCloud")
class PointsParams(DataFileParams):
    """A point cloud from a file: one sample per row, one coordinate per column.

    ``.npy``: a 2-D array. ``.npz``: the 2-D array named ``array`` (labels optionally from
    ``labels_array``). ``.csv``: numbers separated by commas, an optional header row (then
    ``label_column`` may name a column). ``label_column`` (an index, or a header name in a CSV)
    takes one column out of the coordinates as the labels, in every format.
    """

    suffixes: ClassVar[tuple[str, ...]] = POINT_SUFFIXES

    type: Literal["points"] = "points"
    samples: SampleCount = Field(1000, description="Number of training samples drawn from the rows.")
    array: Optional[str] = Field(
        None, min_length=1, description=".npz only: the name of the array of points (null: the file's only array)."
    )
    labels_array: Optional[str] = Field(
        None, min_length=1, description=".npz only: the name of a 1-D array of one label per row (null: none)."
    )
    label_column: Optional[Union[int, str]] = Field(
        None,
        description=(
            "The column holding the labels (0-based index; in a CSV with a header also its name); it is "
            "not a coordinate. Null: no label column."
        ),
    )

    @field_validator("array", "labels_array")
    @classmethod
    def _npz_only(cls, value: Optional[str], info: ValidationInfo) -> Optional[str]:
        path = info.data.get("path")
        if value is not None and path is not None and Path(path).suffix.lower() != ".npz":
            raise ValueError(
                f"expected {info.field_name} only with a .npz file. Received: {info.field_name}={value!r} for {path!r}."
            )
        return value

    @field_validator("label_column")
    @classmethod
    def _column_fits_the_format(
        cls, value: Optional[Union[int, str]], info: ValidationInfo
    ) -> Optional[Union[int, str]]:
        path = info.data.get("path")
        if isinstance(value, int) and value < 0:
            raise ValueError(f"expected a column index >= 0 or a header name. Received: label_column={value}.")
        if isinstance(value, str) and path is not None and Path(path).suffix.lower() != ".csv":
            raise ValueError(
                f"expected a column index for a {Path(path).suffix} file (names exist in a CSV header only). "
                f"Received: label_column={value!r}."
            )
        if value is not None and info.data.get("labels_array") is not None:
            raise ValueError(
                f"expected labels_array or label_column, not both. Received: label_column={value!r} and "
                f"labels_array={info.data['labels_array']!r}."
            )
        return value

    @classmethod
    def example(cls) -> "PointsParams":
        """The repository's noisy trefoil (a path relative to the repository root)."""
        return cls(path="specs/data/trefoil.npy", samples=200)


@MANIFOLDS.register("image_folder", implementation="geokeras.manifolds.image_folders:ImageFolder")
class ImageFolderParams(DataFileParams):
    """A folder of images, read with keras.utils: class subfolders are the labels (sorted names).

    Every image is resized to ``size`` (bilinear) and scaled from 0..255 to [0, 1].
    """

    folder: ClassVar[bool] = True

    type: Literal["image_folder"] = "image_folder"
    samples: SampleCount = Field(1000, description="Number of training samples drawn from the images.")
    color_mode: Literal["grayscale", "rgb"] = Field("grayscale", description="grayscale: 1 channel; rgb: 3 channels.")
    size: list[ImageSide] = Field(
        default_factory=lambda: [28, 28], min_length=2, max_length=2, description="[H, W]: every image resized to it."
    )
    shape: Literal["flat", "image"] = Field(
        "flat",
        description="flat: each sample a vector of H*W*C pixels (for MLPs); image: [H, W, C] (for conv models).",
    )

    _image_shape_is_not_embedded = field_validator("shape")(image_shape_is_not_embedded)

    @classmethod
    def example(cls) -> "ImageFolderParams":
        """The repository's small folder of drawn shapes (a path relative to the repository root)."""
        return cls(path="specs/data/shapes", samples=32, size=[16, 16])
