"""Analytic curves with exact ground truth: circle, ellipse, Archimedean spiral, helix, torus knots.

A :class:`Curve` is a one-dimensional manifold given by a parameterisation
gamma: I -> R^natural_dim of an interval I. Its ground truth is exact: the velocity
gamma'(t), the speed |gamma'(t)|, the arc length s(t) = int_{t_0}^{t} |gamma'(u)| du, the
total length L, and the polyline through points at equal arc-length spacing. Under
``measure: volume`` a sample is s ~ U(0, L) mapped back to its parameter t = s^{-1}(s)
(uniform with respect to arc length, the Riemannian measure); under ``measure: parameter``
it is t ~ U(I).

Where s has no elementary inverse, :class:`~geokeras.manifolds.arc_length.ArcLengthInverse`
inverts it (cubic Hermite table, then Newton to float64 accuracy), vectorised over samples;
its table is built once per curve, on first use. The polygonal curves (space-filling
curves, Koch) are in :mod:`geokeras.manifolds.fractal_curves`.
"""

from __future__ import annotations

import abc
import functools
import math
from typing import ClassVar

import numpy as np

from geokeras.manifolds.arc_length import ArcLengthInverse, PeriodicArcLength
from geokeras.manifolds.base import Manifold, check_count
from geokeras.manifolds.capabilities import ExactCurve, KnownTopology, RoundSphere
from geokeras.manifolds.params import (
    ArchimedeanSpiralParams,
    CircleParams,
    EllipseParams,
    HelixParams,
    TorusKnotParams,
    TrefoilParams,
)

_EPS = np.finfo(np.float64).eps


