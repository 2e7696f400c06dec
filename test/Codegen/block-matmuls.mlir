// RUN: tern-opt %s --tern-block-matmuls --split-input-file | FileCheck %s

// A matmul becomes a parallel loop over 32 x 256 blocks of its output, each
// a smaller matmul (the edge blocks smaller still).
// CHECK-LABEL: func.func @matmul
// CHECK: scf.forall (%[[I:.+]], %[[J:.+]]) = (0, 0) to (100, 300) step (32, 256) shared_outs
// CHECK: linalg.matmul ins(%{{.+}}, %{{.+}} : tensor<?x64xf32>, tensor<64x?xf32>) outs(%{{.+}} : tensor<?x?xf32>)
// CHECK: tensor.parallel_insert_slice
func.func @matmul(%a: tensor<100x64xf32>, %b: tensor<64x300xf32>, %c: tensor<100x300xf32>) -> tensor<100x300xf32> {
  %0 = linalg.matmul ins(%a, %b : tensor<100x64xf32>, tensor<64x300xf32>) outs(%c : tensor<100x300xf32>) -> tensor<100x300xf32>
  return %0 : tensor<100x300xf32>
}

// -----

// Must not fire: matmuls on buffers, and other linalg ops.
// CHECK-LABEL: func.func @others
// CHECK-NOT: scf.forall
// CHECK: linalg.matmul ins(%arg0, %arg1 : memref<4x4xf32>, memref<4x4xf32>)
// CHECK: linalg.generic
func.func @others(%a: memref<4x4xf32>, %b: memref<4x4xf32>, %c: memref<4x4xf32>, %x: tensor<4xf32>) -> tensor<4xf32> {
  linalg.matmul ins(%a, %b : memref<4x4xf32>, memref<4x4xf32>) outs(%c : memref<4x4xf32>)
  %0 = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%x : tensor<4xf32>) outs(%x : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<4xf32>
  return %0 : tensor<4xf32>
}
