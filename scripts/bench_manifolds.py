"""Sampling speed: 10^6 points of every analytic manifold type, default parameters.

The goal: ``make({"type": name}).sample(1_000_000, seed)`` takes under
2 seconds for every registered manifold type whose class is ``analytic`` (defined by
formulas; image data sets are not), with ``measure: volume`` (the default), no noise, no
embedding. Sampling is numpy in float64 on the CPU.

For each type the script times, in one process and in registry order:

* ``make``: building the manifold from ``{"type": name}``;
* ``first``: the first ``sample(n, seed=0)`` call, which pays any one-time work a manifold
  does lazily (arc-length tables, space-filling-curve vertices, ...): the goal is checked
  on this, the time a run actually waits;
* ``repeat``: the median of ``--repeats`` further calls with seeds 1, 2, ... (steady state).

Beside the wall time of the first call, its CPU time (``time.process_time``, all threads of
this process): on a shared machine the wall time grows with the other load, the CPU time
does not. The load average before and after is printed; run it on a quiet machine.

A type whose default parameters cannot be built (``mesh`` needs a ``path``) is timed with
the parameters in ``EXTRA_PARAMETERS`` when listed there and marked so in the table.

Usage::

    .venv/bin/python scripts/bench_manifolds.py [--samples 1000000] [--repeats 3] [--goal 2.0]

Prints a Markdown table (seconds per type) and exits with status 1 when some type misses
the goal.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from geokeras.manifolds import make
from geokeras.registry import MANIFOLDS

REPOSITORY = Path(__file__).resolve().parents[1]

EXTRA_PARAMETERS = {
    # A mesh has no default file: the shipped procedural mesh (scripts/make_mesh.py).
    "mesh": {"path": str(REPOSITORY / "specs" / "data" / "bumpy_cup.obj")},
}


def analytic_types() -> list[str]:
    """Registered manifold types whose implementation is defined by formulas."""
    return [name for name in MANIFOLDS.names() if getattr(MANIFOLDS[name].load(), "analytic", False)]


def time_type(name: str, samples: int, repeats: int) -> dict:
    """Seconds to build ``name`` and to sample it (first call, median of the repeats)."""
    params = {"type": name}
    note = ""
    if name in EXTRA_PARAMETERS:
        params.update(EXTRA_PARAMETERS[name])
        note = ", ".join(
            f"{key}={Path(value).name if key == 'path' else value}" for key, value in EXTRA_PARAMETERS[name].items()
        )
    start = time.perf_counter()
    manifold = make(params)
    make_seconds = time.perf_counter() - start

    start, start_cpu = time.perf_counter(), time.process_time()
    points = manifold.sample(samples, seed=0)
    first_seconds, first_cpu = time.perf_counter() - start, time.process_time() - start_cpu
    if points.shape != (samples, manifold.ambient_dim) or not np.all(np.isfinite(points)):
        raise AssertionError(f"{name}: unexpected sample of shape {points.shape} or non-finite values")
    del points

    repeat_seconds = []
    for seed in range(1, repeats + 1):
        start = time.perf_counter()
        manifold.sample(samples, seed=seed)
        repeat_seconds.append(time.perf_counter() - start)
    return {
        "type": name,
        "note": note,
        "intrinsic_dim": manifold.intrinsic_dim,
        "ambient_dim": manifold.ambient_dim,
        "make": make_seconds,
        "first": first_seconds,
        "first_cpu": first_cpu,
        "repeat": statistics.median(repeat_seconds) if repeat_seconds else float("nan"),
    }


def _load_average() -> str:
    try:
        return ", ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:  # not available on this platform
        return "n/a"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--goal", type=float, default=2.0, help="seconds allowed for the first sample call")
    parser.add_argument("--types", nargs="*", default=None, help="only these types (default: every analytic type)")
    arguments = parser.parse_args()

    names = arguments.types or analytic_types()
    print(
        f"# {arguments.samples:,} samples per type, measure: volume, default parameters; "
        f"Python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} CPUs\n"
    )
    print(f"load average before: {_load_average()}\n")
    print(
        "| type | intrinsic dim | ambient dim | make (s) | first sample (s) | first sample, CPU (s) | "
        "repeat, median (s) | goal |"
    )
    print("|---|---|---|---|---|---|---|---|")
    misses = []
    total = time.perf_counter()
    for name in names:
        row = time_type(name, arguments.samples, arguments.repeats)
        ok = row["first"] < arguments.goal
        if not ok:
            misses.append(name)
        label = f"`{name}`" + (f" ({row['note']})" if row["note"] else "")
        print(
            f"| {label} | {row['intrinsic_dim']} | {row['ambient_dim']} | {row['make']:.3f} | "
            f"{row['first']:.3f} | {row['first_cpu']:.3f} | {row['repeat']:.3f} | {'yes' if ok else 'NO'} |",
            flush=True,
        )
    print(
        f"\nTotal {time.perf_counter() - total:.1f} s; load average after: {_load_average()}. "
        f"Goal: first sample < {arguments.goal} s (wall)."
    )
    if misses:
        print(f"Missed the goal: {', '.join(misses)}")
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
