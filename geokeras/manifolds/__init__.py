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

from geokeras.errors import SpecError
from geokeras.manifolds import params as _params  # registers the manifold types
from geokeras.manifolds.base import MANIFOLD_KEY, Manifold
from geokeras.manifolds.params import ManifoldParams
from geokeras.registry import MANIFOLDS

__all__ = ["Manifold", "make"]

del _params


def make(
    params: Union[ManifoldParams, Mapping[str, Any]], *, embedding_seed: Optional[int] = None
) -> Manifold:
    """Build the manifold described by ``params``.

    Args:
        params: a registered parameter model (``CircleParams(...)``, the ``manifold``
            section of a validated spec) or a plain mapping such as
            ``{"type": "circle", "radius": 2}``, validated with the registered model.
        embedding_seed: seeds the random frame of the isometric embedding; see
            :class:`Manifold`. ``None`` derives it from the dimensions.

    Raises:
        SpecError: an invalid mapping (the path names the key under ``manifold``), an
            unknown type, or parameters the manifold rejects (e.g. ``ambient_dim`` below the
            manifold's own dimension). Several invalid keys raise :class:`SpecErrors`.
    """
    if isinstance(params, Mapping):
        params = _validate_mapping(params)
    elif not isinstance(params, ManifoldParams):
        raise SpecError(
            f"expected a mapping with a `type` key or a manifold parameter model. "
            f"Received: {type(params).__name__}.",
            (MANIFOLD_KEY,),
        )
    if params.type not in MANIFOLDS:
        raise SpecError(MANIFOLDS.unknown_message(params.type), (MANIFOLD_KEY, "type"))
    return MANIFOLDS[params.type].load()(params, embedding_seed=embedding_seed)


def _validate_mapping(mapping: Mapping[str, Any]) -> ManifoldParams:
    if "type" not in mapping:
        raise SpecError(
            f"expected a `type` key naming one of: {', '.join(MANIFOLDS.names())}. "
            f"Received keys: {', '.join(map(str, mapping)) or '(none)'}.",
            (MANIFOLD_KEY, "type"),
        )
    name = mapping["type"]
    if not isinstance(name, str) or name not in MANIFOLDS:
        raise SpecError(MANIFOLDS.unknown_message(name), (MANIFOLD_KEY, "type"))
    # Imported here: geokeras.spec imports this package's parameter models.
    from geokeras.spec.validation import validate_model

    return validate_model(MANIFOLDS[name].params, dict(mapping), prefix=(MANIFOLD_KEY,))
