"""Benchmark: exact linear regions of a 2-w-w-w-1 ReLU network on the box [-1, 1]^2.

Question: how long does the exact count take for a He-initialised 2-64-64-64-1
network (about 1.5e4 regions; goal: under 1 second on the development machine), and how does
the time scale with the width w = 32, 64, 128?

Setup: weights He-normal (N(0, 2 / fan_in)), biases N(0, 0.1^2) so that the first layer's
lines are in general position (with zero biases they would all pass through the origin),
numpy seed 0 + w; ``count_regions_in_box`` on a LoweredNetwork (the Keras lowering is not
timed). One untimed warm-up count imports scipy's sparse graph module; then each width is
counted ``--repeats`` times and the median wall-clock and CPU (process) seconds are
reported. Prints a Markdown table. With ``--baseline REV`` the mesh module of git revision REV
is loaded too and timed in the same run, interleaved with the current one (the machine is
shared and noisy: only ratios measured together mean anything), with the ratio of the CPU
medians and both region counts.

    .venv/bin/python scripts/bench_complexity_mesh.py [--widths 32 64 128] [--repeats 5] [--baseline 0be8c07]
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def baseline_counter(revision: str):
    """``count_regions_in_box`` of geokeras/complexity/mesh.py at a git revision, loaded as a module."""
    root = Path(__file__).resolve().parents[1]
    source = subprocess.run(
        ["git", "show", f"{revision}:geokeras/complexity/mesh.py"], cwd=root, check=True, capture_output=True, text=True
    ).stdout
    path = Path(tempfile.mkdtemp()) / "baseline_mesh.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("baseline_mesh", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["baseline_mesh"] = module
    spec.loader.exec_module(module)
    return module.count_regions_in_box


def timed(count, network, repeats: int):
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        result = count(network, [-1.0, -1.0], [1.0, 1.0])
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return result, walls, cpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[32, 64, 128])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--baseline", default=None, help="a git revision whose mesh module is timed alongside")
    args = parser.parse_args()

    counters = {"current": count_regions_in_box}
    if args.baseline:
        counters["baseline"] = baseline_counter(args.baseline)
    for count in counters.values():
        count(he_network(8), [-1.0, -1.0], [1.0, 1.0])  # warm-up: imports
    print(f"numpy {np.__version__}, Python {platform.python_version()}, {platform.machine()}")
    print()
    if args.baseline:
        print(
            f"| network | regions (current / {args.baseline}) | CPU s current (median) | CPU s "
            f"{args.baseline} (median) | ratio | repeats |"
        )
        print("|---|---|---|---|---|---|")
    else:
        print("| network | regions | cells | pieces | wall s (median) | CPU s (median) | repeats |")
        print("|---|---|---|---|---|---|---|")
    for width in args.widths:
        network = he_network(width, seed=width)
        if args.baseline:
            cpu = {"current": [], "baseline": []}
            results = {}
            for _ in range(args.repeats):  # interleaved, so both see the same load
                for name, count in counters.items():
                    results[name], _, cpus = timed(count, network, 1)
                    cpu[name] += cpus
            current, baseline = statistics.median(cpu["current"]), statistics.median(cpu["baseline"])
            print(
                f"| 2-{width}-{width}-{width}-1 | {results['current'].regions} / {results['baseline'].regions} | "
                f"{current:.3f} | {baseline:.3f} | {current / baseline:.2f} | {args.repeats} |"
            )
            continue
        result, walls, cpus = timed(count_regions_in_box, network, args.repeats)
        assert abs(result.areas.sum() - 4.0) < 1e-9
        print(
            f"| 2-{width}-{width}-{width}-1 | {result.regions} | {result.cells} | {result.pieces} | "
            f"{statistics.median(walls):.3f} | {statistics.median(cpus):.3f} | {args.repeats} |"
        )


if __name__ == "__main__":
    main()
