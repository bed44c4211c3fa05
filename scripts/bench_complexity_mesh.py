"""Benchmark: exact linear regions of a 2-w-w-w-1 ReLU network on the box [-1, 1]^2.

Question: how long does the exact count take for a He-initialised 2-64-64-64-1
network (about 1.5e4 regions; goal: under 1 second on the development machine), and how does
the time scale with the width w = 32, 64, 128?

Setup: weights He-normal (N(0, 2 / fan_in)), biases N(0, 0.1^2) so that the first layer's
lines are in general position (with zero biases they would all pass through the origin),
numpy seed 0 + w; ``count_regions_in_box`` on a LoweredNetwork (the Keras lowering is not
timed). One untimed warm-up count imports scipy's sparse graph module; then each width is
counted ``--repeats`` times and the median wall-clock and CPU (process) seconds are
reported. Prints a Markdown table.

    .venv/bin/python scripts/bench_complexity_mesh.py [--widths 32 64 128] [--repeats 5]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np

from geokeras.complexity.lowering import AffineLayer, LoweredNetwork
from geokeras.complexity.mesh import count_regions_in_box


def he_network(width: int, depth: int = 3, seed: int = 0) -> LoweredNetwork:
    rng = np.random.default_rng(seed)
    widths = [2] + [width] * depth + [1]
    layers = []
    for index, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:])):
        last = index == len(widths) - 2
        layers.append(
            AffineLayer(
                rng.normal(size=(fan_in, fan_out)) * np.sqrt(2.0 / fan_in),
                rng.normal(size=fan_out) * 0.1,
                "linear" if last else "relu",
            )
        )
    return LoweredNetwork(tuple(layers))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[32, 64, 128])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    count_regions_in_box(he_network(8), [-1.0, -1.0], [1.0, 1.0])  # warm-up: imports
    print(f"numpy {np.__version__}, Python {platform.python_version()}, {platform.machine()}")
    print()
    print("| network | regions | cells | pieces | wall s (median) | CPU s (median) | repeats |")
    print("|---|---|---|---|---|---|---|")
    for width in args.widths:
        network = he_network(width, seed=width)
        walls, cpus = [], []
        for _ in range(args.repeats):
            wall, cpu = time.perf_counter(), time.process_time()
            result = count_regions_in_box(network, [-1.0, -1.0], [1.0, 1.0])
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        assert abs(result.areas.sum() - 4.0) < 1e-9
        print(
            f"| 2-{width}-{width}-{width}-1 | {result.regions} | {result.cells} | {result.pieces} | "
            f"{statistics.median(walls):.3f} | {statistics.median(cpus):.3f} | {args.repeats} |"
        )


if __name__ == "__main__":
    main()
