// RUN: tern-opt %s --tern-to-linalg --canonicalize --cse | FileCheck %s
// RUN: tern-opt %s --tern-to-linalg --canonicalize --cse | FileCheck %s --check-prefix=ADDS

// F(2x2, 3x3) on a 5 x 6 input padded by 1: 3 x 3 tiles of 2 x 2 (the
// last tile row overhangs the 5 output rows), channels 8 (one vector).
// 1. The input read channels-last, zero-padded to whole tiles (8 x 8).
// CHECK-LABEL: func.func @winograd
// CHECK: %[[T:.+]] = linalg.generic {{.*}} ins(%arg0 : tensor<1x8x5x6xf32>) outs(%{{.+}} : tensor<1x5x6x8xf32>)
// CHECK: %[[PT:.+]] = tensor.pad %[[T]] low[0, 1, 1, 0] high[0, 2, 1, 0]
// CHECK: tensor<1x5x6x8xf32> to tensor<1x8x8x8xf32>
// 2. B^T d B per tile, 16 transformed taps by 9 tiles by 8 channels:
//    adds and subtracts only (B's entries are 0 and +-1).
// CHECK: %[[V:.+]] = scf.forall (%[[I:.+]], %[[J:.+]]) in (3, 3) shared_outs(%[[VS:.+]] = %{{.+}}) -> (tensor<16x9x8xf32>)
// CHECK-COUNT-16: vector.transfer_read %[[PT]]{{.*}} : tensor<1x8x8x8xf32>, vector<8xf32>
// CHECK: arith.subf
// CHECK-COUNT-16: vector.transfer_write {{.*}} : vector<8xf32>, tensor<16x8xf32>
// CHECK: tensor.parallel_insert_slice {{.*}} into %[[VS]]
// ADDS: scf.forall
// ADDS-NOT: {{vector.fma|arith.mulf}}
// ADDS: tensor.parallel_insert_slice
// 3. One matmul per tap: [9 tiles, 8] x u[tap] [8, 16].
// CHECK: %[[P:.+]] = linalg.generic {indexing_maps = [#[[A:.+]], #[[B:.+]], #[[C:.+]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[V]], %arg1 : tensor<16x9x8xf32>, tensor<16x8x16xf32>)
// 4. A^T p A plus the bias, 2 x 2 outputs per tile, 8 filters at a time.
// CHECK: %[[YT:.+]] = scf.forall {{.*}} in (3, 3) {{.*}} -> (tensor<1x6x6x16xf32>)
// CHECK: scf.for %[[F:.+]] = %c0 to %c16 step %c8
// CHECK: %[[BIAS:.+]] = vector.transfer_read %arg2[%[[F]]]
// CHECK-COUNT-16: vector.transfer_read %[[P]]
// CHECK-COUNT-4: arith.addf {{.*}}, %[[BIAS]]
// 5. The result read back from channels-last, the overhang dropped.
// CHECK: %[[CROP:.+]] = tensor.extract_slice %[[YT]][0, 0, 0, 0] [1, 5, 6, 16] [1, 1, 1, 1]
// CHECK: linalg.generic {{.*}} ins(%[[CROP]] : tensor<1x5x6x16xf32>) outs(%{{.+}} : tensor<1x16x5x6xf32>)
func.func @winograd(%x: tensor<1x8x5x6xf32>, %u: tensor<16x8x16xf32>, %b: tensor<16xf32>) -> tensor<1x16x5x6xf32> {
  %y = tern.winograd_conv %x, %u, %b {tile = 2 : i64, pads = array<i64: 1, 1, 1, 1>}
      : (tensor<1x8x5x6xf32>, tensor<16x8x16xf32>, tensor<16xf32>) -> tensor<1x16x5x6xf32>
  return %y : tensor<1x16x5x6xf32>
}
