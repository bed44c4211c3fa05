"""Benchmark: exact region count along a curve vs dense sampling of the same curve.

Question: for an encoder 2-64-64-64-1 (He-normal kernels, zero
biases: Keras' defaults with ``kernel_initializer="he_normal"``, seeded) and a curve given
as a polyline of 10^4 segments (the Archimedean spiral of specs/quickstart.yaml, 3 turns,
a = 0.5, b = 0.2), how long does the exact count
(:func:`geokeras.complexity.count_regions_on_polyline`, numpy backend; the tensorflow
backend is timed beside it and must give the same counts) take, and how long does dense
sampling take at the resolution that finds 99% of the exact intervals?

Dense sampling: M points at equal arc-length spacing along the same polyline, the
activation pattern of each (the same float64 numpy forward pass as the exact count), and
the number of runs of equal patterns along the curve (the intervals the samples find; a
lower bound of the exact number) and of distinct patterns (cells). M doubles from 10^4
until the runs reach 99% of the exact intervals; the time reported for sampling is that of
the first M that does (patterns and counting; the sample positions are not timed). Both
sides: one untimed warm-up, then the median of ``--repeats`` runs, wall-clock and CPU
(process) seconds (the machine is shared: CPU time is the steadier measure).

Run:  .venv/bin/python scripts/bench_complexity_polyline.py [--segments 10000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def encoder(seed: int, widths: list[int]):
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((widths[0],))
    x = inputs
    for width in widths[1:-1]:
        x = keras.layers.Dense(width, activation="relu", kernel_initializer="he_normal")(x)
    return keras.Model(inputs, keras.layers.Dense(widths[-1], kernel_initializer="he_normal")(x))


def points_along(vertices: np.ndarray, count: int) -> np.ndarray:
    """``count`` points at equal arc-length spacing along the open polyline (ends excluded)."""
    steps = np.linalg.norm(np.diff(vertices, axis=0), axis=1)
    cumulative = np.concatenate([[0.0], np.cumsum(steps)])
    targets = (np.arange(count) + 0.5) * (cumulative[-1] / count)
    segment = np.clip(np.searchsorted(cumulative, targets, side="right") - 1, 0, len(steps) - 1)
    fraction = (targets - cumulative[segment]) / steps[segment]
    return vertices[segment] + fraction[:, None] * (vertices[segment + 1] - vertices[segment])


def sampled_counts(network, points: np.ndarray, batch: int = 1 << 16) -> tuple[int, int]:
    """(runs of equal patterns along the points, distinct patterns)."""
    packed = []
    for first in range(0, len(points), batch):
        packed.append(np.packbits(network.activation_pattern(points[first : first + batch]), axis=1))
    packed = np.concatenate(packed)
    changes = np.any(packed[1:] != packed[:-1], axis=1)
    distinct = np.unique(packed, axis=0).shape[0]
    return int(changes.sum()) + 1, int(distinct)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from geokeras.complexity import count_regions_on_polyline, lower
    from geokeras.manifolds import make

    widths = [2, 64, 64, 64, 1]
    network = lower(encoder(args.seed, widths))
    spiral = make({"type": "archimedean_spiral", "a": 0.5, "b": 0.2, "turns": 3.0})
    vertices, closed = spiral.polyline(args.segments)

    count_regions_on_polyline(network, vertices, closed)  # warm-up (first-call imports)
    exact_times, exact_cpu = [], []
    for _ in range(args.repeats):
        start, cpu = time.perf_counter(), time.process_time()
        exact = count_regions_on_polyline(network, vertices, closed)
        exact_times.append(time.perf_counter() - start)
        exact_cpu.append(time.process_time() - cpu)
    exact_seconds = float(np.median(exact_times))
    exact_cpu_seconds = float(np.median(exact_cpu))
    print(
        f"network {'-'.join(map(str, widths))} (He-normal, seed {args.seed}); curve: spiral, {args.segments} segments"
    )
    print(
        f"exact: intervals={exact.intervals} cells={exact.cells} pieces={exact.pieces} "
        f"median {exact_seconds:.3f} s wall, {exact_cpu_seconds:.3f} s CPU over {args.repeats} "
        f"(wall: {', '.join(f'{t:.3f}' for t in exact_times)})"
    )

    tf_times, tf_cpu = [], []
    count_regions_on_polyline(network, vertices, closed, backend="tensorflow")  # warm-up
    for _ in range(args.repeats):
        start, cpu = time.perf_counter(), time.process_time()
        same = count_regions_on_polyline(network, vertices, closed, backend="tensorflow")
        tf_times.append(time.perf_counter() - start)
        tf_cpu.append(time.process_time() - cpu)
    assert (same.intervals, same.cells, same.pieces) == (exact.intervals, exact.cells, exact.pieces)
    print(
        f"exact, backend tensorflow: median {float(np.median(tf_times)):.3f} s wall, "
        f"{float(np.median(tf_cpu)):.3f} s CPU over {args.repeats}"
    )

    target = 0.99 * exact.intervals
    count = 10_000
    while True:
        points = points_along(vertices, count)
        walls, cpus = [], []
        for _ in range(args.repeats):
            start, cpu = time.perf_counter(), time.process_time()
            runs, distinct = sampled_counts(network, points)
            walls.append(time.perf_counter() - start)
            cpus.append(time.process_time() - cpu)
        seconds, cpu_seconds = float(np.median(walls)), float(np.median(cpus))
        print(
            f"sampled M={count:>9}: runs={runs} ({runs / exact.intervals:.1%} of intervals) "
            f"cells={distinct} ({distinct / exact.cells:.1%}) median {seconds:.3f} s wall, {cpu_seconds:.3f} s CPU"
        )
        if runs >= target or count >= 1 << 27:
            break
        count *= 2
    print(f"ratio sampled(99%) / exact: wall {seconds / exact_seconds:.1f}, CPU {cpu_seconds / exact_cpu_seconds:.1f}")


if __name__ == "__main__":
    main()
