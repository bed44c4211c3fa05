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


def lowered_networks(evaluators: Sequence[Any]) -> list[tuple[int, str, str]]:
    """``(index, key, "encoder" | "autoencoder")`` for each evaluator that lowers a network exactly.

    rlc_bounds and rlc_on_manifold lower their ``network``, manifold_rlc the encoder for its
    ``certificate``. (learnability lowers the encoder too, but reports an encoder it cannot
    lower as undecided, with the reason, instead of failing.)
    """
    found = []
    for index, params in enumerate(evaluators):
        if params.type in ("rlc_bounds", "rlc_on_manifold"):
            found.append((index, "network", params.network))
        elif params.type == "manifold_rlc" and params.certificate:
            found.append((index, "certificate", "encoder"))
    return found


def check_lowerable_networks(evaluators: Sequence[Any], bundle: Any) -> None:
    """Refuse, before training, a network that an exact evaluator would fail to lower afterwards.

    Lowering (:mod:`geokeras.complexity.lowering`) decides from the layers alone (Dense, Conv2D,
    BatchNormalization, ReLU, LeakyReLU, Activation relu / leaky_relu / linear, Dropout, Flatten,
    Reshape), so the untrained ``bundle`` (a :class:`~geokeras.models.builder.Autoencoder`) answers.

    Raises:
        SpecError: at ``(i, key)`` (``evaluate[i].network``, say), naming the layer.
    """
    from geokeras.complexity.lowering import UnsupportedLayerError, check_lowerable

    for index, key, which in lowered_networks(evaluators):
        try:
            check_lowerable(getattr(bundle, which))
        except UnsupportedLayerError as error:
            raise SpecError(
                f"expected an {which} that the {evaluators[index].type} evaluator can lower to affine maps and "
                f"ReLUs (Dense, Conv2D, BatchNormalization, ReLU, LeakyReLU, Activation relu / leaky_relu / "
                f"linear, Dropout, Flatten, Reshape). Received: {error}",
                (index, key),
            ) from None
