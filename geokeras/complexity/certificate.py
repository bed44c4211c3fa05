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
``not_excluded`` (a necessary condition only).

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

PROVABLY_NOT_ENCODABLE = "provably_not_encodable"
NOT_EXCLUDED = "not_excluded"
NOT_AN_ENCODING_MAP = "not_an_encoding_map"


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"Expected a non-negative integer `{name}`. Received: {name}={value!r}.")
    return value


def encodable_certificate(
    regions_lower: int,
    architecture_bounds: Mapping[str, int],
    *,
    manifold_lower: int | None = None,
    encoder_pieces: int | None = None,
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
    result: dict[str, Any] = {
        "status": PROVABLY_NOT_ENCODABLE if value < regions_lower else NOT_EXCLUDED,
        "regions_lower": regions_lower,
        "architecture_bound": value,
        "bound_name": name,
        "excluded_by": [bound for bound in UPPER_BOUNDS if bound in uppers and uppers[bound] < regions_lower],
    }
    if manifold_lower is not None:
        result["manifold_rlc_lower"] = _count("manifold_lower", manifold_lower)
        if encoder_pieces is not None:
            pieces = _count("encoder_pieces", encoder_pieces)
            result["encoder_pieces"] = pieces
            result["trained_encoder"] = NOT_AN_ENCODING_MAP if pieces < manifold_lower else NOT_EXCLUDED
    return result
