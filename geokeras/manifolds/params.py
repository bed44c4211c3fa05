"""Parameters of the ``manifold:`` spec section (no TensorFlow, no heavy imports).

Every manifold type shares the keys of :class:`ManifoldParams` (``samples``, ``measure``,
``noise``, ``embed``) and adds its own shape parameters.
"""

from __future__ import annotations

import math
from typing import Literal, Optional

from pydantic import (
    Field,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
)

from geokeras.registry import EMBEDDINGS, MANIFOLDS, NOISES, SpecModel, union_of


@NOISES.register("gaussian")
class GaussianNoiseParams(SpecModel):
    """Isotropic Gaussian noise added to every sample in the ambient space."""

    type: Literal["gaussian"] = "gaussian"
    std: NonNegativeFloat = Field(0.0, description="Standard deviation per ambient coordinate.")


@EMBEDDINGS.register("isometric")
class IsometricEmbeddingParams(SpecModel):
    """Lift into R^D by a seeded random orthonormal frame: all distances are preserved."""

    type: Literal["isometric"] = "isometric"
    ambient_dim: Optional[PositiveInt] = Field(
        None,
        description="Dimension D of the ambient space; null keeps the manifold's own space.",
    )


NoiseParams = union_of(NOISES, default="gaussian")
EmbeddingParams = union_of(EMBEDDINGS, default="isometric")


class ManifoldParams(SpecModel):
    """Keys shared by every manifold type."""

    samples: PositiveInt = Field(4096, description="Number of training samples drawn.")
    measure: Literal["volume", "parameter"] = Field(
        "volume",
        description=(
            "volume: uniform with respect to arc length / area (the Riemannian measure); "
            "parameter: uniform in the parameter of the defining map."
        ),
    )
    noise: NoiseParams = Field(default_factory=GaussianNoiseParams)
    embed: EmbeddingParams = Field(default_factory=IsometricEmbeddingParams)


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


ManifoldSpec = union_of(MANIFOLDS)
