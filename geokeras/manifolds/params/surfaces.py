"""Parameters of the surface and higher-dimensional manifolds (spheres, tori, rolls, bands, products).

Each model is registered in :data:`geokeras.registry.MANIFOLDS` with its implementation in
:mod:`geokeras.manifolds.surfaces`. Constraints between keys (a torus needs r < R, a Möbius
band width < 2 radius) are checked here, at the key they concern, so ``geokeras validate``
reports them without building anything.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, Union

from pydantic import Field, ValidationInfo, field_validator

from geokeras.limits import Coefficient, Dimension, NonNegativeScale, Scale
from geokeras.manifolds.params.common import ManifoldParams
from geokeras.manifolds.params.curves import CircleParams
from geokeras.registry import MANIFOLDS, SpecModel

__all__ = [
    "DiskParams",
    "GaussianBumpParams",
    "GraphFunctionParams",
    "GraphSurfaceParams",
    "HemisphereParams",
    "KleinBottleParams",
    "MobiusParams",
    "ParaboloidParams",
    "ProductWithIntervalParams",
    "SCurveParams",
    "SaddleParams",
    "SineRippleParams",
    "SphereParams",
    "SwissRollParams",
    "TorusParams",
]

_SURFACES = "geokeras.manifolds.surfaces"


def _smaller_than(name: str, value: float, other_name: str, other: Any, factor: float = 1.0) -> float:
    """``value`` if ``value < factor * other``, else a ValueError naming both keys."""
    if other is not None and not value < factor * other:
        bound = other_name if factor == 1.0 else f"{factor:g} * {other_name}"
        raise ValueError(
            f"expected {name} < {bound} = {factor * other!r} (otherwise the surface "
            f"intersects itself). Received: {name}={value!r}, {other_name}={other!r}."
        )
    return value


@MANIFOLDS.register("sphere", implementation=f"{_SURFACES}:Sphere")
class SphereParams(ManifoldParams):
    """The round sphere S^dim = {x in R^(dim+1) : |x| = radius}."""

    type: Literal["sphere"] = "sphere"
    dim: Dimension = Field(2, description="Intrinsic dimension m of S^m (the sphere lives in R^(m+1)).")
    radius: Scale = Field(1.0, description="Radius r.")


@MANIFOLDS.register("hemisphere", implementation=f"{_SURFACES}:Hemisphere")
class HemisphereParams(ManifoldParams):
    """The closed upper hemisphere {x in R^3 : |x| = radius, x_3 >= 0} (a disk: genus 0 with boundary)."""

    type: Literal["hemisphere"] = "hemisphere"
    radius: Scale = Field(1.0, description="Radius r.")


@MANIFOLDS.register("disk", implementation=f"{_SURFACES}:Disk")
class DiskParams(ManifoldParams):
    """The flat disk {x in R^2 : |x| <= radius} (genus 0 with boundary)."""

    type: Literal["disk"] = "disk"
    radius: Scale = Field(1.0, description="Radius r.")


@MANIFOLDS.register("torus", implementation=f"{_SURFACES}:Torus")
class TorusParams(ManifoldParams):
    """The torus of revolution in R^3: tube radius r around a circle of radius R, r < R."""

    type: Literal["torus"] = "torus"
    R: Scale = Field(2.0, description="Radius of the central circle (axis to tube centre).")
    r: Scale = Field(1.0, description="Radius of the tube; r < R (r >= R self-intersects).")

    @field_validator("r")
    @classmethod
    def _tube_inside(cls, value: float, info: ValidationInfo) -> float:
        return _smaller_than("r", value, "R", info.data.get("R"))


@MANIFOLDS.register("klein_bottle", implementation=f"{_SURFACES}:KleinBottle")
class KleinBottleParams(ManifoldParams):
    """The Klein bottle embedded in R^4 as a tube whose cross-section turns by half a turn."""

    type: Literal["klein_bottle"] = "klein_bottle"
    R: Scale = Field(2.0, description="Radius of the central circle.")
    r: Scale = Field(1.0, description="Radius of the tube; r < R.")

    @field_validator("r")
    @classmethod
    def _tube_inside(cls, value: float, info: ValidationInfo) -> float:
        return _smaller_than("r", value, "R", info.data.get("R"))


@MANIFOLDS.register("mobius", implementation=f"{_SURFACES}:Mobius")
class MobiusParams(ManifoldParams):
    """The Möbius band in R^3: a segment of length ``width`` turning half a turn around a circle."""

    type: Literal["mobius"] = "mobius"
    radius: Scale = Field(1.0, description="Radius of the central circle.")
    width: Scale = Field(0.8, description="Width of the band; width < 2 radius.")

    @field_validator("width")
    @classmethod
    def _band_off_the_axis(cls, value: float, info: ValidationInfo) -> float:
        return _smaller_than("width", value, "radius", info.data.get("radius"), factor=2.0)


@MANIFOLDS.register("swiss_roll", implementation=f"{_SURFACES}:SwissRoll")
class SwissRollParams(ManifoldParams):
    """The swiss roll: the spiral (theta cos theta, theta sin theta) extruded along a height."""

    type: Literal["swiss_roll"] = "swiss_roll"
    start_turns: NonNegativeScale = Field(
        0.75, description="theta starts at 2*pi*start_turns (0.75: scikit-learn's 1.5 pi)."
    )
    turns: Scale = Field(1.5, description="theta runs over 2*pi*turns radians (1.5: scikit-learn's roll).")
    height: Scale = Field(21.0, description="Extent of the straight direction (scikit-learn: 21).")

    @property
    def theta_range(self) -> tuple[float, float]:
        """(theta_0, theta_1) = 2 pi (start_turns, start_turns + turns)."""
        start = 2.0 * math.pi * self.start_turns
        return start, start + 2.0 * math.pi * self.turns


@MANIFOLDS.register("s_curve", implementation=f"{_SURFACES}:SCurve")
class SCurveParams(ManifoldParams):
    """scikit-learn's S-curve: two unit half-circle arcs in the (x, z) plane extruded along y."""

    type: Literal["s_curve"] = "s_curve"
    height: Scale = Field(2.0, description="Extent of the straight direction (scikit-learn: 2).")


