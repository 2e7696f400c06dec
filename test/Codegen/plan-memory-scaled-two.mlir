// RUN: tern-opt %s --tern-plan-memory | FileCheck %s

// A transformer's temporaries: [batch, sequence, 8] floats, a product of
// the input's two dims, also read through a collapse as [batch x sequence]
// rows; both are planned per unit of batch x sequence (32 bytes each, the
// second at 64). A [sequence, sequence] one (a different product) is left
// to malloc.
// CHECK: module attributes {tern.arena_scaled_by = array<i64: 0, 0, 0, 1>, tern.arena_scaled_size = 96 : i64, tern.arena_size = 0 : i64}
// CHECK: %[[B:.+]] = memref.dim %arg0, %c0
// CHECK: %[[S:.+]] = memref.dim %arg0, %c1
// CHECK: %[[U:.+]] = arith.muli %[[B]], %[[S]]
// CHECK: arith.muli %c0{{.*}}, %[[U]]
// CHECK: memref.view %arg1[%{{.+}}][%{{.+}}, %{{.+}}] : memref<?xi8> to memref<?x?x8xf32>
// CHECK: arith.muli %c64{{.*}}, %[[U]]
// CHECK: memref.view %arg1[%{{.+}}][%{{.+}}] : memref<?xi8> to memref<?x8xf32>
// CHECK: %[[Q:.+]] = memref.alloc(%{{.+}}, %{{.+}}) : memref<?x?xf32>
// CHECK: memref.dealloc %[[Q]]
func.func @main(%x: memref<?x?xf32>) -> memref<4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %f = arith.constant 1.0 : f32
  %b = memref.dim %x, %c0 : memref<?x?xf32>
  %s = memref.dim %x, %c1 : memref<?x?xf32>
  %h = memref.alloc(%b, %s) : memref<?x?x8xf32>
  memref.store %f, %h[%c0, %c0, %c0] : memref<?x?x8xf32>
  %rows = memref.collapse_shape %h [[0, 1], [2]] : memref<?x?x8xf32> into memref<?x8xf32>
  %n = memref.dim %rows, %c0 : memref<?x8xf32>
  %g = memref.alloc(%n) : memref<?x8xf32>
  %v = memref.load %rows[%c0, %c0] : memref<?x8xf32>
  memref.store %v, %g[%c0, %c0] : memref<?x8xf32>
  %q = memref.alloc(%s, %s) : memref<?x?xf32>
  %w = memref.load %g[%c0, %c0] : memref<?x8xf32>
  memref.store %w, %q[%c0, %c0] : memref<?x?xf32>
  %r = memref.alloc() : memref<4xf32>
  %z = memref.load %q[%c0, %c0] : memref<?x?xf32>
  memref.store %z, %r[%c0] : memref<4xf32>
  return %r : memref<4xf32>
}
