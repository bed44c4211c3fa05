"""``type: points``: a researcher's point cloud, read from .npy, .npz or .csv.

As a manifold it is a data set: the rows x_1..x_N in R^d are a finite sample of an unknown
manifold, and its measure is their empirical measure. ``sample(n, seed)`` draws rows uniformly,
without replacement (``replace: false``, the default; a training set of ``samples`` <= N rows,
checked when the manifold is built) or with replacement; a draw of more than N rows asked by an
evaluator is i.i.d. with replacement. Parameters, shape=[n, 2]: (label, row) with labels from
``labels_array`` / ``label_column`` (class names become 0, 1, ... in sorted order; the first
parameter is named after the array or the column, for the figures), else shape=[n, 1]: (row,).
``points_at(parameters)`` returns the rows.

``test_fraction`` > 0 holds out the rows chosen by a fixed seeded permutation as the test split
(:class:`~geokeras.manifolds.capabilities.SplitData`): trained on the train split, evaluators draw
held-out samples from it. With 0 both splits are every row.

There is no exact geometry (no polyline, no mesh) and no tangent space; ``intrinsic_dim`` is
the ground truth the spec gives, else ``None``. Every problem of the file's content is a
:class:`~geokeras.errors.SpecError` at ``path`` (or at the key that names a missing array or
column), raised when the manifold is built, before a run writes anything.
"""

from __future__ import annotations

import abc
import csv
import zipfile
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from geokeras.errors import SpecError
from geokeras.manifolds.base import Manifold
from geokeras.manifolds.capabilities import SplitData
from geokeras.manifolds.params import PointsParams

MAX_CSV_FIELD_CHARACTERS = 1000
"""A CSV field longer than this is quoted shortened in messages."""


class SplitRows(SplitData):
    """The rows of a researcher's data (points or images) split by ``test_fraction`` into ``train`` and
    ``test``: ``_rows`` holds the split's row indices, ``_row_count()`` the number of all rows."""

    _rows: np.ndarray

    @abc.abstractmethod
    def _row_count(self) -> int:
        """The number of rows (images) of the data, both splits."""

    @property
    def size(self) -> int:
        """N, the number of rows (images) of the split."""
        return int(self._rows.size)

    @property
    def split(self) -> str:
        """The split the samples are drawn from (``train`` or ``test``; see ``test_fraction``)."""
        return str(self.params.split)

    def with_split(self, split: str) -> Any:
        """The same data (not read again) on another split."""
        return with_split_keeping_data(self, split, self._row_count())


class PointCloud(Manifold, SplitRows):
    """Rows of a file with their empirical measure (module docstring)."""

    params_type = PointsParams
    smooth_parameterisation = False
    analytic = False

    def __init__(self, params: Optional[PointsParams] = None, *, embedding_seed: Optional[int] = None):
        if params is None:
            raise SpecError("expected the parameters of a point cloud (a path). Received none.", ())
        points, labels = load_point_cloud(params)
        self._points, self._labels = _read_only(points), None if labels is None else _read_only(labels)
        self._rows = split_rows(self._points.shape[0], params.test_fraction, params.split)
        super().__init__(params, embedding_seed=embedding_seed)
        check_sample_count(params, self.size, "the file's", "rows")

    @property
    def natural_dim(self) -> int:  # type: ignore[override]
        return int(self._points.shape[1])

    @property
    def intrinsic_dim(self) -> Optional[int]:  # type: ignore[override]
        return self.params.intrinsic_dim

    @property
    def parameter_names(self) -> tuple[str, ...]:  # type: ignore[override]
        if self._labels is None:
            return ("row",)
        named = self.params.labels_array or self.params.label_column
        return (named if isinstance(named, str) else "label", "row")

    @property
    def parameter_dim(self) -> int:
        return len(self.parameter_names)

    def _row_count(self) -> int:
        return int(self._points.shape[0])

    @property
    def labels(self) -> Optional[np.ndarray]:
        """One label per row, shape=[N] float64, or None."""
        return self._labels

    def with_noise(self, noise: Any) -> "PointCloud":
        """The same rows (not read again) with another ``noise:`` model."""
        return with_noise_keeping_data(self, noise)

    def _sample_parameters(self, n: int, rng: np.random.Generator) -> np.ndarray:
        rows = self._rows[draw_rows(self.size, n, self.params.replace, rng)]
        columns = [rows.astype(np.float64)]
        if self._labels is not None:
            columns.insert(0, self._labels[rows])
        return np.stack(columns, axis=1)

    def _embed_natural(self, parameters: np.ndarray) -> np.ndarray:
        return self._points[row_indices(parameters[:, -1], self._points.shape[0])]


SPLIT_SEED = 20181805
"""The permutation choosing the test rows is seeded with this, the same in every run and spec seed."""


