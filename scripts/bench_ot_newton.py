"""Exact 2-D semi-discrete OT: geokeras's damped Newton (solver ``newton``) against sdot, judged by one judge.

Problem: the uniform measure on a square onto N targets with uniform weights 1/N, cases

* ``uniform``: targets uniform in [0.05, 0.95]^2, source on [0, 1]^2;
* ``clustered``: N samples of the default ``gaussian_mixture`` (8 modes of std 0.05 on a circle of
  radius 2: AE-OT codes), source on [-1/2, 1/2]^2 (the default ``uniform_cube``), the codes as the
  solver sees them (``geokeras.ot.solve`` does not rescale them).

Both answers are judged by the exact cell areas of :func:`geokeras.ot.newton.power_cells` at the
returned heights: max_i |w_i - nu_i| / nu_i. geokeras runs at tol 1e-6 (its stopping rule is that
error). sdot's ``tol`` bounds its own residual (an absolute mass error), so it runs at tol 1e-6 (its
usual setting) and then at 1e-6 / N and 1e-7 / N; its reported time is that of the loosest tol whose
judged error is <= 1e-6. sdot needs Python >= 3.12 and runs in its own virtual environment, as a
subprocess (a driver written to a temporary folder): it gets the targets as a .npy file, warms up with
one untimed solve of them at tol 1e-6 (its later calls were up to 1.5x faster than its first), times
``sdot.ot_solve(sdot.SumOfDiracs(Y), sdot.Box(low, high), tol=...)`` (wall and process CPU) and
saves the weights. sdot's cell i is {x : |x - y_i|^2 - w_i minimal}, so geokeras's heights (cell
i = argmax <x, y_i> + h_i) are h_i = (w_i - |y_i|^2) / 2; the judge confirms it. sdot gets the problem
translated so that its box is [0, high - low]^2 (with ``Box([-0.5, -0.5], [0.5, 0.5])``
its weights did not follow that convention: the judged error was 375).

    ~/.pyenv/versions/3.12.1/bin/python -m venv .venv-sdot && .venv-sdot/bin/pip install sdot jax
    PYTHONPATH=. .venv/bin/python scripts/bench_ot_newton.py --counts 2000,20000,100000 --json newton.json

Reported per case, N and solver: wall and process-CPU seconds of the solve (geokeras after a warm-up
solve of 64 targets, so imports are not counted), Newton iterations, the judged max relative mass error,
empty cells, and the ratio sdot / geokeras of wall times (> 1: geokeras faster).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

SDOT_DRIVER = r"""
import json, sys, time
import numpy as np
import sdot

