"""The encodable-condition certificate (Lei et al. 2018, Theorem 4.12).

If an encoder phi_theta of the architecture N encodes Σ (its restriction to Σ is a
homeomorphism onto its image), then

    N(R^n, Σ) <= N(phi_theta) <= N(N).

So an architecture whose RLC upper bound is *below* a proven lower bound of the manifold's
RLC can never encode Σ, whatever its weights: the certificate says
``provably_not_encodable`` and names both numbers. Otherwise it says ``not_excluded``: the
inequality holds, which proves nothing (Theorem 4.12 is a necessary condition only).

The same inequality checks one *trained* encoder. On each maximal run of the curve where
phi_theta is one affine map, an injective phi_theta is an injective affine map, so the run
is linear rectifiable (for latent dimension = intrinsic dimension, the paper's setting);
hence if the number of such runs along Σ (``pieces`` of
:func:`~geokeras.complexity.polyline.count_regions_on_polyline`) is below the manifold's
RLC lower bound, that encoder is provably not injective on Σ: ``trained_encoder`` says
``not_an_encoding_map``.

Only bounds that are proven go in: ``manifold_lower`` must be a lower bound of N(R^n, Σ)
(for curves, the exact count of the polyline) and the architecture bounds must be upper
bounds (:data:`geokeras.complexity.bounds.UPPER_BOUNDS`).
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
    manifold_lower: int,
    architecture_bounds: Mapping[str, int],
    *,
    encoder_pieces: int | None = None,
) -> dict[str, Any]:
    """Compare a manifold's RLC lower bound with an architecture's RLC upper bounds.

    Args:
        manifold_lower: a proven lower bound of N(R^n, Σ).
        architecture_bounds: ``{name: upper bound of N(N)}`` (e.g. from
            :func:`~geokeras.complexity.bounds.rlc_bounds`; lower bounds in it are ignored).
        encoder_pieces: optional, the number of affine pieces of a trained encoder along Σ.

    Returns:
        ``{"status": "provably_not_encodable" | "not_excluded", "manifold_rlc_lower": int,
        "architecture_bound": int, "bound_name": str, "excluded_by": [names of every upper
        bound below manifold_lower]}``, plus ``"encoder_pieces"`` and ``"trained_encoder":
        "not_an_encoding_map" | "not_excluded"`` when ``encoder_pieces`` is given.
    """
    manifold_lower = _count("manifold_lower", manifold_lower)
    uppers = {name: _count(name, value) for name, value in architecture_bounds.items() if name in UPPER_BOUNDS}
    name, value = tightest_upper_bound(uppers)
    result: dict[str, Any] = {
        "status": PROVABLY_NOT_ENCODABLE if value < manifold_lower else NOT_EXCLUDED,
        "manifold_rlc_lower": manifold_lower,
        "architecture_bound": value,
        "bound_name": name,
        "excluded_by": [bound for bound in UPPER_BOUNDS if bound in uppers and uppers[bound] < manifold_lower],
    }
    if encoder_pieces is not None:
        pieces = _count("encoder_pieces", encoder_pieces)
        result["encoder_pieces"] = pieces
        result["trained_encoder"] = NOT_AN_ENCODING_MAP if pieces < manifold_lower else NOT_EXCLUDED
    return result