def split_rows(size: int, test_fraction: float, split: str) -> np.ndarray:
    """The sorted rows of ``split``: of a fixed seeded permutation of the ``size`` rows, the first
    round(test_fraction * size) are the test split and the others the train split; with
    ``test_fraction`` 0 both splits are every row.

    Raises:
        SpecError: at ``test_fraction`` when a split would be empty.
    """
    if test_fraction == 0.0:
        return np.arange(size)
    held_out = int(round(test_fraction * size))
    if not 0 < held_out < size:
        raise SpecError(
            f"expected a test fraction leaving at least one row in each split of the {size}. Received: "
            f"test_fraction={test_fraction}, which holds out {held_out}.",
            ("test_fraction",),
        )
    order = np.random.Generator(np.random.PCG64(SPLIT_SEED)).permutation(size)
    return np.sort(order[:held_out] if split == "test" else order[held_out:])


def check_sample_count(params: Any, size: int, whose: str, what: str) -> None:
    """Refuse more training samples than the split holds when they are drawn without replacement."""
    if not params.replace and params.samples > size:
        in_split = f" of the {params.split} split" if params.test_fraction > 0 else ""
        raise SpecError(
            f"expected samples <= {whose} {size} {what}{in_split} (drawn without replacement), or replace: true. "
            f"Received: samples={params.samples}.",
            ("samples",),
        )


def with_split_keeping_data(manifold: Any, split: str, size: int) -> Any:
    """``manifold`` on another split of the same data (for held-out evaluation)."""
    import copy

    if split not in ("train", "test"):
        raise ValueError(f"Expected split 'train' or 'test'. Received: split={split!r}.")
    rebuilt = copy.copy(manifold)
    rebuilt._params = manifold.params.model_copy(update={"split": split})
    rebuilt._rows = split_rows(size, rebuilt._params.test_fraction, split)
    rebuilt._volume_view = None
    return rebuilt


def draw_rows(size: int, n: int, replace: bool, rng: np.random.Generator) -> np.ndarray:
    """``n`` row indices in [0, size): without replacement unless ``replace`` or ``n > size``."""
    if replace or n > size:
        return rng.integers(0, size, size=n)
    return rng.choice(size, size=n, replace=False)


def row_indices(column: np.ndarray, size: int) -> np.ndarray:
    """The parameters' row column as indices, refused unless integers in [0, size)."""
    column = np.asarray(column, dtype=np.float64)
    indices = column.astype(np.int64)
    if np.any(indices != column) or np.any(indices < 0) or np.any(indices >= size):
        raise ValueError(
            f"Expected row indices that are integers in [0, {size - 1}]. Received values in "
            f"[{column.min()!r}, {column.max()!r}]."
        )
    return indices


def with_noise_keeping_data(manifold: Any, noise: Any) -> Any:
    """``manifold`` rebuilt with another noise; the parameters keep the spec's directory and data hash."""
    import copy

    from geokeras.registry import NOISES

    rebuilt = copy.copy(manifold)
    rebuilt._params = manifold.params.model_copy(update={"noise": NOISES.resolve(noise, default="gaussian")})
    rebuilt._noise = NOISES[rebuilt._params.noise.type].load()(rebuilt._params.noise)
    rebuilt._volume_view = None
    return rebuilt


