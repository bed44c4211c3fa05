"""Semi-discrete OT onto tightly clustered 2-D codes: exact Newton vs Monte-Carlo Adam.

AE-OT codes of multi-modal data sit in tight clusters, so most power cells are thin slabs.
This benchmark solves OT from the uniform measure on [-1/2, 1/2]^2 onto N samples of the
default ``gaussian_mixture`` (8 modes of std 0.05 on a circle of radius 2), uniform weights,
with both solvers, and judges both answers *exactly*: the cell areas at the returned heights
come from :func:`geokeras.ot.newton.power_cells` (exact polygons), so TV = 1/2 sum |w_i - nu_i|
and the max relative mass error have no sampling noise.

    .venv/bin/python scripts/bench_ot_clustered.py --counts 500,2000,8000 --time-cap 300

Reported per solver and N: wall and process-CPU seconds of the ``solve`` call, converged,
exact TV, exact max relative mass error, exact empty cells (results in docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def run(counts: list[int], time_cap: float, seed: int) -> list[dict]:
    from geokeras.manifolds import make
    from geokeras.ot import solve
    from geokeras.ot.newton import power_cells

    rows = []
    for count in counts:
        codes = make({"type": "gaussian_mixture"}).sample(count, seed).astype(np.float32)
        nu = np.full(count, 1.0 / count)
        solvers = {
            "newton": {"type": "newton", "tol": 1e-6},
            "monte_carlo_adam": {"type": "monte_carlo_adam", "tol": 0.02, "time_limit": time_cap},
        }
        for name, solver in solvers.items():
            wall, cpu = time.perf_counter(), time.process_time()
            result = solve(codes, solver=solver, seed=seed)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            areas, _, _ = power_cells(codes, result.heights, -0.5, 0.5)
            row = {
                "targets": count,
                "solver": name,
                "wall_s": wall,
                "cpu_s": cpu,
                "steps": result.steps,
                "converged": result.converged,
                "tv": 0.5 * float(np.abs(areas - nu).sum()),
                "max_rel_mass_error": float(np.max(np.abs(areas - nu) / nu)),
                "empty_cells": int(np.sum(areas <= 0)),
            }
            print(
                f"N={count:6d} {name:17s} wall {wall:7.1f} s  cpu {cpu:7.1f} s  steps {row['steps']:5d}  "
                f"converged {row['converged']!s:5s}  TV {row['tv']:.2e}  max rel {row['max_rel_mass_error']:.2e}  "
                f"empty {row['empty_cells']}",
                flush=True,
            )
            rows.append(row)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", default="500,2000,8000", help="comma-separated N")
    parser.add_argument("--time-cap", type=float, default=300.0, help="monte_carlo_adam time_limit (s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="write the rows as JSON here")
    args = parser.parse_args()
    rows = run([int(item) for item in args.counts.split(",")], args.time_cap, args.seed)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
