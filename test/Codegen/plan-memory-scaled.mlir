// RUN: tern-opt %s --tern-plan-memory | FileCheck %s
// RUN: tern-opt %s --tern-plan-memory=scale-with-inputs=false | FileCheck %s --check-prefix=OFF

// Temporaries sized by a multiple of an input's dim (a batch known at run
// time) share the arena after its static bytes (16, rounded up to 64):
// placed by their bytes per unit of that dim, largest first (%b, 2 x 4
// floats per unit, at 0; %a, 4 floats, live at the same time, at 64), at
// offsets the run multiplies by the dim. The runtime lends 64 + 80 x N
// bytes. Malloc'd per run, they had cost a model compiled with a dynamic
// batch page faults and cold caches on every run. (%t's size, 4 floats
// per unit, is traced through a collapse of %a to the input; %b's through
// %a's allocation; %t, done before %b, reuses %b's bytes.)
// CHECK: module attributes {tern.arena_scaled_by = array<i64: 1, 0>, tern.arena_scaled_size = 80 : i64, tern.arena_size = 16 : i64}
// CHECK-LABEL: func.func @main(%arg0: memref<4xf32>, %arg1: memref<?x4xf32>, %arg2: memref<?xi8> {tern.name = "__arena"})
// CHECK: %[[N:.+]] = memref.dim %arg1, %c0
// CHECK: memref.view %arg2[%c0{{.*}}][] : memref<?xi8> to memref<4xf32>
// CHECK: %[[OA:.+]] = arith.muli %c64{{.*}}, %[[N]]
// CHECK: %[[OA2:.+]] = arith.addi %[[OA]], %c64
// CHECK: %[[A:.+]] = memref.view %arg2[%[[OA2]]][%{{.+}}] : memref<?xi8> to memref<?x4xf32>
// CHECK: linalg.copy ins(%arg1 : memref<?x4xf32>) outs(%[[A]] : memref<?x4xf32>)
// CHECK: %[[OT:.+]] = arith.muli %c0{{.*}}, %[[N]]
// CHECK: %[[OT2:.+]] = arith.addi %[[OT]], %c64
// CHECK: %[[T:.+]] = memref.view %arg2[%[[OT2]]][%{{.+}}] : memref<?xi8> to memref<?xf32>
// CHECK: linalg.copy ins(%{{.+}} : memref<?xf32>) outs(%[[T]] : memref<?xf32>)
// CHECK: %[[OB:.+]] = arith.muli %c0{{.*}}, %[[N]]
// CHECK: %[[OB2:.+]] = arith.addi %[[OB]], %c64
// CHECK: memref.view %arg2[%[[OB2]]][%{{.+}}] : memref<?xi8> to memref<?x4xf32>
// CHECK-NOT: memref.dealloc
// CHECK: return

// Must not, for a runtime that lends a fixed arena (the GPU's): allocated
// and freed around their uses.
// OFF: module attributes {tern.arena_size = 16 : i64}
// OFF: %[[A:.+]] = memref.alloc(%{{.+}}) : memref<?x4xf32>
// OFF: memref.alloc(%{{.+}}) : memref<?xf32>
// OFF: %[[B:.+]] = memref.alloc(%{{.+}}) : memref<?x4xf32>
// OFF: memref.dealloc %[[A]]
// OFF: memref.dealloc %[[B]]
func.func @main(%y: memref<4xf32>, %x: memref<?x4xf32>) -> memref<4xf32> {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %s = memref.alloc() : memref<4xf32>
  linalg.copy ins(%y : memref<4xf32>) outs(%s : memref<4xf32>)
  %n = memref.dim %x, %c0 : memref<?x4xf32>
  %a = memref.alloc(%n) : memref<?x4xf32>
  linalg.copy ins(%x : memref<?x4xf32>) outs(%a : memref<?x4xf32>)
  %ac = memref.collapse_shape %a [[0, 1]] : memref<?x4xf32> into memref<?xf32>
  %nc = memref.dim %ac, %c0 : memref<?xf32>
  %t = memref.alloc(%nc) : memref<?xf32>
  linalg.copy ins(%ac : memref<?xf32>) outs(%t : memref<?xf32>)
  %na = memref.dim %a, %c0 : memref<?x4xf32>
  %m = arith.muli %na, %c2 : index
  %b = memref.alloc(%m) : memref<?x4xf32>
  %v = memref.load %a[%c0, %c0] : memref<?x4xf32>
  memref.store %v, %b[%c0, %c0] : memref<?x4xf32>
  %r = memref.alloc() : memref<4xf32>
  linalg.copy ins(%s : memref<4xf32>) outs(%r : memref<4xf32>)
  %w = memref.load %b[%c0, %c0] : memref<?x4xf32>
  memref.store %w, %r[%c0] : memref<4xf32>
  return %r : memref<4xf32>
}
