"""Manifolds with a measure: the data of a geokeras experiment.

``make(params)`` builds the manifold named by ``params.type`` from the registry
:data:`geokeras.registry.MANIFOLDS`. Importing this package never imports TensorFlow.

>>> from geokeras.manifolds import make
>>> circle = make({"type": "circle", "radius": 2.0})
>>> circle.sample(5, seed=0).shape
(5, 2)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional, Union

from geokeras.manifolds.base import Manifold
from geokeras.manifolds.params import ManifoldParams
from geokeras.registry import MANIFOLDS

__all__ = ["Manifold", "make"]


def make(params: Union[ManifoldParams, Mapping[str, Any], str], *, embedding_seed: Optional[int] = None) -> Manifold:
    """Build the manifold described by ``params``.

    Args:
        params: a registered parameter model (``CircleParams(...)``, the ``manifold``
            section of a validated spec), a plain mapping such as
            ``{"type": "circle", "radius": 2}``, validated with the registered model, or a type
            name (``"circle"``, every key at its default).
        embedding_seed: seeds the random frame of the isometric embedding; see
            :class:`Manifold`. ``None`` derives it from the dimensions.

    Raises:
        SpecError: an invalid mapping (the path names the key, e.g. ``("radius",)``), an
            unknown type, or parameters the manifold rejects (e.g. ``ambient_dim`` below the
            manifold's own dimension). Several invalid keys raise :class:`SpecErrors`.
    """
    return MANIFOLDS.build(params, embedding_seed=embedding_seed)
