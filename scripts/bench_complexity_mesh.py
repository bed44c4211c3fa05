"""Benchmark: exact linear regions of a 2-w-w-w-1 ReLU network on the box [-1, 1]^2, against peers.

Question: how long does the exact count take for He-initialised 2-w-w-w-1 networks
(w = 32, 64, 128: about 4e3, 1.7e4, 6.4e4 regions), how does it compare with regioncam (a Rust
library, float32) and with geokeras's TensorFlow version, and how does the time grow?

Setup: weights He-normal (N(0, 2 / fan_in)), biases N(0, 0.1^2) so that the first layer's
lines are in general position, numpy seed w; with ``--float32`` (the default) every weight and
bias is rounded to float32 and back, so that every implementation (regioncam takes float32)
counts the same network. ``count_regions_in_box`` on a LoweredNetwork (the Keras lowering is
not timed). One untimed warm-up count per implementation (imports, TensorFlow's trace); then
each width is counted ``--repeats`` times, the implementations interleaved in each repeat (the
machine is shared and noisy: only ratios measured together mean anything). Reports the region
counts of each implementation, the median wall-clock and CPU (process) seconds, the ratios to
regioncam, regions per second, and the log-log slopes of time against regions and against w.
With ``--baseline REV`` the mesh module of git revision REV is timed alongside too.

    .venv/bin/python scripts/bench_complexity_mesh.py [--widths 32 64 128] [--repeats 5]
        [--peers regioncam,tf] [--tf-device /CPU:0] [--baseline REV] [--json PATH]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # this checkout's geokeras, not an installed one
    sys.path.insert(0, str(REPO))

from geokeras.complexity.lowering import AffineLayer, LoweredNetwork  # noqa: E402
from geokeras.complexity.mesh import count_regions_in_box  # noqa: E402


def he_network(width: int, depth: int = 3, seed: int = 0, float32: bool = False) -> LoweredNetwork:
    """2-w-...-w-1 with He-normal weights and N(0, 0.1^2) biases; ``float32``: rounded to float32 and back."""
    rng = np.random.default_rng(seed)
    cast = (lambda a: a.astype(np.float32).astype(np.float64)) if float32 else (lambda a: a)
    widths = [2] + [width] * depth + [1]
    layers = []
    for index, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:])):
        last = index == len(widths) - 2
        layers.append(
            AffineLayer(
                cast(rng.normal(size=(fan_in, fan_out)) * np.sqrt(2.0 / fan_in)),
                cast(rng.normal(size=fan_out) * 0.1),
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


def regioncam_counter():
    """The regions of a LoweredNetwork on [-1, 1]^2 by regioncam (its float32 layers)."""
    import regioncam

    def count(network, low, high):
        assert list(low) == [-1.0, -1.0] and list(high) == [1.0, 1.0], "regioncam's box here is [-1, 1]^2"
        camera = regioncam.Regioncam(size=1.0)
        for layer in network.layers:
            camera.linear(np.asarray(layer.weight, np.float32), np.asarray(layer.bias, np.float32))
            if layer.activation == "relu":
                camera.relu()
        return camera.num_faces

    return count


def tf_counter(device):
    from geokeras.complexity.regions_tf import count_regions_in_box_tf

    return lambda network, low, high: count_regions_in_box_tf(network, low, high, device=device)


def regions_of(result) -> int:
    return int(result) if isinstance(result, (int, np.integer)) else int(result.regions)


def slope(x, y) -> float:
    """Least-squares slope of log y against log x."""
    return float(np.polyfit(np.log(x), np.log(y), 1)[0]) if len(x) >= 2 else float("nan")


def compare(args) -> None:
    counters = {"geokeras": count_regions_in_box}
    peers = [p for p in args.peers.split(",") if p]
    if "tf" in peers:
        counters["geokeras_tf"] = tf_counter(args.tf_device)
    if "regioncam" in peers:
        counters["regioncam"] = regioncam_counter()
    if args.baseline:
        counters["baseline"] = baseline_counter(args.baseline)
    for count in counters.values():
        count(he_network(8, float32=True), [-1.0, -1.0], [1.0, 1.0])  # warm-up: imports, traces
    load = os.getloadavg()
    print(f"numpy {np.__version__}, Python {platform.python_version()}, {platform.machine()}, load {load}")
    names = list(counters)
    print()
    print(
        "| network | regions ("
        + " / ".join(names)
        + ") | "
        + " | ".join(f"{n} wall s | {n} CPU s" for n in names)
        + " | "
        + " | ".join(f"{n} / regioncam (wall, CPU)" for n in names if n != "regioncam" and "regioncam" in names)
        + " | geokeras regions/s |"
    )
    print("|" + "---|" * (2 + 2 * len(names) + (len(names) - 1 if "regioncam" in names else 0) + 1))
    rows = []
    for width in args.widths:
        network = he_network(width, seed=width, float32=args.float32)
        walls = {name: [] for name in names}
        cpus = {name: [] for name in names}
        regions = {}
        extra = {}
        for _ in range(args.repeats):  # interleaved, so all see the same load
            for name, count in counters.items():
                result, wall, cpu = timed(count, network, 1)
                walls[name] += wall
                cpus[name] += cpu
                regions[name] = regions_of(result)
                if name == "geokeras":
                    extra = {"cells": int(result.cells), "pieces": int(result.pieces)}
                    extra["exact_decisions"] = int(result.exact_decisions)
                    assert abs(result.areas.sum() - 4.0) < 1e-9
                if name == "geokeras_tf":
                    extra["tf_exact_fallback"] = bool(result.exact_fallback)
        row = {
            "width": width,
            "regions": regions,
            "wall_median_s": {n: statistics.median(walls[n]) for n in names},
            "cpu_median_s": {n: statistics.median(cpus[n]) for n in names},
            "repeats": args.repeats,
            **extra,
        }
        rows.append(row)
        wall, cpu = row["wall_median_s"], row["cpu_median_s"]
        ratios = [
            f"{wall[n] / wall['regioncam']:.2f}, {cpu[n] / cpu['regioncam']:.2f}"
            for n in names
            if n != "regioncam" and "regioncam" in names
        ]
        print(
            f"| 2-{width}-{width}-{width}-1 | "
            + " / ".join(f"{regions[n]:,}" for n in names)
            + " | "
            + " | ".join(f"{wall[n]:.3f} | {cpu[n]:.3f}" for n in names)
            + (" | " + " | ".join(ratios) if ratios else "")
            + f" | {regions['geokeras'] / wall['geokeras']:,.0f} |"
        )
    mismatched = [r["width"] for r in rows if len(set(r["regions"].values())) != 1]
    print()
    print("region counts identical across implementations:", "yes" if not mismatched else f"NO at w = {mismatched}")
    growth = {}
    if len(rows) >= 2:
        for name in names:
            times = [r["wall_median_s"][name] for r in rows]
            growth[name] = {
                "slope_wall_vs_regions": slope([r["regions"]["geokeras"] for r in rows], times),
                "slope_wall_vs_width": slope([r["width"] for r in rows], times),
            }
            print(
                f"growth {name}: wall ~ regions^{growth[name]['slope_wall_vs_regions']:.2f}, "
                f"~ w^{growth[name]['slope_wall_vs_width']:.2f}"
            )
    if args.json:
        record = {
            "benchmark": "complexity_mesh",
            "command": " ".join(sys.argv),
            "load_average": load,
            "numpy": np.__version__,
            "python": platform.python_version(),
            "rows": rows,
            "growth": growth,
            "identical_counts": not mismatched,
        }
        Path(args.json).write_text(json.dumps(record, indent=2), encoding="utf-8")


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
    parser.add_argument("--peers", default="regioncam", help="comma-separated: regioncam, tf ('' for none)")
    parser.add_argument("--tf-device", default=None, help="TensorFlow device of the tf peer (default: GPU if seen)")
    parser.add_argument("--float32", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--baseline", default=None, help="a git revision whose mesh module is timed alongside")
    parser.add_argument("--json", default=None, help="write the measurements to this JSON file")
    compare(parser.parse_args())


if __name__ == "__main__":
    main()
