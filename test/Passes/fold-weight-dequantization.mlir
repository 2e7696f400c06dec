// RUN: tern-opt %s --tern-fold-weight-dequantization --split-input-file | FileCheck %s

// Per output channel, with zero points: (q - zp[c]) * s[c].
// CHECK-LABEL: func.func @per_axis
// CHECK: %[[W:.+]] = tern.constant dense<{{\[\[}}-2.000000e+00, 0.000000e+00, 2.000000e+00], [1.000000e+00, 1.500000e+00, 2.000000e+00]]> : tensor<2x3xf32>
// CHECK-NOT: tern.dequantize_linear
// CHECK: tern.matmul %arg0, %[[W]]
func.func @per_axis(%x: tensor<4x2xf32>) -> tensor<4x3xf32> {
  %q = tern.constant dense<[[-1, 0, 1], [4, 5, 6]]> : tensor<2x3xi8>
  %s = tern.constant dense<[2.0, 0.5]> : tensor<2xf32>
  %zp = tern.constant dense<[0, 2]> : tensor<2xi8>
  %w = tern.dequantize_linear %q, %s, %zp {axis = 0 : i64} : (tensor<2x3xi8>, tensor<2xf32>, tensor<2xi8>) -> tensor<2x3xf32>
  %y = tern.matmul %x, %w : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
  return %y : tensor<4x3xf32>
}

// -----

// Per tensor, uint8 with zero point 128; an int32 bias without one; blocks
// of 2 along axis 1.
// CHECK-LABEL: func.func @forms
// CHECK-DAG: tern.constant dense<[-2.500000e-01, 0.000000e+00, 3.175000e+01]> : tensor<3xf32>
// CHECK-DAG: tern.constant dense<[3.000000e+00, -6.000000e+00]> : tensor<2xf32>
// CHECK-DAG: tern.constant dense<{{\[\[}}1.000000e+00, 2.000000e+00, 3.000000e+01, 4.000000e+01]]> : tensor<1x4xf32>
// CHECK-NOT: tern.dequantize_linear
func.func @forms() -> (tensor<3xf32>, tensor<2xf32>, tensor<1x4xf32>) {
  %q = tern.constant dense<[127, 128, 255]> : tensor<3xui8>
  %s = tern.constant dense<0.25> : tensor<f32>
  %zp = tern.constant dense<128> : tensor<ui8>
  %a = tern.dequantize_linear %q, %s, %zp {axis = 1 : i64} : (tensor<3xui8>, tensor<f32>, tensor<ui8>) -> tensor<3xf32>
  %bq = tern.constant dense<[1, -2]> : tensor<2xi32>
  %bs = tern.constant dense<3.0> : tensor<2xf32>
  %b = tern.dequantize_linear %bq, %bs {axis = 0 : i64} : (tensor<2xi32>, tensor<2xf32>) -> tensor<2xf32>
  %cq = tern.constant dense<[[1, 2, 3, 4]]> : tensor<1x4xi8>
  %cs = tern.constant dense<[[1.0, 10.0]]> : tensor<1x2xf32>
  %c = tern.dequantize_linear %cq, %cs {axis = 1 : i64, block_size = 2 : i64} : (tensor<1x4xi8>, tensor<1x2xf32>) -> tensor<1x4xf32>
  return %a, %b, %c : tensor<3xf32>, tensor<2xf32>, tensor<1x4xf32>
}

// -----

// Must not fire: an activation (a value computed at run time); a scale
// computed at run time.
// CHECK-LABEL: func.func @left
// CHECK-COUNT-2: tern.dequantize_linear
func.func @left(%x: tensor<4xi8>, %s: tensor<f32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %c = tern.constant dense<0.5> : tensor<f32>
  %q = tern.constant dense<[1, 2, 3, 4]> : tensor<4xi8>
  %a = tern.dequantize_linear %x, %c {axis = 1 : i64} : (tensor<4xi8>, tensor<f32>) -> tensor<4xf32>
  %b = tern.dequantize_linear %q, %s {axis = 1 : i64} : (tensor<4xi8>, tensor<f32>) -> tensor<4xf32>
  return %a, %b : tensor<4xf32>, tensor<4xf32>
}