def _read_only(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    array.setflags(write=False)
    return array


# ----------------------------------------------------------------------------- loading
def load_point_cloud(params: PointsParams) -> tuple[np.ndarray, Optional[np.ndarray]]:
    """``(points float64 shape=[N, d], labels float64 shape=[N] or None)`` of the file ``params`` name.

    Raises:
        SpecError: at ``path`` for an unreadable file, a table that is not 2-D, not numeric or
            not finite, a ragged CSV; at ``array`` / ``labels_array`` / ``label_column`` for a
            name or index the file does not hold.
    """
    path = params.resolved_path
    suffix = path.suffix.lower()
    labels: Optional[np.ndarray] = None
    if suffix == ".csv":
        table, header, lines = _read_csv(path, params.path)
        column = _column_index(params.label_column, header, table.shape[1], params.path)
        if column is not None:
            labels = _labels_from_text(table[:, column])
            table = np.delete(table, column, axis=1)
        points = _numbers_from_text(table, lines, skip=column, shown=params.path)
    else:
        points = _read_numpy(path, params)
        if suffix == ".npz" and params.labels_array is not None:
            labels = _read_npz_array(path, params.labels_array, "labels_array", params.path)
        _check_points(points, params.path)
        column = _column_index(params.label_column, None, points.shape[1], params.path)
        if column is not None:
            labels = points[:, column]
            points = np.delete(points, column, axis=1)
    points = np.asarray(points, dtype=np.float64)
    _check_points(points, params.path)
    if labels is not None:
        labels = _checked_labels(labels, points.shape[0], params)
    return points, labels


def _refuse(message: str, key: str = "path") -> SpecError:
    return SpecError(message, (key,))


def _read_numpy(path: Path, params: PointsParams) -> np.ndarray:
    if path.suffix.lower() == ".npy":
        try:
            return np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as error:
            raise _refuse(
                f"expected a readable .npy file of numbers. Received {params.path!r}, which fails to load "
                f"({type(error).__name__}: {str(error)[:120]})."
            ) from None
    return _read_npz_array(path, params.array, "array", params.path)


def _read_npz_array(path: Path, name: Optional[str], key: str, shown: str) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as archive:
            present = sorted(archive.files)
            if name is None:
                if len(present) != 1:
                    raise _refuse(
                        f"expected the name of the array of points in {shown!r}, which holds "
                        f"{len(present)} arrays: {', '.join(present) or '(none)'}. Received: array=null.",
                        "array",
                    )
                name = present[0]
            if name not in present:
                raise _refuse(
                    f"expected the name of an array in {shown!r}: one of {', '.join(present) or '(none)'}. "
                    f"Received: {key}={name!r}.",
                    key,
                )
            return archive[name]
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise _refuse(
            f"expected a readable .npz file of numeric arrays. Received {shown!r}, which fails to load "
            f"({type(error).__name__}: {str(error)[:120]})."
        ) from None


def _check_points(points: np.ndarray, shown: str) -> None:
    if points.dtype.kind not in "biuf":
        raise _refuse(f"expected an array of numbers. Received {shown!r} holding dtype {points.dtype}.")
    if points.ndim != 2 or points.shape[0] == 0 or points.shape[1] == 0:
        raise _refuse(
            f"expected a 2-D array [rows, coordinates] with at least one of each. Received {shown!r} of "
            f"shape {list(points.shape)}."
        )
    finite = np.isfinite(points)
    if not finite.all():
        row, column = (int(index) for index in np.argwhere(~finite)[0])
        raise _refuse(
            f"expected finite numbers. Received {shown!r} holding {int((~finite).sum())} NaN or infinite "
            f"value(s), the first at row {row}, column {column} (0-based): {points[row, column]}."
        )


def _read_csv(path: Path, shown: str) -> tuple[np.ndarray, Optional[list[str]], list[int]]:
    """The CSV's fields as text shape=[rows, columns], its header (when the first row is not numbers) and
    the line of each row (1-based; blank lines are skipped)."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            numbered = [(reader.line_num, row) for row in reader if row and any(field.strip() for field in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise _refuse(
            f"expected a readable UTF-8 CSV file. Received {shown!r} ({type(error).__name__}: {str(error)[:120]})."
        ) from None
    header = None
    if numbered and not all(_is_number(field) for field in numbered[0][1]):
        header, numbered = [field.strip() for field in numbered[0][1]], numbered[1:]
    if not numbered:
        raise _refuse(f"expected at least one row of numbers. Received {shown!r}, which holds none.")
    width = len(header) if header is not None else len(numbered[0][1])
    for line, row in numbered:
        if len(row) != width:
            raise _refuse(
                f"expected {width} fields in every row (as in the first). Received {len(row)} fields on line "
                f"{line} of {shown!r}."
            )
    lines = [line for line, _ in numbered]
    return np.array([row for _, row in numbered], dtype=object), header, lines


def _is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def _column_index(column: Union[int, str, None], header: Optional[list[str]], width: int, shown: str) -> Optional[int]:
    if column is None:
        return None
    if isinstance(column, str):
        if header is None or column not in header:
            names = ", ".join(header) if header else "(no header row)"
            raise _refuse(
                f"expected a column name of the header of {shown!r}: {names}. Received: label_column={column!r}.",
                "label_column",
            )
        return header.index(column)
    if column >= width or width < 2:
        raise _refuse(
            f"expected a column index below {width} leaving at least one coordinate. Received: label_column={column}.",
            "label_column",
        )
    return column


def _numbers_from_text(table: np.ndarray, lines: list[int], skip: Optional[int], shown: str) -> np.ndarray:
    values = np.empty(table.shape, dtype=np.float64)
    for (row, column), field in np.ndenumerate(table):
        try:
            values[row, column] = float(field)
        except ValueError:
            original = column + (1 if skip is not None and column >= skip else 0)
            raise _refuse(
                f"expected numbers in every field. Received {str(field)[:MAX_CSV_FIELD_CHARACTERS]!r} on line "
                f"{lines[row]}, column {original + 1} of {shown!r} (1-based)."
            ) from None
    return values


def _labels_from_text(column: np.ndarray) -> np.ndarray:
    """Numbers as they are; anything else as class indices 0, 1, ... of the sorted distinct names."""
    text = [str(field).strip() for field in column]
    if all(_is_number(field) for field in text):
        return np.array([float(field) for field in text])
    names = sorted(set(text))
    return np.array([names.index(field) for field in text], dtype=np.float64)


def _checked_labels(labels: np.ndarray, rows: int, params: PointsParams) -> np.ndarray:
    key = "labels_array" if params.labels_array is not None else "label_column"
    labels = np.asarray(labels)
    if labels.dtype.kind in "USO":
        labels = _labels_from_text(labels.reshape(-1))
    if labels.dtype.kind not in "biuf" or labels.reshape(-1).shape[0] != rows or labels.size != rows:
        raise _refuse(
            f"expected one numeric label per row ({rows} in all). Received labels of shape {list(labels.shape)} "
            f"and dtype {labels.dtype}.",
            key,
        )
    labels = labels.reshape(-1).astype(np.float64)
    if not np.all(np.isfinite(labels)):
        raise _refuse(f"expected finite labels. Received {int((~np.isfinite(labels)).sum())} NaN or infinite.", key)
    return labels
