#!/usr/bin/env bash
# Semi-discrete OT at N = 10^5 codes in d = 64 on one GPU: the GPU benchmark of docs/benchmarks.md, as one
# script for a machine with a GPU (scripts/bench_ot.py, command `gpu`).
#
# It measures, in one process (after a fresh process for the memory peak):
#   1. one geokeras solver step vs the raw matmul + argmax of the same shape (throughput ratio);
#   2. peak memory: the GPU allocator's peak and the process RSS through a few solver steps;
#   3. geokeras.ot.solve at its defaults to its own stopping rule (tol 0.02), capped at
#      TIME_CAP seconds, judged by the shared evaluator on 2^24 independent points (noise floor
#      about 0.031 at N = 10^5: the floor goal 0.01 needs 2^28 points, too many for one run).
#
# Usage (repository root):   bash scripts/bench_ot_gpu.sh [OUT_DIR]
# Writes OUT_DIR/bench_ot_gpu.json and OUT_DIR/bench_ot_gpu.log (OUT_DIR defaults to $OUT,
# else ./runs/bench_ot_gpu). Needs about 8 minutes on an H100/H200 class GPU.
#
# Requirements: Python with the project's runtime dependencies (requirements.txt) and a GPU
# build of TensorFlow 2.18-2.21 (`pip install "tensorflow[and-cuda]"`). This workplace's GPU
# machine has PyTorch and JAX but no TensorFlow, and the tensorflow wheel (about 600 MB, more
# with its CUDA libraries) is larger than what a device call may carry (64 MiB), so run it on
# a GPU machine with the project's environment. PYTHON overrides the interpreter.
set -euo pipefail

cd "$(dirname "$0")/.."
OUT_DIR="${1:-${OUT:-runs/bench_ot_gpu}}"
TIME_CAP="${TIME_CAP:-300}"
mkdir -p "$OUT_DIR"
if [[ -n "${PYTHON:-}" ]]; then
  :
elif [[ -x .venv/bin/python ]]; then
  PYTHON=.venv/bin/python
else
  PYTHON=python3
fi
export PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2

if ! "$PYTHON" - <<'EOF'
import sys
try:
    import tensorflow as tf
except ImportError:
    sys.exit("bench_ot_gpu: TensorFlow is not installed for this interpreter (see the header of this script).")
if not tf.config.list_physical_devices("GPU"):
    sys.exit(f"bench_ot_gpu: TensorFlow {tf.__version__} sees no GPU; this benchmark needs one.")
print("bench_ot_gpu: TensorFlow", tf.__version__, "GPUs:", tf.config.list_physical_devices("GPU"))
EOF
then
  exit 3
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true

set -o pipefail
"$PYTHON" scripts/bench_ot.py gpu --targets 100000 --dim 64 --time-cap "$TIME_CAP" \
  --json "$OUT_DIR/bench_ot_gpu.json" 2>&1 | tee "$OUT_DIR/bench_ot_gpu.log"