class ParaboloidParams(SpecModel):
    """z = curvature * (x^2 + y^2)."""

    type: Literal["paraboloid"] = Field("paraboloid", description="Selects the height function `paraboloid`.")
    curvature: Coefficient = Field(0.5, description="c in z = c (x^2 + y^2); negative opens downwards.")


class SaddleParams(SpecModel):
    """z = curvature * (x^2 - y^2)."""

    type: Literal["saddle"] = Field("saddle", description="Selects the height function `saddle`.")
    curvature: Coefficient = Field(0.5, description="c in z = c (x^2 - y^2).")


class GaussianBumpParams(SpecModel):
    """z = height * exp(-(x^2 + y^2) / (2 width^2))."""

    type: Literal["gaussian_bump"] = Field("gaussian_bump", description="Selects the height function `gaussian_bump`.")
    height: Coefficient = Field(1.0, description="h, the height of the bump at the origin (negative: a dip).")
    width: Scale = Field(0.5, description="s, the standard deviation of the bump.")


class SineRippleParams(SpecModel):
    """z = amplitude * sin(frequency x) * sin(frequency y)."""

    type: Literal["sine_ripple"] = Field("sine_ripple", description="Selects the height function `sine_ripple`.")
    amplitude: Coefficient = Field(0.25, description="a in z = a sin(k x) sin(k y).")
    frequency: Scale = Field(3.0, description="k, radians per unit of x and y.")


GraphFunctionParams = Annotated[
    Union[ParaboloidParams, SaddleParams, GaussianBumpParams, SineRippleParams],
    Field(discriminator="type"),
]
"""The menu of height functions of ``graph_surface`` (a spec never names arbitrary code)."""


@MANIFOLDS.register("graph_surface", implementation=f"{_SURFACES}:GraphSurface")
class GraphSurfaceParams(ManifoldParams):
    """The graph {(x, y, f(x, y)) : |x|, |y| <= extent} of a height function from a fixed menu."""

    type: Literal["graph_surface"] = "graph_surface"
    function: GraphFunctionParams = Field(
        default_factory=ParaboloidParams,
        description="The height function f: {type: paraboloid | saddle | gaussian_bump | sine_ripple, "
        "...coefficients}.",
    )
    extent: Scale = Field(1.0, description="Half-width e of the square domain [-e, e]^2.")


@MANIFOLDS.register("product_with_interval", implementation=f"{_SURFACES}:ProductWithInterval")
class ProductWithIntervalParams(ManifoldParams):
    """base x [0, length]^intervals: the paper's way to go up in dimension (after Theorem 4.14)."""

    type: Literal["product_with_interval"] = "product_with_interval"
    # ManifoldSpec (any registered type) is formed after every family is registered; the
    # forward reference is resolved by geokeras.manifolds.params when it forms the union.
    base: "ManifoldSpec" = Field(  # noqa: F821
        default_factory=CircleParams,
        description=(
            "The base manifold: any type with a polyline or a mesh (e.g. circle, "
            "archimedean_spiral, sphere). Its measure and noise are the product's: leave them unset."
        ),
    )
    length: Scale = Field(1.0, description="Length of each interval factor [0, length].")
    intervals: Dimension = Field(1, description="k, the number of interval factors (intrinsic dim = base + k).")
