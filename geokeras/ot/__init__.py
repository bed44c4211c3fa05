"""TF-native semi-discrete optimal transport (Lei et al. 2018 section 5; AE-OT, ICLR 2020).

Public API (imported lazily, so ``geokeras.ot.params`` -- the spec's parameter models -- never
imports TensorFlow)::

    from geokeras.ot import solve, SemiDiscreteOT
    result = solve(codes, source={"type": "uniform_cube"}, solver="monte_carlo_adam", tol=0.02)
    result.heights            # cell(x) = argmax_i <x, y_i> + h_i
    result.layer(x)           # the OT map x -> y_cell(x), a Keras layer
    result.to_metrics()       # metrics.json section ``ot``

Modules: ``sources`` (source measures), ``quasi_random`` (scrambled Sobol points in TF graphs),
``assignment`` (tiled power-cell assignment, top-k, cell masses), ``layer`` (SemiDiscreteOT),
``solve`` (solve, OTResult), ``monte_carlo_adam`` and ``newton`` (the solvers).
"""

from __future__ import annotations

from geokeras._lazy import lazy_attributes

__all__ = ["OTResult", "SemiDiscreteOT", "assign_cells", "cell_masses", "make_source", "solve", "top_k_cells"]

# Imported eagerly (TF- and numpy-free at import): the function ``solve`` must shadow the
# submodule of the same name on the package.
from geokeras.ot.solve import OTResult, solve  # noqa: E402

_LAZY = {
    "SemiDiscreteOT": "geokeras.ot.layer",
    "make_source": "geokeras.ot.sources",
    "assign_cells": "geokeras.ot.assignment",
    "cell_masses": "geokeras.ot.assignment",
    "top_k_cells": "geokeras.ot.assignment",
}


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, __all__)
