"""Rectified linear complexity of networks and manifolds (Lei et al. 2018, sections 2-4).

Public API (docs/complexity.md):

* :func:`lower`: a Keras ReLU model as a float64 chain of affine maps and activations;
* :func:`rlc_bounds`: bounds of an architecture's RLC N(N), exact integers, named by source;
* :func:`count_regions_on_polyline`: exact intervals, cells and pieces along a polyline;
* :func:`count_regions_on_mesh`, :func:`count_regions_in_box`: exact regions, cells and
  pieces on a triangle mesh / a 2-D box (:mod:`geokeras.complexity.mesh`);
* :func:`count_regions_in_box_tf`: the exact regions and cells on a 2-D box with batched
  TensorFlow ops, on a GPU when TensorFlow sees one (:mod:`geokeras.complexity.regions_tf`);
* :func:`count_regions_sampled`: distinct activation patterns among samples (a lower bound);
* :func:`manifold_rlc`, :func:`curve_rlc`: the RLC N(R^n, Σ) of a curve (exact) or a
  surface (bounds);
* :func:`line_separation_bound`: a proven lower bound on the regions of any encoder of a planar arc into R^1;
* :func:`encodable_certificate`: Theorem 4.12's necessary condition, as a verdict;
* :func:`certificate`: can any encoder of an architecture encode a manifold (decided for
  every weight: topological obstructions and the architecture's bounds);
* :func:`polyline_injectivity`, :func:`curve_injectivity`: is an encoder injective on a
  polyline / a curve, decided exactly (:mod:`geokeras.complexity.injectivity`);
* :func:`decide_surface_injectivity`: the same on a triangle mesh into R^2.

``geokeras validate`` imports :mod:`geokeras.complexity.params` and with it this package:
the modules imported here need numpy only (no TensorFlow, scipy or matplotlib, which they
import inside the functions that use them). The mesh module is imported on first use of
its names (PEP 562 ``__getattr__``).

The function :func:`manifold_rlc` shares its name with its module; the ``from ... import``
below runs after the module's import, so ``geokeras.complexity.manifold_rlc`` is the
function (import the module as ``importlib.import_module("geokeras.complexity.manifold_rlc")``
or ``from geokeras.complexity.manifold_rlc import curve_rlc``).
"""

from __future__ import annotations

from geokeras._lazy import lazy_attributes
from geokeras.complexity.bounds import rlc_bounds
from geokeras.complexity.certificate import architecture_certificate as certificate
from geokeras.complexity.certificate import encodable_certificate, topological_obstruction
from geokeras.complexity.lowering import (
    AffineLayer,
    LoweredNetwork,
    UnsupportedLayerError,
    lower,
)
from geokeras.complexity.manifold_rlc import curve_rlc, manifold_rlc
from geokeras.complexity.polyline import PolylineRegions, count_regions_on_polyline
from geokeras.complexity.sampled import SampledRegions, count_regions_sampled
from geokeras.complexity.separation import line_separation_bound

_LAZY = {
    "count_regions_on_mesh": "geokeras.complexity.mesh",
    "count_regions_in_box": "geokeras.complexity.mesh",
    "MeshRegions": "geokeras.complexity.mesh",
    "count_regions_in_box_tf": "geokeras.complexity.regions_tf",
    "BoxRegionsTF": "geokeras.complexity.regions_tf",
    "RegionBudgetExceeded": "geokeras.complexity.mesh",
    "CurveInjectivity": "geokeras.complexity.injectivity",
    "curve_injectivity": "geokeras.complexity.injectivity",
    "polyline_injectivity": "geokeras.complexity.injectivity",
    "SurfaceInjectivity": "geokeras.complexity.surface_injectivity",
    "decide_surface_injectivity": "geokeras.complexity.surface_injectivity",
}

__all__ = [
    "AffineLayer",
    "BoxRegionsTF",
    "CurveInjectivity",
    "RegionBudgetExceeded",
    "SurfaceInjectivity",
    "LoweredNetwork",
    "MeshRegions",
    "PolylineRegions",
    "SampledRegions",
    "UnsupportedLayerError",
    "count_regions_in_box",
    "count_regions_in_box_tf",
    "count_regions_on_mesh",
    "count_regions_on_polyline",
    "count_regions_sampled",
    "curve_injectivity",
    "curve_rlc",
    "decide_surface_injectivity",
    "certificate",
    "encodable_certificate",
    "line_separation_bound",
    "lower",
    "manifold_rlc",
    "polyline_injectivity",
    "rlc_bounds",
    "topological_obstruction",
]


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, __all__)