class Curve(Manifold, ExactCurve, KnownTopology):
    """A curve gamma: I -> R^natural_dim, with exact arc length and polyline.

    Subclasses set ``closed`` and implement :attr:`parameter_interval`, :attr:`length`,
    :meth:`velocity`, :meth:`speed`, :meth:`arc_length`, :meth:`parameter_at_arc_length`
    and :meth:`_embed_natural`. Parameters are sampled in [t_0, t_1) for a closed curve and
    in (t_0, t_1] for an open one (the paper's spiral is defined on (0, T]). Every curve then
    offers :meth:`polyline` (the exact geometry), :meth:`parameters` (points -> t, the
    inverse of ``points_at``) and exact tangents (:meth:`tangent_vectors`, from the velocity).
    """

    intrinsic_dim: ClassVar[int] = 1
    closed: ClassVar[bool] = False
    """Whether gamma(t_1) = gamma(t_0), i.e. the curve is a loop."""

    @property
    def closed_manifold(self) -> bool:
        """A loop is compact without boundary; an arc has two end points (its boundary)."""
        return bool(self.closed)

    # parameter_interval, length and arc_length are declared by ExactCurve.

    @abc.abstractmethod
    def velocity(self, parameters: np.ndarray) -> np.ndarray:
        """gamma'(t) in the natural space for t shape=[n] (or [n, 1]); shape=[n, natural_dim]."""

    @abc.abstractmethod
    def speed(self, parameters: np.ndarray) -> np.ndarray:
        """|gamma'(t)| for t shape=[n] (or [n, 1]); returns shape=[n]."""

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

    PARAMETER_SEARCH_RESOLUTION: ClassVar[int] = 4096
    """Chords of the polyline on which :meth:`parameters` looks for the nearest point first."""
    _GAUSS_NEWTON_STEPS: ClassVar[int] = 30

    def parameters(self, points: np.ndarray) -> np.ndarray:
        """The parameter t of the nearest point of the curve to each of ``points``.

        The inverse of :meth:`points_at` on the curve (``parameters(points_at(t)) = t`` to
        about 1e-12 relative; for a closed curve t is returned in [t_0, t_1)), and for points
        near the curve (noisy samples, reconstructions) the parameter of their nearest point,
        e.g. to colour a plot. Three steps, vectorised over the points:

        1. map the points to the natural space (:meth:`natural_coordinates`: for an
           isometric embedding, the orthogonal projection onto the curve's space);
        2. the nearest chord of the polyline at equal arc-length spacing L / R
           (R = ``PARAMETER_SEARCH_RESOLUTION``), among the chords at the 8 nearest
           vertices (``scipy.spatial.cKDTree``), gives the arc length s of a first guess;
        3. Gauss-Newton steps on |gamma(t) - x|^2 from t = s^{-1}(s):
           t <- t - <gamma(t) - x, gamma'(t)> / |gamma'(t)|^2 (quadratic convergence for a
           point on the curve, linear near it), kept inside the parameter interval.

        Polygonal curves override step 3: their chords are the curve itself.

        Args:
            points: shape=[n, ambient_dim].

        Returns:
            shape=[n, 1], float64.
        """
        natural = self.natural_coordinates(points)
        segment, fraction = _nearest_chords(natural, self._search_vertices, self.closed)
        step = self.length / self.PARAMETER_SEARCH_RESOLUTION
        arc_lengths = np.clip((segment + fraction) * step, 0.0, self.length)
        t = self.parameter_at_arc_length(arc_lengths)
        start, end = self.parameter_interval
        tolerance = 4.0 * _EPS * max(abs(start), abs(end))
        active = np.arange(t.size)
        for _ in range(self._GAUSS_NEWTON_STEPS):
            if active.size == 0:
                break
            current = t[active]
            velocity = self.velocity(current)
            offset = self._embed_natural(current) - natural[active]
            update = np.sum(offset * velocity, axis=1) / np.sum(velocity * velocity, axis=1)
            # A closed curve is periodic: a step may cross the seam t_0 = t_1 (wrapped below).
            updated = current - update
            t[active] = updated if self.closed else np.clip(updated, start, end)
            active = active[np.abs(update) > tolerance]
        if self.closed:
            t = start + np.mod(t - start, end - start)
        return t[:, None]

    @functools.cached_property
    def _search_vertices(self) -> np.ndarray:
        """The natural-space polyline of :meth:`parameters`, shape=[R or R + 1, natural_dim]."""
        count = self.PARAMETER_SEARCH_RESOLUTION + (0 if self.closed else 1)
        arc_lengths = np.arange(count, dtype=np.float64) * (self.length / self.PARAMETER_SEARCH_RESOLUTION)
        return np.asarray(self._embed_natural(self.parameter_at_arc_length(arc_lengths)), dtype=np.float64)

    def tangent_vectors(self, parameters: np.ndarray) -> np.ndarray:
        """The exact tangent gamma'(t), shape=[n, 1, natural_dim] (used by normal noise).

        Overrides the base class's finite differences: exact for the analytic curves, and
        for a polygonal curve the direction of the segment holding t, where a difference
        straddling a vertex would mix two segments' directions.
        """
        return self.velocity(self._checked_parameters(parameters))[:, None, :]

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
                f"Expected curve parameters of shape [n] or [n, 1]. Received: shape={list(parameters.shape)}."
            )
        return parameters


class Circle(Curve, RoundSphere):
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

    def velocity(self, parameters: np.ndarray) -> np.ndarray:
        """gamma'(t) = r (-sin t, cos t), shape=[n, 2]."""
        t = self._flat(parameters)
        return self.radius * np.stack([-np.sin(t), np.cos(t)], axis=1)

    def speed(self, parameters: np.ndarray) -> np.ndarray:
        return np.full_like(self._flat(parameters), self.radius)

    def arc_length(self, parameters: np.ndarray) -> np.ndarray:
        return self.radius * self._flat(parameters)

    def parameter_at_arc_length(self, arc_lengths: np.ndarray) -> np.ndarray:
        return self._flat(arc_lengths) / self.radius

    def _embed_natural(self, parameters: np.ndarray) -> np.ndarray:
        t = self._flat(parameters)
        return self.radius * np.stack([np.cos(t), np.sin(t)], axis=1)


