"""Non-uniform probability densities on manifolds, sampled by rejection from the volume measure.

``measure: volume`` and ``measure: parameter`` are drawn by each manifold itself. A density
``measure: {type: ..., ...}`` (registered in :data:`geokeras.registry.DENSITIES`) is a
function f >= 0 on the manifold, the probability being f dvol / int f dvol, and every
manifold gets it for free by rejection sampling (von Neumann 1951): draw x from the
manifold's volume measure, accept it with probability f(x) / f_max (f_max >= sup f), repeat
in seeded batches until n are accepted. The accepted points are i.i.d. with density
f / int f dvol w.r.t. the volume measure; a density that does not apply to the manifold is
a :class:`~geokeras.errors.SpecError` at ``measure`` when the manifold is built.

Densities:

``von_mises_fisher`` {mean_direction mu, concentration kappa} (a round sphere: ``sphere``, ``circle``)
    f(x) = exp(kappa <mu, x / |x|>) on S^m ⊂ R^{m+1}, w.r.t. the area measure; log f_max =
    kappa (Mardia and Jupp, *Directional Statistics*, 2000, section 9.3). On a circle (S^1)
    it is the von Mises distribution of the angle, mean E<mu, x / r> = I_1(kappa) / I_0(kappa);
    on S^2, E<mu, x / r> = coth(kappa) - 1 / kappa. On S^2 the height t = <mu, x> has
    density kappa e^{kappa t} / (2 sinh kappa) on [-1, 1] (Archimedes: t is uniform under
    the area measure), CDF
    (e^{kappa (t + 1)} - 1) / (e^{2 kappa} - 1); the acceptance rate is
    (1 - e^{-2 kappa}) / (2 kappa) (about 1 / (2 kappa) for large kappa).

``bump_mixture`` {centers c_k, widths sigma_k, weights w_k, floor, position} (curves)
    f(s) = floor + sum_k w_k exp(-(s - c_k)^2 / (2 sigma_k^2)), s in [0, 1] the position of
    a point along the curve: the arc-length fraction s(t) / L (``position: arc_length``, the
    default; f is then a density w.r.t. arc length) or the normalised parameter
    (t - t_0) / (t_1 - t_0) (``position: parameter``; f is still taken w.r.t. arc length:
    the proposals come from the volume measure). f_max is the maximum on a grid of 4097
    points and the centres plus h^2 / 8 sum_k w_k / sigma_k^2 (h the grid step; |f''| <=
    sum_k w_k / sigma_k^2, and a function with |f''| <= M exceeds its values at the ends of
    an interval of length h by at most M h^2 / 8), capped by floor + sum_k w_k: a certified
    upper bound, within about 1e-7 sum_k w_k / sigma_k^2 of the supremum.
"""

from __future__ import annotations

import abc
import math
from typing import TYPE_CHECKING, Any, Callable, Optional

import numpy as np

from geokeras.errors import SpecError
from geokeras.manifolds.capabilities import ExactCurve, RoundSphere, types_with

if TYPE_CHECKING:  # pragma: no cover
    from geokeras.manifolds.base import Manifold

MEASURE_PATH = ("measure",)


class Density(abc.ABC):
    """An unnormalised density f w.r.t. the volume measure of one manifold.

    Args:
        params: the density's parameter model (the ``measure:`` mapping).
        manifold: the manifold it lives on; the constructor checks that it applies.

    Raises:
        SpecError: at ``measure`` (or one of its keys) when it does not apply.
    """

    def __init__(self, params: Any, manifold: "Manifold"):
        self.params = params
        self.manifold = manifold

    @property
    @abc.abstractmethod
    def log_bound(self) -> float:
        """log f_max, with f_max >= f everywhere on the manifold."""

    @abc.abstractmethod
    def log_density(self, natural: np.ndarray, parameters: np.ndarray) -> np.ndarray:
        """log f at points shape=[n, natural_dim] with parameters shape=[n, p]; shape=[n]."""

    def _not_applicable(self, why: str) -> SpecError:
        return SpecError(
            f"the {self.params.type} density does not apply to manifold type {self.manifold.params.type!r}: {why}",
            MEASURE_PATH,
        )


