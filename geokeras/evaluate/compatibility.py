"""Evaluator and manifold compatibility, checked before training.

An evaluator that cannot apply to the spec's manifold (an exact cell count on an image data set,
noise normal to a manifold without tangent space) would otherwise fail after the whole training
run, with the run directory half written. :func:`check_evaluators` runs once the manifold is
built and before anything is written (``geokeras.api``); each problem is a SpecError at the
evaluator's key, its path starting at the evaluator's index in the list (``(0, "method")``).
"""

from __future__ import annotations

from typing import Any, Sequence

from geokeras.errors import SpecError
from geokeras.limits import MAX_MESH_RESOLUTION
from geokeras.manifolds.geometry import SURFACE, geometry_kind, no_geometry_reason


def check_evaluators(evaluators: Sequence[Any], manifold: Any) -> None:
    """Refuse evaluators (the spec's validated ``evaluate`` list) that cannot run on ``manifold``.

    Raises:
        SpecError: at ``(i, <key>)`` (``evaluate[i].<key>`` in a spec) for the first evaluator
            that cannot apply.
    """
    kind = geometry_kind(manifold)
    described = f"manifold type {manifold.params.type!r} (intrinsic_dim={manifold.intrinsic_dim!r})"
    for index, params in enumerate(evaluators):
        key = (index,)
        if params.type == "rlc_on_manifold":
            if params.method == "exact" and kind is None:
                raise SpecError(
                    f"method: exact {no_geometry_reason(manifold)}. Expected method: sampled or auto (the "
                    f"sampled count, a lower bound). Received: method=exact.",
                    key + ("method",),
                )
            if (kind is None or params.method == "sampled") and params.samples == 0:
                raise SpecError(
                    f"expected samples > 0: without an exact count on {described} the sampled count is the "
                    f"only one. Received: samples=0.",
                    key + ("samples",),
                )
        elif params.type == "manifold_rlc" and kind == SURFACE and (params.resolution or 0) > MAX_MESH_RESOLUTION:
            raise SpecError(
                f"expected a mesh resolution of at most {MAX_MESH_RESOLUTION:,} on a surface (the mesh has "
                f"2 x resolution^2 triangles). Received: resolution={params.resolution}.",
                key + ("resolution",),
            )
        elif params.type == "denoising" and _normal_noise(params.noise) and not manifold.has_tangent_space:
            raise SpecError(
                f"expected noise direction 'isotropic' for the denoising evaluator: {described} has no "
                f"tangent space for noise normal to it. Received: direction='normal'.",
                key + ("noise", "direction"),
            )


def _normal_noise(noise: Any) -> bool:
    """Noise that needs the tangent space: direction normal with a positive standard deviation."""
    return noise.direction == "normal" and noise.std > 0.0
