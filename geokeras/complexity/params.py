"""Parameters of the complexity evaluators: rlc_bounds, rlc_on_manifold, manifold_rlc."""

from __future__ import annotations
