// RUN: tern-opt %s --tern-to-linalg --canonicalize | FileCheck %s

// MatMulInteger with constant int8 weights and per-column zero points: the
// weights minus their zero points are an i32 constant computed at compile
// time (column 0: [1, -2] - 1; column 1: [3, 4] - (-2)); only the run-time
// activations are shifted per run.
// CHECK-LABEL: func.func @constant_weights
// CHECK-DAG: %[[W:.+]] = arith.constant dense<{{\[\[}}0, 5], [-3, 6]]> : tensor<2x2xi32>
// CHECK: %[[A:.+]] = linalg.generic {{.+}} ins(%arg0, %arg1 : tensor<3x2xi8>, tensor<i8>)
// CHECK: arith.extui
// CHECK: linalg.matmul ins(%[[A]], %[[W]] : tensor<3x2xi32>, tensor<2x2xi32>)
func.func @constant_weights(%a: tensor<3x2xui8>, %za: tensor<ui8>) -> tensor<3x2xi32> {
  %b = tern.constant dense<[[1, 3], [-2, 4]]> : tensor<2x2xi8>
  %zb = tern.constant dense<[1, -2]> : tensor<2xi8>
  %y = tern.matmul_integer %a, %b a_zero_point %za b_zero_point %zb
       : (tensor<3x2xui8>, tensor<2x2xi8>, tensor<ui8>, tensor<2xi8>) -> tensor<3x2xi32>
  return %y : tensor<3x2xi32>
}
