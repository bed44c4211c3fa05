"""Parameters of the fractal and space-filling curves: hilbert, peano {order, dim, size}, koch {order, size}.

Each is a polyline with equal-length segments (implementations in
:mod:`geokeras.manifolds.fractal_curves`). Orders are validated against
:data:`MAX_POLYLINE_VERTICES` so that a typo such as ``order: 20`` fails at once, at its key,
instead of exhausting memory.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveInt, ValidationInfo, field_validator

from geokeras.limits import Scale
from geokeras.manifolds.params.common import ManifoldParams
from geokeras.registry import MANIFOLDS

__all__ = ["HilbertCurveParams", "KochCurveParams", "MAX_POLYLINE_VERTICES", "PeanoCurveParams"]

MAX_POLYLINE_VERTICES = 10_000_000
"""Largest polyline (vertex count) a fractal curve may have: 10^7 vertices, 240 MB in 3-D float64."""


def _check_vertex_budget(kind: str, order: int, base: int, extra: int = 0) -> int:
    """``order`` such that the polyline's ``base ** order + extra`` vertices fit the budget."""
    largest = 0
    while base ** (largest + 1) + extra <= MAX_POLYLINE_VERTICES:
        largest += 1
    if order > largest:
        formula = f"{base}^order" + (f" + {extra}" if extra else "")
        count = f"{base**order + extra:,}" if order <= 64 else f"more than {MAX_POLYLINE_VERTICES:,}"
        raise ValueError(
            f"expected an order of at most {largest} for a {kind} (its polyline has "
            f"{formula} vertices, limited to {MAX_POLYLINE_VERTICES:,}). "
            f"Received: order={order}, which gives {count} vertices."
        )
    return order


@MANIFOLDS.register("hilbert", implementation="geokeras.manifolds.fractal_curves:HilbertCurve")
class HilbertCurveParams(ManifoldParams):
    """Hilbert's space-filling curve of a given order through the 2^(dim*order) cells of [0, size]^dim.

    The construction of the paper's Theorem 4.14 (4 copies per step, U-shaped units): its
    curve C_n is the 2-D Hilbert curve of order n + 2.
    """

    type: Literal["hilbert"] = "hilbert"
    dim: Literal[2, 3] = Field(2, description="Dimension of the cube the curve fills (2 or 3).")
    order: PositiveInt = Field(
        3,
        description=(
            "Refinement level k: 2^k cells per side, 2^(dim*k) cells. In 2-D, order n + 2 is "
            "the paper's C_n (order 3 = C_1, 16 U-shaped units)."
        ),
    )
    size: Scale = Field(1.0, description="Side length of the cube [0, size]^dim.")

    @field_validator("order")
    @classmethod
    def _vertex_budget(cls, order: int, info: ValidationInfo) -> int:
        dim = info.data.get("dim")
        return order if dim is None else _check_vertex_budget(f"{dim}-D hilbert curve", order, 2**dim)


@MANIFOLDS.register("peano", implementation="geokeras.manifolds.fractal_curves:PeanoCurve")
class PeanoCurveParams(ManifoldParams):
    """Peano's space-filling curve (3x3 serpentine) through the 3^(dim*order) cells of [0, size]^dim."""

    type: Literal["peano"] = "peano"
    dim: Literal[2, 3] = Field(2, description="Dimension of the cube the curve fills (2 or 3).")
    order: PositiveInt = Field(2, description="Refinement level k: 3^k cells per side, 3^(dim*k) cells.")
    size: Scale = Field(1.0, description="Side length of the cube [0, size]^dim.")

    @field_validator("order")
    @classmethod
    def _vertex_budget(cls, order: int, info: ValidationInfo) -> int:
        dim = info.data.get("dim")
        return order if dim is None else _check_vertex_budget(f"{dim}-D peano curve", order, 3**dim)


@MANIFOLDS.register("koch", implementation="geokeras.manifolds.fractal_curves:KochCurve")
class KochCurveParams(ManifoldParams):
    """The Koch curve of a given order from (0, 0) to (size, 0): 4^order segments of length size / 3^order."""

    type: Literal["koch"] = "koch"
    order: PositiveInt = Field(4, description="Refinement level k: 4^k segments.")
    size: Scale = Field(1.0, description="Distance between the end points.")

    @field_validator("order")
    @classmethod
    def _vertex_budget(cls, order: int) -> int:
        return _check_vertex_budget("koch curve", order, 4, extra=1)
