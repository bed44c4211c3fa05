"""Triangle meshes: loading OBJ / PLY / OFF files, their topology, and sampling them by area.

A scanned surface (the Buddha of Lei, Luo, Yau, Gu, *Geometric Understanding of Deep
Learning*, arXiv:1805.10451, encoded by a ReLU autoencoder into R^2) is a triangle mesh
(vertices shape=[V, 3], faces shape=[F, 3]). :class:`MeshSurface` (``type: mesh``) loads one
with trimesh (imported lazily), checks that it is a manifold mesh, normalises its scale and
samples it:

* ``measure: volume`` (uniform in area): a face k with probability A_k / Σ A (A_k its area),
  then a uniform point of that face;
* ``measure: parameter``: every face with probability 1 / F (uniform in the parameter (face
  index, point of the face)).

A uniform point of the triangle (A, B, C) is (1 - sqrt(r_1)) A + sqrt(r_1)(1 - r_2) B +
sqrt(r_1) r_2 C with r_1, r_2 ~ U[0, 1) (Osada, Funkhouser, Chazelle, Dobkin, *Shape
distributions*, ACM TOG 2002, eq. 1).

The topology helpers (:func:`mesh_topology`, :func:`mesh_edges`, :func:`triangle_areas`) work
on any triangle mesh, e.g. the meshes of :mod:`geokeras.manifolds.surfaces`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import numpy as np

from geokeras.errors import KeyPath, SpecError
from geokeras.manifolds.base import Manifold, check_count
from geokeras.manifolds.capabilities import ExactSurface, KnownTopology
from geokeras.manifolds.params import MeshParams

MESH_FORMATS = (".obj", ".off", ".ply")
"""File extensions :func:`load_triangle_mesh` reads (case-insensitive)."""


# ----------------------------------------------------------------------------- geometry
def triangle_areas(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Areas of the triangles, in any dimension: |AB|^2 |AC|^2 - (AB . AC)^2 = (2 area)^2.

    Args:
        vertices: shape=[V, k], k >= 2.
        faces: shape=[F, 3] integer indices into ``vertices``.

    Returns:
        shape=[F] float64, >= 0.
    """
    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    first = vertices[faces[:, 1]] - vertices[faces[:, 0]]
    second = vertices[faces[:, 2]] - vertices[faces[:, 0]]
    gram = np.einsum("ij,ij->i", first, first) * np.einsum("ij,ij->i", second, second)
    gram -= np.einsum("ij,ij->i", first, second) ** 2
    return 0.5 * np.sqrt(np.maximum(gram, 0.0))


