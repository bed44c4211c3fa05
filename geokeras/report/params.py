"""Parameters of the ``report:`` spec section."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from geokeras.limits import Dpi, SampleCount
from geokeras.registry import SpecModel


class ReportSpec(SpecModel):
    """What the run directory's report.md shows."""

    figures: bool = Field(True, description="Write figures/*.png and show them in report.md.")
    dpi: Dpi = Field(110, description="Resolution of the PNG figures.")
    max_points: SampleCount = Field(4000, description="Points drawn at most per scatter plot.")
    format: Literal["png", "svg", "pdf"] = Field(
        "png", description="File type of the figures: png (raster, at dpi), svg or pdf (vector)."
    )
