"""Parameters of triangle-mesh manifolds loaded from OBJ / PLY / OFF files."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from geokeras.manifolds.params.common import ManifoldParams
from geokeras.registry import MANIFOLDS

__all__ = ["MeshParams"]


@MANIFOLDS.register("mesh", implementation="geokeras.manifolds.meshes:MeshSurface")
class MeshParams(ManifoldParams):
    """A surface given by a triangle mesh file (a scan, e.g. the paper's Buddha), sampled by area."""

    type: Literal["mesh"] = "mesh"
    path: str = Field(
        min_length=1,
        description=(
            "The mesh file: .obj, .ply or .off (triangles; larger polygons are split into "
            "triangles). A relative path is resolved against the current directory."
        ),
    )
    normalise: bool = Field(
        True,
        description=(
            "Centre at the area-weighted centroid and scale so that the bounding-box "
            "diagonal is 1; false keeps the file's coordinates."
        ),
    )

    @classmethod
    def example(cls) -> "MeshParams":
        """The repository's bumpy cup (a path relative to the repository root)."""
        return cls(path="specs/data/bumpy_cup.obj")
