// RUN: tern-opt %s --tern-fold-batch-normalization --split-input-file | FileCheck %s

// W' = W * s, b' = (b - mean) * s + bias with s = scale / sqrt(var + eps):
// channel 0: s = 2 / sqrt(3 + 1) = 1, W' = 1, b' = (1 - 1) * 1 + 0.5 = 0.5;
// channel 1: s = 12 / sqrt(15 + 1) = 3, W' = 3, b' = (2 - 0) * 3 + 0 = 6.
// CHECK-LABEL: func.func @with_bias
// CHECK-DAG: %[[W:.+]] = tern.constant dense<{{\[\[\[\[}}1.000000e+00]]], {{\[\[\[}}3.000000e+00]]]]> : tensor<2x1x1x1xf32>
// CHECK-DAG: %[[B:.+]] = tern.constant dense<[5.000000e-01, 6.000000e+00]> : tensor<2xf32>
// CHECK: %[[C:.+]] = tern.conv %arg0, %[[W]], %[[B]]
// CHECK-NOT: tern.batch_normalization
// CHECK: return %[[C]]
func.func @with_bias(%x: tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %w = tern.constant dense<1.0> : tensor<2x1x1x1xf32>
  %b = tern.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %scale = tern.constant dense<[2.0, 12.0]> : tensor<2xf32>
  %bias = tern.constant dense<[0.5, 0.0]> : tensor<2xf32>
  %mean = tern.constant dense<[1.0, 0.0]> : tensor<2xf32>
  %var = tern.constant dense<[3.0, 15.0]> : tensor<2xf32>
  %c = tern.conv %x, %w, %b {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  %y = tern.batch_normalization %c, %scale, %bias, %mean, %var {epsilon = 1.0 : f32} : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  return %y : tensor<1x2x4x4xf32>
}

// -----

// Without a conv bias, one is added: b' = -mean * s + bias.
// CHECK-LABEL: func.func @no_bias
// CHECK: %[[B:.+]] = tern.constant dense<[-2.000000e+00, 1.000000e+00]> : tensor<2xf32>
// CHECK: tern.conv %arg0, %{{.+}}, %[[B]]
// CHECK-NOT: tern.batch_normalization
func.func @no_bias(%x: tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %w = tern.constant dense<1.0> : tensor<2x1x1x1xf32>
  %one = tern.constant dense<1.0> : tensor<2xf32>
  %mean = tern.constant dense<[3.0, 0.0]> : tensor<2xf32>
  %var = tern.constant dense<0.0> : tensor<2xf32>
  %c = tern.conv %x, %w {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>) -> tensor<1x2x4x4xf32>
  %y = tern.batch_normalization %c, %one, %one, %mean, %var {epsilon = 1.0 : f32} : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  return %y : tensor<1x2x4x4xf32>
}

// -----

// Must not fire: statistics computed at run time; weights at run time; the
// conv read elsewhere.
// CHECK-LABEL: func.func @left
// CHECK-COUNT-3: tern.batch_normalization
func.func @left(%x: tensor<1x1x4x4xf32>, %m: tensor<2xf32>, %wr: tensor<2x1x1x1xf32>)
    -> (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) {
  %w = tern.constant dense<1.0> : tensor<2x1x1x1xf32>
  %one = tern.constant dense<1.0> : tensor<2xf32>
  %c = tern.conv %x, %w {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>) -> tensor<1x2x4x4xf32>
  %y = tern.batch_normalization %c, %one, %one, %m, %one : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  %c2 = tern.conv %x, %wr {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>) -> tensor<1x2x4x4xf32>
  %y2 = tern.batch_normalization %c2, %one, %one, %one, %one : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  %c3 = tern.conv %x, %w {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>) -> tensor<1x2x4x4xf32>
  %y3 = tern.batch_normalization %c3, %one, %one, %one, %one : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  return %y, %y2, %y3, %c3 : tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>
}
