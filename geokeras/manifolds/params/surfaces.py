"""Parameters of the surface and higher-dimensional manifolds (spheres, tori, rolls, bands, products)."""

from __future__ import annotations

__all__: list[str] = []
