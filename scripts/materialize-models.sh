#!/usr/bin/env bash
# Writes deterministic random weights for the graph-only models of
# ../shared/models (*.graph.onnx) into DIR, once; later runs reuse them.
set -euo pipefail
out="${1:?usage: materialize-models.sh DIR}"
shared="$(cd "$(dirname "$0")/../.." && pwd)/shared"
if [[ ! -d "$shared/models" ]]; then
  echo "materialize-models: $shared/models not found; model tests will be skipped"
  exit 0
fi
mkdir -p "$out"
for graph in "$shared"/models/*.graph.onnx; do
  name="$(basename "$graph" .graph.onnx)"
  if [[ ! -f "$out/$name.onnx" || ! -f "$out/$name.onnx.data" ]]; then
    echo "materialize-models: $name"
    /usr/bin/python3 "$shared/tools/materialize-weights" "$graph" "$out" > /dev/null
  fi
done
