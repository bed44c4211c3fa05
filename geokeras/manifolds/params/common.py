"""Keys shared by every manifold type: ``samples``, ``measure``, ``noise``, ``embed``."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, NonNegativeFloat, PositiveInt

from geokeras.registry import EMBEDDINGS, NOISES, SpecModel, union_of

__all__ = ["GaussianNoiseParams", "IsometricEmbeddingParams", "ManifoldParams", "NoiseParams", "EmbeddingParams"]

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
