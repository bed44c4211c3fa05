"""``solve``: semi-discrete optimal transport from a source measure onto weighted targets.

Problem (Gu, Luo, Sun, Yau 2016 variational principle; Lei et al. 2018 section 5, AE-OT): find
heights h in R^N such that the power cells W_i(h) = {x : <x, y_i> + h_i >= <x, y_j> + h_j}
have source mass w_i(h) = mu(W_i(h)) = nu_i for every target y_i. h minimises the convex energy
E(h) = int u_h dmu - sum_i nu_i h_i with u_h(x) = max_i <x, y_i> + h_i, grad E = w(h) - nu; it
is unique up to a constant, and every solver returns it with mean 0. The OT map is
T(x) = grad u_h(x) = y_{cell(x)}, cell(x) = argmax_i <x, y_i> + h_i
(:class:`geokeras.ot.layer.SemiDiscreteOT`).

This module imports neither TensorFlow nor numpy at import time (``geokeras.ot`` re-exports
:func:`solve` and the spec's parameter models import the package).

Degenerate targets are handled before a solver runs (:mod:`geokeras.ot.degenerate`): exactly
equal targets are merged into one with the summed weight (the same target measure; the result
keeps the original-to-merged index map), and targets that are all one point are refused.

Quality (:func:`mass_errors`), measured on source samples independent of the solve; the cell
masses w and the weights nu are both normalised to probability vectors first:
* total variation TV = 1/2 sum_i |w_i - nu_i| (in [0, 1], independent of N);
* max relative mass error max_i |w_i - nu_i| / nu_i, relative to the target weight;
* empty cells: targets no sample reached.

A solve that stops before its stopping rule holds (step or time limit, a failed damping) returns
``converged: False`` with a ``warning`` saying why; the run puts both in metrics.json and report.md.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional, Union

from geokeras.errors import located_under
from geokeras.ot.params import OTSolverParams
from geokeras.registry import OT_SOLVERS

if TYPE_CHECKING:  # annotations only: numpy is imported where it is used
    import numpy as np

__all__ = ["OTResult", "make_solver_params", "mass_errors", "normalised_weights", "solve"]

DEFAULT_SOLVER = "monte_carlo_adam"
"""The solver of a mapping without ``type`` and of ``None``."""


@dataclass
class OTResult:
    """What every solver returns.

    Attributes:
        heights: shape=[K], float64, mean 0; cell(x) = argmax_i <x, y_i> + h_i.
        targets: shape=[K, d], float32, the distinct targets (K = N - targets_merged);
            weights: shape=[K], float64 (sum 1), the summed weights of equal targets.
        source: the :class:`geokeras.ot.sources.Source`.
        solver: the solver's name.
        max_rel_mass_error, tv, empty_cells: quality at the returned heights (exact cell areas
            for ``newton``; on the solver's independent evaluation sample for Monte-Carlo).
        tv_bound: 1/2 sqrt(chi^2(w || nu)), the noise-debiased upper bound on TV that the
            Monte-Carlo stopping rule uses (None for exact solvers).
        evaluation_samples: source samples behind the quality numbers (0: exact).
        steps: optimisation steps taken; samples: source samples consumed by the steps.
        seconds: wall time of the solve; converged: whether the stopping rule was met.
        history: per-step lists (``step``, ``samples``, ``learning_rate``, the step's gradient
            measures) and per-check lists (keys starting with ``check_``).
        warning: why the solve is not to be trusted (set whenever ``converged`` is False).
        target_index: shape=[N], int64: the given target i is ``targets[target_index[i]]``
            (None: the identity, no targets merged).
    """

    heights: "np.ndarray"
    targets: "np.ndarray"
    weights: "np.ndarray"
    source: Any
    solver: str
    max_rel_mass_error: float
    tv: float
    empty_cells: int
    steps: int
    samples: int
    seconds: float
    converged: bool
    tv_bound: Optional[float] = None
    evaluation_samples: int = 0
    history: dict = field(default_factory=dict)
    warning: Optional[str] = None
    target_index: Optional["np.ndarray"] = None
    _layer: Any = field(default=None, repr=False)

    @property
    def targets_merged(self) -> int:
        """Given targets merged into an equal earlier one (0 when all were distinct)."""
        return 0 if self.target_index is None else int(self.target_index.shape[0] - self.targets.shape[0])

    @property
    def layer(self) -> Any:
        """The :class:`~geokeras.ot.layer.SemiDiscreteOT` layer of the solution (built once)."""
        if self._layer is None:
            from geokeras.ot.layer import SemiDiscreteOT

            self._layer = SemiDiscreteOT(self.targets, heights=self.heights, target_weights=self.weights)
        return self._layer

    def to_metrics(self) -> dict[str, Any]:
        """The JSON-friendly metrics.json section ``ot``."""
        metrics = {
            "solver": self.solver,
            "targets": int(self.targets.shape[0]) + self.targets_merged,
            "targets_merged": self.targets_merged,
            "dim": int(self.targets.shape[1]),
            "max_rel_mass_error": float(self.max_rel_mass_error),
            "tv": float(self.tv),
            "tv_bound": None if self.tv_bound is None else float(self.tv_bound),
            "empty_cells": int(self.empty_cells),
            "evaluation_samples": int(self.evaluation_samples),
            "steps": int(self.steps),
            "samples": int(self.samples),
            "seconds": float(self.seconds),
            "converged": bool(self.converged),
        }
        warning = self.warning
        if warning is None and not self.converged:
            warning = f"the {self.solver} solver stopped before its stopping rule held: the OT map is approximate."
        if warning is not None:
            metrics["warning"] = warning
        json.dumps(metrics, allow_nan=False)
        return metrics


def normalised_weights(weights: Any, count: int) -> np.ndarray:
    """Target weights nu as float64 summing to 1 (uniform 1/N when ``weights`` is None).

    Raises:
        ValueError: wrong shape, or a weight that is not finite and positive.
    """
    import numpy as np

    if weights is None:
        return np.full(count, 1.0 / count)
    nu = np.asarray(weights, dtype=np.float64)
    if nu.shape != (count,):
        raise ValueError(f"Expected one weight per target, shape [{count}]. Received: weights.shape={nu.shape}.")
    if not np.all(np.isfinite(nu)) or np.any(nu <= 0):
        bad = nu[~(np.isfinite(nu) & (nu > 0))][:3]
        raise ValueError(
            "Expected finite positive target weights (drop targets of weight 0). Received: weights "
            f"containing {bad.tolist()}."
        )
    return nu / nu.sum()


def mass_errors(masses: Any, weights: Any) -> tuple[float, float]:
    """``(tv, max_rel_mass_error)`` of cell masses w against target weights nu.

    Both are normalised to probability vectors first, so TV = 1/2 sum_i |w_i - nu_i| lies in
    [0, 1] whatever the masses sum to (cells that overlap or miss part of the domain cannot
    push it out), and max_i |w_i - nu_i| / nu_i is relative to each target's own weight
    (at most max(1, 1 / min_i nu_i - 1)). Masses that are all zero give (1, 1): no cell has mass.
    """
    import numpy as np

    w = np.clip(np.asarray(masses, np.float64), 0.0, None)
    nu = np.asarray(weights, np.float64)
    nu = nu / nu.sum()
    total = float(w.sum())
    if not total > 0.0:
        return 1.0, 1.0
    w = w / total
    errors = np.abs(w - nu)
    return min(0.5 * float(errors.sum()), 1.0), float(np.max(errors / nu))


def checked_targets(targets: Any) -> np.ndarray:
    """Targets as float32, shape [N, d], finite (raises ValueError naming what was received)."""
    import numpy as np

    array = np.asarray(targets, dtype=np.float32)
    if array.ndim != 2 or array.shape[0] < 1 or array.shape[1] < 1:
        raise ValueError(f"Expected targets of shape [N, d] with N, d >= 1. Received: targets.shape={array.shape}.")
    if not np.all(np.isfinite(array)):
        raise ValueError("Expected finite targets. Received: targets containing NaN or infinity.")
    return array


def make_solver_params(solver: Union[str, Mapping[str, Any], OTSolverParams, None], **options: Any) -> OTSolverParams:
    """The solver parameter model from a name, a spec mapping or a model, with ``options`` applied.

    ``None`` and a mapping without ``type`` mean ``monte_carlo_adam``.

    Raises:
        SpecError: unknown solver or keys (key paths relative to the solver's keys, e.g. ``("tol",)``).
    """
    params = OT_SOLVERS.resolve(solver, default=DEFAULT_SOLVER)
    if not options:
        return params
    return OT_SOLVERS.resolve({**params.model_dump(), **options})


def solve(
    targets: Any,
    weights: Any = None,
    source: Any = "uniform_cube",
    solver: Any = "monte_carlo_adam",
    seed: int = 0,
    *,
    checkpoint_dir: Any = None,
    strategy: Any = None,
    **options: Any,
) -> OTResult:
    """Semi-discrete OT from ``source`` onto the targets y_i with weights nu_i.

    Args:
        targets: shape=[N, d], the latent codes y_i.
        weights: shape=[N] positive weights nu_i (normalised to sum 1); None: uniform 1/N.
        source: the source measure mu: a name (``"uniform_cube"``), a mapping as in a spec
            (``{"type": "uniform_cube", "low": 0, "high": 1}``), a source parameter model or a
            :class:`~geokeras.ot.sources.Source`.
        solver: a name (``"monte_carlo_adam"``, ``"newton"``), a mapping or a parameter model.
        seed: seeds every random draw of the solve (the same seed gives the same heights).
        checkpoint_dir: Monte-Carlo only: a folder for ``tf.train.Checkpoint`` files; a solve of
            the same problem found there is resumed.
        strategy: Monte-Carlo only: a ``tf.distribute`` strategy whose devices share the targets
            (default: the strategy in scope).
        **options: solver keys overriding ``solver``'s (``tol=0.01``, ``max_steps=500``, ...).

    Returns:
        :class:`OTResult` (``.heights``, ``.layer``, ``.tv``, ``.max_rel_mass_error``, ...). Equal
        targets are merged first (module docstring): the result's targets are the distinct ones
        and ``.target_index`` maps each given target to its merged one.

    Raises:
        SpecError: unknown source or solver names or keys, at the solver's keys (``tol``) or under
            ``source`` (``source.low``); ValueError: bad targets or weights;
        GeokerasInputError: two or more targets, all the same point.

    Example::

        result = geokeras.ot.solve(codes, source={"type": "uniform_cube", "low": 0, "high": 1})
        images = result.layer(x)
    """
    import numpy as np

    from geokeras.ot.degenerate import merge_duplicate_targets
    from geokeras.ot.sources import Source, make_source

    targets = checked_targets(targets)
    nu = normalised_weights(weights, targets.shape[0])
    if not isinstance(source, Source):
        with located_under("source"):
            source = make_source(source, targets.shape[1])
    elif source.dim != targets.shape[1]:
        raise ValueError(
            f"Expected a source of the targets' dimension {targets.shape[1]}. Received: source.dim={source.dim}."
        )
    params = make_solver_params(solver, **options)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"Expected a non-negative integer seed. Received: seed={seed!r}.")
    merged = merge_duplicate_targets(targets, nu)
    implementation = OT_SOLVERS[params.type].load()
    kwargs = {
        key: value for key, value in (("checkpoint_dir", checkpoint_dir), ("strategy", strategy)) if value is not None
    }
    result = implementation(merged.targets, merged.weights, source, params, int(seed), **kwargs)
    if merged.merged:
        result.target_index = merged.index
    return result


def initial_heights(targets: np.ndarray, source: Any, init: str) -> np.ndarray:
    """Starting heights (float64, mean 0).

    ``voronoi``: h_i = (<c, y_i> - |y_i|^2 / 2) / s, so that cell(x) is the Voronoi cell of
    s x + c, the affine map sending the source's mean and spread to the targets' (s: the ratio
    of root-mean-square distances to the mean; every cell with a target inside the mapped
    support starts non-empty). ``zeros``: h = 0.
    """
    import numpy as np

    y = targets.astype(np.float64)
    if init == "zeros":
        return np.zeros(y.shape[0])
    centre = y.mean(axis=0)
    spread = math.sqrt(float(np.mean(np.sum((y - centre) ** 2, axis=1))))
    source_spread = source.coordinate_std() * math.sqrt(source.dim)
    scale = spread / source_spread if spread > 0 else 1.0
    shift = centre - scale * source.mean()
    h = (y @ shift - 0.5 * np.sum(y * y, axis=1)) / scale
    return h - h.mean()
