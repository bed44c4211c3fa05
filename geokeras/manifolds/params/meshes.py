"""Parameters of triangle-mesh manifolds loaded from OBJ / PLY / OFF files."""

from __future__ import annotations

__all__: list[str] = []
