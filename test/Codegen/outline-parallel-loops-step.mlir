// RUN: tern-opt %s --tern-outline-parallel-loops=min-iterations=1000 | FileCheck %s

// A dim with a constant step: the task gets iteration numbers and scales
// them back (iterations [lo, hi) are values [lo * 8, min(hi * 8, 1024));
// 1024 / 8 = 128 of them).
// CHECK-LABEL: func.func private @__tern_task_0(%arg0: index, %arg1: index, %arg2: memref<1024x32xf32>)
// CHECK: %[[LO:.+]] = arith.muli %arg0, %c8
// CHECK: %[[HI:.+]] = arith.muli %arg1, %c8
// CHECK: %[[UB:.+]] = arith.minsi %[[HI]], %c1024
// CHECK: scf.parallel (%{{.+}}) = (%[[LO]]) to (%[[UB]]) step (%c8
// CHECK-LABEL: func.func @main
// CHECK: call @__tern_task_0(%c0{{.*}}, %c128{{.*}}, %arg0)
func.func @main(%a: memref<1024x32xf32>) {
  %c0 = arith.constant 0 : index
  %c8 = arith.constant 8 : index
  %c1024 = arith.constant 1024 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %f = arith.constant 1.0 : f32
  scf.parallel (%i) = (%c0) to (%c1024) step (%c8) {
    scf.for %j = %c0 to %c32 step %c1 {
      memref.store %f, %a[%i, %j] : memref<1024x32xf32>
    }
    scf.reduce
  }
  return
}
