#!/usr/bin/env bash
# Installs the Debian packages tern needs (only those missing), then configures
# and builds tern in build/. Idempotent: a second run only rebuilds what changed.
#   scripts/setup.sh            # compiler packages (libclang-rt for the fuzz target), build
#   scripts/setup.sh --tests    # also the packages the test suite uses
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(cmake ninja-build clang-22 lld-22 llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools
          liblld-22-dev zlib1g-dev libzstd-dev
          libprotobuf-dev protobuf-compiler libonnx-dev ccache libclang-rt-22-dev)
if [[ "${1:-}" == "--tests" ]]; then
  packages+=(python3-onnx python3-numpy python3-matplotlib time libonnx-testdata
             qemu-user gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross)
  command -v npm >/dev/null || packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if (( ${#missing[@]} )); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Configure every time (quick once configured): tools found only after the
# test packages were installed, such as the AArch64 cross compilers, are
# picked up then.
if [[ ! -f build/build.ninja ]]; then
  cmake -G Ninja -S . -B build \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DLLVM_USE_LINKER=lld \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit
else
  cmake build > /dev/null
fi
ninja -C build -j2
