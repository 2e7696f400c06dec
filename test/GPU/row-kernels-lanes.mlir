// RUN: not tern-opt %s --pass-pipeline='builtin.module(func.func(tern-gpu-row-kernels{lanes=3}))' 2>&1 | FileCheck %s

// A row is run by a warp (32 lanes) or, emulated, one thread; the lanes'
// butterfly needs a power of 2 up to a warp.
// CHECK: error: tern-gpu-row-kernels: lanes must be a power of 2 from 1 to 32
func.func @f() {
  return
}
