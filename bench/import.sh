#!/usr/bin/env bash
# Measures importing each large model with ternc --emit=tern: wall time and
# peak resident memory (GNU time), weights materialized by
# scripts/materialize-models.sh. Prints a Markdown table.
#   bench/import.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
[[ -x /usr/bin/time ]] || { echo "bench/import.sh: needs GNU time (apt-get install time)" >&2; exit 2; }
scripts/materialize-models.sh "$build/models" > /dev/null
echo "| model | input shape | weights (MiB) | import time (s) | peak RSS (MB) |"
echo "|---|---|---|---|---|"
run() {
  local name="$1"; shift
  local model="$build/models/$name.onnx"
  local weights=$(( $(stat -c %s "$model.data") / 1048576 ))
  local out
  out=$( { /usr/bin/time -f "%e %M" "$build/bin/ternc" "$model" "$@" -o /dev/null; } 2>&1 | tail -1)
  read -r secs kb <<< "$out"
  echo "| $name | ${*:-dynamic} | $weights | $secs | $(( kb / 1024 )) |"
}
run gpt2-124m --input-shape input_ids=1x128
run gpt2-124m
run gpt2-124m.int8-dynamic --input-shape input_ids=1x128
run bert-base --input-shape input_ids=1x128 --input-shape attention_mask=1x128 --input-shape token_type_ids=1x128
run resnet50 --input-shape input=1x3x224x224
