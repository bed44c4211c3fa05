"""Parameters of the complexity evaluators: rlc_bounds, rlc_on_manifold, manifold_rlc.

Pydantic only (no TensorFlow, no numpy work): ``geokeras validate`` imports this module.
The implementations live in :mod:`geokeras.complexity.evaluators`; see docs/complexity.md.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from geokeras.limits import MeshResolution, NonNegativeSampleCount, NonNegativeScale, Resolution
from geokeras.registry import DISPLAY_ONLY, EVALUATORS, SpecModel


@EVALUATORS.register("rlc_bounds", implementation="geokeras.complexity.evaluators:evaluate_rlc_bounds")
class RlcBoundsParams(SpecModel):
    """Upper and lower bounds of the encoder architecture's RLC N(N), exact integers."""

    type: Literal["rlc_bounds"] = "rlc_bounds"
    needs_latent_ot: ClassVar[bool] = False
    network: Literal["encoder", "autoencoder"] = Field(
        "encoder", description="The network whose lowered widths [n_0, ..., n_out] are bounded."
    )


@EVALUATORS.register("rlc_on_manifold", implementation="geokeras.complexity.evaluators:evaluate_rlc_on_manifold")
class RlcOnManifoldParams(SpecModel):
    """Cells and affine pieces of the trained network met by the manifold: exact on curves and meshes."""

    type: Literal["rlc_on_manifold"] = "rlc_on_manifold"
    needs_latent_ot: ClassVar[bool] = False
    network: Literal["encoder", "autoencoder"] = Field(
        "encoder", description="The network whose cells are counted (the autoencoder's refine the encoder's)."
    )
    method: Literal["auto", "exact", "sampled"] = Field(
        "auto",
        description=(
            "auto: exact along the curve's polyline or on the surface's mesh when the manifold has "
            "one, else sampled; exact: fail when no exact count applies; sampled: only the lower bound."
        ),
    )
    resolution: Resolution = Field(4096, description="Segments of a smooth curve's polyline.")
    backend: Literal["auto", "numpy", "tensorflow"] = Field(
        "auto",
        description="Polyline count backend: numpy (CPU), tensorflow (float64, GPU); auto: tensorflow when a "
        "GPU is visible.",
    )
    mesh_resolution: MeshResolution = Field(32, description="Resolution of a surface's triangle mesh.")
    samples: NonNegativeSampleCount = Field(
        20000,
        description="Held-out samples whose distinct activation patterns give the sampled lower bound (0: none).",
    )
    box_margin: Annotated[NonNegativeScale, DISPLAY_ONLY] = Field(
        0.1,
        description="For 2-D inputs, the figure's box is the data's bounding box enlarged by this fraction per side.",
    )


@EVALUATORS.register("manifold_rlc", implementation="geokeras.complexity.evaluators:evaluate_manifold_rlc")
class ManifoldRlcParams(SpecModel):
    """The manifold's own RLC N(R^n, Σ) and the encodable-condition certificate (Theorem 4.12)."""

    type: Literal["manifold_rlc"] = "manifold_rlc"
    needs_latent_ot: ClassVar[bool] = False
    resolution: Resolution | None = Field(
        None,
        description=(
            "Segments of a smooth curve's polyline (default 1024) or mesh resolution of a surface "
            "(default 32); polygonal curves (hilbert, peano, koch) use their own vertices unless set."
        ),
    )
    angle_tol: float = Field(
        1e-9, gt=0.0, lt=0.1, description="Windows within this angle (radians) of a half-turn count as not rectifiable."
    )
    certificate: bool = Field(
        True,
        description="Compare with the encoder architecture's RLC upper bounds and the trained encoder's pieces.",
    )
