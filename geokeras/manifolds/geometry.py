"""A manifold's exact geometry at a resolution: the one place that builds it.

The complexity and learnability evaluators count, decide and measure on the manifold's exact
geometry in the ambient space (the encoder's input space): the polyline of an
:class:`~geokeras.manifolds.capabilities.ExactCurve` or the triangle mesh of an
:class:`~geokeras.manifolds.capabilities.ExactSurface`. :func:`exact_geometry` builds it,
:func:`geometry_kind` says which exists without building it, and :func:`no_geometry_reason`
says why there is none. The resolutions resolve the same way for every caller
(:func:`geometry_key`), so two evaluators asking for the same geometry can share it
(``EvaluationContext.exact_geometry``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from geokeras.manifolds.capabilities import ExactCurve, ExactPolygon, ExactSurface

DEFAULT_CURVE_RESOLUTION = 1024
"""Segments of a smooth curve's polyline when none is asked for."""
DEFAULT_MESH_RESOLUTION = 32
"""Cells per parameter of a surface's mesh when none is asked for."""

CURVE, SURFACE = "curve", "surface"

GeometryKey = tuple[str, Optional[int]]
"""``(kind, resolution)``: what :func:`exact_geometry` builds, resolutions resolved."""


@dataclass(frozen=True)
class ExactGeometry:
    """A manifold's exact geometry in the ambient space: a polyline or a triangle mesh.

    Attributes:
        kind: ``"curve"`` or ``"surface"``.
        vertices: shape=[n, ambient_dim], float64, read-only.
        closed: for a curve, whether the polyline is closed.
        faces: for a surface, shape=[f, 3] int, read-only.
        resolution: the resolution asked of the manifold (None: a polygonal curve's own vertices).
    """

    kind: str
    vertices: np.ndarray
    closed: bool = False
    faces: Optional[np.ndarray] = None
    resolution: Optional[int] = None


def geometry_kind(manifold: Any) -> Optional[str]:
    """``"curve"`` (an exact polyline exists), ``"surface"`` (an exact mesh exists) or None.

    What :func:`exact_geometry` returns, known from the manifold's capabilities without
    building it.
    """
    if isinstance(manifold, ExactCurve):
        return CURVE
    if isinstance(manifold, ExactSurface) and manifold.has_mesh:
        return SURFACE
    return None


def geometry_key(
    manifold: Any, resolution: Optional[int] = None, mesh_resolution: Optional[int] = None
) -> Optional[GeometryKey]:
    """``(kind, resolution)`` of the geometry :func:`exact_geometry` builds, or None.

    A polygonal curve (an :class:`~geokeras.manifolds.capabilities.ExactPolygon`: hilbert,
    peano, koch) keeps ``resolution`` (None: its own vertices); a smooth curve uses
    ``resolution`` segments (default :data:`DEFAULT_CURVE_RESOLUTION`); a surface
    ``mesh_resolution`` (default :data:`DEFAULT_MESH_RESOLUTION`).
    """
    kind = geometry_kind(manifold)
    if kind == CURVE:
        if resolution is None and not isinstance(manifold, ExactPolygon):
            resolution = DEFAULT_CURVE_RESOLUTION
        return CURVE, resolution
    if kind == SURFACE:
        return SURFACE, DEFAULT_MESH_RESOLUTION if mesh_resolution is None else mesh_resolution
    return None


def exact_geometry(
    manifold: Any, resolution: Optional[int] = None, mesh_resolution: Optional[int] = None
) -> Optional[ExactGeometry]:
    """The polyline of a curve or the mesh of a surface, or None (see :func:`no_geometry_reason`).

    Args:
        manifold: a :class:`~geokeras.manifolds.base.Manifold`.
        resolution: segments of a curve's polyline (see :func:`geometry_key` for the default).
        mesh_resolution: cells per parameter of a surface's mesh.
    """
    key = geometry_key(manifold, resolution, mesh_resolution)
    if key is None:
        return None
    kind, resolved = key
    if kind == CURVE:
        vertices, closed = manifold.polyline(resolved)
        return ExactGeometry(CURVE, _read_only(vertices, np.float64), bool(closed), None, resolved)
    vertices, faces = manifold.mesh(resolved)
    return ExactGeometry(SURFACE, _read_only(vertices, np.float64), False, _read_only(faces, None), resolved)


def no_geometry_reason(manifold: Any) -> str:
    """Why ``manifold`` has no exact geometry, e.g. ``"needs a manifold with exact geometry (a curve,
    surface or mesh); manifold type 'points' (intrinsic_dim=None) has none: neither a polyline nor a
    mesh"`` (the sentence the evaluators report)."""
    return (
        f"needs a manifold with exact geometry (a curve, surface or mesh); manifold type "
        f"{manifold.params.type!r} (intrinsic_dim={manifold.intrinsic_dim!r}) has none: neither a polyline nor a mesh"
    )


def _read_only(array: Any, dtype: Any) -> np.ndarray:
    """A read-only array of ``array`` (a copy when it is not already a fresh one of ``dtype``)."""
    result = np.array(array, dtype=dtype, copy=True)
    result.setflags(write=False)
    return result
