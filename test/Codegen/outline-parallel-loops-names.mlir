// RUN: tern-opt %s --tern-outline-parallel-loops | FileCheck %s

// A task is named after the ONNX node its loop came from (the first name
// in its location, other characters than letters and digits as '_'), so
// that a profile of the compiled model names the node each task runs; a
// loop without a name keeps the bare number.
// CHECK: func.func private @__tern_task_0_features_0_Conv(
// CHECK: func.func private @__tern_task_1(
// CHECK-LABEL: func.func @main
// CHECK: call @__tern_task_0_features_0_Conv(
// CHECK: call @__tern_task_1(
func.func @main(%a: memref<512x64xf32>, %b: memref<512x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %c512 = arith.constant 512 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c512, %c64) step (%c1, %c1) {
    %v = memref.load %a[%i, %j] : memref<512x64xf32>
    memref.store %v, %b[%i, %j] : memref<512x64xf32>
    scf.reduce
  } loc(fused["/features.0/Conv", "x.mlir":3:4])
  scf.parallel (%i, %j) = (%c0, %c0) to (%c512, %c64) step (%c1, %c1) {
    %v = memref.load %b[%i, %j] : memref<512x64xf32>
    memref.store %v, %a[%i, %j] : memref<512x64xf32>
    scf.reduce
  }
  return
}