class Ellipse(Curve):
    """The ellipse gamma(t) = (a cos t, b sin t), t in [0, 2 pi), in R^2.

    Speed |gamma'(t)| = sqrt(a^2 sin^2 t + b^2 cos^2 t) = b sqrt(1 - m sin^2 t) with
    m = 1 - a^2 / b^2 (m <= 0 when a >= b). Arc length, exactly:

        s(t) = int_0^t b sqrt(1 - m sin^2 u) du = b E(t | m),

    E(phi | m) the incomplete elliptic integral of the second kind
    (``scipy.special.ellipeinc(phi, m)``, which accepts any real phi and m <= 1; relative
    error a few ulp for every axis ratio, checked against ``scipy.integrate.quad`` in the
    tests for a / b from 1e-3 to 1e3). L = 4 b E(pi/2 | m); for a = b this is 2 pi a.

    ``parameter_at_arc_length`` inverts s with :class:`ArcLengthInverse` (Hermite table on
    4096 panels, then Newton with the constant C = |a^2 - b^2| / (2 max(a, b) min(a, b)),
    since |s''| = |a^2 - b^2| |sin t cos t| / |gamma'| <= |a^2 - b^2| / max(a, b) and
    s' >= min(a, b)), so a sample costs about one ``ellipeinc`` evaluation.

    Parameters returned: t. Implicit equation: (x / a)^2 + (y / b)^2 = 1.
    """

    params_type = EllipseParams
    natural_dim = 2
    closed = True
    parameter_names = ("t",)

    @property
    def parameter_interval(self) -> tuple[float, float]:
        return 0.0, 2.0 * np.pi

    @property
    def _m(self) -> float:
        return 1.0 - (float(self.params.a) / float(self.params.b)) ** 2

    @functools.cached_property
    def length(self) -> float:
        from scipy.special import ellipe

        return float(4.0 * self.params.b * ellipe(self._m))

    def velocity(self, parameters: np.ndarray) -> np.ndarray:
        """gamma'(t) = (-a sin t, b cos t), shape=[n, 2]."""
        t = self._flat(parameters)
        return np.stack([-self.params.a * np.sin(t), self.params.b * np.cos(t)], axis=1)

    def speed(self, parameters: np.ndarray) -> np.ndarray:
        t = self._flat(parameters)
        return np.hypot(self.params.a * np.sin(t), self.params.b * np.cos(t))

    def arc_length(self, parameters: np.ndarray) -> np.ndarray:
        """s(t) = b E(t | 1 - a^2 / b^2), shape=[n]."""
        from scipy.special import ellipeinc

        return self.params.b * ellipeinc(self._flat(parameters), self._m)

    @functools.cached_property
    def _inverse(self) -> ArcLengthInverse:
        a, b = float(self.params.a), float(self.params.b)
        constant = abs(a * a - b * b) / (2.0 * max(a, b) * min(a, b))
        return ArcLengthInverse(self.arc_length, self.speed, 0.0, 2.0 * np.pi, newton_constant=constant)

    def parameter_at_arc_length(self, arc_lengths: np.ndarray) -> np.ndarray:
        return self._inverse(self._flat(arc_lengths))

    def _embed_natural(self, parameters: np.ndarray) -> np.ndarray:
        t = self._flat(parameters)
        return np.stack([self.params.a * np.cos(t), self.params.b * np.sin(t)], axis=1)


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

    ``parameter_at_arc_length`` inverts s with :class:`ArcLengthInverse` (Hermite table,
    then Newton in float64, vectorised over samples), with the Newton constant
    C = w b / (2 sqrt(b^2 + w^2 a^2)): s'' = w^2 b r / s' <= w b and s' >= sqrt(b^2 + w^2 a^2).
    (:meth:`arc_length` avoids the cancellation between the two F terms.)

    Parameters returned: theta. Implicit equation (for tests and diagnostics): a point x of
    the natural plane lies on the spiral iff |x| = a + b theta with theta = (|x| - a) / b in
    [0, T] and atan2(x_2, x_1) = w theta (mod 2 pi).
    """

    params_type = ArchimedeanSpiralParams
    natural_dim = 2
    closed = False
    parameter_names = ("theta",)

    @property
    def parameter_interval(self) -> tuple[float, float]:
        return 0.0, float(self.params.theta_max)

    @functools.cached_property
    def length(self) -> float:
        return float(self.arc_length(np.array([self.params.theta_max]))[0])

    def velocity(self, parameters: np.ndarray) -> np.ndarray:
        """rho'(theta) = (b + i w r) e^{i w theta} as (x, y), shape=[n, 2]."""
        p = self.params
        theta = self._flat(parameters)
        radius = p.a + p.b * theta
        cos, sin = np.cos(p.w * theta), np.sin(p.w * theta)
        return np.stack([p.b * cos - p.w * radius * sin, p.b * sin + p.w * radius * cos], axis=1)

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

    @functools.cached_property
    def _inverse(self) -> ArcLengthInverse:
        p = self.params
        a, b, w = float(p.a), float(p.b), float(p.w)
        constant = w * b / (2.0 * math.hypot(b, w * a))
        panels = max(4096, 512 * math.ceil(p.turns))
        return ArcLengthInverse(
            self.arc_length, self.speed, 0.0, float(p.theta_max), newton_constant=constant, panels=panels
        )

    def parameter_at_arc_length(self, arc_lengths: np.ndarray) -> np.ndarray:
        return self._inverse(self._flat(arc_lengths))

    def _embed_natural(self, parameters: np.ndarray) -> np.ndarray:
        p = self.params
        theta = self._flat(parameters)
        radius = p.a + p.b * theta
        angle = p.w * theta
        return np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)


