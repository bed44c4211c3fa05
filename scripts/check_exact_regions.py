"""An independent exact oracle for the linear regions of a ReLU network on a 2-D box.

Every float weight is a dyadic rational, so the regions can be found in exact rational
arithmetic (``fractions.Fraction``), with no floating point at all: start from the box, and for
each layer and each unit cut every polygon by the unit's line z = 0, where z is the exact
affine pre-activation on the polygon's cell (the masked product of the exact weights). A part
is kept when its exact area is positive. On a box every cell is convex, so each final polygon
is one region; the exact areas must sum to the box's area exactly.

    .venv/bin/python scripts/check_exact_regions.py --widths 8 16 32 --seeds 0 1 2 3 4

compares the oracle with ``geokeras.complexity.count_regions_in_box`` on He-initialised
2-w-w-w-1 networks with float32 weights (biases N(0, 0.1^2)) on [-1, 1]^2 and prints one line
per network. The test suite runs it on small networks (tests/complexity/test_mesh.py).
"""

from __future__ import annotations

import argparse
import time
from fractions import Fraction

import numpy as np


def exact_box_regions(network, low, high) -> list[tuple[list, tuple]]:
    """The regions of a LoweredNetwork on the box [low, high] (2-D input): (corners, pattern) pairs."""
    (x0, y0), (x1, y1) = [[Fraction(float(v)) for v in corner] for corner in (low, high)]
    box = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    identity = ([[Fraction(1), Fraction(0)], [Fraction(0), Fraction(1)]], [Fraction(0), Fraction(0)])
    polygons = [(box, identity, ())]  # corners, the exact map x -> x A + c of the layer's input, pattern
    for layer in network.layers:
        weight = [[Fraction(float(v)) for v in row] for row in np.asarray(layer.weight).tolist()]
        bias = [Fraction(float(v)) for v in np.asarray(layer.bias).tolist()]
        slope = Fraction(float(getattr(layer, "negative_slope", 0.0)))
        next_polygons = []
        for corners, (linear, offset), pattern in polygons:
            inputs, units = range(len(weight)), range(len(bias))
            z_linear = [[sum(linear[i][k] * weight[k][j] for k in inputs) for j in units] for i in (0, 1)]
            z_offset = [sum(offset[k] * weight[k][j] for k in inputs) + bias[j] for j in units]
            if layer.activation == "linear":
                next_polygons.append((corners, (z_linear, z_offset), pattern))
                continue
            parts = [(corners, ())]
            for unit in range(len(bias)):
                a, b, c = z_linear[0][unit], z_linear[1][unit], z_offset[unit]
                split = []
                for part, bits in parts:
                    for side in (True, False):
                        piece = _clip(part, a, b, c, side)
                        if _area(piece) > 0:
                            split.append((piece, bits + (side,)))
                parts = split
            for part, bits in parts:
                scale = [Fraction(1) if bit else slope for bit in bits]
                masked = (
                    [[row[j] * scale[j] for j in range(len(scale))] for row in z_linear],
                    [z_offset[j] * scale[j] for j in range(len(scale))],
                )
                next_polygons.append((part, masked, pattern + bits))
        polygons = next_polygons
    return [(corners, pattern) for corners, _, pattern in polygons]


def _clip(polygon: list, a: Fraction, b: Fraction, c: Fraction, positive: bool) -> list:
    """The part of a convex polygon where a x + b y + c > 0 (``positive``) or <= 0, closed."""
    sign = 1 if positive else -1
    values = [sign * (a * x + b * y + c) for x, y in polygon]
    result = []
    for index, (point, value) in enumerate(zip(polygon, values)):
        following, next_value = polygon[(index + 1) % len(polygon)], values[(index + 1) % len(polygon)]
        if value >= 0:
            result.append(point)
        if (value > 0 and next_value < 0) or (value < 0 and next_value > 0):
            t = value / (value - next_value)
            result.append((point[0] + t * (following[0] - point[0]), point[1] + t * (following[1] - point[1])))
    return result


def _area(polygon: list) -> Fraction:
    if len(polygon) < 3:
        return Fraction(0)
    twice = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(polygon, polygon[1:] + polygon[:1]))
    return abs(twice) / 2


def he_network(widths: list[int], seed: int):
    """A LoweredNetwork 2-w-...-1 with He-normal float32 kernels and N(0, 0.1^2) float32 biases."""
    from geokeras.complexity.lowering import AffineLayer, LoweredNetwork

    rng = np.random.default_rng(seed)
    layers = []
    for index, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        kernel = (rng.normal(size=(n_in, n_out)) * np.sqrt(2.0 / n_in)).astype(np.float32)
        bias = (rng.normal(size=n_out) * 0.1).astype(np.float32)
        activation = "linear" if index == len(widths) - 2 else "relu"
        layers.append(AffineLayer(kernel.astype(np.float64), bias.astype(np.float64), activation))
    return LoweredNetwork(tuple(layers))


def main() -> None:
    from geokeras.complexity import count_regions_in_box

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[8, 16])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--depth", type=int, default=3)
    arguments = parser.parse_args()
    for width in arguments.widths:
        for seed in arguments.seeds:
            network = he_network([2] + [width] * arguments.depth + [1], seed)
            start = time.perf_counter()
            oracle = exact_box_regions(network, (-1, -1), (1, 1))
            oracle_seconds = time.perf_counter() - start
            assert sum(_area(corners) for corners, _ in oracle) == 4, "the exact areas must sum to the box's"
            start = time.perf_counter()
            counted = count_regions_in_box(network, [-1.0, -1.0], [1.0, 1.0])
            seconds = time.perf_counter() - start
            verdict = "match" if counted.regions == len(oracle) else "MISMATCH"
            print(
                f"2-{width}x{arguments.depth}-1 seed {seed}: oracle {len(oracle)} regions ({oracle_seconds:.1f} s), "
                f"count_regions_in_box {counted.regions} ({seconds:.2f} s, "
                f"{counted.exact_decisions} exact decisions): {verdict}"
            )


if __name__ == "__main__":
    main()
