// RUN: tern-opt %s -split-input-file -verify-diagnostics

// Tests that shapes that do not broadcast are rejected.
func.func @add_mismatch(%a: tensor<3xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+2 {{operand shapes do not broadcast: [3] [4]}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tern.add %a, %b : (tensor<3xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Tests that a declared type contradicting inference is rejected.
func.func @wrong_result(%a: tensor<2x3xf32>) -> tensor<3x2xf32> {
  // expected-error @+2 {{'tern.relu' op inferred type(s) 'tensor<2x3xf32>' are incompatible with return type(s) of operation 'tensor<3x2xf32>'}}
  // expected-error @+1 {{'tern.relu' op failed to infer returned types}}
  %0 = tern.relu %a : (tensor<2x3xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

// Tests that a matmul with different contraction dims is rejected.
func.func @matmul_k(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) -> tensor<2x5xf32> {
  // expected-error @+2 {{matmul contraction dims differ: [2,3] x [4,5]}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tern.matmul %a, %b : (tensor<2x3xf32>, tensor<4x5xf32>) -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

// Tests that reshape checks the element count.
func.func @reshape_count(%a: tensor<2x3xf32>) -> tensor<4xf32> {
  %s = tern.constant dense<[4]> : tensor<1xi64>
  // expected-error @+2 {{cannot reshape tensor<2x3xf32> (6 elements) into 4 elements}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tern.reshape %a, %s : (tensor<2x3xf32>, tensor<1xi64>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Tests that attention needs query heads to be a multiple of key/value heads.
func.func @gqa_heads(%q: tensor<1x6x4x8xf32>, %k: tensor<1x4x4x8xf32>) -> tensor<1x6x4x8xf32> {
  // expected-error @+2 {{query heads 6 are not a multiple of key/value heads 4}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tern.attention %q, %k, %k {scale = 1.0 : f32} : (tensor<1x6x4x8xf32>, tensor<1x4x4x8xf32>, tensor<1x4x4x8xf32>) -> tensor<1x6x4x8xf32>
  return %0 : tensor<1x6x4x8xf32>
}

// -----

// Tests that an unknown epilogue activation is rejected.
func.func @bad_activation(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{unknown epilogue activation 'swish'}}
  %0 = tern.fused_matmul %a, %b {activation = "swish"} : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

// Tests that per-axis scales must match the axis' size.
func.func @per_axis(%x: tensor<4x8xi8>, %s: tensor<3xf32>) -> tensor<4x8xf32> {
  // expected-error @+2 {{per-axis scale has 3 elements for dim 0 of size 4}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tern.dequantize_linear %x, %s {axis = 0 : i64} : (tensor<4x8xi8>, tensor<3xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// Tests that winograd_conv's transformed filters hold (m + 2)^2 taps.
func.func @winograd_taps(%x: tensor<1x8x6x6xf32>, %u: tensor<16x8x8xf32>) -> tensor<1x8x6x6xf32> {
  // expected-error @+2 {{winograd_conv u must have 36 transformed taps for tile 4}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tern.winograd_conv %x, %u {tile = 4 : i64, pads = array<i64: 1, 1, 1, 1>} : (tensor<1x8x6x6xf32>, tensor<16x8x8xf32>) -> tensor<1x8x6x6xf32>
  return %0 : tensor<1x8x6x6xf32>
}

// -----

// Tests that winograd_conv's tile is 2 or 4.
func.func @winograd_tile(%x: tensor<1x8x6x6xf32>, %u: tensor<25x8x8xf32>) -> tensor<1x8x6x6xf32> {
  // expected-error @+2 {{winograd_conv tile must be 2 or 4, got 3}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tern.winograd_conv %x, %u {tile = 3 : i64, pads = array<i64: 1, 1, 1, 1>} : (tensor<1x8x6x6xf32>, tensor<25x8x8xf32>) -> tensor<1x8x6x6xf32>
  return %0 : tensor<1x8x6x6xf32>
}

// -----

// Tests that winograd_conv's pads are not negative.
func.func @winograd_pads(%x: tensor<1x8x6x6xf32>, %u: tensor<16x8x8xf32>) -> tensor<1x8x4x6xf32> {
  // expected-error @+2 {{winograd_conv expects x [N, C, H, W], u [(m+2)^2, C, F] and 4 pads of 0 or more}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tern.winograd_conv %x, %u {tile = 2 : i64, pads = array<i64: -1, 1, 1, 1>} : (tensor<1x8x6x6xf32>, tensor<16x8x8xf32>) -> tensor<1x8x4x6xf32>
  return %0 : tensor<1x8x4x6xf32>
}

// -----

// Tests that pointwise_depthwise_conv's activations are none, relu or clip.
func.func @pointwise_depthwise_activation(%x: tensor<1x4x8x8xf32>, %we: tensor<8x4x1x1xf32>, %w: tensor<8x1x3x3xf32>) -> tensor<1x8x8x8xf32> {
  // expected-error @+1 {{activation 'gelu_erf' is not none, relu or clip}}
  %0 = tern.pointwise_depthwise_conv %x, %we, %w {activation = "gelu_erf", dilations = array<i64: 1, 1>, kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x4x8x8xf32>, tensor<8x4x1x1xf32>, tensor<8x1x3x3xf32>) -> tensor<1x8x8x8xf32>
  return %0 : tensor<1x8x8x8xf32>
}

// -----

// Tests that pointwise_depthwise_conv's depthwise weights have one channel
// per expanded channel.
func.func @pointwise_depthwise_weights(%x: tensor<1x4x8x8xf32>, %we: tensor<8x4x1x1xf32>, %w: tensor<8x2x3x3xf32>) -> tensor<1x8x8x8xf32> {
  // expected-error @+2 {{w must be [E, 1, KH, KW] with E = 8, got tensor<8x2x3x3xf32>}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tern.pointwise_depthwise_conv %x, %we, %w {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x4x8x8xf32>, tensor<8x4x1x1xf32>, tensor<8x2x3x3xf32>) -> tensor<1x8x8x8xf32>
  return %0 : tensor<1x8x8x8xf32>
}