class Helix(Curve):
    """The circular helix gamma(t) = (r cos t, r sin t, c t), c = pitch / (2 pi), t in (0, T].

    T = 2 pi turns; the helix rises by ``pitch`` per turn, open, in R^3. Its speed
    |gamma'(t)| = sqrt(r^2 + c^2) is constant, so s(t) = sqrt(r^2 + c^2) t,
    L = 2 pi turns sqrt(r^2 + c^2), and ``measure: volume`` and ``measure: parameter``
    coincide (t uniform). Curvature r / (r^2 + c^2), torsion c / (r^2 + c^2).

    Parameters returned: t. Implicit equations: x^2 + y^2 = r^2, z in [0, pitch turns] and
    atan2(y, x) = z / c (mod 2 pi).
    """

    params_type = HelixParams
    natural_dim = 3
    closed = False
    parameter_names = ("t",)

    @property
    def rise(self) -> float:
        """c = pitch / (2 pi), the rise along z per radian of t."""
        return float(self.params.pitch) / (2.0 * np.pi)

    @property
    def _speed(self) -> float:
        return math.hypot(float(self.params.radius), self.rise)

    @property
    def parameter_interval(self) -> tuple[float, float]:
        return 0.0, float(self.params.t_max)

    @property
    def length(self) -> float:
        return self._speed * float(self.params.t_max)

    def velocity(self, parameters: np.ndarray) -> np.ndarray:
        """gamma'(t) = (-r sin t, r cos t, c), shape=[n, 3]."""
        t = self._flat(parameters)
        r = float(self.params.radius)
        return np.stack([-r * np.sin(t), r * np.cos(t), np.full_like(t, self.rise)], axis=1)

    def speed(self, parameters: np.ndarray) -> np.ndarray:
        return np.full_like(self._flat(parameters), self._speed)

    def arc_length(self, parameters: np.ndarray) -> np.ndarray:
        return self._speed * self._flat(parameters)

    def parameter_at_arc_length(self, arc_lengths: np.ndarray) -> np.ndarray:
        return self._flat(arc_lengths) / self._speed

    def _embed_natural(self, parameters: np.ndarray) -> np.ndarray:
        t = self._flat(parameters)
        r = float(self.params.radius)
        return np.stack([r * np.cos(t), r * np.sin(t), self.rise * t], axis=1)


