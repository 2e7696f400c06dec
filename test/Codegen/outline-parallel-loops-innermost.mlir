// RUN: tern-opt %s --tern-outline-parallel-loops=min-iterations=1024 | FileCheck %s

// The threads split an outer dim with enough iterations rather than the
// innermost one, even when that one has more: split along the 256
// channels, each task's rows were a few elements (not vectorized) and two
// threads wrote the same cache lines (a [56, 56, 256] requantization ran
// 5.6x slower on two threads than on one).
// CHECK-LABEL: func.func private @__tern_task_0
// CHECK: scf.parallel (%{{.+}}, %{{.+}}) = (%arg0, %c0{{.*}}) to (%arg1, %c256{{.*}})
// CHECK-LABEL: func.func private @__tern_task_1
// CHECK: scf.parallel (%{{.+}}, %{{.+}}) = (%c0{{.*}}, %arg0) to (%c4{{.*}}, %arg1)
// CHECK-LABEL: func.func @main
// CHECK: call @__tern_task_0(%c0{{.*}}, %c56{{.*}}, %arg0)
// Must not: an outer dim too short for the threads leaves the innermost.
// CHECK: call @__tern_task_1(%c0{{.*}}, %c256{{.*}}, %arg1)
func.func @main(%a: memref<56x256xi8>, %b: memref<4x256xi8>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c56 = arith.constant 56 : index
  %c256 = arith.constant 256 : index
  %x = arith.constant 1 : i8
  scf.parallel (%i, %j) = (%c0, %c0) to (%c56, %c256) step (%c1, %c1) {
    memref.store %x, %a[%i, %j] : memref<56x256xi8>
    scf.reduce
  }
  scf.parallel (%i, %j) = (%c0, %c0) to (%c4, %c256) step (%c1, %c1) {
    memref.store %x, %b[%i, %j] : memref<4x256xi8>
    scf.reduce
  }
  return
}