def mesh_edges(faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The undirected edges of a triangle mesh and how many triangles hold each.

    Args:
        faces: shape=[F, 3] integer vertex indices.

    Returns:
        ``(edges, counts)``: edges shape=[E, 2] int64, each row (i, j) with i < j, sorted;
        counts shape=[E] int64. In a manifold mesh every count is 1 (boundary) or 2.
    """
    faces = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    if faces.size == 0:
        return np.zeros((0, 2), dtype=np.int64), np.zeros(0, dtype=np.int64)
    tails, heads = faces.reshape(-1), np.roll(faces, -1, axis=1).reshape(-1)
    # One int64 key per undirected edge (i < j): a 1-D sort, far faster than unique rows.
    size = int(faces.max()) + 1
    keys, counts = np.unique(np.minimum(tails, heads) * size + np.maximum(tails, heads), return_counts=True)
    return np.stack([keys // size, keys % size], axis=1), counts.astype(np.int64)


@dataclass(frozen=True)
class MeshTopology:
    """Combinatorial invariants of a triangle mesh (see :func:`mesh_topology`).

    Attributes:
        vertices, edges, faces: V (vertices used by some face), E, F.
        euler_characteristic: χ = V - E + F.
        boundary_edges: edges in exactly one triangle.
        non_manifold_edges: edges in more than two triangles (0 for a manifold mesh).
        boundary_loops: connected components of the boundary edges (b).
        components: connected components of the mesh.
        orientable: whether the triangles can be wound consistently (each interior edge
            traversed in opposite directions by its two triangles); ``None`` when the mesh
            has non-manifold edges.
        consistently_wound: whether the winding as stored already is consistent.
        genus: for a connected manifold mesh, g = (2 - χ - b) / 2 handles if orientable and
            k = 2 - χ - b cross-caps if not; ``None`` otherwise.
    """

    vertices: int
    edges: int
    faces: int
    euler_characteristic: int
    boundary_edges: int
    non_manifold_edges: int
    boundary_loops: int
    components: int
    orientable: Optional[bool]
    consistently_wound: Optional[bool]
    genus: Optional[int]

    @property
    def closed(self) -> bool:
        """True when every edge lies in exactly two triangles."""
        return self.boundary_edges == 0 and self.non_manifold_edges == 0


def _component_labels(node_count: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(rows.size), (rows, cols)), shape=(node_count, node_count))
    return connected_components(graph, directed=False)[1]


def mesh_topology(faces: np.ndarray) -> MeshTopology:
    """V, E, F, χ, boundary loops, components, orientability and genus of a triangle mesh.

    Orientability: on the double cover with nodes (face, ±), two triangles sharing an edge
    are joined sign-preserving when they traverse it in opposite directions (consistent) and
    sign-swapping when in the same direction; the mesh is orientable iff no (f, +) is
    connected to its own (f, -). Vectorised with scipy's connected components.

    Args:
        faces: shape=[F, 3] integer vertex indices (unused vertex indices are not counted).

    Returns:
        :class:`MeshTopology`.
    """
    faces = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    face_count = faces.shape[0]
    used = np.unique(faces)
    vertex_count = int(used.size)
    edges, counts = mesh_edges(faces)
    boundary = edges[counts == 1]
    non_manifold = int(np.count_nonzero(counts > 2))
    size = int(faces.max()) + 1 if face_count else 0

    if boundary.size:
        labels = _component_labels(size, boundary[:, 0], boundary[:, 1])
        boundary_loops = int(np.unique(labels[np.unique(boundary)]).size)
    else:
        boundary_loops = 0
    components = int(np.unique(_component_labels(size, edges[:, 0], edges[:, 1])[used]).size) if face_count else 0

    orientable: Optional[bool] = None
    consistently_wound: Optional[bool] = None
    if non_manifold == 0 and face_count:
        tails = faces.reshape(-1)
        heads = np.roll(faces, -1, axis=1).reshape(-1)
        keys = np.minimum(tails, heads) * size + np.maximum(tails, heads)
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        pair_start = np.flatnonzero((sorted_keys[1:] == sorted_keys[:-1]))
        first, second = order[pair_start], order[pair_start + 1]
        same_direction = tails[first] == tails[second]  # both run i -> j: inconsistent winding
        face_a, face_b = first // 3, second // 3
        rows = np.concatenate([face_a, face_a + face_count])
        cols = np.concatenate(
            [
                np.where(same_direction, face_b + face_count, face_b),
                np.where(same_direction, face_b, face_b + face_count),
            ]
        )
        labels = _component_labels(2 * face_count, rows, cols)
        orientable = bool(np.all(labels[:face_count] != labels[face_count:]))
        consistently_wound = not bool(np.any(same_direction))

    chi = vertex_count - int(edges.shape[0]) + face_count
    genus: Optional[int] = None
    if orientable is not None and components == 1:
        deficit = 2 - chi - boundary_loops
        genus = deficit // 2 if orientable else deficit
    return MeshTopology(
        vertices=vertex_count,
        edges=int(edges.shape[0]),
        faces=face_count,
        euler_characteristic=chi,
        boundary_edges=int(boundary.shape[0]),
        non_manifold_edges=non_manifold,
        boundary_loops=boundary_loops,
        components=components,
        orientable=orientable,
        consistently_wound=consistently_wound,
        genus=genus,
    )


# ----------------------------------------------------------------------------- loading
def load_triangle_mesh(path: Union[str, os.PathLike], key: KeyPath = ("path",)) -> tuple[np.ndarray, np.ndarray]:
    """Read a triangle mesh from an OBJ, PLY or OFF file and check that it is a manifold mesh.

    trimesh reads the file (polygons with more than three corners are split into triangle
    fans by its loaders). Vertices with exactly equal coordinates are merged (OBJ files
    repeat vertices along texture seams), triangles with a repeated vertex are dropped, and
    vertices no triangle uses are removed; otherwise the file's order is kept.

    Args:
        path: the file; a relative path is resolved against the current directory.
        key: the spec key errors are reported at.

    Returns:
        ``(vertices, faces)``: shape=[V, 3] float64 and shape=[F, 3] int64.

    Raises:
        SpecError at ``key``: a directory, a missing file (naming the path and the current directory), an
        extension other than .obj/.ply/.off, a file trimesh cannot read, a mesh without
        triangles or with non-finite coordinates, zero total area, or a non-manifold mesh
        (edges in more than two triangles; the message counts them).
    """
    file = Path(path).expanduser()
    shown = str(path)
    if file.is_dir():
        raise SpecError(f"expected a mesh file. Received: path={shown!r}, which is a directory.", key)
    if not file.is_file():
        where = (
            ""
            if file.is_absolute()
            else f" (relative paths are resolved against the current directory {os.getcwd()!r})"
        )
        raise SpecError(f"expected an existing mesh file. Received: path={shown!r}, which does not exist{where}.", key)
    suffix = file.suffix.lower()
    if suffix not in MESH_FORMATS:
        raise SpecError(
            f"unsupported mesh format {suffix or '(no extension)'!r}. Expected one of: "
            f"{', '.join(MESH_FORMATS)}. Received: path={shown!r}.",
            key,
        )
    import trimesh

    try:
        loaded = trimesh.load(str(file), file_type=suffix[1:], force="mesh", process=False)
    except Exception as error:  # noqa: BLE001 - trimesh's loaders raise many kinds on a malformed file
        raise SpecError(
            f"could not read {shown!r} as a {suffix[1:].upper()} mesh ({type(error).__name__}: {error}).", key
        ) from None
    vertices = np.asarray(getattr(loaded, "vertices", np.zeros((0, 3))), dtype=np.float64).reshape(-1, 3)
    faces = np.asarray(getattr(loaded, "faces", np.zeros((0, 3))), dtype=np.int64)
    if faces.size == 0:
        raise SpecError(
            f"expected a triangle mesh. Received: {shown!r} with {vertices.shape[0]} vertices and no "
            f"triangles (a point cloud, a polyline or an empty file).",
            key,
        )
    if faces.ndim != 2 or faces.shape[1] != 3:
        raise SpecError(
            f"expected triangles (3 vertices per face). Received: faces of shape {list(faces.shape)} in {shown!r}.", key
        )
    if faces.min() < 0 or faces.max() >= vertices.shape[0]:
        raise SpecError(
            f"expected face indices in [0, {vertices.shape[0]}). Received: indices in "
            f"[{faces.min()}, {faces.max()}] in {shown!r}.",
            key,
        )
    if not np.all(np.isfinite(vertices)):
        raise SpecError(f"expected finite vertex coordinates. Received: NaN or infinite values in {shown!r}.", key)

    vertices, faces = _merge_duplicate_vertices(vertices, faces)
    faces = faces[(faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 0] != faces[:, 2])]
    if faces.size == 0:
        raise SpecError(f"expected a triangle mesh. Received: {shown!r} whose triangles are all degenerate.", key)
    used, faces = np.unique(faces, return_inverse=True)
    vertices, faces = vertices[used], faces.reshape(-1, 3).astype(np.int64)

    edges, counts = mesh_edges(faces)
    bad = counts > 2
    if np.any(bad):
        worst = int(np.argmax(counts))
        raise SpecError(
            f"expected a manifold mesh (every edge in one or two triangles). Received: "
            f"{int(np.count_nonzero(bad))} non-manifold edges in {shown!r}, e.g. the edge between "
            f"vertices {int(edges[worst, 0])} and {int(edges[worst, 1])} lies in {int(counts[worst])} triangles.",
            key,
        )
    if not triangle_areas(vertices, faces).sum() > 0.0:
        raise SpecError(f"expected a mesh of positive area. Received: {shown!r} of total area 0.", key)
    return vertices, faces


def _merge_duplicate_vertices(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge vertices with equal coordinates, keeping the first occurrence's position in the order.

    A stable lexicographic sort puts equal rows next to each other, each run in file order,
    so the first row of a run is the first occurrence of that point.
    """
    count = vertices.shape[0]
    order = np.lexsort(vertices.T[::-1])  # by x, then y, then z; stable
    ordered = vertices[order]
    starts = np.ones(count, dtype=bool)
    starts[1:] = np.any(ordered[1:] != ordered[:-1], axis=1)
    if starts.all():
        return vertices, faces
    group_of = np.empty(count, dtype=np.int64)
    group_of[order] = np.cumsum(starts) - 1
    first = order[starts]  # the first occurrence of each distinct point, by group
    rank = np.empty(first.size, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(first.size)
    return vertices[np.sort(first)], rank[group_of][faces]


# ----------------------------------------------------------------------------- the manifold
class MeshSurface(Manifold, ExactSurface, KnownTopology):
    """A surface given by a triangle mesh file (``type: mesh``), sampled by area.

    The file is read when the manifold is built (:func:`load_triangle_mesh`: errors name
    the key ``path``). With ``normalise: true`` (default) the mesh is centred at its
    area-weighted centroid c = Σ A_k (A + B + C)_k / 3 / Σ A_k (the mean of the uniform
    area measure, so the samples have mean about 0) and scaled by 1 / d, d the diagonal of
    its axis-aligned bounding box (the normalised mesh's box has diagonal 1): the natural
    point of a file point p is (p - c) / d; :attr:`centre` and :attr:`scale` (= 1 / d) hold
    the transform. Natural space R^3, intrinsic dimension 2.

    Faces are reordered by the first principal coordinate of their centroids (the area-
    weighted principal axis of the surface). Parameters (p_1, p_2): the integer part of p_1
    is the face index in that order, its fractional part r_1 and p_2 = r_2 place the point
    in the face (module docstring), so ``points_at`` is exact and the first parameter, which
    colours the figures, runs along the mesh's longest direction.

    Ground truth: :meth:`mesh` returns the mesh itself, :attr:`area` its area, and the
    topology of the file (:attr:`topology`, a :class:`MeshTopology`): ``euler_characteristic``,
    ``boundary_components`` (boundary loops), ``orientable``, ``genus``.
    """

    params_type = MeshParams
    natural_dim = 3
    intrinsic_dim = 2
    parameter_names = ("face_index", "within_face")
    analytic = False  # data read from a file, not formulas (see Manifold.analytic)

    def __init__(self, params: Optional[MeshParams] = None, *, embedding_seed: Optional[int] = None):
        super().__init__(params, embedding_seed=embedding_seed)
        vertices, faces = load_triangle_mesh(self.params.path)
        areas = triangle_areas(vertices, faces)
        centroids = vertices[faces].mean(axis=1)
        centre = (areas @ centroids) / areas.sum()
        if self.params.normalise:
            diagonal = float(np.linalg.norm(vertices.max(axis=0) - vertices.min(axis=0)))
            scale = 1.0 / diagonal
        else:
            centre, scale = np.zeros(3), 1.0
        vertices = (vertices - centre) * scale
        centroids = (centroids - centre) * scale
        areas = areas * scale * scale
        axis = self._principal_axis(centroids, areas)
        order = np.argsort(centroids @ axis, kind="stable")
        self._vertices = vertices
        self._faces = faces[order]
        self._areas = areas[order]
        self._cumulative_areas = np.cumsum(self._areas)
        self._centre = np.asarray(centre, dtype=np.float64)
        self._scale = float(scale)
        self._topology = mesh_topology(self._faces)

    @staticmethod
    def _principal_axis(centroids: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """The top eigenvector of the area-weighted covariance of face centroids, sign fixed."""
        mean = weights @ centroids / weights.sum()
        centred = centroids - mean
        covariance = (centred * weights[:, None]).T @ centred / weights.sum()
        axis = np.linalg.eigh(covariance)[1][:, -1]
        return axis if axis[np.argmax(np.abs(axis))] > 0 else -axis

    # ------------------------------------------------------------------ ground truth
    @property
    def centre(self) -> np.ndarray:
        """c, the file point that becomes the origin (zeros when ``normalise`` is false), shape=[3]."""
        return self._centre.copy()

    @property
    def scale(self) -> float:
        """1 / d, the factor applied after centring (1 when ``normalise`` is false)."""
        return self._scale

    @property
    def topology(self) -> MeshTopology:
        return self._topology

    @property
    def area(self) -> float:
        """Σ A_k, the area of the (normalised) mesh."""
        return float(self._cumulative_areas[-1])

    @property
    def volume(self) -> float:
        """The same as :attr:`area` (the 2-dimensional volume)."""
        return self.area

    @property
    def euler_characteristic(self) -> int:
        return self._topology.euler_characteristic

    @property
    def boundary_components(self) -> int:
        return self._topology.boundary_loops

    @property
    def has_boundary(self) -> bool:
        return self._topology.boundary_loops > 0

    @property
    def closed_manifold(self) -> bool:
        """Compact without boundary: the file's mesh has no boundary loop."""
        return self._topology.boundary_loops == 0

    @property
    def orientable(self) -> Optional[bool]:
        return self._topology.orientable

    @property
    def genus(self) -> Optional[int]:
        return self._topology.genus

    def mesh(self, resolution: Optional[int] = None) -> tuple[np.ndarray, np.ndarray]:
        """The mesh itself: ``(vertices shape=[V, ambient_dim] float64, faces shape=[F, 3] int64)``.

        Vertices are normalised and embedded like the samples (no noise). ``resolution`` is
        accepted for the same call as the analytic surfaces and does not change the result:
        the file's triangles are the exact geometry.
        """
        if resolution is not None:
            check_count("resolution", resolution)
        return self.embed_natural_points(self._vertices), self._faces.copy()

    # ------------------------------------------------------------------ sampling
    def _sample_parameters(self, n: int, rng: np.random.Generator) -> np.ndarray:
        face_count = self._faces.shape[0]
        if self.params.measure == "parameter":
            faces = np.minimum((rng.random(n) * face_count).astype(np.int64), face_count - 1)
        else:
            targets = rng.random(n) * self._cumulative_areas[-1]
            faces = np.minimum(np.searchsorted(self._cumulative_areas, targets, side="right"), face_count - 1)
        within = rng.random((n, 2))
        return np.stack([faces + within[:, 0], within[:, 1]], axis=1)

    def tangent_vectors(self, parameters: np.ndarray) -> np.ndarray:
        """The edges B - A and C - A of each point's face, shape=[n, 2, 3]: its exact tangent plane.

        The parameterisation (face index + r_1, r_2) is not smooth across faces, so the base
        class's finite differences would mix neighbouring faces; the face's own edges span the
        tangent plane exactly (what ``noise: {direction: normal}`` needs: any basis will do).
        """
        corners = self._vertices[self._faces[self._face_indices(self._checked_parameters(parameters))]]
        return np.stack([corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]], axis=1)

    def _face_indices(self, parameters: np.ndarray) -> np.ndarray:
        """The face of each parameter row: floor(p_1), the end point p_1 = F in the last face.

        Raises:
            ValueError: parameters outside [0, F] x [0, 1].
        """
        face_count = self._faces.shape[0]
        if parameters.size and (
            parameters[:, 0].min() < 0.0
            or parameters[:, 0].max() > face_count
            or parameters[:, 1].min() < 0.0
            or parameters[:, 1].max() > 1.0
        ):
            raise ValueError(
                f"Expected mesh parameters in [0, {face_count}] x [0, 1]. Received: "
                f"[{parameters[:, 0].min()!r}, {parameters[:, 0].max()!r}] x "
                f"[{parameters[:, 1].min()!r}, {parameters[:, 1].max()!r}]."
            )
        return np.minimum(np.floor(parameters[:, 0]).astype(np.int64), face_count - 1)

    def _embed_natural(self, parameters: np.ndarray) -> np.ndarray:
        parameters = np.asarray(parameters, dtype=np.float64)
        faces = self._face_indices(parameters)
        root = np.sqrt(np.clip(parameters[:, 0] - faces, 0.0, 1.0))
        r2 = parameters[:, 1]
        corners = self._vertices[self._faces[faces]]  # shape=[n, 3, 3]
        weights = np.stack([1.0 - root, root * (1.0 - r2), root * r2], axis=1)
        return np.einsum("nk,nkd->nd", weights, corners)
