"""Exact arithmetic for ReLU networks: every float is a dyadic rational.

A float64 (and so a float32 upcast to it) is exactly m · 2^e with integers m, e. Sums and
products of dyadic rationals are dyadic, so on one cell of a ReLU network (one activation
pattern) the network's map, and every pre-activation, is an affine map whose coefficients are
exact dyadic rationals: x ↦ x A + c with A = W_1 D_1 W_2 D_2 ⋯ and the masks D_l = diag(1 or the
leaky slope). Geometric predicates built from them (the sign of a pre-activation at a corner
that is the intersection of two lines, the order of two crossings along a segment, whether two
neighbouring cells carry the same map) are signs of polynomials in those coefficients, so they
can be decided exactly in integer arithmetic. That is what the exact counts and verdicts of
:mod:`geokeras.complexity` fall back on when a floating-point filter cannot certify a sign.

:class:`Dyadic` holds an array of dyadic rationals as Python integers (an object array of
numerators) and one shared exponent; matrix products and sums are numpy operations on the
object array, so one vector-matrix product of a 64 x 64 layer costs about a millisecond.
:class:`ExactNetwork` evaluates a :class:`~geokeras.complexity.lowering.LoweredNetwork`'s
layers on an exact input parametrisation (a triangle's frame, a segment's direction, or the
identity) for a given activation pattern.

The network "as given" is the lowered float64 network: its weights are exact, and so is
everything computed here from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Optional

import numpy as np

__all__ = ["Dyadic", "ExactNetwork"]


@dataclass(frozen=True)
class Dyadic:
    """An array of dyadic rationals: ``numerators * 2**exponent``, exactly.

    Attributes:
        numerators: object ndarray of Python ints (any shape).
        exponent: one Python int shared by every entry.
    """

    numerators: np.ndarray
    exponent: int

    @classmethod
    def from_floats(cls, values: Any) -> "Dyadic":
        """The exact value of finite float64 numbers (float32 inputs are upcast exactly).

        Raises:
            ValueError: a NaN or infinite value (it has no rational value).
        """
        values = np.asarray(values, dtype=np.float64)
        if not np.all(np.isfinite(values)):
            raise ValueError("Expected finite values for exact arithmetic. Received NaN or infinite entries.")
        mantissa, exponent = np.frexp(values)  # values = mantissa * 2**exponent, |mantissa| in [0.5, 1)
        integers = (mantissa * 2.0**53).astype(np.int64)  # exact: 53 significant bits
        exponent = exponent.astype(np.int64) - 53
        nonzero = integers != 0
        if not np.any(nonzero):
            return cls(np.zeros(values.shape, dtype=object), 0)
        shared = int(exponent[nonzero].min())
        shifts = np.where(nonzero, exponent - shared, 0)
        numerators = np.empty(values.shape, dtype=object)
        flat = numerators.reshape(-1)
        for index, (integer, shift) in enumerate(zip(integers.reshape(-1).tolist(), shifts.reshape(-1).tolist())):
            flat[index] = integer << shift
        return cls(numerators, shared)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.numerators.shape

    def __getitem__(self, index: Any) -> "Dyadic":
        return Dyadic(np.asarray(self.numerators[index], dtype=object), self.exponent)

    def __matmul__(self, other: "Dyadic") -> "Dyadic":
        return Dyadic(
            np.asarray(np.dot(self.numerators, other.numerators), dtype=object), self.exponent + other.exponent
        )

    def __mul__(self, other: "Dyadic") -> "Dyadic":
        """Elementwise (broadcast) product."""
        return Dyadic(np.asarray(self.numerators * other.numerators, dtype=object), self.exponent + other.exponent)

    def __add__(self, other: "Dyadic") -> "Dyadic":
        shared = min(self.exponent, other.exponent)
        return Dyadic(
            np.asarray(self._shifted(self.exponent - shared) + other._shifted(other.exponent - shared), dtype=object),
            shared,
        )

    def __neg__(self) -> "Dyadic":
        return Dyadic(np.asarray(-self.numerators, dtype=object), self.exponent)

    def __sub__(self, other: "Dyadic") -> "Dyadic":
        return self + (-other)

    def _shifted(self, bits: int) -> np.ndarray:
        return self.numerators * (1 << bits) if bits else self.numerators

    def sign(self) -> np.ndarray:
        """-1, 0 or 1 per entry (int64 array of the same shape)."""
        flat = [(value > 0) - (value < 0) for value in self.numerators.reshape(-1).tolist()]
        return np.asarray(flat, dtype=np.int64).reshape(self.shape)

    def to_fractions(self) -> np.ndarray:
        """Object array of :class:`fractions.Fraction` with the same values."""
        scale = Fraction(2) ** self.exponent
        return np.vectorize(lambda value: Fraction(value) * scale, otypes=[object])(self.numerators)

    def to_floats(self) -> np.ndarray:
        """The nearest float64 of each entry (correctly rounded through Fraction)."""
        return (
            np.vectorize(float, otypes=[np.float64])(self.to_fractions())
            if self.numerators.size
            else np.zeros(self.shape)
        )


class ExactNetwork:
    """A :class:`~geokeras.complexity.lowering.LoweredNetwork`'s layers as exact dyadic rationals.

    Every method takes an *input parametrisation* u ↦ x = u @ start_linear + start_offset
    (start_linear shape=[m, n], start_offset shape=[n], as :class:`Dyadic` or floats): the
    identity for maps of the ambient space, a segment p + t d (m = 1), or a triangle
    o + u F (m = 2). Patterns follow the network's convention: bool arrays over the hidden
    units of the non-linear layers in order, True = active (pre-activation > 0).
    """

    def __init__(self, network: Any):
        self.network = network
        self._weights = [Dyadic.from_floats(layer.weight) for layer in network.layers]
        self._biases = [Dyadic.from_floats(layer.bias) for layer in network.layers]
        self._slopes = [Dyadic.from_floats(np.array([1.0, layer.negative_slope])) for layer in network.layers]

    def identity(self) -> tuple[Dyadic, Dyadic]:
        """The parametrisation x = u (start_linear = I, start_offset = 0) of the input space."""
        n = self.network.input_dim
        return Dyadic.from_floats(np.eye(n)), Dyadic.from_floats(np.zeros(n))

    def pre_activation_map(
        self, start_linear: Any, start_offset: Any, pattern: Any, layer: int
    ) -> tuple[Dyadic, Dyadic]:
        """Exact ``(L [m, w], c [w])`` with z(u) = u L + c the pre-activations of ``layer`` on the cell.

        Args:
            pattern: bool, the activation pattern of the cell; only the units of the layers
                before ``layer`` are read (a pattern of just those units is accepted too).
            layer: index into ``network.layers``; 0 gives the first layer's pre-activations.
        """
        linear, offset = _as_dyadic(start_linear), _as_dyadic(start_offset)
        pattern = np.asarray(pattern, dtype=bool).reshape(-1)
        for position in range(int(layer) + 1):
            linear = linear @ self._weights[position]
            offset = offset @ self._weights[position] + self._biases[position]
            if position == layer:
                break
            network_layer = self.network.layers[position]
            if network_layer.activation == "linear":
                continue
            columns = self.network.pattern_slices[position]
            mask = self._mask(position, pattern[columns])
            linear, offset = linear * mask, offset * mask
        return linear, offset

    def output_map(self, start_linear: Any, start_offset: Any, pattern: Any) -> tuple[Dyadic, Dyadic]:
        """Exact ``(A [m, n_out], c [n_out])`` with φ(u) = u A + c on the cell of ``pattern``.

        The last layer's activation (if not linear) is applied with the pattern's mask too.
        """
        last = len(self.network.layers) - 1
        linear, offset = self.pre_activation_map(start_linear, start_offset, pattern, last)
        if self.network.layers[last].activation != "linear":
            mask = self._mask(last, np.asarray(pattern, dtype=bool).reshape(-1)[self.network.pattern_slices[last]])
            linear, offset = linear * mask, offset * mask
        return linear, offset

    def _mask(self, position: int, active: np.ndarray) -> Dyadic:
        """diag of the layer's slopes on the cell: 1 where active, the negative slope elsewhere."""
        slopes = self._slopes[position]
        return Dyadic(np.where(active, slopes.numerators[0], slopes.numerators[1]).astype(object), slopes.exponent)


