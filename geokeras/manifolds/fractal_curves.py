"""Polygonal curves with exact ground truth: the Hilbert and Peano space-filling curves, the Koch curve.

Each curve here is, exactly, a polyline whose segments all have the same length; there is no
smooth curve behind it to approximate. Its ground truth is the polyline itself
(:attr:`PolygonalCurve.natural_vertices`, ``polyline()``, ``segments``, ``length``), and for
the space-filling curves also the cells it visits and its ``units``.

The paper's curves (Theorem 4.14)
---------------------------------
Lei, Luo, Yau, Gu, *Geometric Understanding of Deep Learning* (arXiv:1805.10451), proof of
Theorem 4.14: "we can construct space filling Peano curves, as shown in Fig. 8. Suppose C_1
is shown in the left frame, we make 4 copies of C_1, by translation, rotation, reconnection
and scaling to construct C_2 [...]. The red square shows one unit, C_1 has 16 units, C_n has
4^{n+1} units. Each unit is not rectifiable, therefore N(R^2, C_n) >= 4^{n+1}."

Reading. Four rotated and reconnected copies per step is Hilbert's construction (Peano's
original curve takes nine copies per step). The smallest piece of a Hilbert curve that is
not linear rectifiable is the U through the four cells of a 2 x 2 square, i.e. the order-1
curve: its three steps go up, across and down, so no direction v makes <x, v> monotone along
it. The Hilbert curve of order k, through 4^k cells, splits into 4^{k-1} consecutive U's
(cells 4j..4j+3 fill one aligned 2 x 2 square). C_1 with 16 units is therefore the order-3
curve (64 cells), and C_{n+1} = 4 copies of C_n gives C_n = order n + 2, with 4^{n+1} units
and 4^{n+2} cells, as the paper states. :meth:`HilbertCurve.order_of_paper_curve` encodes
this; the paper's figure itself is not reproduced here, so the counts, not the picture, are
what this reading matches.

Constructions (documented choices)
----------------------------------
* ``hilbert``: the cells of the grid {0, ..., 2^k - 1}^d in the order of Skilling's
  index -> coordinate map (J. Skilling, "Programming the Hilbert curve", AIP Conf. Proc. 707,
  381 (2004)): the index's bits are dealt to the d axes ("transpose"), Gray-decoded, and the
  excess work undone level by level. Vectorised over all indices, with a loop over the k
  levels only. In 2-D it is the classic Hilbert curve; in 3-D the classic 3-D Hilbert curve
  with 8^k cells. It starts at cell 0 and ends at a corner cell adjacent to another corner.
* ``peano``: Peano's own 1890 curve, the 3 x 3 serpentine, generalised to d dimensions:
  the index's base-3 digits t_1 t_2 ... t_{dk} (most significant first) are dealt to the axes
  in turn (axis c gets t_{c+1}, t_{c+1+d}, ...), and a digit t for axis c is replaced by
  2 - t when the digits of the *other* axes dealt before it sum to an odd number (Peano's
  rule; for d = 2 it is x_j = k^{t_2 + ... + t_{2j-2}}(t_{2j-1}),
  y_j = k^{t_1 + ... + t_{2j-1}}(t_{2j}), k(t) = 2 - t). 9^k cells in 2-D, 27^k in 3-D; the
  curve runs from cell (0, ..., 0) to the opposite corner.

Both are polylines through the cell centres ((i + 1/2) h, h = size / cells per side), so
they lie in [h/2, size - h/2]^d inside [0, size]^d; consecutive cells share a face, so every
segment has length h: ``segments`` = cells - 1 and ``length`` = (cells - 1) h.

Units (the RLC lower bound)
---------------------------
``units`` counts disjoint consecutive pieces of the curve that are each not linear
rectifiable (each contains two opposite steps, +e and -e along one axis), so by the paper's
argument N(R^d, curve) >= units:

* hilbert: a unit is a U of 4 consecutive cells 4j..4j+3 filling a 2 x 2 square in a
  coordinate plane (three steps: forward, across, back). units = cells / 4 = 2^{dk} / 4:
  4^{k-1} in 2-D (the paper's count) and 2 * 8^{k-1} in 3-D (each 2 x 2 x 2 block of 8 cells,
  a copy of the order-1 curve, is two U's in parallel faces).
* peano: a unit is a copy of the order-1 curve, 3^d consecutive cells filling a 3 x ... x 3
  block (an S-shaped serpentine). units = 3^{d(k-1)}: 9^{k-1} in 2-D, 27^{k-1} in 3-D.

Measures and parameters
-----------------------
The parameter is the arc-length fraction u in [0, 1]: u = j / segments is vertex j. All
segments have the same length, so ``measure: volume`` (uniform in arc length) and
``measure: parameter`` (uniform in the curve's index parameter u) are the same distribution:
u ~ U(0, 1], the point on segment floor(u segments) at fraction u segments - floor(.).
"""

