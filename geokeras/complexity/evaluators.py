"""The complexity evaluators: ``rlc_bounds``, ``rlc_on_manifold``, ``manifold_rlc``.

Each is ``evaluate_x(params, context) -> dict`` (see :mod:`geokeras.evaluate`); the numbers
are defined in docs/complexity.md and in the modules they call:

* ``rlc_bounds``: the architecture's RLC bounds (:mod:`geokeras.complexity.bounds`), exact
  Python ints, with log10 of each for reading and plotting.
* ``rlc_on_manifold``: the trained network's cells met by the manifold, exact along a
  curve's polyline (:mod:`~geokeras.complexity.polyline`) or on a surface's mesh
  (:mod:`~geokeras.complexity.mesh`), and the sampled lower bound
  (:mod:`~geokeras.complexity.sampled`) on held-out samples; the figure of paper Fig. 3.
* ``manifold_rlc``: N(R^n, Σ) (:mod:`~geokeras.complexity.manifold_rlc`) and the
  encodable-condition certificate (:mod:`~geokeras.complexity.certificate`).

The polylines and meshes come from the manifold, already embedded into the ambient space,
which is the encoder's input space, so every count is in the encoder's input space.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from geokeras.complexity.bounds import rlc_bounds, tightest_upper_bound, trained_network_bounds
from geokeras.complexity.certificate import certificate_from_geometry
from geokeras.complexity.lowering import LoweredNetwork, lower
from geokeras.complexity.manifold_rlc import DEFAULT_ANGLE_TOL, geometry_rlc
from geokeras.complexity.params import (
    ManifoldRlcParams,
    RlcBoundsParams,
    RlcOnManifoldParams,
)
from geokeras.complexity.polyline import count_regions_on_polyline
from geokeras.complexity.sampled import count_regions_sampled
from geokeras.errors import GeokerasInputError
from geokeras.evaluation import EvaluationContext
from geokeras.manifolds.capabilities import ExactCurve, ExactPolygon
from geokeras.manifolds.geometry import CURVE, ExactGeometry, geometry_key, no_geometry_reason
from geokeras.seeds import purpose_seed

MAX_EXACT_DIGITS = 4000
"""Bounds with more decimal digits are written as a rounded string ("1.234567e+5678") and
listed under ``rounded``: Python's int -> str conversion, which json uses, stops at 4300
digits by default (a conv encoder on MNIST reaches that)."""

SEED_PURPOSE = "evaluate.rlc_on_manifold"
"""Held-out samples of the sampled count are drawn with ``purpose_seed(run seed, SEED_PURPOSE)``."""


def _network(context: EvaluationContext, which: str) -> LoweredNetwork:
    model = context.encoder if which == "encoder" else context.autoencoder
    if model is None:
        raise GeokerasInputError(f"Expected the context to hold the {which} model. Received: {which}=None.")
    return lower(model)


def architecture(network: LoweredNetwork) -> tuple[list[int], list[int]]:
    """Widths [n_0, ..., n_out] and hidden-layer ranks for :func:`rlc_bounds`.

    The bounds take the last layer as linear; a network whose last layer has a ReLU (an
    ``output_activation: relu``) gets an identity output layer appended, so that its last
    ReLU layer counts as hidden.
    """
    widths = list(network.widths)
    hidden = list(network.layers[:-1])
    if network.layers[-1].is_piecewise:
        widths.append(widths[-1])
        hidden.append(network.layers[-1])
    return widths, [int(np.linalg.matrix_rank(layer.weight)) for layer in hidden]


def evaluate_rlc_bounds(params: RlcBoundsParams, context: EvaluationContext) -> dict:
    """Bounds of N(N) for the lowered network's widths (see :func:`architecture`).

    Returns:
        ``{"widths": [n_0, ..., n_out], "hidden_units": int, <bound name>: int, ...,
        "log10": {<bound name>: float}, "tightest_upper": name}``, and ``"rounded": [names]``
        when a bound exceeds :data:`MAX_EXACT_DIGITS` digits (bound names in
        :func:`~geokeras.complexity.bounds.rlc_bounds`, each valid for every weight), and
        ``"trained_network_bounds"``: the bounds of this network from its weights' ranks
        (``serra2018_rank``), labelled apart because they hold for these weights only.
    """
    network = _network(context, params.network)
    widths, ranks = architecture(network)
    bounds = rlc_bounds(widths)
    metrics: dict[str, Any] = {"widths": widths, "hidden_units": sum(widths[1:-1])}
    metrics.update(json_safe_bounds(bounds))
    metrics["tightest_upper"] = tightest_upper_bound(bounds)[0]
    metrics["trained_network_bounds"] = json_safe_bounds(trained_network_bounds(widths, ranks))
    return metrics


def json_safe_bounds(bounds: dict[str, int]) -> dict[str, Any]:
    """The bounds as exact ints, with ``log10`` of each; beyond MAX_EXACT_DIGITS digits a string.

    Returns:
        ``{<name>: int or "d.dddddde+k", ..., "log10": {<name>: float}}`` plus
        ``"rounded": [names written as strings]`` when there are any.
    """
    log10 = {name: math.log10(value) for name, value in bounds.items()}
    result: dict[str, Any] = {}
    rounded = []
    for name, value in bounds.items():
        if log10[name] < MAX_EXACT_DIGITS:
            result[name] = value
        else:  # Python refuses int -> str beyond 4300 digits (sys.get_int_max_str_digits)
            result[name] = f"{10 ** (log10[name] % 1):.6f}e+{int(log10[name])}"
            rounded.append(name)
    result["log10"] = log10
    if rounded:
        result["rounded"] = rounded
    return result


def evaluate_rlc_on_manifold(params: RlcOnManifoldParams, context: EvaluationContext) -> dict:
    """Cells of the trained network met by the manifold (docs/complexity.md).

    Returns:
        ``method`` (``"exact_polyline"``, ``"exact_mesh"`` or ``"sampled"``), ``exact``
        (bool), the exact counts (curves: ``intervals``, ``regions`` = intervals, ``cells``,
        ``pieces``, ``segments``, ``closed``; surfaces: ``regions``, ``cells``, ``pieces``,
        ``area``) and ``sampled`` = ``{"cells", "samples", "bound": "lower"}`` when
        ``samples`` > 0.

    Raises:
        GeokerasInputError: with ``method: exact`` on a manifold without polyline or mesh.
    """
    network = _network(context, params.network)
    manifold = context.manifold
    metrics: dict[str, Any] = {"method": "sampled", "exact": False}
    exact: Any = None
    geometry = None
    if params.method != "sampled":
        resolution = params.resolution if _is_smooth_curve(manifold) else None
        geometry = context.exact_geometry(resolution, params.mesh_resolution)
        if geometry is None and params.method == "exact":
            raise GeokerasInputError(
                f"rlc_on_manifold with method: exact needs a curve (with a polyline) or a surface "
                f"(with a mesh). Received: manifold type {manifold.params.type!r} with intrinsic_dim="
                f"{manifold.intrinsic_dim!r}. Use method: sampled (a lower bound)."
            )
    if geometry is not None and geometry.kind == "curve":
        exact = count_regions_on_polyline(network, geometry.vertices, geometry.closed, backend=_backend(params.backend))
        metrics = {"method": "exact_polyline", "exact": True, **exact.as_metrics(), "regions": exact.intervals}
        metrics["resolution"] = geometry.resolution
    elif geometry is not None:
        from geokeras.complexity.mesh import count_regions_on_mesh

        exact = count_regions_on_mesh(network, geometry.vertices, geometry.faces)
        metrics = {"method": "exact_mesh", "exact": True, **exact.as_metrics(), "mesh_resolution": geometry.resolution}
    sampled = None
    if params.samples > 0:
        draw = manifold.draw(params.samples, purpose_seed(context.seed, SEED_PURPOSE))
        sampled = count_regions_sampled(network, draw.clean)
        metrics["sampled"] = sampled.as_metrics()
    if sampled is None and exact is None:
        raise GeokerasInputError(
            f"rlc_on_manifold has nothing to count on manifold type {manifold.params.type!r}: no "
            f"polyline or mesh, and samples=0. Expected samples > 0. Received: samples=0."
        )
    _draw_figures(params, context, network, geometry, exact, sampled)
    return metrics


def _backend(choice: str) -> str:
    """``auto``: ``tensorflow`` when TensorFlow sees a GPU, else ``numpy``."""
    if choice != "auto":
        return choice
    import tensorflow as tf

    return "tensorflow" if tf.config.list_physical_devices("GPU") else "numpy"


def _is_smooth_curve(manifold: Any) -> bool:
    """A curve inscribed at a resolution (a polygonal curve is counted on its own vertices)."""
    return isinstance(manifold, ExactCurve) and not isinstance(manifold, ExactPolygon)


def _draw_figures(params, context, network, geometry, exact, sampled) -> None:
    if not context.draws_figures:
        return
    from geokeras.complexity import figures

    name = "rlc_on_manifold"
    path = context.figure_path(name)
    if geometry is not None and geometry.kind == "curve":
        figures.plot_cells_on_polyline(geometry.vertices, exact, path, dpi=context.report.dpi)
        context.add_figure(f"Cells of the {params.network} along the curve (paper Fig. 3)", path)
    elif geometry is not None:
        figures.plot_cells_on_mesh(exact, path, dpi=context.report.dpi)
        context.add_figure(f"Cells of the {params.network} on the surface (paper Fig. 3)", path)
        if network.output_dim == 2:
            latent_path = context.figure_path(f"{name}_latent")
            figures.plot_cells_in_latent(exact, latent_path, dpi=context.report.dpi)
            context.add_figure(f"The {params.network}'s cells mapped into the latent domain", latent_path)
    if network.input_dim == 2:
        from geokeras.complexity.mesh import count_regions_in_box

        if geometry is not None:
            points = np.asarray(geometry.vertices, dtype=np.float64)
        else:
            points = np.asarray(context.x_train, dtype=np.float64).reshape(len(context.x_train), -1)
            points = points[: context.report.max_points]
        low, high = points.min(axis=0), points.max(axis=0)
        margin = params.box_margin * np.maximum(high - low, 1e-12)
        box = count_regions_in_box(network, low - margin, high + margin)
        box_path = context.figure_path(f"{name}_box")
        is_curve = geometry is not None and geometry.kind == "curve"
        figures.plot_box_decomposition(box, box_path, overlay=points, overlay_is_curve=is_curve, dpi=context.report.dpi)
        context.add_figure(f"Cell decomposition of the {params.network} on a box around the data", box_path)


def evaluate_manifold_rlc(params: ManifoldRlcParams, context: EvaluationContext) -> dict:
    """N(R^n, Σ) of the manifold and, with ``certificate``, Theorem 4.12's check.

    Returns:
        ``pieces``, ``lower``, ``upper``, ``method`` (and the extras of
        :func:`~geokeras.complexity.manifold_rlc.manifold_rlc`); for a manifold with neither
        polyline nor mesh: ``method: "unavailable"`` with ``pieces``, ``lower``, ``upper``
        null and a ``reason``. With ``certificate`` and a known lower bound:
        ``certificate`` = :func:`~geokeras.complexity.certificate.certificate_from_geometry` for
        the encoder's lowered architecture, with the trained encoder's pieces along the
        curve when latent_dim is 1.
    """
    manifold = context.manifold
    geometry, metrics = shared_manifold_rlc(context, params.resolution, angle_tol=params.angle_tol)
    if geometry is None:
        reason = no_geometry_reason(manifold)
        return {"pieces": None, "lower": None, "upper": None, "method": "unavailable", "reason": reason}
    lower_bound = metrics.get("lower")
    if params.certificate and lower_bound is not None and context.encoder is not None:
        network = lower(context.encoder)
        widths, ranks = architecture(network)
        metrics["certificate"] = certificate_from_geometry(
            manifold,
            widths,
            geometry,
            int(lower_bound),
            encoder_pieces=_encoder_pieces(network, manifold, geometry),
            trained_bounds=trained_network_bounds(widths, ranks),
        )
    return metrics


def shared_manifold_rlc(
    context: EvaluationContext, resolution: int | None = None, *, angle_tol: float = DEFAULT_ANGLE_TOL
) -> tuple[ExactGeometry | None, dict[str, Any]]:
    """The manifold's exact geometry and N(R^n, Σ) on it, computed once per run and resolution.

    ``resolution`` as the ``manifold_rlc`` evaluator's (a smooth curve's segments or a surface's
    mesh resolution). The ``manifold_rlc`` and ``learnability`` evaluators both ask for it, so a
    spec with both computes the manifold's RLC once and their certificates start from the same
    count.

    Returns:
        ``(geometry, metrics)``: ``metrics`` a fresh copy of
        :func:`~geokeras.complexity.manifold_rlc.geometry_rlc`'s dict; ``(None, {})`` for a
        manifold without exact geometry.
    """
    geometry = context.exact_geometry(resolution, resolution)
    if geometry is None:
        return None, {}
    key = geometry_key(context.manifold, resolution, resolution)
    tolerance = angle_tol if geometry.kind == CURVE else None  # the surface count has no angle tolerance
    metrics = context.remember(
        ("manifold_rlc", key, tolerance), lambda: geometry_rlc(context.manifold, geometry, angle_tol=angle_tol)
    )
    return geometry, copy.deepcopy(metrics)


def _encoder_pieces(network: LoweredNetwork, manifold: Any, geometry: Any) -> int | None:
    """Affine pieces of the encoder along a curve, when latent_dim = 1 (the theorem's setting).

    Surfaces are left out: their RLC bounds may count charts of an open cover, while the
    encoder's pieces partition the mesh, so the comparison would not be a proof.
    """
    if geometry.kind != "curve" or network.output_dim != 1:
        return None
    return count_regions_on_polyline(network, geometry.vertices, geometry.closed).pieces