class VonMisesFisherDensity(Density):
    """f(x) = exp(kappa <mu, x / |x|>) on a sphere, w.r.t. area (module docstring)."""

    def __init__(self, params: Any, manifold: "Manifold"):
        super().__init__(params, manifold)
        if not isinstance(manifold, RoundSphere):
            raise self._not_applicable(
                "it is a density on a sphere S^m centred at the origin (expected type: "
                f"{' or '.join(types_with(RoundSphere))}). "
                "Use bump_mixture for a density along a curve."
            )
        direction = np.asarray(params.mean_direction, dtype=np.float64)
        if direction.shape != (manifold.natural_dim,):
            raise SpecError(
                f"expected a mean direction with {manifold.natural_dim} entries (the sphere "
                f"lives in R^{manifold.natural_dim}). Received: {list(params.mean_direction)} "
                f"({direction.size} entries).",
                (*MEASURE_PATH, "mean_direction"),
            )
        self.mean_direction = direction / np.linalg.norm(direction)
        self.concentration = float(params.concentration)

    @property
    def log_bound(self) -> float:
        return self.concentration

    def log_density(self, natural: np.ndarray, parameters: np.ndarray) -> np.ndarray:
        norms = np.linalg.norm(natural, axis=1)
        return self.concentration * (natural @ self.mean_direction) / norms


