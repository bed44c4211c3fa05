"""Parameters of the ``report:`` spec section."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from geokeras.limits import Dpi, SampleCount
from geokeras.registry import SpecModel

FIGURE_FORMATS = ("png", "svg", "pdf")
"""The file formats a figure can be written in (its file name ends in ``.<format>``)."""


class ReportSpec(SpecModel):
    """What the run directory's report.md shows."""

    figures: bool = Field(True, description="Write figures/*.<format> and show them in report.md.")
    format: Literal["png", "svg", "pdf"] = Field(
        "png",
        description=(
            "File format of every figure: png (raster, at dpi), svg or pdf (vector: lines and text stay sharp "
            "at any zoom, for papers; images inside a figure stay raster at dpi)."
        ),
    )
    dpi: Dpi = Field(110, description="Resolution of PNG figures (and of the images inside SVG or PDF figures).")
    max_points: SampleCount = Field(4000, description="Points drawn at most per scatter plot.")
    format: Literal["png", "svg", "pdf"] = Field(
        "png", description="File type of the figures: png (raster, at dpi), svg or pdf (vector)."
    )
