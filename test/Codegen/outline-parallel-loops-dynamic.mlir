// RUN: tern-opt %s --tern-outline-parallel-loops=min-iterations=1000 | FileCheck %s

// A dim known only at run time (a batch of images, usually 1) is split
// together with the static dim of most iterations: the task numbers the
// pair's iterations as one (image x panels), so that one image still
// feeds every thread. Split along the images alone, a model compiled
// with a dynamic batch ran its pointwise convolutions on one thread.
// CHECK-LABEL: func.func private @__tern_task_0(%arg0: index, %arg1: index, %arg2: memref<?x196x16xf32>, %arg3: index)
// CHECK: scf.parallel (%[[L:.+]]) = (%arg0) to (%arg1) step (%c1
// CHECK: %[[I:.+]] = arith.divui %[[L]], %c196
// CHECK: %[[P:.+]] = arith.remui %[[L]], %c196
// CHECK: memref.store %{{.+}}, %arg2[%[[I]], %[[P]], %{{.+}}]

// The static dim outside the dynamic one, with a step: the dynamic count
// divides, the static iteration scales back by its step.
// CHECK-LABEL: func.func private @__tern_task_1(%arg0: index, %arg1: index, %arg2: memref<64x?xf32>, %arg3: index)
// CHECK: scf.parallel (%[[L:.+]]) = (%arg0) to (%arg1) step (%c1
// CHECK: %[[Q:.+]] = arith.divui %[[L]], %arg3
// CHECK: %[[R:.+]] = arith.remui %[[L]], %arg3
// CHECK: %[[J:.+]] = arith.muli %[[Q]], %c16
// CHECK: memref.store %{{.+}}, %arg2[%[[J]], %[[R]]]

// Must not pair: no other dim is static; the dynamic one is split alone.
// CHECK-LABEL: func.func private @__tern_task_2(%arg0: index, %arg1: index, %arg2: memref<?x?xf32>, %arg3: index, %arg4: index)
// CHECK: scf.parallel (%{{.+}}, %{{.+}}) = (%arg0, %c0{{.*}}) to (%arg1, %arg4)
// CHECK-NOT: arith.divui

// Must not pair: the only static dim is the innermost and short (a row of
// 4 that LLVM vectorizes across rows).
// CHECK-LABEL: func.func private @__tern_task_3(%arg0: index, %arg1: index, %arg2: memref<?x4xf32>, %arg3: index)
// CHECK: scf.parallel (%{{.+}}, %{{.+}}) = (%arg0, %c0{{.*}}) to (%arg1, %c4{{.*}})
// CHECK-NOT: arith.divui

// Must not pair with the innermost dim of a nest of more than two, even
// when it has the most iterations: it must stay the innermost loop (a
// channels-last requantization paired with its channels ran 6-17x slower,
// not vectorized). Here with 56 rows; with 7 (a 7x7 map) as well.
// CHECK-LABEL: func.func private @__tern_task_4(%arg0: index, %arg1: index, %arg2: memref<?x56x256xi8>, %arg3: index)
// CHECK: scf.parallel (%[[L:.+]], %{{.+}}) = (%arg0, %c0{{.*}}) to (%arg1, %c256{{.*}})
// CHECK: arith.divui %[[L]], %c56
// CHECK-LABEL: func.func private @__tern_task_5(%arg0: index, %arg1: index, %arg2: memref<?x7x7x2048xi8>, %arg3: index)
// CHECK: scf.parallel (%[[L:.+]], %{{.+}}, %{{.+}}) = (%arg0, %c0{{.*}}, %c0{{.*}}) to (%arg1, %c7{{.*}}, %c2048{{.*}})
// CHECK: arith.divui %[[L]], %c7

// CHECK-LABEL: func.func @main
// CHECK: %[[N:.+]] = memref.dim %arg0, %c0
// CHECK: %[[NP:.+]] = arith.muli %[[N]], %c196
// CHECK: call @__tern_task_0(%c0{{.*}}, %[[NP]], %arg0, %[[N]])
// CHECK: %[[M:.+]] = memref.dim %arg1, %c1
// CHECK: %[[MP:.+]] = arith.muli %[[M]], %c4
// CHECK: call @__tern_task_1(%c0{{.*}}, %[[MP]], %arg1, %[[M]])
// CHECK: call @__tern_task_2(%c0{{.*}}, %{{.+}}, %arg2, %{{.+}}, %{{.+}})
func.func @main(%a: memref<?x196x16xf32>, %b: memref<64x?xf32>, %c: memref<?x?xf32>, %e: memref<?x4xf32>,
                %g: memref<?x56x256xi8>, %h: memref<?x7x7x2048xi8>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %c64 = arith.constant 64 : index
  %c196 = arith.constant 196 : index
  %f = arith.constant 1.0 : f32
  %n = memref.dim %a, %c0 : memref<?x196x16xf32>
  scf.parallel (%i, %p) = (%c0, %c0) to (%n, %c196) step (%c1, %c1) {
    scf.for %k = %c0 to %c16 step %c1 {
      memref.store %f, %a[%i, %p, %k] : memref<?x196x16xf32>
    }
    scf.reduce
  }
  %m = memref.dim %b, %c1 : memref<64x?xf32>
  scf.parallel (%j, %r) = (%c0, %c0) to (%c64, %m) step (%c16, %c1) {
    memref.store %f, %b[%j, %r] : memref<64x?xf32>
    scf.reduce
  }
  %d0 = memref.dim %c, %c0 : memref<?x?xf32>
  %d1 = memref.dim %c, %c1 : memref<?x?xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%d0, %d1) step (%c1, %c1) {
    memref.store %f, %c[%i, %j] : memref<?x?xf32>
    scf.reduce
  }
  %c4 = arith.constant 4 : index
  %d2 = memref.dim %e, %c0 : memref<?x4xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%d2, %c4) step (%c1, %c1) {
    scf.for %k = %c0 to %c64 step %c1 {
      memref.store %f, %e[%i, %j] : memref<?x4xf32>
    }
    scf.reduce
  }
  %c56 = arith.constant 56 : index
  %c256 = arith.constant 256 : index
  %q = arith.constant 1 : i8
  %d3 = memref.dim %g, %c0 : memref<?x56x256xi8>
  scf.parallel (%i, %j, %k) = (%c0, %c0, %c0) to (%d3, %c56, %c256) step (%c1, %c1, %c1) {
    memref.store %q, %g[%i, %j, %k] : memref<?x56x256xi8>
    scf.reduce
  }
  %c7 = arith.constant 7 : index
  %c2048 = arith.constant 2048 : index
  %d4 = memref.dim %h, %c0 : memref<?x7x7x2048xi8>
  scf.parallel (%i, %j, %k, %l) = (%c0, %c0, %c0, %c0) to (%d4, %c7, %c7, %c2048) step (%c1, %c1, %c1, %c1) {
    memref.store %q, %h[%i, %j, %k, %l] : memref<?x7x7x2048xi8>
    scf.reduce
  }
  return
}
