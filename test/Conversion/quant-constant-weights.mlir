// RUN: tern-opt %s --tern-to-linalg --canonicalize --split-input-file | FileCheck %s

// MatMulInteger with constant int8 weights and per-column zero points:
// the product of the raw bytes (u8 x s8, what VNNI multiplies) summed in
// i32, then the zero points applied: - za * colsum(B)[n] - zb[n] * (rowsum(A)[m]
// - k * za). The column sums (1 - 2, 3 + 4) and zero points are constants.
// CHECK-LABEL: func.func @constant_weights
// CHECK-DAG: %[[B:.+]] = arith.constant dense<{{\[\[}}1, 3], [-2, 4]]> : tensor<2x2xi8>
// CHECK-DAG: %[[COLSUM:.+]] = arith.constant dense<[-1, 7]> : tensor<2xi32>
// CHECK-DAG: %[[ZB:.+]] = arith.constant dense<[1, -2]> : tensor<2xi32>
// CHECK: %[[ZA:.+]] = linalg.generic {{.+}} ins(%arg1 : tensor<i8>)
// CHECK: %[[ROWSUM:.+]] = linalg.generic {{.+}} iterator_types = ["parallel", "reduction"]} ins(%arg0 : tensor<3x2xi8>)
// CHECK: %[[ACC:.+]] = linalg.generic {{.+}} ins(%arg0, %[[B]] : tensor<3x2xi8>, tensor<2x2xi8>)
// CHECK-NEXT: ^bb0
// CHECK-NEXT: arith.extui
// CHECK-NEXT: arith.extsi
// CHECK-NEXT: arith.muli
// CHECK-NEXT: arith.addi
// CHECK: linalg.generic {{.+}} ins(%[[ACC]], %[[ZA]], %[[COLSUM]], %[[ROWSUM]], %[[ZB]] :
// CHECK-NOT: linalg.matmul
func.func @constant_weights(%a: tensor<3x2xui8>, %za: tensor<ui8>) -> tensor<3x2xi32> {
  %b = tern.constant dense<[[1, 3], [-2, 4]]> : tensor<2x2xi8>
  %zb = tern.constant dense<[1, -2]> : tensor<2xi8>
  %y = tern.matmul_integer %a, %b a_zero_point %za b_zero_point %zb
       : (tensor<3x2xui8>, tensor<2x2xi8>, tensor<ui8>, tensor<2xi8>) -> tensor<3x2xi32>
  return %y : tensor<3x2xi32>
}

// -----

// int8 activations and uint8 weights: A's top bit flipped (read as u8, its
// zero point + 128), B - 128 at compile time (its zero point 130 - 128 = 2).
// CHECK-LABEL: func.func @signed_a_unsigned_b
// CHECK-DAG: %[[B:.+]] = arith.constant dense<{{\[\[}}-127, 72], [-128, 127]]> : tensor<2x2xi8>
// CHECK-DAG: %[[ZB:.+]] = arith.constant dense<2> : tensor<2xi32>
// CHECK: arith.addi %{{.+}}, %c128_i32 : i32
// CHECK: %[[A:.+]] = linalg.generic {{.+}} ins(%arg0 : tensor<3x2xi8>)
// CHECK: arith.xori %{{.+}}, %c-128_i8 : i8
// CHECK: linalg.generic {{.+}} ins(%[[A]], %[[B]] : tensor<3x2xi8>, tensor<2x2xi8>)
func.func @signed_a_unsigned_b(%a: tensor<3x2xi8>, %za: tensor<i8>) -> tensor<3x2xi32> {
  %b = tern.constant dense<[[1, 200], [0, 255]]> : tensor<2x2xui8>
  %zb = tern.constant dense<130> : tensor<ui8>
  %y = tern.matmul_integer %a, %b a_zero_point %za b_zero_point %zb
       : (tensor<3x2xi8>, tensor<2x2xui8>, tensor<i8>, tensor<ui8>) -> tensor<3x2xi32>
  return %y : tensor<3x2xi32>
}

// -----

// Not the byte product: run-time weights, and a zero point per row of A.
// Both subtract the zero points in i32 first and multiply in i32.
// CHECK-LABEL: func.func @runtime_weights
// CHECK: linalg.matmul ins({{.+}} : tensor<3x2xi32>, tensor<2x2xi32>)
// CHECK-LABEL: func.func @row_zero_points
// CHECK: linalg.matmul ins({{.+}} : tensor<3x2xi32>, tensor<2x2xi32>)
func.func @runtime_weights(%a: tensor<3x2xui8>, %b: tensor<2x2xi8>) -> tensor<3x2xi32> {
  %y = tern.matmul_integer %a, %b : (tensor<3x2xui8>, tensor<2x2xi8>) -> tensor<3x2xi32>
  return %y : tensor<3x2xi32>
}
func.func @row_zero_points(%a: tensor<3x2xui8>, %za: tensor<3xui8>) -> tensor<3x2xi32> {
  %b = tern.constant dense<[[1, 3], [-2, 4]]> : tensor<2x2xi8>
  %y = tern.matmul_integer %a, %b a_zero_point %za : (tensor<3x2xui8>, tensor<2x2xi8>, tensor<3xui8>) -> tensor<3x2xi32>
  return %y : tensor<3x2xi32>
}

