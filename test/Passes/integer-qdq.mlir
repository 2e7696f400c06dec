// RUN: tern-opt %s --tern-integer-qdq --split-input-file | FileCheck %s

// A QDQ convolution: int8 activations (one scale 0.5, zero point 3), int8
// filters per output channel (scales 0.25, 0.125, zero points 1, -1), a
// bias: the integer convolution, cast, times sx * sw = [0.125, 0.0625] per
// channel, plus the bias reshaped to [2, 1, 1].
// CHECK-LABEL: func.func @qdq_conv
// CHECK-DAG: %[[S:.+]] = tern.constant dense<{{\[\[\[}}1.250000e-01]], {{\[\[}}6.250000e-02]]]> : tensor<2x1x1xf32>
// CHECK: %[[ACC:.+]] = tern.conv_integer %arg0, %{{.+}} x_zero_point %{{.+}} w_zero_point %{{.+}} {{.+}} -> tensor<1x2x4x4xi32>
// CHECK: %[[F:.+]] = tern.cast %[[ACC]] {to = f32} : (tensor<1x2x4x4xi32>) -> tensor<1x2x4x4xf32>
// CHECK: %[[M:.+]] = tern.mul %[[F]], %[[S]]
// CHECK: %[[B:.+]] = tern.reshape %arg1, %{{.+}} : (tensor<2xf32>, tensor<3xi64>) -> tensor<2x1x1xf32>
// CHECK: tern.add %[[M]], %[[B]]
// CHECK-NOT: tern.conv %
func.func @qdq_conv(%xq: tensor<1x3x6x6xi8>, %bias: tensor<2xf32>) -> tensor<1x2x4x4xf32> {
  %sx = tern.constant dense<0.5> : tensor<f32>
  %zx = tern.constant dense<3> : tensor<i8>
  %x = tern.dequantize_linear %xq, %sx, %zx {axis = 1 : i64} : (tensor<1x3x6x6xi8>, tensor<f32>, tensor<i8>) -> tensor<1x3x6x6xf32>
  %wq = tern.constant dense<2> : tensor<2x3x3x3xi8>
  %sw = tern.constant dense<[0.25, 0.125]> : tensor<2xf32>
  %zw = tern.constant dense<[1, -1]> : tensor<2xi8>
  %w = tern.dequantize_linear %wq, %sw, %zw {axis = 0 : i64} : (tensor<2x3x3x3xi8>, tensor<2xf32>, tensor<2xi8>) -> tensor<2x3x3x3xf32>
  %y = tern.conv %x, %w, %bias {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 3, 3>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>}
       : (tensor<1x3x6x6xf32>, tensor<2x3x3x3xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  return %y : tensor<1x2x4x4xf32>
}

// -----

// Must not fire: float activations; run-time filters; blockwise filter
// scales; a depthwise (grouped) convolution.
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: tern.conv_integer
// CHECK-COUNT-4: tern.conv %
// CHECK-NOT: tern.conv_integer
func.func @left_alone(%xf: tensor<1x2x6x6xf32>, %xq: tensor<1x2x6x6xi8>, %wq: tensor<2x2x3x3xi8>)
    -> (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) {
  %sx = tern.constant dense<0.5> : tensor<f32>
  %x = tern.dequantize_linear %xq, %sx {axis = 1 : i64} : (tensor<1x2x6x6xi8>, tensor<f32>) -> tensor<1x2x6x6xf32>
  %cq = tern.constant dense<2> : tensor<2x2x3x3xi8>
  %sw = tern.constant dense<[0.25, 0.125]> : tensor<2xf32>
  %w = tern.dequantize_linear %cq, %sw {axis = 0 : i64} : (tensor<2x2x3x3xi8>, tensor<2xf32>) -> tensor<2x2x3x3xf32>
  %a = tern.conv %xf, %w {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 3, 3>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>}
       : (tensor<1x2x6x6xf32>, tensor<2x2x3x3xf32>) -> tensor<1x2x4x4xf32>
  %rw = tern.dequantize_linear %wq, %sw {axis = 0 : i64} : (tensor<2x2x3x3xi8>, tensor<2xf32>) -> tensor<2x2x3x3xf32>
  %b = tern.conv %x, %rw {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 3, 3>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>}
       : (tensor<1x2x6x6xf32>, tensor<2x2x3x3xf32>) -> tensor<1x2x4x4xf32>
  %bs = tern.constant dense<0.5> : tensor<2x1x3x3xf32>
  %bw = tern.dequantize_linear %cq, %bs {axis = 1 : i64, block_size = 2 : i64} : (tensor<2x2x3x3xi8>, tensor<2x1x3x3xf32>) -> tensor<2x2x3x3xf32>
  %c = tern.conv %x, %bw {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 3, 3>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>}
       : (tensor<1x2x6x6xf32>, tensor<2x2x3x3xf32>) -> tensor<1x2x4x4xf32>
  %dq = tern.constant dense<2> : tensor<2x1x3x3xi8>
  %dw = tern.dequantize_linear %dq, %sw {axis = 0 : i64} : (tensor<2x1x3x3xi8>, tensor<2xf32>) -> tensor<2x1x3x3xf32>
  %d = tern.conv %x, %dw {dilations = array<i64: 1, 1>, group = 2 : i64, kernel_shape = array<i64: 3, 3>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>}
       : (tensor<1x2x6x6xf32>, tensor<2x1x3x3xf32>) -> tensor<1x2x4x4xf32>
  return %a, %b, %c, %d : tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>
}

// -----

// A batch known only at run time: the integer convolution all the same
// (its lowering takes any number of images); a dynamic map size is left
// in float.
// CHECK-LABEL: func.func @dynamic_batch
// CHECK: tern.conv_integer %arg0, {{.+}} -> tensor<?x2x4x4xi32>
// CHECK: tern.conv %
// CHECK-NOT: tern.conv_integer
func.func @dynamic_batch(%xq: tensor<?x3x6x6xi8>, %yq: tensor<1x3x?x6xi8>) -> (tensor<?x2x4x4xf32>, tensor<1x2x?x4xf32>) {
  %sx = tern.constant dense<0.5> : tensor<f32>
  %x = tern.dequantize_linear %xq, %sx {axis = 1 : i64} : (tensor<?x3x6x6xi8>, tensor<f32>) -> tensor<?x3x6x6xf32>
  %y = tern.dequantize_linear %yq, %sx {axis = 1 : i64} : (tensor<1x3x?x6xi8>, tensor<f32>) -> tensor<1x3x?x6xf32>
  %wq = tern.constant dense<2> : tensor<2x3x3x3xi8>
  %sw = tern.constant dense<[0.25, 0.125]> : tensor<2xf32>
  %w = tern.dequantize_linear %wq, %sw {axis = 0 : i64} : (tensor<2x3x3x3xi8>, tensor<2xf32>) -> tensor<2x3x3x3xf32>
  %a = tern.conv %x, %w {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 3, 3>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>}
       : (tensor<?x3x6x6xf32>, tensor<2x3x3x3xf32>) -> tensor<?x2x4x4xf32>
  %b = tern.conv %y, %w {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 3, 3>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>}
       : (tensor<1x3x?x6xf32>, tensor<2x3x3x3xf32>) -> tensor<1x2x?x4xf32>
  return %a, %b : tensor<?x2x4x4xf32>, tensor<1x2x?x4xf32>
}
