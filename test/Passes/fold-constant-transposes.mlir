// RUN: tern-opt %s --tern-fold-constant-transposes --split-input-file | FileCheck %s

// A transposed constant becomes the transposed constant.
// CHECK-LABEL: func.func @transpose
// CHECK: %[[C:.+]] = tern.constant dense<{{\[\[}}1.000000e+00, 4.000000e+00], [2.000000e+00, 5.000000e+00], [3.000000e+00, 6.000000e+00]]> : tensor<3x2xf32>
// CHECK-NOT: tern.transpose
// CHECK: tern.matmul %arg0, %[[C]]
func.func @transpose(%x: tensor<1x3xf32>) -> tensor<1x2xf32> {
  %w = tern.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
  %t = tern.transpose %w {perm = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  %y = tern.matmul %x, %t : (tensor<1x3xf32>, tensor<3x2xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

// Gemm's trans_b on a constant weight is done at compile time.
// CHECK-LABEL: func.func @gemm
// CHECK: %[[W:.+]] = tern.constant dense<{{\[\[}}1.000000e+00, 3.000000e+00], [2.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>
// CHECK: tern.gemm %arg0, %[[W]] : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
func.func @gemm(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %w = tern.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %y = tern.gemm %x, %w {trans_b = true} : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

// Must not fire: transposes of values computed at run time, Gemm without
// trans_b, and trans_b on a non-constant.
// CHECK-LABEL: func.func @runtime
// CHECK: tern.transpose %arg0
// CHECK: tern.gemm %arg1, %arg2 {trans_b = true}
func.func @runtime(%x: tensor<2x3xf32>, %a: tensor<1x2xf32>, %b: tensor<2x2xf32>) -> (tensor<3x2xf32>, tensor<1x2xf32>) {
  %t = tern.transpose %x {perm = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  %y = tern.gemm %a, %b {trans_b = true} : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  return %t, %y : tensor<3x2xf32>, tensor<1x2xf32>
}

// -----

// A blob-backed weight stays a blob, transposed.
// CHECK-LABEL: func.func @blob
// CHECK: tern.constant dense_resource<transposed> : tensor<3x2xf32>
// CHECK: transposed: "0x{{[0-9A-F]+}}0000803F00008040000000400000A040000040400000C040"
func.func @blob() -> tensor<3x2xf32> {
  %w = tern.constant dense_resource<w> : tensor<2x3xf32>
  %t = tern.transpose %w {perm = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  return %t : tensor<3x2xf32>
}
{-#
  dialect_resources: {
    builtin: {
      w: "0x040000000000803F0000004000004040000080400000A0400000C040"
    }
  }
#-}
