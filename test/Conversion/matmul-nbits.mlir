// RUN: tern-opt %s --tern-to-linalg --canonicalize --split-input-file | FileCheck %s

// MatMulNBits with constant 4-bit weights: unpacked at compile time to one
// value per byte, Q [k, n] (column 0: bytes 0x21, 0x43 -> 1, 2, 3, 4;
// column 1: 0xF0, 0x0E -> 0, 15, 14, 0; one block of 16), with each block's scale and
// offset (-zero * scale, the zero point 8 by default) per column; the
// contraction dequantizes each weight in its body.
// CHECK-LABEL: func.func @constant_weights
// CHECK-DAG: %[[Q:.+]] = arith.constant dense<{{\[\[}}1, 0], [2, 15], [3, 14], [4, 0]]> : tensor<4x2xi8>
// CHECK-DAG: %[[S:.+]] = arith.constant dense<{{\[\[}}5.000000e-01, 2.000000e+00]]> : tensor<1x2xf32>
// CHECK-DAG: %[[Z:.+]] = arith.constant dense<{{\[\[}}-4.000000e+00, -1.600000e+01]]> : tensor<1x2xf32>
// CHECK: linalg.generic {{.+}} ins(%{{.+}}, %[[Q]], %[[S]], %[[Z]] : tensor<3x4xf32>, tensor<4x2xi8>, tensor<1x2xf32>, tensor<1x2xf32>)
// CHECK: arith.uitofp
// CHECK-NEXT: arith.mulf
// CHECK-NEXT: arith.addf
// CHECK-NEXT: arith.mulf
// CHECK-NEXT: arith.addf
// CHECK-NOT: tern.int8_activations
func.func @constant_weights(%a: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = tern.constant dense<[[[33, 67, 0, 0, 0, 0, 0, 0]], [[240, 14, 0, 0, 0, 0, 0, 0]]]> : tensor<2x1x8xui8>
  %s = tern.constant dense<[0.5, 2.0]> : tensor<2xf32>
  %y = tern.matmul_nbits %a, %w, %s {k = 4 : i64, n = 2 : i64, bits = 4 : i64, block_size = 16 : i64}
       : (tensor<3x4xf32>, tensor<2x1x8xui8>, tensor<2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

// accuracy_level 4 (int8): the contraction is marked for a kernel that may
// quantize A to int8 (tern-vectorize-contractions).
// CHECK-LABEL: func.func @int8_accuracy
// CHECK: linalg.generic
// CHECK-SAME: tern.int8_activations
func.func @int8_accuracy(%a: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = tern.constant dense<[[[33, 67, 0, 0, 0, 0, 0, 0]], [[240, 14, 0, 0, 0, 0, 0, 0]]]> : tensor<2x1x8xui8>
  %s = tern.constant dense<[0.5, 2.0]> : tensor<2xf32>
  %y = tern.matmul_nbits %a, %w, %s {k = 4 : i64, n = 2 : i64, bits = 4 : i64, block_size = 16 : i64, accuracy_level = 4 : i64}
       : (tensor<3x4xf32>, tensor<2x1x8xui8>, tensor<2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

// Run-time weights: unpacked per run into a float matrix, then a matmul.
// CHECK-LABEL: func.func @runtime_weights
// CHECK: tensor.extract %arg1
// CHECK: linalg.matmul
func.func @runtime_weights(%a: tensor<3x4xf32>, %w: tensor<2x1x8xui8>) -> tensor<3x2xf32> {
  %s = tern.constant dense<[0.5, 2.0]> : tensor<2xf32>
  %y = tern.matmul_nbits %a, %w, %s {k = 4 : i64, n = 2 : i64, bits = 4 : i64, block_size = 16 : i64}
       : (tensor<3x4xf32>, tensor<2x1x8xui8>, tensor<2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}
