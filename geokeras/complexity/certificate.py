"""The encodable-condition certificate (Lei et al. 2018, Theorem 4.12), made sound.

Theorem 4.12 says: if an encoder phi_theta of the architecture N encodes Σ (its restriction to
Σ is a homeomorphism onto its image), then N(R^n, Σ) <= N(phi_theta) <= N(N). Its proof makes
a chart of Σ ∩ K from each linear region K of phi_theta, and Σ ∩ K may be *disconnected*; so
the inequality holds for atlases of possibly disconnected charts, whereas the count that can
be computed (and that the paper counts for its Peano curves) is the number of connected
pieces. One convex region can meet a curve in many arcs, so "architecture bound < connected
pieces" proves nothing. This module therefore compares the architecture's upper bound on its
linear regions with ``regions_lower``, a *proven* lower bound on the regions of every encoding
map of Σ:

* 2 when Σ is not linear rectifiable (no single affine map into R^m is injective on it);
* for a planar open arc into R^1, the line-separation bound of
  :mod:`geokeras.complexity.separation` (label changes of a level cut along a straight line).

An architecture whose tightest upper bound is below ``regions_lower`` can never encode Σ,
whatever its weights: ``provably_not_encodable``, with both numbers. Otherwise
``not_excluded`` (a necessary condition only). Only bounds valid for every weight of the
architecture take part (:data:`~geokeras.complexity.bounds.UPPER_BOUNDS`); bounds that use
the trained weights (:func:`~geokeras.complexity.bounds.trained_network_bounds`) are reported
under ``trained_network_bounds`` and never change the status.

A topological obstruction also decides for every weight (:func:`topological_obstruction`):
by invariance of domain (Brouwer 1912) an injective continuous map from an open subset of
R^m into R^m is open, so a compact m-manifold without boundary (a circle, a sphere, a torus)
has no injective continuous map into R^m (its image would be open and compact in R^m), no
m-manifold has one into R^k with k < m (its charts would embed an open subset of R^m in
R^k ⊂ R^m, not open there), and a non-orientable surface has none into R^2 (the image would
be an open subset of the plane, hence orientable). Any of these makes the status
``provably_not_encodable``; ``obstruction`` holds its reason, else None.

The connected count does check one *trained* encoder. On each maximal run of the curve where
phi_theta is one affine map, an injective phi_theta is an injective affine map, so the runs
partition Σ into connected linear rectifiable arcs; if there are fewer such runs (``pieces``
of :func:`~geokeras.complexity.polyline.count_regions_on_polyline`) than the manifold's
connected RLC lower bound ``manifold_lower``, that encoder is provably not injective on Σ:
``trained_encoder`` says ``not_an_encoding_map``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from geokeras.complexity.bounds import UPPER_BOUNDS, tightest_upper_bound
from geokeras.manifolds.capabilities import is_closed_manifold, orientability

PROVABLY_NOT_ENCODABLE = "provably_not_encodable"
NOT_EXCLUDED = "not_excluded"
NOT_AN_ENCODING_MAP = "not_an_encoding_map"


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"Expected a non-negative integer `{name}`. Received: {name}={value!r}.")
    return value


def manifold_obstruction(manifold: Any, latent_dim: int) -> dict[str, str] | None:
    """:func:`topological_obstruction` for a geokeras manifold (None when its dimension is unknown).

    Closed and orientable as the manifold's :class:`~geokeras.manifolds.capabilities.KnownTopology`
    declares them (not closed, orientability unknown for a manifold without it).
    """
    if manifold.intrinsic_dim is None:
        return None
    closed, orientable = is_closed_manifold(manifold), orientability(manifold)
    return topological_obstruction(manifold.intrinsic_dim, latent_dim, closed, orientable)


def topological_obstruction(
    intrinsic_dim: int, latent_dim: int, closed: bool, orientable: bool | None = None
) -> dict[str, str] | None:
    """Why no continuous map of an m-manifold into R^k is injective, or None (module docstring).

    Args:
        intrinsic_dim: m. latent_dim: k. closed: compact without boundary.
        orientable: False for a non-orientable manifold (None: unknown).

    Returns:
        ``{"reason": str, "theorem": "invariance of domain"}`` or None.
    """
    m, k = _count("intrinsic_dim", intrinsic_dim), _count("latent_dim", latent_dim)
    if k < m:
        reason = f"a {m}-manifold has no injective continuous map into R^{k} with {k} < {m} (invariance of domain)"
    elif k == m and closed:
        reason = f"a closed {m}-manifold has no injective continuous map into R^{m} (invariance of domain)"
    elif k == m == 2 and orientable is False:
        reason = "a non-orientable surface has no injective continuous map into R^2 (invariance of domain)"
    else:
        return None
    return {"reason": reason, "theorem": "invariance of domain"}


def encodable_certificate(
    regions_lower: int,
    architecture_bounds: Mapping[str, int],
    *,
    manifold_lower: int | None = None,
    encoder_pieces: int | None = None,
    obstruction: Mapping[str, str] | None = None,
    trained_bounds: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """Compare a proven lower bound on an encoding map's regions with an architecture's bounds.

    Args:
        regions_lower: a proven lower bound on the linear regions of every encoding map of Σ
            (module docstring; 1 when nothing is proven).
        architecture_bounds: ``{name: upper bound of N(N)}`` (e.g. from
            :func:`~geokeras.complexity.bounds.rlc_bounds`; lower bounds in it are ignored).
        manifold_lower: optional, a proven lower bound of the connected RLC of Σ (pieces).
        encoder_pieces: optional, the number of affine pieces of a trained encoder along Σ
            (needs ``manifold_lower``).
        obstruction: optional, :func:`topological_obstruction`'s result: when given and not
            None the status is ``provably_not_encodable`` whatever the bounds.
        trained_bounds: optional, bounds on one trained network's regions
            (:func:`~geokeras.complexity.bounds.trained_network_bounds`): reported with the
            names of those below ``regions_lower``, never deciding.

    Returns:
        ``{"status": "provably_not_encodable" | "not_excluded", "regions_lower": int,
        "architecture_bound": int, "bound_name": str, "excluded_by": [names of every upper
        bound below regions_lower]}``, plus ``"manifold_rlc_lower"`` when given, and
        ``"encoder_pieces"`` and ``"trained_encoder": "not_an_encoding_map" | "not_excluded"``
        when both ``manifold_lower`` and ``encoder_pieces`` are given.
    """
    regions_lower = _count("regions_lower", regions_lower)
    uppers = {name: _count(name, value) for name, value in architecture_bounds.items() if name in UPPER_BOUNDS}
    name, value = tightest_upper_bound(uppers)
    obstruction = None if obstruction is None else dict(obstruction)
    result: dict[str, Any] = {
        "status": PROVABLY_NOT_ENCODABLE if value < regions_lower or obstruction is not None else NOT_EXCLUDED,
        "regions_lower": regions_lower,
        "architecture_bound": value,
        "bound_name": name,
        "excluded_by": [bound for bound in UPPER_BOUNDS if bound in uppers and uppers[bound] < regions_lower],
        "obstruction": obstruction,
    }
    if trained_bounds is not None:
        trained = {bound: _count(bound, count) for bound, count in trained_bounds.items()}
        result["trained_network_bounds"] = trained
        result["trained_network_excluded_by"] = [bound for bound, count in trained.items() if count < regions_lower]
    if manifold_lower is not None:
        result["manifold_rlc_lower"] = _count("manifold_lower", manifold_lower)
        if encoder_pieces is not None:
            pieces = _count("encoder_pieces", encoder_pieces)
            result["encoder_pieces"] = pieces
            result["trained_encoder"] = NOT_AN_ENCODING_MAP if pieces < manifold_lower else NOT_EXCLUDED
    return result


def architecture_certificate(
    manifold: Any,
    widths: Any,
    *,
    resolution: int | None = None,
    geometry_and_lower: tuple[Any, int | None] | None = None,
) -> dict[str, Any]:
    """Can any encoder with these widths encode the manifold? Decided for every weight.

    Combines :func:`topological_obstruction` with :func:`encodable_certificate` for the
    architecture's bounds (:func:`~geokeras.complexity.bounds.rlc_bounds`) and the proven
    lower bound ``regions_lower`` on the regions of any encoding map of Σ
    (:func:`regions_lower_bound`). Nothing here depends on weights.

    Args:
        manifold: a :class:`geokeras.manifolds.Manifold` or a mapping such as
            ``{"type": "hilbert", "order": 4}``.
        widths: the encoder's widths [n_0, n_1, ..., n_L, k], n_0 the ambient dimension and k
            the latent dimension.
        resolution: segments of a smooth curve's polyline / a surface's mesh resolution for the
            manifold's RLC (see :func:`geokeras.manifolds.geometry.exact_geometry`).
        geometry_and_lower: the manifold's exact geometry (or None) and its RLC lower bound
            when already computed (an evaluation context shares them between evaluators);
            ``resolution`` is then not used.

    Returns:
        The certificate dict of :func:`encodable_certificate` with ``regions_lower_method``;
        for a manifold with neither polyline nor mesh, ``regions_lower`` is 1 (nothing proven)
        and only the obstruction can decide.

    Raises:
        ValueError: widths that are not [n_0, ..., k] with n_0 the manifold's ambient dimension.

    Example:
        >>> from geokeras.complexity import certificate
        >>> certificate({"type": "hilbert", "order": 4}, [2, 2, 1])["status"]
        'provably_not_encodable'
    """
    from geokeras.complexity.bounds import rlc_bounds
    from geokeras.manifolds import Manifold, make

    manifold = manifold if isinstance(manifold, Manifold) else make(manifold)
    bounds = rlc_bounds(widths)
    widths = [int(width) for width in widths]
    if widths[0] != manifold.ambient_dim:
        raise ValueError(
            f"Expected widths starting with the manifold's ambient dimension {manifold.ambient_dim}. "
            f"Received: widths={widths!r}."
        )
    from geokeras.complexity.manifold_rlc import geometry_rlc
    from geokeras.manifolds.geometry import exact_geometry

    if geometry_and_lower is None:
        geometry = exact_geometry(manifold, resolution, resolution)
        manifold_lower = None if geometry is None else int(geometry_rlc(manifold, geometry)["lower"])
    else:
        geometry, manifold_lower = geometry_and_lower
    return certificate_from_geometry(manifold, widths, geometry, manifold_lower, bounds=bounds)


def certificate_from_geometry(
    manifold: Any, widths: list, geometry: Any, manifold_lower: int | None, *, bounds: Any = None, **extras: Any
) -> dict[str, Any]:
    """The certificate from a manifold's geometry and its proven RLC lower bound (shared core).

    :func:`architecture_certificate` and the ``manifold_rlc`` evaluator both call it, so the two
    always agree. ``extras`` (``encoder_pieces``, ``trained_bounds``) go to
    :func:`encodable_certificate` and never change the status.
    """
    from geokeras.complexity.bounds import rlc_bounds

    regions_lower, method = 1, "none (no polyline or mesh)"
    if geometry is not None and manifold_lower is not None:
        regions_lower, method = regions_lower_bound(manifold, geometry, manifold_lower, widths[-1])
    result = encodable_certificate(
        regions_lower,
        rlc_bounds(widths) if bounds is None else bounds,
        manifold_lower=manifold_lower,
        obstruction=manifold_obstruction(manifold, widths[-1]),
        **extras,
    )
    result["regions_lower_method"] = method
    return result


def regions_lower_bound(manifold: Any, geometry: Any, manifold_lower: int, latent_dim: int) -> tuple[int, str]:
    """``(regions_lower, method)``: a proven lower bound on the regions of any encoding map of Σ.

    Only in the paper's setting (latent dimension = the manifold's dimension): 2 when Σ is not
    linear rectifiable (its RLC lower bound ``manifold_lower`` >= 2), and for a planar open
    curve into R^1 the line-separation bound (:mod:`geokeras.complexity.separation`). With a
    larger latent space a single affine map may already be injective: nothing is proven (1).

    Args:
        manifold: the manifold. geometry: its :class:`~geokeras.manifolds.geometry.ExactGeometry`.
        manifold_lower: a proven lower bound on N(R^n, Σ). latent_dim: k.
    """
    if latent_dim != manifold.intrinsic_dim:
        return 1, "none (latent_dim differs from the manifold's dimension)"
    rectifiable = min(manifold_lower, 2)
    if geometry.kind == "curve" and not geometry.closed and geometry.vertices.shape[1] == 2:
        from geokeras.complexity.separation import line_separation_bound

        separation = line_separation_bound(geometry.vertices)
        if separation > rectifiable:
            return separation, "line_separation"
    return rectifiable, "not_linear_rectifiable" if rectifiable == 2 else "none"
