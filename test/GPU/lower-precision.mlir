// RUN: tern-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(tern-lower-precision))' | FileCheck %s
// RUN: tern-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(tern-lower-precision{type=bf16}))' | FileCheck %s --check-prefix=BF16

// A matmul: the constant weight becomes an f16 constant (1.0 = 0x3C00,
// -2.5 = 0xC100, 65520 rounds to infinity), the activation is truncated by
// an elementwise op, the body extends both and multiplies and adds in f32.
// CHECK-LABEL: func.func @matmul
// CHECK: %[[T:.*]] = linalg.generic {{.*}} ins(%arg0 : tensor<4x2xf32>) outs(%{{.*}} : tensor<4x2xf16>)
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK: %[[W:.*]] = arith.constant dense<{{\[\[}}1.000000e+00, -2.500000e+00], [0x7C00, 0.000000e+00]]> : tensor<2x2xf16>
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]{{.*}} ins(%[[T]], %[[W]] : tensor<4x2xf16>, tensor<2x2xf16>) outs(%{{.*}} : tensor<4x2xf32>)
// CHECK-NEXT: ^bb0(%[[A:.*]]: f16, %[[B:.*]]: f16, %[[C:.*]]: f32):
// CHECK-DAG: arith.extf %[[A]] : f16 to f32
// CHECK-DAG: arith.extf %[[B]] : f16 to f32
// CHECK: arith.mulf {{.*}} : f32
// CHECK: arith.addf {{.*}} : f32
// BF16-LABEL: func.func @matmul
// BF16: arith.truncf %{{.*}} : f32 to bf16
// BF16: arith.constant dense<{{\[\[}}1.000000e+00, -2.500000e+00], [6.553600e+04, 0.000000e+00]]> : tensor<2x2xbf16>
// BF16: ^bb0(%{{.*}}: bf16, %{{.*}}: bf16, %{{.*}}: f32):
func.func @matmul(%a: tensor<4x2xf32>) -> tensor<4x2xf32> {
  %w = arith.constant dense<[[1.0, -2.5], [65520.0, 0.0]]> : tensor<2x2xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x2xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<4x2xf32>) -> tensor<4x2xf32>
  %r = linalg.matmul ins(%a, %w : tensor<4x2xf32>, tensor<2x2xf32>) outs(%init : tensor<4x2xf32>) -> tensor<4x2xf32>
  return %r : tensor<4x2xf32>
}

// -----

// Must not fire: a sum (no product) and an integer matmul keep their types.
// CHECK-LABEL: func.func @not_contractions
// CHECK-NOT: f16
// CHECK: return
func.func @not_contractions(%a: tensor<4x8xf32>, %x: tensor<4x8xi32>, %y: tensor<8x2xi32>) -> (tensor<4xf32>, tensor<4x2xi32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %s = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                       iterator_types = ["parallel", "reduction"]} ins(%a : tensor<4x8xf32>) outs(%init : tensor<4xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %t = arith.addf %in, %acc : f32
    linalg.yield %t : f32
  } -> tensor<4xf32>
  %zi = arith.constant 0 : i32
  %ei = tensor.empty() : tensor<4x2xi32>
  %initi = linalg.fill ins(%zi : i32) outs(%ei : tensor<4x2xi32>) -> tensor<4x2xi32>
  %m = linalg.matmul ins(%x, %y : tensor<4x8xi32>, tensor<8x2xi32>) outs(%initi : tensor<4x2xi32>) -> tensor<4x2xi32>
  return %s, %m : tensor<4xf32>, tensor<4x2xi32>
}
