// RUN: tern-opt %s --tern-outline-parallel-loops | FileCheck %s

// A task whose loop body allocates on the stack allocates once, at the
// task's entry, not once per iteration (which would grow the stack with
// every iteration the task runs); so does a loop left in @main.
// CHECK-LABEL: func.func private @__tern_task_0
// CHECK-NEXT: %[[S:.+]] = memref.alloca() : memref<64xf32>
// CHECK: scf.parallel
// CHECK-NOT: memref.alloca
// CHECK: memref.store %{{.+}}, %[[S]]
// CHECK-LABEL: func.func @main
// CHECK-NEXT: memref.alloca() : memref<4xf32>
// CHECK: call @__tern_task_0
// CHECK: scf.parallel
// CHECK-NOT: memref.alloca
func.func @main(%a: memref<4096x64xf32>, %b: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c64 = arith.constant 64 : index
  %c4096 = arith.constant 4096 : index
  scf.parallel (%i) = (%c0) to (%c4096) step (%c1) {
    %s = memref.alloca() : memref<64xf32>
    scf.for %j = %c0 to %c64 step %c1 {
      %v = memref.load %a[%i, %j] : memref<4096x64xf32>
      memref.store %v, %s[%j] : memref<64xf32>
    }
    %w = memref.load %s[%c8] : memref<64xf32>
    memref.store %w, %a[%i, %c0] : memref<4096x64xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %t = memref.alloca() : memref<4xf32>
    %v = memref.load %b[%i] : memref<8xf32>
    memref.store %v, %t[%c0] : memref<4xf32>
    %w = memref.load %t[%c0] : memref<4xf32>
    memref.store %w, %b[%i] : memref<8xf32>
    scf.reduce
  }
  return
}
