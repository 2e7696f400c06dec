// RUN: tern-opt %s --tern-externalize-weights | FileCheck %s

// Blob-backed constants move into the weights blob, 64-byte aligned, and are
// read through views of the new argument; small inline constants stay.
// CHECK: module attributes {tern.weights_size = 192 : i64}
// CHECK: memref.global "private" constant @big1 : memref<3xf32> = dense_resource<blob1> {tern.weight_offset = 0 : i64}
// CHECK: memref.global "private" constant @big2 : memref<32xf32> = dense_resource<blob2> {tern.weight_offset = 64 : i64}
// CHECK: memref.global "private" constant @small : memref<2xf32> = dense<1.000000e+00>
// CHECK-NOT: tern.weight_offset
// CHECK-LABEL: func.func @main(%arg0: memref<?xi8> {tern.name = "__weights"})
// CHECK: memref.view %arg0[%c0][] : memref<?xi8> to memref<3xf32>
// CHECK: memref.view %arg0[%c64][] : memref<?xi8> to memref<32xf32>
// CHECK: memref.get_global @small
memref.global "private" constant @big1 : memref<3xf32> = dense_resource<blob1>
memref.global "private" constant @big2 : memref<32xf32> = dense_resource<blob2>
memref.global "private" constant @small : memref<2xf32> = dense<1.0>
func.func @main() -> (memref<3xf32>, memref<32xf32>, memref<2xf32>) {
  %a = memref.get_global @big1 : memref<3xf32>
  %b = memref.get_global @big2 : memref<32xf32>
  %c = memref.get_global @small : memref<2xf32>
  return %a, %b, %c : memref<3xf32>, memref<32xf32>, memref<2xf32>
}
