"""What a manifold offers beyond sampling, declared by its class: the capabilities.

Every :class:`~geokeras.manifolds.base.Manifold` samples, embeds and adds noise. Some offer
more, and the evaluators need to know which: an exact polyline to count cells along, a mesh,
the topology behind the invariance-of-domain obstruction, the labels of a data set. A manifold
class declares each capability by inheriting its mixin below, and an evaluator asks
``isinstance(manifold, ExactCurve)``: the declaration is checked once, where the class is
written (the abstract methods must be implemented), instead of guessed from attribute names.

==========================  ===========================================================
capability                  what it offers
==========================  ===========================================================
:class:`ExactCurve`         ``polyline(resolution)``, ``closed``, ``parameter_interval``,
                            ``length``, ``arc_length(parameters)``
:class:`ExactPolygon`       a curve that *is* a polyline: ``natural_vertices``;
                            ``polyline(None)`` is the curve itself
:class:`NonRectifiableUnits`  ``units``: disjoint pieces that are each not linear
                            rectifiable (a lower bound of the curve's RLC)
:class:`ExactSurface`       ``mesh(resolution)`` where ``has_mesh`` (a triangle mesh)
:class:`KnownTopology`      ``closed_manifold`` (compact without boundary) and ``orientable``
:class:`RoundSphere`        a round sphere S^m centred at the origin of its natural space
:class:`LabelledData`       a data set whose first parameter is a class label
:class:`SplitData`          ``split`` and ``with_split(split)``: train and test splits
:class:`KnownModes`         ``mode_count``, ``mode_of(points)``, ``off_mode_radius(q)``
==========================  ===========================================================

The mixins are plain abstract classes (no state, no ``__init__``); which types declare
which is listed in docs/manifolds.md and tested in tests/manifolds/test_capabilities.py.
"""

from __future__ import annotations

import abc
from typing import Optional

import numpy as np


class ExactCurve(abc.ABC):
    """A curve whose exact geometry is a polyline inscribed at any resolution.

    ``closed`` (a class attribute) says whether the curve is a loop; ``polyline(resolution)``
    returns ``(vertices shape=[n, ambient_dim], closed)``, the vertices exact points of the
    curve embedded like the samples, without noise.
    """

    closed: bool
    """Whether gamma(t_1) = gamma(t_0), i.e. the curve is a loop."""

    @abc.abstractmethod
    def polyline(self, resolution: int) -> tuple[np.ndarray, bool]:
        """``(vertices shape=[n, ambient_dim] float64, closed)`` with ``resolution`` segments."""

    @property
    @abc.abstractmethod
    def parameter_interval(self) -> tuple[float, float]:
        """The parameter interval (t_0, t_1)."""

    @property
    @abc.abstractmethod
    def length(self) -> float:
        """L, the exact length of the curve."""

    @abc.abstractmethod
    def arc_length(self, parameters: np.ndarray) -> np.ndarray:
        """s(t), the exact arc length from t_0, shape=[n]."""


class ExactPolygon(ExactCurve):
    """A curve that is exactly a polyline (hilbert, peano, koch): its vertices are the curve.

    ``polyline(None)`` returns the vertices themselves, ``polyline(k)`` the same points with
    collinear vertices added; a verdict proven on them holds for the manifold.
    """

    @property
    @abc.abstractmethod
    def natural_vertices(self) -> np.ndarray:
        """The exact vertices in the natural space, shape=[segments + 1, natural_dim]."""

    @abc.abstractmethod
    def polyline(self, resolution: Optional[int] = None) -> tuple[np.ndarray, bool]:
        """The vertices (``None``) or at least ``resolution`` segments of the same polyline."""


class NonRectifiableUnits(abc.ABC):
    """A curve with ``units`` disjoint consecutive pieces, each not linear rectifiable.

    So N(R^n, curve) >= units (the paper's Theorem 4.14 for its Peano curves C_k).
    """

    @property
    @abc.abstractmethod
    def units(self) -> int:
        """The number of non-rectifiable units."""


class ExactSurface(abc.ABC):
    """A manifold with an exact triangle mesh, where :attr:`has_mesh` (a 2-dimensional one)."""

    @property
    def has_mesh(self) -> bool:
        """True when :meth:`mesh` exists for this instance (e.g. a sphere only for dim 2)."""
        return True

    @abc.abstractmethod
    def mesh(self, resolution: int) -> tuple[np.ndarray, np.ndarray]:
        """``(vertices shape=[V, ambient_dim] float64, faces shape=[F, 3] int64)``."""


class KnownTopology(abc.ABC):
    """A manifold whose topology the certificate can use (invariance of domain).

    ``closed_manifold``: True when compact without boundary (a circle, a sphere, a torus),
    False with a boundary (an arc, a disk), ``None`` when unknown. ``orientable``: ``None``
    when unknown or not asked (curves).
    """

    orientable: Optional[bool] = None

    @property
    @abc.abstractmethod
    def closed_manifold(self) -> Optional[bool]:
        """Compact without boundary (True), with boundary (False), unknown (None)."""


class RoundSphere:
    """A round sphere S^m = {|x| = r} centred at the origin of the natural space (S^1: a circle).

    The von Mises-Fisher density exp(kappa <mu, x / |x|>) applies to it.
    """


class LabelledData:
    """A data set whose samples carry a class label: the first parameter column is the label."""


class SplitData(abc.ABC):
    """A data set with a train and a test split: held-out samples come from the other one."""

    @property
    @abc.abstractmethod
    def split(self) -> str:
        """The split the samples are drawn from: ``"train"`` or ``"test"``."""

    @abc.abstractmethod
    def with_split(self, split: str) -> "SplitData":
        """The same data set on another split."""


class KnownModes(abc.ABC):
    """A multi-modal distribution whose mode of each point is known (ground truth for generation)."""

    @property
    @abc.abstractmethod
    def mode_count(self) -> int:
        """k, the number of modes."""

    @abc.abstractmethod
    def mode_of(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(nearest mode shape=[n], distance to it in units of the mode's spread shape=[n])."""

    @abc.abstractmethod
    def off_mode_radius(self, quantile: float) -> float:
        """The radius (in the units of ``mode_of``) holding ``quantile`` of a mode's mass."""


def is_closed_manifold(manifold: object) -> bool:
    """True when ``manifold`` is known to be compact without boundary (False when unknown)."""
    return isinstance(manifold, KnownTopology) and manifold.closed_manifold is True


def orientability(manifold: object) -> Optional[bool]:
    """``manifold.orientable`` for a :class:`KnownTopology`, else ``None`` (unknown)."""
    return manifold.orientable if isinstance(manifold, KnownTopology) else None


def types_with(capability: type) -> list[str]:
    """The registered manifold types whose class declares ``capability``, in registry order.

    Imports every manifold module (numpy only): meant for messages and documentation.
    """
    from geokeras.registry import MANIFOLDS

    return [name for name in MANIFOLDS.names() if issubclass(MANIFOLDS[name].load(), capability)]