def _as_dyadic(value: Any) -> Dyadic:
    return value if isinstance(value, Dyadic) else Dyadic.from_floats(value)


def fraction(value: Dyadic, index: Optional[tuple] = None) -> Fraction:
    """One entry of a :class:`Dyadic` as a :class:`fractions.Fraction` (the whole scalar by default)."""
    numerator = value.numerators[index] if index is not None else value.numerators.reshape(-1)[0]
    return Fraction(int(numerator)) * Fraction(2) ** value.exponent


# ----------------------------------------------------------------------------- along a segment
# Exact maps of the network restricted to a segment t -> p + t d of its input space, and the
# rational numbers (crossing parameters, image points) built from them. Used by the exact
# polyline counts and by the injectivity decision for curves.


def segment_maps(
    exact_network: ExactNetwork, start: Any, direction: Any, pattern: Any
) -> tuple[list[tuple[Dyadic, Dyadic]], tuple[Dyadic, Dyadic]]:
    """Every layer's pre-activations and the output along a segment, on one cell, exactly.

    On the cell of ``pattern``, z_l(p + t d) = alpha_l + t beta_l and φ(p + t d) = a + t b.

    Args:
        exact_network: the :class:`ExactNetwork`.
        start: p, shape=[n] (floats or :class:`Dyadic`).
        direction: d, shape=[n] (floats or :class:`Dyadic`: the exact difference of two vertices).
        pattern: bool over the network's hidden units.

    Returns:
        ``(layers, (b, a))``: ``layers[l] = (beta_l, alpha_l)``, each shape=[width_l]; b and a
        shape=[n_out].
    """
    network = exact_network.network
    if isinstance(direction, Dyadic):
        linear = Dyadic(direction.numerators.reshape(1, -1), direction.exponent)
    else:
        linear = _as_dyadic(np.asarray(direction, dtype=np.float64).reshape(1, -1))
    offset = _as_dyadic(start)
    pattern = np.asarray(pattern, dtype=bool).reshape(-1)
    layers: list[tuple[Dyadic, Dyadic]] = []
    for position, layer in enumerate(network.layers):
        linear = linear @ exact_network._weights[position]
        offset = offset @ exact_network._weights[position] + exact_network._biases[position]
        layers.append((linear[0], offset))
        if layer.activation != "linear":
            mask = exact_network._mask(position, pattern[network.pattern_slices[position]])
            linear, offset = linear * mask, offset * mask
    return layers, (linear[0], offset)


def dyadic_fractions(value: Dyadic) -> list[Fraction]:
    """The entries of a :class:`Dyadic` (flattened) as :class:`fractions.Fraction`."""
    if value.exponent >= 0:
        scale = 1 << value.exponent
        return [Fraction(int(n) * scale) for n in value.numerators.reshape(-1).tolist()]
    denominator = 1 << -value.exponent
    return [Fraction(int(n), denominator) for n in value.numerators.reshape(-1).tolist()]


def dyadic_root(offset: Dyadic, slope: Dyadic, index: int) -> Optional[Fraction]:
    """t* = -alpha / beta of entry ``index`` of alpha + t beta, exactly (None when beta = 0)."""
    beta = int(slope.numerators.reshape(-1)[index])
    if beta == 0:
        return None
    alpha = int(offset.numerators.reshape(-1)[index])
    shift = offset.exponent - slope.exponent
    return Fraction(-alpha * (1 << shift), beta) if shift >= 0 else Fraction(-alpha, beta * (1 << -shift))