class TorusKnot(Curve):
    """The (p, q) torus knot on the torus of radii R > r in R^3, closed.

    gamma(phi) = ((R + r cos q phi) cos p phi, (R + r cos q phi) sin p phi, r sin q phi),
    phi in [0, 2 pi): the curve turns p times around the z axis and q times around the tube
    (the convention of Wikipedia's "Torus knot"; the (2, 3) knot is the trefoil). With
    gcd(p, q) = 1 it is a simple closed curve; (p, q) and (q, p) are the same knot type,
    differently embedded.

    Speed: |gamma'(phi)|^2 = r^2 q^2 + p^2 (R + r cos q phi)^2 (the three terms of gamma'
    along the tube, the meridian and the parallel are orthogonal), of period 2 pi / q in phi.
    Its integral is an elliptic integral; geokeras tabulates it with
    :class:`PeriodicArcLength` (composite 8-point Gauss-Legendre on 4096 panels of one
    period, a 4-point rule on the last partial panel, then s(phi) = k S + s(phi - 2 pi k / q)
    with S the length of one period); accuracy: relative error below 1e-13 against
    ``scipy.integrate.quad`` (tested), i.e. a few ulp. L = q S.
    ``parameter_at_arc_length`` reduces s to one period and inverts there with
    :class:`ArcLengthInverse` (Hermite table on 2048 panels, then Newton with the constant
    C = p r q / (2 sqrt(r^2 q^2 + p^2 (R - r)^2)), since |s''| = p^2 (R + r cos q phi) r q
    |sin q phi| / s' <= p r q and s' >= sqrt(r^2 q^2 + p^2 (R - r)^2)), to float64 accuracy.

    Parameters returned: phi. Implicit equations: the point lies on the torus,
    (sqrt(x^2 + y^2) - R)^2 + z^2 = r^2, and its angles psi = atan2(y, x) around the axis
    and chi = atan2(z, sqrt(x^2 + y^2) - R) around the tube satisfy q psi - p chi = 0
    (mod 2 pi).
    """

    params_type: ClassVar[type] = TorusKnotParams
    natural_dim = 3
    closed = True
    parameter_names = ("phi",)

    @property
    def p(self) -> int:
        """Turns around the z axis."""
        return int(self.params.p)

    @property
    def q(self) -> int:
        """Turns around the tube."""
        return int(self.params.q)

    @property
    def parameter_interval(self) -> tuple[float, float]:
        return 0.0, 2.0 * np.pi

    @property
    def period(self) -> float:
        """2 pi / q, the period of the speed in phi."""
        return 2.0 * np.pi / self.q

    @functools.cached_property
    def _table(self) -> PeriodicArcLength:
        return PeriodicArcLength(self.speed, self.period, panels=4096)

    @property
    def length(self) -> float:
        return self.q * self._table.period_length

    def velocity(self, parameters: np.ndarray) -> np.ndarray:
        """gamma'(phi), shape=[n, 3]."""
        phi = self._flat(parameters)
        p, q, big_r, r = self.p, self.q, float(self.params.R), float(self.params.r)
        cos_q, sin_q = np.cos(q * phi), np.sin(q * phi)
        cos_p, sin_p = np.cos(p * phi), np.sin(p * phi)
        rho = big_r + r * cos_q
        return np.stack(
            [
                -r * q * sin_q * cos_p - p * rho * sin_p,
                -r * q * sin_q * sin_p + p * rho * cos_p,
                r * q * cos_q,
            ],
            axis=1,
        )

    def speed(self, parameters: np.ndarray) -> np.ndarray:
        """sqrt(r^2 q^2 + p^2 (R + r cos q phi)^2), shape=[n]."""
        phi = self._flat(parameters)
        r = float(self.params.r)
        return np.hypot(r * self.q, self.p * (float(self.params.R) + r * np.cos(self.q * phi)))

    def arc_length(self, parameters: np.ndarray) -> np.ndarray:
        return self._table(self._flat(parameters))

    @functools.cached_property
    def _inverse(self) -> ArcLengthInverse:
        p, q, big_r, r = self.p, self.q, float(self.params.R), float(self.params.r)
        constant = p * r * q / (2.0 * math.hypot(r * q, p * (big_r - r)))
        return ArcLengthInverse(self._table, self.speed, 0.0, self.period, newton_constant=constant, panels=2048)

    def parameter_at_arc_length(self, arc_lengths: np.ndarray) -> np.ndarray:
        targets = self._flat(arc_lengths)
        total, per_period = self.length, self._table.period_length
        if targets.size and (np.any(targets < -8 * _EPS * total) or np.any(targets > total * (1 + 8 * _EPS))):
            raise ValueError(
                f"Expected arc lengths in [0, L] = [0, {total!r}]. Received values in "
                f"[{targets.min()!r}, {targets.max()!r}]."
            )
        targets = np.clip(targets, 0.0, total)
        periods = np.minimum(np.floor(targets / per_period), self.q - 1)
        remainder = np.clip(targets - periods * per_period, 0.0, per_period)
        return periods * self.period + self._inverse(remainder)

    def _embed_natural(self, parameters: np.ndarray) -> np.ndarray:
        phi = self._flat(parameters)
        big_r, r = float(self.params.R), float(self.params.r)
        rho = big_r + r * np.cos(self.q * phi)
        return np.stack([rho * np.cos(self.p * phi), rho * np.sin(self.p * phi), r * np.sin(self.q * phi)], axis=1)


