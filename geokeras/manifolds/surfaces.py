"""Surfaces and higher-dimensional manifolds given by a parameterisation of a box.

A :class:`ParameterisedManifold` is an m-dimensional manifold Σ = f(U) given by a smooth
map f: U -> R^natural_dim of a box U = [a_1, b_1] x ... x [a_m, b_m]. Its ground truth:

* the **area element** (Riemannian volume density) g(t) = sqrt(det(J(t)^T J(t))), J = Df the
  [natural_dim, m] Jacobian, written out analytically per type together with an upper bound
  G >= max_U g;
* the **volume** vol(Σ) = ∫_U g(t) dt (the area of a surface), in closed form where one is
  known and by composite Gauss-Legendre quadrature otherwise;
* a **triangle mesh** of the parameter grid (:meth:`ParameterisedManifold.mesh`), its seams
  glued (periodic directions, the poles of a sphere, the half twist of a Möbius band), so the
  mesh is a manifold mesh whose Euler characteristic V - E + F is the surface's;
* the topology as attributes: ``euler_characteristic``, ``orientable``,
  ``boundary_components``, ``genus`` (the number of handles when orientable, the number of
  cross-caps when not; ``None`` where the manifold is not a surface).

Measures. ``measure: parameter`` draws t uniformly in U. ``measure: volume`` draws t with
density g(t) / vol(Σ), so that f(t) is uniform with respect to area: by rejection, a
candidate t ~ U(U) is kept with probability g(t) / G (von Neumann 1951), in vectorised
batches sized from the acceptance rate vol(Σ) / (|U| G) until n are kept. The sphere, the
hemisphere and the disk use exact transforms instead (normalised Gaussians, Archimedes'
theorem, r sqrt(u)). Any other value of ``measure`` (a density, handled by the base class by
rejection from the volume measure) is served the volume measure here.

The types (Lei, Luo, Yau, Gu, *Geometric Understanding of Deep Learning*, arXiv:1805.10451,
section 4: surfaces encoded into R^2 must be genus 0 with boundary; products with intervals
raise the dimension) are :class:`Sphere`, :class:`Hemisphere`, :class:`Disk`, :class:`Torus`,
:class:`KleinBottle`, :class:`Mobius`, :class:`SwissRoll`, :class:`SCurve`,
:class:`GraphSurface` and :class:`ProductWithInterval`.
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass
from typing import Callable, ClassVar, Optional

import numpy as np

from geokeras.errors import SpecError, located_under
from geokeras.manifolds.base import Manifold, check_count
from geokeras.manifolds.capabilities import ExactCurve, ExactSurface, KnownTopology, RoundSphere
from geokeras.manifolds.params import (
    DiskParams,
    GraphSurfaceParams,
    HemisphereParams,
    KleinBottleParams,
    MobiusParams,
    ProductWithIntervalParams,
    SCurveParams,
    SphereParams,
    SwissRollParams,
    TorusParams,
)

TWO_PI = 2.0 * math.pi

_MAX_BATCH = 1 << 21
"""Most rejection candidates drawn at once: memory stays O(_MAX_BATCH * m) however large n is."""


# ----------------------------------------------------------------------------- grid meshes
@dataclass(frozen=True)
class GridSeams:
    """How the sides of the parameter square [0, resolution]^2 of a grid mesh are glued.

    Attributes:
        first, second: the seam of the first / second parameter: ``"open"`` (the two sides
            are boundary), ``"periodic"`` (grid point (N, j) is (0, j); for the second
            parameter (i, N) is (i, 0)) or ``"twisted"`` (periodic with the other parameter
            reversed: (N, j) is (0, N - j), the half twist of a Möbius band).
        collapsed: sides that are a single point, e.g. the poles of a sphere; any of
            ``"first_low"`` (all grid points with i = 0), ``"first_high"`` (i = N),
            ``"second_low"``, ``"second_high"``.
    """

    first: str = "open"
    second: str = "open"
    collapsed: tuple[str, ...] = ()


def grid_mesh(
    resolution: int, seams: GridSeams, vertices_at: Callable[[np.ndarray, np.ndarray], np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Triangulate the grid {0..N}^2 (N = resolution), glue its seams, drop degenerate triangles.

    Each of the N^2 cells with corners a = (i, j), b = (i+1, j), c = (i+1, j+1), d = (i, j+1)
    gives the triangles (a, b, c) and (a, c, d), counter-clockwise in the parameter plane, so
    a periodic (untwisted) gluing keeps the orientation consistent. Grid points identified by
    ``seams`` become one vertex (the connected components of the identifications; the
    vertex is evaluated at the member with the smallest row-major index), and triangles with
    a repeated vertex (at a collapsed side) are dropped.

    Args:
        resolution: N, cells per parameter (>= 3).
        seams: the gluing (:class:`GridSeams`).
        vertices_at: (i, j) integer arrays shape=[V] -> points shape=[V, k].

    Returns:
        ``(vertices, faces)``: vertices shape=[V, k] float64 in row-major order of their
        representative grid points, faces shape=[F, 3] int64.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    size = resolution + 1
    ids = np.arange(size * size, dtype=np.int64).reshape(size, size)
    glued: list[tuple[np.ndarray, np.ndarray]] = []
    for axis, kind in ((0, seams.first), (1, seams.second)):
        if kind not in ("open", "periodic", "twisted"):
            raise ValueError(f"Expected a seam 'open', 'periodic' or 'twisted'. Received: {kind!r}.")
        last, first = (ids[-1, :], ids[0, :]) if axis == 0 else (ids[:, -1], ids[:, 0])
        if kind == "periodic":
            glued.append((last, first))
        elif kind == "twisted":
            glued.append((last, first[::-1]))
    sides = {"first_low": ids[0, :], "first_high": ids[-1, :], "second_low": ids[:, 0], "second_high": ids[:, -1]}
    for side in seams.collapsed:
        if side not in sides:
            raise ValueError(f"Expected collapsed sides among {sorted(sides)}. Received: {side!r}.")
        glued.append((sides[side], np.full(size, sides[side][0])))
    if glued:
        rows = np.concatenate([pair[0] for pair in glued])
        cols = np.concatenate([pair[1] for pair in glued])
    else:
        rows = cols = np.zeros(0, dtype=np.int64)
    graph = coo_matrix((np.ones(rows.size), (rows, cols)), shape=(ids.size, ids.size))
    _, labels = connected_components(graph, directed=False)
    # Number the classes by their smallest member, so vertices come in row-major grid order.
    _, first_member, inverse = np.unique(labels, return_index=True, return_inverse=True)
    order = np.argsort(first_member, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    vertex_of = rank[inverse].reshape(size, size)
    representatives = np.sort(first_member)
    vertices = np.asarray(vertices_at(representatives // size, representatives % size), dtype=np.float64)

    i, j = np.meshgrid(np.arange(resolution), np.arange(resolution), indexing="ij")
    a, b = vertex_of[i, j].ravel(), vertex_of[i + 1, j].ravel()
    c, d = vertex_of[i + 1, j + 1].ravel(), vertex_of[i, j + 1].ravel()
    faces = np.concatenate([np.stack([a, b, c], axis=1), np.stack([a, c, d], axis=1)])
    # Interleave the two triangles of each cell (cell-major order).
    faces = faces.reshape(2, -1, 3).transpose(1, 0, 2).reshape(-1, 3)
    proper = (faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 0] != faces[:, 2])
    return vertices, faces[proper].astype(np.int64)


def _gauss_legendre_box(
    function: Callable[[np.ndarray], np.ndarray], box: np.ndarray, panels: int, order: int = 16
) -> float:
    """∫_box function(t) dt by composite Gauss-Legendre (``panels`` x ``order`` nodes per axis).

    ``function`` maps t shape=[n, m] to shape=[n]; the nodes are evaluated in chunks.
    The error of each panel falls like h^(2 order) for smooth integrands.
    """
    nodes, weights = np.polynomial.legendre.leggauss(order)
    axes, axis_weights = [], []
    for low, high in box:
        edges = np.linspace(low, high, panels + 1)
        half = 0.5 * np.diff(edges)
        axes.append(((edges[:-1] + half)[:, None] + half[:, None] * nodes[None, :]).ravel())
        axis_weights.append((half[:, None] * weights[None, :]).ravel())
    grids = np.meshgrid(*axes, indexing="ij")
    points = np.stack([grid.ravel() for grid in grids], axis=1)
    weight = np.ones(1)
    for axis_weight in axis_weights:
        weight = np.multiply.outer(weight, axis_weight).ravel()
    total = 0.0
    for start in range(0, points.shape[0], 1 << 18):
        stop = start + (1 << 18)
        total += float(np.dot(function(points[start:stop]), weight[start:stop]))
    return total


# ----------------------------------------------------------------------------- the base class
class ParameterisedManifold(Manifold, ExactSurface, KnownTopology):
    """An m-dimensional manifold f(U), U a box of R^m, with area element, volume and mesh.

    Subclasses set ``params_type``, ``natural_dim``, ``intrinsic_dim``, ``parameter_names``,
    ``seams`` and the topology attributes, and implement :attr:`parameter_box`,
    :meth:`area_element`, :attr:`area_element_bound` and :meth:`_embed_natural`; they may
    override :attr:`volume` (closed form) and :meth:`_sample_volume_parameters` (an exact
    transform instead of rejection). See the module docstring for the mathematics.
    """

    euler_characteristic: ClassVar[Optional[int]] = None
    """χ = V - E + F of any triangulation (ground truth for the learnability evaluator)."""
    orientable: ClassVar[Optional[bool]] = None
    """Whether a consistent choice of normal (a consistent triangle winding) exists."""
    boundary_components: ClassVar[Optional[int]] = None
    """Number of boundary components (0 for a closed manifold)."""
    genus: ClassVar[Optional[int]] = None
    """Handles if orientable, cross-caps if not (surfaces only; ``None`` otherwise)."""
    seams: ClassVar[GridSeams] = GridSeams()
    """How :meth:`mesh` glues the sides of the parameter grid."""
    _quadrature_panels: ClassVar[int] = 16

    @property
    def has_boundary(self) -> Optional[bool]:
        """Whether the manifold has a boundary (``None`` when unknown)."""
        count = self.boundary_components
        return None if count is None else count > 0

    @property
    def closed_manifold(self) -> Optional[bool]:
        """Compact without boundary: no boundary component (``None`` when unknown)."""
        count = self.boundary_components
        return None if count is None else count == 0

    @property
    def has_mesh(self) -> bool:
        """A triangle mesh of the parameter grid exists for a 2-dimensional manifold only."""
        return self.intrinsic_dim == 2

    @property
    @abc.abstractmethod
    def parameter_box(self) -> np.ndarray:
        """The box U: shape=[m, 2], row k = (a_k, b_k), the range of parameter k."""

    @abc.abstractmethod
    def area_element(self, parameters: np.ndarray) -> np.ndarray:
        """g(t) = sqrt(det(J^T J)) for t shape=[n, m]; returns shape=[n]."""

    @property
    @abc.abstractmethod
    def area_element_bound(self) -> float:
        """G >= max over U of g (the envelope of the rejection sampler)."""

    @property
    def volume(self) -> float:
        """vol(Σ) = ∫_U g(t) dt (the area of a surface); quadrature unless overridden."""
        cached = getattr(self, "_volume_cache", None)
        if cached is None:
            cached = _gauss_legendre_box(self.area_element, self.parameter_box, self._quadrature_panels)
            self._volume_cache = cached
        return cached

    @property
    def area(self) -> float:
        """The same as :attr:`volume` (named for surfaces)."""
        return self.volume

    @property
    def box_volume(self) -> float:
        """|U|, the Lebesgue measure of the parameter box."""
        box = self.parameter_box
        return float(np.prod(box[:, 1] - box[:, 0]))

    # ------------------------------------------------------------------ measures
    def _sample_parameters(self, n: int, rng: np.random.Generator) -> np.ndarray:
        if self.params.measure == "parameter":
            return self._uniform_in_box(n, rng)
        return self._sample_volume_parameters(n, rng)

    def _uniform_in_box(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """t ~ U(box), shape=[n, m]; each coordinate in [a_k, b_k)."""
        box = self.parameter_box
        return box[:, 0] + (box[:, 1] - box[:, 0]) * rng.random((n, box.shape[0]))

    def _sample_volume_parameters(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """t with density g(t) / vol(Σ) on U, shape=[n, m], by vectorised rejection.

        A candidate t ~ U(U) with an independent u ~ U(0, 1) is kept iff u G < g(t); kept
        candidates are i.i.d. with density ∝ g. Batches hold about 1.1 x (still needed) /
        (acceptance rate) candidates (at most ``_MAX_BATCH``), so one or two batches
        usually suffice.
        """
        bound = float(self.area_element_bound)
        rate = min(1.0, max(self.volume / (self.box_volume * bound), 1e-6))
        chunks, remaining = [], n
        while remaining > 0:
            batch = int(min(_MAX_BATCH, math.ceil(1.1 * remaining / rate) + 64))
            candidates = self._uniform_in_box(batch, rng)
            density = self.area_element(candidates)
            if np.any(density > bound * (1.0 + 1e-12)):
                raise RuntimeError(
                    f"{type(self).__name__}: area element {density.max()!r} exceeds its bound "
                    f"{bound!r}; the rejection sampler would be biased."
                )
            kept = candidates[rng.random(batch) * bound < density][:remaining]
            chunks.append(kept)
            remaining -= kept.shape[0]
        return np.concatenate(chunks)

    # ------------------------------------------------------------------ mesh
    def mesh(self, resolution: int) -> tuple[np.ndarray, np.ndarray]:
        """A triangle mesh of the manifold: the parameter grid, seams glued.

        The box U is cut into resolution x resolution cells at equal parameter spacing, two
        triangles per cell (see :func:`grid_mesh`); grid points the seams identify (the
        sides of a periodic direction, the half twist of a Möbius band, the poles of a
        sphere) are one vertex, and the triangles that degenerate at a pole are dropped. So
        the mesh is a manifold mesh: every edge lies in two triangles, or in one on the
        boundary, and V - E + F = :attr:`euler_characteristic`. Vertices are exact points of
        the manifold, embedded like the samples (no noise); the mesh area converges to
        :attr:`area` as O(resolution^-2).

        Args:
            resolution: cells per parameter, >= 3.

        Returns:
            ``(vertices, faces)``: vertices shape=[V, ambient_dim] float64, faces
            shape=[F, 3] int64 (indices into vertices, counter-clockwise in the parameter
            plane).

        Raises:
            SpecError: the manifold is not 2-dimensional (no triangle mesh).
        """
        resolution = check_count("resolution", resolution, minimum=3)
        if self.intrinsic_dim != 2:
            raise self._no_mesh_error()
        box = self.parameter_box
        steps = (box[:, 1] - box[:, 0]) / resolution

        def vertices_at(i: np.ndarray, j: np.ndarray) -> np.ndarray:
            parameters = np.stack([box[0, 0] + i * steps[0], box[1, 0] + j * steps[1]], axis=1)
            return self._embed_natural(parameters)

        vertices, faces = grid_mesh(resolution, self.seams, vertices_at)
        return self.embed_natural_points(vertices), faces

    def _no_mesh_error(self) -> SpecError:
        return SpecError(
            f"a triangle mesh exists only for 2-dimensional manifolds. Received: "
            f"{self.params.type} of intrinsic dimension {self.intrinsic_dim}.",
            ("type",),
        )


def _angles_in_period(angles: np.ndarray) -> np.ndarray:
    """atan2 output (-pi, pi] moved into [0, 2 pi)."""
    wrapped = np.where(angles < 0.0, angles + TWO_PI, angles)
    return np.where(wrapped >= TWO_PI, 0.0, wrapped)


# ----------------------------------------------------------------------------- spheres
class Sphere(ParameterisedManifold, RoundSphere):
    """The round sphere S^m = {x in R^(m+1) : |x| = r} (``dim`` = m >= 1).

    Parameters: hyperspherical angles t = (θ_1, ..., θ_(m-1), φ), θ_k in [0, π] (polar
    angles), φ in [0, 2π) (the azimuth). With s_k = sin θ_1 ... sin θ_k:

        x = r (s_(m-1) cos φ, s_(m-1) sin φ, s_(m-2) cos θ_(m-1), ..., s_1 cos θ_2, cos θ_1),

    i.e. the last coordinate is r cos θ_1 and for m = 2 this is the usual
    (r sin θ cos φ, r sin θ sin φ, r cos θ), parameters (polar angle, azimuth); for m = 1
    the circle (r cos φ, r sin φ).

    Area element g = r^m Π_(k=1)^(m-1) sin^(m-k) θ_k <= r^m; volume
    |S^m| = 2 π^((m+1)/2) r^m / Γ((m+1)/2) (4 π r^2 for m = 2).

    ``measure: volume`` is exact: x = r z / |z| with z ~ N(0, I_(m+1)) is uniform on the
    sphere (the Gaussian is rotation invariant; Muller 1959), and the angles are read off x
    with atan2 (θ_k = atan2(|x_tail|, x_k), stable at the poles). On S^2 the height x_3 is
    then uniform on [-r, r] (Archimedes' hat-box theorem).

    Topology: χ = 1 + (-1)^m, orientable, closed; genus 0 for m = 2. :meth:`mesh` (m = 2
    only) is a UV sphere whose poles are single vertices.
    """

    params_type = SphereParams
    seams = GridSeams(first="open", second="periodic", collapsed=("first_low", "first_high"))
    orientable = True
    boundary_components = 0

    @property
    def dim(self) -> int:
        return int(self.params.dim)

    @property
    def radius(self) -> float:
        return float(self.params.radius)

    @property
    def intrinsic_dim(self) -> int:  # type: ignore[override]
        return self.dim

    @property
    def natural_dim(self) -> int:  # type: ignore[override]
        return self.dim + 1

    @property
    def parameter_names(self) -> tuple[str, ...]:  # type: ignore[override]
        if self.dim == 2:
            return ("polar_angle", "azimuth")
        return tuple(f"polar_angle_{k}" for k in range(1, self.dim)) + ("azimuth",)

    @property
    def euler_characteristic(self) -> int:  # type: ignore[override]
        return 1 + (-1) ** self.dim

    @property
    def genus(self) -> Optional[int]:  # type: ignore[override]
        return 0 if self.dim == 2 else None

    @property
    def parameter_box(self) -> np.ndarray:
        return np.array([[0.0, math.pi]] * (self.dim - 1) + [[0.0, TWO_PI]])

    @property
    def volume(self) -> float:
        m = self.dim
        return 2.0 * math.pi ** ((m + 1) / 2.0) / math.gamma((m + 1) / 2.0) * self.radius**m

    @property
    def area_element_bound(self) -> float:
        return self.radius**self.dim

    def area_element(self, parameters: np.ndarray) -> np.ndarray:
        parameters = np.asarray(parameters, dtype=np.float64)
        m = self.dim
        density = np.full(parameters.shape[0], self.radius**m)
        for k in range(m - 1):  # over the m - 1 polar angles, not over samples
            density = density * np.sin(parameters[:, k]) ** (m - 1 - k)
        return np.abs(density)

    def _sample_volume_parameters(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self.angles_of(rng.standard_normal((n, self.dim + 1)), standard_order=True)

    def angles_of(self, points: np.ndarray, *, standard_order: bool = False) -> np.ndarray:
        """The angles (θ_1, ..., θ_(m-1), φ) of points x shape=[n, m+1] (x != 0, any norm).

        With ``standard_order`` the columns are read as (y_1, ..., y_(m+1)) of the standard
        hyperspherical order y_1 = cos θ_1 (the class docstring's x reversed in its first
        m - 1 entries); either way the result is exact for the direction x / |x|.

        Returns:
            shape=[n, m], θ_k in [0, π], φ in [0, 2π).
        """
        points = np.asarray(points, dtype=np.float64)
        m = self.dim
        if standard_order:
            y = points
        else:
            y = np.concatenate([points[:, :1:-1], points[:, :2]], axis=1)
        tail = np.sqrt(np.cumsum((y * y)[:, ::-1], axis=1)[:, ::-1])  # tail[:, k] = |y_k..y_(m+1)|
        angles = np.empty((points.shape[0], m))
        if m > 1:
            angles[:, : m - 1] = np.arctan2(tail[:, 1:m], y[:, : m - 1])
        angles[:, m - 1] = _angles_in_period(np.arctan2(y[:, m], y[:, m - 1]))
        return angles

    def _embed_natural(self, parameters: np.ndarray) -> np.ndarray:
        parameters = np.asarray(parameters, dtype=np.float64)
        m = self.dim
        count = parameters.shape[0]
        points = np.empty((count, m + 1))
        sines = np.ones(count)
        # Column m is r cos θ_1, column m - 1 is r sin θ_1 cos θ_2, ...: a loop over the m - 1
        # polar angles (the dimension), vectorised over samples.
        for k in range(m - 1):
            points[:, m - k] = sines * np.cos(parameters[:, k])
            sines = sines * np.sin(parameters[:, k])
        azimuth = parameters[:, m - 1]
        points[:, 0] = sines * np.cos(azimuth)
        points[:, 1] = sines * np.sin(azimuth)
        return self.radius * points

    def mesh(self, resolution: int) -> tuple[np.ndarray, np.ndarray]:
        if self.dim != 2:
            raise SpecError(
                f"a triangle mesh exists only for the 2-sphere. Received: dim={self.dim} "
                f"(S^{self.dim} has no triangle mesh; use dim: 2).",
                ("dim",),
            )
        return super().mesh(resolution)


class Hemisphere(ParameterisedManifold):
    """The closed upper hemisphere {x in R^3 : |x| = r, x_3 >= 0}: a disk, genus 0 with boundary.

    Parameters (θ, φ) in [0, π/2] x [0, 2π): x = r (sin θ cos φ, sin θ sin φ, cos θ).
    Area element r^2 sin θ <= r^2; area 2 π r^2. ``measure: volume`` is exact: x_3 = r u,
    u ~ U(0, 1] (Archimedes: the height is uniform), θ = arccos(u), φ ~ U[0, 2π).
    Topology: χ = 1, orientable, one boundary circle (the equator), genus 0.
    """

    params_type = HemisphereParams
    natural_dim = 3
    intrinsic_dim = 2
    parameter_names = ("polar_angle", "azimuth")
    seams = GridSeams(first="open", second="periodic", collapsed=("first_low",))
    euler_characteristic = 1
    orientable = True
    boundary_components = 1
    genus = 0

    @property
    def radius(self) -> float:
        return float(self.params.radius)

    @property
    def parameter_box(self) -> np.ndarray:
        return np.array([[0.0, 0.5 * math.pi], [0.0, TWO_PI]])

    @property
    def volume(self) -> float:
        return TWO_PI * self.radius**2

    @property
    def area_element_bound(self) -> float:
        return self.radius**2

    def area_element(self, parameters: np.ndarray) -> np.ndarray:
        return self.radius**2 * np.sin(np.asarray(parameters, dtype=np.float64)[:, 0])

    def _sample_volume_parameters(self, n: int, rng: np.random.Generator) -> np.ndarray:
        heights = 1.0 - rng.random(n)  # in (0, 1]
        return np.stack([np.arccos(heights), TWO_PI * rng.random(n)], axis=1)

    def _embed_natural(self, parameters: np.ndarray) -> np.ndarray:
        theta, phi = parameters[:, 0], parameters[:, 1]
        sin_theta = np.sin(theta)
        return self.radius * np.stack([sin_theta * np.cos(phi), sin_theta * np.sin(phi), np.cos(theta)], axis=1)


class Disk(ParameterisedManifold):
    """The flat closed disk {x in R^2 : |x| <= r}: genus 0 with boundary.

    Parameters (ρ, φ) in [0, r] x [0, 2π): x = (ρ cos φ, ρ sin φ). Area element ρ <= r;
    area π r^2. ``measure: volume`` is exact: ρ = r sqrt(u), u ~ U[0, 1) (the area inside
    radius ρ is π ρ^2). ``measure: parameter`` (ρ uniform) crowds the centre.
    Topology: χ = 1, orientable, one boundary circle, genus 0.
    """

    params_type = DiskParams
    natural_dim = 2
    intrinsic_dim = 2
    parameter_names = ("radius", "azimuth")
    seams = GridSeams(first="open", second="periodic", collapsed=("first_low",))
    euler_characteristic = 1
    orientable = True
    boundary_components = 1
    genus = 0

    @property
    def radius(self) -> float:
        return float(self.params.radius)

    @property
    def parameter_box(self) -> np.ndarray:
        return np.array([[0.0, self.radius], [0.0, TWO_PI]])

    @property
    def volume(self) -> float:
        return math.pi * self.radius**2

    @property
    def area_element_bound(self) -> float:
        return self.radius

    def area_element(self, parameters: np.ndarray) -> np.ndarray:
        return np.abs(np.asarray(parameters, dtype=np.float64)[:, 0])

    def _sample_volume_parameters(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return np.stack([self.radius * np.sqrt(rng.random(n)), TWO_PI * rng.random(n)], axis=1)

    def _embed_natural(self, parameters: np.ndarray) -> np.ndarray:
        rho, phi = parameters[:, 0], parameters[:, 1]
        return np.stack([rho * np.cos(phi), rho * np.sin(phi)], axis=1)


# ----------------------------------------------------------------------------- tori and bands
class Torus(ParameterisedManifold):
    """The torus of revolution in R^3 with central radius R and tube radius r < R.

    Parameters (u, v) in [0, 2π)^2, u around the axis, v around the tube:
    x = ((R + r cos v) cos u, (R + r cos v) sin u, r sin v). The tangents are orthogonal with
    |f_u| = R + r cos v, |f_v| = r, so g = r (R + r cos v) <= r (R + r) and the area is
    4 π^2 R r. Under ``measure: volume`` u is uniform and v has density
    (R + r cos v) / (2 π R), CDF (R v + r sin v) / (2 π R) (sampled by rejection, acceptance
    R / (R + r)). Implicit equation: (sqrt(x_1^2 + x_2^2) - R)^2 + x_3^2 = r^2.
    Topology: χ = 0, orientable, closed, genus 1.
    """

    params_type = TorusParams
    natural_dim = 3
    intrinsic_dim = 2
    parameter_names = ("u_around_axis", "v_around_tube")
    seams = GridSeams(first="periodic", second="periodic")
    euler_characteristic = 0
    orientable = True
    boundary_components = 0
    genus = 1

    @property
    def parameter_box(self) -> np.ndarray:
        return np.array([[0.0, TWO_PI], [0.0, TWO_PI]])

    @property
    def volume(self) -> float:
        return TWO_PI * TWO_PI * float(self.params.R) * float(self.params.r)

    @property
    def area_element_bound(self) -> float:
        return float(self.params.r) * (float(self.params.R) + float(self.params.r))

    def area_element(self, parameters: np.ndarray) -> np.ndarray:
        big_r, r = float(self.params.R), float(self.params.r)
        return r * (big_r + r * np.cos(np.asarray(parameters, dtype=np.float64)[:, 1]))

    def _embed_natural(self, parameters: np.ndarray) -> np.ndarray:
        big_r, r = float(self.params.R), float(self.params.r)
        u, v = parameters[:, 0], parameters[:, 1]
        ring = big_r + r * np.cos(v)
        return np.stack([ring * np.cos(u), ring * np.sin(u), r * np.sin(v)], axis=1)


class KleinBottle(ParameterisedManifold):
    """The Klein bottle in R^4: a tube around a circle whose cross-section turns by half a turn.

    Parameters (u, v) in [0, 2π)^2:

        x = ((R + r cos v) cos u, (R + r cos v) sin u, r sin v cos(u/2), r sin v sin(u/2)).

    The tube's circle of radius r lies in the plane spanned by the radial direction
    (cos u, sin u, 0, 0) and (0, 0, cos(u/2), sin(u/2)); going once around (u -> u + 2π)
    the second vector changes sign, so (u + 2π, v) is (u, -v): a non-orientable closed
    surface. For r < R it is embedded (no self-intersection, unlike any Klein bottle in R^3).
    Tangents: |f_u|^2 = (R + r cos v)^2 + (r^2 / 4) sin^2 v, |f_v| = r, f_u . f_v = 0, so

        g(u, v) = r sqrt((R + r cos v)^2 + (r^2 / 4) sin^2 v) <= r sqrt((R + r)^2 + r^2 / 4).

    The area 2π r ∫_0^(2π) sqrt((R + r cos v)^2 + (r^2/4) sin^2 v) dv (an elliptic
    integral) is computed by the trapezoidal rule in v, exact to rounding for this periodic
    analytic integrand. Implicit equations: with ρ = |(x_1, x_2)| and u = atan2(x_2, x_1),
    (ρ - R)^2 + x_3^2 + x_4^2 = r^2 and x_3 sin(u/2) - x_4 cos(u/2) = 0.
    Topology: χ = 0, non-orientable, closed, 2 cross-caps.
    """

    params_type = KleinBottleParams
    natural_dim = 4
    intrinsic_dim = 2
    parameter_names = ("u_around_axis", "v_around_tube")
    seams = GridSeams(first="twisted", second="periodic")
    euler_characteristic = 0
    orientable = False
    boundary_components = 0
    genus = 2

    @property
    def parameter_box(self) -> np.ndarray:
        return np.array([[0.0, TWO_PI], [0.0, TWO_PI]])

    @property
    def volume(self) -> float:
        v = np.linspace(0.0, TWO_PI, 4096, endpoint=False)
        zeros = np.zeros_like(v)
        return TWO_PI * TWO_PI * float(np.mean(self.area_element(np.stack([zeros, v], axis=1))))

    @property
    def area_element_bound(self) -> float:
        big_r, r = float(self.params.R), float(self.params.r)
        return r * math.sqrt((big_r + r) ** 2 + 0.25 * r * r)

    def area_element(self, parameters: np.ndarray) -> np.ndarray:
        big_r, r = float(self.params.R), float(self.params.r)
        v = np.asarray(parameters, dtype=np.float64)[:, 1]
        return r * np.sqrt((big_r + r * np.cos(v)) ** 2 + 0.25 * r * r * np.sin(v) ** 2)

    def _embed_natural(self, parameters: np.ndarray) -> np.ndarray:
        big_r, r = float(self.params.R), float(self.params.r)
        u, v = parameters[:, 0], parameters[:, 1]
        ring = big_r + r * np.cos(v)
        across = r * np.sin(v)
        return np.stack(
            [ring * np.cos(u), ring * np.sin(u), across * np.cos(0.5 * u), across * np.sin(0.5 * u)], axis=1
        )


class Mobius(ParameterisedManifold):
    """The Möbius band in R^3: a segment of length w turning half a turn around a circle of radius R.

    Parameters (u, s) in [0, 2π) x [-w/2, w/2]:

        x = ((R + s cos(u/2)) cos u, (R + s cos(u/2)) sin u, s sin(u/2)).

    (u + 2π, s) is (u, -s): one half twist. Tangents: |f_s| = 1, f_u . f_s = 0,
    |f_u|^2 = (R + s cos(u/2))^2 + s^2 / 4, so g = sqrt((R + s cos(u/2))^2 + s^2 / 4)
    <= sqrt((R + w/2)^2 + w^2 / 16). w < 2R keeps the band off the axis (embedded). The
    area has no elementary closed form; :attr:`volume` is composite Gauss-Legendre
    quadrature (relative error below 1e-12). Implicit equations: with ρ = |(x_1, x_2)|,
    u = atan2(x_2, x_1): (ρ - R) sin(u/2) - x_3 cos(u/2) = 0 and (ρ - R)^2 + x_3^2 <= w^2 / 4.
    Topology: χ = 0, non-orientable, one boundary circle (of length about 4π R), 1 cross-cap.
    """

    params_type = MobiusParams
    natural_dim = 3
    intrinsic_dim = 2
    parameter_names = ("u_around_axis", "s_across")
    seams = GridSeams(first="twisted", second="open")
    euler_characteristic = 0
    orientable = False
    boundary_components = 1
    genus = 1

    @property
    def parameter_box(self) -> np.ndarray:
        half = 0.5 * float(self.params.width)
        return np.array([[0.0, TWO_PI], [-half, half]])

    @property
    def area_element_bound(self) -> float:
        radius, half = float(self.params.radius), 0.5 * float(self.params.width)
        return math.sqrt((radius + half) ** 2 + 0.25 * half * half)

    def area_element(self, parameters: np.ndarray) -> np.ndarray:
        parameters = np.asarray(parameters, dtype=np.float64)
        u, s = parameters[:, 0], parameters[:, 1]
        return np.sqrt((float(self.params.radius) + s * np.cos(0.5 * u)) ** 2 + 0.25 * s * s)

    def _embed_natural(self, parameters: np.ndarray) -> np.ndarray:
        u, s = parameters[:, 0], parameters[:, 1]
        ring = float(self.params.radius) + s * np.cos(0.5 * u)
        return np.stack([ring * np.cos(u), ring * np.sin(u), s * np.sin(0.5 * u)], axis=1)


# ----------------------------------------------------------------------------- rolls and graphs
class SwissRoll(ParameterisedManifold):
    """The swiss roll: the spiral θ -> (θ cos θ, θ sin θ) extruded along the height.

    Parameters (θ, h) in [θ_0, θ_1] x [0, height], θ_0 = 2π ``start_turns``,
    θ_1 = θ_0 + 2π ``turns``: x = (θ cos θ, h, θ sin θ) (scikit-learn's ``make_swiss_roll``
    with the defaults: θ in [1.5π, 4.5π], h in [0, 21]). The spiral's speed is
    sqrt(1 + θ^2), so g = sqrt(1 + θ^2) <= sqrt(1 + θ_1^2); its arc length from 0 is

        S(θ) = (θ sqrt(1 + θ^2) + asinh θ) / 2,

    and the area is height x (S(θ_1) - S(θ_0)). Under ``measure: volume`` (rejection) the
    arc-length position S(θ) - S(θ_0) is uniform on [0, S(θ_1) - S(θ_0)] and h uniform:
    uniform in area, where scikit-learn's roll (θ uniform) crowds the inner turns.
    Implicit equations: with θ from the parameters, x_1 = θ cos θ, x_3 = θ sin θ,
    0 <= x_2 <= height. Topology: a rectangle rolled up: χ = 1, orientable, one boundary
    circle, genus 0.
    """

    params_type = SwissRollParams
    natural_dim = 3
    intrinsic_dim = 2
    parameter_names = ("theta", "height")
    euler_characteristic = 1
    orientable = True
    boundary_components = 1
    genus = 0

    @staticmethod
    def arc_length(theta: np.ndarray) -> np.ndarray:
        """S(θ) = (θ sqrt(1 + θ^2) + asinh θ) / 2, the spiral's arc length from θ = 0."""
        theta = np.asarray(theta, dtype=np.float64)
        return 0.5 * (theta * np.hypot(1.0, theta) + np.arcsinh(theta))

    @property
    def parameter_box(self) -> np.ndarray:
        start, end = self.params.theta_range
        return np.array([[start, end], [0.0, float(self.params.height)]])

    @property
    def volume(self) -> float:
        start, end = self.params.theta_range
        return float(self.params.height) * float(self.arc_length(end) - self.arc_length(start))

    @property
    def area_element_bound(self) -> float:
        return math.hypot(1.0, self.params.theta_range[1])

    def area_element(self, parameters: np.ndarray) -> np.ndarray:
        return np.hypot(1.0, np.asarray(parameters, dtype=np.float64)[:, 0])

    def _embed_natural(self, parameters: np.ndarray) -> np.ndarray:
        theta, height = parameters[:, 0], parameters[:, 1]
        return np.stack([theta * np.cos(theta), height, theta * np.sin(theta)], axis=1)


class SCurve(ParameterisedManifold):
    """scikit-learn's S-curve: two unit half-circle arcs in the (x_1, x_3) plane, extruded along x_2.

    Parameters (t, h) in [-3π/2, 3π/2] x [0, height]:
    x = (sin t, h, sign(t) (cos t - 1)) (scikit-learn's ``make_s_curve``, height 2). The
    curve has unit speed (|(cos t, -sign(t) sin t)| = 1), so g = 1, the area is
    3π x height and ``measure: volume`` and ``measure: parameter`` coincide (t and h
    uniform). Implicit equation: x_1^2 + (|x_3| - 1)^2 = 1, 0 <= x_2 <= height.
    Topology: χ = 1, orientable, one boundary circle, genus 0.
    """

    params_type = SCurveParams
    natural_dim = 3
    intrinsic_dim = 2
    parameter_names = ("t", "height")
    euler_characteristic = 1
    orientable = True
    boundary_components = 1
    genus = 0

    @property
    def parameter_box(self) -> np.ndarray:
        return np.array([[-1.5 * math.pi, 1.5 * math.pi], [0.0, float(self.params.height)]])

    @property
    def volume(self) -> float:
        return 3.0 * math.pi * float(self.params.height)

    @property
    def area_element_bound(self) -> float:
        return 1.0

    def area_element(self, parameters: np.ndarray) -> np.ndarray:
        return np.ones(np.asarray(parameters).shape[0])

    def _sample_volume_parameters(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self._uniform_in_box(n, rng)  # g is constant: area measure = parameter measure

    def _embed_natural(self, parameters: np.ndarray) -> np.ndarray:
        t, height = parameters[:, 0], parameters[:, 1]
        return np.stack([np.sin(t), height, np.sign(t) * (np.cos(t) - 1.0)], axis=1)


def _graph_function(function) -> tuple[Callable, Callable, Callable[[float], float]]:
    """(f(x, y), grad f(x, y) -> (f_x, f_y), extent -> max |grad f| on [-extent, extent]^2)."""
    kind = function.type
    if kind in ("paraboloid", "saddle"):
        c = float(function.curvature)
        sign = 1.0 if kind == "paraboloid" else -1.0
        return (
            lambda x, y: c * (x * x + sign * y * y),
            lambda x, y: (2.0 * c * x, 2.0 * sign * c * y),
            lambda e: 2.0 * abs(c) * math.sqrt(2.0) * e,  # |grad| = 2|c| |(x, y)| <= 2|c| sqrt(2) e
        )
    if kind == "gaussian_bump":
        h, s = float(function.height), float(function.width)

        def bump(x, y):
            return h * np.exp(-(x * x + y * y) / (2.0 * s * s))

        # |grad| = |h| r / s^2 exp(-r^2 / 2 s^2), largest at r = s: |h| / (s sqrt(e)).
        return (
            bump,
            lambda x, y: (-x / (s * s) * bump(x, y), -y / (s * s) * bump(x, y)),
            lambda e: abs(h) / (s * math.sqrt(math.e)),
        )
    if kind == "sine_ripple":
        a, k = float(function.amplitude), float(function.frequency)
        # |grad|^2 = a^2 k^2 (cos^2 kx sin^2 ky + sin^2 kx cos^2 ky) <= a^2 k^2.
        return (
            lambda x, y: a * np.sin(k * x) * np.sin(k * y),
            lambda x, y: (a * k * np.cos(k * x) * np.sin(k * y), a * k * np.sin(k * x) * np.cos(k * y)),
            lambda e: abs(a) * k,
        )
    raise SpecError(
        f"unknown graph function {kind!r}. Expected one of: gaussian_bump, paraboloid, saddle, sine_ripple.",
        ("function", "type"),
    )


class GraphSurface(ParameterisedManifold):
    """The graph of a height function: {(x, y, f(x, y)) : (x, y) in [-e, e]^2}.

    f comes from a fixed menu (a spec never names code), with gradients written out:

    ==============  ===============================  =====================================
    ``type``         f(x, y)                          max |grad f| on [-e, e]^2
    ==============  ===============================  =====================================
    paraboloid      c (x^2 + y^2)                    2 sqrt(2) |c| e
    saddle          c (x^2 - y^2)                    2 sqrt(2) |c| e
    gaussian_bump   h exp(-(x^2 + y^2) / (2 s^2))    |h| / (s sqrt(e_Euler))
    sine_ripple     a sin(k x) sin(k y)              |a| k
    ==============  ===============================  =====================================

    Parameters (x, y); the area element is g = sqrt(1 + f_x^2 + f_y^2) <= sqrt(1 + max|grad|^2)
    and the area ∫ g is computed by composite Gauss-Legendre quadrature with panels
    finer than the ripple's wavelength. ``measure: parameter`` is uniform in (x, y) (the
    projection onto the plane), ``volume`` uniform in area (denser where the graph is steep).
    Implicit equation: x_3 = f(x_1, x_2). Topology: a square: χ = 1, orientable, one
    boundary circle, genus 0.
    """

    params_type = GraphSurfaceParams
    natural_dim = 3
    intrinsic_dim = 2
    parameter_names = ("x", "y")
    euler_characteristic = 1
    orientable = True
    boundary_components = 1
    genus = 0

    @property
    def extent(self) -> float:
        return float(self.params.extent)

    @property
    def height_function(self) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        """f(x, y), vectorised."""
        return _graph_function(self.params.function)[0]

    @property
    def _quadrature_panels(self) -> int:  # type: ignore[override]
        function = self.params.function
        if function.type == "sine_ripple":  # >= 2 panels per half-wavelength pi / k
            return max(16, math.ceil(4.0 * float(function.frequency) * self.extent / math.pi))
        if function.type == "gaussian_bump":  # panels narrower than the bump's width
            return max(16, math.ceil(4.0 * self.extent / float(function.width)))
        return 16

    @property
    def parameter_box(self) -> np.ndarray:
        return np.array([[-self.extent, self.extent]] * 2)

    @property
    def area_element_bound(self) -> float:
        return math.hypot(1.0, _graph_function(self.params.function)[2](self.extent))

    def area_element(self, parameters: np.ndarray) -> np.ndarray:
        parameters = np.asarray(parameters, dtype=np.float64)
        f_x, f_y = _graph_function(self.params.function)[1](parameters[:, 0], parameters[:, 1])
        return np.sqrt(1.0 + f_x * f_x + f_y * f_y)

    def _embed_natural(self, parameters: np.ndarray) -> np.ndarray:
        x, y = parameters[:, 0], parameters[:, 1]
        return np.stack([x, y, self.height_function(x, y)], axis=1)


# ----------------------------------------------------------------------------- products
class ProductWithInterval(Manifold, ExactSurface, KnownTopology):
    """Σ x [0, L]^k for a base manifold Σ: the paper's way to go up in dimension.

    Lei, Luo, Yau, Gu (arXiv:1805.10451, after Theorem 4.14) raise the dimension of the
    space-filling-curve counterexample by taking products with intervals. A point is
    (x, s_1, ..., s_k) with x a point of the base in the base's ambient space R^D_b (its own
    ``embed`` applies) and s_i in [0, L]: natural space R^(D_b + k), intrinsic dimension
    m_b + k, parameters (base parameters, s_1, ..., s_k).

    The Riemannian measure of a product is the product measure, so ``measure: volume`` is
    exact: the base's volume measure times uniform s; ``measure: parameter`` is the base's
    parameter measure times uniform s. The base's own ``measure`` must be left at its
    default (or equal the product's) and it must have no noise: the product's ``measure``
    and ``noise`` apply. Ground truth: volume = vol(base) L^k (the base's length for a
    curve), χ = χ(base) (an interval is contractible), orientable iff the base is; the
    boundary has 2 components when k = 1 and the base is closed (a cylinder's two circles),
    1 otherwise. :meth:`mesh` exists when the base is a curve and k = 1 (a 2-dimensional
    product): the base's polyline times the interval's grid.

    Raises:
        SpecError: a base with noise or a conflicting measure (at ``base``), a base
            without polyline or mesh, or any error of the base (its path prefixed by
            ``base``).
    """

    params_type = ProductWithIntervalParams

    def __init__(self, params: Optional[ProductWithIntervalParams] = None, *, embedding_seed: Optional[int] = None):
        if params is None:
            params = ProductWithIntervalParams()
        if isinstance(params, ProductWithIntervalParams):
            self._base = self._build_base(params, embedding_seed)
        super().__init__(params, embedding_seed=embedding_seed)

    @staticmethod
    def _build_base(params: ProductWithIntervalParams, embedding_seed: Optional[int]) -> Manifold:
        from geokeras.manifolds import make

        base_key = ("base",)
        base = params.base
        noise = base.noise
        if getattr(noise, "type", "gaussian") != "gaussian" or float(getattr(noise, "std", 0.0)) > 0.0:
            raise SpecError(
                f"expected no noise on the base (the product's `noise` applies to the whole "
                f"product; set manifold.noise). Received: {noise!r}.",
                (*base_key, "noise"),
            )
        wanted = "parameter" if params.measure == "parameter" else "volume"
        if base.measure != "volume" and base.measure != params.measure:
            raise SpecError(
                f"expected the base's measure to be left at 'volume' (the product's `measure` "
                f"applies to the base too; set manifold.measure). Received: base measure "
                f"{base.measure!r} with product measure {params.measure!r}.",
                (*base_key, "measure"),
            )
        with located_under(*base_key):
            manifold = make(base.model_copy(update={"measure": wanted}), embedding_seed=embedding_seed)
        if not isinstance(manifold, (ExactCurve, ExactSurface)):
            raise SpecError(
                f"expected a base with exact geometry (a curve with a polyline or a manifold "
                f"with a mesh). Received: type {base.type!r}.",
                (*base_key, "type"),
            )
        return manifold

    @property
    def base(self) -> Manifold:
        """The base manifold (built from ``params.base`` with the product's measure)."""
        return self._base

    @property
    def intervals(self) -> int:
        return int(self.params.intervals)

    @property
    def intrinsic_dim(self) -> int:  # type: ignore[override]
        return int(self._base.intrinsic_dim) + self.intervals

    @property
    def natural_dim(self) -> int:  # type: ignore[override]
        return int(self._base.ambient_dim) + self.intervals

    @property
    def parameter_names(self) -> tuple[str, ...]:  # type: ignore[override]
        names = tuple(self._base.parameter_names) or tuple(f"base_{k}" for k in range(1, self._base.intrinsic_dim + 1))
        if self.intervals == 1:
            return names + ("s",)
        return names + tuple(f"s_{k}" for k in range(1, self.intervals + 1))

    @property
    def _base_is_closed(self) -> Optional[bool]:
        return self._base.closed_manifold if isinstance(self._base, KnownTopology) else None

    @property
    def volume(self) -> Optional[float]:
        """vol(base) x L^k (the base's ``length`` for a curve); ``None`` if the base's is unknown."""
        base_volume = self._base.length if isinstance(self._base, ExactCurve) else self._base.volume
        if base_volume is None:
            return None
        return float(base_volume) * float(self.params.length) ** self.intervals

    @property
    def area(self) -> Optional[float]:
        """The same as :attr:`volume` (named for surfaces)."""
        return self.volume

    @property
    def euler_characteristic(self) -> Optional[int]:
        if isinstance(self._base, ExactCurve):
            return 0 if self._base.closed else 1
        return self._base.euler_characteristic

    @property
    def orientable(self) -> Optional[bool]:  # type: ignore[override]
        if isinstance(self._base, ExactCurve):
            return True
        return self._base.orientable

    @property
    def boundary_components(self) -> Optional[int]:
        closed = self._base_is_closed
        if self.intervals > 1:
            return 1
        return None if closed is None else (2 if closed else 1)

    @property
    def has_boundary(self) -> bool:
        return True

    @property
    def closed_manifold(self) -> Optional[bool]:
        """Never: the interval's end points make a boundary (``None`` when the base's is unknown)."""
        count = self.boundary_components
        return None if count is None else count == 0

    @property
    def has_mesh(self) -> bool:
        """A mesh exists for a curve times one interval (the 2-dimensional products)."""
        return self.intrinsic_dim == 2 and isinstance(self._base, ExactCurve)

    @property
    def genus(self) -> Optional[int]:
        if self.intrinsic_dim != 2 or self.orientable is None:
            return None
        return 0  # an annulus (closed base curve) or a disk (open base curve)

    def _sample_parameters(self, n: int, rng: np.random.Generator) -> np.ndarray:
        base_dim = int(self._base.intrinsic_dim)
        # The base was built with the product's measure (volume or parameter), so its own
        # sampler draws the base factor; the interval factors are uniform under both measures.
        base_parameters = np.asarray(self._base._sample_parameters(n, rng), dtype=np.float64).reshape(n, base_dim)
        interval_parameters = float(self.params.length) * rng.random((n, self.intervals))
        return np.concatenate([base_parameters, interval_parameters], axis=1)

    def _embed_natural(self, parameters: np.ndarray) -> np.ndarray:
        base_dim = int(self._base.intrinsic_dim)
        base_points = self._base.points_at(parameters[:, :base_dim])
        return np.concatenate([base_points, parameters[:, base_dim:]], axis=1)

    def mesh(self, resolution: int) -> tuple[np.ndarray, np.ndarray]:
        """The base curve's polyline times the interval's grid (base a curve, k = 1 only).

        The base polyline has ``resolution`` segments at equal arc length, the interval
        ``resolution`` cells; a closed base curve makes the first direction periodic (a
        cylinder: V - E + F = 0, two boundary loops), an open one gives a rectangle
        (V - E + F = 1, one boundary loop). Returns ``(vertices shape=[V, ambient_dim]
        float64, faces shape=[F, 3] int64)`` as :meth:`ParameterisedManifold.mesh`.

        Raises:
            SpecError: the product is not 2-dimensional or its base is not a curve.
        """
        resolution = check_count("resolution", resolution, minimum=3)
        if not self.has_mesh:
            raise SpecError(
                f"a triangle mesh exists only for a curve times one interval. Received: base "
                f"{self.params.base.type!r} of dimension {self._base.intrinsic_dim} with "
                f"intervals={self.intervals} (intrinsic dimension {self.intrinsic_dim}).",
                ("intervals",) if self.intervals > 1 else ("base", "type"),
            )
        polyline, closed = self._base.polyline(resolution)
        polyline = np.asarray(polyline, dtype=np.float64)
        step = float(self.params.length) / resolution

        def vertices_at(i: np.ndarray, j: np.ndarray) -> np.ndarray:
            return np.concatenate([polyline[i % polyline.shape[0]], (j * step)[:, None]], axis=1)

        seams = GridSeams(first="periodic" if closed else "open", second="open")
        vertices, faces = grid_mesh(resolution, seams, vertices_at)
        return self.embed_natural_points(vertices), faces
