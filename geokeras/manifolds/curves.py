"""Curves: the circle and the Archimedean spiral of Lei, Luo, Yau, Gu (2018), section 4.

A :class:`Curve` is a one-dimensional manifold given by a parameterisation
gamma: I -> R^natural_dim of an interval I. Its ground truth is exact: the arc length
s(t) = int_{t_0}^{t} |gamma'(u)| du, the total length L, and the polyline through points at
equal arc-length spacing. Under ``measure: volume`` a sample is s ~ U(0, L) mapped back to
its parameter t = s^{-1}(s) (uniform with respect to arc length, the Riemannian measure);
under ``measure: parameter`` it is t ~ U(I).
"""

from __future__ import annotations

import abc
from typing import ClassVar

import numpy as np

from geokeras.manifolds.base import Manifold, check_count
from geokeras.manifolds.params import ArchimedeanSpiralParams, CircleParams

_EPS = np.finfo(np.float64).eps


class Curve(Manifold):
    """A curve gamma: I -> R^natural_dim, with exact arc length and polyline.

    Subclasses set ``closed`` and implement :attr:`parameter_interval`, :attr:`length`,
    :meth:`arc_length`, :meth:`parameter_at_arc_length` and :meth:`_embed_natural`.
    Parameters are sampled in [t_0, t_1) for a closed curve and in (t_0, t_1] for an open
    one (the paper's spiral is defined on (0, T]).
    """

    intrinsic_dim: ClassVar[int] = 1
    closed: ClassVar[bool] = False
    """Whether gamma(t_1) = gamma(t_0), i.e. the curve is a loop."""

    @property
    @abc.abstractmethod
    def parameter_interval(self) -> tuple[float, float]:
        """The parameter interval (t_0, t_1)."""

    @property
    @abc.abstractmethod
    def length(self) -> float:
        """The total arc length L = s(t_1) (ground truth)."""

    @abc.abstractmethod
    def speed(self, parameters: np.ndarray) -> np.ndarray:
        """|gamma'(t)| for t shape=[n] (or [n, 1]); returns shape=[n]."""

    @abc.abstractmethod
    def arc_length(self, parameters: np.ndarray) -> np.ndarray:
        """s(t), the arc length from t_0 to t, for t shape=[n] (or [n, 1]); returns shape=[n]."""

    @abc.abstractmethod
    def parameter_at_arc_length(self, arc_lengths: np.ndarray) -> np.ndarray:
        """The inverse s^{-1}: s shape=[n] in [0, L] -> t shape=[n]."""

    def _sample_parameters(self, n: int, rng: np.random.Generator) -> np.ndarray:
        uniform = rng.random(n)  # in [0, 1)
        fractions = uniform if self.closed else 1.0 - uniform
        if self.params.measure == "volume":
            return self.parameter_at_arc_length(fractions * self.length)
        start, end = self.parameter_interval
        return start + fractions * (end - start)

    def polyline(self, resolution: int) -> tuple[np.ndarray, bool]:
        """The exact curve as a polyline through points at equal arc-length spacing.

        Vertices are gamma(s^{-1}(k L / resolution)), embedded like the samples and without
        noise. The chord between neighbouring vertices deviates from the curve by at most
        kappa_max h^2 / 8 + O(h^3) (h = L / resolution, kappa the curvature): the polyline
        converges as O(1 / resolution^2).

        Args:
            resolution: number of segments (>= 3 for a closed curve, >= 1 for an open one).

        Returns:
            ``(vertices, closed)``: vertices shape=[resolution, ambient_dim] for a closed
            curve (the last vertex joins the first) and shape=[resolution + 1, ambient_dim]
            for an open one; ``closed`` says which.
        """
        resolution = check_count("resolution", resolution, minimum=3 if self.closed else 1)
        count = resolution if self.closed else resolution + 1
        arc_lengths = np.arange(count, dtype=np.float64) * (self.length / resolution)
        return self.points_at(self.parameter_at_arc_length(arc_lengths)[:, None]), self.closed

    @staticmethod
    def _flat(parameters: np.ndarray) -> np.ndarray:
        parameters = np.asarray(parameters, dtype=np.float64)
        if parameters.ndim == 2 and parameters.shape[1] == 1:
            return parameters[:, 0]
        if parameters.ndim != 1:
            raise ValueError(
                f"Expected curve parameters of shape [n] or [n, 1]. "
                f"Received: shape={list(parameters.shape)}."
            )
        return parameters


