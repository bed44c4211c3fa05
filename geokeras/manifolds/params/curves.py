"""Parameters of the curve manifolds (intrinsic dimension 1)."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, NonNegativeFloat, PositiveFloat

from geokeras.manifolds.params.common import ManifoldParams
from geokeras.registry import MANIFOLDS

__all__ = ["ArchimedeanSpiralParams", "CircleParams"]

@MANIFOLDS.register("circle", implementation="geokeras.manifolds.curves:Circle")
class CircleParams(ManifoldParams):
    """The circle of radius r in R^2: x = r (cos t, sin t), t in [0, 2 pi)."""

    type: Literal["circle"] = "circle"
    radius: PositiveFloat = Field(1.0, description="Radius r.")


@MANIFOLDS.register("archimedean_spiral", implementation="geokeras.manifolds.curves:ArchimedeanSpiral")
class ArchimedeanSpiralParams(ManifoldParams):
    """The paper's spiral rho(theta) = (a + b theta) e^{i w theta}, theta in (0, 2 pi turns]."""

    type: Literal["archimedean_spiral"] = "archimedean_spiral"
    a: NonNegativeFloat = Field(0.5, description="Radius at theta = 0.")
    b: PositiveFloat = Field(0.2, description="Radial growth per radian of theta.")
    w: PositiveFloat = Field(1.0, description="Angular frequency: the point turns by w*theta.")
    turns: PositiveFloat = Field(
        1.0, description="Parameter range: theta runs over (0, 2*pi*turns]."
    )

    @property
    def theta_max(self) -> float:
        """T, the end of the parameter interval."""
        return 2.0 * math.pi * self.turns
