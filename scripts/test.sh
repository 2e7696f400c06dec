#!/usr/bin/env bash
# Builds tern (installing what is missing) and runs the whole test suite:
# lit tests for the dialect, importer, passes and tools, the shared models,
# and the importer's fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --tests
ninja -C build -j2 tern-test-deps
# The shared models' graph-only files get deterministic weights once.
scripts/materialize-models.sh build/models
/usr/lib/llvm-22/bin/lit -sv --time-tests build/test "$@"