class BumpMixtureDensity(Density):
    """f(s) = floor + sum_k w_k exp(-(s - c_k)^2 / (2 sigma_k^2)) along a curve (module docstring)."""

    _GRID_POINTS = 4097

    def __init__(self, params: Any, manifold: "Manifold"):
        super().__init__(params, manifold)
        if manifold.intrinsic_dim != 1:
            raise self._not_applicable(
                f"it is a density along a curve (intrinsic dimension 1), with a position in "
                f"[0, 1] along it. Received a manifold of intrinsic dimension "
                f"{manifold.intrinsic_dim}."
            )
        self.position_kind = str(params.position)
        if self.position_kind == "arc_length" and not isinstance(manifold, ExactCurve):
            raise SpecError(
                f"position: arc_length needs a curve with an exact arc length; manifold type "
                f"{manifold.params.type!r} has none. Expected position: parameter.",
                (*MEASURE_PATH, "position"),
            )
        if self.position_kind == "parameter" and not isinstance(manifold, ExactCurve):
            raise SpecError(
                f"position: parameter needs a curve with a parameter interval; manifold type "
                f"{manifold.params.type!r} has none.",
                (*MEASURE_PATH, "position"),
            )
        self.centers = np.asarray(params.centers, dtype=np.float64)
        self.widths = np.asarray(params.widths, dtype=np.float64)
        self.weights = np.asarray(params.bump_weights, dtype=np.float64)
        self.floor = float(params.floor)
        self._log_bound: Optional[float] = None

    def mixture(self, positions: np.ndarray) -> np.ndarray:
        """f(s) for s shape=[n]; returns shape=[n] (no normalisation)."""
        s = np.asarray(positions, dtype=np.float64)
        z = (s[:, None] - self.centers[None, :]) / self.widths[None, :]
        return self.floor + np.exp(-0.5 * z * z) @ self.weights

    def positions(self, parameters: np.ndarray) -> np.ndarray:
        """s in [0, 1] of curve parameters shape=[n, 1]; returns shape=[n]."""
        manifold: Any = self.manifold
        if self.position_kind == "arc_length":
            s = np.asarray(manifold.arc_length(parameters), dtype=np.float64).reshape(-1) / float(manifold.length)
        else:
            start, end = manifold.parameter_interval
            s = (np.asarray(parameters, dtype=np.float64).reshape(-1) - start) / (end - start)
        return np.clip(s, 0.0, 1.0)

    @property
    def log_bound(self) -> float:
        if self._log_bound is None:
            grid = np.concatenate([np.linspace(0.0, 1.0, self._GRID_POINTS), np.clip(self.centers, 0.0, 1.0)])
            step = 1.0 / (self._GRID_POINTS - 1)
            curvature = float(np.sum(self.weights / self.widths**2))
            bound = min(
                float(self.mixture(grid).max()) + curvature * step * step / 8.0,
                self.floor + float(self.weights.sum()),
            )
            self._log_bound = math.log(bound)
        return self._log_bound

    def log_density(self, natural: np.ndarray, parameters: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(self.mixture(self.positions(parameters)))

    def cdf(self, positions: np.ndarray, grid_points: int = 200_001) -> np.ndarray:
        """The CDF of s under this density w.r.t. uniform s (arc length), by the trapezoid rule.

        Args:
            positions: shape=[n] in [0, 1].
            grid_points: the quadrature grid on [0, 1].

        Returns:
            F(s) = int_0^s f / int_0^1 f, shape=[n].
        """
        grid = np.linspace(0.0, 1.0, grid_points)
        values = self.mixture(grid)
        cumulative = np.concatenate([[0.0], np.cumsum(0.5 * (values[1:] + values[:-1]) * np.diff(grid))])
        return np.interp(np.asarray(positions, dtype=np.float64), grid, cumulative / cumulative[-1])


def make_density(params: Any, manifold: "Manifold") -> Density:
    """The density that ``params`` (a registered density model) names, on ``manifold``."""
    from geokeras.registry import DENSITIES

    return DENSITIES[params.type].load()(params, manifold)


Proposal = Callable[[int, np.random.Generator], tuple[np.ndarray, np.ndarray]]
"""(count, rng) -> (parameters shape=[count, p], natural points shape=[count, k])."""


def rejection_sample(
    propose: Proposal,
    density: Density,
    n: int,
    rng: np.random.Generator,
    *,
    max_batch: int = 1 << 20,
    max_proposals: Optional[int] = None,
) -> tuple[np.ndarray, np.ndarray]:
    """n draws from density * (proposal measure), by batched rejection sampling.

    Each batch proposes ``m`` points (m = the remaining count divided by the acceptance rate
    measured so far, times 1.2, plus 64; at most ``max_batch``), draws u ~ U(0, 1] for each
    and keeps those with log u < log f(x) - log f_max, in proposal order. Deterministic for a
    given ``rng`` state.

    Returns:
        (parameters shape=[n, p], natural points shape=[n, k]).

    Raises:
        SpecError: at ``measure`` when more than ``max_proposals`` (default
            1000 n + 10^6) proposals were needed: the density is too concentrated to sample
            this way (the message gives the measured acceptance rate).
    """
    limit = 1000 * n + 1_000_000 if max_proposals is None else max_proposals
    log_bound = density.log_bound
    kept_parameters: list[np.ndarray] = []
    kept_points: list[np.ndarray] = []
    accepted = proposed = 0
    while accepted < n:
        rate = accepted / proposed if accepted > 0 else 0.5
        batch = int(min(max_batch, math.ceil(1.2 * (n - accepted) / max(rate, 1e-6)) + 64))
        if proposed + batch > limit:
            raise SpecError(
                f"the {density.params.type} density is too concentrated to sample by rejection: "
                f"{accepted} of {n} samples accepted after {proposed} proposals (acceptance rate "
                f"{accepted / max(proposed, 1):.2e}). Expected a flatter density (e.g. a smaller "
                f"concentration, wider bumps or a positive floor).",
                MEASURE_PATH,
            )
        parameters, natural = propose(batch, rng)
        log_u = np.log1p(-rng.random(batch))  # log of 1 - u, u ~ U[0, 1): finite, same law
        keep = log_u < density.log_density(natural, parameters) - log_bound
        kept_parameters.append(parameters[keep])
        kept_points.append(natural[keep])
        accepted += int(keep.sum())
        proposed += batch
    return np.concatenate(kept_parameters)[:n], np.concatenate(kept_points)[:n]
