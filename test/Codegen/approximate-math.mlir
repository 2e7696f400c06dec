// RUN: tern-opt %s --tern-approximate-math --split-input-file | FileCheck %s

// tanh, exp and erf in f32 (scalars or vectors) become arith ops; a cube
// becomes two multiplications.
// CHECK-LABEL: func.func @approximated
// CHECK-NOT: math.tanh
// CHECK-NOT: math.exp
// CHECK-NOT: math.erf
// CHECK-NOT: math.powf
// CHECK: arith.mulf %arg0, %arg0
// CHECK: return
func.func @approximated(%x: f32, %v: vector<16xf32>) -> (f32, vector<16xf32>, f32, f32) {
  %three = arith.constant 3.0 : f32
  %0 = math.tanh %x : f32
  %1 = math.exp %v : vector<16xf32>
  %2 = math.erf %x : f32
  %3 = math.powf %x, %three : f32
  return %0, %1, %2, %3 : f32, vector<16xf32>, f32, f32
}

// -----

// Must not fire: f64 (no approximation as accurate as libm's), functions
// without one (sin), and powers with a run-time exponent.
// CHECK-LABEL: func.func @kept
// CHECK: math.tanh %{{.+}} : f64
// CHECK: math.sin %{{.+}} : f32
// CHECK: math.powf %arg1, %arg2 : f32
func.func @kept(%d: f64, %x: f32, %y: f32) -> (f64, f32, f32) {
  %0 = math.tanh %d : f64
  %1 = math.sin %x : f32
  %2 = math.powf %x, %y : f32
  return %0, %1, %2 : f64, f32, f32
}
