"""Upper bounds on spec values that size memory or time: a typo must fail at its key, at once.

A spec is data that anyone may share, so a value such as ``samples: 10000000000`` or
``widths: [1000000000]`` must be refused by ``geokeras validate`` (exit 2, with the key) instead of
exhausting the machine of whoever runs it. Each bound is generous for research use and comes with
the reason it exists; docs/spec.md lists them ("Limits"). The annotated types below carry the
bound into the JSON Schema (``maximum``) and into the error message.

Pydantic only: importing this module imports neither numpy nor TensorFlow.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, Field, NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt

MAX_SAMPLES = 10_000_000
"""Samples drawn at once (training data, evaluator points): 10^7 rows, 80 MB per coordinate in float64."""

MAX_WIDTH = 65_536
"""Width of one layer (units, filters) and dimension of a space: a 65,536 x 65,536 kernel is 17 GB."""

MAX_PARAMETERS = 50_000_000
"""Parameters (weights) of the autoencoder: 200 MB in float32, times about 4 with Adam's moments."""

MAX_RESOLUTION = 10_000_000
"""Segments of a polyline standing in for a smooth curve (as many as MAX_SAMPLES)."""

MAX_MESH_RESOLUTION = 2_048
"""Cells per parameter of a surface mesh: 2 x 2048^2, about 8.4 million triangles."""

MAX_EPOCHS = 1_000_000
"""Epochs of training (and steps of a schedule): beyond this a run would not end."""

MAX_BATCH_SIZE = 1_048_576
"""Samples per batch (2^20): the activations of a batch must fit on a device."""

MAX_DPI = 600
"""Dots per inch of a figure: a figure at 600 dpi is already about 25 megapixels."""

MAX_SEED = 2**32 - 1
"""Largest seed: numpy's legacy seeding and TensorFlow's global seed take 32-bit seeds."""

MAX_SCALE = 1e6
"""Largest length, radius, noise standard deviation or coefficient: the squared distances of
a training loss must stay finite in float32 (about 3.4e38), with room for the network's growth."""

MAX_SAMPLE_MAGNITUDE = 1e15
"""Largest coordinate of a drawn sample (checked after sampling, before training): squared
distances of such samples stay finite in float32, the precision the network trains in."""

MAX_COUNT = 1_000_000
"""Small counts (neighbours, modes, turns, features, checks): far beyond any sensible value."""


def at_most(bound: float, what: str, why: str) -> AfterValidator:
    """A validator refusing values above ``bound``; its message names the bound and the reason."""
    shown = f"{bound:,}" if isinstance(bound, int) else f"{bound:g}"

    def check(value: Any) -> Any:
        if value > bound:
            raise ValueError(f"expected {what} of at most {shown} ({why}). Received: {value!r}.")
        return value

    return AfterValidator(check)


def bounded(base: Any, bound: float, what: str, why: str) -> Any:
    """``base`` (a pydantic number type) at most ``bound``, with the bound in the JSON Schema."""
    return Annotated[base, at_most(bound, what, why), Field(json_schema_extra={"maximum": bound})]


_SAMPLES_WHY = "each sample is a row of the data held in memory"
SampleCount = bounded(PositiveInt, MAX_SAMPLES, "a sample count", _SAMPLES_WHY)
"""A positive number of samples or points, at most :data:`MAX_SAMPLES`."""
NonNegativeSampleCount = bounded(NonNegativeInt, MAX_SAMPLES, "a sample count", _SAMPLES_WHY)

Width = bounded(PositiveInt, MAX_WIDTH, "a layer width", "one dense kernel grows as the product of two widths")
"""Units or filters of one layer, at most :data:`MAX_WIDTH`."""

Dimension = bounded(PositiveInt, MAX_WIDTH, "a dimension", "every sample holds one coordinate per dimension")
"""A dimension of a space (ambient, latent, intrinsic), at most :data:`MAX_WIDTH`."""

Resolution = bounded(PositiveInt, MAX_RESOLUTION, "a resolution", "one vertex per segment is held in memory")
"""Segments of a curve's polyline, at most :data:`MAX_RESOLUTION`."""

MeshResolution = bounded(
    PositiveInt, MAX_MESH_RESOLUTION, "a mesh resolution", "the mesh has 2 x resolution^2 triangles"
)
"""Cells per parameter of a surface mesh, at most :data:`MAX_MESH_RESOLUTION`."""

Epochs = bounded(PositiveInt, MAX_EPOCHS, "a number of epochs or steps", "a run must end")
StepCount = bounded(PositiveInt, MAX_EPOCHS * 1000, "a number of steps", "a run must end")
NonNegativeStepCount = bounded(NonNegativeInt, MAX_EPOCHS * 1000, "a number of steps", "a run must end")

BatchSize = bounded(PositiveInt, MAX_BATCH_SIZE, "a batch size", "a batch's activations must fit on a device")
"""Samples per batch or tile, at most :data:`MAX_BATCH_SIZE`."""

Count = bounded(PositiveInt, MAX_COUNT, "a count", "larger values only exhaust time or memory")
"""A small positive count (neighbours, modes, features), at most :data:`MAX_COUNT`."""

Seed = bounded(NonNegativeInt, MAX_SEED, "a seed", "numpy and TensorFlow seeds are 32-bit integers")

Dpi = bounded(PositiveInt, MAX_DPI, "a dpi", "a figure's pixels grow as dpi^2")

_SCALE_WHY = "squared distances of the data must stay finite in float32"
_check_scale = at_most(MAX_SCALE, "a scale (in absolute value)", _SCALE_WHY).func
Scale = bounded(PositiveFloat, MAX_SCALE, "a scale", _SCALE_WHY)
"""A positive length, radius or standard deviation, at most :data:`MAX_SCALE`."""
NonNegativeScale = bounded(NonNegativeFloat, MAX_SCALE, "a scale", _SCALE_WHY)
"""A non-negative length or standard deviation, at most :data:`MAX_SCALE`."""
Coefficient = Annotated[
    float,
    AfterValidator(lambda value: -_check_scale(-value) if value < 0 else _check_scale(value)),
    Field(json_schema_extra={"minimum": -MAX_SCALE, "maximum": MAX_SCALE}),
]
"""A signed coefficient (a height, a curvature) in [-MAX_SCALE, MAX_SCALE]."""

MAX_SWEEP_POINTS = 10_000
"""Points of one sweep grid (every point is resolved before anything runs, and each is a run): a
``range`` or ``linspace`` with a typo in its count must fail at once, not resolve for hours."""
