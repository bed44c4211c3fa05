#!/usr/bin/env bash
# The GPU benchmark of docs/benchmarks.md as one prepared script: training throughput (spec-built vs
# hand-written Keras), semi-discrete OT at N = 10^5 / 2x10^5 codes in d = 64 / 100, and exact region
# counts of 2-w-w-w-1 networks at w = 128 / 256 (numpy and TensorFlow counters). scripts/bench_gpu.py
# runs each part in a fresh process and writes OUT_DIR/bench_gpu.json and OUT_DIR/bench_gpu.md.
#
# Usage (any folder):   bash scripts/bench_gpu.sh [--smoke] [--out OUT_DIR] [--parts training,ot,regions]
#   --smoke   every part at toy sizes on any device (CI runs this on the CPU so the script never rots)
# OUT_DIR defaults to $OUT, else runs/bench_gpu. The full run needs a GPU that TensorFlow sees (exit
# status 3 otherwise) and takes about 30-60 minutes on an H100/H200-class GPU.
#
# Requirements: the project's environment (README Quickstart) with a GPU build of TensorFlow
# (`pip install "tensorflow[and-cuda]"` in the same range as requirements.txt). PYTHON overrides the
# interpreter (default: .venv/bin/python when it exists, else python3).
set -euo pipefail

cd "$(dirname "$0")/.."
if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
if [[ " $* " != *" --smoke "* ]] && command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
fi
exec "$PYTHON" scripts/bench_gpu.py "$@"
