#!/usr/bin/env bash
# The runtime's size, and for each shared model compiled with pinned shapes:
# compile time, the compiler's peak memory, the library and weights sizes and
# the planned activation arena (the peak memory of a run's temporaries, its
# outputs aside), as a Markdown table.
#   bench/memory.sh [BUILD]        (default build/; graph-only models from BUILD/models)
# A model's arguments are input shapes, or ternc flags (--quantize=...).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shared=../shared/models
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "runtime: libtern_runtime.so $(stat -c %s "$build/lib/libtern_runtime.so") bytes" \
     "(text $(size -A "$build/lib/libtern_runtime.so" | awk '$1==".text"{print $2}') bytes)," \
     "libtern_runtime.a $(stat -c %s "$build/lib/libtern_runtime.a") bytes"
echo
echo "| model | input shapes | compile s | compiler peak MB | library KB | weights MB | arena MB |"
echo "|---|---|---|---|---|---|---|"
model() { # NAME FILE SHAPES...
  local name=$1 file=$2
  shift 2
  local args=()
  for s in "$@"; do
    if [[ $s == --* ]]; then args+=("$s"); else args+=(--input-shape "$s"); fi # ternc flags pass through
  done
  [[ -f $file ]] || { echo "| $name | (missing: $file) | | | | | |"; return; }
  /usr/bin/time -f "%e %M" -o "$work/time" "$build/bin/ternc" "$file" -o "$work/$name.so" -v "${args[@]}" \
    2> "$work/log" || { echo "| $name | $* | failed | | | | |"; return; }
  read -r secs kb < "$work/time"
  local weights arena
  weights=$(sed -n 's/.*(weights \([0-9]*\) bytes, arena \([0-9]*\) bytes).*/\1/p' "$work/log")
  arena=$(sed -n 's/.*(weights \([0-9]*\) bytes, arena \([0-9]*\) bytes).*/\2/p' "$work/log")
  printf "| %s | %s | %.1f | %d | %d | %.1f | %.2f |\n" "$name" "$*" "$secs" $((kb / 1024)) \
    $(($(stat -c %s "$work/$name.so") / 1024)) "$(echo "$weights / 1048576" | bc -l)" \
    "$(echo "$arena / 1048576" | bc -l)"
}
model digits-mlp models/digits-mlp.onnx input=1x64
model resnet50 "$build/models/resnet50.onnx" input=1x3x224x224
model mobilenetv2 $shared/mobilenetv2.onnx input=1x3x224x224
model bert-base "$build/models/bert-base.onnx" input_ids=1x128 attention_mask=1x128 token_type_ids=1x128
model gpt2-124m "$build/models/gpt2-124m.onnx" input_ids=1x128
model gpt2-124m-seq1 "$build/models/gpt2-124m.onnx" input_ids=1x1
model llama-tiny $shared/llama-tiny.onnx input_ids=1x128
model resnet50.int8-qdq "$build/models/resnet50.int8-qdq.onnx" input=1x3x224x224
model gpt2-124m.int8-dynamic "$build/models/gpt2-124m.int8-dynamic.onnx" input_ids=1x128
model llama-tiny.int4 $shared/llama-tiny.int4-matmulnbits.onnx input_ids=1x128
model gpt2-124m-seq1.tern-int4 "$build/models/gpt2-124m.onnx" --quantize=int4-weight input_ids=1x1
model gpt2-124m.tern-int8 "$build/models/gpt2-124m.onnx" --quantize=int8-dynamic input_ids=1x128
