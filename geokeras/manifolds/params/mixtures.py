"""Parameters of the multi-modal data: ``gaussian_mixture`` (k Gaussians in R^n).

The toy data of the generative-model literature and of AE-OT (An et al., ICLR 2020): 8
Gaussians on a circle, 25 on a 5 x 5 grid. Each sample carries its mode index as a parameter,
so mode coverage and off-manifold rate have ground truth. Implementation in
:mod:`geokeras.manifolds.mixtures`.
"""

from __future__ import annotations

import math
from typing import ClassVar, Literal, Optional

from pydantic import Field, PositiveFloat, model_validator

from geokeras.limits import MAX_COUNT, Coefficient, Count, Dimension, Scale
from geokeras.manifolds.params.common import DistributionParams
from geokeras.registry import MANIFOLDS

__all__ = ["GaussianMixtureParams"]


@MANIFOLDS.register("gaussian_mixture", implementation="geokeras.manifolds.mixtures:GaussianMixture")
class GaussianMixtureParams(DistributionParams):
    """k isotropic Gaussians N(c_j, std^2 I_n) in R^n, mixed with weights w_j.

    Centres by ``layout``: ``circle``, c_j = radius (cos 2 pi j / k, sin 2 pi j / k, 0, ...);
    ``grid``, the grid_size x grid_size points spacing * (a - (grid_size - 1) / 2,
    b - (grid_size - 1) / 2, 0, ...), j = a grid_size + b; ``custom``, the listed ``centers``.
    """

    measure_name: ClassVar[str] = "the mixture's own measure"

    type: Literal["gaussian_mixture"] = "gaussian_mixture"
    layout: Literal["circle", "grid", "custom"] = Field(
        "circle", description="circle: k centres on a circle; grid: a square grid; custom: the listed centers."
    )
    modes: Count = Field(8, description="k, the number of Gaussians of layout: circle.")
    radius: Scale = Field(2.0, description="Radius of the circle of centres (layout: circle).")
    grid_size: Count = Field(5, description="Centres per side of layout: grid (k = grid_size^2).")
    spacing: Scale = Field(2.0, description="Distance between neighbouring grid centres (layout: grid).")
    centers: Optional[list[list[Coefficient]]] = Field(
        None, min_length=1, description="The centres c_j of layout: custom, one list of n coordinates each."
    )
    dim: Dimension = Field(
        2, description="n, the dimension of the space of the centres (circle and grid use the first two axes)."
    )
    std: Scale = Field(0.05, description="Standard deviation of every Gaussian in every coordinate.")
    weights: Optional[list[PositiveFloat]] = Field(
        None, description="Mixture weights w_j > 0, one per mode (normalised to sum 1); null: equal."
    )

    @model_validator(mode="after")
    def _consistent(self) -> "GaussianMixtureParams":
        if self.layout == "custom":
            if self.centers is None:
                raise ValueError("expected `centers` (a list of points) for layout: custom. Received: centers=None.")
            lengths = sorted({len(center) for center in self.centers})
            if lengths != [self.dim]:
                raise ValueError(
                    f"expected every centre to have dim = {self.dim} coordinates. Received centre lengths: {lengths}."
                )
            if not all(math.isfinite(value) for center in self.centers for value in center):
                raise ValueError(f"expected finite centre coordinates. Received: centers={self.centers}.")
        else:
            if self.centers is not None:
                raise ValueError(
                    f"expected centers: null for layout: {self.layout} (its centres are computed). "
                    f"Received {len(self.centers)} centres; use layout: custom to list them."
                )
            if self.dim < 2:
                raise ValueError(f"expected dim >= 2 for layout: {self.layout}. Received: dim={self.dim}.")
        if self.mode_count > MAX_COUNT:
            raise ValueError(
                f"expected at most {MAX_COUNT:,} modes (each mode's centre and samples are held in memory). "
                f"Received: {self.mode_count:,} modes (grid_size={self.grid_size})."
            )
        if self.weights is not None and len(self.weights) != self.mode_count:
            raise ValueError(
                f"expected one weight per mode ({self.mode_count} modes). Received {len(self.weights)} weights."
            )
        return self

    @property
    def mode_count(self) -> int:
        """k: ``modes`` (circle), ``grid_size^2`` (grid) or the number of ``centers`` (custom)."""
        if self.layout == "circle":
            return int(self.modes)
        if self.layout == "grid":
            return int(self.grid_size) ** 2
        return len(self.centers or [])
