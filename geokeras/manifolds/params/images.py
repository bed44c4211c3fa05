"""Parameters of the image data sets (digits, MNIST, Fashion-MNIST)."""

from __future__ import annotations

__all__: list[str] = []