from __future__ import annotations

import abc
import functools
import math
from typing import ClassVar, Optional

import numpy as np

from geokeras.manifolds.base import check_count
from geokeras.manifolds.capabilities import ExactPolygon, NonRectifiableUnits
from geokeras.manifolds.curves import Curve, _nearest_chords
from geokeras.manifolds.params import HilbertCurveParams, KochCurveParams, PeanoCurveParams

_EPS = np.finfo(np.float64).eps


class PolygonalCurve(Curve, ExactPolygon):
    """An open curve that is exactly a polyline with equal-length segments.

    Parameter: the arc-length fraction u in [0, 1], gamma(u) = v_j + f (v_{j+1} - v_j) with
    j = floor(u S) (S = ``segments``) and f = u S - j; the speed is the constant L, so
    s(u) = L u and both measures are uniform in u.

    Subclasses implement :meth:`_build_vertices` (shape=[segments + 1, natural_dim]),
    :attr:`segments` and :attr:`segment_length` (closed forms, checked against the vertices
    in the tests).
    """

    closed: ClassVar[bool] = False
    parameter_names: ClassVar[tuple[str, ...]] = ("u",)

    @abc.abstractmethod
    def _build_vertices(self) -> np.ndarray:
        """The exact vertices in the natural space, shape=[segments + 1, natural_dim]."""

    @property
    @abc.abstractmethod
    def segments(self) -> int:
        """Number of segments of the polyline."""

    @property
    @abc.abstractmethod
    def segment_length(self) -> float:
        """The common length of every segment."""

    @functools.cached_property
    def natural_vertices(self) -> np.ndarray:
        """The exact vertices in the natural space (read-only), shape=[segments + 1, natural_dim]."""
        vertices = np.ascontiguousarray(self._build_vertices(), dtype=np.float64)
        vertices.setflags(write=False)
        return vertices

    @property
    def parameter_interval(self) -> tuple[float, float]:
        return 0.0, 1.0

    @property
    def length(self) -> float:
        """L = segments * segment_length."""
        return self.segments * self.segment_length

    def _segment_positions(self, parameters: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        u = self._flat(parameters)
        position = u * self.segments
        index = np.clip(np.floor(position), 0, self.segments - 1).astype(np.int64)
        return index, position - index

    def velocity(self, parameters: np.ndarray) -> np.ndarray:
        """d gamma / du = S (v_{j+1} - v_j) on segment j (the right derivative at a vertex)."""
        index, _ = self._segment_positions(parameters)
        vertices = self.natural_vertices
        return self.segments * (vertices[index + 1] - vertices[index])

    def speed(self, parameters: np.ndarray) -> np.ndarray:
        return np.full_like(self._flat(parameters), self.length)

    def arc_length(self, parameters: np.ndarray) -> np.ndarray:
        return self.length * self._flat(parameters)

    def parameter_at_arc_length(self, arc_lengths: np.ndarray) -> np.ndarray:
        targets = self._flat(arc_lengths)
        total = self.length
        if targets.size and (np.any(targets < -8 * _EPS * total) or np.any(targets > total * (1 + 8 * _EPS))):
            raise ValueError(
                f"Expected arc lengths in [0, L] = [0, {total!r}]. Received values in "
                f"[{targets.min()!r}, {targets.max()!r}]."
            )
        return np.clip(targets / total, 0.0, 1.0)

    def polyline(self, resolution: Optional[int] = None) -> tuple[np.ndarray, bool]:
        """The exact polyline, embedded like the samples and without noise.

        Args:
            resolution: ``None`` (default) returns the vertices themselves, shape=
                [segments + 1, ambient_dim]. An integer asks for at least ``resolution``
                segments: each segment is split into m = ceil(resolution / segments) equal
                parts, giving m * segments + 1 vertices at equal arc-length spacing
                L / (m * segments) (the same set of points, with collinear extra vertices).

        Returns:
            ``(vertices, False)``: the curve is open.
        """
        vertices = self.natural_vertices
        if resolution is not None:
            parts = math.ceil(check_count("resolution", resolution) / self.segments)
            if parts > 1:
                fractions = np.arange(parts, dtype=np.float64) / parts
                steps = np.diff(vertices, axis=0)
                inner = vertices[:-1, None, :] + fractions[None, :, None] * steps[:, None, :]
                vertices = np.concatenate([inner.reshape(-1, vertices.shape[1]), vertices[-1:]])
        return self.embed_natural_points(vertices), False

    def parameters(self, points: np.ndarray) -> np.ndarray:
        """The parameter u of the nearest point of the polyline, shape=[n, 1] (see Curve).

        The nearest of the exact segments (no Gauss-Newton refinement: the chords are the
        curve): u = (j + f) / segments for segment j at fraction f.
        """
        natural = self.natural_coordinates(points)
        segment, fraction = _nearest_chords(natural, self.natural_vertices, closed=False)
        return ((segment + fraction) / self.segments)[:, None]

    def _sample_parameters(self, n: int, rng: np.random.Generator) -> np.ndarray:
        # Equal segments: arc length and index parameter are the same uniform u in (0, 1].
        return 1.0 - rng.random(n)

    def _embed_natural(self, parameters: np.ndarray) -> np.ndarray:
        index, fraction = self._segment_positions(parameters)
        vertices = self.natural_vertices
        start = vertices[index]
        return start + fraction[:, None] * (vertices[index + 1] - start)


class SpaceFillingCurve(PolygonalCurve, NonRectifiableUnits):
    """A curve through the centres of all cells of a grid {0, ..., base^k - 1}^d, face to face.

    ``natural_dim`` is ``dim`` (2 or 3). See the module docstring for the constructions and
    the definition of ``units``.
    """

    base: ClassVar[int]
    """Cells per side added per order: 2 (Hilbert) or 3 (Peano)."""

    @property
    def natural_dim(self) -> int:  # type: ignore[override]
        return int(self.params.dim)

    @property
    def dim(self) -> int:
        """Dimension d of the filled cube."""
        return int(self.params.dim)

    @property
    def order(self) -> int:
        """The refinement level k."""
        return int(self.params.order)

    @property
    def side(self) -> int:
        """Cells per side, base^k."""
        return self.base**self.order

    @property
    def cells(self) -> int:
        """Number of cells visited (= vertices), base^(d k)."""
        return self.side**self.dim

    @property
    def cell_size(self) -> float:
        """h = size / side, the side of one cell and the length of every segment."""
        return float(self.params.size) / self.side

    @property
    def segments(self) -> int:
        """cells - 1."""
        return self.cells - 1

    @property
    def segment_length(self) -> float:
        return self.cell_size

    @property
    @abc.abstractmethod
    def cells_per_unit(self) -> int:
        """Consecutive cells per unit (4 for Hilbert, 3^d for Peano)."""

    @property
    def units(self) -> int:
        """Number of units, each not linear rectifiable: cells / cells_per_unit."""
        return self.cells // self.cells_per_unit

    def unit_vertex_ranges(self) -> np.ndarray:
        """First and last vertex index of each unit, shape=[units, 2], int64 (inclusive)."""
        first = np.arange(self.units, dtype=np.int64) * self.cells_per_unit
        return np.stack([first, first + self.cells_per_unit - 1], axis=1)

    @functools.cached_property
    def cell_coordinates(self) -> np.ndarray:
        """Integer cell coordinates in visiting order (read-only), shape=[cells, dim], int64."""
        coordinates = self._cell_coordinates(np.arange(self.cells, dtype=np.int64))
        coordinates.setflags(write=False)
        return coordinates

    @abc.abstractmethod
    def _cell_coordinates(self, index: np.ndarray) -> np.ndarray:
        """Cell coordinates of curve indices ``index`` shape=[n]; returns shape=[n, dim], int64."""

    def _build_vertices(self) -> np.ndarray:
        return (self.cell_coordinates + 0.5) * self.cell_size


class HilbertCurve(SpaceFillingCurve):
    """Hilbert's curve of order k through the 2^(d k) cells of [0, size]^d, d in {2, 3}.

    Skilling's index -> coordinate map (see the module docstring), vectorised. Ground truth:
    cells = 2^(d k), segments = 2^(d k) - 1, length = (2^(d k) - 1) size / 2^k,
    units = 2^(d k) / 4 U-shaped units of 4 cells (4^(k-1) in 2-D, 2 * 8^(k-1) in 3-D). The
    paper's C_n (Theorem 4.14) is the 2-D curve of order n + 2.
    """

    params_type = HilbertCurveParams
    base = 2

    @staticmethod
    def order_of_paper_curve(n: int) -> int:
        """The 2-D Hilbert order of the paper's C_n: n + 2 (C_1 = order 3, 16 units)."""
        return check_count("n", n) + 2

    @property
    def cells_per_unit(self) -> int:
        return 4

    def _cell_coordinates(self, index: np.ndarray) -> np.ndarray:
        dim, bits = self.dim, self.order
        index = np.asarray(index, dtype=np.int64)
        # Transpose: axis i gets the bits (j * dim + dim - 1 - i) of the index, j = 0..bits-1.
        axes = np.zeros((dim, index.size), dtype=np.int64)
        for j in range(bits):
            for i in range(dim):
                axes[i] |= ((index >> (j * dim + dim - 1 - i)) & 1) << j
        # Gray decode by H ^ (H / 2).
        top = axes[dim - 1] >> 1
        for i in range(dim - 1, 0, -1):
            axes[i] ^= axes[i - 1]
        axes[0] ^= top
        # Undo excess work, from the finest level up.
        q = 2
        while q < (1 << bits):
            p = q - 1
            for i in range(dim - 1, -1, -1):
                set_bit = (axes[i] & q) != 0
                swap = np.where(set_bit, 0, (axes[0] ^ axes[i]) & p)
                axes[0] ^= np.where(set_bit, p, swap)
                if i:
                    axes[i] ^= swap
            q <<= 1
        return axes.T.copy()


class PeanoCurve(SpaceFillingCurve):
    """Peano's serpentine curve of order k through the 3^(d k) cells of [0, size]^d, d in {2, 3}.

    Peano's digit rule (see the module docstring), vectorised over indices with a loop over
    the d k digits. Ground truth: cells = 3^(d k), segments = 3^(d k) - 1,
    length = (3^(d k) - 1) size / 3^k, units = 3^(d (k - 1)) S-shaped copies of the order-1
    curve (3^d cells each).
    """

    params_type = PeanoCurveParams
    base = 3

    @property
    def cells_per_unit(self) -> int:
        return 3**self.dim

    def _cell_coordinates(self, index: np.ndarray) -> np.ndarray:
        dim, order = self.dim, self.order
        index = np.asarray(index, dtype=np.int64)
        digits_total = dim * order
        coordinates = np.zeros((dim, index.size), dtype=np.int64)
        digit_sums = np.zeros((dim, index.size), dtype=np.int64)  # sum of each axis' raw digits so far
        for position in range(digits_total):
            axis = position % dim
            digit = (index // 3 ** (digits_total - 1 - position)) % 3
            others = digit_sums.sum(axis=0) - digit_sums[axis]
            coordinates[axis] = 3 * coordinates[axis] + np.where(others % 2 == 1, 2 - digit, digit)
            digit_sums[axis] += digit
        return coordinates.T.copy()


# The Koch generator: the four similarities T_d (scale 1/3, rotation by turn_d * 60 degrees,
# translation to offset_d) mapping the unit segment [0, 1] x {0} onto the four sub-segments.
_HALF_SQRT3 = math.sqrt(3.0) / 2.0
_KOCH_OFFSETS = np.array([[0.0, 0.0], [1.0 / 3.0, 0.0], [0.5, _HALF_SQRT3 / 3.0], [2.0 / 3.0, 0.0]])
_KOCH_ROTATIONS = np.array(  # R(0), R(+60), R(-60), R(0), as row-vector maps x -> x M
    [
        [[1.0, 0.0], [0.0, 1.0]],
        [[0.5, _HALF_SQRT3], [-_HALF_SQRT3, 0.5]],
        [[0.5, -_HALF_SQRT3], [_HALF_SQRT3, 0.5]],
        [[1.0, 0.0], [0.0, 1.0]],
    ]
)


class KochCurve(PolygonalCurve):
    """The Koch curve of order k from (0, 0) to (size, 0), in R^2.

    Order 0 is the segment; each order replaces every segment by four of a third of its
    length, the middle two forming an equilateral bump to the left (directions 0, +60, -60,
    0 degrees relative to the segment). Built by self-similarity: with T_d the similarity
    (scale 1/3, rotation by 0, +60, -60, 0 degrees, translation to (0, 0), (1/3, 0),
    (1/2, sqrt(3)/6), (2/3, 0)) taking the unit segment onto sub-segment d,

        V_0 = ((0, 0), (1, 0)),   V_k = T_0(V_{k-1}) + T_1(V_{k-1}) + T_2(V_{k-1}) + T_3(V_{k-1})

    (concatenated, each copy after the first without its first vertex, which repeats the
    previous copy's last), scaled by ``size``. Each level is one batched matrix product, so
    building costs O(4^k) and each vertex carries k roundings (error ~ k eps size).

    Ground truth: segments = 4^k, segment_length = size / 3^k, length = (4/3)^k size,
    4^k + 1 vertices, both ends on the x axis.
    """

    params_type = KochCurveParams
    natural_dim = 2

    @property
    def order(self) -> int:
        return int(self.params.order)

    @property
    def segments(self) -> int:
        return 4**self.order

    @property
    def segment_length(self) -> float:
        return float(self.params.size) / 3**self.order

    def _build_vertices(self) -> np.ndarray:
        vertices = np.array([[0.0, 0.0], [1.0, 0.0]])
        for _ in range(self.order):
            copies = _KOCH_OFFSETS[:, None, :] + (vertices[None, :, :] @ _KOCH_ROTATIONS) / 3.0
            vertices = np.concatenate([copies[0], copies[1:, 1:, :].reshape(-1, 2)])
        vertices = vertices * float(self.params.size)
        vertices[-1] = (float(self.params.size), 0.0)  # the end point, exactly
        return vertices
