#!/usr/bin/env bash
# Builds tern (installing what is missing) and runs the whole test suite:
# lit tests for the dialect, importer, passes and tools, the runtime under
# sanitizers, ONNX conformance, the shared models against ONNX Runtime,
# AArch64 under qemu, and the importer's fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --tests
ninja -C build -j2 tern-test-deps
# ONNX Runtime (the reference for the model tests): its install script would
# download a GPU provider, which the CPU package does not need.
if [[ ! -d bench/node_modules/onnxruntime-node ]]; then
  (cd bench && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund --loglevel=error)
fi
# The shared models' graph-only files get deterministic weights once.
scripts/materialize-models.sh build/models
/usr/lib/llvm-22/bin/lit -sv --time-tests build/test "$@"
