// RUN: tern-opt %s --tern-to-linalg --canonicalize --split-input-file | FileCheck %s
// RUN: tern-opt %s --tern-to-linalg --canonicalize --split-input-file | FileCheck %s --check-prefix=NOSCORES

// Grouped-query attention (8 query heads, 2 key/value heads) with a mask:
// a parallel loop over (head, tile of 32 queries); each tile walks the 128
// keys in two blocks of 64 carrying the running max, sum and output
// ([32], [32], [32x16]). The scores exist only as a [64 keys x 32 queries]
// block; nothing of the [128 x 128] score matrix is made. The query tile
// comes from q transposed once; key/value head h / 4.
// CHECK-LABEL: func.func @gqa
// CHECK: %[[QT:.+]] = linalg.generic {{.+}} ins(%arg0 : tensor<1x8x128x16xf32>) outs(%{{.+}} : tensor<1x8x16x128xf32>)
// CHECK: %[[MT:.+]] = linalg.generic {{.+}} ins(%{{.+}} : tensor<1x1x128x128xf32>) outs(%{{.+}} : tensor<1x1x128x128xf32>)
// CHECK: scf.forall (%[[H:.+]], %[[T:.+]]) in (8, 4) shared_outs(%{{.+}} = %{{.+}}) -> (tensor<1x8x128x16xf32>)
// CHECK: arith.divui %[[H]], %c4
// CHECK: tensor.extract_slice %[[QT]][0, %[[H]], 0, %{{.+}}] [1, 1, 16, 32] [1, 1, 1, 1] : tensor<1x8x16x128xf32> to tensor<16x32xf32>
// CHECK: scf.for %{{.+}} = %c0 to %c2 step %c1 iter_args(%{{.+}} = %{{.+}}, %{{.+}} = %{{.+}}, %{{.+}} = %{{.+}}) -> (tensor<32xf32>, tensor<32xf32>, tensor<32x16xf32>)
// CHECK: linalg.matmul ins(%{{.+}}, %{{.+}} : tensor<64x16xf32>, tensor<16x32xf32>) outs(%{{.+}} : tensor<64x32xf32>)
// CHECK: arith.maximumf
// CHECK: math.exp
// CHECK: math.exp
// CHECK: scf.yield
// CHECK: arith.divf
// CHECK: scf.forall.in_parallel
// No tensor holds the scores of all 8 heads (the mask is 1x1x128x128).
// NOSCORES-NOT: 8x128x128xf32
func.func @gqa(%q: tensor<1x8x128x16xf32>, %k: tensor<1x2x128x16xf32>, %v: tensor<1x2x128x16xf32>,
               %mask: tensor<128x128xf32>) -> tensor<1x8x128x16xf32> {
  %o = tern.attention %q, %k, %v, %mask {scale = 0.25 : f32} : (tensor<1x8x128x16xf32>, tensor<1x2x128x16xf32>, tensor<1x2x128x16xf32>, tensor<128x128xf32>) -> tensor<1x8x128x16xf32>
  return %o : tensor<1x8x128x16xf32>
}

// -----

// Causal, no mask, one query (decoding): the key positions after the
// query's (aligned at the end) are -inf.
// CHECK-LABEL: func.func @causal
// CHECK: scf.forall
// CHECK: linalg.index 0
// CHECK: arith.cmpi sgt
// CHECK: arith.select
func.func @causal(%q: tensor<1x2x1x8xf32>, %k: tensor<1x2x6x8xf32>, %v: tensor<1x2x6x8xf32>) -> tensor<1x2x1x8xf32> {
  %o = tern.attention %q, %k, %v {scale = 0.35 : f32, causal = true} : (tensor<1x2x1x8xf32>, tensor<1x2x6x8xf32>, tensor<1x2x6x8xf32>) -> tensor<1x2x1x8xf32>
  return %o : tensor<1x2x1x8xf32>
}