class Circle(Curve):
    """The circle of radius r in R^2: gamma(t) = r (cos t, sin t), t in [0, 2 pi).

    The speed |gamma'(t)| = r is constant, so ``measure: volume`` and ``measure: parameter``
    coincide (t uniform) and s(t) = r t, L = 2 pi r. Parameters returned: t.
    """

    params_type = CircleParams
    natural_dim = 2
    closed = True
    parameter_names = ("t",)

    @property
    def radius(self) -> float:
        return float(self.params.radius)

    @property
    def parameter_interval(self) -> tuple[float, float]:
        return 0.0, 2.0 * np.pi

    @property
    def length(self) -> float:
        return 2.0 * np.pi * self.radius

    def speed(self, parameters: np.ndarray) -> np.ndarray:
        return np.full_like(self._flat(parameters), self.radius)

    def arc_length(self, parameters: np.ndarray) -> np.ndarray:
        return self.radius * self._flat(parameters)

    def parameter_at_arc_length(self, arc_lengths: np.ndarray) -> np.ndarray:
        return self._flat(arc_lengths) / self.radius

    def _embed_natural(self, parameters: np.ndarray) -> np.ndarray:
        t = self._flat(parameters)
        return self.radius * np.stack([np.cos(t), np.sin(t)], axis=1)


