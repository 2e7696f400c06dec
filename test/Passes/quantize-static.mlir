// RUN: tern-opt %s --tern-quantize-weights="bits=8 calibrated=true min-elements=1" --split-input-file | FileCheck %s
// RUN: tern-opt %s --tern-quantize-weights="bits=8 calibrated=true min-elements=1" --tern-integer-qdq --split-input-file | FileCheck %s --check-prefix=INTEGER
// RUN: not tern-opt %s --tern-quantize-weights="bits=4 calibrated=true" 2>&1 | FileCheck %s --check-prefix=BAD

// Static int8 (ternc --quantize=int8 --calibration-data): the activation's
// calibrated range [-1, 3] gives s = 4 / 255 and zero point 64 (uint8); the
// weights are int8 per column (s[n] = max |w| / 127); the product an 8-bit
// MatMulInteger scaled back by s * s[n], folded into one constant.
// CHECK-LABEL: func.func @matmul
// CHECK-DAG: %[[SN:.+]] = tern.constant dense<[{{.+}}]> : tensor<3xf32>
// CHECK-DAG: %[[WQ:.+]] = tern.constant dense_resource<int8_weights> : tensor<8x3xi8>
// CHECK-DAG: %[[S:.+]] = tern.constant dense<0.0156862754> : tensor<f32>
// CHECK-DAG: %[[Z:.+]] = tern.constant dense<64> : tensor<ui8>
// CHECK: %[[Q:.+]] = tern.quantize_linear %arg0, %[[S]] zero_point %[[Z]] {axis = 1 : i64, output_type = ui8}
// CHECK: %[[ACC:.+]] = tern.matmul_integer %[[Q]], %[[WQ]] a_zero_point %[[Z]]
// CHECK: %[[F:.+]] = tern.cast %[[ACC]] {to = f32}
// CHECK: tern.mul %[[F]], %[[SN]]
// CHECK-NOT: tern.matmul %
// CHECK-NOT: dynamic_quantize_linear
func.func @matmul(%a: tensor<2x8xf32>) -> tensor<2x3xf32> {
  %w = tern.constant dense<[[1.0, -2.0, 3.0], [-4.0, 5.0, 0.5], [0.1, 6.0, -7.0], [8.0, 0.2, 0.0], [1.0, 2.0, 3.0], [4.0, 3.0, 2.0], [1.5, 1.0, 0.0], [0.0, 0.0, 0.0]]> : tensor<8x3xf32>
  %y = tern.matmul %a, %w {tern.activation_range = array<f32: -1.0, 3.0>} : (tensor<2x8xf32>, tensor<8x3xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

// A convolution (one group, one image, static shapes): filters int8 per
// output channel, the input uint8 at its calibrated scale ([0, 2]: zero
// point 0), as a QDQ convolution that tern-integer-qdq runs on the integers.
// CHECK-LABEL: func.func @conv
// CHECK: %[[Q:.+]] = tern.quantize_linear %arg0, {{.+}} {axis = 1 : i64, output_type = ui8}
// CHECK: %[[X:.+]] = tern.dequantize_linear %[[Q]]
// CHECK: %[[W:.+]] = tern.dequantize_linear {{.+}} {axis = 0 : i64} : (tensor<3x2x3x3xi8>, tensor<3xf32>, tensor<3xi8>) -> tensor<3x2x3x3xf32>
// CHECK: tern.conv %[[X]], %[[W]]
// CHECK-NOT: tern.activation_range
// INTEGER-LABEL: func.func @conv
// INTEGER: tern.conv_integer
// INTEGER-NOT: tern.conv %
func.func @conv(%x: tensor<1x2x5x5xf32>) -> tensor<1x3x3x3xf32> {
  %f = tern.constant dense<[[[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]], [[-1.0, 0.5, 0.25], [0.0, 1.0, 2.0], [3.0, -4.0, 5.0]]], [[[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]], [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]], [[[0.5, 0.5, 0.5], [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]], [[0.5, 0.5, 0.5], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5]]]]> : tensor<3x2x3x3xf32>
  %y = tern.conv %x, %f {kernel_shape = array<i64: 3, 3>, strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>,
                         dilations = array<i64: 1, 1>, tern.activation_range = array<f32: 0.0, 2.0>} : (tensor<1x2x5x5xf32>, tensor<3x2x3x3xf32>) -> tensor<1x3x3x3xf32>
  return %y : tensor<1x3x3x3xf32>
}

// -----

// Left float: ops without a calibrated range, a grouped convolution, and a
// convolution over two images.
// CHECK-LABEL: func.func @not_quantized
// INTEGER-LABEL: func.func @not_quantized
// CHECK-NOT: quantize_linear
// CHECK: tern.matmul %arg0
// CHECK: tern.conv %arg1
// CHECK: tern.conv %arg2
// CHECK-NOT: quantize_linear
func.func @not_quantized(%a: tensor<2x4xf32>, %x: tensor<1x2x3x3xf32>, %x2: tensor<2x2x3x3xf32>) -> (tensor<2x2xf32>, tensor<1x2x1x1xf32>, tensor<2x2x1x1xf32>) {
  %w = tern.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]]> : tensor<4x2xf32>
  %y = tern.matmul %a, %w : (tensor<2x4xf32>, tensor<4x2xf32>) -> tensor<2x2xf32>
  %g = tern.constant dense<1.0> : tensor<2x1x3x3xf32>
  %c = tern.conv %x, %g {kernel_shape = array<i64: 3, 3>, strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>,
                         dilations = array<i64: 1, 1>, group = 2 : i64, tern.activation_range = array<f32: 0.0, 2.0>} : (tensor<1x2x3x3xf32>, tensor<2x1x3x3xf32>) -> tensor<1x2x1x1xf32>
  %f = tern.constant dense<1.0> : tensor<2x2x3x3xf32>
  %c2 = tern.conv %x2, %f {kernel_shape = array<i64: 3, 3>, strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>,
                           dilations = array<i64: 1, 1>, tern.activation_range = array<f32: 0.0, 2.0>} : (tensor<2x2x3x3xf32>, tensor<2x2x3x3xf32>) -> tensor<2x2x1x1xf32>
  return %y, %c, %c2 : tensor<2x2xf32>, tensor<1x2x1x1xf32>, tensor<2x2x1x1xf32>
}
// BAD: tern-quantize-weights: calibrated needs bits=8
