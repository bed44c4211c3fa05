"""Parameters of the analytic curve manifolds (intrinsic dimension 1).

circle {radius}, ellipse {a, b}, archimedean_spiral {a, b, w, turns}, helix {radius, pitch,
turns}, torus_knot {p, q, R, r} and trefoil {R, r} (the (2, 3) torus knot). The
implementations are in :mod:`geokeras.manifolds.curves`.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from geokeras.limits import Count, NonNegativeScale, Scale
from geokeras.manifolds.params.common import ManifoldParams
from geokeras.registry import MANIFOLDS

__all__ = [
    "ArchimedeanSpiralParams",
    "CircleParams",
    "EllipseParams",
    "HelixParams",
    "TorusKnotParams",
    "TrefoilParams",
]


@MANIFOLDS.register("circle", implementation="geokeras.manifolds.curves:Circle")
class CircleParams(ManifoldParams):
    """The circle of radius r in R^2: x = r (cos t, sin t), t in [0, 2 pi)."""

    type: Literal["circle"] = "circle"
    radius: Scale = Field(1.0, description="Radius r.")


@MANIFOLDS.register("ellipse", implementation="geokeras.manifolds.curves:Ellipse")
class EllipseParams(ManifoldParams):
    """The ellipse x = (a cos t, b sin t), t in [0, 2 pi), in R^2."""

    type: Literal["ellipse"] = "ellipse"
    a: Scale = Field(2.0, description="Semi-axis along x.")
    b: Scale = Field(1.0, description="Semi-axis along y.")


@MANIFOLDS.register("archimedean_spiral", implementation="geokeras.manifolds.curves:ArchimedeanSpiral")
class ArchimedeanSpiralParams(ManifoldParams):
    """The paper's spiral rho(theta) = (a + b theta) e^{i w theta}, theta in (0, 2 pi turns]."""

    type: Literal["archimedean_spiral"] = "archimedean_spiral"
    a: NonNegativeScale = Field(0.5, description="Radius at theta = 0.")
    b: Scale = Field(0.2, description="Radial growth per radian of theta.")
    w: Scale = Field(1.0, description="Angular frequency: the point turns by w*theta.")
    turns: Scale = Field(1.0, description="Parameter range: theta runs over (0, 2*pi*turns].")

    @property
    def theta_max(self) -> float:
        """T, the end of the parameter interval."""
        return 2.0 * math.pi * self.turns


@MANIFOLDS.register("helix", implementation="geokeras.manifolds.curves:Helix")
class HelixParams(ManifoldParams):
    """The circular helix x = (r cos t, r sin t, pitch t / (2 pi)), t in (0, 2 pi turns], in R^3."""

    type: Literal["helix"] = "helix"
    radius: Scale = Field(1.0, description="Radius r of the cylinder the helix winds on.")
    pitch: Scale = Field(1.0, description="Rise along z per full turn.")
    turns: Scale = Field(3.0, description="Number of turns: t runs over (0, 2*pi*turns].")

    @property
    def t_max(self) -> float:
        """The end 2 pi turns of the parameter interval."""
        return 2.0 * math.pi * self.turns


def _check_torus(r: float, info: ValidationInfo) -> float:
    """The tube radius r must be below the centre-line radius R, or the torus self-intersects."""
    big_r = info.data.get("R")
    if big_r is not None and not r < big_r:
        raise ValueError(
            f"expected a tube radius r below the centre-line radius R = {big_r!r} (with r >= R "
            f"the torus, and possibly the knot on it, intersects itself). Received: r={r!r}."
        )
    return r


@MANIFOLDS.register("torus_knot", implementation="geokeras.manifolds.curves:TorusKnot")
class TorusKnotParams(ManifoldParams):
    """The (p, q) torus knot on the torus of radii R > r in R^3.

    x(phi) = ((R + r cos q phi) cos p phi, (R + r cos q phi) sin p phi, r sin q phi),
    phi in [0, 2 pi): p turns around the z axis, q turns around the tube; p and q coprime.
    """

    type: Literal["torus_knot"] = "torus_knot"
    p: Count = Field(2, description="Turns around the torus' axis of symmetry (z).")
    q: Count = Field(5, description="Turns around the tube; coprime to p.")
    R: Scale = Field(2.0, description="Radius of the torus' centre circle.")
    r: Scale = Field(1.0, description="Radius of the tube (below R).")

    @field_validator("q")
    @classmethod
    def _coprime(cls, q: int, info: ValidationInfo) -> int:
        p = info.data.get("p")
        if p is not None and math.gcd(p, q) != 1:
            raise ValueError(
                f"expected p and q coprime (gcd(p, q) = 1; otherwise the curve is traced "
                f"gcd(p, q) times and is not a knot). Received: p={p}, q={q}, gcd {math.gcd(p, q)}."
            )
        return q

    _torus = field_validator("r")(_check_torus)


@MANIFOLDS.register("trefoil", implementation="geokeras.manifolds.curves:Trefoil")
class TrefoilParams(ManifoldParams):
    """The trefoil knot: the (2, 3) torus knot on the torus of radii R > r in R^3."""

    type: Literal["trefoil"] = "trefoil"
    R: Scale = Field(2.0, description="Radius of the torus' centre circle.")
    r: Scale = Field(1.0, description="Radius of the tube (below R).")

    _torus = field_validator("r")(_check_torus)