class ArchimedeanSpiral(Curve):
    """The spiral rho(theta) = (a + b theta) e^{i w theta}, theta in (0, T], T = 2 pi turns.

    The motivating example of Lei, Luo, Yau, Gu, *Geometric Understanding of Deep Learning*
    (arXiv:1805.10451), section 4: a fixed autoencoder learns it for small T and fails past
    some T. In R^2, rho(theta) = r (cos w theta, sin w theta) with r = a + b theta.

    Arc length. The speed is |rho'(theta)| = sqrt(b^2 + w^2 r^2) (the radial part b and the
    tangential part w r are orthogonal). Substituting r = a + b theta, dr = b dtheta,
    and using int sqrt(c^2 + x^2) dx = (x sqrt(c^2 + x^2) + c^2 asinh(x / c)) / 2 with x = w r:

        s(theta) = F(a + b theta) - F(a),
        F(r) = [w r sqrt(b^2 + w^2 r^2) + b^2 asinh(w r / b)] / (2 b w).

    ``parameter_at_arc_length`` inverts s by Newton's method, vectorised over samples, in
    float64 (:meth:`arc_length` avoids the cancellation between the two F terms).
    s is increasing (s' > 0) and convex (s'' = w^2 b r / s' >= 0), so Newton
    started at theta = T decreases monotonically to the root (the tangent of a convex
    function lies below it); a bisection safeguard on the bracket [0, T] is kept anyway.

    Parameters returned: theta. Implicit equation (for tests and diagnostics): a point x of
    the natural plane lies on the spiral iff |x| = a + b theta with theta = (|x| - a) / b in
    [0, T] and atan2(x_2, x_1) = w theta (mod 2 pi).
    """

    params_type = ArchimedeanSpiralParams
    natural_dim = 2
    closed = False
    parameter_names = ("theta",)

    _MAX_NEWTON_STEPS = 200

    @property
    def parameter_interval(self) -> tuple[float, float]:
        return 0.0, float(self.params.theta_max)

    @property
    def length(self) -> float:
        return float(self.arc_length(np.array([self.params.theta_max]))[0])

    def speed(self, parameters: np.ndarray) -> np.ndarray:
        """|rho'(theta)| = sqrt(b^2 + w^2 (a + b theta)^2), shape=[n]."""
        p = self.params
        radius = p.a + p.b * self._flat(parameters)
        return np.hypot(p.b, p.w * radius)

    def arc_length(self, parameters: np.ndarray) -> np.ndarray:
        """s(theta) = F(a + b theta) - F(a), evaluated without cancellation.

        F(r) - F(a) subtracts two large numbers when b << w a (F ~ w r^2 / 2b); both of its
        differences are rewritten as products: with S(r) = sqrt(b^2 + w^2 r^2),
        r S(r) - a S(a) = (r - a)(r + a)(b^2 + w^2 (r^2 + a^2)) / (r S(r) + a S(a)) and
        asinh X - asinh Y = asinh((X^2 - Y^2) / (X sqrt(1 + Y^2) + Y sqrt(1 + X^2))) for
        X, Y >= 0, where r - a = b theta exactly. The relative error is a few ulp.
        """
        p = self.params
        theta = self._flat(parameters)
        a, b, w = float(p.a), float(p.b), float(p.w)
        r = a + b * theta
        s_r, s_a = np.hypot(b, w * r), np.hypot(b, w * a)
        with np.errstate(invalid="ignore", divide="ignore"):
            denominator = r * s_r + a * s_a
            product_term = np.where(
                denominator > 0.0,
                theta * (r + a) * (b * b + w * w * (r * r + a * a)) / (2.0 * denominator),
                0.0,
            )
            big_x, big_y = w * r / b, w * a / b
            asinh_denominator = big_x * np.hypot(1.0, big_y) + big_y * np.hypot(1.0, big_x)
            asinh_argument = np.where(
                asinh_denominator > 0.0,
                (w * w / b) * theta * (r + a) / asinh_denominator,
                0.0,
            )
        return product_term + b / (2.0 * w) * np.arcsinh(asinh_argument)

    def arc_length_closed_form(self, parameters: np.ndarray) -> np.ndarray:
        """The textbook form F(a + b theta) - F(a); loses digits when b << w a (for tests)."""
        p = self.params
        theta = self._flat(parameters)

        def antiderivative(r: np.ndarray) -> np.ndarray:
            wr = p.w * r
            return (wr * np.hypot(p.b, wr) + p.b**2 * np.arcsinh(wr / p.b)) / (2.0 * p.b * p.w)

        return antiderivative(p.a + p.b * theta) - antiderivative(np.asarray(float(p.a)))

    def parameter_at_arc_length(self, arc_lengths: np.ndarray) -> np.ndarray:
        targets = self._flat(arc_lengths)
        theta_max = float(self.params.theta_max)
        total = self.length
        if targets.size and (
            np.any(targets < -8 * _EPS * total) or np.any(targets > total * (1 + 8 * _EPS))
        ):
            raise ValueError(
                f"Expected arc lengths in [0, L] = [0, {total!r}]. Received values in "
                f"[{targets.min()!r}, {targets.max()!r}]."
            )
        targets = np.clip(targets, 0.0, total)
        low = np.zeros_like(targets)
        high = np.full_like(targets, theta_max)
        theta = high.copy()
        for _ in range(self._MAX_NEWTON_STEPS):
            residual = self.arc_length(theta) - targets
            above = residual > 0.0
            high = np.where(above, theta, high)
            low = np.where(above, low, theta)
            # Rounding can push a Newton step for a root near 0 just below 0: clip to the
            # domain (s(0) = 0 exactly) rather than bisect 50 times towards 0.
            proposal = np.clip(theta - residual / self.speed(theta), 0.0, theta_max)
            outside = (proposal < low) | (proposal > high)
            proposal = np.where(outside, 0.5 * (low + high), proposal)
            # s has a relative error of a few ulp, hence relative tolerances; the absolute
            # floors (eps^2 of the scale) stop the iteration for targets at or near 0.
            converged = (np.abs(residual) <= 4.0 * _EPS * targets + _EPS**2 * total) | (
                np.abs(proposal - theta) <= 4.0 * _EPS * theta + _EPS**2 * theta_max
            )
            theta = np.where(converged, theta, proposal)
            if converged.all():
                break
        return theta

    def _embed_natural(self, parameters: np.ndarray) -> np.ndarray:
        p = self.params
        theta = self._flat(parameters)
        radius = p.a + p.b * theta
        angle = p.w * theta
        return np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