targets, low, high, out = np.load(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[5]
sdot.ot_solve(sdot.SumOfDiracs(targets), sdot.Box([low, low], [high, high]), tol=1e-6)  # warm-up, not timed
rows = []
for k, tol in enumerate(float(item) for item in sys.argv[4].split(",")):
    wall, cpu = time.perf_counter(), time.process_time()
    plan = sdot.ot_solve(sdot.SumOfDiracs(targets), sdot.Box([low, low], [high, high]), tol=tol)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    np.save(f"{out}/weights_{k}.npy", np.asarray(plan.weights, np.float64))
    stats = plan.stats
    rows.append({"tol": tol, "wall_s": wall, "cpu_s": cpu, "iterations": int(stats.get("nb_iter", -1)),
                 "converged": bool(plan.converged), "residual": float(stats.get("residual", float("nan")))})
print(json.dumps(rows))
"""


def make_targets(case: str, count: int, seed: int) -> tuple[np.ndarray, float, float]:
    """The targets (float32, as geokeras's solver receives them) and the source square [low, high]^2."""
    if case == "uniform":
        rng = np.random.default_rng(seed)
        return rng.uniform(0.05, 0.95, size=(count, 2)).astype(np.float32), 0.0, 1.0
    if case == "clustered":
        from geokeras.manifolds import make

        return make({"type": "gaussian_mixture"}).sample(count, seed).astype(np.float32), -0.5, 0.5
    raise ValueError(f"expected a case in uniform, clustered. Received: {case!r}.")


def judge(targets: np.ndarray, heights: np.ndarray, low: float, high: float) -> tuple[float, int]:
    """Max relative mass error against 1/N and empty cells, from the exact cell areas."""
    from geokeras.ot.newton import power_cells

    areas, _, _ = power_cells(targets, heights, low, high, polygons=False)
    nu = 1.0 / targets.shape[0]
    masses = areas / (high - low) ** 2
    return float(np.max(np.abs(masses - nu)) / nu), int(np.sum(masses <= 0))


def run_geokeras(targets: np.ndarray, low: float, high: float, tol: float) -> dict:
    from geokeras.ot import solve

    source = {"type": "uniform_cube", "low": low, "high": high}
    wall, cpu = time.perf_counter(), time.process_time()
    result = solve(targets, source=source, solver={"type": "newton", "tol": tol})
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    error, empty = judge(targets, result.heights, low, high)
    return {"solver": "geokeras", "tol": tol, "wall_s": wall, "cpu_s": cpu, "iterations": result.steps}, (
        error,
        empty,
        result.converged,
    )


def run_sdot(targets: np.ndarray, low: float, high: float, python: str, goal: float) -> list[dict]:
    count = targets.shape[0]
    tols = [1e-6, goal / count, 0.1 * goal / count]
    with tempfile.TemporaryDirectory() as folder:
        # The problem translated so that the box is [0, high - low]^2: the cells in the original coordinates
        # are the same, and h_i = (w_i - |y_i|^2) / 2 with the original y_i.
        np.save(f"{folder}/targets.npy", targets.astype(np.float64) - low)
        Path(folder, "driver.py").write_text(SDOT_DRIVER, encoding="utf-8")
        arguments = [f"{folder}/targets.npy", "0.0", str(high - low), ",".join(map(repr, tols)), folder]
        done = subprocess.run(
            [os.path.abspath(python), f"{folder}/driver.py", *arguments],  # absolute: it runs in the folder
            capture_output=True,
            text=True,
            check=False,
            cwd=folder,
        )
        if done.returncode != 0:  # e.g. killed for memory: a row saying so, and the benchmark goes on
            message = done.stderr.strip()[-300:] or "no message"
            failed = {"tol": tols[0], "wall_s": float("nan"), "cpu_s": float("nan"), "iterations": -1}
            failed.update(solver="sdot", max_rel_mass_error=float("nan"), empty_cells=-1)
            return [{**failed, "failed": f"exit status {done.returncode}: {message}"}]
        rows = json.loads(done.stdout.strip().splitlines()[-1])
        y = targets.astype(np.float64)
        for k, row in enumerate(rows):
            weights = np.load(f"{folder}/weights_{k}.npy")
            heights = 0.5 * (weights - np.sum(y * y, axis=1))
            row["max_rel_mass_error"], row["empty_cells"] = judge(targets, heights, low, high)
            row["solver"] = "sdot"
    return rows


def run(cases: list[str], counts: list[int], tol: float, seed: int, sdot_python: str) -> list[dict]:
    from geokeras.ot import solve

    solve(np.random.default_rng(1).uniform(size=(64, 2)).astype(np.float32), solver="newton")  # imports
    rows = []
    for case in cases:
        for count in counts:
            targets, low, high = make_targets(case, count, seed)
            row, (error, empty, converged) = run_geokeras(targets, low, high, tol)
            row.update(case=case, targets=count, max_rel_mass_error=error, empty_cells=empty, converged=converged)
            rows.append(row)
            print(_line(row), flush=True)
            if not sdot_python:
                continue
            tried = run_sdot(targets, low, high, sdot_python, tol)
            for attempt in tried:
                attempt.update(case=case, targets=count, selected=False)
            chosen = next((attempt for attempt in tried if attempt["max_rel_mass_error"] <= tol), None)
            if chosen is not None:
                chosen["selected"] = True
                chosen["sdot_over_geokeras_wall"] = chosen["wall_s"] / row["wall_s"]
                chosen["sdot_over_geokeras_cpu"] = chosen["cpu_s"] / row["cpu_s"]
            for attempt in tried:
                rows.append(attempt)
                print(_line(attempt), flush=True)
    return rows


def _line(row: dict) -> str:
    ratio = f"  sdot/geokeras wall {row['sdot_over_geokeras_wall']:.2f}" if "sdot_over_geokeras_wall" in row else ""
    mark = " *" if row.get("selected") else ""
    return (
        f"{row['case']:9s} N={row['targets']:6d} {row['solver']:8s} tol {row['tol']:.1e}  wall {row['wall_s']:7.2f} s"
        f"  cpu {row['cpu_s']:7.2f} s  iterations {row['iterations']:3d}"
        f"  judged max rel {row['max_rel_mass_error']:.2e}"
        f"  empty {row['empty_cells']}{mark}{ratio}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", default="2000,20000,100000", help="comma-separated N")
    parser.add_argument("--cases", default="uniform,clustered", help="comma-separated: uniform, clustered")
    parser.add_argument("--tol", type=float, default=1e-6, help="max relative mass error to reach")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sdot-python", default=".venv-sdot/bin/python", help="'' to skip sdot")
    parser.add_argument("--json", default=None, help="write the rows as JSON here")
    args = parser.parse_args()
    rows = run(
        args.cases.split(","), [int(item) for item in args.counts.split(",")], args.tol, args.seed, args.sdot_python
    )
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
