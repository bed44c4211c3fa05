"""The GPU benchmark: training throughput, semi-discrete OT at AE-OT sizes and exact region counts, in one run.

Run through ``scripts/bench_gpu.sh`` (which picks the interpreter). Each part is one of the
project's benchmark scripts, run in a fresh process (so each process's memory peak is its own)
with ``--json``; this driver collects their results into one JSON file and one Markdown file:

* ``training``: ``bench_builder.py``, the spec-built MLP autoencoder against the same model
  written by hand in Keras, steady-state samples/s and their ratio;
* ``ot``: ``bench_ot.py gpu`` at N = 10^5 codes in d = 64 and N = 2x10^5 in d = 100 (the size of
  the AE-OT CelebA codes): peak memory (process RSS and the GPU allocator's peak), one solver
  step against the raw matmul + argmax of the same shape, and ``geokeras.ot.solve`` to its
  stopping rule judged by independent points;
* ``regions``: ``bench_complexity_mesh.py``, exact linear regions of 2-w-w-w-1 ReLU networks on
  [-1, 1]^2 at w = 128 and 256 with the numpy counter and the TensorFlow counter (on the GPU).

``--smoke`` runs every part at toy sizes on whatever device there is (the CPU in CI), so the
script and its parsers never rot; its numbers mean nothing. Without ``--smoke`` a GPU is
required. A part that fails is recorded with its log's tail and the exit status is 1.

    bash scripts/bench_gpu.sh [--smoke] [--out DIR] [--parts training,ot,regions]
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]

FULL_TIMEOUT_S = 3600
SMOKE_TIMEOUT_S = 600
PART_NAMES = ("training", "ot", "regions")


def part_commands(name: str, smoke: bool) -> list[tuple[str, list[str]]]:
    """(case label, script arguments) of one part, at full or smoke size."""
    if name == "training":
        if smoke:
            return [("smoke", ["bench_builder.py", "--rounds", "1", "--epochs", "2", "--samples", "512"])]
        return [
            ("batch 256", ["bench_builder.py", "--rounds", "3", "--epochs", "6", "--samples", "200000"]),
            (
                "batch 4096",
                ["bench_builder.py", "--rounds", "3", "--epochs", "6", "--samples", "1000000", "--batch-size", "4096"],
            ),
        ]
    if name == "ot":
        if smoke:
            smoke_args = ["--time-cap", "5", "--eval-samples", str(1 << 16), "--samples", str(1 << 12)]
            smoke_args += ["--steps", "2", "--repeats", "1"]
            return [("N=256, d=4", ["bench_ot.py", "gpu", "--targets", "256", "--dim", "4", *smoke_args])]
        return [
            (f"N={count}, d={dim}", ["bench_ot.py", "gpu", "--targets", str(count), "--dim", str(dim)])
            for count, dim in ((100_000, 64), (200_000, 100))
        ]
    if name == "regions":
        widths = ["8", "12"] if smoke else ["128", "256"]
        arguments = ["bench_complexity_mesh.py", "--widths", *widths, "--repeats", "1", "--peers", "tf"]
        return [("w=" + ",".join(widths), arguments)]
    raise ValueError(f"Expected a part among {PART_NAMES}. Received: {name!r}.")


def run_part(name: str, smoke: bool, out_dir: Path) -> list[dict[str, Any]]:
    """Run each command of a part in a fresh process; one record per command."""
    records = []
    for index, (case, arguments) in enumerate(part_commands(name, smoke)):
        stem = f"{name}_{index}"
        json_path = out_dir / "parts" / f"{stem}.json"
        log_path = out_dir / "logs" / f"{stem}.log"
        command = [sys.executable, str(ROOT / "scripts" / arguments[0]), *arguments[1:], "--json", str(json_path)]
        shown = ["python", f"scripts/{arguments[0]}", *arguments[1:], "--json", str(json_path)]
        record: dict[str, Any] = {"part": name, "case": case, "command": " ".join(shown)}
        print(f"[{time.strftime('%H:%M:%S')}] {name} ({case}): {record['command']}", flush=True)
        started = time.perf_counter()
        try:
            with log_path.open("w") as log:
                completed = subprocess.run(
                    command,
                    cwd=ROOT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    timeout=SMOKE_TIMEOUT_S if smoke else FULL_TIMEOUT_S,
                    env={**os.environ, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "2"},
                )
            returncode = completed.returncode
        except subprocess.TimeoutExpired:
            returncode = "timeout"
        record["seconds"] = time.perf_counter() - started
        if returncode == 0 and json_path.exists():
            record["result"] = json.loads(json_path.read_text())
        else:
            tail = log_path.read_text().splitlines()[-20:] if log_path.exists() else []
            record["error"] = f"exit status {returncode}"
            record["log_tail"] = tail
            print(f"  failed ({record['error']}); log: {log_path}", flush=True)
        records.append(record)
    return records


# ----------------------------------------------------------------------------- Markdown


def _number(value: Any, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.{digits}g}"
    return str(value)


def _gib(value: Any) -> str:
    return "n/a" if value is None else f"{value / 2**30:.2f}"


def training_rows(record: dict) -> list[list[str]]:
    result = record["result"]
    return [
        [
            record["case"],
            result["model"],
            _number(result["samples"]),
            _number(result["spec_samples_per_s"]),
            _number(result["hand_samples_per_s"]),
            f"{result['ratio']:.3f}",
        ]
    ]


def ot_rows(record: dict) -> list[list[str]]:
    result = record["result"]
    memory, throughput = result["memory"], result["throughput"]
    rows = []
    for row in result.get("converge", []):
        rows.append(
            [
                record["case"],
                _gib(memory.get("peak_rss_bytes")),
                _gib(memory.get("gpu_peak_bytes")),
                f"{throughput['geokeras_throughput'] / 1e9:.2f}",
                f"{throughput['ratio']:.2f}",
                _number(row.get("converged")),
                _number(row.get("seconds")),
                _number(row.get("steps")),
                _number(row.get("tv")),
                _number(row.get("noise_floor")),
            ]
        )
    return rows


def regions_rows(record: dict) -> list[list[str]]:
    rows = []
    for row in record["result"]["rows"]:
        width = row["width"]
        for name, regions in row["regions"].items():
            seconds = row["wall_median_s"][name]
            exact = row.get("exact_decisions") if name == "geokeras" else row.get("tf_exact_fallback")
            rows.append([f"2-{width}-{width}-{width}-1", name, _number(regions), _number(seconds)])
            rows[-1] += [_number(regions / seconds), _number(exact)]
    return rows


TABLES: dict[str, tuple[str, list[str], Callable[[dict], list[list[str]]]]] = {
    "training": (
        "Training throughput, spec-built vs hand-written Keras (steady-state samples/s, median of rounds)",
        ["case", "model", "samples", "spec samples/s", "hand samples/s", "spec / hand"],
        training_rows,
    ),
    "ot": (
        "Semi-discrete OT (monte_carlo_adam at its defaults)",
        [
            "case",
            "peak RSS GiB",
            "GPU peak GiB",
            "step G sample-targets/s",
            "step / raw matmul+argmax",
            "converged",
            "solve s",
            "steps",
            "TV (judged)",
            "judge noise floor",
        ],
        ot_rows,
    ),
    "regions": (
        "Exact linear regions of 2-w-w-w-1 ReLU networks on [-1, 1]^2 (median wall seconds)",
        ["network", "implementation", "regions", "seconds", "regions/s", "exact decisions / exact fallback"],
        regions_rows,
    ),
}


def markdown(report: dict) -> str:
    lines = [
        f"# geokeras GPU benchmark{' (smoke: toy sizes, numbers mean nothing)' if report['smoke'] else ''}",
        "",
        f"{report['date']}; devices: {', '.join(report['devices']) or 'none'}; commit {report['commit']}; "
        f"Python {report['python']}; TensorFlow {report['tensorflow']}; load average {report['load_average']}.",
    ]
    for name in report["parts"]:
        title, header, rows_of = TABLES[name]
        lines += ["", f"## {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for record in report["parts"][name]:
            if "error" in record:
                lines.append(f"| {record['case']} | failed: {record['error']} |" + " |" * (len(header) - 2))
                continue
            lines += ["| " + " | ".join(row) + " |" for row in rows_of(record)]
        lines += ["", "Commands (from the repository root):", ""]
        lines += [f"    {record['command']}" for record in report["parts"][name]]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- the run


def environment(smoke: bool) -> dict[str, Any]:
    """Devices and versions, read in a child process so that this driver never holds the GPU.

    The smoke run skips the probe (a TensorFlow import); its devices are those the training part reports.
    """
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    found = {"tensorflow": importlib.metadata.version("tensorflow"), "devices": [], "gpus": []}
    if not smoke:
        found = _probe_tensorflow()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit.stdout.strip() or "unknown",
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average": " ".join(f"{load:.1f}" for load in os.getloadavg()),
        "tensorflow": found["tensorflow"],
        "devices": found["gpus"] or found["devices"],
        "gpu": bool(found["gpus"]),
    }


def _probe_tensorflow() -> dict[str, Any]:
    probe = (
        "import json, tensorflow as tf; print(json.dumps({'tensorflow': tf.__version__, "
        "'devices': [d.name for d in tf.config.list_physical_devices()], "
        "'gpus': [tf.config.experimental.get_device_details(g).get('device_name', g.name) "
        "for g in tf.config.list_physical_devices('GPU')]}))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    if completed.returncode != 0:
        raise SystemExit(
            "bench_gpu: TensorFlow does not import in this interpreter "
            f"({sys.executable}); install the project first (README Quickstart).\n" + completed.stderr[-2000:]
        )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="toy sizes on any device (the CI check)")
    parser.add_argument("--out", default=None, help="output folder (default: $OUT, else runs/bench_gpu)")
    parser.add_argument("--parts", default=",".join(PART_NAMES), help="comma-separated among " + ", ".join(PART_NAMES))
    args = parser.parse_args(argv)
    parts = [name.strip() for name in args.parts.split(",") if name.strip()]
    unknown = [name for name in parts if name not in PART_NAMES]
    if unknown or not parts:
        parser.error(f"expected --parts among {', '.join(PART_NAMES)}. Received: {args.parts!r}.")
    out_dir = Path(args.out or os.environ.get("OUT") or ROOT / "runs" / "bench_gpu").resolve()

    report: dict[str, Any] = {"smoke": args.smoke, **environment(args.smoke), "parts": {}}
    if not report["gpu"] and not args.smoke:
        print(
            "bench_gpu: TensorFlow sees no GPU. The full benchmark needs one; "
            "--smoke runs every part at toy sizes on the CPU.",
            file=sys.stderr,
        )
        return 3
    (out_dir / "parts").mkdir(parents=True, exist_ok=True)
    (out_dir / "logs").mkdir(exist_ok=True)
    for name in parts:  # written after each part: a later failure keeps what was measured
        report["parts"][name] = run_part(name, args.smoke, out_dir)
        if name == "training" and not report["devices"] and "result" in report["parts"][name][0]:
            report["devices"] = report["parts"][name][0]["result"]["environment"]["devices"]
        (out_dir / "bench_gpu.json").write_text(json.dumps(report, indent=1, default=float) + "\n")
        (out_dir / "bench_gpu.md").write_text(markdown(report))
    print((out_dir / "bench_gpu.md").read_text())
    failed = [record["part"] for records in report["parts"].values() for record in records if "error" in record]
    if failed:
        print(f"bench_gpu: failed parts: {', '.join(failed)} (logs in {out_dir / 'logs'})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
