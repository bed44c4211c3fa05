"""Parameters of the fractal and space-filling curves (Peano, Hilbert, Koch)."""

from __future__ import annotations

__all__: list[str] = []