class Trefoil(TorusKnot):
    """The trefoil knot: the (2, 3) torus knot (see :class:`TorusKnot`), with R > r."""

    params_type = TrefoilParams

    @property
    def p(self) -> int:
        return 2

    @property
    def q(self) -> int:
        return 3


_CHORD_TILE_ROWS = 1 << 15
"""Points per tile of :func:`_nearest_chords`: memory O(tile * candidates * dim)."""


def _nearest_chords(
    points: np.ndarray, vertices: np.ndarray, closed: bool, candidates: int = 8
) -> tuple[np.ndarray, np.ndarray]:
    """The nearest chord of a polyline to each point: (chord index, fraction along it).

    Chord j joins vertices j and j + 1 (and, for a closed polyline, the last vertex the
    first). Only the chords at the ``candidates`` nearest vertices (a k-d tree,
    ``scipy.spatial.cKDTree``) are compared; that holds the nearest chord whenever the point
    is closer to it than half the distance between non-neighbouring parts of the polyline.

    Args:
        points: shape=[n, dim]. vertices: shape=[m, dim], m >= 2. closed: see above.

    Returns:
        ``(index, fraction)``, shape=[n] each: int64 chord indices and fractions in [0, 1].
    """
    from scipy.spatial import cKDTree

    count = vertices.shape[0]
    chords = count if closed else count - 1
    neighbours = min(candidates, count)
    tree = cKDTree(vertices)
    index = np.empty(points.shape[0], dtype=np.int64)
    fraction = np.empty(points.shape[0], dtype=np.float64)
    for first in range(0, points.shape[0], _CHORD_TILE_ROWS):
        tile = points[first : first + _CHORD_TILE_ROWS]
        _, nearest = tree.query(tile, k=neighbours)
        nearest = np.asarray(nearest).reshape(tile.shape[0], neighbours)
        starts = np.concatenate([nearest - 1, nearest], axis=1)  # the chords ending and starting there
        starts = np.mod(starts, count) if closed else np.clip(starts, 0, chords - 1)
        low, high = vertices[starts], vertices[np.mod(starts + 1, count)]
        direction = high - low
        squared = np.maximum(np.sum(direction * direction, axis=2), np.finfo(np.float64).tiny)
        along = np.clip(np.sum((tile[:, None, :] - low) * direction, axis=2) / squared, 0.0, 1.0)
        gap = low + along[:, :, None] * direction - tile[:, None, :]
        best = np.argmin(np.sum(gap * gap, axis=2), axis=1)
        rows = np.arange(tile.shape[0])
        index[first : first + tile.shape[0]] = starts[rows, best]
        fraction[first : first + tile.shape[0]] = along[rows, best]
    return index, fraction