// -----

// QuantizeLinear: round(x / s) + zp is a whole number already, so it is
// rounded once, then clamped to i8's range and converted.
// CHECK-LABEL: func.func @quantize_rounds_once
// CHECK: linalg.generic
// CHECK: arith.divf
// CHECK-NEXT: math.roundeven
// CHECK-NOT: math.roundeven
// CHECK: arith.addf
// CHECK-NOT: math.roundeven
// CHECK: arith.maximumf
// CHECK: arith.minimumf
// CHECK: arith.fptosi
func.func @quantize_rounds_once(%x: tensor<4xf32>, %s: tensor<f32>, %zp: tensor<i8>) -> tensor<4xi8> {
  %q = tern.quantize_linear %x, %s zero_point %zp {axis = 1 : i64, output_type = i8}
       : (tensor<4xf32>, tensor<f32>, tensor<i8>) -> tensor<4xi8>
  return %q : tensor<4xi8>
}

// -----

// ConvInteger with constant int8 filters over an int8 input: the input
// moved to channels last as bytes to multiply (its top bit flipped there,
// once per input byte, not per patch byte), padded with its zero point
// flipped the same way (3 ^ 0x80 = -125), and gathered into patches
// [positions, taps * channels] with each tap's channels a contiguous run;
// the filters [F, c, kh, kw] reordered at compile time to [F, kh, kw, c]
// (filter 0: c0 taps 1 2 3 4, c1 taps 5 6 7 8 -> 1 5 2 6 3 7 4 8; B is
// [k, F]). The [positions, F] result goes back to NCHW.
// CHECK-LABEL: func.func @conv_channels_last
// CHECK-DAG: arith.constant dense<{{\[\[}}1, -1], [5, -5], [2, -2], [6, -6], [3, -3], [7, -7], [4, -4], [8, -8]]> : tensor<8x2xi8>
// CHECK: %[[NHWC:.+]] = linalg.generic {{.+}} ins(%arg0 : tensor<1x2x3x3xi8>) outs(%{{.+}} : tensor<1x3x3x2xi8>)
// CHECK-NEXT: ^bb0
// CHECK-NEXT: arith.xori %{{.+}}, %c-128_i8 : i8
// CHECK: %[[PADDED:.+]] = tensor.pad %[[NHWC]] low[0, 1, 1, 0] high[0, 0, 0, 0]
// CHECK: tensor.yield %c-125_i8 : i8
// CHECK: %[[PATCHES:.+]] = linalg.generic {{.+}} ins(%[[PADDED]] : tensor<1x4x4x2xi8>) outs(%{{.+}} : tensor<3x3x2x2x2xi8>)
// CHECK-NEXT: ^bb0
// CHECK-NEXT: linalg.yield
// CHECK: tensor.collapse_shape %[[PATCHES]] {{\[\[}}0, 1], [2, 3, 4]] : tensor<3x3x2x2x2xi8> into tensor<9x8xi8>
// CHECK-NOT: arith.xori
// CHECK: return
func.func @conv_channels_last(%x: tensor<1x2x3x3xi8>) -> tensor<1x2x3x3xi32> {
  %w = tern.constant dense<[[[[1, 2], [3, 4]], [[5, 6], [7, 8]]], [[[-1, -2], [-3, -4]], [[-5, -6], [-7, -8]]]]> : tensor<2x2x2x2xi8>
  %zx = tern.constant dense<3> : tensor<i8>
  %y = tern.conv_integer %x, %w x_zero_point %zx {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 2, 2>, pads = array<i64: 1, 1, 0, 0>, strides = array<i64: 1, 1>}
       : (tensor<1x2x3x3xi8>, tensor<2x2x2x2xi8>, tensor<i8>) -> tensor<1x2x3x3xi32>
  return %y : tensor<1x2x3x3xi32>
}

// -----

// A pointwise convolution with stride 1 multiplies the channels-last input
// as it is: no patches gathered.
// CHECK-LABEL: func.func @pointwise_channels_last
// CHECK: %[[NHWC:.+]] = linalg.generic {{.+}} ins(%arg0 : tensor<1x4x2x3xi8>) outs(%{{.+}} : tensor<1x2x3x4xi8>)
// CHECK-NOT: arith.xori
// CHECK: tensor.collapse_shape %[[NHWC]] {{\[\[}}0, 1, 2], [3]] : tensor<1x2x3x4xi8> into tensor<6x4xi8>
// CHECK-NOT: tensor.pad
func.func @pointwise_channels_last(%x: tensor<1x4x2x3xui8>) -> tensor<1x8x2x3xi32> {
  %w = tern.constant dense<1> : tensor<8x4x1x1xi8>
  %y = tern.conv_integer %x, %w {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>}
       : (tensor<1x4x2x3xui8>, tensor<8x4x1x1xi8>) -> tensor<1x8x2x3xi32>
  return %y : tensor<1x8x2x3xi32>
}
