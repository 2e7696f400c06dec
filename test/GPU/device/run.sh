#!/bin/bash
# Runs tern's GPU checks on a machine with an NVIDIA GPU (CUDA driver; no
# LLVM needed): the bundle test/GPU/device/prepare.py made on the build
# machine. From the repository root:
#
#   test/GPU/device/run.sh [BUNDLE]        (default: gpu-bundle)
#
# Prints one line per check and a summary (see run_bundle.py); exit 1 when a
# check fails. Whole logs go to $OUT when it is set (the device tool's
# folder that comes back), else to BUNDLE/out.
set -u -o pipefail
BUNDLE=${1:-gpu-bundle}
cd "$BUNDLE" || exit 2
export LD_LIBRARY_PATH="$PWD/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PYTHONUNBUFFERED=1
LOG=${OUT:-$PWD/out}
mkdir -p "$LOG" out
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || echo "run.sh: no nvidia-smi"
timeout 420 ${PYTHON:-python3} run_bundle.py 2>&1 | tee "$LOG/gpu-run.log"
