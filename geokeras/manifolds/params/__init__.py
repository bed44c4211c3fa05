"""Parameters of the ``manifold:`` spec section (no TensorFlow, no heavy imports).

Every manifold type shares the keys of :class:`ManifoldParams` (``samples``, ``measure``,
``noise``, ``embed``; see ``common.py``) and adds its own shape parameters, registered in
:data:`geokeras.registry.MANIFOLDS` by the family modules imported below. A new family adds
its module here, before ``ManifoldSpec`` is formed.
"""

from geokeras.manifolds.params import common, curves, fractal_curves, images, meshes, mixtures, own_data, surfaces
from geokeras.manifolds.params.common import *  # noqa: F401,F403
from geokeras.manifolds.params.curves import *  # noqa: F401,F403
from geokeras.manifolds.params.fractal_curves import *  # noqa: F401,F403
from geokeras.manifolds.params.images import *  # noqa: F401,F403
from geokeras.manifolds.params.meshes import *  # noqa: F401,F403
from geokeras.manifolds.params.mixtures import *  # noqa: F401,F403
from geokeras.manifolds.params.own_data import *  # noqa: F401,F403
from geokeras.manifolds.params.surfaces import *  # noqa: F401,F403
from geokeras.registry import MANIFOLDS, union_of

ManifoldSpec = union_of(MANIFOLDS)
"""Any registered manifold type, chosen by its ``type`` key."""

# product_with_interval's `base` is itself any manifold type: resolve that forward reference.
surfaces.ProductWithIntervalParams.model_rebuild(_types_namespace={"ManifoldSpec": ManifoldSpec})

__all__ = [
    "ManifoldSpec",
    *common.__all__,
    *curves.__all__,
    *fractal_curves.__all__,
    *surfaces.__all__,
    *meshes.__all__,
    *images.__all__,
    *mixtures.__all__,
    *own_data.__all__,
]
